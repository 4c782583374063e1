/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer semantics: member types, whiteouts (root level, depth, opaque in
 * either order), replacement across layers, unprivileged mode fix-ups,
 * exclusions and odd names. Every scenario runs with openat2 and with the
 * portable resolver (UD_TAR_F_NO_OPENAT2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ud/tarextract.h>

#include "tarbuild.h"

static unsigned flags_openat2 = 0;
static unsigned flags_portable = UD_TAR_F_NO_OPENAT2;

static void
assert_content(struct tb_ctx *c, const char *rel, const char *want)
{
    char *got = tb_read(&c->env, rel);
    if (!got)
        fail_msg("%s missing", rel);
    assert_string_equal(got, want);
    free(got);
}

static void
test_types(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_GZIP);
    tb_dir(t, "./etc/", 0755);
    tb_file(t, "./etc/hosts", "127.0.0.1 localhost\n", 0644);
    tb_symlink(t, "./etc/abs", "/etc/hosts");
    tb_symlink(t, "./etc/rel", "../nowhere/at/all");
    tb_hardlink(t, "./etc/hosts.hard", "./etc/hosts");
    tb_fifo(t, "./etc/pipe");
    tb_file(t, "./bin/tool", "#!/bin/sh\n", 0755); /* no dir member: made */
    tb_close(t);
    tb_ctx_apply(c);
    assert_content(c, "etc/hosts", "127.0.0.1 localhost\n");
    char buf[64];
    ssize_t n = readlink(tb_path(&c->env, "etc/abs"), buf, sizeof(buf));
    assert_int_equal(n, 10);
    assert_memory_equal(buf, "/etc/hosts", 10);
    n = readlink(tb_path(&c->env, "etc/rel"), buf, sizeof(buf));
    assert_int_equal(n, 17);
    struct stat s1, s2;
    assert_int_equal(lstat(tb_path(&c->env, "etc/hosts"), &s1), 0);
    assert_int_equal(lstat(tb_path(&c->env, "etc/hosts.hard"), &s2), 0);
    assert_int_equal(s1.st_ino, s2.st_ino);
    assert_int_equal(s1.st_nlink, 2);
    assert_int_equal(s1.st_mtime, 1000000000);
    assert_int_equal(lstat(tb_path(&c->env, "etc/abs"), &s2), 0);
    assert_int_equal(s2.st_mtime, 1000000000);
    assert_true(S_ISFIFO(tb_mode(&c->env, "etc/pipe")));
    assert_int_equal(tb_mode(&c->env, "bin/tool") & 07777, 0755);
    assert_int_equal(tb_mode(&c->env, "bin") & 0700, 0700);
    assert_int_equal(c->st.entries, 7);
    assert_int_equal(c->st.bytes, 20 + 10);
    assert_int_equal(c->st.skipped, 0);
    assert_int_equal(c->st.warnings, 0);
    assert_int_equal(c->warns.n, 0);
}

static void
test_whiteout_root_and_depth(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_NONE);
    tb_file(t, "foo", "1", 0644);
    tb_file(t, "bar", "1", 0644);
    tb_file(t, "keep", "1", 0644);
    tb_dir(t, "a/b/c/d", 0755);
    tb_file(t, "a/b/c/d/f", "x", 0644);
    tb_file(t, "a/b/sibling", "s", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    t = tb_ctx_layer(c, TB_GZIP);
    tb_file(t, ".wh.foo", "", 0644);   /* root level, no ./ prefix */
    tb_file(t, "./.wh.bar", "", 0644); /* root level, ./ prefix */
    tb_file(t, "a/b/.wh.c", "", 0644); /* a directory, recursively */
    tb_file(t, "a/.wh.nothere", "", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    assert_false(tb_exists(&c->env, "foo"));
    assert_false(tb_exists(&c->env, "bar"));
    assert_false(tb_exists(&c->env, "a/b/c"));
    assert_true(tb_exists(&c->env, "keep"));
    assert_true(tb_exists(&c->env, "a/b/sibling"));
    assert_false(tb_exists(&c->env, ".wh.foo"));
    assert_false(tb_exists(&c->env, "a/b/.wh.c"));
    assert_false(tb_exists(&c->env, "a/.wh.nothere"));
    assert_int_equal(c->warns.n, 0);
}

/* Opaque marker before or after the layer's own children. */
static void
opaque_case(struct tb_ctx *c, bool marker_first)
{
    struct tb *t = tb_ctx_layer(c, TB_NONE);
    tb_dir(t, "d", 0755);
    tb_file(t, "d/old1", "o", 0644);
    tb_dir(t, "d/sub", 0755);
    tb_file(t, "d/sub/old2", "o", 0644);
    tb_file(t, "d/sub/same", "old", 0644);
    tb_file(t, "other/x", "x", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    t = tb_ctx_layer(c, TB_ZSTD);
    tb_dir(t, "d", 0755);
    if (marker_first)
        tb_file(t, "d/.wh..wh..opq", "", 0644);
    tb_file(t, "d/new1", "n", 0644);
    tb_file(t, "d/sub/same", "new", 0644);
    if (!marker_first)
        tb_file(t, "d/.wh..wh..opq", "", 0644);
    tb_file(t, "d/new2", "n", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    assert_false(tb_exists(&c->env, "d/old1"));
    assert_false(tb_exists(&c->env, "d/sub/old2"));
    assert_content(c, "d/sub/same", "new");
    assert_true(tb_exists(&c->env, "d/new1"));
    assert_true(tb_exists(&c->env, "d/new2"));
    assert_true(tb_exists(&c->env, "other/x"));
    assert_false(tb_exists(&c->env, "d/.wh..wh..opq"));
}

static void
test_opaque_marker_first(void **state)
{
    opaque_case(*state, true);
}

static void
test_opaque_marker_last(void **state)
{
    opaque_case(*state, false);
}

static void
test_opaque_root(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_NONE);
    tb_file(t, "old", "o", 0644);
    tb_file(t, "dir/old", "o", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    t = tb_ctx_layer(c, TB_NONE);
    tb_file(t, "dir/new", "n", 0644);
    tb_file(t, ".wh..wh..opq", "", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    assert_false(tb_exists(&c->env, "old"));
    assert_false(tb_exists(&c->env, "dir/old"));
    assert_true(tb_exists(&c->env, "dir/new"));
}

/* A whiteout for a name this layer also writes hides only the lower one. */
static void
test_whiteout_and_recreate(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_NONE);
    tb_file(t, "x/lower", "l", 0644);
    tb_file(t, "y/lower", "l", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    t = tb_ctx_layer(c, TB_NONE);
    tb_file(t, ".wh.x", "", 0644); /* before */
    tb_file(t, "x/upper", "u", 0644);
    tb_file(t, "y/upper", "u", 0644);
    tb_file(t, ".wh.y", "", 0644); /* after */
    tb_close(t);
    tb_ctx_apply(c);
    assert_false(tb_exists(&c->env, "x/lower"));
    assert_false(tb_exists(&c->env, "y/lower"));
    assert_true(tb_exists(&c->env, "x/upper"));
    assert_true(tb_exists(&c->env, "y/upper"));
}

static void
test_replace_across_layers(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_NONE);
    tb_file(t, "p", "file", 0644);
    tb_dir(t, "q", 0755);
    tb_file(t, "q/inner", "i", 0644);
    tb_file(t, "r", "hard", 0644);
    tb_hardlink(t, "r2", "r");
    tb_dir(t, "s", 0755);
    tb_file(t, "s/in", "i", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    t = tb_ctx_layer(c, TB_GZIP);
    tb_dir(t, "p", 0755); /* file -> dir */
    tb_file(t, "p/in", "i", 0644);
    tb_file(t, "q", "now a file", 0644); /* dir -> file */
    tb_file(t, "r", "new", 0644);        /* never writes into the old inode */
    tb_symlink(t, "s", "/etc");          /* dir -> symlink */
    tb_close(t);
    tb_ctx_apply(c);
    assert_true(S_ISDIR(tb_mode(&c->env, "p")));
    assert_content(c, "p/in", "i");
    assert_content(c, "q", "now a file");
    assert_content(c, "r", "new");
    assert_content(c, "r2", "hard");
    assert_true(S_ISLNK(tb_mode(&c->env, "s")));
    t = tb_ctx_layer(c, TB_NONE);
    tb_file(t, "p", "file again", 0644); /* dir -> file */
    tb_dir(t, "s", 0700);                /* symlink -> dir */
    tb_close(t);
    tb_ctx_apply(c);
    assert_content(c, "p", "file again");
    assert_true(S_ISDIR(tb_mode(&c->env, "s")));
    assert_int_equal(c->warns.n, 0);
}

static void
test_modes(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_NONE);
    tb_file(t, "suid", "x", 04755);
    tb_file(t, "sgid", "x", 02755);
    tb_file(t, "zero", "data", 0);
    tb_file(t, "ro", "data", 0444);
    tb_dir(t, "tmp", 01777);
    tb_dir(t, "locked", 0);
    tb_file(t, "locked/f", "f", 0644);
    tb_dir(t, "rodir", 0555);
    tb_file(t, "rodir/f", "f", 0644);
    tb_dir(t, "sgdir", 02755);
    tb_close(t);
    tb_ctx_apply(c);
    assert_int_equal(tb_mode(&c->env, "suid") & 07777, 0755);
    assert_int_equal(tb_mode(&c->env, "sgid") & 07777, 0755);
    assert_int_equal(tb_mode(&c->env, "zero") & 07777, 0600);
    assert_int_equal(tb_mode(&c->env, "ro") & 07777, 0644);
    assert_int_equal(tb_mode(&c->env, "tmp") & 07777, 01755); /* umask 022 */
    assert_int_equal(tb_mode(&c->env, "locked") & 07777, 0700);
    assert_int_equal(tb_mode(&c->env, "rodir") & 07777, 0755);
    assert_int_equal(tb_mode(&c->env, "sgdir") & 07777, 0755);
    assert_content(c, "locked/f", "f");
    /* a later layer changes an existing directory's mode, keeping u+rwx */
    t = tb_ctx_layer(c, TB_NONE);
    tb_dir(t, "rodir", 0500);
    tb_file(t, "rodir/g", "g", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    assert_int_equal(tb_mode(&c->env, "rodir") & 07777, 0700);
    assert_content(c, "rodir/g", "g");
}

static void
test_dev_and_devices(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_NONE);
    tb_dir(t, "dev", 0755);
    tb_file(t, "dev/shm-file", "x", 0644);
    tb_dir(t, "dev/pts", 0755);
    tb_dev(t, "dev/null", false);
    tb_dev(t, "lib/chardev", false);
    tb_dev(t, "lib/blockdev", true);
    tb_file(t, "etc/udev/devices/x", "x", 0644);
    tb_file(t, "lib/ok", "ok", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    assert_true(S_ISDIR(tb_mode(&c->env, "dev")));
    assert_false(tb_exists(&c->env, "dev/shm-file"));
    assert_false(tb_exists(&c->env, "dev/pts"));
    assert_false(tb_exists(&c->env, "dev/null"));
    assert_false(tb_exists(&c->env, "lib/chardev"));
    assert_false(tb_exists(&c->env, "lib/blockdev"));
    assert_false(tb_exists(&c->env, "etc/udev/devices/x"));
    assert_true(tb_exists(&c->env, "lib/ok"));
    assert_int_equal(c->st.skipped, 6);
    assert_int_equal(c->warns.n, 2); /* the two device nodes outside dev/ */
    assert_non_null(strstr(c->warns.last, "device node"));
}

static void
test_names(void **state)
{
    struct tb_ctx *c = *state;
    char longdir[300], longname[400];
    memset(longdir, 'd', 150);
    longdir[150] = 0;
    memcpy(longname, longdir, 150);
    longname[150] = '/';
    memset(longname + 151, 'f', 120);
    longname[271] = 0;
    /* pax and GNU headers, extracted in the C locale and in a UTF-8 one:
     * the bytes on disk are the UTF-8 bytes of the name either way. */
    for (int i = 0; i < 4; i++) {
        int fmt = i % 2 ? TB_GNU : TB_PAX;
        snprintf(c->env.layer, sizeof(c->env.layer), "%s/names%d.tar", c->env.dir, i);
        assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
        struct tb *t = tb_new(c->env.layer, TB_GZIP, (enum tb_format)fmt);
        tb_file(t, longname, "long", 0644);
        tb_symlink(t, "longlink", longname);
        tb_file(t, "with space", "s", 0644);
        tb_file(t, "new\nline", "n", 0644);
        tb_file(t, "caf\xc3\xa9-\xe2\x82\xac", "u", 0644);
        tb_file(t, "-leading-dash", "d", 0644);
        tb_file(t, "--", "dd", 0644);
        tb_close(t);
        assert_non_null(setlocale(LC_CTYPE, i < 2 ? "C" : "C.UTF-8"));
        tb_ctx_apply(c);
        assert_content(c, longname, "long");
        char buf[512];
        ssize_t n = readlink(tb_path(&c->env, "longlink"), buf, sizeof(buf));
        assert_int_equal(n, (ssize_t)strlen(longname));
        assert_content(c, "with space", "s");
        assert_content(c, "new\nline", "n");
        assert_content(c, "caf\xc3\xa9-\xe2\x82\xac", "u");
        assert_content(c, "-leading-dash", "d");
        assert_content(c, "--", "dd");
        assert_int_equal(c->warns.n, 0);
    }
    setlocale(LC_CTYPE, "C");
}

static void
test_aufs_metadata_ignored(void **state)
{
    struct tb_ctx *c = *state;
    struct tb *t = tb_ctx_layer(c, TB_NONE);
    tb_dir(t, ".wh..wh.plnk", 0700);
    tb_file(t, ".wh..wh.plnk/123.456", "x", 0644);
    tb_file(t, ".wh..wh.aufs", "", 0644);
    tb_file(t, "real", "r", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    assert_false(tb_exists(&c->env, ".wh..wh.plnk"));
    assert_false(tb_exists(&c->env, ".wh..wh.aufs"));
    assert_true(tb_exists(&c->env, "real"));
}

static void
test_dir_mtime_flag(void **state)
{
    struct tb_ctx *c = *state;
    c->flags |= UD_TAR_F_DIR_MTIME;
    struct tb *t = tb_ctx_layer(c, TB_NONE);
    tb_dir(t, "d", 0755);
    tb_file(t, "d/f", "f", 0644);
    tb_close(t);
    tb_ctx_apply(c);
    struct stat st;
    assert_int_equal(lstat(tb_path(&c->env, "d"), &st), 0);
    assert_int_equal(st.st_mtime, 1000000000);
}

#define BOTH(fn)                                                                                   \
    cmocka_unit_test_prestate_setup_teardown(fn, tb_ctx_setup, tb_ctx_teardown, &flags_openat2),   \
        cmocka_unit_test_prestate_setup_teardown(fn, tb_ctx_setup, tb_ctx_teardown,                \
                                                 &flags_portable)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_types),
        BOTH(test_whiteout_root_and_depth),
        BOTH(test_opaque_marker_first),
        BOTH(test_opaque_marker_last),
        BOTH(test_opaque_root),
        BOTH(test_whiteout_and_recreate),
        BOTH(test_replace_across_layers),
        BOTH(test_modes),
        BOTH(test_dev_and_devices),
        BOTH(test_names),
        BOTH(test_aufs_metadata_ignored),
        BOTH(test_dir_mtime_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
