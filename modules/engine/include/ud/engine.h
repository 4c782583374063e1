/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine: what every execution engine shares. The run spec (argv,
 * environment, working directory, user, binds, ports) is built once from
 * the command line, the image config and the container's metadata; every
 * engine consumes the same spec. The engine interface (probe, prepare,
 * execute, undo), execution modes and their bookkeeping in the container
 * directory, the host capability probe and the automatic mode choice.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ud/base.h"

/* ------------------------------------------------------------------ */
/* The run spec                                                        */
/* ------------------------------------------------------------------ */

/* Flags of a bind. */
#define UD_BIND_SYS                                                                                \
    0x1u /* a default system bind (/dev, /proc, ...):                                              \
            dropped silently when missing on the host */
#define UD_BIND_GENERATED                                                                          \
    0x2u                   /* a file the spec builder generated (passwd,                           \
                              group copies): removed by ud_run_spec_free */
#define UD_BIND_RO 0x4u    /* bind read-only */
#define UD_BIND_DIR 0x8u   /* the host path is a directory (else a file) */
#define UD_BIND_USER 0x10u /* given by the user with -v */

/* A path of the host made visible at a path of the container. */
struct ud_bind {
    char *host; /* absolute host path */
    char *cont; /* absolute container path, never "/" */
    unsigned flags;
};

/* --publish [IP:]HOST:CONT: a bind() to CONT inside becomes HOST outside. */
struct ud_port_map {
    char *ip; /* NULL for any */
    uint16_t host;
    uint16_t cont;
};

/* Families of modes: P (ptrace), F (preload), R (namespaces), S (apptainer). */
enum ud_engine_family {
    UD_ENGINE_P = 'P',
    UD_ENGINE_F = 'F',
    UD_ENGINE_R = 'R',
    UD_ENGINE_S = 'S',
};

/* Everything an engine needs to run one command in one container. All
 * strings and arrays are owned by the spec. Container paths are absolute
 * and already normalised ("//a/./b/" -> "/a/b"). */
struct ud_run_spec {
    /* The container. */
    char *id;       /* container id; "" for run --location */
    char *root;     /* realpath of the container root on the host */
    char *cdir;     /* containers/<id> directory; NULL for --location */
    char mode[3];   /* execution mode in use, e.g. "R1" */
    char **names;   /* NULL-terminated container names (may be empty) */
    char *hostname; /* image config Hostname when it holds a '.', else NULL */

    /* What runs. */
    char **argv; /* NULL-terminated; argv[0] as the user gave it */
    char *exe;   /* container path of the resolved executable (argv[0]
                    found through PATH, the cwd, binds and container
                    symlinks); engines execute this path */
    char **env;  /* NULL-terminated "K=V": the final environment of the
                    process, host variables already merged as the mode's
                    family requires (reference 6.4) */
    char *cwd;   /* container path of the working directory */

    /* Who. */
    bool as_root; /* uid 0 inside (the default in P and R modes) */
    uid_t uid;    /* uid inside the container */
    gid_t gid;
    char *user; /* user name inside the container */
    char *home; /* container path */
    char *shell;

    /* Where. Binds are in the order they must be applied: system binds,
     * then the generated passwd/group, then user volumes. */
    struct ud_bind *binds;
    size_t nbinds;
    struct ud_port_map *ports;
    size_t nports;
    bool publish_all; /* -P / --publish-all / --netcoop */
    char **devices;   /* --device host paths, NULL-terminated */

    /* Host-side knobs. */
    char *kernel; /* --kernel=RELEASE, or NULL */
    char *cpuset; /* --cpuset-cpus, or NULL */
    bool tty;     /* stdin and stdout are terminals */
    int debug;    /* 0 normal, 1 -D */

    /* The image's ExposedPorts keys ("80/tcp"), NULL-terminated (may be
     * empty), for the CLI's warnings (reference 5.7). */
    char **exposed;
};

/* The options of "run" as given on the command line (borrowed strings;
 * arrays may be NULL when their count is 0). */
struct ud_run_opts {
    const char *const *volumes; /* -v H[:C] */
    size_t nvolumes;
    const char *const *novol; /* --novol=P */
    size_t nnovol;
    const char *const *env; /* -e K=V or K */
    size_t nenv;
    const char *const *env_files; /* --env-file=F */
    size_t nenv_files;
    const char *const *publish; /* -p [IP:]H:C */
    size_t npublish;
    const char *const *devices; /* --device=/dev/X */
    size_t ndevices;
    const char *user;       /* --user, or NULL */
    const char *workdir;    /* --workdir, or NULL */
    const char *entrypoint; /* --entrypoint value; NULL when not given */
    const char *kernel;
    const char *cpuset;
    const char *location; /* --location=DIR, or NULL */
    bool hostauth, containerauth, nosysdirs, hostenv, bindhome, nometa, dri, publish_all;
    char *const *cmd; /* the command after the target (may be empty) */
    size_t ncmd;
};

/* Who runs udocker on the host, and what surrounds it. Filled from the
 * process by ud_host_ident_current(); tests fill it by hand. */
struct ud_host_ident {
    uid_t uid;
    gid_t gid;
    const char *user;    /* host user name */
    const char *home;    /* host $HOME */
    const gid_t *groups; /* supplementary groups */
    size_t ngroups;
    char *const *environ;    /* host environment */
    const char *passwd_file; /* host passwd/group for --hostauth ("/etc/passwd") */
    const char *group_file;
};
int ud_host_ident_current(struct ud_host_ident *out, struct ud_error *err) UD_WUR;
void ud_host_ident_fini(struct ud_host_ident *h);

/* Configuration values the spec builder needs (udocker.conf). */
struct ud_run_defaults {
    const char *const *sysdirs;  /* default system binds for P/F modes */
    const char *const *dri_list; /* --dri binds */
    const char *root_path;       /* PATH for uid 0 when the image sets none */
    const char *user_path;       /* PATH for other users */
    const char *tmpdir;          /* where generated passwd/group go */
    const char *const *cmd;      /* the command when neither the user nor
                                    the image gives one (NULL: bash -i) */
};

/* Build the spec for container id (cdir, root, names as given), mode
 * (decides the default user and the host environment rules), image config
 * JSON (container.json; NULL or ignored with --nometa or --location).
 * Errors, each with a one-line message in err (reference 6.3-6.6):
 *   UD_EINVAL "invalid host volume path: X", "invalid container volume
 *     path: X", "invalid syntax for user: X", "invalid working directory: X",
 *     "invalid port mapping: X";
 *   UD_ENOENT "user not found: X", "command not found or has no execute
 *     bit set: X" (the CLI exits 127 for this one);
 *   UD_EIO/UD_ENOMEM otherwise. */
int ud_run_spec_build(const struct ud_run_opts *opts, const struct ud_host_ident *host,
                      const struct ud_run_defaults *defs, const char *id, const char *cdir,
                      const char *root, char *const *names, const char mode[3],
                      const char *config_json, size_t config_len, struct ud_run_spec **out,
                      struct ud_error *err) UD_WUR;
/* Frees the spec and removes the files it generated. NULL is a no-op. */
void ud_run_spec_free(struct ud_run_spec *spec);

/* Map a container path through the spec's binds: the host path that backs
 * it (a bind's host path, or root + path). Lexical: no symlinks are
 * followed. Caller frees. */
char *ud_run_spec_host_path(const struct ud_run_spec *spec, const char *cont_path);

/* ------------------------------------------------------------------ */
/* The host                                                            */
/* ------------------------------------------------------------------ */

/* What this host allows an unprivileged process to do. Each "why" says in
 * one line why a feature is missing ("" when it is present). */
struct ud_hostcaps {
    char kernel[65]; /* uname -r */
    char arch[16];   /* Docker name: amd64, arm64, ... */
    uid_t uid;       /* the probe is per user */
    bool userns;     /* unshare(CLONE_NEWUSER|CLONE_NEWNS) and a map work */
    char userns_why[160];
    bool pidns;         /* a PID namespace too (and a fresh /proc can be mounted) */
    bool subids;        /* /etc/subuid and /etc/subgid grant ranges and
                           newuidmap/newgidmap are installed */
    bool seccomp;       /* seccomp filters can be installed */
    bool seccomp_notif; /* SECCOMP_RET_USER_NOTIF and NOTIF_ADDFD */
    bool ptrace;        /* a child can be traced (yama scope allows it) */
    char ptrace_why[160];
    int yama_scope; /* kernel.yama.ptrace_scope, -1 if absent */
    char runc[256]; /* path of runc in PATH, "" if none */
    char crun[256];
    char apptainer[256];
};

/* Probe now (forks short-lived children; a few ms). Never fails: missing
 * features are recorded with their reason. */
void ud_hostcaps_probe(struct ud_hostcaps *out);
/* The cached probe in cache_file (JSON), reprobed and rewritten when it is
 * missing, unreadable, or made for another kernel, uid or udocker version.
 * cache_file may be NULL (probe only). */
int ud_hostcaps_get(const char *cache_file, struct ud_hostcaps *out, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Engines                                                             */
/* ------------------------------------------------------------------ */

/* Context of a container for prepare/undo. */
struct ud_engine_ctr {
    const char *id;
    const char *cdir; /* containers/<id> */
    const char *root; /* cdir/ROOT */
};

/* One execution mode. Engines are static const objects exported by their
 * modules (ud_engine_r1, ud_engine_p1, ...); the CLI lists them. */
struct ud_engine {
    char mode[3];                 /* "R1" */
    enum ud_engine_family family; /* 'R' */
    const char *summary;          /* one line for help and -D */
    int speed;                    /* lower runs faster; the auto choice
                                     takes the lowest that works */
    /* Can this mode run here? 0, or UD_EUNSUPP with the reason in err
     * ("user namespaces are disabled: sysctl kernel.unprivileged_userns_clone=0"). */
    int (*probe)(const struct ud_hostcaps *caps, struct ud_error *err);
    /* Make the container ready for this mode (setup --execmode), and undo
     * it when the container switches to another mode. NULL: nothing to do. */
    int (*prepare)(const struct ud_engine_ctr *c, struct ud_error *err);
    int (*undo)(const struct ud_engine_ctr *c, struct ud_error *err);
    /* Run the spec and wait for it. 0 with *wstatus (a waitpid status of
     * the container's main process) once it ran; an error when it could
     * not be started. Signals SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
     * SIGUSR2 and SIGWINCH reaching udocker are forwarded to it. */
    int (*exec)(const struct ud_run_spec *spec, const struct ud_hostcaps *caps, int *wstatus,
                struct ud_error *err);
};

/* Banner character of a family: P '*', F '#', R '%', S '/'. */
char ud_engine_banner_char(enum ud_engine_family f);
/* True for the ten modes upstream knows (P1 P2 F1-F4 R1-R3 S1). */
bool ud_execmode_valid(const char *mode);

/* The engine for mode among engines (NULL-terminated), or NULL. */
const struct ud_engine *ud_engine_find(const struct ud_engine *const *engines, const char *mode);
/* The automatic choice: the fastest engine whose probe passes. Without one,
 * UD_EUNSUPP with every engine's reason joined ("R1: ...; P1: ..."). The
 * reasons of the rejected ones are logged at DEBUG. */
int ud_engine_auto(const struct ud_engine *const *engines, const struct ud_hostcaps *caps,
                   const struct ud_engine **out, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Execution modes of a container (containers/<id>/execmode)           */
/* ------------------------------------------------------------------ */

/* The mode recorded in cdir/execmode, or "" when there is none. */
int ud_execmode_get(const char *cdir, char mode[3], struct ud_error *err) UD_WUR;
/* Switch the container to new_mode (reference 5.6 for the P and R modes
 * this implementation has): nothing when already there unless force; undo
 * of the old engine, FileBind restore of a container an upstream R mode
 * left behind, prepare of the new one, then execmode and root.path written
 * atomically. UD_EINVAL for an unknown mode, UD_EUNSUPP for a mode with no
 * engine here. */
int ud_execmode_set(const struct ud_engine *const *engines, const struct ud_engine_ctr *c,
                    const char *new_mode, bool force, struct ud_error *err) UD_WUR;

/* Restore the container files another udocker's R modes replaced by
 * links into /.bind_host_files (FileBind): the originals kept in
 * cdir/.bind_orig_files go back, both helper directories are removed.
 * Nothing to do is success. Done by ud_execmode_set and _purge. */
int ud_filebind_restore(const struct ud_engine_ctr *c, struct ud_error *err) UD_WUR;
/* setup --purge: remove the mountpoints recorded in cdir/.mountpoints
 * (only while still an empty directory or an empty regular file, then
 * their empty parents up to the recorded ancestor, never following a
 * symlink) and the records, then the FileBind leftovers. Records that do
 * not decode to a sane path are dropped unused. */
int ud_execmode_purge(const struct ud_engine_ctr *c, struct ud_error *err) UD_WUR;
/* For engines that need a mount target in the container (file or
 * directory volumes in R modes): create container path cont (cleaned
 * lexically; symlinks are not resolved here, resolve it first) under
 * c->root: a directory, or an empty file, with its missing parents. It is
 * recorded in c->cdir/.mountpoints for purge, upstream's format (a symlink
 * named after the path with '/' -> '#', pointing at the deepest directory
 * that existed, encoded the same way), before anything is created; with
 * c->cdir NULL (--location) nothing is recorded. Paths holding a '#' are
 * not recorded. An existing target of the same type is fine; of another
 * type, or a parent that is not a directory, UD_EEXIST; "/" UD_EINVAL. */
int ud_engine_mountpoint_add(const struct ud_engine_ctr *c, const char *cont, bool dir,
                             struct ud_error *err) UD_WUR;
/* Container path helpers (clean absolute paths): is path equal to prefix
 * or below it ("/a" covers "/a" and "/a/b", "/" covers all)? */
bool ud_engine_path_covers(const char *prefix, const char *path);
/* Drop the last component in place ("/a/b" -> "/a", "/a" -> "/"). */
void ud_engine_path_pop(char *path);

/* ------------------------------------------------------------------ */
/* Process helpers for engines                                          */
/* ------------------------------------------------------------------ */

/* Race-free signal forwarding around the fork (or clone) of the process
 * to run:
 *     ud_engine_fwd_begin();        parent, just before fork(): blocks the
 *                                   forwarded signals; they stay pending
 *     pid = fork();
 *     child:  ud_engine_fwd_child(); before exec: restores the signal mask
 *                                   (async-signal-safe, no allocation)
 *     fork failed: ud_engine_fwd_end();  restores the mask
 *     parent: ud_engine_wait(pid, pid, &st, err);  installs the handlers,
 *                                   then unblocks: a signal that came in
 *                                   between is forwarded, not lost
 * Without ud_engine_fwd_begin() ud_engine_wait still works, but a signal
 * arriving between the fork and the call acts on udocker itself. The state
 * is process-wide: one forwarding window at a time. */
void ud_engine_fwd_begin(void);
void ud_engine_fwd_child(void);
void ud_engine_fwd_end(void);

/* Wait for pid, forwarding the signals listed above to target (usually
 * pid itself; an engine whose pid is a supervisor may name another; <= 0
 * means pid). The handlers are installed for the duration of the call and
 * the previous dispositions and mask restored after it; a forwarding
 * window opened by ud_engine_fwd_begin() is closed. Signals a terminal
 * sends to its whole foreground group (si_code SI_KERNEL) are not sent a
 * second time to a target in udocker's own process group. *wstatus as
 * from waitpid. Errors: UD_EIO (waitpid failed, e.g. not our child). */
int ud_engine_wait(pid_t pid, pid_t target, int *wstatus, struct ud_error *err) UD_WUR;
/* Exit status for a waitpid status: the code, or 128+N for signal N
 * (1 for anything else). */
int ud_engine_exit_code(int wstatus);
