/* SPDX-License-Identifier: Apache-2.0 */
/* Execution modes of a fake container directory: execmode and root.path,
 * switching with prepare/undo, modes missing from the build, FileBind and
 * F-mode leftovers of another udocker, mountpoints and purge. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ud/engine.h"

static int prepared, undone;
static int
prep(const struct ud_engine_ctr *c, struct ud_error *err)
{
    prepared++;
    return 0;
}
static int
undo(const struct ud_engine_ctr *c, struct ud_error *err)
{
    undone++;
    return 0;
}
static int
prep_fail(const struct ud_engine_ctr *c, struct ud_error *err)
{
    return ud_error_set(err, UD_EIO, 0, "prepare failed");
}

static const struct ud_engine er1 = {
    .mode = "R1", .family = UD_ENGINE_R, .prepare = prep, .undo = undo};
static const struct ud_engine ep1 = {.mode = "P1", .family = UD_ENGINE_P};
static const struct ud_engine ep2 = {.mode = "P2", .family = UD_ENGINE_P, .prepare = prep_fail};
static const struct ud_engine *const engines[] = {&er1, &ep1, &ep2, NULL};

struct cfx {
    char dir[64], root[96];
    struct ud_engine_ctr c;
};

static int
setup(void **state)
{
    struct cfx *f = calloc(1, sizeof(*f));
    struct ud_error e = {0};
    snprintf(f->dir, sizeof(f->dir), "/tmp/udmode-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof(f->root), "%s/ROOT", f->dir);
    char p[256];
    snprintf(p, sizeof(p), "%s/etc", f->root);
    assert_int_equal(ud_mkdir_p(p, 0755, &e), 0);
    snprintf(p, sizeof(p), "%s/bin", f->root);
    assert_int_equal(ud_mkdir_p(p, 0755, &e), 0);
    f->c = (struct ud_engine_ctr){.id = "x", .cdir = f->dir, .root = f->root};
    prepared = undone = 0;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct cfx *f = *state;
    struct ud_error e = {0};
    assert_int_equal(ud_rm_rf(f->dir, &e), 0);
    free(f);
    return 0;
}

static char *
slurp(const char *dir, const char *name)
{
    char p[512];
    char *t = NULL;
    size_t n = 0;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    if (ud_file_read(p, 1 << 20, &t, &n, NULL) != 0)
        return NULL;
    return t;
}

static void
put(const char *dir, const char *name, const char *text)
{
    char p[512];
    struct ud_error e = {0};
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_int_equal(ud_file_write_atomic(p, text, strlen(text), 0644, &e), 0);
}

static void
test_switch(void **state)
{
    struct cfx *f = *state;
    struct ud_error e = {0};
    char m[3] = "??";
    char real[PATH_MAX];

    assert_int_equal(ud_execmode_get(f->dir, m, &e), 0);
    assert_string_equal(m, "");
    assert_int_equal(ud_execmode_set(engines, &f->c, "R1", false, &e), 0);
    assert_int_equal(prepared, 1);
    assert_int_equal(ud_execmode_get(f->dir, m, &e), 0);
    assert_string_equal(m, "R1");
    char *rp = slurp(f->dir, "root.path");
    assert_non_null(realpath(f->root, real));
    assert_string_equal(rp, real);
    free(rp);
    /* Already there: nothing, unless forced (undo + prepare again). */
    assert_int_equal(ud_execmode_set(engines, &f->c, "R1", false, &e), 0);
    assert_int_equal(prepared, 1);
    assert_int_equal(ud_execmode_set(engines, &f->c, "R1", true, &e), 0);
    assert_int_equal(prepared, 2);
    assert_int_equal(undone, 1);
    /* Away from R1: its undo. */
    assert_int_equal(ud_execmode_set(engines, &f->c, "P1", false, &e), 0);
    assert_int_equal(undone, 2);
    char *em = slurp(f->dir, "execmode");
    assert_string_equal(em, "P1");
    free(em);
    /* Modes this build lacks, invalid modes, failing prepare: unchanged. */
    assert_int_equal(ud_execmode_set(engines, &f->c, "F1", false, &e), UD_EUNSUPP);
    assert_string_equal(e.msg, "execution mode F1 is not available in this build");
    assert_int_equal(ud_execmode_set(engines, &f->c, "S1", true, &e), UD_EUNSUPP);
    assert_int_equal(ud_execmode_set(engines, &f->c, "Q7", false, &e), UD_EINVAL);
    assert_int_equal(ud_execmode_set(engines, &f->c, "P2", false, &e), UD_EIO);
    assert_string_equal(e.msg, "prepare failed");
    assert_int_equal(ud_execmode_get(f->dir, m, &e), 0);
    assert_string_equal(m, "P1");
    /* A corrupt execmode file is an error to read. */
    put(f->dir, "execmode", "garbage");
    assert_int_equal(ud_execmode_get(f->dir, m, &e), UD_EPARSE);
    put(f->dir, "execmode", "R2\n");
    assert_int_equal(ud_execmode_get(f->dir, m, &e), 0);
    assert_string_equal(m, "R2");
}

/* What an upstream R mode leaves: originals aside, links in their place. */
static void
test_filebind_restore(void **state)
{
    struct cfx *f = *state;
    struct ud_error e = {0};
    char p[512], q[512];

    snprintf(p, sizeof(p), "%s/.bind_orig_files", f->dir);
    assert_int_equal(ud_mkdir_p(p, 0755, &e), 0);
    put(p, "#etc#passwd", "root:x:0:0::/root:/bin/sh\n");
    put(p, "#etc#group", "root:x:0:\n");
    snprintf(q, sizeof(q), "%s/.bind_host_files", f->root);
    assert_int_equal(ud_mkdir_p(q, 0755, &e), 0);
    snprintf(p, sizeof(p), "%s/etc/passwd", f->root);
    assert_int_equal(symlink("/.bind_host_files/#etc#passwd", p), 0);
    snprintf(p, sizeof(p), "%s/etc/group", f->root);
    assert_int_equal(symlink("/.bind_host_files/#etc#group", p), 0);
    put(f->dir, "execmode", "R1");

    assert_int_equal(ud_execmode_set(engines, &f->c, "P1", false, &e), 0);
    snprintf(p, sizeof(p), "%s/etc/passwd", f->root);
    assert_true(ud_path_is_regular(p));
    char *t = slurp(f->root, "etc/passwd");
    assert_string_equal(t, "root:x:0:0::/root:/bin/sh\n");
    free(t);
    snprintf(p, sizeof(p), "%s/etc/group", f->root);
    assert_true(ud_path_is_regular(p));
    snprintf(p, sizeof(p), "%s/.bind_orig_files", f->dir);
    assert_false(ud_path_exists(p));
    assert_false(ud_path_exists(q));
    /* Nothing to restore is fine. */
    assert_int_equal(ud_filebind_restore(&f->c, &e), 0);
}

static void
test_from_f_mode(void **state)
{
    struct cfx *f = *state;
    struct ud_error e = {0};
    char real[PATH_MAX], p[512], t[PATH_MAX + 64], l[PATH_MAX];
    assert_non_null(realpath(f->root, real));

    put(f->dir, "execmode", "F3");
    put(f->dir, "root.path", "/old/home/u/.udocker/containers/x/ROOT");
    struct {
        const char *name, *target, *want;
    } links[] = {
        {"bin/a", "/old/home/u/.udocker/containers/x/ROOT/bin/busybox", "/bin/busybox"},
        {"bin/b", NULL, "/usr/lib"}, /* real root prefix, set below */
        {"bin/c", "/elsewhere/containers/other-id/ROOT/lib/x.so", "/lib/x.so"},
        {"bin/d", "/etc/hosts", "/etc/hosts"},
        {"bin/e", "relative/x", "relative/x"},
    };
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof(p), "%s/%s", f->root, links[i].name);
        if (links[i].target == NULL)
            snprintf(t, sizeof(t), "%s/usr/lib", real);
        else
            snprintf(t, sizeof(t), "%s", links[i].target);
        assert_int_equal(symlink(t, p), 0);
    }
    /* F3 patched the executables: refused without --force. */
    assert_int_equal(ud_execmode_set(engines, &f->c, "P1", false, &e), UD_EUNSUPP);
    put(f->dir, "execmode", "F2");
    /* F2 saved the original ld.so: put back. */
    put(f->dir, "ld.so.path", "/bin/ld.so\n");
    put(f->dir, "ld.so.orig", "ORIGINAL");
    put(f->root, "bin/ld.so", "PATCHED");
    assert_int_equal(ud_execmode_set(engines, &f->c, "P1", false, &e), 0);
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof(p), "%s/%s", f->root, links[i].name);
        ssize_t n = readlink(p, l, sizeof(l) - 1);
        assert_true(n > 0);
        l[n] = '\0';
        assert_string_equal(l, links[i].want);
    }
    char *ld = slurp(f->root, "bin/ld.so");
    assert_string_equal(ld, "ORIGINAL");
    free(ld);
}

static void
test_mountpoints(void **state)
{
    struct cfx *f = *state;
    struct ud_error e = {0};
    char p[512];

    assert_int_equal(ud_engine_mountpoint_add(&f->c, "/a/b/c", true, &e), 0);
    assert_int_equal(ud_engine_mountpoint_add(&f->c, "/etc/new.conf", false, &e), 0);
    assert_int_equal(ud_engine_mountpoint_add(&f->c, "/etc", true, &e), 0); /* exists */
    assert_int_equal(ud_engine_mountpoint_add(&f->c, "/etc/new.conf", true, &e), UD_EEXIST);
    assert_int_equal(ud_engine_mountpoint_add(&f->c, "/x/../..", true, &e), UD_EINVAL);
    snprintf(p, sizeof(p), "%s/a/b/c", f->root);
    assert_true(ud_path_is_dir(p));
    snprintf(p, sizeof(p), "%s/etc/new.conf", f->root);
    assert_true(ud_path_is_regular(p));
    snprintf(p, sizeof(p), "%s/.mountpoints/#a#b#c", f->dir);
    assert_true(ud_path_is_symlink(p));
    /* A mountpoint that got content is kept. */
    assert_int_equal(ud_engine_mountpoint_add(&f->c, "/keep", true, &e), 0);
    put(f->root, "keep/data", "x");

    assert_int_equal(ud_execmode_purge(&f->c, &e), 0);
    snprintf(p, sizeof(p), "%s/a", f->root);
    assert_false(ud_path_exists(p));
    snprintf(p, sizeof(p), "%s/etc/new.conf", f->root);
    assert_false(ud_path_exists(p));
    snprintf(p, sizeof(p), "%s/etc", f->root);
    assert_true(ud_path_is_dir(p));
    snprintf(p, sizeof(p), "%s/keep/data", f->root);
    assert_true(ud_path_exists(p));
    snprintf(p, sizeof(p), "%s/.mountpoints", f->dir);
    assert_false(ud_path_exists(p));
    /* Nothing recorded: fine. */
    assert_int_equal(ud_execmode_purge(&f->c, &e), 0);

    /* No container directory (--location): made, not recorded. */
    struct ud_engine_ctr loc = {.root = f->root};
    assert_int_equal(ud_engine_mountpoint_add(&loc, "/loc/x", true, &e), 0);
    snprintf(p, sizeof(p), "%s/loc/x", f->root);
    assert_true(ud_path_is_dir(p));
    snprintf(p, sizeof(p), "%s/.mountpoints", f->dir);
    assert_false(ud_path_exists(p));
    /* A link in the way is not followed out of ROOT. */
    snprintf(p, sizeof(p), "%s/out", f->root);
    assert_int_equal(symlink("/tmp", p), 0);
    assert_int_equal(ud_engine_mountpoint_add(&f->c, "/out/ud-engine-test-x", true, &e), UD_EEXIST);
    assert_false(ud_path_exists("/tmp/ud-engine-test-x"));
    /* A file that got content is kept by purge, a '#' path not recorded. */
    assert_int_equal(ud_engine_mountpoint_add(&f->c, "/etc/full.conf", false, &e), 0);
    put(f->root, "etc/full.conf", "data");
    assert_int_equal(ud_engine_mountpoint_add(&f->c, "/a#b", true, &e), 0);
    assert_int_equal(ud_execmode_purge(&f->c, &e), 0);
    snprintf(p, sizeof(p), "%s/etc/full.conf", f->root);
    assert_true(ud_path_is_regular(p));
    snprintf(p, sizeof(p), "%s/a#b", f->root);
    assert_true(ud_path_is_dir(p));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_switch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filebind_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_f_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mountpoints, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
