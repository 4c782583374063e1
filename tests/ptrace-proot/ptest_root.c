// SPDX-License-Identifier: Apache-2.0
/*
 * The tracer tests' fixture: build a busybox root, run a command in it
 * under an engine in a forked, unprivileged child, collect its output and
 * the engine's waitpid status.
 */
#include "ptest_root.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ud/base.h"

#define NOBODY 65534

static bool
put(const char *root, const char *rel, const char *text, mode_t mode)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    return ud_file_write_atomic(p, text, strlen(text), mode, NULL) == 0;
}

static bool
link_to(const char *root, const char *rel, const char *target)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    return symlink(target, p) == 0;
}

static bool
copy_in(const char *root, const char *rel, const char *src, mode_t mode)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    return ud_file_copy(src, p, mode, NULL) == 0;
}

static bool
mkdirs(const char *root, const char *rel, mode_t mode)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    if (ud_mkdir_p(p, 0755, NULL) < 0)
        return false;
    return chmod(p, mode) == 0;
}

/* Every applet of busybox as a symlink to it. */
static bool
applets(const char *root)
{
    FILE *f = popen("/bin/busybox --list", "r");
    char name[128];
    if (f == NULL)
        return false;
    while (fgets(name, sizeof(name), f) != NULL) {
        name[strcspn(name, "\n")] = '\0';
        if (name[0] == '\0' || strcmp(name, "busybox") == 0)
            continue;
        char rel[192];
        snprintf(rel, sizeof(rel), "bin/%s", name);
        link_to(root, rel, "busybox");
    }
    return pclose(f) == 0;
}

static void
add_dynamic(struct ptest_root *r)
{
    char *ld = realpath("/lib64/ld-linux-x86-64.so.2", NULL);
    char *libc = realpath("/lib/x86_64-linux-gnu/libc.so.6", NULL);
    r->dynamic = ld != NULL && libc != NULL && mkdirs(r->root, "lib64", 0755) &&
                 mkdirs(r->root, "lib/x86_64-linux-gnu", 0755) &&
                 copy_in(r->root, "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", ld, 0755) &&
                 link_to(r->root, "lib64/ld-linux-x86-64.so.2",
                         "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2") &&
                 copy_in(r->root, "lib/x86_64-linux-gnu/libc.so.6", libc, 0755) &&
                 copy_in(r->root, "ptest-dyn", PTEST_DYN, 0755);
    free(ld);
    free(libc);
}

bool
ptest_root_make(struct ptest_root *r, char *why, size_t whysz)
{
    memset(r, 0, sizeof(*r));
    if (access("/bin/busybox", X_OK) != 0) {
        snprintf(why, whysz, "/bin/busybox is missing (install busybox-static)");
        return false;
    }
    snprintf(r->dir, sizeof(r->dir), "/tmp/udpt.XXXXXX");
    if (mkdtemp(r->dir) == NULL || chmod(r->dir, 0755) != 0) {
        snprintf(why, whysz, "mkdtemp: %s", strerror(errno));
        return false;
    }
    snprintf(r->root, sizeof(r->root), "%s/ROOT", r->dir);
    snprintf(r->bindsrc, sizeof(r->bindsrc), "%s/bindsrc", r->dir);
    snprintf(r->cdir, sizeof(r->cdir), "%s/cdir", r->dir);
    const char *root = r->root;
    bool ok = mkdirs(root, "bin", 0755) && mkdirs(root, "etc", 0755) &&
              mkdirs(root, "tmp", 01777) && mkdirs(root, "proc", 0755) &&
              mkdirs(root, "dev", 0755) && mkdirs(root, "m", 0755) && mkdirs(root, "mnt/b", 0755) &&
              mkdirs(r->dir, "bindsrc", 0755) && mkdirs(r->dir, "cdir", 01777) &&
              copy_in(root, "bin/busybox", "/bin/busybox", 0755) && applets(root) &&
              put(root, "etc/hostname", "inside\n", 0644) &&
              put(root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644) &&
              put(r->dir, "bindsrc/bound.txt", "bound\n", 0644) &&
              put(root, "s.sh", "#!/bin/sh -e\necho script $0 $1\n", 0755) &&
              put(root, "s2.sh", "#!/s.sh\n", 0755) && link_to(root, "m/a", "/m/b") &&
              link_to(root, "m/b", "../../../../../../etc/hostname") && link_to(root, "m/c", "/") &&
              link_to(root, "m/d", "/m/c/etc/../etc") && copy_in(root, "ptest", PTEST_STATIC, 0755);
    if (!ok) {
        snprintf(why, whysz, "cannot build the test root in %s: %s", r->dir, strerror(errno));
        ptest_root_remove(r);
        return false;
    }
    add_dynamic(r);
    return true;
}

void
ptest_root_remove(struct ptest_root *r)
{
    if (r->dir[0] != '\0')
        if (ud_rm_rf(r->dir, NULL) < 0)
            fprintf(stderr, "cannot remove %s\n", r->dir);
    r->dir[0] = '\0';
}

static bool
drop_privileges(void)
{
    if (getuid() != 0)
        return true;
    /* A credential change makes the process non-dumpable (untraceable
     * without CAP_SYS_PTRACE) until its next exec: undo that. */
    return setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0 &&
           prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0;
}

bool
ptest_can_ptrace(char *why, size_t whysz)
{
    int st;
    pid_t p = fork();
    if (p == 0) {
        if (!drop_privileges())
            _exit(2);
        pid_t c = fork();
        if (c == 0) {
            raise(SIGSTOP);
            _exit(0);
        }
        waitpid(c, &st, WUNTRACED);
        int ok = ptrace(PTRACE_SEIZE, c, 0, 0) == 0;
        kill(c, SIGKILL);
        waitpid(c, &st, 0);
        _exit(ok ? 0 : 1);
    }
    if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(why, whysz, "an unprivileged process cannot ptrace its child here");
        return false;
    }
    return true;
}

static void
fill_caps(struct ud_hostcaps *c, bool notify)
{
    struct utsname u;
    memset(c, 0, sizeof(*c));
    uname(&u);
    snprintf(c->kernel, sizeof(c->kernel), "%s", u.release);
    c->ptrace = true;
    c->seccomp = true;
    c->seccomp_notif = notify;
    c->yama_scope = -1;
}

static void
child(const struct ptest_mode *m, const struct ptest_root *r, const char *cwd,
      const struct ud_bind *binds, size_t nbinds, const char *kernel, const char *const *argv,
      int out, int stfd)
{
    static char *env[] = {"PATH=/bin", "HOME=/", "LC_ALL=C", NULL};
    struct ud_run_spec s;
    struct ud_hostcaps caps;
    struct ud_error err = {0};
    int ws = 0;
    dup2(out, 1);
    dup2(out, 2);
    if (!drop_privileges())
        _exit(3);
    memset(&s, 0, sizeof(s));
    s.root = (char *)r->root;
    s.cdir = (char *)r->cdir;
    s.exe = (char *)argv[0];
    s.argv = (char **)argv;
    s.env = env;
    s.cwd = (char *)cwd;
    s.as_root = true;
    s.binds = (struct ud_bind *)binds;
    s.nbinds = nbinds;
    s.kernel = (char *)kernel;
    memcpy(s.mode, m->e->mode, 3);
    fill_caps(&caps, m->notify);
    int rc = m->e->exec(&s, &caps, &ws, &err);
    dprintf(stfd, "%d %d %s", rc, ws, err.msg);
    _exit(0);
}

void
ptest_run(const struct ptest_mode *m, const struct ptest_root *r, const char *cwd,
          const struct ud_bind *binds, size_t nbinds, const char *kernel, const char *const *argv,
          struct ptest_result *res)
{
    ptest_run_signal(m, r, cwd, binds, nbinds, kernel, argv, 0, NULL, res);
}

void
ptest_run_signal(const struct ptest_mode *m, const struct ptest_root *r, const char *cwd,
                 const struct ud_bind *binds, size_t nbinds, const char *kernel,
                 const char *const *argv, int sig, const char *trigger, struct ptest_result *res)
{
    int out[2], st[2];
    memset(res, 0, sizeof(*res));
    res->rc = -999;
    if (pipe(out) < 0 || pipe(st) < 0)
        return;
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        close(out[0]);
        close(st[0]);
        child(m, r, cwd, binds, nbinds, kernel, argv, out[1], st[1]);
    }
    close(out[1]);
    close(st[1]);
    size_t got = 0;
    struct pollfd pfd = {out[0], POLLIN, 0};
    while (got + 1 < sizeof(res->out) && poll(&pfd, 1, 60000) > 0) {
        ssize_t n = read(out[0], res->out + got, sizeof(res->out) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        res->out[got] = '\0';
        if (trigger != NULL && strstr(res->out, trigger) != NULL) {
            kill(p, sig); /* the engine, not the container process */
            trigger = NULL;
        }
    }
    res->out[got] = '\0';
    kill(p, SIGKILL); /* only if it hangs: it has exited by now otherwise */
    int ws;
    waitpid(p, &ws, 0);
    char buf[512];
    ssize_t n = read(st[0], buf, sizeof(buf) - 1);
    if (n > 0) {
        buf[n] = '\0';
        int off = 0;
        if (sscanf(buf, "%d %d %n", &res->rc, &res->wstatus, &off) >= 2)
            snprintf(res->err, sizeof(res->err), "%s", buf + off);
    }
    close(out[0]);
    close(st[0]);
}
