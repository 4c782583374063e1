/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rootless OCI runtime config (config.json) for R2/R3, written the way
 * `runc spec --rootless` would after upstream's edits (reference 5.3):
 * host network, no cgroup mount, the caller mapped to root (or to itself),
 * binds as rbinds, --device entries with the device's own numbers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include <jansson.h>

#include "rr_int.h"

/* Upstream's runc_capabilities, duplicates removed. */
static const char *const capabilities[] = {
    "CAP_KILL",         "CAP_NET_BIND_SERVICE", "CAP_CHOWN",
    "CAP_DAC_OVERRIDE", "CAP_FOWNER",           "CAP_FSETID",
    "CAP_SETGID",       "CAP_SETUID",           "CAP_SETPCAP",
    "CAP_NET_RAW",      "CAP_SYS_CHROOT",       "CAP_MKNOD",
    "CAP_AUDIT_WRITE",  "CAP_SETFCAP",          NULL};

static const char *const masked_paths[] = {"/proc/acpi",
                                           "/proc/asound",
                                           "/proc/kcore",
                                           "/proc/keys",
                                           "/proc/latency_stats",
                                           "/proc/timer_list",
                                           "/proc/timer_stats",
                                           "/proc/sched_debug",
                                           "/sys/firmware",
                                           "/proc/scsi",
                                           NULL};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};

static json_t *
strv_json(const char *const *v)
{
    json_t *a = json_array();

    for (size_t i = 0; a && v && v[i]; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *
capabilities_json(void)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "bounding", strv_json(capabilities), "effective",
                     strv_json(capabilities), "inheritable", strv_json(capabilities), "permitted",
                     strv_json(capabilities), "ambient", strv_json(capabilities));
}

static json_t *
process_json(const struct ud_run_spec *s, const struct ud_rr_oci_params *p)
{
    /* Root inside, whatever the spec says: runc refuses a user namespace
     * without a mapping for root, and only one id (the caller's) can be
     * mapped without newuidmap. Upstream does the same and warns. */
    (void)p;
    return json_pack("{s:b, s:{s:I, s:I}, s:o, s:o, s:s, s:o, s:b}", "terminal", s->tty, "user",
                     "uid", (json_int_t)0, "gid", (json_int_t)0, "args",
                     strv_json((const char *const *)s->argv), "env",
                     strv_json((const char *const *)s->env), "cwd", s->cwd, "capabilities",
                     capabilities_json(), "noNewPrivileges", true);
}

static int
append_mount(json_t *a, const char *dest, const char *type, const char *src,
             const char *const *opts)
{
    return json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type",
                                              type, "source", src, "options", strv_json(opts)));
}

static bool
engine_provided(const char *cont)
{
    return strcmp(cont, "/dev") == 0 || strcmp(cont, "/proc") == 0 || strcmp(cont, "/sys") == 0;
}

/* proc, dev, devpts, shm, mqueue, sys, then the binds in spec order. */
static json_t *
mounts_json(const struct ud_run_spec *s, const struct ud_rr_oci_params *p)
{
    char shm[64];
    const char *const o_dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
    const char *const o_pts[] = {"nosuid",        "noexec",    "newinstance",
                                 "ptmxmode=0666", "mode=0620", NULL};
    const char *const o_shm[] = {"nosuid", "noexec", "nodev", "mode=1777", shm, NULL};
    const char *const o_mq[] = {"nosuid", "noexec", "nodev", NULL};
    const char *const o_sys[] = {"rbind", "nosuid", "noexec", "nodev", "ro", NULL};
    const char *const o_rw[] = {"rbind", "nosuid", "nodev", "rw", NULL};
    const char *const o_ro[] = {"rbind", "nosuid", "nodev", "ro", NULL};
    const char *const o_proc[] = {"rbind", "nosuid", "nodev", "noexec", NULL};
    json_t *a = json_array();
    int bad = !a;

    snprintf(shm, sizeof shm, "size=%s", p->shm_size ? p->shm_size : "2g");
    /* Without a PID namespace of our own proc cannot be mounted: the
     * host's is bound (runc accepts a bind whose source is a proc). */
    bad = bad || append_mount(a, "/proc", "none", "/proc", o_proc) < 0;
    bad = bad || append_mount(a, "/dev", "tmpfs", "tmpfs", o_dev) < 0;
    bad = bad || append_mount(a, "/dev/pts", "devpts", "devpts", o_pts) < 0;
    bad = bad || append_mount(a, "/dev/shm", "tmpfs", "shm", o_shm) < 0;
    if (p->mqueue)
        bad = bad || append_mount(a, "/dev/mqueue", "mqueue", "mqueue", o_mq) < 0;
    bad = bad || append_mount(a, "/sys", "none", "/sys", o_sys) < 0;
    for (size_t i = 0; !bad && i < s->nbinds; i++) {
        const struct ud_bind *b = &s->binds[i];
        struct stat st;
        if (engine_provided(b->cont))
            continue;
        if ((b->flags & UD_BIND_SYS) && stat(b->host, &st) < 0)
            continue; /* a system bind missing here is dropped */
        bad = append_mount(a, b->cont, "none", b->host, b->flags & UD_BIND_RO ? o_ro : o_rw) < 0;
    }
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* --device=/dev/X: type and numbers from st_rdev (upstream used st_dev). */
static int
devices_json(const struct ud_run_spec *s, const struct ud_rr_oci_params *p, json_t **out,
             struct ud_error *err)
{
    json_t *a = json_array();

    for (size_t i = 0; a && s->devices && s->devices[i]; i++) {
        struct stat st;
        int e = stat(s->devices[i], &st) < 0 ? errno : 0;
        if (e || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
            json_decref(a);
            return ud_error_set(err, UD_EINVAL, e, "invalid device: %s", s->devices[i]);
        }
        json_t *d = json_pack("{s:s, s:s, s:I, s:I, s:i, s:I, s:I}", "path", s->devices[i], "type",
                              S_ISCHR(st.st_mode) ? "c" : "b", "major",
                              (json_int_t)major(st.st_rdev), "minor", (json_int_t)minor(st.st_rdev),
                              "fileMode", 0666, "uid", (json_int_t)0, "gid", (json_int_t)0);
        if (json_array_append_new(a, d) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    if (!a)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "generate config.json");
    *out = a;
    return 0;
}

static json_t *
linux_json(const struct ud_run_spec *s, const struct ud_rr_oci_params *p, json_t *devices)
{
    /* No "network" namespace (host networking), no "cgroup" one, and no
     * "pid" one: the command would be PID 1 there, which the kernel
     * shields from every signal it has no handler for, so SIGTERM from a
     * batch system or a user would be lost (R1 makes the same choice). */
    (void)s;
    return json_pack("{s:[{s:i, s:I, s:i}], s:[{s:i, s:I, s:i}], s:[{s:s}, {s:s}, {s:s}, {s:s}], "
                     "s:o, s:o, s:o}",
                     "uidMappings", "containerID", 0, "hostID", (json_int_t)p->host_uid, "size", 1,
                     "gidMappings", "containerID", 0, "hostID", (json_int_t)p->host_gid, "size", 1,
                     "namespaces", "type", "ipc", "type", "uts", "type", "mount", "type", "user",
                     "maskedPaths", strv_json(masked_paths), "readonlyPaths",
                     strv_json(readonly_paths), "devices", devices);
}

int
ud_rr_oci_config_format(const struct ud_run_spec *spec, const struct ud_rr_oci_params *p,
                        char **out, struct ud_error *err)
{
    struct utsname u;
    const char *host = p->hostname;
    json_t *devices = NULL, *root = NULL;
    char *text = NULL;
    int rc = devices_json(spec, p, &devices, err);

    if (rc < 0)
        return rc;
    if (!host || !host[0])
        host = uname(&u) == 0 ? u.nodename : "localhost";
    root =
        json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2", "process",
                  process_json(spec, p), "root", "path", spec->root, "readonly", false, "hostname",
                  host, "mounts", mounts_json(spec, p), "linux", linux_json(spec, p, devices));
    if (root)
        text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "generate config.json");
    *out = text;
    return 0;
}
