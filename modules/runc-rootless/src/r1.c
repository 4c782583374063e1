/* SPDX-License-Identifier: Apache-2.0 */
/*
 * R1, the parent side: prepare everything the child needs (mount list,
 * id maps), clone() once with all namespace flags, optionally map
 * subordinate ranges with newuidmap/newgidmap, read the child's report
 * pipe until exec closes it, then wait with signal forwarding.
 */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "r1_int.h"

/* fork()-like clone with namespace flags: the child continues here on a
 * copy of the stack. s390 takes the stack argument first. */
static pid_t
clone_ns(unsigned long flags)
{
#if defined(__s390__) || defined(__CRIS__)
    return (pid_t)syscall(SYS_clone, 0UL, flags | SIGCHLD);
#else
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0UL, 0UL, 0UL, 0UL);
#endif
}

/* Run a helper (newuidmap) and wait for it; 0 when it exits 0. */
static int
run_helper(char *const argv[], struct ud_error *err)
{
    int st;
    pid_t pid = fork();

    if (pid < 0)
        return ud_error_set(err, UD_EIO, errno, "fork %s", argv[0]);
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return ud_error_set(err, UD_EIO, errno, "wait %s", argv[0]);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return ud_error_set(err, UD_EPERM, 0, "%s failed (status %d)", argv[0],
                            WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return 0;
}

/* newuidmap PID inside outside count ...: argv from the ranges. */
static int
run_idmap_tool(const char *tool, pid_t pid, const struct ud_rr_idrange *r, size_t n,
               struct ud_error *err)
{
    char nums[1 + 3 * 2][16];
    char *argv[2 + 3 * 2 + 1] = {(char *)tool};
    size_t k = 1;

    snprintf(nums[0], sizeof nums[0], "%d", (int)pid);
    argv[k++] = nums[0];
    for (size_t i = 0; i < n && i < 2; i++) {
        snprintf(nums[1 + 3 * i], 16, "%u", r[i].inside);
        snprintf(nums[2 + 3 * i], 16, "%u", r[i].outside);
        snprintf(nums[3 + 3 * i], 16, "%u", r[i].count);
        argv[k++] = nums[1 + 3 * i];
        argv[k++] = nums[2 + 3 * i];
        argv[k++] = nums[3 + 3 * i];
    }
    argv[k] = NULL;
    return run_helper(argv, err);
}

/* The maps; with subids also the ranges for newuidmap and newgidmap. */
static int
plan_maps(const struct ud_run_spec *spec, bool subids, struct r1_plan *p,
          struct ud_rr_idrange ur[2], size_t *nur, struct ud_rr_idrange gr[2], size_t *ngr,
          struct ud_error *err)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    struct ud_rr_subid su, sg, *psu = NULL, *psg = NULL;
    int rc;

    if (subids && spec->as_root) {
        struct passwd pw, *pwp = NULL;
        char buf[1024];
        const char *name =
            getpwuid_r(uid, &pw, buf, sizeof buf, &pwp) == 0 && pwp ? pw.pw_name : NULL;
        /* Both files are keyed by the user's name or uid (subgid(5)). */
        if (ud_rr_subid_lookup("/etc/subuid", name, uid, &su, NULL) == 0 &&
            ud_rr_subid_lookup("/etc/subgid", name, uid, &sg, NULL) == 0) {
            psu = &su;
            psg = &sg;
        }
    }
    *nur = ud_rr_idmap_build(spec->as_root, uid, psu, ur);
    /* Upstream gave newgidmap the uid; the group map is about the gid. */
    *ngr = ud_rr_idmap_build(spec->as_root, gid, psg, gr);
    /* Not as root (--user): a single-id map may name any id inside, so the
     * caller appears as the asked uid and gid (reference 6.5). */
    if (!spec->as_root) {
        ur[0].inside = (uint32_t)spec->uid;
        gr[0].inside = (uint32_t)spec->gid;
    }
    p->write_maps = !psu;
    rc = ud_rr_idmap_format(ur, *nur, p->uid_map, sizeof p->uid_map, err);
    if (rc == 0)
        rc = ud_rr_idmap_format(gr, *ngr, p->gid_map, sizeof p->gid_map, err);
    return rc;
}

/* ROOT/dev, /proc and /sys must exist to be mounted on. */
static int
ensure_sysdirs(const struct ud_run_spec *spec, struct ud_error *err)
{
    static const char *const dirs[] = {"/dev", "/proc", "/sys"};
    struct ud_engine_ctr ctr = {.cdir = spec->cdir, .root = spec->root};

    for (size_t i = 0; i < 3; i++) {
        int rc = ud_engine_mountpoint_add(&ctr, dirs[i], true, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Read the child's report: 0 at EOF (exec happened), else the error it
 * describes, the child reaped. */
static int
read_report(int fd, pid_t pid, const struct ud_run_spec *spec, struct ud_error *err)
{
    struct r1_report r;
    size_t got = 0;
    int st;

    while (got < sizeof r) {
        ssize_t n = read(fd, (char *)&r + got, sizeof r - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == 0)
        return 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (got < sizeof r)
        return ud_error_set(err, UD_EIO, 0, "the container failed to start");
    r.msg[sizeof r.msg - 1] = '\0';
    if (r.kind == R1_EXEC && (r.err == ENOENT || r.err == ENOTDIR || r.err == ELOOP))
        return ud_error_set(err, UD_ENOENT, 0, "command not found or has no execute bit set: %s",
                            spec->exe);
    if (r.kind == R1_EXEC)
        return ud_error_set(err, UD_EPERM, r.err, "cannot execute %s", spec->exe);
    int code = ud_error_from_errno(r.err);
    return ud_error_set(err, code == UD_ENOENT || code == UD_EPERM ? code : UD_EIO, r.err, "%s",
                        r.msg);
}

struct r1_fds {
    int err[2];
    int sync[2];
    int status[2];
};

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void
close_all(struct r1_fds *f)
{
    for (int i = 0; i < 2; i++) {
        close_fd(&f->err[i]);
        close_fd(&f->sync[i]);
        close_fd(&f->status[i]);
    }
}

/* clone() the child with every namespace at once; without a PID
 * namespace when the kernel refuses one and it was optional. */
static int
spawn(struct r1_plan *p, const struct ud_rr_r1_opts *o, struct r1_fds *f, pid_t *out,
      struct ud_error *err)
{
    unsigned long base = CLONE_NEWUSER | CLONE_NEWNS;
    pid_t pid;

    if (p->utsns)
        base |= CLONE_NEWUTS;
    if (o->ipcns)
        base |= CLONE_NEWIPC;
    p->errfd = f->err[1];
    p->syncfd = f->sync[0];
    p->statusfd = f->status[1];
    /* Signals reaching udocker from here on wait for ud_engine_wait. */
    ud_engine_fwd_begin();
    pid = clone_ns(base | (p->pidns ? CLONE_NEWPID : 0));
    if (pid < 0 && p->pidns && o->pidns < 0) {
        p->pidns = false;
        pid = clone_ns(base);
    }
    if (pid < 0)
        ud_engine_fwd_end();
    if (pid < 0)
        return ud_error_set(
            err, errno == EPERM || errno == EINVAL || errno == ENOSPC ? UD_EUNSUPP : UD_EIO, errno,
            "cannot create the user namespace");
    if (pid == 0) {
        ud_engine_fwd_child();
        close(f->err[0]);
        if (f->sync[1] >= 0)
            close(f->sync[1]);
        if (f->status[0] >= 0)
            close(f->status[0]);
        r1_child_main(p);
    }
    close_fd(&f->err[1]);
    close_fd(&f->sync[0]);
    close_fd(&f->status[1]);
    *out = pid;
    return 0;
}

/* With subordinate ranges: newuidmap/newgidmap on the child, then let it go. */
static int
map_from_outside(pid_t pid, const struct ud_rr_idrange *ur, size_t nur,
                 const struct ud_rr_idrange *gr, size_t ngr, int syncfd, struct ud_error *err)
{
    int rc = run_idmap_tool("newuidmap", pid, ur, nur, err);

    if (rc == 0)
        rc = run_idmap_tool("newgidmap", pid, gr, ngr, err);
    if (rc == 0 && write(syncfd, "g", 1) != 1)
        rc = ud_error_set(err, UD_EIO, errno, "start the container");
    if (rc < 0) {
        int st;
        kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
    return rc;
}

static int
open_pipes(const struct r1_plan *p, struct r1_fds *f, struct ud_error *err)
{
    if (pipe2(f->err, O_CLOEXEC) < 0 || (!p->write_maps && pipe2(f->sync, O_CLOEXEC) < 0) ||
        (p->pidns && pipe2(f->status, O_CLOEXEC) < 0))
        return ud_error_set(err, UD_EIO, errno, "pipe");
    return 0;
}

/* Start the child and let it reach exec; *pid once it did. */
static int
start(struct r1_plan *p, const struct ud_rr_r1_opts *o, struct r1_fds *f, pid_t *pid,
      struct ud_error *err)
{
    struct ud_rr_idrange ur[2], gr[2];
    size_t nur, ngr;
    int rc = plan_maps(p->spec, o->subids, p, ur, &nur, gr, &ngr, err);

    if (rc == 0)
        rc = open_pipes(p, f, err);
    if (rc == 0)
        rc = spawn(p, o, f, pid, err);
    if (rc == 0 && !p->write_maps)
        rc = map_from_outside(*pid, ur, nur, gr, ngr, f->sync[1], err);
    close_fd(&f->sync[1]);
    if (rc == 0)
        rc = read_report(f->err[0], *pid, p->spec, err);
    if (rc < 0)
        ud_engine_fwd_end(); /* no wait follows; the child is reaped */
    return rc;
}

int
ud_rr_r1_run(const struct ud_run_spec *spec, const struct ud_hostcaps *caps,
             const struct ud_rr_r1_opts *opts, int *wstatus, struct ud_error *err)
{
    const struct ud_rr_r1_opts defaults = UD_RR_R1_DEFAULTS;
    struct r1_plan p = {.spec = spec};
    struct r1_fds f = {{-1, -1}, {-1, -1}, {-1, -1}};
    struct rr_mount *mounts = NULL;
    size_t nmounts = 0;
    pid_t pid = -1;
    int ws = 0, rc;

    if (!opts)
        opts = &defaults;
    if (caps && !caps->userns)
        return ud_error_set(err, UD_EUNSUPP, 0, "user namespaces are not available%s%s",
                            caps->userns_why[0] ? ": " : "", caps->userns_why);
    p.pidns = opts->pidns > 0 || (opts->pidns < 0 && (!caps || caps->pidns));
    p.utsns = spec->hostname && spec->hostname[0];
    p.affinity = spec->cpuset && spec->cpuset[0];
    rc = p.affinity ? rr_cpuset_parse(spec->cpuset, &p.cpus, err) : 0;
    if (rc == 0)
        rc = ensure_sysdirs(spec, err);
    if (rc == 0)
        rc = rr_mounts_prepare(spec, &mounts, &nmounts, err);
    p.mounts = mounts;
    p.nmounts = nmounts;
    if (rc == 0 && ud_log_enabled(UD_LOG_DEBUG))
        ud_log(UD_LOG_DEBUG, "R1: %zu binds, pid namespace %s, subordinate ids %s", nmounts,
               p.pidns ? "yes" : "no", opts->subids ? "asked" : "no");
    if (rc == 0)
        rc = start(&p, opts, &f, &pid, err);
    if (rc == 0)
        rc = ud_engine_wait(pid, pid, &ws, err);
    if (rc == 0 && p.pidns) {
        int st;
        /* The init reports the command's own status; without it (the init
         * was killed) its own status is the best there is. */
        if (read(f.status[0], &st, sizeof st) == (ssize_t)sizeof st)
            ws = st;
    }
    close_all(&f);
    rr_mounts_free(mounts, nmounts);
    if (rc == 0)
        *wstatus = ws;
    return rc;
}
