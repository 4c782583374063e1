/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runc-rootless: the R execution modes. R1 builds the container itself with
 * user and mount namespaces (no external program); R2 and R3 drive an
 * installed runc or crun with a generated rootless OCI runtime config.
 * Also exported for tests and for `setup --purge`: the subordinate id
 * parser, id map building, mountpoint bookkeeping and the OCI generator.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ud/base.h"
#include "ud/engine.h"

/* The engines: R1 native namespaces, R2 runc, R3 crun. */
extern const struct ud_engine ud_engine_r1, ud_engine_r2, ud_engine_r3;

/* ------------------------------------------------------------------ */
/* Subordinate ids and id maps                                         */
/* ------------------------------------------------------------------ */

/* A range granted by /etc/subuid or /etc/subgid. */
struct ud_rr_subid {
    uint32_t start;
    uint32_t count;
};

/* Find the first range granted to user (a name, may be NULL) or to the
 * numeric id in the text of a subuid/subgid file ("owner:start:count" per
 * line). Malformed lines are skipped, as shadow's tools do. UD_ENOENT when
 * nothing is granted. Never allocates. */
int ud_rr_subid_find(const char *text, size_t len, const char *user, uint32_t id,
                     struct ud_rr_subid *out, struct ud_error *err) UD_WUR;
/* The same for a file (at most 1 MiB). UD_ENOENT also when it is missing. */
int ud_rr_subid_lookup(const char *path, const char *user, uint32_t id, struct ud_rr_subid *out,
                       struct ud_error *err) UD_WUR;

/* One line of /proc/PID/uid_map: ids inside..inside+count-1 are the host's
 * outside..outside+count-1. */
struct ud_rr_idrange {
    uint32_t inside;
    uint32_t outside;
    uint32_t count;
};

/* The map for a user namespace: host id mapped to 0 (as_root) or to
 * itself; with sub (may be NULL) and as_root, ids 1..count also get the
 * subordinate range. Writes at most 2 ranges; returns how many. */
size_t ud_rr_idmap_build(bool as_root, uint32_t host_id, const struct ud_rr_subid *sub,
                         struct ud_rr_idrange out[2]);
/* The map in /proc/PID/uid_map syntax ("0 1000 1\n..."). UD_ETOOBIG when
 * size is too small. */
int ud_rr_idmap_format(const struct ud_rr_idrange *r, size_t n, char *buf, size_t size,
                       struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Mountpoints inside ROOT                                             */
/* ------------------------------------------------------------------ */

/* Resolve the container path cpath the way the container will see it once
 * binds[0..nbinds-1] are mounted: container symlinks are followed with
 * root as "/", and a path under an earlier bind is looked up in that
 * bind's host path. *out (caller frees) is the container path free of
 * symlinks; *exists tells whether something is there already. UD_ELOOP is
 * not a code here: too many links give UD_EINVAL. */
int ud_rr_path_resolve(const char *root, const struct ud_bind *binds, size_t nbinds,
                       const char *cpath, char **out, bool *exists, struct ud_error *err) UD_WUR;

/* Missing mountpoints are made and recorded by ud_engine_mountpoint_add()
 * and removed by ud_execmode_purge() (modules/engine). */

/* ------------------------------------------------------------------ */
/* R1                                                                  */
/* ------------------------------------------------------------------ */

/* Choices of R1 beyond the spec. ud_engine_r1 uses UD_RR_R1_DEFAULTS. */
struct ud_rr_r1_opts {
    int pidns;   /* 1 new PID namespace with a small init as PID 1, 0 none,
                    -1 when caps->pidns says it works */
    bool ipcns;  /* a new IPC namespace (off: HPC codes share host IPC) */
    bool subids; /* with as_root, map the whole /etc/subuid and /etc/subgid
                    ranges through newuidmap/newgidmap */
};
#define UD_RR_R1_DEFAULTS                                                                          \
    {                                                                                              \
        .pidns = 0, .ipcns = false, .subids = false                                                \
    }

/* Run spec with R1 and the given options; as ud_engine_r1.exec otherwise.
 * caps may be NULL (nothing known: everything is tried). Errors from the
 * child before exec come back as one line ("mount /proc: Permission
 * denied"): UD_EIO or the errno's code; a program that cannot be executed
 * is UD_ENOENT "command not found or has no execute bit set: X" (exit 127
 * for the CLI) or UD_EPERM "cannot execute X: ..." (126). */
int ud_rr_r1_run(const struct ud_run_spec *spec, const struct ud_hostcaps *caps,
                 const struct ud_rr_r1_opts *opts, int *wstatus, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* R2 / R3: the OCI runtime config                                     */
/* ------------------------------------------------------------------ */

enum ud_rr_runtime {
    UD_RR_RUNC = 1,
    UD_RR_CRUN = 2,
};

/* Host facts the config depends on (tests set them by hand). */
struct ud_rr_oci_params {
    enum ud_rr_runtime runtime;
    uid_t host_uid; /* the caller: every mapping's hostID */
    gid_t host_gid;
    const char *hostname; /* spec->hostname, else the host node name */
    const char *shm_size; /* "2g" when NULL */
    bool mqueue;          /* keep the /dev/mqueue mount (kernel >= 4.8) */
};

/* config.json for spec (compact JSON, caller frees): process args, env,
 * cwd, terminal (spec->tty), user 0 (the caller mapped to root: runc needs
 * a root mapping, so R2/R3 always run as root, as upstream's do),
 * root.path = spec->root writable, proc (the host's, bound) / dev / devpts
 * / shm / mqueue / sys mounts, the spec's binds as rbinds (read-only ones
 * with "ro"), --device entries (major/minor of st_rdev), user, mount, ipc
 * and uts namespaces (no network, no cgroup, no pid: see
 * docs/runc-rootless.md), upstream's capability set.
 * Errors: UD_EINVAL (a bind or device that cannot be stat'ed), UD_ENOMEM. */
int ud_rr_oci_config_format(const struct ud_run_spec *spec, const struct ud_rr_oci_params *p,
                            char **out, struct ud_error *err) UD_WUR;

/* Run spec with runc or crun at runtime_path; as ud_engine_r2.exec. */
int ud_rr_oci_run(const struct ud_run_spec *spec, enum ud_rr_runtime runtime,
                  const char *runtime_path, int *wstatus, struct ud_error *err) UD_WUR;
