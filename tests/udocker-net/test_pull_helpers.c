// SPDX-License-Identifier: Apache-2.0
/* Pure helpers of the pull path: registry selection from an image name and
 * the --registry/--index options, the blob plan of a manifest, and the
 * keystore location. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "image_pull.h"
#include "keystore_path.h"
#include "ud/oci-manifest.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

/* ------------------------------------------------------------------ */
/* Registry selection                                                  */
/* ------------------------------------------------------------------ */

struct site_case {
    const char *host, *reg_opt, *idx_opt;
    const char *want_reg, *want_idx; /* want_idx NULL: none */
    bool want_scheme_given;
};

static void
check_site(const struct ud_conf *conf, const struct site_case *c)
{
    struct ud_pull_site s = {0};
    struct ud_error e = {0};
    int rc = ud_pull_site_select(conf, c->host, c->reg_opt, c->idx_opt, &s, &e);
    if (rc != 0)
        fail_msg("host=%s reg=%s idx=%s: %s", c->host ? c->host : "-",
                 c->reg_opt ? c->reg_opt : "-", c->idx_opt ? c->idx_opt : "-", e.msg);
    assert_string_equal(s.registry_url, c->want_reg);
    if (c->want_idx == NULL)
        assert_null(s.index_url);
    else
        assert_string_equal(s.index_url, c->want_idx);
    assert_int_equal(s.scheme_given, c->want_scheme_given);
    ud_pull_site_fini(&s);
    assert_null(s.registry_url);
}

static void
test_site_defaults(void **state)
{
    (void)state;
    /* No configuration: Docker Hub's built-in URLs. */
    static const struct site_case none = {
        NULL, NULL, NULL, "https://registry-1.docker.io", "https://hub.docker.com", true};
    check_site(NULL, &none);

    struct ud_conf conf = {0};
    conf.dockerio_registry_url = "https://mirror.example.org/";
    conf.dockerio_index_url = "https://index.example.org";
    static const struct site_case mirror = {
        NULL, NULL, NULL, "https://mirror.example.org", "https://index.example.org", true};
    check_site(&conf, &mirror);
    /* A Docker Hub host in the name is the configured Hub too. */
    static const struct site_case hub = {
        "docker.io", NULL, NULL, "https://mirror.example.org", "https://index.example.org", true};
    check_site(&conf, &hub);
    static const struct site_case hub2 = {"index.docker.io",
                                          "http://elsewhere:5000",
                                          NULL,
                                          "https://mirror.example.org",
                                          "https://index.example.org",
                                          true};
    check_site(&conf, &hub2);
}

static void
test_site_host_in_name(void **state)
{
    (void)state;
    static const struct site_case cases[] = {
        /* A bare host: https assumed, index = registry (none separate). */
        {"quay.io", NULL, NULL, "https://quay.io", NULL, false},
        {"127.0.0.1:5000", NULL, NULL, "https://127.0.0.1:5000", NULL, false},
        {"localhost:5000", NULL, NULL, "https://localhost:5000", NULL, false},
        /* The host in the name wins over options naming another host. */
        {"quay.io", "http://other:5000", "https://idx.example", "https://quay.io", NULL, false},
        /* An option naming the same host says how to reach it. */
        {"127.0.0.1:5000", "http://127.0.0.1:5000/", NULL, "http://127.0.0.1:5000", NULL, true},
        {"h.example:5000", NULL, "http://H.example:5000", "http://H.example:5000", NULL, true},
        {"quay.io", "quay.io", NULL, "https://quay.io", NULL, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_site(NULL, &cases[i]);
}

static void
test_site_conf_registries(void **state)
{
    (void)state;
    struct ud_conf_registry regs[] = {
        {"docker.io", "https://registry-1.docker.io", "https://hub.docker.com"},
        {"lab.example", "http://10.0.0.1:5000", NULL},
    };
    struct ud_conf conf = {0};
    conf.registries = regs;
    conf.nregistries = 2;
    static const struct site_case lab = {"LAB.example",          NULL, NULL,
                                         "http://10.0.0.1:5000", NULL, true};
    check_site(&conf, &lab);
    static const struct site_case hub = {
        "docker.io", NULL, NULL, "https://registry-1.docker.io", "https://hub.docker.com", true};
    check_site(&conf, &hub);
}

static void
test_site_options(void **state)
{
    (void)state;
    static const struct site_case cases[] = {
        {NULL, "myreg:5000", NULL, "https://myreg:5000", NULL, false},
        {NULL, "http://myreg:5000//", NULL, "http://myreg:5000", NULL, true},
        {NULL, "HTTPS://myreg", NULL, "HTTPS://myreg", NULL, true},
        /* Only --index: it is the registry too (upstream then speaks v1 to
         * it; a v2 client asks the same server). */
        {NULL, NULL, "idx.example", "https://idx.example", NULL, false},
        {NULL, "reg.example", "idx.example", "https://reg.example", "https://idx.example", false},
        {NULL, "reg.example", "https://reg.example", "https://reg.example", NULL, false},
        /* Empty options count as absent. */
        {NULL, "", "", "https://registry-1.docker.io", "https://hub.docker.com", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_site(NULL, &cases[i]);
}

static void
test_site_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {"ftp://x", "https://",      "http:///path",
                                      "a b",     "https://h\x01", "://x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ud_pull_site s = {.registry_url = (char *)"untouched"};
        struct ud_error e = {0};
        assert_int_equal(ud_pull_site_select(NULL, NULL, bad[i], NULL, &s, &e), UD_EINVAL);
        assert_string_equal(s.registry_url, "untouched");
        assert_true(e.msg[0] != '\0');
    }
    struct ud_pull_site s = {0};
    assert_int_equal(ud_pull_site_select(NULL, "", NULL, NULL, &s, NULL), UD_EINVAL);
    assert_int_equal(ud_pull_site_select(NULL, "quay.io", NULL, "bad url", &s, NULL), 0);
    ud_pull_site_fini(&s);
}

static void
test_site_alloc_failure(void **state)
{
    (void)state;
    for (long n = 1;; n++) {
        struct ud_pull_site s = {0};
        ud_alloc_fail_after(n);
        int rc = ud_pull_site_select(NULL, NULL, "reg.example", "idx.example", &s, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_string_equal(s.registry_url, "https://reg.example");
            assert_string_equal(s.index_url, "https://idx.example");
            ud_pull_site_fini(&s);
            break;
        }
        assert_int_equal(rc, UD_ENOMEM);
        assert_null(s.registry_url);
        assert_true(n < 100);
    }
}

static void
check_remote(const struct ud_conf *conf, const char *spec, const char *registry_url,
             const char *want)
{
    struct ud_image_ref ref = {0};
    struct ud_pull_site site = {.registry_url = (char *)registry_url};
    struct ud_error e = {0};
    char *out = NULL;
    if (ud_oci_ref_parse(spec, &ref, &e) != 0)
        fail_msg("%s: %s", spec, e.msg);
    if (ud_pull_remote_repo(conf, &ref, &site, &out, &e) != 0)
        fail_msg("%s: %s", spec, e.msg);
    assert_string_equal(out, want);
    free(out);
    ud_oci_ref_fini(&ref);
}

static void
test_remote_repo(void **state)
{
    (void)state;
    /* library/ only for single names on Docker Hub. */
    check_remote(NULL, "busybox", "https://registry-1.docker.io", "library/busybox");
    check_remote(NULL, "busybox:1.36", "https://registry-1.docker.io", "library/busybox");
    check_remote(NULL, "library/busybox", "https://registry-1.docker.io", "library/busybox");
    check_remote(NULL, "lab/img", "https://registry-1.docker.io", "lab/img");
    check_remote(NULL, "docker.io/python", "https://registry-1.docker.io", "library/python");
    check_remote(NULL, "busybox", "http://127.0.0.1:5000", "busybox");
    check_remote(NULL, "quay.io/foo", "https://quay.io", "foo");
    check_remote(NULL, "quay.io/org/img:tag", "https://quay.io", "org/img");
    check_remote(NULL, "127.0.0.1:5000/lab/img:1", "http://127.0.0.1:5000", "lab/img");
    check_remote(NULL,
                 "img@sha256:"
                 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                 "https://registry-1.docker.io", "library/img");
    struct ud_conf conf = {0};
    conf.dockerio_registry_url = "https://mirror.example:8443";
    check_remote(&conf, "busybox", "https://mirror.example:8443", "library/busybox");
    check_remote(&conf, "busybox", "https://other.example", "busybox");
}

/* ------------------------------------------------------------------ */
/* Blob plan                                                           */
/* ------------------------------------------------------------------ */

static const char schema2[] =
    "{\"schemaVersion\":2,"
    "\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
    "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\","
    "\"size\":7,\"digest\":\"" DC "\"},"
    "\"layers\":["
    "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":100,"
    "\"digest\":\"" D1 "\"},"
    "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":200,"
    "\"digest\":\"" D2 "\"},"
    "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":100,"
    "\"digest\":\"" D1 "\"}]}";

/* fsLayers are listed top layer first. */
static const char schema1[] =
    "{\"schemaVersion\":1,\"name\":\"x/y\",\"tag\":\"1\","
    "\"fsLayers\":[{\"blobSum\":\"" D3 "\"},{\"blobSum\":\"" D2 "\"},{\"blobSum\":\"" D1 "\"}],"
    "\"history\":[{\"v1Compatibility\":\"{\\\"id\\\":\\\"a\\\"}\"},"
    "{\"v1Compatibility\":\"{}\"},{\"v1Compatibility\":\"{}\"}]}";

static void
parse_manifest(const char *json, struct ud_manifest *m)
{
    struct ud_error e = {0};
    if (ud_oci_manifest_parse(json, strlen(json), UD_OCI_KIND_UNKNOWN, m, &e) != 0)
        fail_msg("manifest: %s", e.msg);
}

static void
test_plan_schema2(void **state)
{
    (void)state;
    struct ud_manifest m = {0};
    struct ud_pull_plan p = {0};
    parse_manifest(schema2, &m);
    assert_int_equal(ud_pull_plan_build(&m, "/r/layers", &p, NULL), 0);
    /* Layers bottom first, each digest once, then the config. */
    assert_int_equal(p.n, 3);
    assert_string_equal(p.blobs[0].digest, D1);
    assert_string_equal(p.blobs[1].digest, D2);
    assert_string_equal(p.blobs[2].digest, DC);
    assert_string_equal(p.blobs[0].dest_path, "/r/layers/" D1);
    assert_string_equal(p.blobs[2].dest_path, "/r/layers/" DC);
    assert_int_equal(p.blobs[0].size, 100);
    assert_int_equal(p.blobs[1].size, 200);
    assert_int_equal(p.blobs[2].size, 7);
    assert_int_equal(p.total_bytes, 307);
    ud_pull_plan_fini(&p);
    assert_null(p.blobs);
    ud_oci_manifest_fini(&m);
}

static void
test_plan_schema1(void **state)
{
    (void)state;
    struct ud_manifest m = {0};
    struct ud_pull_plan p = {0};
    parse_manifest(schema1, &m);
    assert_int_equal(ud_pull_plan_build(&m, "/r/layers/", &p, NULL), 0);
    /* fsLayers reversed; no config blob (the config is history[0]). */
    assert_int_equal(p.n, 3);
    assert_string_equal(p.blobs[0].digest, D1);
    assert_string_equal(p.blobs[1].digest, D2);
    assert_string_equal(p.blobs[2].digest, D3);
    assert_string_equal(p.blobs[2].dest_path, "/r/layers/" D3);
    assert_int_equal(p.blobs[0].size, -1);
    assert_int_equal(p.total_bytes, 0);
    ud_pull_plan_fini(&p);
    ud_oci_manifest_fini(&m);
}

static void
test_plan_rejects_path_digest(void **state)
{
    (void)state;
    /* Parsed manifests only carry valid digests; a hand-made one shows the
     * plan still refuses names that would leave layers/. */
    struct ud_descriptor layer = {
        .media_type = (char *)"x", .digest = (char *)"../../etc/x", .size = 1};
    struct ud_manifest m = {.kind = UD_OCI_KIND_DOCKER_V2, .layers = &layer, .n_layers = 1};
    struct ud_pull_plan p = {.n = 42};
    struct ud_error e = {0};
    assert_int_equal(ud_pull_plan_build(&m, "/r/layers", &p, &e), UD_EINVAL);
    assert_int_equal(p.n, 42);
}

static void
test_plan_alloc_failure(void **state)
{
    (void)state;
    struct ud_manifest m = {0};
    parse_manifest(schema2, &m);
    for (long n = 1;; n++) {
        struct ud_pull_plan p = {0};
        ud_alloc_fail_after(n);
        int rc = ud_pull_plan_build(&m, "/r/layers", &p, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_int_equal(p.n, 3);
            ud_pull_plan_fini(&p);
            break;
        }
        assert_int_equal(rc, UD_ENOMEM);
        assert_null(p.blobs);
        assert_true(n < 100);
    }
    ud_oci_manifest_fini(&m);
}

/* ------------------------------------------------------------------ */
/* Keystore location                                                   */
/* ------------------------------------------------------------------ */

static void
check_path(const char *home, const char *setting, const char *want)
{
    char *out = NULL;
    assert_int_equal(ud_keystore_path_build(home, setting, &out, NULL), 0);
    assert_string_equal(out, want);
    free(out);
}

static void
test_keystore_path(void **state)
{
    (void)state;
    check_path("/home/u/.udocker", NULL, "/home/u/.udocker/keystore");
    check_path("/home/u/.udocker/", "", "/home/u/.udocker/keystore");
    check_path("/home/u/.udocker", "creds.json", "/home/u/.udocker/creds.json");
    check_path("/home/u/.udocker", "/etc/ks", "/etc/ks");
    check_path(NULL, "/abs/ks", "/abs/ks");

    char *out = (char *)"untouched";
    struct ud_error e = {0};
    assert_int_equal(ud_keystore_path_build(NULL, "keystore", &out, &e), UD_EINVAL);
    assert_int_equal(ud_keystore_path_build("", NULL, &out, &e), UD_EINVAL);
    assert_string_equal(out, "untouched");

    /* The configured home wins over $HOME (it is always $HOME/.udocker,
     * never UDOCKER_DIR). */
    struct ud_conf conf = {0};
    conf.homedir = "/h/.udocker";
    conf.keystore = "keystore";
    assert_int_equal(ud_keystore_path_get(&conf, &out, NULL), 0);
    assert_string_equal(out, "/h/.udocker/keystore");
    free(out);

    setenv("HOME", "/tmp/home-x", 1);
    setenv("UDOCKER_KEYSTORE", "/tmp/ks-abs", 1);
    assert_int_equal(ud_keystore_path_get(NULL, &out, NULL), 0);
    assert_string_equal(out, "/tmp/ks-abs");
    free(out);
    unsetenv("UDOCKER_KEYSTORE");
    assert_int_equal(ud_keystore_path_get(NULL, &out, NULL), 0);
    assert_string_equal(out, "/tmp/home-x/.udocker/keystore");
    free(out);
}

static void
test_keystore_path_alloc_failure(void **state)
{
    (void)state;
    for (long n = 1;; n++) {
        char *out = NULL;
        ud_alloc_fail_after(n);
        int rc = ud_keystore_path_build("/h/.udocker", "keystore", &out, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_string_equal(out, "/h/.udocker/keystore");
            free(out);
            break;
        }
        assert_int_equal(rc, UD_ENOMEM);
        assert_null(out);
        assert_true(n < 10);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_site_defaults),
        cmocka_unit_test(test_site_host_in_name),
        cmocka_unit_test(test_site_conf_registries),
        cmocka_unit_test(test_site_options),
        cmocka_unit_test(test_site_invalid),
        cmocka_unit_test(test_site_alloc_failure),
        cmocka_unit_test(test_remote_repo),
        cmocka_unit_test(test_plan_schema2),
        cmocka_unit_test(test_plan_schema1),
        cmocka_unit_test(test_plan_rejects_path_digest),
        cmocka_unit_test(test_plan_alloc_failure),
        cmocka_unit_test(test_keystore_path),
        cmocka_unit_test(test_keystore_path_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
