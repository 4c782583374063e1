/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kept index of a multi-platform image: written through the image
 * transaction (visible only after commit, gone with an abort or a re-pull
 * without one), its platforms read back in order without attestations,
 * absent for other images, copied by tag, quiet in verify, and clean
 * under allocation failure.
 */
#include "store_test.h"

/* Two platforms, an attestation between them (as BuildKit writes it), a
 * duplicate (Windows lists one entry per os.version), an entry without
 * a platform and one with a variant. */
#define INDEX_JSON                                                                                 \
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","              \
    "\"manifests\":["                                                                              \
    "{\"digest\":\"sha256:01\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"       \
    "{\"digest\":\"sha256:02\",\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"},"    \
    "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"}},"                   \
    "{\"digest\":\"sha256:03\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\","         \
    "\"variant\":\"v8\"}},"                                                                        \
    "{\"digest\":\"sha256:04\"},"                                                                  \
    "{\"digest\":\"sha256:05\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"       \
    "{\"digest\":\"sha256:06\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\","           \
    "\"variant\":\"v7\"}}]}"

struct img {
    char cfg[80], layer[80];
    char *manifest;
};

static void
make_blobs(struct fx *f, struct img *im, const char *salt)
{
    char buf[160];
    snprintf(buf, sizeof(buf), "{\"architecture\":\"amd64\",\"os\":\"linux\",\"salt\":\"%s\"}",
             salt);
    fx_blob(f, buf, im->cfg);
    snprintf(buf, sizeof(buf), "layer-%s", salt);
    fx_blob(f, buf, im->layer);
    im->manifest = ud_asprintf("{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},"
                               "\"layers\":[{\"digest\":\"%s\"}]}",
                               im->cfg, im->layer);
    assert_non_null(im->manifest);
}

/* begin, manifest, index (when given), links; the open txn goes to *out. */
static int
build(struct fx *f, const char *repo, const char *tag, const struct img *im, const char *index,
      struct ud_store_image_txn **out, struct ud_error *e)
{
    struct ud_store_image_txn *t = NULL;
    int rc = ud_store_image_begin(f->s, repo, tag, &t, e);
    if (rc < 0)
        return rc;
    rc = ud_store_image_put_manifest(t, im->manifest, strlen(im->manifest), e);
    if (rc == 0 && index)
        rc = ud_store_image_put_index(t, index, strlen(index), e);
    if (rc == 0)
        rc = ud_store_image_link_blob(t, im->layer, e);
    if (rc == 0)
        rc = ud_store_image_link_blob(t, im->cfg, e);
    if (rc < 0) {
        ud_store_image_abort(t);
        return rc;
    }
    *out = t;
    return 0;
}

static int
write_image(struct fx *f, const char *repo, const char *tag, const struct img *im,
            const char *index, struct ud_error *e)
{
    struct ud_store_image_txn *t = NULL;
    int rc = build(f, repo, tag, im, index, &t, e);
    return rc < 0 ? rc : ud_store_image_commit(t, e);
}

static void
expect_platforms(struct fx *f, const char *repo, const char *tag, const char *joined)
{
    char **v = NULL;
    struct ud_error e = {0};
    assert_int_equal(ud_store_image_index_platforms(f->s, repo, tag, &v, &e), 0);
    if (!joined) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    char buf[512] = "";
    size_t off = 0;
    for (size_t i = 0; v[i]; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " " : "", v[i]);
    assert_string_equal(buf, joined);
    ud_strv_free(v);
}

static void
test_index_roundtrip(void **state)
{
    struct fx *f = *state;
    struct img im;
    struct ud_error e = {0};
    make_blobs(f, &im, "multi");
    struct ud_store_image_txn *t = NULL;
    assert_int_equal(build(f, "lab/multi", "latest", &im, INDEX_JSON, &t, &e), 0);
    /* Written in the temporary directory; no tag yet. */
    char *tp = ud_path_join(ud_store_image_txn_dir(t), "index");
    assert_non_null(tp);
    assert_true(ud_path_exists(tp));
    free(tp);
    assert_false(ud_store_image_exists(f->s, "lab/multi", "latest"));
    assert_int_equal(ud_store_image_commit(t, &e), 0);

    char *stored = fx_read(f, "repos/lab/multi/latest/index");
    assert_string_equal(stored, INDEX_JSON); /* bytes as given */
    free(stored);
    struct stat st;
    char *p = fx_path(f, "repos/lab/multi/latest/index");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    free(p);
    expect_platforms(f, "lab/multi", "latest", "linux/amd64 linux/arm64/v8 linux/arm/v7");

    /* The image itself reads as before: the index is no layer. */
    char **layers = NULL;
    assert_int_equal(ud_store_image_layers(f->s, "lab/multi", "latest", &layers, &e), 0);
    assert_int_equal(ud_strv_len(layers), 1);
    ud_strv_free(layers);
    struct ud_store_blob_info *b = NULL;
    size_t n = 0;
    assert_int_equal(ud_store_image_blobs(f->s, "lab/multi", "latest", &b, &n, &e), 0);
    assert_int_equal(n, 2);
    ud_store_blob_info_free(b, n);
    free(im.manifest);
}

static void
test_index_absent(void **state)
{
    struct fx *f = *state;
    struct img im;
    struct ud_error e = {0};
    make_blobs(f, &im, "single");
    assert_int_equal(write_image(f, "single", "1", &im, NULL, &e), 0);
    assert_false(fx_exists(f, "repos/single/1/index"));
    expect_platforms(f, "single", "1", NULL);
    char **v = NULL;
    assert_int_equal(ud_store_image_index_platforms(f->s, "nosuch", "1", &v, &e), UD_ENOENT);
    assert_null(v);

    /* An index of attestations only: an index, with no platform. */
    const char *att = "{\"manifests\":[{\"digest\":\"sha256:1\",\"platform\":"
                      "{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}";
    assert_int_equal(write_image(f, "single", "att", &im, att, &e), 0);
    assert_int_equal(ud_store_image_index_platforms(f->s, "single", "att", &v, &e), 0);
    assert_non_null(v);
    assert_null(v[0]);
    ud_strv_free(v);
    free(im.manifest);
}

/* Not an index: refused, nothing written; a file damaged on disk: an
 * error for the platforms, a warning only for verify. */
static void
test_index_invalid(void **state)
{
    struct fx *f = *state;
    struct img im;
    struct ud_error e = {0};
    make_blobs(f, &im, "bad");
    struct ud_store_image_txn *t = NULL;
    assert_int_equal(build(f, "bad", "1", &im, NULL, &t, &e), 0);
    const char *bad[] = {"", "{", "[]", "{\"manifests\":{}}", "{\"layers\":[]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ud_store_image_put_index(t, bad[i], strlen(bad[i]), &e), UD_EINVAL);
    assert_int_equal(ud_store_image_put_index(t, NULL, 0, &e), UD_EINVAL);
    char *tp = ud_path_join(ud_store_image_txn_dir(t), "index");
    assert_false(ud_path_exists(tp));
    free(tp);
    assert_int_equal(ud_store_image_commit(t, &e), 0);

    assert_int_equal(write_image(f, "bad", "2", &im, INDEX_JSON, &e), 0);
    fx_write(f, "repos/bad/2/index", "{\"not\":\"an index\"}");
    char **v = NULL;
    assert_int_equal(ud_store_image_index_platforms(f->s, "bad", "2", &v, &e), UD_EPARSE);
    assert_null(v);
    assert_non_null(strstr(e.msg, "bad:2"));
    free(im.manifest);
}

struct vcount {
    int warn, fail;
    char last_warn[128];
};

static int
vcb(void *ctx, enum ud_store_verify_event ev, const char *name, const char *path, const char *msg)
{
    struct vcount *c = ctx;
    (void)name;
    (void)path;
    if (ev == UD_STORE_VERIFY_WARN) {
        c->warn++;
        snprintf(c->last_warn, sizeof(c->last_warn), "%s", msg ? msg : "");
    }
    if (ev == UD_STORE_VERIFY_FAIL)
        c->fail++;
    return 0;
}

static void
test_index_verify_and_tag(void **state)
{
    struct fx *f = *state;
    struct img im;
    struct ud_error e = {0};
    make_blobs(f, &im, "verify");
    assert_int_equal(write_image(f, "v", "1", &im, INDEX_JSON, &e), 0);
    struct vcount c = {0};
    assert_int_equal(ud_store_image_verify(f->s, "v", "1", vcb, &c, &e), 0);
    assert_int_equal(c.warn, 0);
    assert_int_equal(c.fail, 0);

    /* tag copies it: the new name is the same multi-platform image. */
    assert_int_equal(ud_store_image_tag(f->s, "v", "1", "v", "copy", &e), 0);
    expect_platforms(f, "v", "copy", "linux/amd64 linux/arm64/v8 linux/arm/v7");

    fx_write(f, "repos/v/1/index", "garbage");
    memset(&c, 0, sizeof(c));
    assert_int_equal(ud_store_image_verify(f->s, "v", "1", vcb, &c, &e), 0);
    assert_int_equal(c.warn, 1);
    assert_int_equal(c.fail, 0);
    assert_string_equal(c.last_warn, "invalid index file in image");
    free(im.manifest);
}

/* A re-pull replaces the tag as a whole: an index the new pull did not
 * bring is gone, also when the tag directory is the parent of another
 * repository ("a:b" next to "a/b:c") and is merged file by file. An
 * aborted pull leaves the old index. */
static void
test_index_repull(void **state)
{
    struct fx *f = *state;
    struct img a, b;
    struct ud_error e = {0};
    make_blobs(f, &a, "first");
    make_blobs(f, &b, "second");
    assert_int_equal(write_image(f, "r", "t", &a, INDEX_JSON, &e), 0);
    struct ud_store_image_txn *t = NULL;
    assert_int_equal(build(f, "r", "t", &b, NULL, &t, &e), 0);
    ud_store_image_abort(t);
    expect_platforms(f, "r", "t", "linux/amd64 linux/arm64/v8 linux/arm/v7");
    free(b.manifest);
    make_blobs(f, &b, "second"); /* the abort dropped the blobs only it linked */
    assert_int_equal(write_image(f, "r", "t", &b, NULL, &e), 0);
    expect_platforms(f, "r", "t", NULL);

    free(a.manifest);
    make_blobs(f, &a, "first"); /* the replaced r:t took them along */
    assert_int_equal(write_image(f, "a", "b", &a, INDEX_JSON, &e), 0);
    assert_int_equal(write_image(f, "a/b", "c", &a, NULL, &e), 0);
    assert_true(fx_exists(f, "repos/a/b/index"));
    assert_int_equal(write_image(f, "a", "b", &b, NULL, &e), 0);
    assert_false(fx_exists(f, "repos/a/b/index"));
    expect_platforms(f, "a", "b", NULL);
    assert_true(ud_store_image_exists(f->s, "a/b", "c"));
    /* and merged in when the new pull has one */
    assert_int_equal(write_image(f, "a", "b", &a, INDEX_JSON, &e), 0);
    expect_platforms(f, "a", "b", "linux/amd64 linux/arm64/v8 linux/arm/v7");
    free(a.manifest);
    free(b.manifest);
}

static void
test_index_alloc_fail(void **state)
{
    struct fx *f = *state;
    struct img im;
    make_blobs(f, &im, "alloc");
    int rc = -1;
    for (long n = 1; n < 5000 && rc != 0; n++) {
        struct ud_error e = {0};
        ud_alloc_fail_after(n);
        rc = write_image(f, "alloc", "1", &im, INDEX_JSON, &e);
        ud_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_true(rc < 0);
        assert_false(ud_store_image_exists(f->s, "alloc", "1"));
        assert_true(fx_count(f, "repos/alloc") <= 0);
    }
    assert_int_equal(rc, 0);
    rc = -1;
    for (long n = 1; n < 5000; n++) {
        char **v = NULL;
        struct ud_error e = {0};
        ud_alloc_fail_after(n);
        rc = ud_store_image_index_platforms(f->s, "alloc", "1", &v, &e);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_int_equal(ud_strv_len(v), 3);
            ud_strv_free(v);
            break;
        }
        assert_true(rc < 0);
        assert_null(v);
    }
    assert_int_equal(rc, 0);
    free(im.manifest);
}

int
main(void)
{
    ud_json_use_ud_alloc();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_index_roundtrip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_index_absent, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_index_invalid, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_index_verify_and_tag, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_index_repull, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_index_alloc_fail, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
