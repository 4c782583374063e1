/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The three R engines as the CLI sees them: their probes and entry points.
 * R1 needs nothing but user namespaces; R2 and R3 need runc or crun too.
 * Our R2/R3 differ from upstream's (runc and crun with proot inside): here
 * R2 is plain runc and R3 plain crun.
 */
#include <stdio.h>
#include <string.h>

#include "rr_int.h"

/* The first line of a /proc/sys file as an integer, or -1. */
static long
sysctl_value(const char *path)
{
    char buf[32] = "";
    FILE *f = fopen(path, "re");
    long v = -1;

    if (!f)
        return -1;
    if (fgets(buf, sizeof buf, f) && sscanf(buf, "%ld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

/* Why user namespaces cannot be used, as precisely as the host tells. */
static int
userns_unsupported(const struct ud_hostcaps *caps, struct ud_error *err)
{
    if (sysctl_value("/proc/sys/kernel/unprivileged_userns_clone") == 0)
        return ud_error_set(err, UD_EUNSUPP, 0,
                            "user namespaces are disabled: sysctl "
                            "kernel.unprivileged_userns_clone=0");
    if (sysctl_value("/proc/sys/user/max_user_namespaces") == 0)
        return ud_error_set(err, UD_EUNSUPP, 0,
                            "user namespaces are disabled: sysctl user.max_user_namespaces=0");
    if (sysctl_value("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
        return ud_error_set(err, UD_EUNSUPP, 0,
                            "AppArmor denies capabilities in unprivileged user namespaces: "
                            "sysctl kernel.apparmor_restrict_unprivileged_userns=1");
    if (caps->userns_why[0])
        return ud_error_set(err, UD_EUNSUPP, 0, "%s", caps->userns_why);
    return ud_error_set(err, UD_EUNSUPP, 0, "user namespaces are not available");
}

static int
r1_probe(const struct ud_hostcaps *caps, struct ud_error *err)
{
    if (!caps->userns)
        return userns_unsupported(caps, err);
    return 0;
}

static int
r2_probe(const struct ud_hostcaps *caps, struct ud_error *err)
{
    if (!caps->runc[0])
        return ud_error_set(err, UD_EUNSUPP, 0, "runc is not installed (not found in PATH)");
    return r1_probe(caps, err);
}

static int
r3_probe(const struct ud_hostcaps *caps, struct ud_error *err)
{
    if (!caps->crun[0])
        return ud_error_set(err, UD_EUNSUPP, 0, "crun is not installed (not found in PATH)");
    return r1_probe(caps, err);
}

static int
r1_exec(const struct ud_run_spec *spec, const struct ud_hostcaps *caps, int *wstatus,
        struct ud_error *err)
{
    const struct ud_rr_r1_opts o = UD_RR_R1_DEFAULTS;

    return ud_rr_r1_run(spec, caps, &o, wstatus, err);
}

static int
r2_exec(const struct ud_run_spec *spec, const struct ud_hostcaps *caps, int *wstatus,
        struct ud_error *err)
{
    return ud_rr_oci_run(spec, UD_RR_RUNC, caps && caps->runc[0] ? caps->runc : "runc", wstatus,
                         err);
}

static int
r3_exec(const struct ud_run_spec *spec, const struct ud_hostcaps *caps, int *wstatus,
        struct ud_error *err)
{
    return ud_rr_oci_run(spec, UD_RR_CRUN, caps && caps->crun[0] ? caps->crun : "crun", wstatus,
                         err);
}

const struct ud_engine ud_engine_r1 = {
    .mode = "R1",
    .family = UD_ENGINE_R,
    .summary = "user and mount namespaces set up natively, no external tool",
    .speed = 10,
    .probe = r1_probe,
    .exec = r1_exec,
};

const struct ud_engine ud_engine_r2 = {
    .mode = "R2",
    .family = UD_ENGINE_R,
    .summary = "the installed runc, rootless, with a generated OCI config",
    .speed = 50,
    .probe = r2_probe,
    .exec = r2_exec,
};

const struct ud_engine ud_engine_r3 = {
    .mode = "R3",
    .family = UD_ENGINE_R,
    .summary = "the installed crun, rootless, with a generated OCI config",
    .speed = 40,
    .probe = r3_probe,
    .exec = r3_exec,
};
