/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Containers: atomic creation, lookup by id or name, the ps listing, names,
 * protection, rm, clone, sizes and allocation failure.
 */
#include "store_test.h"

static void
make_container(struct fx *f, const char *imagerepo, char id[37])
{
    struct ud_store_container_txn *t = NULL;
    struct ud_error e = {0};
    assert_int_equal(ud_store_container_begin(f->s, imagerepo, &t, &e), 0);
    const char *root = ud_store_container_txn_root(t);
    assert_true(ud_path_is_dir(root));
    char *p = ud_asprintf("%s/etc", root);
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
    p = ud_asprintf("%s/etc/hostname", root);
    assert_int_equal(ud_file_write_atomic(p, "box\n", 4, 0644, &e), 0);
    free(p);
    const char *cfg = "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}";
    assert_int_equal(ud_store_container_set_config(t, cfg, strlen(cfg), &e), 0);
    assert_int_equal(ud_store_container_commit(t, id, &e), 0);
}

static void
test_create_and_list(void **state)
{
    struct fx *f = *state;
    char id[37];
    struct ud_error e = {0};
    make_container(f, "quay.io/x/y:1", id);
    assert_int_equal(strlen(id), 36);
    char rel[128];
    snprintf(rel, sizeof(rel), "containers/%s/imagerepo.name", id);
    char *c = fx_read(f, rel);
    assert_string_equal(c, "quay.io/x/y:1"); /* no newline */
    free(c);
    snprintf(rel, sizeof(rel), "containers/%s/ROOT/etc/hostname", id);
    assert_true(fx_exists(f, rel));
    assert_int_equal(fx_count(f, "containers"), 1); /* temp and lock gone */

    assert_int_equal(ud_store_name_add(f->s, id, "web", &e), 0);
    assert_int_equal(ud_store_name_add(f->s, "web", "alias", &e), 0);
    char *lt = fx_readlink(f, "containers/web");
    assert_string_equal(lt, id); /* relative link to the id */
    free(lt);
    char *rid = NULL;
    assert_int_equal(ud_store_container_resolve(f->s, "alias", &rid, &e), 0);
    assert_string_equal(rid, id);
    free(rid);
    assert_int_equal(ud_store_container_resolve(f->s, "nope", &rid, &e), UD_ENOENT);
    assert_string_equal(e.msg, "invalid container id");

    snprintf(rel, sizeof(rel), "containers/%s/execmode", id);
    fx_write(f, rel, "F3");
    struct ud_store_container *v = NULL;
    size_t n = 0;
    assert_int_equal(ud_store_container_list(f->s, &v, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, id);
    assert_int_equal(v[0].root_state, 'W');
    assert_false(v[0].is_protected);
    assert_string_equal(v[0].execmode, "F3");
    assert_string_equal(v[0].imagerepo, "quay.io/x/y:1");
    assert_string_equal(v[0].platform, "linux/arm64/v8");
    assert_string_equal(v[0].names[0], "alias");
    assert_string_equal(v[0].names[1], "web");
    assert_null(v[0].names[2]);
    ud_store_container_list_free(v, n);

    /* ROOT states: read-only, not a directory, missing. */
    char *root = fx_path(f, "containers");
    char *rp = ud_asprintf("%s/%s/ROOT", root, id);
    assert_int_equal(chmod(rp, 0555), 0);
    assert_int_equal(ud_store_container_list(f->s, &v, &n, &e), 0);
    if (geteuid() != 0)
        assert_int_equal(v[0].root_state, 'R');
    ud_store_container_list_free(v, n);
    assert_int_equal(chmod(rp, 0755), 0);
    char *moved = ud_asprintf("%s.x", rp);
    assert_int_equal(rename(rp, moved), 0);
    assert_int_equal(ud_store_container_list(f->s, &v, &n, &e), 0);
    assert_int_equal(v[0].root_state, 'N');
    ud_store_container_list_free(v, n);
    fx_write(f, "x", "");
    char *xf = fx_path(f, "x");
    assert_int_equal(rename(xf, rp), 0);
    assert_int_equal(ud_store_container_list(f->s, &v, &n, &e), 0);
    assert_int_equal(v[0].root_state, 'D');
    ud_store_container_list_free(v, n);
    assert_int_equal(unlink(rp), 0);
    assert_int_equal(rename(moved, rp), 0);
    free(xf), free(moved), free(rp), free(root);

    int64_t mb = -1;
    assert_int_equal(ud_store_container_size_mb(f->s, "web", &mb, &e), 0);
    assert_int_equal(mb, 1);
}

static void
test_names(void **state)
{
    struct fx *f = *state;
    char a[37], b[37];
    struct ud_error e = {0};
    make_container(f, "a:1", a);
    make_container(f, "b:1", b);
    assert_int_equal(ud_store_name_add(f->s, a, "n1", &e), 0);
    assert_int_equal(ud_store_name_add(f->s, b, "n1", &e), UD_EEXIST);
    assert_int_equal(ud_store_name_add(f->s, b, a, &e), UD_EEXIST); /* an id */
    assert_int_equal(ud_store_name_add(f->s, "ghost", "n2", &e), UD_ENOENT);
    assert_string_equal(e.msg, "invalid container id or name");
    const char *bad[] = {"a/b", "a.b", "a b", "a[", "b]", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ud_store_name_add(f->s, a, bad[i], &e), UD_EINVAL);
        assert_string_equal(e.msg, "invalid container name");
    }
    char *longn = calloc(1, 2050);
    memset(longn, 'x', 2049);
    assert_false(ud_store_name_is_valid(longn));
    longn[2048] = '\0';
    assert_true(ud_store_name_is_valid(longn));
    free(longn);

    assert_int_equal(ud_store_name_rename(f->s, "n1", "n2", &e), 0);
    assert_false(fx_exists(f, "containers/n1"));
    assert_int_equal(ud_store_name_add(f->s, b, "n3", &e), 0);
    assert_int_equal(ud_store_name_rename(f->s, "n2", "n3", &e), UD_EEXIST);
    assert_string_equal(e.msg, "new name already exists");
    assert_true(fx_exists(f, "containers/n2"));
    assert_int_equal(ud_store_name_rename(f->s, "zz", "n9", &e), UD_ENOENT);
    assert_int_equal(ud_store_name_rename(f->s, a, "n9", &e), UD_ENOENT); /* an id, not a name */
    char **names = NULL;
    assert_int_equal(ud_store_container_names(f->s, a, &names, &e), 0);
    assert_string_equal(names[0], "n2");
    assert_null(names[1]);
    ud_strv_free(names);
    assert_int_equal(ud_store_name_rm(f->s, "n2", &e), 0);
    assert_int_equal(ud_store_name_rm(f->s, "n2", &e), UD_ENOENT);
    assert_int_equal(ud_store_name_rm(f->s, a, &e), UD_ENOENT); /* never removes an id */
}

static void
test_rm_protect(void **state)
{
    struct fx *f = *state;
    char a[37];
    struct ud_error e = {0};
    make_container(f, "a:1", a);
    assert_int_equal(ud_store_name_add(f->s, a, "keep", &e), 0);
    assert_int_equal(ud_store_container_protect(f->s, "keep", &e), 0);
    assert_true(ud_store_container_is_protected(f->s, a));
    assert_int_equal(ud_store_container_rm(f->s, "keep", false, &e), UD_EPERM);
    assert_string_equal(e.msg, "container is protected");
    assert_int_equal(ud_store_container_unprotect(f->s, a, &e), 0);
    /* A read-only tree is still removed (rm -f fixes permissions). */
    char rel[128];
    snprintf(rel, sizeof(rel), "containers/%s/ROOT/etc/hostname", a);
    char *p = fx_path(f, rel);
    assert_int_equal(chmod(p, 0), 0);
    free(p);
    snprintf(rel, sizeof(rel), "containers/%s/ROOT/etc", a);
    p = fx_path(f, rel);
    assert_int_equal(chmod(p, 0500), 0);
    free(p);
    assert_int_equal(ud_store_container_rm(f->s, "keep", true, &e), 0);
    assert_int_equal(fx_count(f, "containers"), 0); /* names and tree gone */
    assert_int_equal(ud_store_container_rm(f->s, a, false, &e), UD_ENOENT);
    assert_string_equal(e.msg, "invalid container id");
}

static void
test_clone_and_abort(void **state)
{
    struct fx *f = *state;
    char a[37], b[37];
    struct ud_error e = {0};
    make_container(f, "src:1", a);
    char rel[256];
    snprintf(rel, sizeof(rel), "containers/%s/ROOT/etc/link", a);
    fx_symlink(f, "hostname", rel);
    char *p1 = ud_asprintf("%s/containers/%s/ROOT/etc/hostname", f->top, a);
    char *p2 = ud_asprintf("%s/containers/%s/ROOT/hard", f->top, a);
    assert_int_equal(link(p1, p2), 0);
    assert_int_equal(chmod(p1, 0640), 0);
    free(p1), free(p2);
    assert_int_equal(ud_store_name_add(f->s, a, "orig", &e), 0);
    assert_int_equal(ud_store_container_clone(f->s, "orig", "orig", b, &e), UD_EEXIST);
    assert_int_equal(fx_count(f, "containers"), 2);
    assert_int_equal(ud_store_container_clone(f->s, "orig", "copy", b, &e), 0);
    assert_string_not_equal(a, b);
    snprintf(rel, sizeof(rel), "containers/%s/imagerepo.name", b);
    char *c = fx_read(f, rel);
    assert_string_equal(c, "src:1");
    free(c);
    snprintf(rel, sizeof(rel), "containers/%s/ROOT/etc/link", b);
    char *lt = fx_readlink(f, rel);
    assert_string_equal(lt, "hostname");
    free(lt);
    struct stat s1, s2;
    char *q1 = ud_asprintf("%s/containers/%s/ROOT/etc/hostname", f->top, b);
    char *q2 = ud_asprintf("%s/containers/%s/ROOT/hard", f->top, b);
    assert_int_equal(stat(q1, &s1), 0);
    assert_int_equal(stat(q2, &s2), 0);
    assert_int_equal(s1.st_ino, s2.st_ino); /* hard link kept */
    assert_int_equal(s1.st_mode & 07777, 0640);
    free(q1), free(q2);
    char *rid = NULL;
    assert_int_equal(ud_store_container_resolve(f->s, "copy", &rid, &e), 0);
    assert_string_equal(rid, b);
    free(rid);

    /* Abort leaves nothing. */
    struct ud_store_container_txn *t = NULL;
    assert_int_equal(ud_store_container_begin(f->s, "x:1", &t, &e), 0);
    ud_store_container_abort(t);
    assert_int_equal(fx_count(f, "containers"), 4);
    assert_int_equal(ud_store_container_begin(f->s, "bad\nname", &t, &e), UD_EINVAL);

    /* import --clone: NULL image name keeps the unpacked imagerepo.name. */
    assert_int_equal(ud_store_container_begin(f->s, NULL, &t, &e), 0);
    char *ip = ud_asprintf("%s/imagerepo.name", ud_store_container_txn_dir(t));
    assert_int_equal(ud_file_write_atomic(ip, "orig:tag", 8, 0644, &e), 0);
    free(ip);
    char cid[37];
    assert_int_equal(ud_store_container_commit(t, cid, &e), 0);
    snprintf(rel, sizeof(rel), "containers/%s/imagerepo.name", cid);
    c = fx_read(f, rel);
    assert_string_equal(c, "orig:tag");
    free(c);
}

static void
test_alloc_fail_container(void **state)
{
    struct fx *f = *state;
    int rc = -1;
    char id[37];
    for (long n = 1; n < 5000 && rc != 0; n++) {
        struct ud_store_container_txn *t = NULL;
        struct ud_error e = {0};
        ud_alloc_fail_after(n);
        rc = ud_store_container_begin(f->s, "img:1", &t, &e);
        if (rc == 0)
            rc = ud_store_container_set_config(t, "{}", 2, &e);
        if (rc == 0)
            rc = ud_store_container_commit(t, id, &e);
        else
            ud_store_container_abort(t);
        ud_alloc_fail_after(0);
        if (rc < 0)
            assert_int_equal(fx_count(f, "containers"), 0);
    }
    assert_int_equal(rc, 0);
    rc = -1;
    for (long n = 1; n < 5000 && rc != 0; n++) {
        struct ud_store_container *v = NULL;
        size_t cnt = 0;
        ud_alloc_fail_after(n);
        rc = ud_store_container_list(f->s, &v, &cnt, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0)
            ud_store_container_list_free(v, cnt);
    }
    rc = -1;
    char nid[37];
    for (long n = 1; n < 5000 && rc != 0; n++) {
        ud_alloc_fail_after(n);
        rc = ud_store_container_clone(f->s, id, NULL, nid, NULL);
        ud_alloc_fail_after(0);
        if (rc < 0)
            assert_int_equal(fx_count(f, "containers"), 1);
    }
    assert_int_equal(rc, 0);
    rc = -1;
    for (long n = 1; n < 5000 && rc != 0; n++) {
        ud_alloc_fail_after(n);
        rc = ud_store_container_rm(f->s, nid, false, NULL);
        ud_alloc_fail_after(0);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(fx_count(f, "containers"), 1);
}

int
main(void)
{
    ud_json_use_ud_alloc();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_list, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_names, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rm_protect, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_clone_and_abort, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_alloc_fail_container, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
