/* SPDX-License-Identifier: Apache-2.0 */
/*
 * R2/R3: run the spec with an installed runc or crun. A per-run bundle
 * directory (in the container directory when it is writable, else a
 * private temporary one) gets the generated config.json; the runtime's
 * state goes to a private temporary directory. Both are removed after the
 * run. Without a terminal the runtime starts the command detached and
 * udocker, a child subreaper meanwhile, waits for the command itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rr_int.h"

static const char *
tmp_base(void)
{
    const char *t = getenv("TMPDIR");

    return t && t[0] == '/' ? t : "/tmp";
}

/* mkdtemp of base/name-XXXXXX; caller frees *out. */
static int
make_tmpdir(const char *base, const char *name, char **out, struct ud_error *err)
{
    char *t = ud_asprintf("%s/%s-XXXXXX", base, name);

    if (!t)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "temporary directory");
    if (!mkdtemp(t)) {
        int e = errno;
        free(t);
        return ud_error_set(err, UD_EIO, e, "mkdtemp in %s", base);
    }
    *out = t;
    return 0;
}

/* Linux >= 4.8 can mount mqueue in a user namespace (upstream's rule). */
static bool
kernel_has_mqueue(void)
{
    struct utsname u;
    unsigned maj = 0, min = 0;

    if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &maj, &min) != 2)
        return true;
    return maj > 4 || (maj == 4 && min >= 8);
}

static int
write_config(const char *bundle, const char *text, struct ud_error *err)
{
    cleanup_free char *path = ud_path_join(bundle, "config.json");
    cleanup_close int fd = -1;
    size_t n = strlen(text);

    if (!path)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "config.json");
    /* A per-run file read once by the runtime: no fsync needed. */
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n)
        return ud_error_set(err, UD_EIO, errno, "write %s", path);
    return 0;
}

/* Detached start: wait (the forwarded signals still blocked, so none is
 * lost) for the runtime to start the command and exit, then wait for the
 * command, which was reparented to us, forwarding to it directly. A
 * runtime that failed gives its own status. */
static int
wait_detached(pid_t runtime, const char *pidfile, int *wstatus, struct ud_error *err)
{
    cleanup_free char *text = NULL;
    char *end = NULL;
    size_t n = 0;
    long cmd = 0;
    int st = 0;
    pid_t w;

    do {
        w = waitpid(runtime, &st, 0);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        ud_engine_fwd_end();
        return ud_error_set(err, UD_EIO, errno, "wait for process %d", (int)runtime);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        ud_engine_fwd_end();
        *wstatus = st;
        return 0;
    }
    if (ud_file_read(pidfile, 64, &text, &n, NULL) == 0) {
        errno = 0;
        cmd = strtol(text, &end, 10);
        if (errno || end == text || (*end && *end != '\n'))
            cmd = 0;
    }
    if (cmd <= 1 || cmd > INT_MAX) {
        ud_engine_fwd_end();
        return ud_error_set(err, UD_EIO, 0, "the runtime left no valid pid file: %s", pidfile);
    }
    return ud_engine_wait((pid_t)cmd, (pid_t)cmd, wstatus, err);
}

/* Fork and exec the runtime, then wait with signal forwarding. Without a
 * terminal the command is started detached: in the foreground the runtime
 * copies the command's output through pipes of its own and waits for their
 * end, which a background process the command left behind holds open: the
 * run would not end with the command. Detached, the command inherits our
 * stdio as R1's does. With a terminal the runtime keeps the pty. */
static int
run_runtime(const char *path, enum ud_rr_runtime rt, const char *state, const char *bundle,
            const char *id, const cpu_set_t *cpus, bool debug, const char *pidfile, int *wstatus,
            struct ud_error *err)
{
    char *argv[16];
    size_t k = 0;
    pid_t pid;

    cleanup_free char *log = ud_path_join(state, "runtime.log");

    if (!log)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "runtime log");
    argv[k++] = (char *)path;
    if (rt == UD_RR_CRUN) {
        argv[k++] = "--cgroup-manager=disabled"; /* no cgroup delegation needed */
    } else if (!debug) {
        /* runc warns about cgroups it may not use; its errors still go
         * to stderr too. */
        argv[k++] = "--log";
        argv[k++] = log;
    }
    if (debug)
        argv[k++] = "--debug";
    argv[k++] = "--root";
    argv[k++] = (char *)state;
    argv[k++] = "run";
    if (pidfile) {
        argv[k++] = "--detach";
        argv[k++] = "--pid-file";
        argv[k++] = (char *)pidfile;
    }
    argv[k++] = "--bundle";
    argv[k++] = (char *)bundle;
    argv[k++] = (char *)id;
    argv[k] = NULL;
    ud_engine_fwd_begin();
    pid = fork();
    if (pid < 0) {
        ud_engine_fwd_end();
        return ud_error_set(err, UD_EIO, errno, "fork");
    }
    if (pid == 0) {
        ud_engine_fwd_child();
        signal(SIGPIPE, SIG_DFL);
        /* Inherited by the runtime and so by the container. */
        if (cpus && sched_setaffinity(0, sizeof *cpus, cpus) < 0)
            _exit(1);
        execv(path, argv);
        _exit(RR_EXIT_NOTFOUND);
    }
    if (pidfile)
        return wait_detached(pid, pidfile, wstatus, err);
    return ud_engine_wait(pid, pid, wstatus, err);
}

/* Prepare the directories and the config, run, clean up. */
static int
run_in(const struct ud_run_spec *spec, enum ud_rr_runtime rt, const char *path, char *tmp,
       char *bundle, int *wstatus, struct ud_error *err)
{
    struct ud_rr_oci_params p = {
        .runtime = rt,
        .host_uid = getuid(),
        .host_gid = getgid(),
        .hostname = spec->hostname,
        .mqueue = kernel_has_mqueue(),
    };
    cleanup_free char *state = ud_path_join(tmp, "state");
    /* crun hands the command udocker's own stdio and forwards signals in
     * the foreground; runc copies output through its pipes and would wait
     * for orphans holding them, so runc starts the command detached. */
    bool detach = !spec->tty && rt == UD_RR_RUNC;
    cleanup_free char *pidfile = detach ? ud_path_join(tmp, "command.pid") : NULL;
    cleanup_free char *config = NULL;
    char id[37];
    cpu_set_t cpus;
    bool affinity = spec->cpuset && spec->cpuset[0];
    int rc = affinity ? rr_cpuset_parse(spec->cpuset, &cpus, err) : 0;

    if (rc < 0)
        return rc;
    if (!state || (detach && !pidfile))
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "state directory");
    if (mkdir(state, 0700) < 0)
        return ud_error_set(err, UD_EIO, errno, "mkdir %s", state);
    rc = ud_uuid_generate(id, err);
    if (rc == 0)
        rc = ud_rr_oci_config_format(spec, &p, &config, err);
    if (rc == 0)
        rc = write_config(bundle, config, err);
    if (rc == 0)
        rc = run_runtime(path, rt, state, bundle, id, affinity ? &cpus : NULL, spec->debug > 0,
                         pidfile, wstatus, err);
    return rc;
}

int
ud_rr_oci_run(const struct ud_run_spec *spec, enum ud_rr_runtime runtime, const char *runtime_path,
              int *wstatus, struct ud_error *err)
{
    cleanup_free char *tmp = NULL;
    cleanup_free char *bundle = NULL;
    struct rr_mount *mounts = NULL;
    size_t nmounts = 0;
    int ws = 0, rc;

    if (!spec->as_root)
        ud_log(UD_LOG_WARN, "Warning: this engine only supports execution as root");
    /* The runtime makes missing mountpoints itself, but unrecorded: make
     * (and record) them first. */
    rc = rr_mounts_prepare(spec, &mounts, &nmounts, err);
    rr_mounts_free(mounts, nmounts);
    if (rc < 0)
        return rc;
    rc = make_tmpdir(tmp_base(), "udocker-oci", &tmp, err);
    if (rc < 0)
        return rc;
    if (spec->cdir && access(spec->cdir, W_OK) == 0)
        rc = make_tmpdir(spec->cdir, ".oci", &bundle, err);
    else
        bundle = ud_strdup(tmp);
    if (rc == 0 && !bundle)
        rc = ud_error_set(err, UD_ENOMEM, ENOMEM, "bundle directory");
    /* A detached command is reparented to us when the runtime exits. */
    int reaper = 0;
    if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&reaper, 0, 0, 0) < 0)
        reaper = 0;
    if (rc == 0 && !spec->tty && prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0, 0, 0) < 0)
        rc = ud_error_set(err, UD_EIO, errno, "prctl PR_SET_CHILD_SUBREAPER");
    if (rc == 0)
        rc = run_in(spec, runtime, runtime_path, tmp, bundle, &ws, err);
    if (!spec->tty && prctl(PR_SET_CHILD_SUBREAPER, (unsigned long)reaper, 0, 0, 0) < 0) {
    }
    if (bundle && strcmp(bundle, tmp) != 0 && ud_rm_rf(bundle, NULL) < 0) {
    }
    if (ud_rm_rf(tmp, NULL) < 0) {
    }
    if (rc < 0)
        return rc;
    *wstatus = ws;
    return 0;
}
