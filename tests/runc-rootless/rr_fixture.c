/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixtures for the runc-rootless tests (see rr_fixture.h). The busybox root
 * gets the applets the tests use as symlinks to /bin/busybox.
 */
#include "rr_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static const char *const applets[] = {
    "sh",    "cat",   "echo",  "id",       "true", "false",    "ls",    "sleep", "kill",
    "grep",  "mkdir", "touch", "readlink", "env",  "hostname", "pwd",   "test",  "wc",
    "mount", "stat",  "head",  "rm",       "seq",  "ps",       "uname", NULL};

static void
chown_tree(const char *path, uid_t uid, gid_t gid)
{
    char *cmd = ud_asprintf("chown -hR %u:%u '%s'", (unsigned)uid, (unsigned)gid, path);
    if (cmd && system(cmd) != 0)
        fprintf(stderr, "chown failed: %s\n", cmd);
    free(cmd);
}

static bool
pick_user(struct rr_fx *f)
{
    if (geteuid() != 0) {
        f->uid = getuid();
        f->gid = getgid();
        return true;
    }
    struct passwd *pw = getpwnam("udtest");
    f->uid = pw ? pw->pw_uid : 65534;
    f->gid = pw ? pw->pw_gid : 65534;
    return true;
}

static bool
make_root(struct rr_fx *f)
{
    static const char *const dirs[] = {"bin", "etc", "tmp", "root", "dev", "proc", NULL};
    struct ud_error e = {0};

    for (size_t i = 0; dirs[i]; i++) {
        char *p = ud_path_join(f->root, dirs[i]);
        if (mkdir(p, 0755) < 0) {
            free(p);
            return false;
        }
        free(p);
    }
    char *bb = ud_path_join(f->root, "bin/busybox");
    int rc = ud_file_copy("/bin/busybox", bb, 0755, &e);
    free(bb);
    if (rc < 0)
        return false;
    for (size_t i = 0; applets[i]; i++) {
        char *l = ud_asprintf("%s/bin/%s", f->root, applets[i]);
        if (symlink("busybox", l) < 0) {
            free(l);
            return false;
        }
        free(l);
    }
    char *pw = ud_path_join(f->root, "etc/passwd");
    rc = ud_file_write_atomic(pw, "root:x:0:0:root:/root:/bin/sh\n", 30, 0644, &e);
    free(pw);
    return rc == 0;
}

struct rr_fx *
rr_fx_new(const char **why)
{
    struct rr_fx *f = calloc(1, sizeof *f);
    char tmpl[] = "/tmp/rr-test-XXXXXX";

    if (access("/bin/busybox", X_OK) < 0) {
        *why = "/bin/busybox is missing (apt-get install busybox-static)";
        free(f);
        return NULL;
    }
    if (!mkdtemp(tmpl)) {
        *why = "mkdtemp failed";
        free(f);
        return NULL;
    }
    chmod(tmpl, 0755);
    f->dir = strdup(tmpl);
    f->cdir = ud_path_join(f->dir, "c");
    mkdir(f->cdir, 0755);
    char *r = ud_path_join(f->cdir, "ROOT");
    mkdir(r, 0755);
    f->root = realpath(r, NULL);
    free(r);
    pick_user(f);
    if (!make_root(f)) {
        *why = "cannot build the busybox root";
        rr_fx_free(f);
        return NULL;
    }
    if (geteuid() == 0)
        chown_tree(f->dir, f->uid, f->gid);
    return f;
}

void
rr_fx_free(struct rr_fx *f)
{
    if (!f)
        return;
    if (f->dir && ud_rm_rf(f->dir, NULL) < 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(f->dir);
    free(f->cdir);
    free(f->root);
    free(f);
}

int
rr_fx_setup(void **state)
{
    const char *why = NULL;

    *state = rr_fx_new(&why);
    if (!*state)
        fprintf(stderr, "fixture: %s\n", why);
    return 0;
}

int
rr_fx_teardown(void **state)
{
    rr_fx_free(*state);
    return 0;
}

char *
rr_fx_write(struct rr_fx *f, const char *rel, const char *content)
{
    char *p = ud_path_join(f->dir, rel);
    struct ud_error e = {0};

    if (ud_file_write_atomic(p, content, strlen(content), 0644, &e) < 0)
        fprintf(stderr, "write %s: %s\n", p, e.msg);
    if (geteuid() == 0 && chown(p, f->uid, f->gid) < 0)
        perror("chown");
    return p;
}

char *
rr_fx_mkdir(struct rr_fx *f, const char *rel)
{
    char *p = ud_path_join(f->dir, rel);

    if (mkdir(p, 0755) < 0)
        perror("mkdir");
    if (geteuid() == 0 && chown(p, f->uid, f->gid) < 0)
        perror("chown");
    return p;
}

static char **
strv_dup(const char *const *v)
{
    char **out = NULL;
    for (size_t i = 0; v && v[i]; i++)
        if (ud_strv_push(&out, v[i], NULL) < 0)
            abort();
    if (!out)
        out = calloc(1, sizeof *out);
    return out;
}

struct ud_run_spec *
rr_spec_new(struct rr_fx *f, const char *const *argv)
{
    static const char *const env[] = {"PATH=/bin", "HOME=/root", "container_execmode=R1", NULL};
    struct ud_run_spec *s = calloc(1, sizeof *s);

    s->id = strdup("test");
    s->root = strdup(f->root);
    s->cdir = strdup(f->cdir);
    memcpy(s->mode, "R1", 3);
    s->names = strv_dup(NULL);
    s->argv = strv_dup(argv);
    s->exe = argv[0][0] == '/' ? strdup(argv[0]) : ud_asprintf("/bin/%s", argv[0]);
    s->env = strv_dup(env);
    s->cwd = strdup("/");
    s->as_root = true;
    s->user = strdup("root");
    s->home = strdup("/root");
    s->shell = strdup("/bin/sh");
    return s;
}

void
rr_spec_add_bind(struct ud_run_spec *s, const char *host, const char *cont, unsigned flags)
{
    s->binds = realloc(s->binds, (s->nbinds + 1) * sizeof *s->binds);
    s->binds[s->nbinds].host = strdup(host);
    s->binds[s->nbinds].cont = strdup(cont);
    s->binds[s->nbinds].flags = flags;
    s->nbinds++;
}

void
rr_spec_free(struct ud_run_spec *s)
{
    ud_run_spec_free(s); /* the fixture's specs hold no generated files */
}

bool
rr_run_or_skip(void **state, struct ud_run_spec *s, enum rr_engine_kind kind,
               const struct ud_rr_r1_opts *opts, const char *stdin_data, int kill_after_ms,
               struct rr_result *res)
{
    const char *why = "no fixture";

    if (!*state || !rr_run(*state, s, kind, opts, stdin_data, kill_after_ms, res, &why)) {
        fprintf(stderr, "SKIP: %s\n", why);
        if (*state)
            rr_result_fini(res);
        rr_spec_free(s);
        skip();
        return false;
    }
    if (res->rc != 0)
        fprintf(stderr, "engine: %s\n", res->msg);
    return true;
}

void
rr_result_fini(struct rr_result *r)
{
    free(r->out);
    r->out = NULL;
}

/* The runtime binary in PATH, or NULL. */
static char *
find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
    char *save = NULL, *found = NULL;

    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = ud_path_join(d, name);
        if (access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

bool rr_run_on_tty;

struct wire {
    int rc;
    int wstatus;
    int dropped; /* 0 ok, 1 could not drop privileges */
    char msg[256];
};

static void
start_killer(pid_t target, int ms)
{
    if (fork() == 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        kill(target, SIGTERM);
        _exit(0);
    }
}

/* The runner: the "udocker" process, as the test user. */
__attribute__((noreturn)) static void
runner(struct rr_fx *f, const struct ud_run_spec *s, enum rr_engine_kind kind,
       const struct ud_rr_r1_opts *opts, const char *in_path, const char *out_path,
       const char *runtime, int kill_after_ms, int wfd)
{
    struct wire w = {0};
    struct ud_error e = {0};

    if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(f->gid) < 0 || setuid(f->uid) < 0)) {
        w.dropped = 1;
        if (write(wfd, &w, sizeof w) < 0)
            _exit(2);
        _exit(0);
    }
    int in;
    if (rr_run_on_tty) {
        /* A session of our own with the pty as its controlling terminal:
         * the runner's group is the foreground group, as in a shell. */
        if (setsid() < 0)
            _exit(4);
        in = open(in_path, O_RDWR);
        if (in < 0 || ioctl(in, TIOCSCTTY, 0) < 0)
            _exit(4);
    } else {
        in = open(in_path ? in_path : "/dev/null", O_RDONLY);
    }
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
        _exit(3);
    if (kill_after_ms > 0)
        start_killer(getpid(), kill_after_ms);
    if (kind == RR_R1)
        w.rc = ud_rr_r1_run(s, NULL, opts, &w.wstatus, &e);
    else
        w.rc = ud_rr_oci_run(s, kind == RR_R2 ? UD_RR_RUNC : UD_RR_CRUN, runtime, &w.wstatus, &e);
    snprintf(w.msg, sizeof w.msg, "%s", e.msg);
    if (write(wfd, &w, sizeof w) < 0)
        _exit(2);
    _exit(0);
}

bool
rr_run(struct rr_fx *f, const struct ud_run_spec *s, enum rr_engine_kind kind,
       const struct ud_rr_r1_opts *opts, const char *stdin_data, int kill_after_ms,
       struct rr_result *res, const char **why)
{
    static int seq;
    char *in_path = stdin_data ? rr_fx_write(f, "stdin", stdin_data) : NULL;
    char *out_path = ud_asprintf("%s/out-%d", f->dir, ++seq);
    char *runtime = kind == RR_R1 ? NULL : find_in_path(kind == RR_R2 ? "runc" : "crun");
    struct wire w = {0};
    int p[2], st;
    struct ud_error e = {0};

    int master = -1;
    memset(res, 0, sizeof *res);
    if (kind != RR_R1 && !runtime) {
        *why = kind == RR_R2 ? "runc is not installed" : "crun is not installed";
        free(in_path);
        free(out_path);
        return false;
    }
    if (rr_run_on_tty) {
        master = posix_openpt(O_RDWR | O_NOCTTY);
        if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
            abort();
        free(in_path);
        in_path = strdup(ptsname(master));
        if (geteuid() == 0 && chown(in_path, f->uid, f->gid) < 0)
            abort();
    }
    if (pipe(p) < 0)
        abort();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        runner(f, s, kind, opts, in_path, out_path, runtime, kill_after_ms, p[1]);
    }
    close(p[1]);
    if (master >= 0 && stdin_data &&
        write(master, stdin_data, strlen(stdin_data)) != (ssize_t)strlen(stdin_data))
        abort();
    /* A command stopped by SIGTTIN would hang the test: a watchdog. */
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    ssize_t n = -1;
    if (poll(&pfd, 1, 20000) == 1)
        n = read(p[0], &w, sizeof w);
    else
        kill(rr_run_on_tty ? -pid : pid, SIGKILL);
    close(p[0]);
    waitpid(pid, &st, 0);
    if (master >= 0)
        close(master);
    free(in_path);
    free(runtime);
    if (n != (ssize_t)sizeof w || w.dropped) {
        *why =
            w.dropped ? "cannot switch to an unprivileged user" : "the runner crashed or timed out";
        free(out_path);
        return false;
    }
    res->rc = w.rc;
    res->wstatus = w.wstatus;
    memcpy(res->msg, w.msg, sizeof res->msg);
    size_t len;
    if (ud_file_read(out_path, 1 << 20, &res->out, &len, &e) < 0)
        res->out = strdup("");
    free(out_path);
    if (w.rc == UD_EUNSUPP) {
        *why = "user namespaces are not available to an unprivileged user here";
        return false;
    }
    return true;
}
