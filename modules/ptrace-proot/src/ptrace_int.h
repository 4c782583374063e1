/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private declarations of the tracer: one struct tracer per run, one
 * struct tracee per traced thread, the syscall table and the handlers that
 * rewrite arguments at entry and results at exit.
 */
#pragma once

#ifndef UD_BUILDING_PTRACE_PROOT
#error "ptrace_int.h is private to the ptrace-proot module"
#endif

#include <limits.h>
#include <pthread.h>
#include <linux/ptrace.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "ud/engine.h"

#include "pathmap.h"

/* What a syscall-exit stop must do (bits of tracee.exit_work). */
#define XW_RESTORE 0x001u  /* put back the argument registers in restore_mask */
#define XW_RET 0x002u      /* replace the result with ret_value */
#define XW_GETCWD 0x004u   /* host path in the buffer -> guest path */
#define XW_READLINK 0x008u /* /proc magic link target -> guest path */
#define XW_UNAME 0x010u    /* release field -> --kernel value */
#define XW_RESID 0x020u    /* getresuid/getresgid: write the fake ids */
#define XW_EPERM_OK 0x040u /* chown family: EPERM -> 0 (root emulation) */
#define XW_EXEC 0x080u     /* execve: forget the pending program if it failed */
#define XW_INVAL 0x100u    /* tell the canonicaliser on success (inval_host[]) */
#define XW_STAT 0x200u     /* stat buffer: host ids -> container ids, owner records */
#define XW_CHOWN 0x400u    /* chown family: remember the ids asked for */
#define XW_DROP 0x800u     /* unlink/rmdir/rename: forget the record of own_dev/ino */
#define XW_CHMOD 0x1000u   /* chmod refused: remember the mode (root emulation) */
#define XW_CLOSEFD 0x2000u /* close own_fd (a status copy the tracee opened) */

/* OWN_UNSET: an id the owners database does not set. */
#define OWN_UNSET UINT32_MAX

/* One traced thread. */
struct tracee {
    struct tracee *next; /* hash chain */
    pid_t tid;
    pid_t tgid;
    bool seen_stop;   /* its first stop arrived */
    bool seen_parent; /* its parent's fork/clone event arrived */
    bool held;        /* stopped, waiting for the other of the two */
    bool exec_done;   /* PTRACE_EVENT_EXEC since the last execve entry */
    bool in_listen;   /* group-stopped under PTRACE_LISTEN */

    /* The syscall in progress (between entry and exit). */
    long nr;
    uint64_t args[6];
    uint64_t sp;
    uint64_t scratch; /* next free byte going down from sp - red zone */
    unsigned exit_work;
    unsigned restore_mask;
    int64_t ret_value;
    int proc_pid;   /* XW_READLINK: the process the link names */
    char proc_what; /* 'e' exe, 'r' root, 'o' other */

    /* Root emulation (owners.c): the file a chown/chmod/unlink acts on,
     * taken at entry, recorded or forgotten at exit. */
    bool own_ok;        /* own_st is set */
    struct stat own_st; /* its host stat at entry */
    uint32_t own_uid, own_gid, own_mode;
    int own_fd; /* XW_CLOSEFD */
    /* XW_INVAL: the host paths to give ud_pathmap_invalidate at exit
     * (owned, NULL when none). */
    char *inval_host[2];

    /* The loader's words in the process's command line, hidden from
     * /proc/PID/cmdline: 0 none, 1 "loader" (PROGRAM shows as argv[0]),
     * 2 "loader --argv0 ARGV0 PROGRAM" (ARGV0 kept). */
    unsigned char cmd, pending_cmd;
    char *exe;         /* guest path of the running program (owned) */
    char *pending_exe; /* guest path of the program being exec'ed (owned) */
};

#define TRACEE_BUCKETS 256

struct tracer {
    const struct ud_run_spec *spec;
    struct ud_pathmap *map;
    bool seccomp; /* P1 */
    bool notify;  /* P1 with the seccomp user-notification fast lane */
    struct notifier *notifier;
    /* Held by the ptrace loop while it handles a stop and by the
     * notification supervisor while it handles a call: the canonicaliser
     * and the tracee table are single-threaded. */
    pthread_mutex_t lock;
    bool proc_bound; /* /proc of the host is bound at /proc */
    bool fake_ids;
    uid_t fake_uid;
    gid_t fake_gid;
    /* Stat results show host_uid/host_gid as fake_uid/fake_gid and every
     * other id as overflow_id (as a user namespace does), with the owners
     * database on top (root emulation only). */
    bool statmap;
    uid_t host_uid;
    gid_t host_gid;
    uint32_t overflow_id;
    struct owners *owners;

    struct tracee *buckets[TRACEE_BUCKETS];
    size_t ntracees;
    pid_t main_pid;
    int main_status;
    bool main_done;

    /* Last components of the binds' container paths: a plain name equal
     * to one may cross into a bind, so the fast path does not apply. */
    char **bind_names;
    size_t nbind_names;

    /* Loaders seen and whether they accept --argv0. */
    struct loader_info {
        char *host;
        bool argv0;
    } loaders[8];
    size_t nloaders;

    /* Counters for -D and the benchmarks. */
    unsigned long nstops, nrewrites, nfast, nnotify;
};

/* tracer.c */
struct tracee *ud_tracee_find(struct tracer *t, pid_t tid);

/* mem.c: tracee memory. 0 or -errno. */
int ud_mem_read(pid_t tid, uint64_t addr, void *buf, size_t n);
int ud_mem_write(pid_t tid, uint64_t addr, const void *buf, size_t n);
/* Read a NUL-terminated string of at most n-1 bytes; -ENAMETOOLONG when
 * longer, -EFAULT on a bad address. */
int ud_mem_read_str(pid_t tid, uint64_t addr, char *buf, size_t n);
/* Copy n bytes below the tracee's stack pointer (te->scratch moves down);
 * *addr gets their address. */
int ud_mem_push(struct tracee *te, const void *buf, size_t n, uint64_t *addr);

/* syscalls.c */
/* Handle a syscall entry (a seccomp stop under P1). Fills te->exit_work;
 * the caller asks for an exit stop when it is non-zero. */
void ud_sys_enter(struct tracer *t, struct tracee *te, long nr, const uint64_t args[6],
                  uint64_t sp);
/* Handle the exit stop with the raw return value. */
void ud_sys_exit(struct tracer *t, struct tracee *te, int64_t rval);
/* Fill the seccomp program for P1 (libseccomp, exported to BPF). *prog is
 * ud_malloc'ed sock_filter array of *len entries. */
int ud_sys_filter_build(const struct tracer *t, void **prog, unsigned short *len,
                        struct ud_error *err);

/* Skip the call; the exit stop sets its result to ret. */
void ud_sys_fail(struct tracee *te, int64_t ret);
/* The path the tracer can use for a path argument (see syscalls.c). */
int ud_sys_local_path(pid_t tid, int dirfd, const char *guest, const char *host, int r, char *out);

/* own_sys.c: ownership emulation around the calls (root emulation). */
struct sysdesc;
/* Entry of a chown/chmod/unlink/rmdir/rename/mknod after its paths were
 * translated; local[k]: the tracer's path of path argument k ("" none). */
void ud_own_enter(struct tracer *t, struct tracee *te, const struct sysdesc *d,
                  char local[2][PATH_MAX]);
void ud_own_getgroups(struct tracer *t, struct tracee *te);
/* open/openat of /proc/PID/status: the container's ids (a copy). */
void ud_own_open(struct tracer *t, struct tracee *te, const struct sysdesc *d, const char *local);
void ud_own_exit(struct tracer *t, struct tracee *te, unsigned work, int64_t rval);
/* The umask of a tracee (/proc/PID/status), 022 when unknown. */
mode_t ud_tracee_umask(pid_t pid);

/* Does the call follow the last symlink of path k (0 or 1)? */
bool ud_sys_follow_k(const void *desc, pid_t tid, const uint64_t args[6], int k);
#define ud_sys_follow(d, args) ud_sys_follow_k((d), 0, (args), 0)

/* notify.c: the supervisor thread of the seccomp listener fd (taken). */
int ud_notify_start(struct tracer *t, int fd, struct ud_error *err);
void ud_notify_stop(struct tracer *t);

/* translate.c */
#define XL_FOLLOW 0x1u /* the final symlink is followed */
#define XL_RESULT 0x2u /* the call returns a path about it (readlink) */
/* Guest path arg of the tracee (relative to dirfd, AT_FDCWD for the cwd) to
 * the host path in out[PATH_MAX]. 1 when the kernel can be given the
 * argument unchanged, 0 when out holds the replacement, -errno to fail the
 * call with. how: XL_* bits. */
int ud_xlate(struct tracer *t, struct tracee *te, int dirfd, const char *guest, unsigned how,
             char *out);
/* The tracee's view of a host path, for results; 0 or -errno. */
int ud_xlate_to_guest(struct tracer *t, const char *host, char *out, size_t outsz);
/* The host path of the tracee's dirfd (AT_FDCWD: its cwd) in out[PATH_MAX]. */
int ud_xlate_dirfd(pid_t tid, int dirfd, char *out);
/* Host path of a /proc/N[/task/T]/{exe,root,cwd,fd/K} magic link: its pid
 * and kind ('e', 'r', 'c', 'f'). */
bool ud_xlate_proc_link(const char *host, int *pid, char *what);
/* Replace argument i of the tracee with the string s (pushed below sp). */
int ud_xlate_set_str_arg(struct tracee *te, int i, const char *s);

/* owners.c: ownership emulation. The database: NULL cdir keeps it in
 * memory. Calls are made under t->lock. */
int ud_owners_open(struct tracer *t, const char *cdir, struct ud_error *err);
void ud_owners_close(struct tracer *t);
size_t ud_owners_count(const struct tracer *t);
void ud_owners_fix_stat(const struct tracer *t, struct stat *st);
void ud_owners_fix_statx(const struct tracer *t, struct statx *sx);
/* Remember ids (OWN_UNSET: unchanged) and a full mode (0: unchanged) for
 * the file whose host stat is host. */
void ud_owners_set(struct tracer *t, const struct stat *host, uint32_t uid, uint32_t gid,
                   uint32_t mode, uint64_t rdev);
/* A mode change (perm: the permission bits asked for): the record keeps
 * the file type it had (a device node stays one). */
void ud_owners_chmod(struct tracer *t, const struct stat *host, uint32_t perm);
bool ud_owners_has(const struct tracer *t, const struct stat *host);
void ud_owners_drop(struct tracer *t, uint64_t dev, uint64_t ino);
/* Is host a /proc/PID[/task/TID]/status file? */
bool ud_owners_is_status(const char *host);
/* A memfd holding that file with the Uid/Gid/Groups lines in the
 * container's ids (the kernel shows the host's); -errno. */
int ud_owners_status_fd(const struct tracer *t, const char *host);
/* procfile.c: /proc files whose content shows the host: an open of
 * /proc/PID[/task/TID]/{status,cmdline} gets a copy in the container's
 * terms. 1 with *fd (a memfd) when so, 0 when host is not one of them,
 * -errno. */
int ud_proc_copy(struct tracer *t, const char *host, int *fd);
/* Fold log text (modified in place) into the database (for tests). */
struct owners;
int ud_owners_parse(struct owners *o, char *data, size_t len);

/* exec.c */
/* execve/execveat entry: rewrites filename and argv for the container's
 * loader and #! interpreters. 0, or -errno to fail the call with. */
int ud_exec_enter(struct tracer *t, struct tracee *te, int dirfd, int path_arg);

/* ---- qemu.c: foreign architectures (QEMU user mode) ---- */
/* For the ELF header hdr[n] of a program about to be exec'ed: 0 when the
 * kernel runs it itself (the host's machine; an i386 program without
 * qemu-i386), 1 when it is foreign and *qemu is the host path of the
 * static qemu binary to run it under, -ENOEXEC when it is foreign and PATH
 * holds no qemu for it. *qemu stays valid while PATH is unchanged. */
int ud_qemu_for_elf(const unsigned char *hdr, size_t n, const char **qemu);
