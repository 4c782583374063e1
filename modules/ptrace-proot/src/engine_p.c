/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The P1 and P2 engines: probe the host, set up the tracer (canonicaliser,
 * fast-path tables, seccomp program), start the container's first process
 * stopped, seize it, and run the tracer loop until the tree is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ud/ptrace-proot.h"

#include "ptrace_int.h"
#include "tracer.h"

static const int fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
#define NFWD (sizeof(fwd_signals) / sizeof(fwd_signals[0]))

/* Signal handlers need a global: the pid they forward to (0: none). Only
 * kill()-sent signals are forwarded (a terminal's ^C already reaches the
 * container's process group). kill() is async-signal-safe, so the handler
 * forwards at once, whatever the loop is doing. */
static volatile sig_atomic_t fwd_target;

static void
on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    pid_t target = (pid_t)fwd_target;
    if (si->si_code <= 0 && target > 0)
        kill(target, sig);
}

static int
kernel_at_least(const char *rel, int maj, int min)
{
    int a = 0, b = 0;
    if (sscanf(rel, "%d.%d", &a, &b) < 2)
        return 1; /* unknown: let it try */
    return a > maj || (a == maj && b >= min);
}

static int
probe_common(const struct ud_hostcaps *caps, struct ud_error *err)
{
    if (!caps->ptrace && caps->ptrace_why[0] != '\0')
        return ud_error_set(err, UD_EUNSUPP, 0, "ptrace is not allowed here: %s", caps->ptrace_why);
    if (!caps->ptrace && caps->yama_scope >= 2)
        return ud_error_set(err, UD_EUNSUPP, 0,
                            "ptrace is not allowed here: kernel.yama.ptrace_scope is %d",
                            caps->yama_scope);
    if (!caps->ptrace)
        return ud_error_set(err, UD_EUNSUPP, 0,
                            "ptrace is not allowed here: a child process cannot be traced");
    if (!kernel_at_least(caps->kernel, 5, 3))
        return ud_error_set(err, UD_EUNSUPP, 0,
                            "kernel %s lacks PTRACE_GET_SYSCALL_INFO (needs 5.3 or later)",
                            caps->kernel);
    return 0;
}

static int
probe_p1(const struct ud_hostcaps *caps, struct ud_error *err)
{
    int r = probe_common(caps, err);
    if (r < 0)
        return r;
    if (!caps->seccomp)
        return ud_error_set(err, UD_EUNSUPP, 0,
                            "seccomp filters cannot be installed here (use P2)");
    return 0;
}

static int
probe_p2(const struct ud_hostcaps *caps, struct ud_error *err)
{
    return probe_common(caps, err);
}

static int
strv_add(char ***v, size_t *n, const char *s)
{
    char **nv = ud_realloc(*v, (*n + 1) * sizeof(*nv));
    if (nv == NULL)
        return -ENOMEM;
    *v = nv;
    if ((nv[*n] = ud_strdup(s)) == NULL)
        return -ENOMEM;
    (*n)++;
    return 0;
}

static void
strv_free_n(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Fast-path table: the last components of the binds' container paths;
 * and whether the host's /proc is bound at /proc. */
static int
tracer_tables(struct tracer *t, struct ud_error *err)
{
    const struct ud_run_spec *s = t->spec;
    int r = 0;
    for (size_t i = 0; i < s->nbinds && r == 0; i++) {
        const struct ud_bind *b = &s->binds[i];
        if (strcmp(b->cont, "/proc") == 0)
            t->proc_bound = true;
        const char *base = strrchr(b->cont, '/');
        base = base != NULL ? base + 1 : b->cont;
        if (base[0] != '\0')
            r = strv_add(&t->bind_names, &t->nbind_names, base);
    }
    if (r < 0)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return 0;
}

static void
tracer_fini(struct tracer *t)
{
    ud_owners_close(t);
    ud_tracer_free_tracees(t);
    ud_pathmap_free(t->map);
    strv_free_n(t->bind_names, t->nbind_names);
    for (size_t i = 0; i < t->nloaders; i++)
        free(t->loaders[i].host);
}

static void
child_fail(const char *what)
{
    char msg[256];
    int n = snprintf(msg, sizeof(msg), "udocker: ptrace engine: %s: %s\n", what, strerror(errno));
    if (n > 0)
        (void)!write(2, msg, (size_t)n);
    _exit(126);
}

/* The container's first process: it stops itself so the tracer can seize
 * it, then installs the filter and execs the guest program by its guest
 * path (the tracer translates that exec like any other). */
/* Hand the listener fd to the tracer over the socket (fd < 0: tell it
 * there is none). */
static void
send_fd(int sock, int fd)
{
    char byte = fd >= 0 ? 'L' : 'N';
    struct iovec iov = {&byte, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } c;
    struct msghdr m = {0};
    memset(&c, 0, sizeof(c));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = c.buf;
    m.msg_controllen = sizeof(c.buf);
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof(int));
    if (fd < 0) {
        m.msg_control = NULL;
        m.msg_controllen = 0;
    }
    if (sendmsg(sock, &m, 0) != 1)
        child_fail("sending the seccomp listener");
}

static int
recv_fd(int sock)
{
    char byte;
    struct iovec iov = {&byte, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } c;
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = c.buf;
    m.msg_controllen = sizeof(c.buf);
    if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    if (byte == 'N')
        return -2;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    if (h == NULL || h->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(h), sizeof(int));
    return fd;
}

static void
child_main(const struct tracer *t, const char *host_cwd, struct sock_fprog *prog,
           struct sock_fprog *nprog, int sock)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (size_t i = 0; i < NFWD; i++)
        signal(fwd_signals[i], SIG_DFL);
    if (chdir(host_cwd) < 0)
        child_fail("chdir");
    /* Traceable even when the caller changed credentials (non-dumpable
     * until the next exec otherwise). */
    (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail("no_new_privs");
    if (sock >= 0) {
        /* The filter with a listener goes in before the tracer attaches:
         * nothing between here and the stop is a traced call. Refused (a
         * sandbox that filters seccomp() itself): the plain filter after
         * the stop, as without the fast lane. */
        long fd =
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, nprog);
        send_fd(sock, (int)fd);
        if (fd >= 0) {
            close((int)fd);
            prog = NULL;
        }
        close(sock);
    }
    kill(getpid(), SIGSTOP);
    if (prog != NULL && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
        child_fail("seccomp");
    execve(t->spec->exe, t->spec->argv, t->spec->env);
    child_fail(t->spec->exe);
}

static int
start(struct tracer *t, const char *host_cwd, struct sock_fprog *prog, struct sock_fprog *nprog,
      struct ud_error *err)
{
    int status = 0, sv[2] = {-1, -1};
    if (t->notify && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return ud_error_set(err, UD_EIO, errno, "socketpair");
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        if (sv[0] >= 0) {
            close(sv[0]);
            close(sv[1]);
        }
        return ud_error_set(err, UD_EIO, e, "fork");
    }
    if (pid == 0) {
        if (sv[0] >= 0)
            close(sv[0]);
        child_main(t, host_cwd, prog, nprog, sv[1]);
    }
    if (sv[0] >= 0) {
        close(sv[1]);
        int lfd = recv_fd(sv[0]);
        close(sv[0]);
        int r = 0;
        if (lfd == -2)
            t->notify = false; /* refused: ptrace for every path call */
        else if (lfd < 0)
            r = ud_error_set(err, UD_EIO, 0, "seccomp: no listener from the container process");
        else
            r = ud_notify_start(t, lfd, err);
        if (r < 0) {
            if (lfd >= 0)
                close(lfd);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return r;
        }
    }
    if (waitpid(pid, &status, WUNTRACED) < 0 || !WIFSTOPPED(status)) {
        if (WIFEXITED(status) || WIFSIGNALED(status))
            return ud_error_set(err, UD_EIO, 0, "the container process failed to start");
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return ud_error_set(err, UD_EIO, errno, "waiting for the container process");
    }
    long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
    if (prog != NULL)
        opts |= PTRACE_O_TRACESECCOMP;
    if (ptrace(PTRACE_SEIZE, pid, 0, (void *)opts) < 0) {
        int e = errno;
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return ud_error_set(err, UD_EUNSUPP, e, "ptrace: cannot trace the container process");
    }
    t->main_pid = pid;
    if (ud_tracer_add_first(t, pid) == NULL) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    kill(pid, SIGCONT);
    return 0;
}

/* The id the kernel shows for ids a user namespace does not map. */
static uint32_t
overflow_id(void)
{
    char *data = NULL;
    size_t len = 0;
    unsigned long v = 65534;
    if (ud_file_read("/proc/sys/kernel/overflowuid", 64, &data, &len, NULL) == 0) {
        char *end;
        unsigned long x = strtoul(data, &end, 10);
        if (end != data)
            v = x;
    }
    free(data);
    return (uint32_t)v;
}

/* The notification fast lane needs SECCOMP_ADDFD_FLAG_SEND (5.14).
 * UDOCKER_P1_NOTIFY=0 turns it off (for comparisons and odd kernels). */
static bool
want_notify(const struct ud_hostcaps *caps)
{
    const char *env = getenv("UDOCKER_P1_NOTIFY");
    if (env != NULL && strcmp(env, "0") == 0)
        return false;
    return caps->seccomp_notif && kernel_at_least(caps->kernel, 5, 14);
}

static int
run(const struct ud_run_spec *spec, bool seccomp, bool notify, int *wstatus, struct ud_error *err)
{
    struct tracer t;
    memset(&t, 0, sizeof(t));
    pthread_mutex_init(&t.lock, NULL);
    t.spec = spec;
    t.seccomp = seccomp;
    t.notify = seccomp && notify;
    t.fake_ids = spec->as_root || spec->uid != getuid() || spec->gid != getgid();
    t.fake_uid = spec->as_root ? 0 : spec->uid;
    t.fake_gid = spec->as_root ? 0 : spec->gid;
    t.statmap = t.fake_ids;
    t.host_uid = getuid();
    t.host_gid = getgid();
    t.overflow_id = overflow_id();
    int r = ud_pathmap_new(spec->root, spec->binds, spec->nbinds, &t.map, err);
    if (r < 0)
        return r;
    /* The ownership database: root emulation only (an ordinary user's
     * chown fails as it would anywhere). */
    if (t.statmap && spec->as_root && (r = ud_owners_open(&t, spec->cdir, err)) < 0) {
        ud_pathmap_free(t.map);
        return r;
    }
    void *filter = NULL, *nfilter = NULL;
    unsigned short flen = 0, nflen = 0;
    struct sock_fprog prog, nprog;
    char host_cwd[PATH_MAX];
    struct sigaction sa, old[NFWD];
    if ((r = tracer_tables(&t, err)) < 0)
        goto out;
    if (t.notify && (r = ud_sys_filter_build(&t, &nfilter, &nflen, err)) < 0)
        goto out;
    /* The plain filter, also the fallback when the listener is refused. */
    t.notify = false;
    if (seccomp && (r = ud_sys_filter_build(&t, &filter, &flen, err)) < 0)
        goto out;
    t.notify = seccomp && notify;
    prog.len = flen;
    prog.filter = filter;
    nprog.len = nflen;
    nprog.filter = nfilter;
    if (ud_pathmap_to_host(t.map, "/", spec->cwd ? spec->cwd : "/", true, host_cwd,
                           sizeof(host_cwd)) < 0)
        snprintf(host_cwd, sizeof(host_cwd), "%s", spec->root);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: waitpid returns EINTR */
    sigemptyset(&sa.sa_mask);
    fwd_target = 0;
    for (size_t i = 0; i < NFWD; i++)
        sigaction(fwd_signals[i], &sa, &old[i]);
    r = start(&t, host_cwd, seccomp ? &prog : NULL, &nprog, err);
    if (r == 0) {
        fwd_target = t.main_pid;
        r = ud_tracer_loop(&t, &fwd_target);
        if (r < 0)
            r = ud_error_set(err, UD_EIO, -r, "waiting for the container");
    }
    fwd_target = 0;
    ud_notify_stop(&t);
    for (size_t i = 0; i < NFWD; i++)
        sigaction(fwd_signals[i], &old[i], NULL);
    if (r == 0) {
        *wstatus = t.main_status;
        ud_log(UD_LOG_DEBUG,
               "%s: %lu stops, %lu notifications, %lu paths rewritten, %lu left as they were, "
               "%zu ownership records",
               seccomp ? "P1" : "P2", t.nstops, t.nnotify, t.nrewrites, t.nfast,
               ud_owners_count(&t));
    }
out:
    free(filter);
    free(nfilter);
    tracer_fini(&t);
    pthread_mutex_destroy(&t.lock);
    return r;
}

static int
exec_p1(const struct ud_run_spec *spec, const struct ud_hostcaps *caps, int *wstatus,
        struct ud_error *err)
{
    return run(spec, true, want_notify(caps), wstatus, err);
}

static int
exec_p2(const struct ud_run_spec *spec, const struct ud_hostcaps *caps, int *wstatus,
        struct ud_error *err)
{
    (void)caps;
    return run(spec, false, false, wstatus, err);
}

const struct ud_engine ud_engine_p1 = {
    .mode = "P1",
    .family = UD_ENGINE_P,
    .summary = "ptrace with a seccomp filter: only path-carrying system calls stop",
    .speed = 30,
    .probe = probe_p1,
    .prepare = NULL,
    .undo = NULL,
    .exec = exec_p1,
};

const struct ud_engine ud_engine_p2 = {
    .mode = "P2",
    .family = UD_ENGINE_P,
    .summary = "ptrace of every system call (for kernels where seccomp misbehaves)",
    .speed = 40,
    .probe = probe_p2,
    .prepare = NULL,
    .undo = NULL,
    .exec = exec_p2,
};
