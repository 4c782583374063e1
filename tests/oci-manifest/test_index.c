/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Manifest lists and OCI indexes: parsing, platform selection (aliases,
 * case, variants incl. the variant-less fallback upstream got wrong,
 * attestation entries), nested indexes, malformed input and allocation
 * failures.
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
#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define MT_OM "\"mediaType\":\"" UD_OCI_MT_OCI_MANIFEST "\""
#define ENTRY(dg, plat) "{" MT_OM ",\"digest\":\"" dg "\",\"size\":10,\"platform\":{" plat "}}"
#define P(os, arch) "\"os\":\"" os "\",\"architecture\":\"" arch "\""
#define PV(os, arch, v) P(os, arch) ",\"variant\":\"" v "\""
#define INDEX(entries) "{\"schemaVersion\":2,\"manifests\":[" entries "]}"

static void
load(const char *json, struct ud_index *idx)
{
    struct ud_error err = {0};
    int rc = ud_oci_index_parse(json, strlen(json), UD_OCI_KIND_UNKNOWN, idx, &err);
    if (rc != 0)
        fail_msg("index parse: %s", err.msg);
}

/* Select for platform string p; return the chosen digest or NULL. */
static const char *
pick(const struct ud_index *idx, const char *p)
{
    struct ud_platform want;
    const struct ud_descriptor *d = NULL;
    struct ud_error err = {0};

    assert_int_equal(ud_oci_platform_parse(p, &want, &err), 0);
    int rc = ud_oci_index_select(idx, &want, &d, &err);
    if (rc == UD_ENOTFOUND)
        return NULL;
    assert_int_equal(rc, 0);
    return d->digest;
}

static void
test_docker_list(void **state)
{
    struct ud_index idx;
    (void)state;
    load(SAMPLE_DOCKER_LIST, &idx);
    assert_int_equal(idx.kind, UD_OCI_KIND_DOCKER_LIST);
    assert_int_equal(idx.n_manifests, 9);
    assert_true(idx.manifests[1].has_platform);
    assert_string_equal(idx.manifests[1].platform.arch, "arm");
    assert_string_equal(idx.manifests[1].platform.variant, "v5");
    assert_string_equal(idx.manifests[0].media_type, UD_OCI_MT_DOCKER_V2);
    assert_int_equal(idx.manifests[0].size, 528);

    assert_string_equal(pick(&idx, "linux/amd64"), D_L_AMD64);
    assert_string_equal(pick(&idx, "LINUX/AMD64"), D_L_AMD64);
    assert_string_equal(pick(&idx, "linux/x86_64"), D_L_AMD64);
    assert_string_equal(pick(&idx, "linux/arm64"), D_L_ARM64);
    assert_string_equal(pick(&idx, "linux/aarch64"), D_L_ARM64);
    assert_string_equal(pick(&idx, "linux/arm64/v8"), D_L_ARM64);
    assert_string_equal(pick(&idx, "linux/arm/v7"), D_L_ARMV7);
    assert_string_equal(pick(&idx, "linux/armhf"), D_L_ARMV7);
    assert_string_equal(pick(&idx, "linux/arm/v6"), D_L_ARMV6);
    assert_string_equal(pick(&idx, "linux/armel"), D_L_ARMV6);
    assert_string_equal(pick(&idx, "linux/arm"), D_L_ARMV5); /* first arm entry */
    assert_string_equal(pick(&idx, "linux/i686"), D_L_386);
    assert_string_equal(pick(&idx, "windows/amd64"), D_L_WIN);
    assert_null(pick(&idx, "linux/riscv64"));
    assert_null(pick(&idx, "linux/arm/v8"));

    struct ud_platform want;
    const struct ud_descriptor *d = (const struct ud_descriptor *)&want;
    struct ud_error err = {0};
    assert_int_equal(ud_oci_platform_parse("linux/riscv64", &want, NULL), 0);
    assert_int_equal(ud_oci_index_select(&idx, &want, &d, &err), UD_ENOTFOUND);
    assert_string_equal(err.msg, "no image found in manifest for platform (linux/riscv64)");
    assert_ptr_equal(d, (const struct ud_descriptor *)&want); /* untouched */
    ud_oci_index_fini(&idx);
    assert_null(idx.manifests);
    ud_oci_index_fini(NULL);
}

static void
test_oci_index_attestations(void **state)
{
    struct ud_index idx;
    (void)state;
    load(SAMPLE_OCI_INDEX, &idx);
    assert_int_equal(idx.kind, UD_OCI_KIND_OCI_INDEX);
    assert_int_equal(idx.n_manifests, 5);
    /* The attestation entry comes first and must be skipped. */
    assert_string_equal(pick(&idx, "linux/amd64"), D_O_AMD64);
    assert_string_equal(pick(&idx, "linux/arm64"), D_O_ARM64);
    assert_null(pick(&idx, "unknown/unknown"));
    ud_oci_index_fini(&idx);
}

static void
test_variants(void **state)
{
    struct ud_index idx;
    (void)state;

    /* Exact variant preferred even when a variant-less entry comes first. */
    load(INDEX(ENTRY(DA, P("linux", "arm")) "," ENTRY(DB, PV("linux", "arm", "v7"))), &idx);
    assert_string_equal(pick(&idx, "linux/arm/v7"), DB);
    assert_string_equal(pick(&idx, "linux/arm"), DA);
    ud_oci_index_fini(&idx);

    /* Upstream aborted here: a variant-less entry is the fallback. */
    load(INDEX(ENTRY(DA, PV("linux", "arm", "v6")) "," ENTRY(DB, P("linux", "arm"))), &idx);
    assert_string_equal(pick(&idx, "linux/arm/v7"), DB);
    assert_string_equal(pick(&idx, "linux/arm/v6"), DA);
    ud_oci_index_fini(&idx);

    /* A different variant alone never matches. */
    load(INDEX(ENTRY(DA, PV("linux", "arm", "v6"))), &idx);
    assert_null(pick(&idx, "linux/arm/v7"));
    ud_oci_index_fini(&idx);

    /* arm64: no variant and v8 are the same thing, both ways. */
    load(INDEX(ENTRY(DA, P("linux", "arm64"))), &idx);
    assert_string_equal(pick(&idx, "linux/arm64/v8"), DA);
    assert_string_equal(pick(&idx, "linux/arm64"), DA);
    ud_oci_index_fini(&idx);

    /* Case-insensitive fields, "8" spelled without v. */
    load(INDEX(ENTRY(DA, PV("Linux", "ARM", "V7")) "," ENTRY(DB, PV("linux", "arm64", "8"))), &idx);
    assert_string_equal(pick(&idx, "linux/arm/v7"), DA);
    assert_string_equal(pick(&idx, "linux/arm64/v8"), DB);
    ud_oci_index_fini(&idx);
}

static void
test_candidates(void **state)
{
    struct ud_index idx;
    (void)state;
    /* No platform, unknown platform, unusable platform and a non-manifest
     * media type are all skipped; the last entry is the only candidate. */
    load(INDEX(
             "{" MT_OM ",\"digest\":\"" DA "\",\"size\":1},"
             "{" MT_OM ",\"digest\":\"" DA "\",\"size\":1,\"platform\":\"linux/amd64\"},"
             "{" MT_OM ",\"digest\":\"" DA "\",\"size\":1,\"platform\":{\"os\":\"linux\"}},"
             "{" MT_OM ",\"digest\":\"" DA "\",\"size\":1,\"platform\":{" P(
                 "linux", "amd64 ") "}},"
                                    "{" MT_OM ",\"digest\":\"" DA "\",\"size\":1,\"platform\":{" P(
                                        "unknown",
                                        "amd64") "}},"
                                                 "{\"mediaType\":\"application/"
                                                 "vnd.in-toto+json\",\"digest\":\"" DA
                                                 "\",\"size\":1,\"platform\":{" P(
                                                     "linux",
                                                     "amd64") "}}," ENTRY(DC, P("linux", "amd64"))),
         &idx);
    assert_int_equal(idx.n_manifests, 7);
    assert_false(idx.manifests[0].has_platform);
    assert_false(idx.manifests[1].has_platform);
    assert_false(idx.manifests[2].has_platform);
    assert_false(idx.manifests[3].has_platform);
    assert_string_equal(pick(&idx, "linux/amd64"), DC);
    ud_oci_index_fini(&idx);
}

static void
test_nested(void **state)
{
    struct ud_index idx;
    struct ud_platform want;
    const struct ud_descriptor *d = NULL;
    (void)state;
    load(SAMPLE_OCI_INDEX_NESTED, &idx);
    assert_int_equal(ud_oci_platform_parse("linux/amd64", &want, NULL), 0);
    assert_int_equal(ud_oci_index_select(&idx, &want, &d, NULL), 0);
    assert_string_equal(d->digest, D_NESTED);
    assert_true(ud_oci_descriptor_is_index(d));
    ud_oci_index_fini(&idx);

    load(SAMPLE_DOCKER_LIST, &idx);
    assert_false(ud_oci_descriptor_is_index(&idx.manifests[0]));
    assert_false(ud_oci_descriptor_is_index(NULL));
    ud_oci_index_fini(&idx);
    assert_true(UD_OCI_INDEX_MAX_DEPTH >= 2);
}

static void
test_bad_indexes(void **state)
{
    const struct {
        const char *json;
        enum ud_oci_kind kind;
        int code;
    } bad[] = {
        {INDEX("{\"digest\":\"" DA "\",\"size\":1}"), UD_OCI_KIND_OCI_INDEX, UD_EPARSE},
        {INDEX("{" MT_OM ",\"digest\":\"sha256:xyz\",\"size\":1}"), UD_OCI_KIND_OCI_INDEX,
         UD_EPARSE},
        {INDEX("{" MT_OM ",\"digest\":\"" DA "\"}"), UD_OCI_KIND_OCI_INDEX, UD_EPARSE},
        {INDEX("{" MT_OM ",\"digest\":\"" DA "\",\"size\":-4}"), UD_OCI_KIND_OCI_INDEX, UD_EPARSE},
        {INDEX("null"), UD_OCI_KIND_OCI_INDEX, UD_EPARSE},
        {"{\"schemaVersion\":2,\"manifests\":{}}", UD_OCI_KIND_OCI_INDEX, UD_EPARSE},
        {"{\"schemaVersion\":1,\"manifests\":[]}", UD_OCI_KIND_OCI_INDEX, UD_EPARSE},
        {"{\"schemaVersion\":2,\"mediaType\":\"" UD_OCI_MT_OCI_INDEX "\"}", UD_OCI_KIND_OCI_INDEX,
         UD_EPARSE},
        {SAMPLE_DOCKER_V2, UD_OCI_KIND_OCI_INDEX, UD_EPARSE},
        {SAMPLE_DOCKER_V2, UD_OCI_KIND_UNKNOWN, UD_EUNSUPP},
        {SAMPLE_DOCKER_LIST, UD_OCI_KIND_DOCKER_V2, UD_EUNSUPP},
        {"not json", UD_OCI_KIND_DOCKER_LIST, UD_EPARSE},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ud_index idx;
        struct ud_error err = {0};
        memset(&idx, 0x5a, sizeof(idx));
        int rc = ud_oci_index_parse(bad[i].json, strlen(bad[i].json), bad[i].kind, &idx, &err);
        if (rc != bad[i].code)
            fail_msg("case %zu: rc %d (%s), want %d", i, rc, err.msg, bad[i].code);
        assert_true(err.msg[0] != '\0');
        assert_int_equal(((unsigned char *)&idx)[0], 0x5a);
    }

    /* Entry cap. */
    struct ud_buf b;
    ud_buf_init(&b, 0);
    assert_int_equal(ud_buf_appendf(&b, NULL, "{\"schemaVersion\":2,\"manifests\":["), 0);
    for (int i = 0; i <= UD_OCI_MAX_INDEX_ENTRIES; i++)
        assert_int_equal(
            ud_buf_appendf(&b, NULL, "%s" ENTRY(DA, P("linux", "amd64")), i ? "," : ""), 0);
    assert_int_equal(ud_buf_append(&b, "]}", 2, NULL), 0);
    struct ud_index idx;
    assert_int_equal(ud_oci_index_parse(b.data, b.len, UD_OCI_KIND_UNKNOWN, &idx, NULL),
                     UD_ETOOBIG);
    ud_buf_fini(&b);
}

static void
test_select_null(void **state)
{
    const struct ud_descriptor *d = NULL;
    struct ud_index empty = {0};
    struct ud_platform want;
    struct ud_error err = {0};
    (void)state;
    assert_int_equal(ud_oci_platform_parse("linux/amd64", &want, NULL), 0);
    assert_int_equal(ud_oci_index_select(&empty, &want, &d, &err), UD_ENOTFOUND);
    assert_int_equal(ud_oci_index_select(NULL, NULL, &d, &err), UD_ENOTFOUND);
    assert_null(d);
}

static void
test_alloc_failures(void **state)
{
    (void)state;
    const char *docs[] = {SAMPLE_DOCKER_LIST, SAMPLE_OCI_INDEX, SAMPLE_OCI_INDEX_NESTED};
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        for (long n = 1;; n++) {
            struct ud_index idx;
            struct ud_error err = {0};
            memset(&idx, 0x5a, sizeof(idx));
            ud_alloc_fail_after(n);
            int rc = ud_oci_index_parse(docs[i], strlen(docs[i]), UD_OCI_KIND_UNKNOWN, &idx, &err);
            ud_alloc_fail_after(0);
            if (rc == 0) {
                assert_true(n > 1);
                ud_oci_index_fini(&idx);
                break;
            }
            if (rc != UD_ENOMEM)
                fail_msg("n=%ld: rc %d %s", n, rc, err.msg);
            assert_int_equal(((unsigned char *)&idx)[0], 0x5a);
        }
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
        cmocka_unit_test(test_docker_list), cmocka_unit_test(test_oci_index_attestations),
        cmocka_unit_test(test_variants),    cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_nested),      cmocka_unit_test(test_bad_indexes),
        cmocka_unit_test(test_select_null), cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
