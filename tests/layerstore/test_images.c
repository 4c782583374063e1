/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images in the local repository: atomic writes read back byte for byte,
 * repositories laid out by hand exactly as upstream udocker writes them,
 * layer order per format, config and platform, rmi reference counting,
 * protection, re-pull and abort semantics, tag, verify, allocation failure.
 */
#include "store_test.h"

#define CFG "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]}}"

struct img {
    char cfg[80], l1[80], l2[80];
    char *manifest;
};

static void
make_v2_blobs(struct fx *f, struct img *im, const char *salt)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "{\"architecture\":\"amd64\",\"os\":\"linux\",\"salt\":\"%s\"}",
             salt);
    fx_blob(f, buf, im->cfg);
    snprintf(buf, sizeof(buf), "layer-one-%s", salt);
    fx_blob(f, buf, im->l1);
    snprintf(buf, sizeof(buf), "layer-two-%s", salt);
    fx_blob(f, buf, im->l2);
    im->manifest = ud_asprintf("{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},"
                               "\"layers\":[{\"digest\":\"%s\"},{\"digest\":\"%s\"}]}",
                               im->cfg, im->l1, im->l2);
    assert_non_null(im->manifest);
}

static int
write_v2(struct fx *f, const char *repo, const char *tag, const struct img *im, struct ud_error *e)
{
    struct ud_store_image_txn *t = NULL;
    int rc = ud_store_image_begin(f->s, repo, tag, &t, e);
    if (rc < 0)
        return rc;
    const char *blobs[] = {im->l1, im->l2, im->cfg};
    rc = ud_store_image_put_manifest(t, im->manifest, strlen(im->manifest), e);
    for (size_t i = 0; rc == 0 && i < 3; i++)
        rc = ud_store_image_link_blob(t, blobs[i], e);
    if (rc < 0) {
        ud_store_image_abort(t);
        return rc;
    }
    return ud_store_image_commit(t, e);
}

static void
check_roundtrip(struct fx *f, const char *repo, int depth)
{
    struct img im;
    struct ud_error e = {0};
    make_v2_blobs(f, &im, repo);
    assert_int_equal(write_v2(f, repo, "v1.0", &im, &e), 0);

    char rel[512], want[1024];
    snprintf(rel, sizeof(rel), "repos/%s/v1.0/TAG", repo);
    char *tagc = fx_read(f, rel);
    snprintf(want, sizeof(want), "%s/repos/%s:v1.0", f->top, repo);
    assert_string_equal(tagc, want); /* no trailing newline */
    free(tagc);
    snprintf(rel, sizeof(rel), "repos/%s/v1.0/v2", repo);
    char *v2 = fx_read(f, rel);
    assert_string_equal(v2, "");
    free(v2);
    snprintf(rel, sizeof(rel), "repos/%s/v1.0/manifest", repo);
    char *m = fx_read(f, rel);
    assert_string_equal(m, im.manifest);
    free(m);

    /* Relative link: up through the tag, the repo components and repos/. */
    char ups[128] = "";
    for (int i = 0; i < depth + 2; i++)
        memcpy(ups + 3 * i, "../", 4);
    snprintf(rel, sizeof(rel), "repos/%s/v1.0/%s", repo, im.l1);
    char *lt = fx_readlink(f, rel);
    snprintf(want, sizeof(want), "%slayers/%s", ups, im.l1);
    assert_string_equal(lt, want);
    free(lt);

    char **layers = NULL;
    assert_int_equal(ud_store_image_layers(f->s, repo, "v1.0", &layers, &e), 0);
    assert_int_equal(ud_strv_len(layers), 2);
    assert_true(ud_str_has_suffix(layers[0], im.l1));
    assert_true(ud_str_has_suffix(layers[1], im.l2));
    ud_strv_free(layers);

    char *cfg = NULL, *plat = NULL;
    size_t len = 0;
    assert_int_equal(ud_store_image_config(f->s, repo, "v1.0", &cfg, &len, &e), 0);
    assert_non_null(strstr(cfg, repo));
    free(cfg);
    assert_int_equal(ud_store_image_platform(f->s, repo, "v1.0", &plat, &e), 0);
    assert_string_equal(plat, "linux/amd64");
    free(plat);
    enum ud_store_image_format fmt;
    assert_int_equal(ud_store_image_format(f->s, repo, "v1.0", &fmt, &e), 0);
    assert_int_equal(fmt, UD_STORE_IMAGE_V2);
    assert_int_equal(ud_store_image_verify(f->s, repo, "v1.0", NULL, NULL, &e), 0);
    free(im.manifest);
}

static void
test_roundtrip_depths(void **state)
{
    struct fx *f = *state;
    check_roundtrip(f, "busybox", 1);
    check_roundtrip(f, "quay.io/foo", 2);
    check_roundtrip(f, "localhost:5000/lab/img", 3);
    struct ud_store_image *v = NULL;
    size_t n = 0;
    assert_int_equal(ud_store_image_list(f->s, &v, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].repo, "busybox");
    assert_string_equal(v[1].repo, "localhost:5000/lab/img");
    assert_string_equal(v[2].repo, "quay.io/foo");
    assert_string_equal(v[2].tag, "v1.0");
    assert_false(v[0].is_protected);
    ud_store_image_list_free(v, n);
    /* Nothing temporary left in the repository. */
    assert_int_equal(fx_count(f, "repos/busybox"), 1);
    assert_int_equal(fx_count(f, "repos/quay.io"), 1);
}

/* A repository exactly as upstream udocker writes it, built by hand. */
static void
build_upstream(struct fx *f, struct img *im, char schema1_top[80], char schema1_bot[80])
{
    char buf[1024];
    make_v2_blobs(f, im, "centos");
    fx_mkdir(f, "repos/centos/7");
    snprintf(buf, sizeof(buf), "%s/repos/centos:7", f->top);
    fx_write(f, "repos/centos/7/TAG", buf);
    fx_write(f, "repos/centos/7/v2", "");
    fx_write(f, "repos/centos/7/manifest", im->manifest);
    const char *bl[] = {im->l1, im->l2, im->cfg};
    for (int i = 0; i < 3; i++) {
        char tgt[128], rel[128];
        snprintf(tgt, sizeof(tgt), "../../../layers/%s", bl[i]);
        snprintf(rel, sizeof(rel), "repos/centos/7/%s", bl[i]);
        fx_symlink(f, tgt, rel);
    }
    /* schema 1: fsLayers top first; config from history[0]. */
    fx_blob(f, "s1-top", schema1_top);
    fx_blob(f, "s1-bottom", schema1_bot);
    fx_mkdir(f, "repos/old/img/1");
    snprintf(buf, sizeof(buf), "%s/repos/old/img:1", f->top);
    fx_write(f, "repos/old/img/1/TAG", buf);
    fx_write(f, "repos/old/img/1/v2", "");
    snprintf(buf, sizeof(buf),
             "{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":\"%s\"},{\"blobSum\":\"%s\"}],"
             "\"history\":[{\"v1Compatibility\":\"{\\\"os\\\":\\\"linux\\\","
             "\\\"architecture\\\":\\\"arm\\\",\\\"variant\\\":\\\"v7\\\"}\"}]}",
             schema1_top, schema1_bot);
    fx_write(f, "repos/old/img/1/manifest", buf);
    char tgt[600], rel[600];
    snprintf(tgt, sizeof(tgt), "../../../../layers/%s", schema1_top);
    snprintf(rel, sizeof(rel), "repos/old/img/1/%s", schema1_top);
    fx_symlink(f, tgt, rel);
    snprintf(tgt, sizeof(tgt), "../../../../layers/%s", schema1_bot);
    snprintf(rel, sizeof(rel), "repos/old/img/1/%s", schema1_bot);
    fx_symlink(f, tgt, rel);
    /* v1 (import/load): ancestry top first, <id>.layer / <id>.json. */
    const char *top = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const char *bot = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    fx_mkdir(f, "repos/imp/latest");
    snprintf(buf, sizeof(buf), "%s/repos/imp:latest", f->top);
    fx_write(f, "repos/imp/latest/TAG", buf);
    fx_write(f, "repos/imp/latest/v1", "");
    snprintf(buf, sizeof(buf), "[\"%s\", \"%s\"]", top, bot);
    fx_write(f, "repos/imp/latest/ancestry", buf);
    const char *ids[] = {top, bot};
    for (int i = 0; i < 2; i++) {
        snprintf(rel, sizeof(rel), "layers/%s.layer", ids[i]);
        fx_write(f, rel, ids[i]);
        snprintf(rel, sizeof(rel), "layers/%s.json", ids[i]);
        snprintf(buf, sizeof(buf), "{\"id\":\"%s\",\"parent\":\"%s\",\"os\":\"linux\"}", ids[i],
                 i == 0 ? bot : "");
        fx_write(f, rel, buf);
        snprintf(tgt, sizeof(tgt), "../../../layers/%s.layer", ids[i]);
        snprintf(rel, sizeof(rel), "repos/imp/latest/%s.layer", ids[i]);
        fx_symlink(f, tgt, rel);
        snprintf(tgt, sizeof(tgt), "../../../layers/%s.json", ids[i]);
        snprintf(rel, sizeof(rel), "repos/imp/latest/%s.json", ids[i]);
        fx_symlink(f, tgt, rel);
    }
}

static void
test_upstream_layout(void **state)
{
    struct fx *f = *state;
    struct img im;
    char s1t[80], s1b[80];
    struct ud_error e = {0};
    build_upstream(f, &im, s1t, s1b);

    struct ud_store_image *v = NULL;
    size_t n = 0;
    assert_int_equal(ud_store_image_list(f->s, &v, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].repo, "centos");
    assert_string_equal(v[1].repo, "imp");
    assert_string_equal(v[2].repo, "old/img");
    ud_store_image_list_free(v, n);

    char **l = NULL;
    enum ud_store_image_format fmt;
    assert_int_equal(ud_store_image_layers(f->s, "old/img", "1", &l, &e), 0);
    assert_true(ud_str_has_suffix(l[0], s1b)); /* fsLayers reversed */
    assert_true(ud_str_has_suffix(l[1], s1t));
    ud_strv_free(l);
    assert_int_equal(ud_store_image_format(f->s, "old/img", "1", &fmt, &e), 0);
    assert_int_equal(fmt, UD_STORE_IMAGE_V2_SCHEMA1);
    char *p = NULL;
    assert_int_equal(ud_store_image_platform(f->s, "old/img", "1", &p, &e), 0);
    assert_string_equal(p, "linux/arm/v7");
    free(p);

    assert_int_equal(ud_store_image_layers(f->s, "imp", "latest", &l, &e), 0);
    assert_true(ud_str_has_suffix(l[0], "bbbb.layer")); /* ancestry reversed */
    assert_true(ud_str_has_suffix(l[1], "aaaa.layer"));
    ud_strv_free(l);
    char *cfg = NULL;
    size_t len = 0;
    assert_int_equal(ud_store_image_config(f->s, "imp", "latest", &cfg, &len, &e), 0);
    assert_non_null(strstr(cfg, "\"id\":\"aaaa")); /* <ancestry[0]>.json */
    free(cfg);
    assert_int_equal(ud_store_image_platform(f->s, "imp", "latest", &p, &e), 0);
    assert_string_equal(p, "linux/unknown");
    free(p);

    assert_int_equal(ud_store_image_layers(f->s, "centos", "7", &l, &e), 0);
    assert_true(ud_str_has_suffix(l[0], im.l1));
    ud_strv_free(l);

    struct ud_store_blob_info *b = NULL;
    assert_int_equal(ud_store_image_blobs(f->s, "centos", "7", &b, &n, &e), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_true(b[i].present);
        assert_int_equal(ud_store_mib_ceil(b[i].size), 1); /* tiny, not "0 MB" */
    }
    ud_store_blob_info_free(b, n);

    /* A missing layer makes the image unusable. */
    char rel[600];
    snprintf(rel, sizeof(rel), "%s/layers/%s", f->top, im.l2);
    assert_int_equal(unlink(rel), 0);
    assert_int_equal(ud_store_image_layers(f->s, "centos", "7", &l, &e), UD_ENOENT);
    free(im.manifest);
}

static void
test_rmi_refcount(void **state)
{
    struct fx *f = *state;
    struct img a, b;
    struct ud_error e = {0};
    make_v2_blobs(f, &a, "a");
    make_v2_blobs(f, &b, "b");
    /* b shares a's first layer. */
    free(b.manifest);
    memcpy(b.l1, a.l1, sizeof(b.l1));
    b.manifest = ud_asprintf("{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},"
                             "\"layers\":[{\"digest\":\"%s\"},{\"digest\":\"%s\"}]}",
                             b.cfg, b.l1, b.l2);
    assert_int_equal(write_v2(f, "quay.io/x/a", "1", &a, &e), 0);
    assert_int_equal(write_v2(f, "b", "latest", &b, &e), 0);

    assert_int_equal(ud_store_image_protect(f->s, "quay.io/x/a", "1", &e), 0);
    assert_true(ud_store_image_is_protected(f->s, "quay.io/x/a", "1"));
    assert_int_equal(ud_store_image_rm(f->s, "quay.io/x/a", "1", false, &e), UD_EPERM);
    assert_string_equal(e.msg, "image repository is protected");
    assert_int_equal(ud_store_image_unprotect(f->s, "quay.io/x/a", "1", &e), 0);

    assert_int_equal(ud_store_image_rm(f->s, "quay.io/x/a", "1", false, &e), 0);
    char rel[600];
    snprintf(rel, sizeof(rel), "layers/%s", a.l1);
    assert_true(fx_exists(f, rel)); /* still used by b */
    snprintf(rel, sizeof(rel), "layers/%s", a.l2);
    assert_false(fx_exists(f, rel));
    snprintf(rel, sizeof(rel), "layers/%s", a.cfg);
    assert_false(fx_exists(f, rel));
    assert_false(fx_exists(f, "repos/quay.io")); /* empty parents removed */
    assert_int_equal(ud_store_image_rm(f->s, "quay.io/x/a", "1", false, &e), UD_ENOENT);

    assert_int_equal(ud_store_image_rm(f->s, "b", "latest", false, &e), 0);
    assert_int_equal(fx_count(f, "layers"), 1); /* b's own l1, never linked */
    assert_int_equal(fx_count(f, "repos"), 0);
    free(a.manifest);
    free(b.manifest);
}

static void
test_repull(void **state)
{
    struct fx *f = *state;
    struct img a, b;
    struct ud_error e = {0};
    make_v2_blobs(f, &a, "old");
    make_v2_blobs(f, &b, "new");
    assert_int_equal(write_v2(f, "img", "t", &a, &e), 0);
    assert_int_equal(ud_store_image_protect(f->s, "img", "t", &e), 0);

    /* A failed re-pull (a blob never arrived) leaves the old tag intact. */
    struct ud_store_image_txn *t = NULL;
    assert_int_equal(ud_store_image_begin(f->s, "img", "t", &t, &e), 0);
    assert_int_equal(ud_store_image_put_manifest(t, b.manifest, strlen(b.manifest), &e), 0);
    assert_int_equal(ud_store_image_link_blob(t, "sha256:0000", &e), 0);
    assert_int_equal(ud_store_image_commit(t, &e), UD_ENOENT);
    char *m = fx_read(f, "repos/img/t/manifest");
    assert_string_equal(m, a.manifest);
    free(m);

    /* A good re-pull replaces it; old-only layers go; PROTECT is kept. */
    assert_int_equal(write_v2(f, "img", "t", &b, &e), 0);
    m = fx_read(f, "repos/img/t/manifest");
    assert_string_equal(m, b.manifest);
    free(m);
    char rel[600];
    snprintf(rel, sizeof(rel), "layers/%s", a.l1);
    assert_false(fx_exists(f, rel));
    snprintf(rel, sizeof(rel), "repos/img/t/%s", a.l1);
    assert_false(fx_exists(f, rel));
    assert_true(fx_exists(f, "repos/img/t/PROTECT"));
    assert_int_equal(fx_count(f, "repos/img"), 1);
    assert_int_equal(fx_count(f, "layers"), 3);
    free(a.manifest);
    free(b.manifest);
}

static void
test_abort_new(void **state)
{
    struct fx *f = *state;
    struct img a, b;
    struct ud_error e = {0};
    make_v2_blobs(f, &a, "keep");
    assert_int_equal(write_v2(f, "keep", "1", &a, &e), 0);
    make_v2_blobs(f, &b, "gone");
    struct ud_store_image_txn *t = NULL;
    assert_int_equal(ud_store_image_begin(f->s, "ghcr.io/o/gone", "1", &t, &e), 0);
    assert_true(ud_path_is_dir(ud_store_image_txn_dir(t)));
    assert_int_equal(ud_store_image_link_blob(t, b.l1, &e), 0);
    assert_int_equal(ud_store_image_link_blob(t, a.l1, &e), 0); /* shared with "keep" */
    ud_store_image_abort(t);
    assert_false(fx_exists(f, "repos/ghcr.io"));
    char rel[600];
    snprintf(rel, sizeof(rel), "layers/%s", b.l1);
    assert_false(fx_exists(f, rel));
    snprintf(rel, sizeof(rel), "layers/%s", a.l1);
    assert_true(fx_exists(f, rel));
    /* Bad names are refused before anything is written. */
    assert_int_equal(ud_store_image_begin(f->s, "../evil", "1", &t, &e), UD_EINVAL);
    assert_int_equal(ud_store_image_begin(f->s, "ok", "a/b", &t, &e), UD_EINVAL);
    assert_int_equal(ud_store_image_begin(f->s, "a//b", "1", &t, &e), UD_EINVAL);
    assert_int_equal(fx_count(f, "repos"), 1);
    free(a.manifest);
    free(b.manifest);
}

static void
test_tag_command(void **state)
{
    struct fx *f = *state;
    struct img a;
    struct ud_error e = {0};
    make_v2_blobs(f, &a, "src");
    assert_int_equal(write_v2(f, "src", "1", &a, &e), 0);
    assert_int_equal(ud_store_image_tag(f->s, "src", "1", "dst/x", "2", &e), 0);
    char *tagc = fx_read(f, "repos/dst/x/2/TAG");
    char want[PATH_MAX];
    snprintf(want, sizeof(want), "%s/repos/dst/x:2", f->top);
    assert_string_equal(tagc, want);
    free(tagc);
    char rel[200];
    snprintf(rel, sizeof(rel), "repos/dst/x/2/%s", a.l1);
    char *lt = fx_readlink(f, rel);
    snprintf(want, sizeof(want), "../../../../layers/%s", a.l1);
    assert_string_equal(lt, want);
    free(lt);
    assert_int_equal(ud_store_image_tag(f->s, "src", "1", "dst/x", "2", &e), UD_EEXIST);
    assert_int_equal(ud_store_image_tag(f->s, "nope", "1", "z", "2", &e), UD_ENOENT);
    assert_int_equal(fx_count(f, "layers"), 3); /* no data copied */
    assert_int_equal(ud_store_image_rm(f->s, "src", "1", false, &e), 0);
    assert_int_equal(fx_count(f, "layers"), 3); /* still used by dst/x:2 */
    free(a.manifest);
}

struct vcount {
    int layers, config, warn, fail;
};

static int
vcb(void *ctx, enum ud_store_verify_event ev, const char *name, const char *path, const char *msg)
{
    struct vcount *c = ctx;
    if (ev == UD_STORE_VERIFY_LAYER) {
        assert_non_null(path);
        c->layers++;
    }
    c->config += ev == UD_STORE_VERIFY_CONFIG;
    c->warn += ev == UD_STORE_VERIFY_WARN;
    c->fail += ev == UD_STORE_VERIFY_FAIL;
    return 0;
}

static void
test_verify(void **state)
{
    struct fx *f = *state;
    struct img im;
    char s1t[80], s1b[80];
    struct ud_error e = {0};
    build_upstream(f, &im, s1t, s1b);
    struct vcount c = {0};
    assert_int_equal(ud_store_image_verify(f->s, "centos", "7", vcb, &c, &e), 0);
    assert_int_equal(c.layers, 2);
    assert_int_equal(c.config, 1);
    assert_int_equal(c.fail, 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(ud_store_image_verify(f->s, "imp", "latest", vcb, &c, &e), 0);
    assert_int_equal(c.layers, 2);
    assert_int_equal(ud_store_image_verify(f->s, "old/img", "1", vcb, &c, &e), 0);

    /* Unknown file: a warning only. Corrupt blob: a digest failure. */
    fx_write(f, "repos/centos/7/junk", "x");
    char rel[600];
    snprintf(rel, sizeof(rel), "layers/%s", im.l2);
    fx_write(f, rel, "tampered");
    memset(&c, 0, sizeof(c));
    assert_int_equal(ud_store_image_verify(f->s, "centos", "7", vcb, &c, &e), UD_EDIGEST);
    assert_int_equal(c.warn, 1);
    assert_int_equal(c.fail, 1);

    /* schema2 with a layer entry lacking "digest": an error, not a crash. */
    fx_write(f, "repos/centos/7/manifest", "{\"schemaVersion\":2,\"layers\":[{}]}");
    assert_true(ud_store_image_verify(f->s, "centos", "7", vcb, &c, &e) < 0);
    /* v1 ancestry that disagrees with the parent chain. */
    fx_write(f, "repos/imp/latest/ancestry",
             "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]");
    assert_true(ud_store_image_verify(f->s, "imp", "latest", vcb, &c, &e) < 0);
    free(im.manifest);
}

/* What makes a listed tag, from one read of each directory: a regular
 * file TAG (not a link, not a directory), in a real directory below a
 * repository; PROTECT of any kind; hidden directories never looked into;
 * many tags of one repository, sorted. */
static void
test_list_rules(void **state)
{
    struct fx *f = *state;
    char rel[128];
    fx_mkdir(f, "repos/many");
    for (int i = 0; i < 40; i++) {
        snprintf(rel, sizeof(rel), "repos/many/t%02d", 39 - i);
        fx_mkdir(f, rel);
        snprintf(rel, sizeof(rel), "repos/many/t%02d/TAG", 39 - i);
        fx_write(f, rel, "x");
    }
    fx_mkdir(f, "repos/many/t07/PROTECT"); /* a directory still protects */
    fx_mkdir(f, "repos/linktag/1");
    fx_symlink(f, "../../many/t00/TAG", "repos/linktag/1/TAG"); /* not a tag */
    fx_mkdir(f, "repos/dirtag/1/TAG");          /* not a tag, but a repository "dirtag/1" */
    fx_write(f, "repos/dirtag/1/TAG/TAG", "x"); /* ... whose tag "TAG" is listed */
    fx_mkdir(f, "repos/hid/.x/y");
    fx_write(f, "repos/hid/.x/y/TAG", "x"); /* below a hidden directory */
    fx_mkdir(f, "repos/top");
    fx_write(f, "repos/top/TAG", "x"); /* repos/top has no repository */
    fx_mkdir(f, "repos/lnk");
    fx_symlink(f, "../many/t01", "repos/lnk/1"); /* a link is not a tag directory */

    struct ud_store_image *v = NULL;
    size_t n = 0;
    struct ud_error e = {0};
    assert_int_equal(ud_store_image_list(f->s, &v, &n, &e), 0);
    assert_int_equal(n, 41);
    assert_string_equal(v[0].repo, "dirtag/1");
    assert_string_equal(v[0].tag, "TAG");
    for (size_t i = 1; i < n; i++) {
        snprintf(rel, sizeof(rel), "t%02zu", i - 1);
        assert_string_equal(v[i].repo, "many");
        assert_string_equal(v[i].tag, rel);
        assert_true(v[i].is_protected == (i - 1 == 7));
    }
    ud_store_image_list_free(v, n);

    int rc = -1;
    for (long k = 1; k < 5000 && rc != 0; k++) {
        ud_alloc_fail_after(k);
        rc = ud_store_image_list(f->s, &v, &n, &e);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_int_equal(n, 41);
            ud_store_image_list_free(v, n);
        } else {
            assert_int_equal(rc, UD_ENOMEM);
        }
    }
    assert_int_equal(rc, 0);
}

/* A tag directory the user may search but not read is still listed (as
 * an lstat of its TAG would find it). */
static void
test_list_unreadable(void **state)
{
    struct fx *f = *state;
    if (geteuid() == 0)
        skip(); /* SKIP: root reads any directory */
    fx_mkdir(f, "repos/r/1");
    fx_write(f, "repos/r/1/TAG", "x");
    fx_write(f, "repos/r/1/PROTECT", "");
    char *p = fx_path(f, "repos/r/1");
    assert_int_equal(chmod(p, 0311), 0);
    struct ud_store_image *v = NULL;
    size_t n = 0;
    struct ud_error e = {0};
    assert_int_equal(ud_store_image_list(f->s, &v, &n, &e), 0);
    assert_int_equal(chmod(p, 0755), 0);
    free(p);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].repo, "r");
    assert_string_equal(v[0].tag, "1");
    assert_true(v[0].is_protected);
    ud_store_image_list_free(v, n);
}

/* "a:b" next to "a/b:c": repos/a/b is a tag and a repository parent. */
static void
test_nested_and_digest(void **state)
{
    struct fx *f = *state;
    struct img a, b;
    struct ud_error e = {0};
    make_v2_blobs(f, &a, "outer");
    make_v2_blobs(f, &b, "inner");
    assert_int_equal(write_v2(f, "a/b", "c", &b, &e), 0);
    assert_int_equal(write_v2(f, "a", "b", &a, &e), 0);
    assert_true(ud_store_image_exists(f->s, "a/b", "c"));
    assert_true(ud_store_image_exists(f->s, "a", "b"));
    /* Re-pull of the outer one keeps the inner repository. */
    assert_int_equal(write_v2(f, "a", "b", &a, &e), 0);
    assert_true(ud_store_image_exists(f->s, "a/b", "c"));
    struct ud_store_image *v = NULL;
    size_t n = 0;
    assert_int_equal(ud_store_image_list(f->s, &v, &n, &e), 0);
    assert_int_equal(n, 2);
    ud_store_image_list_free(v, n);
    assert_int_equal(ud_store_image_rm(f->s, "a", "b", false, &e), 0);
    assert_false(ud_store_image_exists(f->s, "a", "b"));
    assert_true(ud_store_image_exists(f->s, "a/b", "c"));
    char **l = NULL;
    assert_int_equal(ud_store_image_layers(f->s, "a/b", "c", &l, &e), 0);
    ud_strv_free(l);
    assert_int_equal(fx_count(f, "layers"), 3);

    /* A digest reference is stored as a "sha256:..." tag directory. */
    const char *dg = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    free(a.manifest);
    make_v2_blobs(f, &a, "outer"); /* rmi a:b deleted them */
    assert_int_equal(write_v2(f, "docker.io/library/x", dg, &a, &e), 0);
    char rel[600], want[600];
    snprintf(rel, sizeof(rel), "repos/docker.io/library/x/%s/TAG", dg);
    char *tagc = fx_read(f, rel);
    snprintf(want, sizeof(want), "%s/repos/docker.io/library/x:%s", f->top, dg);
    assert_string_equal(tagc, want);
    free(tagc);
    snprintf(rel, sizeof(rel), "repos/docker.io/library/x/%s/%s", dg, a.l1);
    char *lt = fx_readlink(f, rel);
    snprintf(want, sizeof(want), "../../../../../layers/%s", a.l1);
    assert_string_equal(lt, want);
    free(lt);
    free(a.manifest);
    free(b.manifest);
}

/* rmi of "a:b" must not delete layers that "a/b:c", whose tag directory
 * lies below repos/a/b, still links. */
static void
test_nested_rmi_shared(void **state)
{
    struct fx *f = *state;
    struct img a;
    struct ud_error e = {0};
    make_v2_blobs(f, &a, "shared");
    assert_int_equal(write_v2(f, "a/b", "c", &a, &e), 0);
    assert_int_equal(write_v2(f, "a", "b", &a, &e), 0);
    assert_int_equal(ud_store_image_rm(f->s, "a", "b", false, &e), 0);
    assert_false(ud_store_image_exists(f->s, "a", "b"));
    assert_true(ud_store_image_exists(f->s, "a/b", "c"));
    const char *blobs[] = {a.cfg, a.l1, a.l2};
    for (size_t i = 0; i < 3; i++) {
        char rel[128];
        snprintf(rel, sizeof(rel), "layers/%s", blobs[i]);
        assert_true(fx_exists(f, rel));
    }
    char **l = NULL;
    assert_int_equal(ud_store_image_layers(f->s, "a/b", "c", &l, &e), 0);
    ud_strv_free(l);
    /* Removing the inner one, the last user, deletes them. */
    assert_int_equal(ud_store_image_rm(f->s, "a/b", "c", false, &e), 0);
    assert_int_equal(fx_count(f, "layers"), 0);
    free(a.manifest);
}

/* The deepest repository name accepted is still seen by the listing and
 * by rmi's reference scan; one component more is refused, since the walks
 * would not see its tag. */
static void
test_repo_depth_limit(void **state)
{
    struct fx *f = *state;
    struct img a;
    struct ud_error e = {0};
    char deep[256] = "a";
    for (size_t i = 1; i < 63; i++)
        memcpy(deep + 2 * i - 1, "/a", 3); /* 63 components "a" */
    make_v2_blobs(f, &a, "deep");
    assert_int_equal(write_v2(f, deep, "t", &a, &e), 0);
    assert_int_equal(write_v2(f, "top", "t", &a, &e), 0);
    struct ud_store_image *v = NULL;
    size_t n = 0;
    assert_int_equal(ud_store_image_list(f->s, &v, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].repo, deep);
    ud_store_image_list_free(v, n);
    assert_int_equal(ud_store_image_rm(f->s, "top", "t", false, &e), 0);
    char **l = NULL;
    assert_int_equal(ud_store_image_layers(f->s, deep, "t", &l, &e), 0);
    ud_strv_free(l);
    assert_int_equal(fx_count(f, "layers"), 3);

    char deeper[sizeof(deep) + 2];
    snprintf(deeper, sizeof(deeper), "%s/a", deep);
    struct ud_store_image_txn *t = NULL;
    assert_int_equal(ud_store_image_begin(f->s, deeper, "t", &t, &e), UD_EINVAL);
    assert_null(t);
    assert_false(fx_exists(f, "repos/top"));
    free(a.manifest);
}

static void
test_alloc_fail_txn(void **state)
{
    struct fx *f = *state;
    struct img a;
    make_v2_blobs(f, &a, "alloc");
    int rc = -1;
    for (long n = 1; n < 5000 && rc != 0; n++) {
        struct ud_error e = {0};
        ud_alloc_fail_after(n);
        rc = write_v2(f, "alloc/img", "1", &a, &e);
        ud_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_true(rc < 0);
        /* A failed write leaves no tag and no temporary behind. */
        assert_false(ud_store_image_exists(f->s, "alloc/img", "1"));
        int cnt = fx_count(f, "repos/alloc/img");

        assert_true(cnt <= 0);
    }
    assert_int_equal(rc, 0);
    assert_true(ud_store_image_exists(f->s, "alloc/img", "1"));
    /* And reading it back under failures never crashes or leaks. */
    for (long n = 1; n < 5000; n++) {
        char **l = NULL;
        ud_alloc_fail_after(n);
        rc = ud_store_image_layers(f->s, "alloc/img", "1", &l, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            ud_strv_free(l);
            break;
        }
    }
    assert_int_equal(rc, 0);
    for (long n = 1; n < 5000; n++) {
        ud_alloc_fail_after(n);
        rc = ud_store_image_rm(f->s, "alloc/img", "1", false, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0)
            break;
    }
    assert_int_equal(rc, 0);
    free(a.manifest);
}

int
main(void)
{
    ud_json_use_ud_alloc();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_depths, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_upstream_layout, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rmi_refcount, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_repull, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_abort_new, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tag_command, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_verify, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_list_rules, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_list_unreadable, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_nested_and_digest, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_nested_rmi_shared, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_repo_depth_limit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_alloc_fail_txn, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
