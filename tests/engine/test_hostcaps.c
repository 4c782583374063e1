/* SPDX-License-Identifier: Apache-2.0 */
/* Host capability probe and its cache; mode names, the engine table and
 * the automatic choice with fake engines. */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ud/engine.h"

/* Does unshare(CLONE_NEWUSER) work in a child, checked independently? */
static bool
userns_works(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : 1);
    int st = 0;
    waitpid(p, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void
test_probe(void **state)
{
    (void)state;
    struct ud_hostcaps c;
    struct utsname u;
    memset(&c, 0x5a, sizeof(c));
    ud_hostcaps_probe(&c);
    assert_int_equal(uname(&u), 0);
    assert_string_equal(c.kernel, u.release);
    assert_int_equal(c.uid, getuid());
    assert_true(c.arch[0] != '\0');
    if (strcmp(u.machine, "x86_64") == 0)
        assert_string_equal(c.arch, "amd64");
    /* userns implies an empty reason; its absence a reason. */
    if (c.userns)
        assert_string_equal(c.userns_why, "");
    else
        assert_true(strlen(c.userns_why) > 10);
    if (!userns_works())
        assert_false(c.userns);
    if (c.pidns)
        assert_true(c.userns);
    if (c.ptrace)
        assert_string_equal(c.ptrace_why, "");
    else
        assert_true(strlen(c.ptrace_why) > 10);
    if (c.seccomp_notif)
        assert_true(c.seccomp);
    /* runc found in PATH iff the file is executable. */
    if (c.runc[0])
        assert_int_equal(access(c.runc, X_OK), 0);
    printf("# userns=%d pidns=%d seccomp=%d notif=%d ptrace=%d yama=%d subids=%d %s %s\n", c.userns,
           c.pidns, c.seccomp, c.seccomp_notif, c.ptrace, c.yama_scope, c.subids, c.userns_why,
           c.ptrace_why);
}

static void
test_cache(void **state)
{
    (void)state;
    char dir[] = "/tmp/udcaps-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[64];
    snprintf(file, sizeof(file), "%s/hostcaps.json", dir);
    struct ud_hostcaps a, b, p;
    struct ud_error e = {0};
    assert_int_equal(ud_hostcaps_get(file, &a, &e), 0);
    assert_true(access(file, R_OK) == 0);
    ud_hostcaps_probe(&p);
    assert_int_equal(a.userns, p.userns);
    assert_int_equal(a.ptrace, p.ptrace);

    /* A doctored cache for this kernel/uid/version is believed as is... */
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ud_file_read(file, 65536, &text, &len, &e), 0);
    char *at = strstr(text, "\"runc\": \"");
    assert_non_null(at);
    char fake[8192];
    snprintf(fake, sizeof(fake), "%.*s\"runc\": \"/fake/runc\"%s", (int)(at - text), text,
             strchr(at + 9, '"') + 1);
    assert_int_equal(ud_file_write_atomic(file, fake, strlen(fake), 0644, &e), 0);
    assert_int_equal(ud_hostcaps_get(file, &b, &e), 0);
    assert_string_equal(b.runc, "/fake/runc");
    assert_string_equal(b.kernel, a.kernel);
    assert_int_equal(b.userns, a.userns);
    assert_string_equal(b.userns_why, a.userns_why);

    /* ...but one made for another kernel is reprobed and rewritten. */
    at = strstr(fake, a.kernel);
    assert_non_null(at);
    at[0] = at[0] == '9' ? '8' : '9';
    assert_int_equal(ud_file_write_atomic(file, fake, strlen(fake), 0644, &e), 0);
    assert_int_equal(ud_hostcaps_get(file, &b, &e), 0);
    assert_string_equal(b.runc, p.runc);
    assert_string_equal(b.kernel, p.kernel);

    /* Garbage is reprobed too. */
    assert_int_equal(ud_file_write_atomic(file, "{[", 2, 0644, &e), 0);
    assert_int_equal(ud_hostcaps_get(file, &b, &e), 0);
    assert_string_equal(b.kernel, p.kernel);
    free(text);
    text = NULL;
    assert_int_equal(ud_file_read(file, 65536, &text, &len, &e), 0);
    assert_non_null(strstr(text, "\"format\""));
    free(text);

    /* No cache file at all: probe only. An unwritable place is no error. */
    assert_int_equal(ud_hostcaps_get(NULL, &b, &e), 0);
    assert_int_equal(ud_hostcaps_get("/proc/nonexistent/hostcaps.json", &b, &e), 0);
    assert_int_equal(ud_rm_rf(dir, &e), 0);
}

static void
test_modes(void **state)
{
    (void)state;
    const char *good[] = {"P1", "P2", "F1", "F2", "F3", "F4", "R1", "R2", "R3", "S1"};
    const char *bad[] = {"", "P", "P3", "R0", "r1", "S2", "R1 ", "auto", "F5", "XY"};
    for (size_t i = 0; i < 10; i++) {
        assert_true(ud_execmode_valid(good[i]));
        assert_false(ud_execmode_valid(bad[i]));
    }
    assert_false(ud_execmode_valid(NULL));
    assert_int_equal(ud_engine_banner_char(UD_ENGINE_P), '*');
    assert_int_equal(ud_engine_banner_char(UD_ENGINE_F), '#');
    assert_int_equal(ud_engine_banner_char(UD_ENGINE_R), '%');
    assert_int_equal(ud_engine_banner_char(UD_ENGINE_S), '/');
}

static int
probe_ok(const struct ud_hostcaps *c, struct ud_error *err)
{
    return 0;
}
static int
probe_userns(const struct ud_hostcaps *c, struct ud_error *err)
{
    if (!c->userns)
        return ud_error_set(err, UD_EUNSUPP, 0, "%s", c->userns_why);
    return 0;
}
static int
probe_ptrace(const struct ud_hostcaps *c, struct ud_error *err)
{
    if (!c->ptrace)
        return ud_error_set(err, UD_EUNSUPP, 0, "%s", c->ptrace_why);
    return 0;
}

static const struct ud_engine fr1 = {.mode = "R1",
                                     .family = UD_ENGINE_R,
                                     .summary = "namespaces",
                                     .speed = 10,
                                     .probe = probe_userns};
static const struct ud_engine fp1 = {
    .mode = "P1", .family = UD_ENGINE_P, .summary = "ptrace", .speed = 50, .probe = probe_ptrace};
static const struct ud_engine fp2 = {
    .mode = "P2", .family = UD_ENGINE_P, .summary = "slow", .speed = 60, .probe = probe_ok};

static void
test_auto(void **state)
{
    (void)state;
    const struct ud_engine *all[] = {&fp2, &fp1, &fr1, NULL};
    const struct ud_engine *none[] = {NULL};
    const struct ud_engine *out = NULL;
    struct ud_error e = {0};
    struct ud_hostcaps c;
    memset(&c, 0, sizeof(c));

    assert_ptr_equal(ud_engine_find(all, "P1"), &fp1);
    assert_ptr_equal(ud_engine_find(all, "R1"), &fr1);
    assert_null(ud_engine_find(all, "R2"));
    assert_null(ud_engine_find(none, "R1"));

    c.userns = c.ptrace = true;
    assert_int_equal(ud_engine_auto(all, &c, &out, &e), 0);
    assert_ptr_equal(out, &fr1); /* R1 is faster than P1 when both work */
    c.userns = false;
    snprintf(c.userns_why, sizeof(c.userns_why), "userns off");
    assert_int_equal(ud_engine_auto(all, &c, &out, &e), 0);
    assert_ptr_equal(out, &fp1);
    c.ptrace = false;
    snprintf(c.ptrace_why, sizeof(c.ptrace_why), "yama says no");
    assert_int_equal(ud_engine_auto(all, &c, &out, &e), 0);
    assert_ptr_equal(out, &fp2);

    const struct ud_engine *two[] = {&fp1, &fr1, NULL};
    out = NULL;
    assert_int_equal(ud_engine_auto(two, &c, &out, &e), UD_EUNSUPP);
    assert_null(out);
    assert_non_null(strstr(e.msg, "P1: yama says no"));
    assert_non_null(strstr(e.msg, "R1: userns off"));
    assert_int_equal(ud_engine_auto(none, &c, &out, &e), UD_EUNSUPP);
    assert_non_null(strstr(e.msg, "no execution engine"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_auto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
