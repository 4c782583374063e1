/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private helpers of registry-client: Retry-After parsing and backoff,
 * URL escaping, redirect resolution, origin comparison, name validation
 * and response header capture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reg_int.h"

static void
test_retry_after(void **state)
{
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
    time_t now = 784111777;
    assert_int_equal(reg_retry_after_parse("0", now), 0);
    assert_int_equal(reg_retry_after_parse("7", now), 7000);
    assert_int_equal(reg_retry_after_parse(" 12 ", now), 12000);
    assert_int_equal(reg_retry_after_parse("99999999", now), 86400000L);
    assert_int_equal(reg_retry_after_parse("Sun, 06 Nov 1994 08:49:47 GMT", now), 10000);
    assert_int_equal(reg_retry_after_parse("Sun, 06 Nov 1994 08:49:30 GMT", now), 0);
    assert_int_equal(reg_retry_after_parse("Sunday, 06-Nov-94 08:49:39 GMT", now), 2000);
    assert_int_equal(reg_retry_after_parse("soon", now), -1);
    assert_int_equal(reg_retry_after_parse("5s", now), -1);
    assert_int_equal(reg_retry_after_parse("-3", now), -1);
    assert_int_equal(reg_retry_after_parse(NULL, now), -1);
}

static void
test_backoff(void **state)
{
    struct ud_reg_client c = {.retry_base_ms = 100, .retry_max_ms = 1000};
    assert_int_equal(reg_backoff_ms(&c, 1, -1), 100);
    assert_int_equal(reg_backoff_ms(&c, 2, -1), 200);
    assert_int_equal(reg_backoff_ms(&c, 3, -1), 400);
    assert_int_equal(reg_backoff_ms(&c, 9, -1), 1000);
    assert_int_equal(reg_backoff_ms(&c, 1, 0), 0);
    assert_int_equal(reg_backoff_ms(&c, 1, 700), 700);
    assert_int_equal(reg_backoff_ms(&c, 1, 30000), 1000);
}

static void
test_escape(void **state)
{
    char *s = reg_url_escape("repository:a/b:pull,push x&y=z", false);
    assert_string_equal(s, "repository%3Aa%2Fb%3Apull%2Cpush%20x%26y%3Dz");
    free(s);
    s = reg_url_escape("library/busybox-1.0_x~", true);
    assert_string_equal(s, "library/busybox-1.0_x~");
    free(s);
    s = reg_url_escape("\xc3\xa9", false);
    assert_string_equal(s, "%C3%A9");
    free(s);
}

static void
test_resolve_and_origin(void **state)
{
    char *u = NULL;
    assert_int_equal(reg_url_resolve("http://h:5000/v2/a/blobs/x", "/other/path?q=1", &u, NULL), 0);
    assert_string_equal(u, "http://h:5000/other/path?q=1");
    free(u);
    assert_int_equal(reg_url_resolve("http://h/v2/a/blobs/x", "y", &u, NULL), 0);
    assert_string_equal(u, "http://h/v2/a/blobs/y");
    free(u);
    assert_int_equal(reg_url_resolve("http://h/v2/", "https://cdn.example/b?Signature=1", &u, NULL),
                     0);
    assert_string_equal(u, "https://cdn.example/b?Signature=1");
    free(u);
    char *a = NULL, *b = NULL;
    assert_int_equal(reg_url_origin("https://Registry-1.Docker.io/v2/", &a, NULL), 0);
    assert_int_equal(reg_url_origin("https://registry-1.docker.io:443/x", &b, NULL), 0);
    assert_string_equal(a, b);
    free(b);
    assert_int_equal(reg_url_origin("http://registry-1.docker.io/x", &b, NULL), 0);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(reg_url_origin("not a url", &a, NULL), UD_EINVAL);
}

static void
test_names(void **state)
{
    assert_true(reg_repo_is_valid("library/busybox"));
    assert_true(reg_repo_is_valid("a/b-c/d_e.f"));
    assert_false(reg_repo_is_valid(""));
    assert_false(reg_repo_is_valid("/abs"));
    assert_false(reg_repo_is_valid("a//b"));
    assert_false(reg_repo_is_valid("a/../b"));
    assert_false(reg_repo_is_valid("a/b/"));
    assert_false(reg_repo_is_valid("a b"));
    assert_false(reg_repo_is_valid("a?b"));
    assert_true(reg_reference_is_valid("latest"));
    assert_true(reg_reference_is_valid("1.36.1-glibc"));
    assert_true(reg_reference_is_valid("_x"));
    assert_false(reg_reference_is_valid("-x"));
    assert_false(reg_reference_is_valid("a/b"));
    assert_false(reg_reference_is_valid(""));
    const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_true(reg_reference_is_digest(d));
    assert_true(reg_reference_is_valid(d));
    assert_false(reg_reference_is_digest("sha256:XYZ"));
    assert_false(reg_reference_is_digest("latest"));
    assert_false(reg_reference_is_valid("sha256:0123"));
}

static void
feed(struct reg_headers *h, const char *line)
{
    assert_int_equal(reg_headers_feed(h, line, strlen(line)), 0);
}

static void
test_headers(void **state)
{
    struct reg_headers h = {.retry_after_ms = -1, .content_length = -1};
    feed(&h, "HTTP/1.1 302 Found\r\n");
    feed(&h, "Location: /elsewhere\r\n");
    feed(&h, "HTTP/1.1 401 Unauthorized\r\n");
    assert_null(h.location);
    feed(&h, "www-authenticate: Basic realm=\"r\"\r\n");
    feed(&h, "WWW-Authenticate:   Bearer realm=\"t\"  \r\n");
    feed(&h, "Content-Type: application/vnd.oci.image.index.v1+json; charset=utf-8\r\n");
    feed(&h, "Docker-Content-Digest: sha256:abc\r\n");
    feed(&h, "Retry-After: 3\r\n");
    feed(&h, "Content-Length: 1234\r\n");
    feed(&h, "X-Other: ignored\r\n");
    feed(&h, "\r\n");
    assert_string_equal(h.www_auth, "Basic realm=\"r\", Bearer realm=\"t\"");
    assert_string_equal(h.content_type, "application/vnd.oci.image.index.v1+json; charset=utf-8");
    assert_string_equal(h.docker_digest, "sha256:abc");
    assert_int_equal(h.retry_after_ms, 3000);
    assert_int_equal(h.content_length, 1234);
    feed(&h, "Content-Length: -5\r\n");
    assert_int_equal(h.content_length, 1234);
    reg_headers_fini(&h);
    assert_null(h.www_auth);
    assert_int_equal(h.retry_after_ms, -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after), cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_escape),      cmocka_unit_test(test_resolve_and_origin),
        cmocka_unit_test(test_names),       cmocka_unit_test(test_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
