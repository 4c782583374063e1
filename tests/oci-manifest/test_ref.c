/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image reference parsing: every form users type (Docker Hub short names,
 * hosts with dots, host:port and localhost registries, digests), the
 * rejected ones, the registry URL choice and allocation failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ud/oci-manifest.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX128 HEX64 HEX64

struct good_case {
    const char *spec;
    const char *host; /* NULL: none */
    const char *local;
    const char *remote;
    const char *tag;
    bool digest;
    bool hub;
};

static const struct good_case good[] = {
    {"busybox", NULL, "busybox", "library/busybox", "latest", false, true},
    {"busybox:1.36", NULL, "busybox", "library/busybox", "1.36", false, true},
    {"library/busybox:1.36", NULL, "library/busybox", "library/busybox", "1.36", false, true},
    {"user/repo", NULL, "user/repo", "user/repo", "latest", false, true},
    /* One-character components, as Docker accepts them. */
    {"a", NULL, "a", "library/a", "latest", false, true},
    {"x:1", NULL, "x", "library/x", "1", false, true},
    {"library/a", NULL, "library/a", "library/a", "latest", false, true},
    {"a/b:c", NULL, "a/b", "a/b", "c", false, true},
    {"quay.io/x", "quay.io", "quay.io/x", "x", "latest", false, false},
    {"library", NULL, "library", "library", "latest", false, true},
    {"my_image.v2", NULL, "my_image.v2", "library/my_image.v2", "latest", false, true},
    {"quay.io/org/img:tag", "quay.io", "quay.io/org/img", "org/img", "tag", false, false},
    {"quay.io/img", "quay.io", "quay.io/img", "img", "latest", false, false},
    {"127.0.0.1:5000/lab/img:tag", "127.0.0.1:5000", "127.0.0.1:5000/lab/img", "lab/img", "tag",
     false, false},
    {"localhost:5000/x", "localhost:5000", "localhost:5000/x", "x", "latest", false, false},
    {"localhost/myimg:v1", "localhost", "localhost/myimg", "myimg", "v1", false, false},
    {"localhost:5000", NULL, "localhost", "library/localhost", "5000", false, true},
    {"docker.io/python:3-slim", "docker.io", "docker.io/python", "library/python", "3-slim", false,
     true},
    {"registry-1.docker.io/library/ubuntu:22.04", "registry-1.docker.io",
     "registry-1.docker.io/library/ubuntu", "library/ubuntu", "22.04", false, true},
    {"index.docker.io/foo/bar", "index.docker.io", "index.docker.io/foo/bar", "foo/bar", "latest",
     false, true},
    {"public.ecr.aws/docker/library/redis", "public.ecr.aws", "public.ecr.aws/docker/library/redis",
     "docker/library/redis", "latest", false, false},
    {"ghcr.io/owner/repo/sub:1.0.0-rc.1", "ghcr.io", "ghcr.io/owner/repo/sub", "owner/repo/sub",
     "1.0.0-rc.1", false, false},
    {"nvcr.io/nvidia/cuda:12.2.0-base-ubuntu22.04", "nvcr.io", "nvcr.io/nvidia/cuda", "nvidia/cuda",
     "12.2.0-base-ubuntu22.04", false, false},
    {"img@sha256:" HEX64, NULL, "img", "library/img", "sha256:" HEX64, true, true},
    {"img:1.0@sha256:" HEX64, NULL, "img", "library/img", "sha256:" HEX64, true, true},
    {"quay.io/a/b@sha512:" HEX128, "quay.io", "quay.io/a/b", "a/b", "sha512:" HEX128, true, false},
    {"host.example:8443/a/b:c", "host.example:8443", "host.example:8443/a/b", "a/b", "c", false,
     false},
    {"Upper/Case:Tag_1", NULL, "Upper/Case", "Upper/Case", "Tag_1", false, true},
    {"foo/_bar-baz.qux", NULL, "foo/_bar-baz.qux", "foo/_bar-baz.qux", "latest", false, true},
};

static void
test_good_refs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const struct good_case *c = &good[i];
        struct ud_image_ref r;
        struct ud_error err = {0};
        int rc = ud_oci_ref_parse(c->spec, &r, &err);
        if (rc != 0)
            fail_msg("%s: %s", c->spec, err.msg);
        if (c->host)
            assert_string_equal(r.registry_host, c->host);
        else
            assert_null(r.registry_host);
        assert_string_equal(r.local_repo, c->local);
        assert_string_equal(r.remote_repo, c->remote);
        assert_string_equal(r.tag, c->tag);
        assert_int_equal(r.is_digest, c->digest);
        assert_int_equal(r.is_docker_hub, c->hub);
        ud_oci_ref_fini(&r);
        assert_null(r.local_repo);
    }
}

static void
test_bad_refs(void **state)
{
    char long_tag[200], long_name[300];
    (void)state;
    memcpy(long_tag, "img:", 4);
    memset(long_tag + 4, 't', 129);
    long_tag[133] = '\0';
    memset(long_name, 'a', 256);
    long_name[256] = '\0';

    const char *bad[] = {
        "",
        "/busybox",
        "busybox/",
        "a//b",
        "../etc",
        "foo/../bar",
        "foo/./bar",
        "..",
        "busy box",
        "busybox\t",
        "busybox\n",
        "bus\x01ybox",
        "b\xc3\xbcsybox",
        "busybox:",
        "busybox:bad tag",
        "busybox:-tag",
        "busybox:.tag",
        "busybox:tag:extra",
        "busybox:ta/g",
        "@sha256:" HEX64,
        "img@",
        "img@sha256:abc",
        "img@sha256:"
        "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        "img@md5:d41d8cd98f00b204e9800998ecf8427e",
        "img@@sha256:" HEX64,
        "img@sha256:" HEX64 "@x",
        "img@sha256:" HEX64 "0",
        "img@sha512:" HEX64,
        "quay.io:abc/img",
        "host:99999/img",
        "host:0/img",
        "host:/img",
        "foo:1.0/bar",
        "-foo/bar",
        "quay.io/",
        "quay.io/:tag",
        ".quay.io/img",
        "quay.io/org/im:g/x",
        "img$",
        "a/b\\c",
        long_tag,
        long_name,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ud_image_ref r;
        struct ud_error err = {0};
        memset(&r, 0x5a, sizeof(r));
        int rc = ud_oci_ref_parse(bad[i], &r, &err);
        if (rc != UD_EINVAL)
            fail_msg("'%s' gave %d, want UD_EINVAL", bad[i], rc);
        assert_int_equal(err.code, UD_EINVAL);
        assert_true(err.msg[0] != '\0');
        assert_null(strchr(err.msg, '\n'));
        /* out untouched on failure */
        assert_int_equal(((unsigned char *)&r)[0], 0x5a);
    }
    struct ud_image_ref r;
    assert_int_equal(ud_oci_ref_parse(NULL, &r, NULL), UD_EINVAL);
}

static void
test_tag_limits(void **state)
{
    char spec[200];
    struct ud_image_ref r;
    (void)state;
    memcpy(spec, "img:", 4);
    memset(spec + 4, 'x', 128);
    spec[132] = '\0';
    assert_int_equal(ud_oci_ref_parse(spec, &r, NULL), 0);
    assert_int_equal(strlen(r.tag), 128);
    ud_oci_ref_fini(&r);
    ud_oci_ref_fini(NULL);
}

static void
expect_url(const char *spec, const char *opt, const char *want)
{
    struct ud_image_ref r = {0};
    struct ud_error err = {0};
    char *url = NULL;

    if (spec)
        assert_int_equal(ud_oci_ref_parse(spec, &r, &err), 0);
    int rc = ud_oci_ref_registry_url(spec ? &r : NULL, opt, &url, &err);
    if (rc != 0)
        fail_msg("%s + %s: %s", spec, opt, err.msg);
    assert_string_equal(url, want);
    free(url);
    ud_oci_ref_fini(&r);
}

static void
test_registry_url(void **state)
{
    (void)state;
    expect_url("busybox", NULL, "https://registry-1.docker.io");
    expect_url("busybox", "", "https://registry-1.docker.io");
    expect_url(NULL, NULL, "https://registry-1.docker.io");
    expect_url("busybox", "myreg.example.com", "https://myreg.example.com");
    expect_url("busybox", "http://myreg:5000/", "http://myreg:5000");
    expect_url("busybox", "HTTPS://myreg/v2path", "https://myreg/v2path");
    expect_url("quay.io/org/img", "https://other.io", "https://quay.io");
    expect_url("quay.io/org/img", NULL, "https://quay.io");
    expect_url("localhost:5000/x", NULL, "https://localhost:5000");
    expect_url("localhost:5000/x", "http://localhost:5000", "http://localhost:5000");
    expect_url("localhost:5000/x", "http://LOCALHOST:5000/", "http://LOCALHOST:5000");
    expect_url("localhost:5000/x", "http://localhost:5001", "https://localhost:5000");
    expect_url("docker.io/python", NULL, "https://registry-1.docker.io");
    expect_url("index.docker.io/foo/bar", "https://mirror.example", "https://registry-1.docker.io");
    expect_url("public.ecr.aws/docker/library/redis", NULL, "https://public.ecr.aws");
}

static void
test_registry_url_bad(void **state)
{
    const char *bad[] = {"ftp://x", "https://",    "https:///path",
                         "a b",     "file:///etc", "http://x\n"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ud_error err = {0};
        char *url = (char *)"untouched";
        assert_int_equal(ud_oci_ref_registry_url(NULL, bad[i], &url, &err), UD_EINVAL);
        assert_string_equal(url, "untouched");
        assert_true(err.msg[0] != '\0');
    }
}

static void
test_alloc_failures(void **state)
{
    const char *specs[] = {"quay.io/org/img:tag", "busybox", "img:1@sha256:" HEX64,
                           "docker.io/python:3"};
    (void)state;
    for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
        for (long n = 1;; n++) {
            struct ud_image_ref r;
            struct ud_error err = {0};
            memset(&r, 0x5a, sizeof(r));
            ud_alloc_fail_after(n);
            int rc = ud_oci_ref_parse(specs[s], &r, &err);
            ud_alloc_fail_after(0);
            if (rc == 0) {
                assert_non_null(r.tag);
                assert_true(n > 1); /* the hook did make something fail */
                ud_oci_ref_fini(&r);
                break;
            }
            assert_int_equal(rc, UD_ENOMEM);
            assert_int_equal(((unsigned char *)&r)[0], 0x5a);
            assert_true(n < 100);
        }
        for (long n = 1;; n++) {
            struct ud_image_ref r;
            char *url = NULL;
            assert_int_equal(ud_oci_ref_parse(specs[s], &r, NULL), 0);
            ud_alloc_fail_after(n);
            int rc = ud_oci_ref_registry_url(&r, "myreg.example", &url, NULL);
            ud_alloc_fail_after(0);
            ud_oci_ref_fini(&r);
            if (rc == 0) {
                free(url);
                break;
            }
            assert_int_equal(rc, UD_ENOMEM);
            assert_null(url);
        }
    }
}

/* The local repository and tag only, for every good case; nothing
 * written on failure, allocation failures included. */
static void
test_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *repo = NULL, *tag = NULL;
        assert_int_equal(ud_oci_ref_split(good[i].spec, &repo, &tag, NULL), 0);
        assert_string_equal(repo, good[i].local);
        assert_string_equal(tag, good[i].tag);
        free(repo);
        free(tag);
    }
    char *repo = NULL, *tag = NULL;
    struct ud_error err = {0};
    assert_int_equal(ud_oci_ref_split("a//b", &repo, &tag, &err), UD_EINVAL);
    assert_null(repo);
    assert_null(tag);
    for (long n = 1;; n++) {
        ud_alloc_fail_after(n);
        int rc = ud_oci_ref_split("quay.io/x:1", &repo, &tag, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, UD_ENOMEM);
        assert_null(repo);
        assert_null(tag);
    }
    assert_string_equal(repo, "quay.io/x");
    assert_string_equal(tag, "1");
    free(repo);
    free(tag);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_refs),
        cmocka_unit_test(test_bad_refs),
        cmocka_unit_test(test_tag_limits),
        cmocka_unit_test(test_registry_url),
        cmocka_unit_test(test_registry_url_bad),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
