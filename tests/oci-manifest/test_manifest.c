/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Manifest kinds and parsing: Content-Type dispatch with the JSON fallback,
 * Docker schema 2, OCI and schema 1 manifests, validation failures, blob
 * lists, image configs, digests and allocation failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ud/oci-manifest.h"

#include "samples.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int
parse_str(const char *json, enum ud_oci_kind kind, struct ud_manifest *m, struct ud_error *err)
{
    return ud_oci_manifest_parse(json, strlen(json), kind, m, err);
}

static void
test_accept_types(void **state)
{
    (void)state;
    assert_string_equal(ud_oci_accept_types[0], UD_OCI_MT_DOCKER_V2);
    assert_string_equal(ud_oci_accept_types[1], UD_OCI_MT_DOCKER_V1_SIGNED);
    assert_string_equal(ud_oci_accept_types[2], "application/json");
    assert_string_equal(ud_oci_accept_types[3], UD_OCI_MT_DOCKER_LIST);
    assert_string_equal(ud_oci_accept_types[4], UD_OCI_MT_OCI_MANIFEST);
    assert_string_equal(ud_oci_accept_types[5], UD_OCI_MT_OCI_INDEX);
}

static void
test_kind_from_media_type(void **state)
{
    (void)state;
    assert_int_equal(ud_oci_kind_from_media_type(UD_OCI_MT_DOCKER_V2), UD_OCI_KIND_DOCKER_V2);
    assert_int_equal(ud_oci_kind_from_media_type(UD_OCI_MT_DOCKER_V1), UD_OCI_KIND_DOCKER_V1);
    assert_int_equal(ud_oci_kind_from_media_type(UD_OCI_MT_DOCKER_V1_SIGNED),
                     UD_OCI_KIND_DOCKER_V1);
    assert_int_equal(ud_oci_kind_from_media_type(UD_OCI_MT_DOCKER_LIST), UD_OCI_KIND_DOCKER_LIST);
    assert_int_equal(ud_oci_kind_from_media_type(UD_OCI_MT_OCI_MANIFEST), UD_OCI_KIND_OCI_MANIFEST);
    assert_int_equal(ud_oci_kind_from_media_type(UD_OCI_MT_OCI_INDEX), UD_OCI_KIND_OCI_INDEX);
    assert_int_equal(ud_oci_kind_from_media_type(
                         " Application/VND.Docker.Distribution.Manifest.V2+JSON ; charset=utf-8"),
                     UD_OCI_KIND_DOCKER_V2);
    assert_int_equal(ud_oci_kind_from_media_type("application/vnd.oci.image.index.v1+json;x=y"),
                     UD_OCI_KIND_OCI_INDEX);
    assert_int_equal(ud_oci_kind_from_media_type("application/json"), UD_OCI_KIND_UNKNOWN);
    assert_int_equal(ud_oci_kind_from_media_type(UD_OCI_MT_DOCKER_V2 "x"), UD_OCI_KIND_UNKNOWN);
    assert_int_equal(ud_oci_kind_from_media_type(NULL), UD_OCI_KIND_UNKNOWN);
    assert_true(ud_oci_kind_is_manifest(UD_OCI_KIND_DOCKER_V1));
    assert_false(ud_oci_kind_is_manifest(UD_OCI_KIND_OCI_INDEX));
    assert_true(ud_oci_kind_is_index(UD_OCI_KIND_DOCKER_LIST));
    assert_false(ud_oci_kind_is_index(UD_OCI_KIND_UNKNOWN));
    for (int k = UD_OCI_KIND_DOCKER_V2; k <= UD_OCI_KIND_OCI_INDEX; k++)
        assert_int_equal(ud_oci_kind_from_media_type(ud_oci_kind_media_type(k)), k);
    assert_string_equal(ud_oci_kind_media_type(UD_OCI_KIND_UNKNOWN), "");
}

static void
expect_detect(const char *ct, const char *body, enum ud_oci_kind want)
{
    enum ud_oci_kind k = UD_OCI_KIND_UNKNOWN;
    struct ud_error err = {0};
    int rc = ud_oci_kind_detect(ct, body, body ? strlen(body) : 0, &k, &err);
    if (rc != 0)
        fail_msg("detect %s: %s", ct ? ct : "(null)", err.msg);
    assert_int_equal(k, want);
}

static void
test_kind_detect(void **state)
{
    (void)state;
    /* Content-Type decides, whatever the body. */
    expect_detect(UD_OCI_MT_DOCKER_V2, NULL, UD_OCI_KIND_DOCKER_V2);
    expect_detect(UD_OCI_MT_DOCKER_V1_SIGNED "; charset=utf-8", "", UD_OCI_KIND_DOCKER_V1);
    /* application/json, missing and text/plain fall back to the body. */
    expect_detect("application/json", SAMPLE_DOCKER_V2, UD_OCI_KIND_DOCKER_V2);
    expect_detect("application/json; charset=utf-8", SAMPLE_DOCKER_V1, UD_OCI_KIND_DOCKER_V1);
    expect_detect(NULL, SAMPLE_DOCKER_LIST, UD_OCI_KIND_DOCKER_LIST);
    expect_detect("", SAMPLE_OCI_INDEX, UD_OCI_KIND_OCI_INDEX);
    expect_detect("text/plain", SAMPLE_OCI_MANIFEST, UD_OCI_KIND_OCI_MANIFEST);
    /* Shape only (no mediaType). */
    expect_detect(NULL, SAMPLE_OCI_INDEX_NESTED, UD_OCI_KIND_OCI_INDEX);
    expect_detect(NULL, "{\"schemaVersion\":2,\"config\":{},\"layers\":[]}",
                  UD_OCI_KIND_OCI_MANIFEST);
    expect_detect(NULL, "{\"schemaVersion\":1,\"fsLayers\":[]}", UD_OCI_KIND_DOCKER_V1);

    enum ud_oci_kind k = UD_OCI_KIND_DOCKER_V2;
    struct ud_error err = {0};
    assert_int_equal(ud_oci_kind_detect("text/html", "<html>", 6, &k, &err), UD_EUNSUPP);
    assert_non_null(strstr(err.msg, "text/html"));
    assert_int_equal(k, UD_OCI_KIND_DOCKER_V2);
    assert_int_equal(ud_oci_kind_detect("application/json", "<html>", 6, &k, &err), UD_EPARSE);
    assert_int_equal(ud_oci_kind_detect("application/json", "[1]", 3, &k, &err), UD_EPARSE);
    assert_int_equal(ud_oci_kind_detect(NULL, NULL, 0, &k, &err), UD_EPARSE);
    assert_int_equal(ud_oci_kind_detect(NULL, "{\"schemaVersion\":3}", 19, &k, &err), UD_EUNSUPP);
    const char *art = "{\"mediaType\":\"application/vnd.oci.artifact.manifest.v1+json\"}";
    assert_int_equal(ud_oci_kind_detect(NULL, art, strlen(art), &k, &err), UD_EUNSUPP);
    assert_non_null(strstr(err.msg, "artifact"));
    assert_int_equal(ud_oci_kind_detect(NULL, "{}", UD_OCI_MANIFEST_MAX_BYTES + 1, &k, &err),
                     UD_ETOOBIG);
    assert_int_equal(k, UD_OCI_KIND_DOCKER_V2);
}

static void
test_docker_v2(void **state)
{
    struct ud_manifest m;
    struct ud_error err = {0};
    char **blobs = NULL;
    (void)state;

    assert_int_equal(parse_str(SAMPLE_DOCKER_V2, UD_OCI_KIND_DOCKER_V2, &m, &err), 0);
    assert_int_equal(m.kind, UD_OCI_KIND_DOCKER_V2);
    assert_int_equal(m.schema_version, 2);
    assert_true(m.has_config);
    assert_string_equal(m.config.digest, D_BUSYBOX_CONFIG);
    assert_string_equal(m.config.media_type, UD_OCI_MT_DOCKER_CONFIG);
    assert_int_equal(m.config.size, 1457);
    assert_int_equal(m.n_layers, 1);
    assert_string_equal(m.layers[0].digest, D_BUSYBOX_LAYER);
    assert_int_equal(m.layers[0].size, 2591575);
    assert_int_equal(ud_oci_layer_compression(m.layers[0].media_type), UD_OCI_COMP_GZIP);
    assert_null(m.v1_config);
    assert_int_equal(ud_oci_manifest_blobs(&m, &blobs, &err), 0);
    assert_int_equal(ud_strv_len(blobs), 2);
    assert_string_equal(blobs[0], D_BUSYBOX_LAYER);
    assert_string_equal(blobs[1], D_BUSYBOX_CONFIG);
    ud_strv_free(blobs);
    ud_oci_manifest_fini(&m);
    assert_null(m.layers);
    ud_oci_manifest_fini(NULL);
}

static void
test_oci_manifest(void **state)
{
    struct ud_manifest m;
    struct ud_error err = {0};
    (void)state;

    /* Kind unknown: taken from the body. */
    assert_int_equal(parse_str(SAMPLE_OCI_MANIFEST, UD_OCI_KIND_UNKNOWN, &m, &err), 0);
    assert_int_equal(m.kind, UD_OCI_KIND_OCI_MANIFEST);
    assert_int_equal(m.n_layers, 4);
    const char *want[] = {D_PY_L1, D_PY_L2, D_PY_L3, D_PY_L4};
    const enum ud_oci_compression comp[] = {UD_OCI_COMP_GZIP, UD_OCI_COMP_ZSTD, UD_OCI_COMP_NONE,
                                            UD_OCI_COMP_GZIP};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(m.layers[i].digest, want[i]);
        assert_int_equal(ud_oci_layer_compression(m.layers[i].media_type), comp[i]);
    }
    assert_int_equal(m.layers[3].size, 0);
    assert_string_equal(m.config.digest, D_PY_CONFIG);
    ud_oci_manifest_fini(&m);

    /* Docker v2 body served as OCI manifest: same family, accepted. */
    assert_int_equal(parse_str(SAMPLE_DOCKER_V2, UD_OCI_KIND_OCI_MANIFEST, &m, &err), 0);
    assert_int_equal(m.kind, UD_OCI_KIND_OCI_MANIFEST);
    ud_oci_manifest_fini(&m);
}

static void
test_docker_v1(void **state)
{
    struct ud_manifest m;
    struct ud_error err = {0};
    char **blobs = NULL;
    (void)state;

    assert_int_equal(parse_str(SAMPLE_DOCKER_V1, UD_OCI_KIND_DOCKER_V1, &m, &err), 0);
    assert_int_equal(m.kind, UD_OCI_KIND_DOCKER_V1);
    assert_int_equal(m.schema_version, 1);
    assert_false(m.has_config);
    assert_null(m.config.digest);
    /* fsLayers [empty, empty, base] reversed: base first, duplicates kept. */
    assert_int_equal(m.n_layers, 3);
    assert_string_equal(m.layers[0].digest, D_V1_BASE);
    assert_string_equal(m.layers[1].digest, D_EMPTY_V1);
    assert_string_equal(m.layers[2].digest, D_EMPTY_V1);
    assert_int_equal(m.layers[0].size, -1);
    assert_int_equal(ud_oci_layer_compression(m.layers[0].media_type), UD_OCI_COMP_GZIP);
    assert_string_equal(m.v1_config, V1_CONFIG_TOP);
    assert_int_equal(ud_oci_manifest_blobs(&m, &blobs, &err), 0);
    assert_int_equal(ud_strv_len(blobs), 2);
    assert_string_equal(blobs[0], D_V1_BASE);
    assert_string_equal(blobs[1], D_EMPTY_V1);
    ud_strv_free(blobs);

    /* The v1 config is the image config. */
    struct ud_image_config cfg;
    assert_int_equal(ud_oci_config_parse(m.v1_config, strlen(m.v1_config), &cfg, &err), 0);
    assert_string_equal(cfg.platform.os, "linux");
    assert_string_equal(cfg.platform.arch, "amd64");
    ud_oci_config_fini(&cfg);
    ud_oci_manifest_fini(&m);

    /* Unsigned schema 1 without history. */
    const char *u =
        "{\"schemaVersion\":1,\"name\":\"x/y\",\"tag\":\"t\",\"fsLayers\":[{\"blobSum\":"
        "\"sha256:" HEX64 "\"}]}";
    assert_int_equal(parse_str(u, UD_OCI_KIND_UNKNOWN, &m, &err), 0);
    assert_int_equal(m.kind, UD_OCI_KIND_DOCKER_V1);
    assert_null(m.v1_config);
    ud_oci_manifest_fini(&m);
}

struct bad_case {
    const char *json;
    enum ud_oci_kind kind;
    int code;
    const char *msg_part;
};

#define L(mt, dg, sz) "{\"mediaType\":\"" mt "\",\"digest\":\"" dg "\",\"size\":" sz "}"
#define GZ "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define CFG "\"config\":" L(UD_OCI_MT_DOCKER_CONFIG, "sha256:" HEX64, "7")
#define V2(layers) "{\"schemaVersion\":2," CFG ",\"layers\":[" layers "]}"

static const struct bad_case bad[] = {
    {"", UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "empty"},
    {"{", UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "JSON"},
    {"[]", UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "object"},
    {V2(L(GZ, "sha256:abc", "1")), UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "digest"},
    {V2(L(GZ, "sha256:" HEX64, "-1")), UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "size"},
    {V2(L(GZ, "sha256:" HEX64, "1.5")), UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "size"},
    {V2(L(GZ, "sha256:" HEX64, "\"12\"")), UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "size"},
    {V2(L(GZ, "md5:" HEX64, "1")), UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "digest"},
    {V2(L(GZ, "sha256:" HEX64 "\\u0000x", "1")), UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "NUL"},
    {V2(L("application/vnd.cncf.helm.chart.content.v1.tar+gzip", "sha256:" HEX64, "1")),
     UD_OCI_KIND_OCI_MANIFEST, UD_EUNSUPP, "helm"},
    {V2(L("application/vnd.oci.image.layer.v1.tar+gzip+encrypted", "sha256:" HEX64, "1")),
     UD_OCI_KIND_OCI_MANIFEST, UD_EUNSUPP, "unsupported media type"},
    {V2("{\"digest\":\"sha256:" HEX64 "\",\"size\":1}"), UD_OCI_KIND_DOCKER_V2, UD_EPARSE,
     "mediaType"},
    {V2("7"), UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "not an object"},
    {"{\"schemaVersion\":2,\"layers\":[]}", UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "config"},
    {"{\"schemaVersion\":2," CFG "}", UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "layers"},
    {"{\"schemaVersion\":2," CFG ",\"layers\":{}}", UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "array"},
    {"{\"schemaVersion\":1," CFG ",\"layers\":[]}", UD_OCI_KIND_DOCKER_V2, UD_EPARSE,
     "schemaVersion"},
    {"{" CFG ",\"layers\":[]}", UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "schemaVersion"},
    {"{\"schemaVersion\":2,\"schemaVersion\":2," CFG ",\"layers\":[]}", UD_OCI_KIND_DOCKER_V2,
     UD_EPARSE, "JSON"},
    {SAMPLE_DOCKER_LIST, UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "declares"},
    {SAMPLE_DOCKER_LIST, UD_OCI_KIND_DOCKER_LIST, UD_EUNSUPP, "manifest list"},
    {SAMPLE_DOCKER_LIST, UD_OCI_KIND_UNKNOWN, UD_EUNSUPP, "manifest list"},
    {SAMPLE_DOCKER_V1, UD_OCI_KIND_DOCKER_V2, UD_EPARSE, "declares"},
    {"{\"schemaVersion\":1,\"fsLayers\":[]}", UD_OCI_KIND_DOCKER_V1, UD_EPARSE, "empty"},
    {"{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":\"sha256:zz\"}]}", UD_OCI_KIND_DOCKER_V1,
     UD_EPARSE, "digest"},
    {"{\"schemaVersion\":1,\"fsLayers\":[{}]}", UD_OCI_KIND_DOCKER_V1, UD_EPARSE, "blobSum"},
    {"{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":\"sha256:" HEX64 "\"}],\"history\":"
     "[{\"v1Compatibility\":5}]}",
     UD_OCI_KIND_DOCKER_V1, UD_EPARSE, "v1Compatibility"},
    {"{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":\"sha256:" HEX64 "\"}],\"history\":{}}",
     UD_OCI_KIND_DOCKER_V1, UD_EPARSE, "history"},
    {"{\"schemaVersion\":2}", UD_OCI_KIND_UNKNOWN, UD_EUNSUPP, "unknown"},
};

static void
test_bad_manifests(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ud_manifest m;
        struct ud_error err = {0};
        memset(&m, 0x5a, sizeof(m));
        int rc = parse_str(bad[i].json, bad[i].kind, &m, &err);
        if (rc != bad[i].code || !strstr(err.msg, bad[i].msg_part))
            fail_msg("case %zu: rc %d (%s), want %d with '%s'", i, rc, err.msg, bad[i].code,
                     bad[i].msg_part);
        assert_null(strchr(err.msg, '\n'));
        assert_int_equal(((unsigned char *)&m)[0], 0x5a);
    }
}

static char *
many_layers(size_t n)
{
    struct ud_buf b;
    ud_buf_init(&b, 0);
    assert_int_equal(ud_buf_appendf(&b, NULL, "{\"schemaVersion\":2,%s,\"layers\":[", CFG), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ud_buf_appendf(&b, NULL, "%s" L(GZ, "sha256:" HEX64, "1"), i ? "," : ""),
                         0);
    assert_int_equal(ud_buf_append(&b, "]}", 2, NULL), 0);
    return ud_buf_steal(&b);
}

static void
test_caps(void **state)
{
    struct ud_manifest m;
    struct ud_error err = {0};
    char **blobs = NULL;
    (void)state;

    char *ok = many_layers(UD_OCI_MAX_LAYERS);
    assert_int_equal(parse_str(ok, UD_OCI_KIND_DOCKER_V2, &m, &err), 0);
    assert_int_equal(m.n_layers, UD_OCI_MAX_LAYERS);
    /* all layers share a digest, and so does the config: one blob */
    assert_int_equal(ud_oci_manifest_blobs(&m, &blobs, &err), 0);
    assert_int_equal(ud_strv_len(blobs), 1);
    ud_strv_free(blobs);
    ud_oci_manifest_fini(&m);
    free(ok);

    char *big = many_layers(UD_OCI_MAX_LAYERS + 1);
    assert_int_equal(parse_str(big, UD_OCI_KIND_DOCKER_V2, &m, &err), UD_ETOOBIG);
    free(big);

    size_t n = UD_OCI_MANIFEST_MAX_BYTES + 1;
    char *huge = malloc(n);
    assert_non_null(huge);
    memset(huge, ' ', n);
    huge[0] = '{';
    huge[n - 1] = '}';
    assert_int_equal(ud_oci_manifest_parse(huge, n, UD_OCI_KIND_DOCKER_V2, &m, &err), UD_ETOOBIG);
    free(huge);
}

static void
test_layer_compression(void **state)
{
    (void)state;
    assert_int_equal(ud_oci_layer_compression(GZ), UD_OCI_COMP_GZIP);
    assert_int_equal(
        ud_oci_layer_compression("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"),
        UD_OCI_COMP_GZIP);
    assert_int_equal(ud_oci_layer_compression("application/vnd.oci.image.layer.v1.tar"),
                     UD_OCI_COMP_NONE);
    assert_int_equal(ud_oci_layer_compression("Application/Vnd.OCI.Image.Layer.V1.Tar+Zstd"),
                     UD_OCI_COMP_ZSTD);
    assert_int_equal(
        ud_oci_layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"),
        UD_OCI_COMP_ZSTD);
    assert_int_equal(ud_oci_layer_compression("application/octet-stream"), UD_OCI_COMP_UNKNOWN);
    assert_int_equal(ud_oci_layer_compression(NULL), UD_OCI_COMP_UNKNOWN);
}

static void
test_config(void **state)
{
    struct ud_image_config cfg;
    struct ud_error err = {0};
    (void)state;

    assert_int_equal(ud_oci_config_parse(SAMPLE_CONFIG, strlen(SAMPLE_CONFIG), &cfg, &err), 0);
    assert_string_equal(cfg.platform.os, "linux");
    assert_string_equal(cfg.platform.arch, "arm");
    assert_string_equal(cfg.platform.variant, "v7");
    assert_int_equal(cfg.len, strlen(SAMPLE_CONFIG));
    assert_string_equal(cfg.json, SAMPLE_CONFIG);
    ud_oci_config_fini(&cfg);
    assert_null(cfg.json);

    const char *partial = "{\"architecture\":\"amd64\",\"os\":7,\"variant\":\"\"}";
    assert_int_equal(ud_oci_config_parse(partial, strlen(partial), &cfg, &err), 0);
    assert_string_equal(cfg.platform.os, "unknown");
    assert_string_equal(cfg.platform.arch, "amd64");
    assert_string_equal(cfg.platform.variant, "");
    ud_oci_config_fini(&cfg);

    assert_int_equal(ud_oci_config_parse("{}", 2, &cfg, &err), 0);
    char pbuf[UD_OCI_PLATFORM_STR_MAX];
    ud_oci_platform_format(&cfg.platform, pbuf);
    assert_string_equal(pbuf, "unknown/unknown");
    ud_oci_config_fini(&cfg);

    memset(&cfg, 0x5a, sizeof(cfg));
    assert_int_equal(ud_oci_config_parse("\"x\"", 3, &cfg, &err), UD_EPARSE);
    assert_int_equal(ud_oci_config_parse("nope", 4, &cfg, &err), UD_EPARSE);
    assert_int_equal(((unsigned char *)&cfg)[0], 0x5a);
}

static void
test_digests(void **state)
{
    struct ud_digest d;
    struct ud_error err = {0};
    (void)state;

    assert_int_equal(ud_oci_digest_parse("sha256:" HEX64, &d, &err), 0);
    assert_int_equal(d.algo, UD_HASH_SHA256);
    assert_string_equal(d.hex, HEX64);
    assert_int_equal(ud_oci_digest_parse("sha512:" HEX64 HEX64, &d, &err), 0);
    assert_int_equal(d.algo, UD_HASH_SHA512);
    assert_int_equal(strlen(d.hex), 128);
    assert_int_equal(ud_oci_digest_parse("md5:d41d8cd98f00b204e9800998ecf8427e", &d, &err),
                     UD_EUNSUPP);
    assert_int_equal(ud_oci_digest_parse("blake3:" HEX64, &d, &err), UD_EUNSUPP);
    const char *bad_digests[] = {"",
                                 "sha256",
                                 "sha256:",
                                 "sha256:" HEX64 "0",
                                 "sha256:abc",
                                 "SHA256:" HEX64,
                                 "sha256:"
                                 "0123456789ABCDEF0123456789abcdef"
                                 "0123456789abcdef0123456789abcdef",
                                 "sha512:" HEX64,
                                 ":" HEX64,
                                 "sha256:" HEX64 "\n",
                                 "../x:" HEX64};
    for (size_t i = 0; i < sizeof(bad_digests) / sizeof(bad_digests[0]); i++) {
        if (ud_oci_digest_parse(bad_digests[i], &d, &err) != UD_EINVAL)
            fail_msg("digest '%s' accepted or wrong code", bad_digests[i]);
        assert_false(ud_oci_digest_is_valid(bad_digests[i]));
    }
    assert_int_equal(ud_oci_digest_parse(NULL, &d, &err), UD_EINVAL);
    assert_true(ud_oci_digest_equal("sha256:" HEX64, "sha256:" HEX64));
    assert_false(ud_oci_digest_equal("sha256:" HEX64, D_EMPTY_V1));
    assert_false(ud_oci_digest_equal("x", "x"));
}

/* Every allocation failure gives UD_ENOMEM and leaves out untouched; the
 * sanitizer build checks nothing leaks. */
static void
alloc_loop_manifest(const char *json, enum ud_oci_kind kind)
{
    for (long n = 1;; n++) {
        struct ud_manifest m;
        struct ud_error err = {0};
        char **blobs = NULL;
        memset(&m, 0x5a, sizeof(m));
        ud_alloc_fail_after(n);
        int rc = parse_str(json, kind, &m, &err);
        if (rc == 0)
            rc = ud_oci_manifest_blobs(&m, &blobs, &err);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_true(n > 1);
            ud_strv_free(blobs);
            ud_oci_manifest_fini(&m);
            return;
        }
        if (rc != UD_ENOMEM)
            fail_msg("n=%ld: rc %d %s", n, rc, err.msg);
        if (((unsigned char *)&m)[0] != 0x5a)
            ud_oci_manifest_fini(&m); /* parse succeeded, blobs failed */
        assert_true(n < 100000);
    }
}

static void
test_alloc_failures(void **state)
{
    (void)state;
    alloc_loop_manifest(SAMPLE_DOCKER_V2, UD_OCI_KIND_DOCKER_V2);
    alloc_loop_manifest(SAMPLE_OCI_MANIFEST, UD_OCI_KIND_UNKNOWN);
    alloc_loop_manifest(SAMPLE_DOCKER_V1, UD_OCI_KIND_DOCKER_V1);
    for (long n = 1;; n++) {
        enum ud_oci_kind k = UD_OCI_KIND_UNKNOWN;
        ud_alloc_fail_after(n);
        int rc = ud_oci_kind_detect("application/json", SAMPLE_DOCKER_V1, strlen(SAMPLE_DOCKER_V1),
                                    &k, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_int_equal(k, UD_OCI_KIND_DOCKER_V1);
            break;
        }
        assert_int_equal(rc, UD_ENOMEM);
        assert_int_equal(k, UD_OCI_KIND_UNKNOWN);
    }
    for (long n = 1;; n++) {
        struct ud_image_config cfg;
        ud_alloc_fail_after(n);
        int rc = ud_oci_config_parse(SAMPLE_CONFIG, strlen(SAMPLE_CONFIG), &cfg, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            ud_oci_config_fini(&cfg);
            break;
        }
        assert_int_equal(rc, UD_ENOMEM);
    }
}

static int
setup(void **state)
{
    (void)state;
    ud_json_use_ud_alloc();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_types),      cmocka_unit_test(test_kind_from_media_type),
        cmocka_unit_test(test_kind_detect),       cmocka_unit_test(test_docker_v2),
        cmocka_unit_test(test_oci_manifest),      cmocka_unit_test(test_docker_v1),
        cmocka_unit_test(test_bad_manifests),     cmocka_unit_test(test_caps),
        cmocka_unit_test(test_layer_compression), cmocka_unit_test(test_config),
        cmocka_unit_test(test_digests),           cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
