/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The archive metadata parsers (manifest.json, index.json, repositories),
 * archive names, the tar reader's name rules and its pax and GNU long
 * names, each under allocation failure too.
 */
#include "ia_test.h"

static const char MJ[] = "[{\"Config\":\"abc.json\",\"RepoTags\":[\"busybox:latest\",\"a/b:1\"],"
                         "\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]},"
                         "{\"Config\":\"def.json\",\"RepoTags\":null,\"Layers\":[]}]";

static const char IDX[] =
    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" UD_OCI_MT_OCI_MANIFEST "\","
    "\"digest\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
    "\"size\":12,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"},"
    "\"annotations\":{\"org.opencontainers.image.ref.name\":\"3.19\","
    "\"io.containerd.image.name\":\"docker.io/library/alpine:3.19\"}},"
    "{\"mediaType\":\"" UD_OCI_MT_OCI_INDEX "\","
    "\"digest\":\"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
    "\"size\":3}]}";

static const char REPOS[] =
    "{\"busybox\":{\"latest\":\"0123\",\"1.36\":\"4567\"},\"x/y\":{\"t\":\"89\"}}";

static void
test_manifest_json(void **state)
{
    (void)state;
    struct ud_archive_manifest_entry *v = NULL;
    size_t n = 0;
    struct ud_error e = {0};
    assert_int_equal(ud_archive_manifest_parse(MJ, strlen(MJ), &v, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].config, "abc.json");
    assert_string_equal(v[0].repo_tags[1], "a/b:1");
    assert_null(v[0].repo_tags[2]);
    assert_string_equal(v[0].layers[1], "l2/layer.tar");
    assert_null(v[1].repo_tags[0]);
    assert_null(v[1].layers[0]);
    ud_archive_manifest_free(v, n);
    static const char *const bad[] = {"",
                                      "{}",
                                      "[1]",
                                      "[{\"Layers\":[]}]",
                                      "[{\"Config\":\"c\"}]",
                                      "[{\"Config\":\"c\",\"Layers\":[1]}]",
                                      "[{\"Config\":\"c\",\"Layers\":[],\"RepoTags\":{}}]",
                                      "[{\"Config\":\"c\",\"Config\":\"d\",\"Layers\":[]}]",
                                      NULL};
    for (size_t i = 0; bad[i]; i++) {
        assert_int_equal(ud_archive_manifest_parse(bad[i], strlen(bad[i]), &v, &n, &e), UD_EPARSE);
        assert_null(strchr(e.msg, '\n'));
    }
}

static void
test_index_json(void **state)
{
    (void)state;
    struct ud_archive_index_entry *v = NULL;
    size_t n = 0;
    struct ud_error e = {0};
    assert_int_equal(ud_archive_index_parse(IDX, strlen(IDX), &v, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].desc.size, 12);
    assert_true(v[0].desc.has_platform);
    assert_string_equal(v[0].desc.platform.variant, "v7");
    assert_string_equal(v[0].ref_name, "3.19");
    assert_string_equal(v[0].image_name, "docker.io/library/alpine:3.19");
    assert_null(v[1].ref_name);
    assert_true(ud_oci_descriptor_is_index(&v[1].desc));
    ud_archive_index_free(v, n);
    static const char *const bad[] = {
        "[]",
        "{}",
        "{\"manifests\":{}}",
        "{\"manifests\":[{\"digest\":\"sha256:x\"}]}",
        "{\"manifests\":[{\"mediaType\":\"a\",\"digest\":\"sha256:aaaa\",\"size\":1}]}",
        "{\"manifests\":[{\"mediaType\":\"a\",\"digest\":\"sha256:"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"size\":-1}]}",
        NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_int_equal(ud_archive_index_parse(bad[i], strlen(bad[i]), &v, &n, &e), UD_EPARSE);
}

static void
test_repositories(void **state)
{
    (void)state;
    struct ud_archive_repo_tag *v = NULL;
    size_t n = 0;
    struct ud_error e = {0};
    assert_int_equal(ud_archive_repositories_parse(REPOS, strlen(REPOS), &v, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[2].repo, "x/y");
    assert_string_equal(v[2].id, "89");
    ud_archive_repositories_free(v, n);
    static const char *const bad[] = {"[]", "{\"a\":1}", "{\"a\":{\"t\":1}}", "nope", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_int_equal(ud_archive_repositories_parse(bad[i], strlen(bad[i]), &v, &n, &e),
                         UD_EPARSE);
}

static void
test_name_split(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"busybox:1.36", "busybox", "1.36"},
        {"busybox", "busybox", "latest"},
        {"docker.io/library/alpine:3", "alpine", "3"},
        {"docker.io/user/tool:2", "user/tool", "2"},
        {"localhost:5000/a/b:t", "localhost:5000/a/b", "t"},
        {"quay.io/x/y", "quay.io/x/y", "latest"},
        {"xy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "xy",
         "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    };
    struct ud_error e = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *r = NULL, *t = NULL;
        assert_int_equal(ud_archive_name_split(cases[i][0], &r, &t, &e), 0);
        assert_string_equal(r, cases[i][1]);
        assert_string_equal(t, cases[i][2]);
        free(r);
        free(t);
    }
    char *r = NULL, *t = NULL;
    assert_int_equal(ud_archive_name_split("", &r, &t, &e), UD_EINVAL);
    assert_int_equal(ud_archive_name_split("a b:c", &r, &t, &e), UD_EINVAL);
}

static void
test_name_normalise(void **state)
{
    (void)state;
    static const char *const ok[][2] = {
        {"./a/b", "a/b"}, {"a//b/", "a/b"}, {"./", ""}, {"a/./b", "a/b"}, {"././x", "x"}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char n[64];
        snprintf(n, sizeof(n), "%s", ok[i][0]);
        assert_true(ar_name_normalise(n));
        assert_string_equal(n, ok[i][1]);
    }
    static const char *const bad[] = {"/etc/passwd", "../x", "a/../../x", "a/..", NULL};
    for (size_t i = 0; bad[i]; i++) {
        char n[64];
        snprintf(n, sizeof(n), "%s", bad[i]);
        assert_false(ar_name_normalise(n));
    }
}

/* Long names and link targets go through pax and come back whole. */
static void
test_long_names(void **state)
{
    (void)state;
    char longname[1200], longlink[700];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    for (size_t i = 50; i < sizeof(longname) - 1; i += 51)
        longname[i] = '/';
    memset(longlink, 'k', sizeof(longlink) - 1);
    longlink[sizeof(longlink) - 1] = '\0';
    struct tb t;
    tb_open(&t);
    tb_str(&t, longname, "data");
    tb_link(&t, "short", longlink, false);
    tb_str(&t, "p/q", "x"); /* fits: no pax */
    int fd = tb_finish(&t);
    struct ar_reader r;
    struct ud_error e = {0};
    struct ar_member *m = malloc(sizeof(*m));
    assert_int_equal(ar_reader_open(&r, fd, &e), 0);
    assert_int_equal(ar_reader_next(&r, m, &e), 1);
    assert_string_equal(m->name, longname);
    assert_int_equal(m->size, 4);
    assert_int_equal(ar_reader_next(&r, m, &e), 1); /* data of the first skipped */
    assert_string_equal(m->name, "short");
    assert_string_equal(m->link, longlink);
    assert_int_equal(m->type, AR_SYMLINK);
    assert_int_equal(ar_reader_next(&r, m, &e), 1);
    assert_string_equal(m->name, "p/q");
    assert_int_equal(ar_reader_next(&r, m, &e), 0);
    ar_reader_close(&r);
    free(m);
    close(fd);
}

static void
test_alloc_failure(void **state)
{
    (void)state;
    int done = 0;
    for (long n = 1; done != 0x7 && n < 10000; n++) {
        struct ud_error e = {0};
        struct ud_archive_manifest_entry *mv = NULL;
        struct ud_archive_index_entry *iv = NULL;
        struct ud_archive_repo_tag *rv = NULL;
        size_t c = 0;
        ud_alloc_fail_after(n);
        int a = ud_archive_manifest_parse(MJ, strlen(MJ), &mv, &c, &e);
        if (a == 0)
            ud_archive_manifest_free(mv, c);
        ud_alloc_fail_after(n);
        int b = ud_archive_index_parse(IDX, strlen(IDX), &iv, &c, &e);
        if (b == 0)
            ud_archive_index_free(iv, c);
        ud_alloc_fail_after(n);
        int d = ud_archive_repositories_parse(REPOS, strlen(REPOS), &rv, &c, &e);
        if (d == 0)
            ud_archive_repositories_free(rv, c);
        ud_alloc_fail_after(0);
        assert_true(a == 0 || a == UD_ENOMEM || a == UD_EPARSE);
        assert_true(b == 0 || b == UD_ENOMEM || b == UD_EPARSE);
        assert_true(d == 0 || d == UD_ENOMEM || d == UD_EPARSE);
        done |= (a == 0) | (b == 0) << 1 | (d == 0) << 2;
    }
    assert_int_equal(done, 0x7);
}

int
main(void)
{
    ud_json_use_ud_alloc();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_json),  cmocka_unit_test(test_index_json),
        cmocka_unit_test(test_repositories),   cmocka_unit_test(test_name_split),
        cmocka_unit_test(test_name_normalise), cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
