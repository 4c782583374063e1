/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host capability probe: what an unprivileged process may do here (user
 * and PID namespaces, seccomp and its user notifications, ptrace, subids,
 * runtimes in PATH). Each test runs in a short-lived child, so the probe
 * changes nothing in udocker itself; each missing feature gets a reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_int.h"

/* Read a small integer sysctl; -1 when the file is missing or odd. */
int
ud_engine_read_sysctl(const char *path)
{
    char buf[32];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    long v = 0;
    char *end;

    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    errno = 0;
    v = strtol(buf, &end, 10);
    if (errno != 0 || end == buf)
        return -1;
    return (int)v;
}

/* Write a whole short string to a /proc file (the uid/gid maps). */
static int
write_proc(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* Codes a probe child exits with, to say where it stopped. */
enum {
    PR_OK = 0,
    PR_UNSHARE = 10,
    PR_MAP,
    PR_MOUNT,
    PR_PIDNS,
    PR_PROC,
    PR_FORK,
};

/* Child: enter a user+mount namespace as root, check that mounting works
 * (AppArmor's restriction lets unshare() succeed but leaves no
 * capabilities), and with pidns also a fresh /proc in a new PID ns. */
static int
userns_child(uid_t uid, gid_t gid, bool pidns)
{
    char map[64];

    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return PR_UNSHARE;
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
    if (write_proc("/proc/self/uid_map", map) != 0)
        return PR_MAP;
    write_proc("/proc/self/setgroups", "deny\n");
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
    if (write_proc("/proc/self/gid_map", map) != 0)
        return PR_MAP;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return PR_MOUNT;
    if (!pidns)
        return PR_OK;
    if (mount("none", "/tmp", "tmpfs", 0, "size=16k") != 0)
        return PR_MOUNT;
    if (unshare(CLONE_NEWPID) != 0)
        return PR_PIDNS;
    pid_t p = fork();
    if (p < 0)
        return PR_FORK;
    if (p == 0) {
        /* pid 1 of the new namespace: a proc mount needs it to be ours. */
        if (mkdir("/tmp/p", 0700) != 0 || mount("proc", "/tmp/p", "proc", 0, NULL) != 0)
            _exit(PR_PROC);
        _exit(PR_OK);
    }
    int st = 0;
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
        return PR_FORK;
    return WEXITSTATUS(st);
}

/* Run fn in a child and return its exit code (or -1 if it died). */
static int
in_child(int (*fn)(void *), void *arg)
{
    int st = 0;
    pid_t p = fork();

    if (p < 0)
        return -1;
    if (p == 0)
        _exit(fn(arg));
    while (waitpid(p, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct userns_arg {
    uid_t uid;
    gid_t gid;
    bool pidns;
};

static int
userns_tramp(void *p)
{
    struct userns_arg *a = p;
    return userns_child(a->uid, a->gid, a->pidns);
}

/* Why unprivileged user namespaces fail: the sysctls that say so. */
static void
userns_reason(char *why, size_t cap, int code)
{
    if (ud_engine_read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
        snprintf(why, cap, "user namespaces are disabled: sysctl user.max_user_namespaces=0");
    else if (ud_engine_read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
        snprintf(why, cap,
                 "user namespaces are disabled: sysctl kernel.unprivileged_userns_clone=0");
    else if (ud_engine_read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1 &&
             code != PR_UNSHARE)
        snprintf(why, cap,
                 "AppArmor restricts unprivileged user namespaces: sysctl "
                 "kernel.apparmor_restrict_unprivileged_userns=1");
    else if (code == PR_UNSHARE)
        snprintf(why, cap, "unshare(CLONE_NEWUSER) is refused (seccomp or a container?)");
    else if (code == PR_MAP)
        snprintf(why, cap, "cannot write the uid/gid map of a new user namespace");
    else if (code == PR_MOUNT)
        snprintf(why, cap, "no mount permission inside a new user namespace");
    else
        snprintf(why, cap, "user namespace test failed (code %d)", code);
}

static void
probe_userns(struct ud_hostcaps *c)
{
    struct userns_arg a = {.uid = getuid(), .gid = getgid(), .pidns = false};
    int code = in_child(userns_tramp, &a);

    c->userns = code == PR_OK;
    if (!c->userns) {
        userns_reason(c->userns_why, sizeof(c->userns_why), code);
        return;
    }
    a.pidns = true;
    c->pidns = in_child(userns_tramp, &a) == PR_OK;
}

static int
seccomp_tramp(void *p)
{
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {.len = 1, .filter = allow};

    (void)p;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return 1;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        return 2;
    return 0;
}

/* SECCOMP_IOCTL_NOTIF_ADDFD came with Linux 5.9; before it, a supervisor
 * cannot hand a file descriptor to the process it serves. */
static bool
kernel_at_least(const char *rel, int maj, int min)
{
    int a = 0, b = 0;

    if (sscanf(rel, "%d.%d", &a, &b) != 2)
        return false;
    return a > maj || (a == maj && b >= min);
}

static void
probe_seccomp(struct ud_hostcaps *c)
{
    unsigned action = SECCOMP_RET_USER_NOTIF;

    c->seccomp = in_child(seccomp_tramp, NULL) == 0;
    c->seccomp_notif = c->seccomp &&
                       syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0 &&
                       kernel_at_least(c->kernel, 5, 9);
}

static int
ptrace_tramp(void *p)
{
    int st = 0;
    pid_t k;

    (void)p;
    k = fork();
    if (k < 0)
        return 3;
    if (k == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
            _exit(errno == EPERM ? 1 : 2);
        raise(SIGSTOP);
        _exit(0);
    }
    if (waitpid(k, &st, 0) != k)
        return 3;
    if (WIFSTOPPED(st)) {
        ptrace(PTRACE_DETACH, k, NULL, NULL);
        kill(k, SIGCONT);
        waitpid(k, &st, 0);
        return 0;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

static void
probe_ptrace(struct ud_hostcaps *c)
{
    int code;

    c->yama_scope = ud_engine_read_sysctl("/proc/sys/kernel/yama/ptrace_scope");
    code = in_child(ptrace_tramp, NULL);
    c->ptrace = code == 0;
    if (c->ptrace)
        return;
    if (c->yama_scope >= 2)
        snprintf(c->ptrace_why, sizeof(c->ptrace_why),
                 "ptrace is restricted: sysctl kernel.yama.ptrace_scope=%d", c->yama_scope);
    else if (code == 1)
        snprintf(c->ptrace_why, sizeof(c->ptrace_why),
                 "ptrace is refused (seccomp or a security module)");
    else
        snprintf(c->ptrace_why, sizeof(c->ptrace_why), "ptrace test failed (code %d)", code);
}

/* Is there a line "name:" or "uid:" granting a range in an /etc/sub?id? */
static bool
has_subid(const char *file, const char *name, uid_t uid)
{
    char line[256], num[24];
    bool found = false;
    FILE *f = fopen(file, "re");

    if (f == NULL)
        return false;
    snprintf(num, sizeof(num), "%u:", (unsigned)uid);
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        size_t nl = name ? strlen(name) : 0;
        if (ud_str_has_prefix(line, num) || (nl && strncmp(line, name, nl) == 0 && line[nl] == ':'))
            found = true;
    }
    fclose(f);
    return found;
}

void
ud_engine_find_in_path(const char *prog, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    const char *p, *e;

    out[0] = '\0';
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (p = path; *p; p = *e ? e + 1 : e) {
        e = strchrnul(p, ':');
        if (e == p)
            continue;
        if (snprintf(out, cap, "%.*s/%s", (int)(e - p), p, prog) < (int)cap &&
            access(out, X_OK) == 0)
            return;
    }
    out[0] = '\0';
}

static void
probe_subids(struct ud_hostcaps *c, const char *user)
{
    char a[256], b[256];

    ud_engine_find_in_path("newuidmap", a, sizeof(a));
    ud_engine_find_in_path("newgidmap", b, sizeof(b));
    c->subids = a[0] && b[0] && has_subid("/etc/subuid", user, c->uid) &&
                has_subid("/etc/subgid", user, c->uid);
}

const char *
ud_engine_docker_arch(const char *machine)
{
    static const char *const map[][2] = {
        {"x86_64", "amd64"},    {"aarch64", "arm64"}, {"armv7l", "arm"},
        {"armv6l", "arm"},      {"i686", "386"},      {"i386", "386"},
        {"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(machine, map[i][0]) == 0)
            return map[i][1];
    return machine;
}

void
ud_hostcaps_probe(struct ud_hostcaps *out)
{
    struct ud_hostcaps c;
    struct utsname u;
    const char *user = getenv("USER");

    memset(&c, 0, sizeof(c));
    if (uname(&u) == 0) {
        snprintf(c.kernel, sizeof(c.kernel), "%s", u.release);
        snprintf(c.arch, sizeof(c.arch), "%.15s", ud_engine_docker_arch(u.machine));
    }
    c.uid = getuid();
    probe_userns(&c);
    probe_seccomp(&c);
    probe_ptrace(&c);
    probe_subids(&c, user);
    ud_engine_find_in_path("runc", c.runc, sizeof(c.runc));
    ud_engine_find_in_path("crun", c.crun, sizeof(c.crun));
    ud_engine_find_in_path("apptainer", c.apptainer, sizeof(c.apptainer));
    if (!c.apptainer[0])
        ud_engine_find_in_path("singularity", c.apptainer, sizeof(c.apptainer));
    *out = c;
}
