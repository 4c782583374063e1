/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Nothing escapes the root: ".." names, absolute names, symlinked parents
 * (absolute and relative), hard links to outside files, writes through a
 * symlink at the leaf, whiteouts through symlinks. A sentinel directory
 * beside the root must stay untouched; each scenario runs with openat2 and
 * with the portable resolver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ud/tarextract.h>

#include "tarbuild.h"

static unsigned flags_openat2 = 0;
static unsigned flags_portable = UD_TAR_F_NO_OPENAT2;

/* "<outside>/name" as an absolute host path (for absolute link targets). */
static const char *
outside(struct tb_ctx *c, const char *name)
{
    snprintf(c->buf, sizeof(c->buf), "%s/%s", c->env.outside, name);
    return c->buf;
}

static void
test_dotdot_names(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_GZIP);
    tb_file(t, "../outside/x", "pwn", 0644);
    tb_file(t, "a/../../outside/y", "pwn", 0644);
    tb_file(t, "../../../../../../../../tmp/udtar-escape", "pwn", 0644);
    tb_file(t, "a/../fine", "ok", 0644); /* stays inside: allowed */
    tb_close(t);
    tb_ctx_apply(c);
    tb_assert_outside_intact(&c->env);
    assert_true(tb_exists(&c->env, "fine"));
    assert_false(tb_exists(&c->env, "a"));
    assert_int_equal(c->st.skipped, 3);
    assert_int_equal(c->warns.n, 3);
    assert_non_null(strstr(c->warns.last, "climbs out"));
}

static void
test_absolute_names(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_GZIP);
    tb_file(t, outside(c, "abs"), "pwn", 0644);
    tb_file(t, "/etc-like/file", "in", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    tb_assert_outside_intact(&c->env);
    assert_true(tb_exists(&c->env, "etc-like/file"));
    /* stripped of its '/', it lands inside the root */
    assert_true(tb_exists(&c->env, outside(c, "abs") + 1));
}

static void
test_symlinked_parent_absolute(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_GZIP);
    tb_symlink(t, "a", c->env.outside); /* host path: inside the root it is root/<path> */
    tb_file(t, "a/x", "pwn", 0644);
    tb_symlink(t, "b", "/");
    tb_file(t, "b/y", "in", 0644); /* "/" is the root: root/y */
    tb_close(t);
    tb_ctx_apply(c);
    tb_assert_outside_intact(&c->env);
    assert_true(tb_exists(&c->env, "y"));
}

static void
test_symlinked_parent_relative(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_GZIP);
    tb_dir(t, "d", 0755);
    tb_symlink(t, "d/up", "../../../../../..");
    tb_file(t, "d/up/outside/x", "pwn", 0644);
    tb_symlink(t, "rel", "..");
    tb_file(t, "rel/outside/secret", "pwn", 0644);
    tb_symlink(t, "loop1", "loop2");
    tb_symlink(t, "loop2", "loop1");
    tb_file(t, "loop1/z", "z", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    tb_assert_outside_intact(&c->env);
    /* ".." clamps at the root, so these landed inside */
    char *s = tb_read(&c->env, "outside/secret");
    assert_non_null(s);
    assert_string_equal(s, "pwn");
    free(s);
    assert_true(tb_exists(&c->env, "outside/x"));
    assert_false(tb_exists(&c->env, "z"));
    assert_true(c->warns.n >= 1); /* the symlink loop */
}

static void
test_lower_layer_symlink(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_GZIP);
    tb_symlink(t, "etc", c->env.outside);
    tb_symlink(t, "up", "../..");
    tb_close(t);
    tb_ctx_apply(c);
    t = tb_ctx_layer(c, TB_GZIP);
    tb_file(t, "etc/passwd", "pwn", 0644);
    tb_file(t, "etc/secret", "pwn", 0644);
    tb_file(t, "up/outside/secret", "in", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    tb_assert_outside_intact(&c->env);
    assert_true(tb_exists(&c->env, "outside/secret"));
}

static void
test_hardlink_escapes(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_GZIP);
    tb_hardlink(t, "h1", "../outside/secret");
    tb_hardlink(t, "h2", outside(c, "secret"));
    tb_symlink(t, "up", "..");
    tb_hardlink(t, "h3", "up/outside/secret");
    tb_symlink(t, "s", outside(c, "secret"));
    tb_hardlink(t, "h4", "s"); /* links the symlink itself */
    tb_hardlink(t, "h5", "/etc/passwd");
    tb_close(t);
    tb_ctx_apply(c);
    tb_assert_outside_intact(&c->env);
    assert_false(tb_exists(&c->env, "h1"));
    assert_false(tb_exists(&c->env, "h2"));
    assert_false(tb_exists(&c->env, "h3"));
    assert_true(S_ISLNK(tb_mode(&c->env, "h4")));
    assert_false(tb_exists(&c->env, "h5"));
    assert_int_equal(c->st.skipped, 4);
}

/* The warning names both the link and its target. */
static void
test_hardlink_warning_names_target(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_GZIP);
    tb_hardlink(t, "hl_outside", "../outside/secret");
    tb_close(t);
    tb_ctx_apply(c);
    tb_assert_outside_intact(&c->env);
    assert_false(tb_exists(&c->env, "hl_outside"));
    assert_int_equal(c->st.skipped, 1);
    assert_int_equal(c->warns.n, 1);
    assert_string_equal(
        c->warns.last,
        "skipping hard link hl_outside: target ../outside/secret is outside the root");
}

static void
test_no_write_through_leaf_symlink(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_GZIP);
    tb_symlink(t, "f", outside(c, "secret"));
    tb_symlink(t, "g", "../outside/secret");
    tb_close(t);
    tb_ctx_apply(c);
    t = tb_ctx_layer(c, TB_GZIP);
    tb_file(t, "f", "pwn", 0644);
    tb_file(t, "g", "pwn", 0644);
    tb_symlink(t, "dir-as-link", outside(c, ""));
    tb_dir(t, "dir-as-link", 0755); /* replaces the symlink, no chmod through it */
    tb_close(t);
    tb_ctx_apply(c);
    tb_assert_outside_intact(&c->env);
    struct stat st;
    assert_int_equal(stat(c->env.outside, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_true(S_ISREG(tb_mode(&c->env, "f")));
    assert_true(S_ISREG(tb_mode(&c->env, "g")));
    assert_true(S_ISDIR(tb_mode(&c->env, "dir-as-link")));
}

static void
test_whiteouts_through_symlinks(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_GZIP);
    tb_symlink(t, "l", c->env.outside);
    tb_symlink(t, "up", "..");
    tb_file(t, "keep", "k", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    t = tb_ctx_layer(c, TB_GZIP);
    tb_file(t, "l/.wh.secret", "", 0644);
    tb_file(t, "l/.wh..wh..opq", "", 0644);
    tb_file(t, "../outside/.wh.secret", "", 0644);
    tb_file(t, "up/outside/.wh.secret", "", 0644);
    tb_file(t, "up/.wh.outside", "", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    tb_assert_outside_intact(&c->env);
    assert_true(tb_exists(&c->env, "keep"));
    assert_true(S_ISLNK(tb_mode(&c->env, "l")));
    /* up/.wh..wh..opq would empty the root (up is the root): inside, allowed */
    t = tb_ctx_layer(c, TB_GZIP);
    tb_file(t, "up/.wh..wh..opq", "", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    tb_assert_outside_intact(&c->env);
    assert_false(tb_exists(&c->env, "keep"));
}

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* Make openat2 fail with EPERM in this process, as the seccomp profiles of
 * older container runtimes do for system calls they do not know. 0, or -1
 * when seccomp filters are not available here. */
static int
refuse_openat2(void)
{
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = {sizeof(prog) / sizeof(prog[0]), prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0 ? -1 : 0;
}

/* Where openat2 exists but a seccomp filter answers EPERM, the layer is
 * still applied in full (with the portable walk), and safely. */
static void
test_openat2_refused_by_seccomp(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_GZIP);
    tb_file(t, "a/b/f", "deep", 0644);
    tb_symlink(t, "l", "/a"); /* "/" is the root: root/a */
    tb_file(t, "l/x", "in", 0644);
    tb_symlink(t, "up", "../..");
    tb_file(t, "up/y", "in", 0644); /* ".." clamps at the root: root/y */
    tb_close(t);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (refuse_openat2() != 0)
            _exit(77);
        struct ud_tar_options o = {NULL, NULL, c->flags};
        struct ud_tar_stats st = {0};
        int rc = ud_tar_layer_apply(c->env.root, c->env.layer, &o, &st, NULL);
        _exit(rc != 0 ? 1 : st.skipped != 0 ? 2 : 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
    tb_assert_outside_intact(&c->env);
    char *s = tb_read(&c->env, "a/b/f");
    assert_non_null(s);
    assert_string_equal(s, "deep");
    free(s);
    assert_true(tb_exists(&c->env, "a/x"));
    assert_true(tb_exists(&c->env, "y"));
}

#define BOTH(fn)                                                                                   \
    cmocka_unit_test_prestate_setup_teardown(fn, tb_ctx_setup, tb_ctx_teardown, &flags_openat2),   \
        cmocka_unit_test_prestate_setup_teardown(fn, tb_ctx_setup, tb_ctx_teardown,                \
                                                 &flags_portable)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_dotdot_names),
        BOTH(test_absolute_names),
        BOTH(test_symlinked_parent_absolute),
        BOTH(test_symlinked_parent_relative),
        BOTH(test_lower_layer_symlink),
        BOTH(test_hardlink_escapes),
        BOTH(test_hardlink_warning_names_target),
        BOTH(test_no_write_through_leaf_symlink),
        BOTH(test_whiteouts_through_symlinks),
        BOTH(test_openat2_refused_by_seccomp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
