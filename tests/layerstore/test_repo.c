/* SPDX-License-Identifier: Apache-2.0 */
/* Repository skeleton, open, crash cleanup and concurrent commits. */
#include <sys/file.h>
#include <sys/wait.h>

#include "store_test.h"

/* The count of temporaries that may exist: the size of <topdir>/.lock
 * minus one; -1 when unknown (an empty lock file, as an older build
 * leaves it) or when there is no lock file. */
static long
pending(const struct fx *f)
{
    char *p = fx_path(f, ".lock");
    struct stat st;
    long n = lstat(p, &st) == 0 ? (long)st.st_size - 1 : -1;
    free(p);
    return n;
}

/* What a command that made a temporary and then died leaves counted
 * (n = -1: an unknown count). */
static void
set_pending(const struct fx *f, long n)
{
    char *p = fx_path(f, ".lock");
    assert_int_equal(truncate(p, n + 1), 0);
    free(p);
}

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

    /* The commands that left these counted them (they died before they
     * could uncount them): see test_pending_count. */
    assert_int_equal(pending(f), 0);
    set_pending(f, 5);

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
    /* A temporary is still held: the next open must scan again. */
    assert_int_equal(pending(f), 1);
    ud_store_free(s);

    close(hfd); /* the holder dies: the next open removes its temp */
    assert_int_equal(ud_store_open(&f->paths, &s, &e), 0);
    assert_false(fx_exists(f, "repos/foo/.held.tmp-aaaaaaaaaaaa"));
    assert_false(fx_exists(f, rel));
    assert_int_equal(pending(f), 0);
    ud_store_free(s);
}

/* A child that dies in the middle of a pull, a container creation and a
 * clone's rm: what it leaves is found by the next open. */
static void
test_real_crash(void **state)
{
    struct fx *f = *state;
    char blob[80];
    fx_blob(f, "pulled-by-the-dead", blob);
    assert_int_equal(pending(f), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct ud_store *s = NULL;
        struct ud_store_image_txn *t = NULL;
        struct ud_store_container_txn *c = NULL;
        if (ud_store_open(&f->paths, &s, NULL) < 0 ||
            ud_store_image_begin(s, "dead/img", "1", &t, NULL) < 0 ||
            ud_store_image_link_blob(t, blob, NULL) < 0 ||
            ud_store_container_begin(s, "dead/img:1", &c, NULL) < 0)
            _exit(1);
        _exit(pending(f) == 2 ? 0 : 2); /* killed: no commit, no abort */
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(fx_count(f, "repos/dead/img"), 2); /* .1.tmp-* and its .lock */
    assert_int_equal(fx_count(f, "containers"), 2);
    struct ud_store *s = NULL;
    struct ud_error e = {0};
    assert_int_equal(ud_store_open(&f->paths, &s, &e), 0);
    assert_int_equal(fx_count(f, "repos/dead/img"), 0);
    assert_int_equal(fx_count(f, "containers"), 0);
    char rel[128];
    snprintf(rel, sizeof(rel), "layers/%s", blob);
    assert_false(fx_exists(f, rel));
    assert_int_equal(pending(f), 0);
    ud_store_free(s);
}

/* The count in the lock file's size: each temporary counted before it
 * exists and uncounted by its owner once it is gone; while it is zero an
 * open does not scan (ud_store_cleanup always does); a scan sets it to
 * what is left. */
static void
test_pending_count(void **state)
{
    struct fx *f = *state;
    struct ud_error e = {0};
    assert_int_equal(pending(f), 0);
    /* Something no command of ours leaves uncounted. */
    fx_mkdir(f, "containers/.tmp-77777777-2222-3333-4444-555555555555");
    struct ud_store *s = NULL;
    assert_int_equal(ud_store_open(&f->paths, &s, &e), 0);
    assert_true(fx_exists(f, "containers/.tmp-77777777-2222-3333-4444-555555555555"));
    assert_int_equal(ud_store_cleanup(s, &e), 0);
    assert_false(fx_exists(f, "containers/.tmp-77777777-2222-3333-4444-555555555555"));
    assert_int_equal(pending(f), 0);

    /* Every kind of temporary is counted while it exists, and a command
     * that completes (or fails cleanly) leaves the count as it found it:
     * the repository is byte for byte unchanged by a failed pull. */
    struct ud_store_image_txn *t = NULL, *t2 = NULL;
    assert_int_equal(ud_store_image_begin(s, "m/img", "1", &t, &e), 0);
    assert_int_equal(pending(f), 1);
    assert_int_equal(ud_store_image_begin(s, "m/img", "2", &t2, &e), 0);
    assert_int_equal(pending(f), 2);
    ud_store_image_abort(t2);
    assert_int_equal(pending(f), 1);
    assert_int_equal(ud_store_image_put_manifest(t, "{}", 2, &e), 0);
    assert_int_equal(ud_store_image_commit(t, &e), 0);
    assert_int_equal(pending(f), 0);
    assert_int_equal(ud_store_image_begin(s, "m/img", "1", &t, &e), 0);
    assert_int_equal(ud_store_image_put_manifest(t, "{}", 2, &e), 0);
    assert_int_equal(ud_store_image_commit(t, &e), 0); /* a replacement */
    assert_int_equal(pending(f), 0);
    assert_int_equal(ud_store_image_rm(s, "m/img", "1", false, &e), 0);
    assert_int_equal(pending(f), 0);
    struct ud_store_container_txn *c = NULL;
    char id[37], id2[37];
    assert_int_equal(ud_store_container_begin(s, "m/img:1", &c, &e), 0);
    assert_int_equal(pending(f), 1);
    assert_int_equal(ud_store_container_commit(c, id, &e), 0);
    assert_int_equal(pending(f), 0);
    assert_int_equal(ud_store_container_clone(s, id, NULL, id2, &e), 0);
    assert_int_equal(pending(f), 0);
    assert_int_equal(ud_store_container_rm(s, id, false, &e), 0);
    assert_int_equal(ud_store_container_rm(s, id2, false, &e), 0);
    assert_int_equal(pending(f), 0);
    ud_store_free(s);

    /* An unknown count (an empty lock file: a repository an older build
     * used) makes the next open scan, and no temporary counted meanwhile
     * brings it to zero: only the scan does. */
    fx_mkdir(f, "containers/.tmp-66666666-2222-3333-4444-555555555555");
    set_pending(f, -1);
    assert_int_equal(ud_store_open(&f->paths, &s, &e), 0);
    assert_int_equal(fx_count(f, "containers"), 0);
    assert_int_equal(pending(f), 0);
    set_pending(f, -1);
    assert_int_equal(ud_store_image_begin(s, "m/img", "3", &t, &e), 0);
    assert_true(pending(f) >= 2);
    ud_store_image_abort(t);
    assert_true(pending(f) >= 1);
    ud_store_free(s);
    assert_int_equal(ud_store_open(&f->paths, &s, &e), 0);
    assert_int_equal(pending(f), 0);
    ud_store_free(s);
}

/* UD_STORE_OPEN_NOWAIT: a listing does not wait for a busy lock to clean
 * up; it skips the cleanup, and the next open does it. */
static void
test_open_nowait(void **state)
{
    struct fx *f = *state;
    set_pending(f, 1);
    fx_mkdir(f, "containers/.del-88888888-2222-3333-4444-555555555555-abcdef012345");
    char *lp = fx_path(f, ".lock");
    int hfd = open(lp, O_RDWR | O_CREAT, 0600);
    free(lp);
    assert_true(hfd >= 0);
    assert_int_equal(flock(hfd, LOCK_EX), 0); /* another command's lock */
    struct ud_store *s = NULL;
    struct ud_error e = {0};
    assert_int_equal(ud_store_open_flags(&f->paths, UD_STORE_OPEN_NOWAIT, &s, &e), 0);
    assert_int_equal(fx_count(f, "containers"), 1);
    assert_int_equal(pending(f), 1);
    ud_store_free(s);
    close(hfd);
    assert_int_equal(ud_store_open_flags(&f->paths, UD_STORE_OPEN_NOWAIT, &s, &e), 0);
    assert_int_equal(fx_count(f, "containers"), 0);
    assert_int_equal(pending(f), 0);
    ud_store_free(s);
}

/* Opening (and cleaning up) under allocation failures: every failure is
 * UD_ENOMEM, nothing leaks, and whatever a failed cleanup left is found
 * by the next open. */
static void
test_open_alloc_fail(void **state)
{
    struct fx *f = *state;
    set_pending(f, 2);
    fx_mkdir(f, "repos/a/b/.1.tmp-0123456789ab/x");
    fx_write(f, "repos/a/b/.1.tmp-0123456789ab.lock", "");
    fx_mkdir(f, "containers/.tmp-99999999-2222-3333-4444-555555555555/ROOT");
    int rc = -1;
    for (long n = 1; n < 5000 && rc != 0; n++) {
        struct ud_store *s = NULL;
        struct ud_error e = {0};
        ud_alloc_fail_after(n);
        rc = ud_store_open(&f->paths, &s, &e);
        ud_alloc_fail_after(0);
        if (rc == 0)
            ud_store_free(s);
        else
            assert_int_equal(rc, UD_ENOMEM);
    }
    assert_int_equal(rc, 0);
    struct ud_store *s = NULL;
    assert_int_equal(ud_store_open(&f->paths, &s, NULL), 0);
    ud_store_free(s);
    assert_int_equal(fx_count(f, "repos/a/b"), 0);
    assert_int_equal(fx_count(f, "containers"), 0);
    assert_int_equal(pending(f), 0);
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
    assert_int_equal(pending(f), 0);                     /* and none counted */
    struct ud_store_container *c = NULL;
    assert_int_equal(ud_store_container_list(f->s, &c, &n, NULL), 0);
    assert_int_equal(n, 26);
    ud_store_container_list_free(c, n);
    assert_int_equal(fx_count(f, "containers"), 26);
    assert_int_equal(fx_count(f, "layers"), 1);
}

/* A child holds the repository lock (as rmi or a commit does between its
 * PROTECT check and its rename) for a while, then leaves a mark and lets
 * go. Returns once the child holds it. */
static pid_t
hold_lock_child(const struct fx *f)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct ud_store *s = NULL;
        close(fds[0]);
        if (ud_store_open(&f->paths, &s, NULL) < 0 || ud_store_lock(s, true, NULL) < 0)
            _exit(1);
        if (write(fds[1], "L", 1) != 1)
            _exit(1);
        usleep(300 * 1000);
        fx_write(f, "released", "");
        ud_store_unlock(s);
        ud_store_free(s);
        _exit(0);
    }
    close(fds[1]);
    char c = 0;
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    return pid;
}

static void
wait_child_ok(pid_t pid)
{
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* protect and unprotect wait for the repository lock: rmi, rm and a
 * re-pull's commit check PROTECT under it, so a marker set in the middle
 * would be lost with the directory although protect said yes. */
static void
test_protect_locks(void **state)
{
    struct fx *f = *state;
    struct ud_error e = {0};
    struct ud_store_image_txn *t = NULL;
    assert_int_equal(ud_store_image_begin(f->s, "p/img", "1", &t, &e), 0);
    assert_int_equal(ud_store_image_put_manifest(t, "{}", 2, &e), 0);
    assert_int_equal(ud_store_image_commit(t, &e), 0);
    struct ud_store_container_txn *c = NULL;
    char id[37];
    assert_int_equal(ud_store_container_begin(f->s, "p/img:1", &c, &e), 0);
    assert_int_equal(ud_store_container_commit(c, id, &e), 0);

    for (int step = 0; step < 4; step++) {
        pid_t pid = hold_lock_child(f);
        int rc = step == 0   ? ud_store_image_protect(f->s, "p/img", "1", &e)
                 : step == 1 ? ud_store_image_unprotect(f->s, "p/img", "1", &e)
                 : step == 2 ? ud_store_container_protect(f->s, id, &e)
                             : ud_store_container_unprotect(f->s, id, &e);
        assert_int_equal(rc, 0);
        assert_true(fx_exists(f, "released")); /* it waited for the lock */
        wait_child_ok(pid);
        char *p = fx_path(f, "released");
        assert_int_equal(unlink(p), 0);
        free(p);
        assert_true(step == 0   ? ud_store_image_is_protected(f->s, "p/img", "1")
                    : step == 1 ? !ud_store_image_is_protected(f->s, "p/img", "1")
                    : step == 2 ? ud_store_container_is_protected(f->s, id)
                                : !ud_store_container_is_protected(f->s, id));
    }
    assert_int_equal(pending(f), 0);
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
        cmocka_unit_test_setup_teardown(test_real_crash, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pending_count, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_nowait, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_alloc_fail, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fork_race, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_protect_locks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_blob_present, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
