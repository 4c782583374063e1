/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mount targets: container paths resolved inside ROOT (absolute and
 * escaping symlinks, loops, earlier binds), mountpoints made and recorded
 * in cdir/.mountpoints/ with upstream's encoding, and purged again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ud/runc-rootless.h"

struct fx {
    char *dir, *cdir, *root, *host;
};

static char *
p(const struct fx *f, const char *rel)
{
    return ud_asprintf("%s/%s", f->dir, rel);
}

static void
mk(const struct fx *f, const char *rel)
{
    char *x = p(f, rel);
    assert_int_equal(ud_mkdir_p(x, 0755, NULL), 0);
    free(x);
}

static void
ln(const struct fx *f, const char *target, const char *rel)
{
    char *x = p(f, rel);
    assert_int_equal(symlink(target, x), 0);
    free(x);
}

static void
touch(const struct fx *f, const char *rel, const char *content)
{
    char *x = p(f, rel);
    assert_int_equal(ud_file_write_atomic(x, content, strlen(content), 0644, NULL), 0);
    free(x);
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char t[] = "/tmp/rr-mp-XXXXXX";
    assert_non_null(mkdtemp(t));
    f->dir = strdup(t);
    f->cdir = p(f, "c");
    f->root = p(f, "c/ROOT");
    f->host = p(f, "hostdir");
    mk(f, "c/ROOT/etc");
    mk(f, "c/ROOT/a/b");
    mk(f, "hostdir/sub");
    touch(f, "c/ROOT/etc/hosts", "x\n");
    ln(f, "/run/systemd/resolve/stub.conf", "c/ROOT/etc/resolv.conf");
    ln(f, "../../../../../etc", "c/ROOT/up");
    ln(f, "loop2", "c/ROOT/loop1");
    ln(f, "loop1", "c/ROOT/loop2");
    ln(f, "b", "c/ROOT/a/rel");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    assert_int_equal(ud_rm_rf(f->dir, NULL), 0);
    free(f->dir);
    free(f->cdir);
    free(f->root);
    free(f->host);
    free(f);
    return 0;
}

static void
expect(const struct fx *f, const struct ud_bind *b, size_t nb, const char *in, const char *want,
       bool want_exists)
{
    char *out = NULL;
    bool exists = !want_exists;
    struct ud_error e = {0};
    assert_int_equal(ud_rr_path_resolve(f->root, b, nb, in, &out, &exists, &e), 0);
    assert_string_equal(out, want);
    assert_int_equal(exists, want_exists);
    free(out);
}

static void
test_resolve(void **state)
{
    struct fx *f = *state;
    expect(f, NULL, 0, "/etc/hosts", "/etc/hosts", true);
    expect(f, NULL, 0, "/etc/resolv.conf", "/run/systemd/resolve/stub.conf", false);
    expect(f, NULL, 0, "/up/hosts", "/etc/hosts", true); /* cannot climb out */
    expect(f, NULL, 0, "/a/rel/c", "/a/b/c", false);
    expect(f, NULL, 0, "//a/./b/../b/", "/a/b", true);
    expect(f, NULL, 0, "/x/y/../z", "/x/z", false);
    struct ud_bind b[] = {{f->host, "/data", UD_BIND_DIR}};
    expect(f, b, 1, "/data/sub", "/data/sub", true); /* through the bind */
    expect(f, b, 1, "/data/none", "/data/none", false);
    expect(f, NULL, 0, "/data/sub", "/data/sub", false); /* no bind: ROOT */
    char *out = NULL;
    bool ex;
    struct ud_error e = {0};
    assert_int_equal(ud_rr_path_resolve(f->root, NULL, 0, "/loop1/x", &out, &ex, &e), UD_EINVAL);
    assert_non_null(strstr(e.msg, "Too many levels of symbolic links"));
    assert_int_equal(ud_rr_path_resolve(f->root, NULL, 0, "/etc/hosts/x", &out, &ex, &e),
                     UD_EINVAL);
    assert_int_equal(ud_rr_path_resolve(f->root, NULL, 0, "/up/..", &out, &ex, &e), UD_EINVAL);
    assert_string_equal(e.msg, "invalid container volume path: /up/..");
    for (long n = 1;; n++) {
        ud_alloc_fail_after(n);
        int rc = ud_rr_path_resolve(f->root, b, 1, "/up/../data/sub", &out, &ex, &e);
        ud_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, UD_ENOMEM);
    }
    assert_string_equal(out, "/data/sub");
    free(out);
}

static char *
link_of(const struct fx *f, const char *name)
{
    char *x = ud_asprintf("%s/.mountpoints/%s", f->cdir, name);
    char buf[256];
    ssize_t n = readlink(x, buf, sizeof buf - 1);
    free(x);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return strdup(buf);
}

static bool
exists(const struct fx *f, const char *rel)
{
    char *x = p(f, rel);
    bool r = ud_path_exists(x);
    free(x);
    return r;
}

static void
test_make_record_purge(void **state)
{
    struct fx *f = *state;
    struct ud_error e = {0};
    struct ud_engine_ctr ctr = {.cdir = f->cdir, .root = f->root};
    struct ud_engine_ctr loc = {.root = f->root};
    assert_int_equal(ud_engine_mountpoint_add(&ctr, "/new/a/b", true, &e), 0);
    assert_int_equal(ud_engine_mountpoint_add(&ctr, "/etc/app/x.conf", false, &e), 0);
    assert_int_equal(ud_engine_mountpoint_add(&ctr, "/etc/y.conf", false, &e), 0);
    assert_int_equal(ud_engine_mountpoint_add(&ctr, "/keep", true, &e), 0);
    assert_true(exists(f, "c/ROOT/new/a/b"));
    assert_true(exists(f, "c/ROOT/etc/app/x.conf"));
    char *l = link_of(f, "#new#a#b");
    assert_string_equal(l, "#"); /* the deepest ancestor that existed: / */
    free(l);
    l = link_of(f, "#etc#app#x.conf");
    assert_string_equal(l, "#etc");
    free(l);
    /* Existing targets: nothing to make, nothing recorded. */
    assert_int_equal(ud_engine_mountpoint_add(&ctr, "/etc/hosts", false, &e), 0);
    assert_null(link_of(f, "#etc#hosts"));
    assert_int_equal(ud_engine_mountpoint_add(&ctr, "/etc/hosts", true, &e), UD_EEXIST);
    assert_int_equal(ud_engine_mountpoint_add(&ctr, "/", true, &e), UD_EINVAL);
    /* Without a container directory (--location) nothing is recorded. */
    assert_int_equal(ud_engine_mountpoint_add(&loc, "/loc", true, &e), 0);
    assert_true(exists(f, "c/ROOT/loc"));
    /* Something was put in /keep since: purge leaves it. */
    touch(f, "c/ROOT/keep/data", "d");
    /* A record that does not decode to a sane path is dropped unused. */
    char *bogus = ud_asprintf("%s/.mountpoints/#..#..#tmp", f->cdir);
    assert_int_equal(symlink("#", bogus), 0);
    free(bogus);
    assert_int_equal(ud_execmode_purge(&ctr, &e), 0);
    assert_false(exists(f, "c/ROOT/new"));
    assert_false(exists(f, "c/ROOT/etc/app"));
    assert_false(exists(f, "c/ROOT/etc/y.conf"));
    assert_true(exists(f, "c/ROOT/etc/hosts"));
    assert_true(exists(f, "c/ROOT/keep/data"));
    assert_false(exists(f, "c/.mountpoints"));
    /* Nothing recorded: nothing to do. */
    assert_int_equal(ud_execmode_purge(&ctr, &e), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_make_record_purge, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
