/* SPDX-License-Identifier: Apache-2.0 */
/*
 * load: each archive layout (docker save before and after 25, OCI layout
 * with a nested index, pre-1.10 v1, gzip-compressed) stored as pull would
 * store it and passing verify; every kind of bad archive refused with the
 * repository left exactly as it was; allocation failure.
 */
#include <sys/wait.h>
#include <zlib.h>
#include <zstd.h>

#include "ia_test.h"

struct layer {
    char *data;
    size_t len;
    char digest[72];
};

static void
layer_init(struct layer *l, const char *fname, const char *content)
{
    l->data = make_layer(fname, content, &l->len);
    sha256_of(l->data, l->len, l->digest);
}

struct names {
    char seen[8][128];
    int n;
};

static void
on_image(void *ctx, const char *repo, const char *tag)
{
    struct names *nm = ctx;
    if (nm->n < 8)
        snprintf(nm->seen[nm->n++], 128, "%s:%s", repo, tag);
}

/* Docker before 25: <id>/layer.tar, <cfghex>.json, manifest.json last.
 * With dedup the second layer directory is a symlink to the first's file
 * (docker does this for equal layers). */
static int
legacy_archive(struct layer *l1, struct layer *l2, const char *tags_json, bool dedup,
               char **cfg_out)
{
    const char *ids[] = {l1->digest, l2->digest};
    char *cfg = make_config(ids, 2, dedup ? "dedup" : "legacy");
    char cfgd[72], man[1024];
    sha256_of(cfg, strlen(cfg), cfgd);
    struct tb t;
    tb_open(&t);
    char name[200];
    tb_dir(&t, "aaaa/");
    tb_str(&t, "aaaa/VERSION", "1.0");
    tb_str(&t, "aaaa/json", "{\"id\":\"aaaa\"}");
    tb_file(&t, "aaaa/layer.tar", l1->data, l1->len);
    if (dedup)
        tb_link(&t, "bbbb/layer.tar", "../aaaa/layer.tar", false);
    else
        tb_file(&t, "bbbb/layer.tar", l2->data, l2->len);
    snprintf(name, sizeof(name), "%s.json", cfgd + 7);
    tb_str(&t, name, cfg);
    snprintf(man, sizeof(man),
             "[{\"Config\":\"%s.json\",\"RepoTags\":%s,\"Layers\":[\"aaaa/layer.tar\","
             "\"./bbbb/layer.tar\"]}]",
             cfgd + 7, tags_json);
    tb_str(&t, "manifest.json", man);
    *cfg_out = cfg;
    return tb_finish(&t);
}

static void
test_legacy(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct layer l1, l2;
    layer_init(&l1, "bin/sh", "shell");
    layer_init(&l2, "etc/hosts", "hosts");
    char *cfg = NULL;
    int fd = legacy_archive(&l1, &l2, "[\"busybox:latest\",\"quay.io/x/y:2\"]", false, &cfg);
    struct names nm = {0};
    struct ud_archive_load_opts o = {.on_image = on_image, .ctx = &nm};
    struct ud_error e = {0};
    assert_int_equal(ud_archive_load(f.s, fd, &o, &e), 0);
    assert_int_equal(nm.n, 2);
    assert_string_equal(nm.seen[0], "busybox:latest");
    assert_string_equal(nm.seen[1], "quay.io/x/y:2");
    enum ud_store_image_format fmt;
    assert_int_equal(ud_store_image_format(f.s, "busybox", "latest", &fmt, &e), 0);
    assert_int_equal(fmt, UD_STORE_IMAGE_V2);
    assert_int_equal(ud_store_image_verify(f.s, "quay.io/x/y", "2", NULL, NULL, &e), 0);
    char **paths = NULL;
    assert_int_equal(ud_store_image_layers(f.s, "busybox", "latest", &paths, &e), 0);
    assert_non_null(strstr(paths[0], l1.digest));
    assert_non_null(strstr(paths[1], l2.digest));
    ud_strv_free(paths);
    char *got = NULL;
    size_t glen = 0;
    assert_int_equal(ud_store_image_config(f.s, "busybox", "latest", &got, &glen, &e), 0);
    assert_string_equal(got, cfg);
    free(got);
    /* nothing left of the spool */
    assert_int_equal(fx_count(&f, "containers"), 0);
    close(fd);
    free(cfg);
    free(l1.data);
    free(l2.data);
    fx_close(&f);
}

static void
test_legacy_symlinked_layer(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct layer l1, l2;
    layer_init(&l1, "a", "same");
    l2 = l1; /* both layers equal: docker links the second to the first */
    char *cfg = NULL;
    int fd = legacy_archive(&l1, &l2, "null", true, &cfg);
    struct names nm = {0};
    struct ud_archive_load_opts o = {.on_image = on_image, .ctx = &nm, .new_name = "mine"};
    struct ud_error e = {0};
    assert_int_equal(ud_archive_load(f.s, fd, &o, &e), 0);
    assert_int_equal(nm.n, 1);
    assert_string_equal(nm.seen[0], "mine:latest"); /* no RepoTags: NEWNAME */
    assert_int_equal(ud_store_image_verify(f.s, "mine", "latest", NULL, NULL, &e), 0);
    close(fd);
    free(cfg);
    free(l1.data);
    fx_close(&f);
}

/* An OCI layout: blobs/sha256/<hex>, index.json, oci-layout; with
 * docker's manifest.json when docker_names (Docker 25+). */
struct oci {
    struct layer l;
    char *cfg, *man;
    char cfgd[72], mand[72];
};

static void
oci_image(struct oci *o, const char *salt, const char *arch)
{
    char c[64];
    snprintf(c, sizeof(c), "content-%s", salt);
    layer_init(&o->l, "file", c);
    const char *ids[] = {o->l.digest};
    o->cfg = make_config(ids, 1, salt);
    sha256_of(o->cfg, strlen(o->cfg), o->cfgd);
    o->man = ud_asprintf("{\"schemaVersion\":2,\"mediaType\":\"" UD_OCI_MT_OCI_MANIFEST "\","
                         "\"config\":{\"mediaType\":\"" UD_OCI_MT_OCI_CONFIG "\",\"digest\":\"%s\","
                         "\"size\":%zu},\"layers\":[{\"mediaType\":\"application/vnd.oci.image."
                         "layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}],\"arch\":\"%s\"}",
                         o->cfgd, strlen(o->cfg), o->l.digest, o->l.len, arch);
    sha256_of(o->man, strlen(o->man), o->mand);
}

static void
oci_blobs(struct tb *t, const struct oci *o)
{
    char n[128];
    snprintf(n, sizeof(n), "blobs/sha256/%s", o->mand + 7);
    tb_str(t, n, o->man);
    snprintf(n, sizeof(n), "blobs/sha256/%s", o->cfgd + 7);
    tb_str(t, n, o->cfg);
    snprintf(n, sizeof(n), "blobs/sha256/%s", o->l.digest + 7);
    tb_file(t, n, o->l.data, o->l.len);
}

static void
oci_free(struct oci *o)
{
    free(o->l.data);
    free(o->cfg);
    free(o->man);
}

static void
test_docker25(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct oci a;
    oci_image(&a, "d25", "amd64");
    struct tb t;
    tb_open(&t);
    tb_str(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    oci_blobs(&t, &a);
    char *idx =
        ud_asprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" UD_OCI_MT_OCI_MANIFEST
                    "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{"
                    "\"io.containerd.image.name\":\"docker.io/library/alpine:3\","
                    "\"org.opencontainers.image.ref.name\":\"3\"}}]}",
                    a.mand, strlen(a.man));
    tb_str(&t, "index.json", idx);
    char *mj = ud_asprintf("[{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":[\"alpine:3\","
                           "\"alpine:latest\"],\"Layers\":[\"blobs/sha256/%s\"]}]",
                           a.cfgd + 7, a.l.digest + 7);
    tb_str(&t, "manifest.json", mj);
    int fd = tb_finish(&t);
    struct names nm = {0};
    struct ud_archive_load_opts o = {.on_image = on_image, .ctx = &nm};
    struct ud_error e = {0};
    assert_int_equal(ud_archive_load(f.s, fd, &o, &e), 0);
    assert_int_equal(nm.n, 2);
    assert_string_equal(nm.seen[0], "alpine:3");
    assert_string_equal(nm.seen[1], "alpine:latest");
    char *m = NULL;
    size_t ml = 0;
    assert_int_equal(ud_store_image_file_read(f.s, "alpine", "3", "manifest", &m, &ml, &e), 0);
    assert_string_equal(m, a.man); /* the archive's manifest, byte for byte */
    free(m);
    assert_int_equal(ud_store_image_verify(f.s, "alpine", "latest", NULL, NULL, &e), 0);
    close(fd);
    free(idx);
    free(mj);
    oci_free(&a);
    fx_close(&f);
}

static void
test_oci_nested_index(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct oci a, b;
    oci_image(&a, "amd", "amd64");
    oci_image(&b, "arm", "arm64");
    char *inner =
        ud_asprintf("{\"schemaVersion\":2,\"mediaType\":\"" UD_OCI_MT_OCI_INDEX "\",\"manifests\":["
                    "{\"mediaType\":\"" UD_OCI_MT_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,"
                    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
                    "{\"mediaType\":\"" UD_OCI_MT_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,"
                    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}",
                    a.mand, strlen(a.man), b.mand, strlen(b.man));
    char innerd[72], n[128];
    sha256_of(inner, strlen(inner), innerd);
    struct tb t;
    tb_open(&t);
    tb_str(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    oci_blobs(&t, &a);
    oci_blobs(&t, &b);
    snprintf(n, sizeof(n), "blobs/sha256/%s", innerd + 7);
    tb_str(&t, n, inner);
    char *idx =
        ud_asprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" UD_OCI_MT_OCI_INDEX
                    "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{"
                    "\"org.opencontainers.image.ref.name\":\"1.0\"}}]}",
                    innerd, strlen(inner));
    tb_str(&t, "index.json", idx);
    int fd = tb_finish(&t);
    struct ud_platform arm;
    struct ud_error e = {0};
    assert_int_equal(ud_oci_platform_parse("linux/arm64", &arm, &e), 0);
    struct names nm = {0};
    struct ud_archive_load_opts o = {
        .on_image = on_image, .ctx = &nm, .platform = &arm, .new_name = "multi"};
    assert_int_equal(ud_archive_load(f.s, fd, &o, &e), 0);
    assert_int_equal(nm.n, 1);
    assert_string_equal(nm.seen[0], "multi:1.0");
    char *m = NULL;
    size_t ml = 0;
    assert_int_equal(ud_store_image_file_read(f.s, "multi", "1.0", "manifest", &m, &ml, &e), 0);
    assert_string_equal(m, b.man);
    free(m);
    close(fd);
    free(inner);
    free(idx);
    oci_free(&a);
    oci_free(&b);
    fx_close(&f);
}

/* skopeo oci-archive:FILE:name:tag writes "name:tag" as ref.name. */
static void
test_oci_refname(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct oci a;
    oci_image(&a, "sk", "amd64");
    struct tb t;
    tb_open(&t);
    tb_str(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    char *idx =
        ud_asprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" UD_OCI_MT_OCI_MANIFEST
                    "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{"
                    "\"org.opencontainers.image.ref.name\":\"lab/tool:2.1\"}}]}",
                    a.mand, strlen(a.man));
    tb_str(&t, "index.json", idx); /* metadata first, blobs after */
    oci_blobs(&t, &a);
    int fd = tb_finish(&t);
    struct ud_error e = {0};
    assert_int_equal(ud_archive_load(f.s, fd, NULL, &e), 0);
    assert_true(ud_store_image_exists(f.s, "lab/tool", "2.1"));
    close(fd);
    free(idx);
    oci_free(&a);
    fx_close(&f);
}

static void
test_v1_pre110(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct layer l1, l2;
    layer_init(&l1, "bottom", "b");
    layer_init(&l2, "top", "t");
    char bot[65], top[65], n[128];
    memset(bot, 'b', 64);
    memset(top, 'c', 64);
    bot[64] = top[64] = '\0';
    struct tb t;
    tb_open(&t);
    snprintf(n, sizeof(n), "%s/layer.tar", bot);
    tb_file(&t, n, l1.data, l1.len);
    snprintf(n, sizeof(n), "%s/json", bot);
    char *j = ud_asprintf("{\"id\":\"%s\",\"os\":\"linux\"}", bot);
    tb_str(&t, n, j);
    free(j);
    snprintf(n, sizeof(n), "%s/layer.tar", top);
    tb_file(&t, n, l2.data, l2.len);
    snprintf(n, sizeof(n), "%s/json", top);
    j = ud_asprintf("{\"id\":\"%s\",\"parent\":\"%s\",\"architecture\":\"amd64\"}", top, bot);
    tb_str(&t, n, j);
    free(j);
    j = ud_asprintf("{\"old\":{\"v0\":\"%s\"}}", top);
    tb_str(&t, "repositories", j);
    free(j);
    int fd = tb_finish(&t);
    struct ud_error e = {0};
    assert_int_equal(ud_archive_load(f.s, fd, NULL, &e), 0);
    enum ud_store_image_format fmt;
    assert_int_equal(ud_store_image_format(f.s, "old", "v0", &fmt, &e), 0);
    assert_int_equal(fmt, UD_STORE_IMAGE_V1);
    char **paths = NULL;
    assert_int_equal(ud_store_image_layers(f.s, "old", "v0", &paths, &e), 0);
    assert_non_null(strstr(paths[0], bot));
    assert_non_null(strstr(paths[1], top));
    ud_strv_free(paths);
    assert_int_equal(ud_store_image_verify(f.s, "old", "v0", NULL, NULL, &e), 0);
    close(fd);
    free(l1.data);
    free(l2.data);
    fx_close(&f);
}

/* gzip the whole content of fd into a new temporary fd. */
static int
gzip_fd(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    unsigned char *in = malloc((size_t)st.st_size), *out = malloc((size_t)st.st_size + 1024);
    assert_int_equal(pread(fd, in, (size_t)st.st_size, 0), st.st_size);
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = in;
    z.avail_in = (uInt)st.st_size;
    z.next_out = out;
    z.avail_out = (uInt)st.st_size + 1024;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    char tmpl[] = "/tmp/ud-ia-gz.XXXXXX";
    int g = mkstemp(tmpl);
    unlink(tmpl);
    assert_int_equal(write(g, out, z.total_out), (ssize_t)z.total_out);
    deflateEnd(&z);
    lseek(g, 0, SEEK_SET);
    free(in);
    free(out);
    close(fd);
    return g;
}

static void
test_gzip_archive(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct layer l1, l2;
    layer_init(&l1, "x", "1");
    layer_init(&l2, "y", "2");
    char *cfg = NULL;
    int fd = gzip_fd(legacy_archive(&l1, &l2, "[\"gz:1\"]", false, &cfg));
    struct ud_error e = {0};
    assert_int_equal(ud_archive_load(f.s, fd, NULL, &e), 0);
    assert_true(ud_store_image_exists(f.s, "gz", "1"));
    close(fd);
    free(cfg);
    free(l1.data);
    free(l2.data);
    fx_close(&f);
}

/* zstd the content of fd; or feed it through a pipe from a child. */
static int
zstd_fd(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    size_t cap = ZSTD_compressBound((size_t)st.st_size);
    char *in = malloc((size_t)st.st_size), *out = malloc(cap);
    assert_int_equal(pread(fd, in, (size_t)st.st_size, 0), st.st_size);
    size_t n = ZSTD_compress(out, cap, in, (size_t)st.st_size, 3);
    assert_false(ZSTD_isError(n));
    char tmpl[] = "/tmp/ud-ia-zst.XXXXXX";
    int z = mkstemp(tmpl);
    unlink(tmpl);
    assert_int_equal(write(z, out, n), (ssize_t)n);
    lseek(z, 0, SEEK_SET);
    free(in);
    free(out);
    close(fd);
    return z;
}

static int
pipe_fd(int fd, pid_t *child)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    *child = fork();
    assert_true(*child >= 0);
    if (*child == 0) {
        close(p[0]);
        char buf[777]; /* odd sizes: the reader must assemble headers */
        ssize_t k;
        while ((k = read(fd, buf, sizeof(buf))) > 0)
            if (write(p[1], buf, (size_t)k) != k)
                _exit(1);
        _exit(0);
    }
    close(p[1]);
    close(fd);
    return p[0];
}

static void
test_zstd_and_pipe(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct layer l1, l2;
    layer_init(&l1, "x", "z1");
    layer_init(&l2, "y", "z2");
    char *cfg = NULL;
    int fd = zstd_fd(legacy_archive(&l1, &l2, "[\"zs:1\"]", false, &cfg));
    pid_t child;
    int rd = pipe_fd(fd, &child);
    struct ud_error e = {0};
    assert_int_equal(ud_archive_load(f.s, rd, NULL, &e), 0);
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(ud_store_image_exists(f.s, "zs", "1"));
    assert_int_equal(ud_store_image_verify(f.s, "zs", "1", NULL, NULL, &e), 0);
    close(rd);
    free(cfg);
    free(l1.data);
    free(l2.data);
    fx_close(&f);
}

int
main(void)
{
    ud_json_use_ud_alloc();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy),       cmocka_unit_test(test_legacy_symlinked_layer),
        cmocka_unit_test(test_docker25),     cmocka_unit_test(test_oci_nested_index),
        cmocka_unit_test(test_oci_refname),  cmocka_unit_test(test_v1_pre110),
        cmocka_unit_test(test_gzip_archive), cmocka_unit_test(test_zstd_and_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
