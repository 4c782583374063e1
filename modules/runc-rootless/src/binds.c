/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From the spec's binds to mounts ready for the child (R1) or for the OCI
 * config (R2/R3): missing system binds dropped, targets resolved inside
 * ROOT, missing mountpoints created and recorded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rr_int.h"

/* /dev, /proc and /sys are built by the engine itself. */
static bool
engine_provided(const char *cont)
{
    return strcmp(cont, "/dev") == 0 || strcmp(cont, "/proc") == 0 || strcmp(cont, "/sys") == 0;
}

/* Under /dev the mountpoint lives on the engine's tmpfs: made at mount
 * time by the child, never in ROOT. */
static bool
under_dev(const char *cpath)
{
    return strncmp(cpath, "/dev/", 5) == 0;
}

void
rr_mounts_free(struct rr_mount *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++) {
        free(m[i].src);
        free(m[i].cont);
        free(m[i].target);
    }
    free(m);
}

/* Prepare one bind into *m; *keep false when it is dropped. */
static int
prepare_one(const struct ud_run_spec *spec, size_t idx, const char *host, const char *cont, bool ro,
            struct rr_mount *m, bool *keep, struct ud_error *err)
{
    cleanup_free char *cpath = NULL;
    struct stat st;
    bool exists, via_bind;
    mode_t mode;
    bool sys = idx < spec->nbinds && (spec->binds[idx].flags & UD_BIND_SYS);
    int rc;

    *keep = false;
    if (stat(host, &st) < 0) {
        if (sys)
            return 0; /* a system bind missing on this host: dropped */
        return ud_error_set(err, UD_ENOENT, errno, "invalid host volume path: %s", host);
    }
    bool dir = S_ISDIR(st.st_mode);
    rc = rr_resolve(spec->root, spec->binds, idx < spec->nbinds ? idx : spec->nbinds, cont, &cpath,
                    &exists, &mode, &via_bind, err);
    if (rc < 0)
        return rc;
    if (exists && S_ISDIR(mode) != dir)
        return ud_error_set(err, UD_EEXIST, 0, "cannot bind %s onto %s: not a %s", host, cont,
                            dir ? "directory" : "file");
    m->create = !exists && under_dev(cpath);
    if (!exists && !m->create) {
        if (via_bind)
            return ud_error_set(err, UD_ENOENT, 0, "mountpoint %s is missing in a volume", cont);
        struct ud_engine_ctr ctr = {.cdir = spec->cdir, .root = spec->root};
        rc = ud_engine_mountpoint_add(&ctr, cpath, dir, err);
        if (rc < 0)
            return rc;
    }
    m->src = ud_strdup(host);
    m->cont = ud_steal(&cpath);
    m->target = ud_asprintf("%s%s", spec->root, m->cont);
    if (!m->src || !m->target)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "prepare binds");
    m->dir = dir;
    m->ro = ro;
    *keep = true;
    return 0;
}

int
rr_mounts_prepare(const struct ud_run_spec *spec, struct rr_mount **out, size_t *n,
                  struct ud_error *err)
{
    size_t ndev = ud_strv_len(spec->devices);
    struct rr_mount *m = ud_calloc(spec->nbinds + ndev + 1, sizeof *m);
    size_t k = 0;
    int rc = 0;

    if (!m)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "prepare binds");
    for (size_t i = 0; rc == 0 && i < spec->nbinds; i++) {
        const struct ud_bind *b = &spec->binds[i];
        bool keep;
        if (engine_provided(b->cont))
            continue;
        rc = prepare_one(spec, i, b->host, b->cont, b->flags & UD_BIND_RO, &m[k], &keep, err);
        k += keep;
    }
    /* --device=/dev/X: in a user namespace a node cannot be made, so the
     * host's node is bound at the same path. */
    for (size_t i = 0; rc == 0 && i < ndev; i++) {
        bool keep;
        rc = prepare_one(spec, spec->nbinds, spec->devices[i], spec->devices[i], false, &m[k],
                         &keep, err);
        k += keep;
    }
    if (rc < 0) {
        rr_mounts_free(m, k + 1);
        return rc;
    }
    *out = m;
    *n = k;
    return 0;
}
