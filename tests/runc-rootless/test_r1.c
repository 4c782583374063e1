/* SPDX-License-Identifier: Apache-2.0 */
/*
 * R1 for real: a busybox root run as an unprivileged user in new user and
 * mount namespaces. Exit codes, signals, stdin, ids, volumes (rw, ro,
 * files), /dev, the PID namespace with its init, errors before exec.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "rr_fixture.h"

/* Run s with R1 and the given options (the test skips when it cannot). */
static bool
run_r1(void **state, struct ud_run_spec *s, const struct ud_rr_r1_opts *o, const char *in,
       int kill_ms, struct rr_result *r)
{
    return rr_run_or_skip(state, s, RR_R1, o, in, kill_ms, r);
}

static const struct ud_rr_r1_opts plain = {.pidns = 0};
static const struct ud_rr_r1_opts with_pidns = {.pidns = 1};

static void
test_exit_code(void **state)
{
    struct rr_result r;
    struct ud_run_spec *s = SPEC("sh", "-c", "exit 7");
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_true(WIFEXITED(r.wstatus));
    assert_int_equal(WEXITSTATUS(r.wstatus), 7);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_exit_code_pidns(void **state)
{
    struct rr_result r;
    struct ud_run_spec *s = SPEC("sh", "-c", "exit 9");
    if (!run_r1(state, s, &with_pidns, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_true(WIFEXITED(r.wstatus));
    assert_int_equal(WEXITSTATUS(r.wstatus), 9);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
check_killed_by_itself(void **state, const struct ud_rr_r1_opts *o)
{
    struct rr_result r;
    struct ud_run_spec *s = SPEC("sh", "-c", "kill -USR1 $$; sleep 5");
    if (!run_r1(state, s, o, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_true(WIFSIGNALED(r.wstatus));
    assert_int_equal(WTERMSIG(r.wstatus), SIGUSR1);
    assert_int_equal(ud_engine_exit_code(r.wstatus), 128 + SIGUSR1);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_signal_status(void **state)
{
    check_killed_by_itself(state, &plain);
    check_killed_by_itself(state, &with_pidns);
}

/* SIGTERM reaching "udocker" reaches the command, with or without the
 * PID namespace's init in between. */
static void
check_forward(void **state, const struct ud_rr_r1_opts *o)
{
    struct rr_result r;
    struct ud_run_spec *s = SPEC("sleep", "20");
    if (!run_r1(state, s, o, NULL, 400, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_true(WIFSIGNALED(r.wstatus));
    assert_int_equal(WTERMSIG(r.wstatus), SIGTERM);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_signal_forwarded(void **state)
{
    check_forward(state, &plain);
    check_forward(state, &with_pidns);
}

static void
test_stdin_passthrough(void **state)
{
    struct rr_result r;
    struct ud_run_spec *s = SPEC("cat");
    if (!run_r1(state, s, &plain, "hello from stdin\n", 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "hello from stdin\n");
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_id_root_and_user(void **state)
{
    struct rr_fx *f = *state;
    struct rr_result r;
    struct ud_run_spec *s = SPEC("id", "-u");
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "0\n");
    rr_result_fini(&r);
    s->as_root = false;
    s->uid = f->uid;
    s->gid = f->gid;
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    char want[32];
    snprintf(want, sizeof want, "%u\n", (unsigned)f->uid);
    assert_string_equal(r.out, want);
    rr_result_fini(&r);
    rr_spec_free(s);
    /* --user=2345:3456: the caller's ids appear as the asked ones. */
    s = SPEC("sh", "-c", "id -u; id -g");
    s->as_root = false;
    s->uid = 2345;
    s->gid = 3456;
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    assert_string_equal(r.out, "2345\n3456\n");
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_volume_rw(void **state)
{
    struct rr_fx *f = *state;
    struct rr_result r;
    struct ud_run_spec *s = SPEC("sh", "-c", "echo written > /data/vol/f && cat /data/vol/f");
    if (!f)
        skip();
    char *vol = rr_fx_mkdir(f, "vol");
    rr_spec_add_bind(s, vol, "/data/vol", UD_BIND_DIR | UD_BIND_USER);
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_int_equal(WEXITSTATUS(r.wstatus), 0);
    assert_string_equal(r.out, "written\n");
    char *hp = ud_path_join(vol, "f"), *txt = NULL;
    size_t len;
    assert_int_equal(ud_file_read(hp, 100, &txt, &len, NULL), 0);
    assert_string_equal(txt, "written\n");
    /* The mountpoint /data/vol was made in ROOT and recorded. */
    char *rec = ud_path_join(f->cdir, ".mountpoints/#data#vol");
    assert_true(ud_path_is_symlink(rec));
    /* setup --purge (the engine module's) reads the same records. */
    struct ud_engine_ctr ctr = {.cdir = f->cdir, .root = f->root};
    struct ud_error e = {0};
    char *mp = ud_path_join(f->root, "data/vol");
    assert_true(ud_path_is_dir(mp));
    assert_int_equal(ud_execmode_purge(&ctr, &e), 0);
    assert_false(ud_path_exists(mp));
    assert_false(ud_path_is_symlink(rec));
    free(mp);
    free(rec);
    free(txt);
    free(hp);
    free(vol);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_volume_ro(void **state)
{
    struct rr_fx *f = *state;
    struct rr_result r;
    struct ud_run_spec *s = SPEC("sh", "-c", "cat /ro/seen; echo x > /ro/new || exit 3");
    if (!f)
        skip();
    char *vol = rr_fx_mkdir(f, "rovol");
    char *seen = rr_fx_write(f, "rovol/seen", "visible\n");
    rr_spec_add_bind(s, vol, "/ro", UD_BIND_DIR | UD_BIND_USER | UD_BIND_RO);
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_int_equal(WEXITSTATUS(r.wstatus), 3);
    assert_string_equal(r.out, "visible\n");
    char *np = ud_path_join(vol, "new");
    assert_false(ud_path_exists(np));
    free(np);
    free(seen);
    free(vol);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_file_binds(void **state)
{
    struct rr_fx *f = *state;
    struct rr_result r;
    struct ud_run_spec *s = SPEC("sh", "-c", "cat /etc/passwd /etc/extra/conf");
    if (!f)
        skip();
    char *pw = rr_fx_write(f, "passwd", "root:x:0:0:root:/root:/bin/sh\nmarker:x:5:5::/:/bin/sh\n");
    char *conf = rr_fx_write(f, "conf", "conf-line\n");
    rr_spec_add_bind(s, pw, "/etc/passwd", UD_BIND_GENERATED);
    rr_spec_add_bind(s, conf, "/etc/extra/conf", UD_BIND_USER);
    /* Missing on this host: a system bind is dropped silently. */
    rr_spec_add_bind(s, "/nonexistent/host.conf", "/etc/host.conf", UD_BIND_SYS);
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_int_equal(WEXITSTATUS(r.wstatus), 0);
    assert_string_equal(r.out,
                        "root:x:0:0:root:/root:/bin/sh\nmarker:x:5:5::/:/bin/sh\nconf-line\n");
    /* The host file is bound, not copied: the container's own is intact. */
    char *cpw = ud_path_join(f->root, "etc/passwd"), *txt = NULL;
    size_t len;
    assert_int_equal(ud_file_read(cpw, 1000, &txt, &len, NULL), 0);
    assert_string_equal(txt, "root:x:0:0:root:/root:/bin/sh\n");
    free(txt);
    free(cpw);
    char *hc = ud_path_join(f->root, "etc/host.conf");
    assert_false(ud_path_exists(hc));
    free(hc);
    free(pw);
    free(conf);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_pidns(void **state)
{
    struct rr_result r;
    struct ud_run_spec *s = SPEC("cat", "/proc/self/status");
    if (!run_r1(state, s, &with_pidns, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    /* PID 1 is the init; the command is the next process. */
    assert_non_null(strstr(r.out, "\nPid:\t2\n"));
    assert_non_null(strstr(r.out, "\nNSpid:\t2\n"));
    rr_result_fini(&r);
    rr_spec_free(s);
    s = SPEC("cat", "/proc/self/status");
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    /* Without a PID namespace the host's pid shows. */
    assert_null(strstr(r.out, "\nPid:\t2\n"));
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_dev_and_cwd_and_hostname(void **state)
{
    struct rr_result r;
    struct ud_run_spec *s =
        SPEC("sh", "-c",
             "echo x > /dev/null && ls /dev && pwd && hostname && test -d /sys/kernel && "
             "cat /dev/custom");
    struct rr_fx *f = *state;
    if (!f) {
        rr_spec_free(s);
        skip();
    }
    /* A bind under /dev: its mountpoint is made on the engine's tmpfs. */
    char *custom = rr_fx_write(f, "custom", "custom-dev\n");
    rr_spec_add_bind(s, custom, "/dev/custom", UD_BIND_USER);
    free(custom);
    free(s->cwd);
    s->cwd = strdup("/tmp");
    s->hostname = strdup("box.example.org");
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_int_equal(WEXITSTATUS(r.wstatus), 0);
    assert_non_null(strstr(r.out, "null\n"));
    assert_non_null(strstr(r.out, "urandom\n"));
    assert_non_null(strstr(r.out, "pts\n"));
    assert_non_null(strstr(r.out, "shm\n"));
    assert_non_null(strstr(r.out, "/tmp\nbox.example.org\ncustom-dev\n"));
    char *hostdev = ud_path_join(f->root, "dev/custom");
    assert_false(ud_path_exists(hostdev)); /* nothing made in ROOT */
    free(hostdev);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_errors_before_exec(void **state)
{
    struct rr_result r;
    struct ud_run_spec *s = SPEC("/bin/nothere");
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, UD_ENOENT);
    assert_string_equal(r.msg, "command not found or has no execute bit set: /bin/nothere");
    rr_result_fini(&r);
    rr_spec_free(s);
    s = SPEC("true");
    free(s->cwd);
    s->cwd = strdup("/no/such/dir");
    if (!run_r1(state, s, &with_pidns, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, UD_ENOENT);
    assert_string_equal(r.msg, "chdir /no/such/dir: No such file or directory");
    rr_result_fini(&r);
    rr_spec_free(s);
}

/* On a terminal the command is in the foreground process group: it can
 * read the terminal without being stopped (SIGTTIN), so job control works. */
static void
check_tty_foreground(void **state, const struct ud_rr_r1_opts *o)
{
    struct rr_result r;
    struct ud_run_spec *s = SPEC("sh", "-c", "read x; echo \"got $x\"; cat /proc/self/stat");
    s->tty = true;
    rr_run_on_tty = true;
    bool ran = run_r1(state, s, o, "hello\n", 0, &r);
    rr_run_on_tty = false;
    if (!ran)
        return;
    assert_int_equal(r.rc, 0);
    assert_int_equal(WEXITSTATUS(r.wstatus), 0);
    assert_true(ud_str_has_prefix(r.out, "got hello\n"));
    const char *close_paren = strrchr(r.out, ')');
    assert_non_null(close_paren);
    long pgrp = 0, tpgid = -1;
    char st;
    int ppid, sess, tty;
    assert_int_equal(
        sscanf(close_paren + 2, "%c %d %ld %d %d %ld", &st, &ppid, &pgrp, &sess, &tty, &tpgid), 6);
    assert_int_equal(pgrp, tpgid);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_tty_foreground(void **state)
{
    check_tty_foreground(state, &plain);
    check_tty_foreground(state, &with_pidns);
}

static void
test_cpuset(void **state)
{
    struct rr_result r;
    struct ud_run_spec *s = SPEC("grep", "Cpus_allowed_list", "/proc/self/status");
    s->cpuset = strdup("0");
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "Cpus_allowed_list:\t0\n");
    rr_result_fini(&r);
    static const char *const bad[] = {"", "a", "1-", "3-1", "1,,2", "0-99999", "1 2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        free(s->cpuset);
        s->cpuset = strdup(bad[i]);
        if (!bad[i][0])
            continue; /* empty means not given */
        if (!run_r1(state, s, &plain, NULL, 0, &r))
            return;
        assert_int_equal(r.rc, UD_EINVAL);
        char want[64];
        snprintf(want, sizeof want, "invalid cpuset: %s", bad[i]);
        assert_string_equal(r.msg, want);
        rr_result_fini(&r);
    }
    free(s->cpuset);
    s->cpuset = strdup("0,0-0");
    if (!run_r1(state, s, &plain, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_subids(void **state)
{
    struct rr_fx *f = *state;
    struct rr_result r;
    struct ud_rr_subid su;
    struct ud_run_spec *s = SPEC("cat", "/proc/self/uid_map", "/proc/self/gid_map");
    const struct ud_rr_r1_opts o = {.pidns = 0, .subids = true};
    if (!f)
        skip();
    if (access("/usr/bin/newuidmap", X_OK) < 0 ||
        ud_rr_subid_lookup("/etc/subuid", "udtest", f->uid, &su, NULL) < 0) {
        rr_spec_free(s);
        fprintf(stderr, "SKIP: no newuidmap or no /etc/subuid range for the test user\n");
        skip();
    }
    if (!run_r1(state, s, &o, NULL, 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    /* Both maps: root to the caller, 1.. to the subordinate range. */
    unsigned a[4][3];
    int n =
        sscanf(r.out, "%u %u %u %u %u %u %u %u %u %u %u %u", &a[0][0], &a[0][1], &a[0][2], &a[1][0],
               &a[1][1], &a[1][2], &a[2][0], &a[2][1], &a[2][2], &a[3][0], &a[3][1], &a[3][2]);
    assert_int_equal(n, 12);
    assert_int_equal(a[0][0], 0);
    assert_int_equal(a[0][1], f->uid);
    assert_int_equal(a[1][0], 1);
    assert_int_equal(a[1][1], su.start);
    assert_int_equal(a[1][2], su.count);
    assert_int_equal(a[2][1], f->gid); /* the gid, not the uid (upstream's bug) */
    rr_result_fini(&r);
    rr_spec_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exit_code, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_exit_code_pidns, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_signal_status, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_signal_forwarded, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_stdin_passthrough, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_id_root_and_user, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_volume_rw, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_volume_ro, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_file_binds, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_pidns, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_dev_and_cwd_and_hostname, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_errors_before_exec, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_tty_foreground, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_cpuset, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_subids, rr_fx_setup, rr_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
