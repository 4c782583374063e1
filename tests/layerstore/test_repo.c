/* SPDX-License-Identifier: Apache-2.0 */
/* Repository skeleton, open, crash cleanup and concurrent commits. */
#include <sys/file.h>
#include <sys/wait.h>

#include "store_test.h"

static void
test_create_open(void **state)
{
    (void)state;
    char top[PATH_MAX];
    snprintf(top, sizeof(top), "/tmp/udrepo-XXXXXX");
    assert_non_null(mkdtemp(top));
    char sub[PATH_MAX + 8];
    snprintf(sub, sizeof(sub), "%s/r", top);
    struct ud_store_paths p = {.topdir = sub};
    struct ud_store *s = NULL;
    struct ud_error e = {0};
    assert_false(ud_store_is_repo(&p));
    assert_int_equal(ud_store_open(&p, &s, &e), UD_ENOENT);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "invalid udocker repository: %s", sub);
    assert_string_equal(e.msg, want);
    assert_int_equal(ud_store_create(&p, &e), 0);
    assert_true(ud_store_is_repo(&p));
    assert_int_equal(ud_store_open(&p, &s, &e), 0);
    const struct ud_store_paths *g = ud_store_get_paths(s);
    snprintf(want, sizeof(want), "%s/containers", sub);
    assert_string_equal(g->containersdir, want);
    ud_store_free(s);

    /* Overridden directories. */
    char lay[PATH_MAX + 16];
    snprintf(lay, sizeof(lay), "%s/otherlayers", top);
    p.layersdir = lay;
    assert_false(ud_store_is_repo(&p));
    assert_int_equal(ud_store_create(&p, &e), 0);
    assert_int_equal(ud_store_open(&p, &s, &e), 0);
    assert_string_equal(ud_store_get_paths(s)->layersdir, lay);
    ud_store_free(s);
    /* Missing lib/ -> not a repository. */
    snprintf(want, sizeof(want), "%s/lib", sub);
    assert_int_equal(rmdir(want), 0);
    assert_false(ud_store_is_repo(&p));
    struct ud_store_paths none = {0};
    assert_int_equal(ud_store_open(&none, &s, &e), UD_EINVAL);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
    assert_int_equal(system(cmd), 0);
}

static void
test_crash_cleanup(void **state)
{
    struct fx *f = *state;
    char blob[80], kept[80];
    fx_blob(f, "only-in-the-dead-temp", blob);
    fx_blob(f, "held-temp", kept);
    /* A crashed pull: a temp tag dir nobody holds. */
    fx_mkdir(f, "repos/foo/.latest.tmp-0123456789ab");
    char tgt[160], rel[160];
    snprintf(tgt, sizeof(tgt), "../../../layers/%s", blob);
    snprintf(rel, sizeof(rel), "repos/foo/.latest.tmp-0123456789ab/%s", blob);
    fx_symlink(f, tgt, rel);
    fx_write(f, "repos/foo/.latest.tmp-0123456789ab.lock", "");
    /* A replacement interrupted between its two renames. */
    fx_mkdir(f, "repos/bar/.1.old-00000000000a");
    fx_write(f, "repos/bar/.1.old-00000000000a/TAG", "x:1");
    /* A temp that a live process still holds. */
    fx_mkdir(f, "repos/foo/.held.tmp-aaaaaaaaaaaa");
    snprintf(tgt, sizeof(tgt), "../../../layers/%s", kept);
    snprintf(rel, sizeof(rel), "repos/foo/.held.tmp-aaaaaaaaaaaa/%s", kept);
    fx_symlink(f, tgt, rel);
    char *lp = fx_path(f, "repos/foo/.held.tmp-aaaaaaaaaaaa.lock");
    int hfd = open(lp, O_RDWR | O_CREAT, 0600);
    assert_true(hfd >= 0);
    assert_int_equal(flock(hfd, LOCK_EX), 0);
    free(lp);
    /* Container leftovers: a half-created and a half-deleted one. */
    fx_mkdir(f, "containers/.tmp-11111111-2222-3333-4444-555555555555/ROOT/etc");
    fx_mkdir(f, "containers/.del-66666666-2222-3333-4444-555555555555-abcdef012345/ROOT");
    char *ro = fx_path(f, "containers/.del-66666666-2222-3333-4444-555555555555-abcdef012345/ROOT");
    assert_int_equal(chmod(ro, 0500), 0);
    free(ro);

    struct ud_store *s = NULL;
    struct ud_error e = {0};
    assert_int_equal(ud_store_open(&f->paths, &s, &e), 0);
    assert_false(fx_exists(f, "repos/foo/.latest.tmp-0123456789ab"));
    assert_false(fx_exists(f, "repos/foo/.latest.tmp-0123456789ab.lock"));
    snprintf(rel, sizeof(rel), "layers/%s", blob);
    assert_false(fx_exists(f, rel));
    assert_true(fx_exists(f, "repos/bar/1/TAG"));
    assert_true(ud_store_image_exists(s, "bar", "1"));
    assert_true(fx_exists(f, "repos/foo/.held.tmp-aaaaaaaaaaaa"));
    snprintf(rel, sizeof(rel), "layers/%s", kept);
    assert_true(fx_exists(f, rel));
    assert_int_equal(fx_count(f, "containers"), 0);
    ud_store_free(s);

    close(hfd); /* the holder dies: the next open removes its temp */
    assert_int_equal(ud_store_open(&f->paths, &s, &e), 0);
    assert_false(fx_exists(f, "repos/foo/.held.tmp-aaaaaaaaaaaa"));
    assert_false(fx_exists(f, rel));
    ud_store_free(s);
}

static int
child_work(const struct ud_store_paths *p, int who)
{
    struct ud_store *s = NULL;
    if (ud_store_open(p, &s, NULL) < 0)
        return 1;
    int bad = 0;
    for (int i = 0; i < 25; i++) {
        char tag[32], blob[80], hex[65], data[64];
        snprintf(tag, sizeof(tag), "t%d-%d", who, i);
        /* Both children also write the same shared tag and blob. */
        snprintf(data, sizeof(data), "shared");
        if (ud_sha256_hex(data, strlen(data), hex, NULL) < 0)
            return 1;
        snprintf(blob, sizeof(blob), "sha256:%s", hex);
        char *lp = NULL;
        if (ud_store_layer_path(s, blob, &lp, NULL) < 0 ||
            ud_file_write_atomic(lp, data, strlen(data), 0644, NULL) < 0)
            bad++;
        free(lp);
        const char *tags[] = {tag, "shared"};
        for (int k = 0; k < 2; k++) {
            struct ud_store_image_txn *t = NULL;
            if (ud_store_image_begin(s, "race/img", tags[k], &t, NULL) < 0) {
                bad++;
                continue;
            }
            if (ud_store_image_put_manifest(t, "{}", 2, NULL) < 0 ||
                ud_store_image_link_blob(t, blob, NULL) < 0) {
                ud_store_image_abort(t);
                bad++;
                continue;
            }
            if (ud_store_image_commit(t, NULL) < 0)
                bad++;
        }
        struct ud_store_container_txn *c = NULL;
        char id[37];
        if (ud_store_container_begin(s, "race/img:shared", &c, NULL) < 0 ||
            ud_store_container_commit(c, id, NULL) < 0)
            bad++;
        else if (i % 2 && ud_store_container_rm(s, id, false, NULL) < 0)
            bad++;
    }
    ud_store_free(s);
    return bad ? 2 : 0;
}

static void
test_fork_race(void **state)
{
    struct fx *f = *state;
    pid_t pids[2];
    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0)
            _exit(child_work(&f->paths, w));
    }
    for (int w = 0; w < 2; w++) {
        int st = 0;
        assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    struct ud_store_image *v = NULL;
    size_t n = 0;
    assert_int_equal(ud_store_image_list(f->s, &v, &n, NULL), 0);
    assert_int_equal(n, 51);
    ud_store_image_list_free(v, n);
    assert_int_equal(fx_count(f, "repos/race/img"), 51); /* no temps or locks left */
    struct ud_store_container *c = NULL;
    assert_int_equal(ud_store_container_list(f->s, &c, &n, NULL), 0);
    assert_int_equal(n, 26);
    ud_store_container_list_free(c, n);
    assert_int_equal(fx_count(f, "containers"), 26);
    assert_int_equal(fx_count(f, "layers"), 1);
}

static void
test_blob_present(void **state)
{
    struct fx *f = *state;
    char d[80];
    bool present = true;
    struct ud_error e = {0};
    fx_blob(f, "content", d);
    assert_int_equal(ud_store_blob_present(f->s, d, true, &present, &e), 0);
    assert_true(present);
    char rel[128];
    snprintf(rel, sizeof(rel), "layers/%s", d);
    fx_write(f, rel, "other content");
    assert_int_equal(ud_store_blob_present(f->s, d, false, &present, &e), 0);
    assert_true(present);
    assert_int_equal(ud_store_blob_present(f->s, d, true, &present, &e), 0);
    assert_false(present);
    assert_int_equal(ud_store_blob_present(f->s, "sha256:00", false, &present, &e), 0);
    assert_false(present);
    assert_int_equal(ud_store_blob_present(f->s, "../x", false, &present, &e), UD_EINVAL);
    char *p = NULL;
    assert_int_equal(ud_store_layer_path(f->s, "a/b", &p, &e), UD_EINVAL);
    assert_int_equal(ud_store_layer_path(f->s, "x.layer", &p, &e), 0);
    assert_true(ud_str_has_suffix(p, "/layers/x.layer"));
    free(p);
    /* layer_put_file: move and copy. */
    fx_write(f, "src.tar", "tarball");
    char *src = fx_path(f, "src.tar");
    assert_int_equal(ud_store_layer_put_file(f->s, src, "id1.layer", false, &e), 0);
    assert_true(fx_exists(f, "src.tar"));
    assert_int_equal(ud_store_layer_put_file(f->s, src, "id2.layer", true, &e), 0);
    assert_false(fx_exists(f, "src.tar"));
    char *c = fx_read(f, "layers/id2.layer");
    assert_string_equal(c, "tarball");
    free(c);
    free(src);
    assert_int_equal(ud_store_mib_ceil(0), 0);
    assert_int_equal(ud_store_mib_ceil(1), 1);
    assert_int_equal(ud_store_mib_ceil(1048576), 1);
    assert_int_equal(ud_store_mib_ceil(1048577), 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_open),
        cmocka_unit_test_setup_teardown(test_crash_cleanup, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fork_race, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_blob_present, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
