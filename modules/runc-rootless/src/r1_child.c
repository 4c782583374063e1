/* SPDX-License-Identifier: Apache-2.0 */
/*
 * R1, the child side: inside fresh user and mount namespaces (and a PID
 * namespace when asked), map the ids, bind ROOT, build /dev, /proc and
 * /sys, apply the binds, pivot_root and exec. Runs in a copy of the parent
 * after clone(): everything it needs was prepared there, so it does not
 * allocate. A failure goes back to the parent as one r1_report.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "r1_int.h"

__attribute__((noreturn, format(printf, 4, 5))) static void
fail(const struct r1_plan *p, int kind, int e, const char *fmt, ...)
{
    struct r1_report r = {.kind = kind, .err = e};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r.msg, sizeof r.msg, fmt, ap);
    va_end(ap);
    /* A short write leaves the parent with a truncated report, which it
     * treats as a generic failure: nothing more can be done here. */
    if (write(p->errfd, &r, sizeof r) < 0) {
    }
    if (kind == R1_EXEC)
        _exit(e == ENOENT || e == ENOTDIR || e == ELOOP ? RR_EXIT_NOTFOUND : RR_EXIT_NOEXEC);
    _exit(1);
}

static int
write_file(const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t n = strlen(data);

    if (fd < 0)
        return -1;
    ssize_t w = write(fd, data, n);
    int e = errno;
    close(fd);
    errno = e;
    return w == (ssize_t)n ? 0 : -1;
}

static void
map_ids(const struct r1_plan *p)
{
    /* A process that changed its ids without exec since (setpriv-like
     * launchers, su in a script) is not dumpable, which makes its own
     * /proc/self files root's: become dumpable again, exec resets it. */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    /* Unprivileged gid maps need setgroups denied first (user_namespaces(7)). */
    if (write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
        fail(p, R1_SETUP, errno, "write /proc/self/setgroups");
    if (write_file("/proc/self/uid_map", p->uid_map) < 0)
        fail(p, R1_SETUP, errno, "write /proc/self/uid_map");
    if (write_file("/proc/self/gid_map", p->gid_map) < 0)
        fail(p, R1_SETUP, errno, "write /proc/self/gid_map");
}

/* Make the mountpoint file or directory path (on the engine's tmpfs). */
static int
make_point(const char *path, bool dir)
{
    if (dir)
        return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* Mount flags that a user namespace cannot drop from a mount it did not
 * create ("locked" flags): a read-only remount must repeat them or it
 * fails with EPERM. */
static unsigned long
locked_flags(const char *target)
{
    struct statvfs sv;
    unsigned long fl = 0;

    if (statvfs(target, &sv) < 0)
        return 0;
    if (sv.f_flag & ST_NOSUID)
        fl |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV)
        fl |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC)
        fl |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME)
        fl |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME)
        fl |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME)
        fl |= MS_RELATIME;
    return fl;
}

/* struct mount_attr of mount_setattr(2), kept here because older C
 * libraries lack it. */
struct rr_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int
make_readonly(const char *target)
{
#ifdef SYS_mount_setattr
    /* Linux >= 5.12: the whole subtree at once. */
    struct rr_mount_attr a = {.attr_set = 0x1 /* MOUNT_ATTR_RDONLY */};
    if (syscall(SYS_mount_setattr, AT_FDCWD, target, 0x8000 /* AT_RECURSIVE */, &a, sizeof a) == 0)
        return 0;
    if (errno != ENOSYS)
        return -1;
#endif
    return mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(target), NULL);
}

static void
bind_one(const struct r1_plan *p, const struct rr_mount *m)
{
    if (m->create && make_point(m->target, m->dir) < 0)
        fail(p, R1_SETUP, errno, "create mountpoint %s", m->cont);
    if (mount(m->src, m->target, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail(p, R1_SETUP, errno, "bind %s on %s", m->src, m->cont);
    if (m->ro && make_readonly(m->target) < 0)
        fail(p, R1_SETUP, errno, "make %s read-only", m->cont);
}

/* pth = root + rel into buf; fails the child on overflow. */
static const char *
under(const struct r1_plan *p, char *buf, const char *rel)
{
    int n = snprintf(buf, PATH_MAX, "%s%s", p->spec->root, rel);

    if (n < 0 || n >= PATH_MAX)
        fail(p, R1_SETUP, ENAMETOOLONG, "path %s%s", p->spec->root, rel);
    return buf;
}

static void
build_dev(const struct r1_plan *p)
{
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    static const char *const links[][2] = {{"fd", "/proc/self/fd"},
                                           {"stdin", "/proc/self/fd/0"},
                                           {"stdout", "/proc/self/fd/1"},
                                           {"stderr", "/proc/self/fd/2"}};
    char path[PATH_MAX], host[32];

    if (mount("tmpfs", under(p, path, "/dev"), "tmpfs", MS_NOSUID | MS_STRICTATIME,
              "mode=755,size=65536k") < 0)
        fail(p, R1_SETUP, errno, "mount tmpfs on /dev");
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        snprintf(host, sizeof host, "/dev/%s", nodes[i]);
        snprintf(path + strlen(p->spec->root), PATH_MAX - strlen(p->spec->root), "/dev/%s",
                 nodes[i]);
        if (access(host, F_OK) < 0)
            continue; /* not on this host: left out like a missing system bind */
        if (make_point(path, false) < 0 || mount(host, path, NULL, MS_BIND, NULL) < 0)
            fail(p, R1_SETUP, errno, "bind %s", host);
    }
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(path + strlen(p->spec->root), PATH_MAX - strlen(p->spec->root), "/dev/%s",
                 links[i][0]);
        if (symlink(links[i][1], path) < 0)
            fail(p, R1_SETUP, errno, "symlink /dev/%s", links[i][0]);
    }
    if (mkdir(under(p, path, "/dev/shm"), 01777) < 0 ||
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
        fail(p, R1_SETUP, errno, "mount tmpfs on /dev/shm");
    if (mkdir(under(p, path, "/dev/pts"), 0755) < 0)
        fail(p, R1_SETUP, errno, "mkdir /dev/pts");
    /* A private devpts instance; where the kernel refuses it, the host's. */
    if (mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=620") == 0) {
        if (symlink("pts/ptmx", under(p, path, "/dev/ptmx")) < 0)
            fail(p, R1_SETUP, errno, "symlink /dev/ptmx");
        return;
    }
    if (mount("/dev/pts", path, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail(p, R1_SETUP, errno, "bind /dev/pts");
    if (make_point(under(p, path, "/dev/ptmx"), false) < 0 ||
        mount("/dev/ptmx", path, NULL, MS_BIND, NULL) < 0)
        fail(p, R1_SETUP, errno, "bind /dev/ptmx");
}

static void
build_proc_sys(const struct r1_plan *p)
{
    char path[PATH_MAX];

    under(p, path, "/proc");
    /* A fresh proc needs our own PID namespace; otherwise, or where the
     * kernel refuses it (a masked /proc above us), the host's proc. */
    if (!p->pidns || mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
        if (mount("/proc", path, NULL, MS_BIND | MS_REC, NULL) < 0)
            fail(p, R1_SETUP, errno, "mount /proc");
    }
    /* sysfs cannot be mounted without a network namespace of our own, so
     * the host's is bound. Where even that is refused (a sandbox above us
     * hiding parts of /sys), /sys stays empty: few programs need it. */
    if (mount("/sys", under(p, path, "/sys"), NULL, MS_BIND | MS_REC, NULL) < 0) {
    }
}

static void
enter_root(const struct r1_plan *p)
{
    const char *root = p->spec->root;

    if (chdir(root) < 0)
        fail(p, R1_SETUP, errno, "chdir %s", root);
    /* pivot_root(".", "."): the old root ends up stacked on the new one and
     * is detached at once, with no directory needed for it. */
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        if (umount2(".", MNT_DETACH) < 0)
            fail(p, R1_SETUP, errno, "detach the old root");
    } else if (errno == EINVAL) {
        /* The host root is not a mount (an initramfs): chroot instead. */
        if (chroot(".") < 0)
            fail(p, R1_SETUP, errno, "chroot %s", root);
    } else {
        fail(p, R1_SETUP, errno, "pivot_root %s", root);
    }
    if (chdir("/") < 0)
        fail(p, R1_SETUP, errno, "chdir /");
}

static void
setup_mounts(const struct r1_plan *p)
{
    const char *root = p->spec->root;

    /* Nothing we mount may propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        fail(p, R1_SETUP, errno, "make the mounts private");
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail(p, R1_SETUP, errno, "bind %s", root);
    build_dev(p);
    build_proc_sys(p);
    for (size_t i = 0; i < p->nmounts; i++)
        bind_one(p, &p->mounts[i]);
}

/* Last steps of the process that becomes the command. */
__attribute__((noreturn)) static void
exec_command(const struct r1_plan *p)
{
    const struct ud_run_spec *s = p->spec;
    sigset_t none;

    /* What udocker ignores must not be ignored by the command. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (p->affinity && sched_setaffinity(0, sizeof p->cpus, &p->cpus) < 0)
        fail(p, R1_SETUP, errno, "set the CPU affinity to %s", s->cpuset);
    if (chdir(s->cwd) < 0)
        fail(p, R1_SETUP, errno, "chdir %s", s->cwd);
    execve(s->exe, s->argv, s->env);
    fail(p, R1_EXEC, errno, "%s", s->exe);
}

static void
noop_handler(int sig)
{
    (void)sig;
}

/* The signals ud_engine_wait forwards; the init passes them on. */
static const int fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

/* PID 1 of the new PID namespace. The kernel drops signals PID 1 has no
 * handler for, so the command cannot be PID 1 itself: this init forwards
 * the signals, reaps orphans and, when the command ends, reports its wait
 * status and exits, which kills whatever it left behind. */
__attribute__((noreturn)) static void
run_init(const struct r1_plan *p)
{
    struct sigaction sa = {.sa_handler = noop_handler};
    sigset_t set;
    pid_t cmd;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (size_t i = 0; i < sizeof fwd_signals / sizeof fwd_signals[0]; i++) {
        sigaddset(&set, fwd_signals[i]);
        sigaction(fwd_signals[i], &sa, NULL);
    }
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_BLOCK, &set, NULL);
    cmd = vfork();
    if (cmd == 0)
        exec_command(p);
    if (cmd < 0)
        fail(p, R1_SETUP, errno, "fork the command");
    close(p->errfd);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig == SIGCHLD) {
            int st;
            pid_t w;
            while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
                if (w != cmd)
                    continue;
                if (write(p->statusfd, &st, sizeof st) < 0) {
                }
                _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            }
        } else if (sig > 0 && si.si_code != SI_KERNEL) {
            /* SI_KERNEL: sent by the terminal to the whole foreground
             * process group, which the command is in already. */
            kill(cmd, sig);
        }
    }
}

void
r1_child_main(const struct r1_plan *p)
{
    const struct ud_run_spec *s = p->spec;

    if (p->syncfd >= 0) {
        char c;
        if (read(p->syncfd, &c, 1) != 1)
            _exit(1); /* the parent gave up */
        close(p->syncfd);
    }
    if (p->write_maps)
        map_ids(p);
    setup_mounts(p);
    if (p->utsns && s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
        fail(p, R1_SETUP, errno, "sethostname %s", s->hostname);
    enter_root(p);
    if (p->pidns)
        run_init(p);
    exec_command(p);
}
