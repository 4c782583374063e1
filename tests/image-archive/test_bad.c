/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bad archives: truncated, corrupt, not a tar, path traversal, links out
 * of the archive, metadata naming missing members, digests that do not
 * match, an existing tag. Each is refused with its own error code, and the
 * repository holds exactly what it held before (no image, no layer file,
 * no spool). Then load under allocation failure.
 */
#include "ia_test.h"

static char *
cfg_for(const char *digest)
{
    const char *ids[] = {digest};
    return make_config(ids, 1, "bad");
}

/* A valid legacy archive of one layer, with knobs to break it. */
struct knobs {
    const char *layer_name;   /* member name of the layer */
    const char *layer_ref;    /* what manifest.json names */
    const char *symlink_to;   /* make layer_name a symlink to this */
    bool wrong_diff_id;       /* config lists another diff_id */
    bool no_end;              /* drop the end-of-archive marker */
    const char *extra_member; /* an extra (unsafe) member name */
};

static int
archive(const struct knobs *k)
{
    struct layer_data {
        char *data;
        size_t len;
        char digest[72];
    } l;
    l.data = make_layer("f", "data", &l.len);
    sha256_of(l.data, l.len, l.digest);
    char *cfg = cfg_for(k->wrong_diff_id ? "sha256:0000000000000000000000000000000000000000"
                                           "000000000000000000000000"
                                         : l.digest);
    char cfgd[72], name[128], man[512];
    sha256_of(cfg, strlen(cfg), cfgd);
    struct tb t;
    tb_open(&t);
    if (k->extra_member)
        tb_str(&t, k->extra_member, "evil");
    if (k->symlink_to)
        tb_link(&t, k->layer_name, k->symlink_to, false);
    else
        tb_file(&t, k->layer_name, l.data, l.len);
    snprintf(name, sizeof(name), "%s.json", cfgd + 7);
    tb_str(&t, name, cfg);
    snprintf(man, sizeof(man),
             "[{\"Config\":\"%s.json\",\"RepoTags\":[\"bad:1\"],\"Layers\":[\"%s\"]}]", cfgd + 7,
             k->layer_ref);
    tb_str(&t, "manifest.json", man);
    free(cfg);
    free(l.data);
    return k->no_end ? tb_finish_unterminated(&t) : tb_finish(&t);
}

/* Load fd into a fresh repository: refused with code, a one-line
 * message, and the repository left as it was. Closes fd. */
static void
expect_fd_refused(int fd, int code)
{
    struct fx f;
    fx_open(&f);
    struct ud_error e = {0};
    assert_int_equal(ud_archive_load(f.s, fd, NULL, &e), code);
    assert_true(e.msg[0] != '\0');
    assert_null(strchr(e.msg, '\n'));
    fx_assert_empty(&f);
    close(fd);
    fx_close(&f);
}

#define GOOD .layer_name = "l/layer.tar", .layer_ref = "l/layer.tar"

/* The archives refused, each with its code. */
static const struct {
    const char *what;
    struct knobs k;
    int code;
} refused[] = {
    {"missing member", {.layer_name = "l/layer.tar", .layer_ref = "other/layer.tar"}, UD_ENOENT},
    {"member ../", {GOOD, .extra_member = "../../evil"}, UD_EUNSAFE},
    {"absolute member", {GOOD, .extra_member = "/etc/evil"}, UD_EUNSAFE},
    {"member a/../..", {GOOD, .extra_member = "a/../../evil"}, UD_EUNSAFE},
    {"reference ../", {.layer_name = "l/layer.tar", .layer_ref = "../l/layer.tar"}, UD_EUNSAFE},
    {"absolute link", {GOOD, .symlink_to = "/etc/passwd"}, UD_EUNSAFE},
    {"link out", {GOOD, .symlink_to = "../../../etc/passwd"}, UD_EUNSAFE},
    {"link loop", {GOOD, .symlink_to = "layer.tar"}, UD_EUNSAFE},
    {"diff_id mismatch", {GOOD, .wrong_diff_id = true}, UD_EDIGEST},
    {"no end marker", {GOOD, .no_end = true}, UD_EPARSE},
};

static void
test_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        print_message("%s\n", refused[i].what);
        expect_fd_refused(archive(&refused[i].k), refused[i].code);
    }
}

/* A good archive damaged after it was written. */
static void
test_damaged(void **state)
{
    (void)state;
    struct knobs k = {GOOD};
    int fd = archive(&k);
    assert_int_equal(ftruncate(fd, 700), 0); /* cut in the middle of a member */
    expect_fd_refused(fd, UD_EPARSE);
    fd = archive(&k);
    assert_int_equal(pwrite(fd, "X", 1, 3), 1); /* first header's name: checksum fails */
    expect_fd_refused(fd, UD_EPARSE);
}

static void
test_not_an_archive(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    char tmpl[] = "/tmp/ud-ia-junk.XXXXXX";
    int fd = mkstemp(tmpl);
    unlink(tmpl);
    struct ud_error e = {0};
    assert_int_equal(ud_archive_load(f.s, fd, NULL, &e), UD_EPARSE); /* empty */
    char junk[2048];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 7 + 1);
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    lseek(fd, 0, SEEK_SET);
    assert_int_equal(ud_archive_load(f.s, fd, NULL, &e), UD_EPARSE);
    fx_assert_empty(&f);
    /* a valid tar that holds no image */
    struct tb t;
    tb_open(&t);
    tb_str(&t, "hello.txt", "hi");
    int fd2 = tb_finish(&t);
    assert_int_equal(ud_archive_load(f.s, fd2, NULL, &e), UD_EPARSE);
    fx_assert_empty(&f);
    close(fd);
    close(fd2);
    fx_close(&f);
}

static void
test_blob_digest_mismatch(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct tb t;
    tb_open(&t);
    const char *fake = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    char *idx =
        ud_asprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" UD_OCI_MT_OCI_MANIFEST
                    "\",\"digest\":\"%s\",\"size\":2}]}",
                    fake);
    tb_str(&t, "index.json", idx);
    tb_str(&t, "blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111",
           "{}");
    int fd = tb_finish(&t);
    struct ud_error e = {0};
    assert_int_equal(ud_archive_load(f.s, fd, NULL, &e), UD_EDIGEST);
    fx_assert_empty(&f);
    close(fd);
    free(idx);
    fx_close(&f);
}

static void
test_existing_tag(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct knobs k = {GOOD};
    int fd = archive(&k);
    struct ud_error e = {0};
    /* The good archive the refused ones are made from loads, once. */
    assert_int_equal(ud_archive_load(f.s, fd, NULL, &e), 0);
    assert_true(ud_store_image_exists(f.s, "bad", "1"));
    int layers = fx_count(&f, "layers");
    lseek(fd, 0, SEEK_SET);
    assert_int_equal(ud_archive_load(f.s, fd, NULL, &e), UD_EEXIST);
    assert_string_equal(e.msg, "repository and tag already exist bad 1");
    assert_int_equal(fx_count(&f, "layers"), layers);
    assert_int_equal(fx_count(&f, "containers"), 0);
    assert_int_equal(ud_store_image_verify(f.s, "bad", "1", NULL, NULL, &e), 0);
    close(fd);
    fx_close(&f);
}

/* Names from the archive or NEWNAME that the store could not hold safely. */
static void
test_bad_names(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct knobs k = {GOOD};
    static const char *const bad[] = {"../up", "a/../../b", "xy:..", "xy:.hidden", "xy:-t", NULL};
    for (size_t i = 0; bad[i]; i++) {
        int fd = archive(&k);
        struct ud_archive_load_opts o = {.new_name = bad[i]};
        struct ud_error e = {0};
        assert_int_equal(ud_archive_load(f.s, fd, &o, &e), UD_EINVAL);
        fx_assert_empty(&f);
        close(fd);
    }
    fx_close(&f);
}

static void
test_alloc_failure(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct knobs k = {GOOD};
    int fd = archive(&k);
    int rc = -1;
    for (long n = 1; rc != 0 && n < 100000; n++) {
        struct ud_error e = {0};
        lseek(fd, 0, SEEK_SET);
        ud_alloc_fail_after(n);
        rc = ud_archive_load(f.s, fd, NULL, &e);
        ud_alloc_fail_after(0);
        if (rc != 0) {
            assert_true(rc < 0);
            /* What an abort could not remove under allocation failure is
             * a claimed temporary: the next command's cleanup removes it. */
            struct ud_store_image *imgs = NULL;
            size_t ni = 0;
            assert_int_equal(ud_store_cleanup(f.s, &e), 0);
            assert_int_equal(ud_store_image_list(f.s, &imgs, &ni, &e), 0);
            ud_store_image_list_free(imgs, ni);
            assert_int_equal(ni, 0);
            /* layers/ may keep a blob that an abort failing for memory
             * could not unlink: unreferenced, so no image uses it. */
            assert_int_equal(fx_count(&f, "containers"), 0);
        }
    }
    assert_int_equal(rc, 0);
    struct ud_error e = {0};
    assert_int_equal(ud_store_image_verify(f.s, "bad", "1", NULL, NULL, &e), 0);
    close(fd);
    fx_close(&f);
}

int
main(void)
{
    ud_json_use_ud_alloc();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_not_an_archive), cmocka_unit_test(test_blob_digest_mismatch),
        cmocka_unit_test(test_existing_tag),   cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
