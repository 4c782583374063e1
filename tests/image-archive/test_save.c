/* SPDX-License-Identifier: Apache-2.0 */
/*
 * save, import and export: save then load gives the same manifest and
 * blob digests; the archive holds the Docker 25+ layout with each blob
 * once; v1 images get a manifest and diff_ids; import stores a v2 image
 * that verifies; diff_id of a gzip layer; a directory tree written as a
 * tar reads back member by member.
 */
#include <zlib.h>

#include "ia_test.h"

/* A layer tarball on disk; returns its path (caller frees). */
static char *
layer_file(const struct fx *f, const char *name, const char *content, bool gz)
{
    size_t len = 0;
    char *data = make_layer(name, content, &len);
    char *path = ud_asprintf("%s/%s.tar%s", f->top, name, gz ? ".gz" : "");
    assert_non_null(path);
    if (gz) {
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
        gzclose(g);
    } else {
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(data, 1, len, fp), len);
        fclose(fp);
    }
    free(data);
    return path;
}

static void
import_one(struct fx *f, const char *repo, const char *tag, const char *content, bool gz)
{
    char *p = layer_file(f, content, content, gz);
    struct ud_error e = {0};
    char d[72];
    assert_int_equal(ud_archive_import(f->s, p, -1, repo, tag, NULL, d, &e), 0);
    assert_true(ud_str_has_prefix(d, "sha256:"));
    free(p);
}

static int
tmpfd(void)
{
    char tmpl[] = "/tmp/ud-ia-save.XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    unlink(tmpl);
    return fd;
}

/* Member names of the archive in fd, in order (ud_strv_free). */
static char **
members(int fd)
{
    struct ud_error e = {0};
    struct ar_reader r;
    lseek(fd, 0, SEEK_SET);
    assert_int_equal(ar_reader_open(&r, fd, &e), 0);
    struct ar_member *m = malloc(sizeof(*m));
    char **v = NULL;
    int rc;
    while ((rc = ar_reader_next(&r, m, &e)) == 1)
        assert_int_equal(ud_strv_push(&v, m->name, &e), 0);
    assert_int_equal(rc, 0);
    free(m);
    ar_reader_close(&r);
    lseek(fd, 0, SEEK_SET);
    return v;
}

static char *
manifest_of(struct fx *f, const char *repo, const char *tag)
{
    char *m = NULL;
    size_t ml = 0;
    struct ud_error e = {0};
    assert_int_equal(ud_store_image_file_read(f->s, repo, tag, "manifest", &m, &ml, &e), 0);
    return m;
}

static void
test_roundtrip(void **state)
{
    (void)state;
    struct fx a, b;
    fx_open(&a);
    fx_open(&b);
    import_one(&a, "base", "1", "alpha", false);
    import_one(&a, "quay.io/lab/tool", "2.0", "beta", true);
    assert_int_equal(ud_store_image_tag(a.s, "base", "1", "base", "also", NULL), 0);
    struct ud_archive_image imgs[] = {{"base", "1"}, {"quay.io/lab/tool", "2.0"}, {"base", "also"}};
    int fd = tmpfd();
    struct ud_error e = {0};
    assert_int_equal(ud_archive_save(a.s, imgs, 3, fd, &e), 0);
    char **names = members(fd);
    assert_string_equal(names[0], "oci-layout");
    assert_string_equal(names[1], "index.json");
    assert_string_equal(names[2], "manifest.json");
    assert_string_equal(names[3], "repositories");
    /* 2 manifests + 2 configs + 2 layers, each once although base is named twice */
    assert_int_equal(ud_strv_len(names), 4 + 6);
    for (size_t i = 4; names[i]; i++)
        assert_true(ud_str_has_prefix(names[i], "blobs/sha256/"));
    ud_strv_free(names);
    assert_int_equal(ud_archive_load(b.s, fd, NULL, &e), 0);
    for (size_t i = 0; i < 3; i++) {
        char *ma = manifest_of(&a, imgs[i].repo, imgs[i].tag);
        char *mb = manifest_of(&b, imgs[i].repo, imgs[i].tag);
        assert_string_equal(ma, mb); /* same bytes: same digests */
        free(ma);
        free(mb);
        assert_int_equal(ud_store_image_verify(b.s, imgs[i].repo, imgs[i].tag, NULL, NULL, &e), 0);
    }
    close(fd);
    fx_close(&a);
    fx_close(&b);
}

static void
test_save_v1(void **state)
{
    (void)state;
    struct fx a, b;
    fx_open(&a);
    fx_open(&b);
    /* a v1 image laid out as upstream's import writes it */
    char *p = layer_file(&a, "v1layer", "v1", false);
    char id[65];
    memset(id, 'd', 64);
    id[64] = '\0';
    struct ud_error e = {0};
    char *lp = NULL;
    assert_int_equal(ud_store_layer_path(a.s,
                                         "dddddddddddddddddddddddddddddddddddddddddddddddd"
                                         "dddddddddddddddd.layer",
                                         &lp, &e),
                     0);
    assert_int_equal(ud_file_copy(p, lp, 0644, &e), 0);
    free(lp);
    assert_int_equal(ud_store_layer_path(a.s,
                                         "dddddddddddddddddddddddddddddddddddddddddddddddd"
                                         "dddddddddddddddd.json",
                                         &lp, &e),
                     0);
    const char *js = "{\"id\":\"dd\",\"architecture\":\"amd64\",\"os\":\"linux\"}";
    assert_int_equal(ud_file_write_atomic(lp, js, strlen(js), 0644, &e), 0);
    free(lp);
    struct ud_store_image_txn *t = NULL;
    char *anc = ud_asprintf("[\"%s\"]", id);
    char *ln = ud_asprintf("%s.layer", id), *jn = ud_asprintf("%s.json", id);
    assert_int_equal(ud_store_image_begin(a.s, "old", "v1", &t, &e), 0);
    assert_int_equal(ud_store_image_put_ancestry(t, anc, strlen(anc), &e), 0);
    assert_int_equal(ud_store_image_link_blob(t, ln, &e), 0);
    assert_int_equal(ud_store_image_link_blob(t, jn, &e), 0);
    assert_int_equal(ud_store_image_commit(t, &e), 0);
    struct ud_archive_image img = {"old", "v1"};
    int fd = tmpfd();
    assert_int_equal(ud_archive_save(a.s, &img, 1, fd, &e), 0);
    lseek(fd, 0, SEEK_SET);
    if (ud_archive_load(b.s, fd, NULL, &e))
        fprintf(stderr, "load: %s\n", e.msg);
    assert_int_equal(e.code, 0);
    enum ud_store_image_format fmt;
    assert_int_equal(ud_store_image_format(b.s, "old", "v1", &fmt, &e), 0);
    assert_int_equal(fmt, UD_STORE_IMAGE_V2);
    assert_int_equal(ud_store_image_verify(b.s, "old", "v1", NULL, NULL, &e), 0);
    char *cfg = NULL;
    size_t cl = 0;
    assert_int_equal(ud_store_image_config(b.s, "old", "v1", &cfg, &cl, &e), 0);
    assert_non_null(strstr(cfg, "\"diff_ids\""));
    assert_null(strstr(cfg, "\"id\""));
    free(cfg);
    close(fd);
    free(anc);
    free(ln);
    free(jn);
    free(p);
    fx_close(&a);
    fx_close(&b);
}

static void
test_save_missing(void **state)
{
    (void)state;
    struct fx a;
    fx_open(&a);
    struct ud_archive_image img = {"nope", "1"};
    int fd = tmpfd();
    struct ud_error e = {0};
    assert_int_equal(ud_archive_save(a.s, &img, 1, fd, &e), UD_ENOENT);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 0); /* nothing written before the check */
    /* a layer file that lost its content is caught by the hash */
    import_one(&a, "x", "1", "gamma", false);
    char **paths = NULL;
    assert_int_equal(ud_store_image_layers(a.s, "x", "1", &paths, &e), 0);
    FILE *fp = fopen(paths[0], "r+b");
    assert_non_null(fp);
    fseek(fp, 600, SEEK_SET);
    fputc('Z', fp);
    fclose(fp);
    ud_strv_free(paths);
    struct ud_archive_image x = {"x", "1"};
    assert_int_equal(ud_archive_save(a.s, &x, 1, fd, &e), UD_EDIGEST);
    close(fd);
    fx_close(&a);
}

static void
test_import(void **state)
{
    (void)state;
    struct fx a;
    fx_open(&a);
    char *plain = layer_file(&a, "plain", "P", false);
    char *gz = layer_file(&a, "zipped", "Z", true);
    char hp[65], hg[65], want[65];
    struct ud_error e = {0};
    assert_int_equal(ud_archive_diff_id(plain, hp, &e), 0);
    assert_int_equal(ud_hash_file(plain, UD_HASH_SHA256, want, &e), 0);
    assert_string_equal(hp, want);
    assert_int_equal(ud_archive_diff_id(gz, hg, &e), 0);
    assert_string_not_equal(hg, want);
    /* --platform and --mv */
    struct ud_platform pf;
    assert_int_equal(ud_oci_platform_parse("linux/arm/v7", &pf, &e), 0);
    struct ud_archive_import_opts o = {.platform = &pf, .move = true};
    char d[72];
    assert_int_equal(ud_archive_import(a.s, gz, -1, "imp", "1", &o, d, &e), 0);
    assert_false(ud_path_exists(gz)); /* moved */
    char *plat = NULL;
    assert_int_equal(ud_store_image_platform(a.s, "imp", "1", &plat, &e), 0);
    assert_string_equal(plat, "linux/arm/v7");
    free(plat);
    char *cfg = NULL;
    size_t cl = 0;
    assert_int_equal(ud_store_image_config(a.s, "imp", "1", &cfg, &cl, &e), 0);
    assert_non_null(strstr(cfg, hg)); /* diff_id of the uncompressed tar */
    assert_non_null(strstr(cfg, "created by udocker"));
    free(cfg);
    assert_int_equal(ud_store_image_verify(a.s, "imp", "1", NULL, NULL, &e), 0);
    assert_int_equal(ud_archive_import(a.s, plain, -1, "imp", "1", NULL, d, &e), UD_EEXIST);
    assert_string_equal(e.msg, "tag already exists in repo: 1");
    /* from a file descriptor (stdin) */
    int fd = open(plain, O_RDONLY);
    assert_int_equal(ud_archive_import(a.s, NULL, fd, "imp", "2", NULL, d, &e), 0);
    close(fd);
    assert_string_equal(d + 7, want);
    assert_true(ud_path_exists(plain)); /* copied, not moved */
    assert_int_equal(fx_count(&a, "containers"), 0);
    /* not a tar */
    FILE *fp = fopen(plain, "wb");
    fputs("this is not a tarball at all, not even close; it is long enough to be read", fp);
    fclose(fp);
    assert_int_equal(ud_archive_import(a.s, plain, -1, "imp", "3", NULL, d, &e), UD_EPARSE);
    assert_false(ud_store_image_exists(a.s, "imp", "3"));
    free(plain);
    free(gz);
    fx_close(&a);
}

static void
test_tree_write(void **state)
{
    (void)state;
    struct fx a;
    fx_open(&a);
    char *root = ud_asprintf("%s/tree", a.top);
    char *p = NULL;
    assert_int_equal(mkdir(root, 0755), 0);
    p = ud_asprintf("%s/file", root);
    FILE *fp = fopen(p, "w");
    fputs("content", fp);
    fclose(fp);
    char *hl = ud_asprintf("%s/hard", root);
    assert_int_equal(link(p, hl), 0);
    char *sl = ud_asprintf("%s/sym", root);
    assert_int_equal(symlink("file", sl), 0);
    char *sub = ud_asprintf("%s/d/e", root);
    struct ud_error e = {0};
    assert_int_equal(ud_mkdir_p(sub, 0755, &e), 0);
    char *fifo = ud_asprintf("%s/d/fifo", root);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    char *longdir = ud_asprintf("%s/d/e/%0150d", root, 7);
    assert_int_equal(mkdir(longdir, 0755), 0);
    int fd = tmpfd();
    assert_int_equal(ud_archive_tree_write(root, fd, &e), 0);
    lseek(fd, 0, SEEK_SET);
    struct ar_reader r;
    assert_int_equal(ar_reader_open(&r, fd, &e), 0);
    struct ar_member *m = malloc(sizeof(*m));
    const char *want[] = {"", "d", "d/e", NULL, "d/fifo", "file", "hard", "sym"};
    enum ar_type types[] = {AR_DIR,   AR_DIR,  AR_DIR,      AR_DIR,
                            AR_OTHER, AR_FILE, AR_HARDLINK, AR_SYMLINK};
    size_t i = 0;
    int rc;
    while ((rc = ar_reader_next(&r, m, &e)) == 1) {
        assert_true(i < 8);
        if (want[i])
            assert_string_equal(m->name, want[i]);
        else
            assert_int_equal(strlen(m->name), 4 + 150); /* via pax */
        assert_int_equal(m->type, types[i]);
        if (m->type == AR_HARDLINK) /* names the first member as written */
            assert_string_equal(m->link, "./file");
        if (m->type == AR_SYMLINK)
            assert_string_equal(m->link, "file");
        if (m->type == AR_FILE) {
            char buf[16] = {0};
            assert_int_equal(ar_reader_data(&r, buf, sizeof(buf), &e), 7);
            assert_string_equal(buf, "content");
        }
        i++;
    }
    if (rc)
        fprintf(stderr, "next: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(i, 8);
    ar_reader_close(&r);
    free(m);
    close(fd);
    free(root);
    free(p);
    free(hl);
    free(sl);
    free(sub);
    free(fifo);
    free(longdir);
    fx_close(&a);
}

int
main(void)
{
    ud_json_use_ud_alloc();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),    cmocka_unit_test(test_save_v1),
        cmocka_unit_test(test_save_missing), cmocka_unit_test(test_import),
        cmocka_unit_test(test_tree_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
