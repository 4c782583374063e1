/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry API calls against the loopback fixture: the bearer token flow
 * (with credentials, wrong password, access_token, caching), Basic auth,
 * insufficient scope, status mapping, retries with Retry-After, redirects
 * that must drop Authorization across hosts, digest verification, size
 * cap, tag pagination, search fallback and end-of-results, ping.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpd.h"
#include <ud/registry-client.h>

#define MANIFEST "{\"schemaVersion\":2,\"layers\":[]}"
#define TOKEN_QUERY "/token?service=reg.example&scope=repository%3Alib%2Fimg%3Apull%2Cpush"

enum mode {
    M_BEARER,
    M_BEARER_ACCESS_TOKEN,
    M_BASIC,
    M_SCOPE,
    M_STATUS,
    M_FLAKY,
    M_REDIRECT,
    M_TAGS,
    M_TAGS_XHOST,
    M_SEARCH,
};

struct ctx {
    enum mode mode;
    int status;     /* M_STATUS: always answer this */
    int fail_first; /* M_FLAKY: this many failures first */
    int fail_status;
    const char *body; /* manifest body to serve */
    char other[64];   /* URL of the second server (redirect target) */
    pthread_mutex_t mu;
    int token_requests;
    int manifest_requests;
    char last_accept[1024];
    char other_auth[2048]; /* Authorization seen by the second server */
    int other_hits;
};

static struct ctx *
ctx_lock(void *p)
{
    struct ctx *c = p;
    pthread_mutex_lock(&c->mu);
    return c;
}

static void
serve_manifest(const struct httpd_req *r, struct ctx *c)
{
    httpd_reply(r, 200,
                "Content-Type: application/vnd.oci.image.manifest.v1+json; charset=utf-8\r\n"
                "Docker-Content-Digest: sha256:feed\r\n",
                c->body, strlen(c->body));
}

static void
handle_token(const struct httpd_req *r, struct ctx *c)
{
    if (strcmp(r->target, TOKEN_QUERY) != 0) {
        httpd_reply(r, 400, NULL, "bad query", 9);
        return;
    }
    if (r->authorization[0] && strcmp(r->authorization, "Basic dXNlcjpwYXNz") != 0) {
        httpd_reply(r, 401, NULL, "{}", 2);
        return;
    }
    const char *tok = c->mode == M_BEARER_ACCESS_TOKEN
                          ? "{\"access_token\":\"tok123\"}"
                          : "{\"token\":\"tok123\",\"expires_in\":300}";
    httpd_reply(r, 200, "Content-Type: application/json\r\n", tok, strlen(tok));
}

static void
handle_auth(const struct httpd_req *r, struct ctx *c)
{
    char h[512];
    if (c->mode == M_BASIC) {
        if (strcmp(r->authorization, "Basic dXNlcjpwYXNz") == 0)
            serve_manifest(r, c);
        else
            httpd_reply(r, 401, "WWW-Authenticate: Basic realm=\"Registry Realm\"\r\n", NULL, 0);
        return;
    }
    if (strcmp(r->authorization, "Bearer tok123") == 0 && c->mode != M_SCOPE) {
        serve_manifest(r, c);
        return;
    }
    /* Spaces after commas and a comma inside the scope: upstream's bug. */
    snprintf(h, sizeof(h),
             "WWW-Authenticate: Bearer realm=\"%s/token\", service=\"reg.example\", "
             "scope=\"repository:lib/img:pull,push\"%s\r\n",
             httpd_url(r->d), c->mode == M_SCOPE ? ",error=\"insufficient_scope\"" : "");
    httpd_reply(r, 401, h, "{\"errors\":[]}", 13);
}

static void
handler(const struct httpd_req *r, void *p)
{
    struct ctx *c = ctx_lock(p);
    if (strncmp(r->target, "/token", 6) == 0) {
        c->token_requests++;
        handle_token(r, c);
    } else if (strstr(r->target, "/manifests/")) {
        c->manifest_requests++;
        snprintf(c->last_accept, sizeof(c->last_accept), "%s", r->accept);
        if (c->mode == M_STATUS)
            httpd_reply(r, c->status, "Retry-After: 0\r\n", "{}", 2);
        else if (c->mode == M_FLAKY && c->manifest_requests <= c->fail_first)
            httpd_reply(r, c->fail_status, "Retry-After: 0\r\n", "{}", 2);
        else if (c->mode == M_FLAKY)
            serve_manifest(r, c);
        else if (c->mode == M_REDIRECT && strstr(r->target, "/manifests/latest")) {
            char h[256];
            snprintf(h, sizeof(h), "Location: %s/elsewhere?Signature=x\r\n", c->other);
            httpd_reply(r, 307, h, NULL, 0);
        } else if (c->mode == M_REDIRECT && strstr(r->target, "/manifests/rel")) {
            if (strcmp(r->authorization, "Bearer tok123") != 0)
                handle_auth(r, c);
            else
                httpd_reply(r, 302, "Location: ../manifests/final\r\n", NULL, 0);
        } else if (c->mode == M_REDIRECT && strstr(r->target, "/manifests/final")) {
            /* same origin: the token must still be sent */
            if (strcmp(r->authorization, "Bearer tok123") == 0)
                serve_manifest(r, c);
            else
                httpd_reply(r, 403, NULL, NULL, 0);
        } else
            handle_auth(r, c);
    } else if (c->mode == M_TAGS && strcmp(r->target, "/v2/lib/img/tags/list") == 0) {
        const char *b = "{\"name\":\"lib/img\",\"tags\":[\"1.0\",\"1.1\"]}";
        httpd_reply(r, 200, "Link: </v2/lib/img/tags/list?last=1.1&n=2>; rel=\"next\"\r\n", b,
                    strlen(b));
    } else if (c->mode == M_TAGS_XHOST && strcmp(r->target, "/v2/lib/img/tags/list") == 0) {
        /* Basic-protected page whose Link points at another host. */
        char h[256];
        const char *b = "{\"name\":\"lib/img\",\"tags\":[\"1.0\"]}";
        snprintf(h, sizeof(h), "Link: <%s/v2/lib/img/tags/list?last=1.0>; rel=\"next\"\r\n",
                 c->other);
        if (strcmp(r->authorization, "Basic dXNlcjpwYXNz") == 0)
            httpd_reply(r, 200, h, b, strlen(b));
        else
            httpd_reply(r, 401, "WWW-Authenticate: Basic realm=\"r\"\r\n", NULL, 0);
    } else if (c->mode == M_TAGS && strstr(r->target, "/tags/list?last=1.1")) {
        const char *b = "{\"name\":\"lib/img\",\"tags\":[\"latest\"]}";
        httpd_reply(r, 200, NULL, b, strlen(b));
    } else if (c->mode == M_SEARCH &&
               strncmp(r->target, "/v1/search?q=busy%2A&n=2&page=", 30) == 0) {
        const char *b = strstr(r->target, "page=2")
                            ? "{\"num_pages\":2,\"num_results\":3,\"page\":2,\"results\":"
                              "[{\"name\":\"busy/c\",\"description\":\"c\",\"star_count\":1}]}"
                            : "{\"num_pages\":2,\"num_results\":3,\"page\":1,\"results\":"
                              "[{\"name\":\"busybox\",\"description\":\"tiny\",\"star_count\":"
                              "3000,\"is_official\":true},{\"name\":\"busy/b\"}]}";
        httpd_reply(r, 200, NULL, b, strlen(b));
    } else if (strcmp(r->target, "/v2/") == 0) {
        httpd_reply(r, c->mode == M_STATUS ? c->status : 401, NULL, "{}", 2);
    } else {
        httpd_reply(r, 404, NULL, "{}", 2);
    }
    pthread_mutex_unlock(&c->mu);
}

static void
other_handler(const struct httpd_req *r, void *p)
{
    struct ctx *c = ctx_lock(p);
    c->other_hits++;
    snprintf(c->other_auth, sizeof(c->other_auth), "%s", r->authorization);
    serve_manifest(r, c);
    pthread_mutex_unlock(&c->mu);
}

struct fx {
    struct ctx c;
    struct httpd *d;
    struct httpd *other;
    struct ud_reg_client *cl;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->c.mu, NULL);
    f->c.body = MANIFEST;
    f->d = httpd_start(handler, &f->c);
    f->other = httpd_start(other_handler, &f->c);
    if (!f->d || !f->other)
        return -1;
    snprintf(f->c.other, sizeof(f->c.other), "%s", httpd_url(f->other));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    ud_reg_client_free(f->cl);
    httpd_stop(f->d);
    httpd_stop(f->other);
    pthread_mutex_destroy(&f->c.mu);
    free(f);
    return 0;
}

static struct ud_reg_client *
client(struct fx *f, const char *auth)
{
    struct ud_reg_options o = {.registry_url = httpd_url(f->d),
                               .auth_b64 = auth,
                               .retry_base_ms = 1,
                               .user_agent = "udocker-test"};
    struct ud_error err = {0};
    ud_reg_client_free(f->cl);
    f->cl = NULL;
    assert_int_equal(ud_reg_client_new(&o, &f->cl, &err), 0);
    return f->cl;
}

static int
get(struct fx *f, const char *ref, char **body, char **ct, struct ud_error *err)
{
    size_t len = 0;
    char *dcd = NULL;
    int rc = ud_reg_manifest_get(f->cl, "lib/img", ref, body, &len, ct, &dcd, err);
    if (rc == 0) {
        assert_int_equal(len, strlen(*body));
        assert_string_equal(dcd, "sha256:feed");
    }
    free(dcd);
    return rc;
}

static void
test_bearer_flow(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *body = NULL, *ct = NULL;
    client(f, "dXNlcjpwYXNz");
    assert_int_equal(get(f, "latest", &body, &ct, &err), 0);
    assert_string_equal(body, MANIFEST);
    assert_string_equal(ct, "application/vnd.oci.image.manifest.v1+json");
    free(body);
    free(ct);
    assert_string_equal(f->c.last_accept,
                        "application/vnd.docker.distribution.manifest.v2+json, "
                        "application/vnd.docker.distribution.manifest.v1+prettyjws, "
                        "application/json, "
                        "application/vnd.docker.distribution.manifest.list.v2+json, "
                        "application/vnd.oci.image.manifest.v1+json, "
                        "application/vnd.oci.image.index.v1+json");
    /* the cached token serves the second request */
    assert_int_equal(get(f, "v2", &body, NULL, &err), 0);
    free(body);
    assert_int_equal(f->c.token_requests, 1);
    assert_int_equal(f->c.manifest_requests, 3);
}

static void
test_bearer_anonymous_access_token(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *body = NULL;
    f->c.mode = M_BEARER_ACCESS_TOKEN;
    client(f, NULL);
    assert_int_equal(get(f, "latest", &body, NULL, &err), 0);
    free(body);
}

static void
test_wrong_password(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *body = NULL;
    client(f, "d3Jvbmc6cGFzcw==");
    assert_int_equal(get(f, "latest", &body, NULL, &err), UD_EAUTH);
    assert_non_null(strstr(err.msg, "authentication failed"));
}

static void
test_insufficient_scope(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *body = NULL;
    f->c.mode = M_SCOPE;
    client(f, NULL);
    assert_int_equal(get(f, "latest", &body, NULL, &err), UD_EAUTH);
    assert_non_null(strstr(err.msg, "insufficient scope"));
    assert_int_equal(f->c.token_requests, 0);
}

static void
test_basic(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *body = NULL;
    f->c.mode = M_BASIC;
    client(f, NULL);
    assert_int_equal(get(f, "latest", &body, NULL, &err), UD_EAUTH);
    assert_non_null(strstr(err.msg, "credentials"));
    client(f, "dXNlcjpwYXNz");
    assert_int_equal(get(f, "latest", &body, NULL, &err), 0);
    free(body);
}

static void
test_status_mapping(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *body = NULL;
    f->c.mode = M_STATUS;
    client(f, NULL);
    f->c.status = 404;
    assert_int_equal(get(f, "latest", &body, NULL, &err), UD_ENOTFOUND);
    f->c.status = 403;
    assert_int_equal(get(f, "latest", &body, NULL, &err), UD_EAUTH);
    assert_non_null(strstr(err.msg, "manifest not found or not authorized"));
    f->c.manifest_requests = 0;
    f->c.status = 503;
    assert_int_equal(get(f, "latest", &body, NULL, &err), UD_EREMOTE);
    assert_int_equal(f->c.manifest_requests, 3); /* retried up to the budget */
    f->c.manifest_requests = 0;
    f->c.status = 400;
    assert_int_equal(get(f, "latest", &body, NULL, &err), UD_EREMOTE);
    assert_int_equal(f->c.manifest_requests, 1);
    assert_int_equal(ud_reg_manifest_get(f->cl, "../etc", "latest", &body, NULL, NULL, NULL, &err),
                     UD_EINVAL);
    assert_int_equal(
        ud_reg_manifest_get(f->cl, "lib/img", "bad tag", &body, NULL, NULL, NULL, &err), UD_EINVAL);
}

static void
test_retries(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *body = NULL;
    f->c.mode = M_FLAKY;
    f->c.fail_first = 1;
    f->c.fail_status = 500;
    client(f, NULL);
    assert_int_equal(get(f, "latest", &body, NULL, &err), 0);
    free(body);
    assert_int_equal(f->c.manifest_requests, 2);
    f->c.manifest_requests = 0;
    f->c.fail_first = 2;
    f->c.fail_status = 429;
    assert_int_equal(get(f, "latest", &body, NULL, &err), 0);
    free(body);
    assert_int_equal(f->c.manifest_requests, 3);
}

static void
test_redirects(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *body = NULL;
    f->c.mode = M_REDIRECT;
    client(f, NULL);
    /* get a token first, then a cross-host redirect must not carry it */
    assert_int_equal(get(f, "rel", &body, NULL, &err), 0);
    free(body);
    assert_int_equal(get(f, "latest", &body, NULL, &err), 0);
    assert_string_equal(body, MANIFEST);
    free(body);
    assert_int_equal(f->c.other_hits, 1);
    assert_string_equal(f->c.other_auth, "");
}

static void
test_digest_reference(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *body = NULL;
    char hex[65], ref[80];
    f->c.mode = M_FLAKY;
    client(f, NULL);
    assert_int_equal(ud_sha256_hex(MANIFEST, strlen(MANIFEST), hex, NULL), 0);
    snprintf(ref, sizeof(ref), "sha256:%s", hex);
    assert_int_equal(get(f, ref, &body, NULL, &err), 0);
    free(body);
    f->c.body = "{\"tampered\":true}";
    assert_int_equal(get(f, ref, &body, NULL, &err), UD_EDIGEST);
}

static void
test_size_cap_and_network(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *body = NULL;
    f->c.mode = M_FLAKY;
    struct ud_reg_options o = {.registry_url = httpd_url(f->d), .manifest_max = 10};
    assert_int_equal(ud_reg_client_new(&o, &f->cl, &err), 0);
    assert_int_equal(get(f, "latest", &body, NULL, &err), UD_ETOOBIG);
    ud_reg_client_free(f->cl);
    f->cl = NULL;
    /* a port nobody listens on */
    struct httpd *gone = httpd_start(handler, &f->c);
    char url[64];
    snprintf(url, sizeof(url), "%s", httpd_url(gone));
    httpd_stop(gone);
    o = (struct ud_reg_options){.registry_url = url, .retry_base_ms = 1};
    assert_int_equal(ud_reg_client_new(&o, &f->cl, &err), 0);
    assert_int_equal(get(f, "latest", &body, NULL, &err), UD_ENET);
    assert_true(strlen(err.msg) > 10);
    assert_int_equal(ud_reg_ping(f->cl, &err), UD_ENET);
    /* bad URLs are refused up front */
    struct ud_reg_client *x = NULL;
    o.registry_url = "ftp://h";
    assert_int_equal(ud_reg_client_new(&o, &x, &err), UD_EINVAL);
    o.registry_url = "registry-1.docker.io";
    assert_int_equal(ud_reg_client_new(&o, &x, &err), UD_EINVAL);
}

static void
test_tags(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char **tags = NULL;
    f->c.mode = M_TAGS;
    client(f, NULL);
    assert_int_equal(ud_reg_tags_list(f->cl, "lib/img", &tags, &err), 0);
    assert_int_equal(ud_strv_len(tags), 3);
    assert_string_equal(tags[0], "1.0");
    assert_string_equal(tags[2], "latest");
    ud_strv_free(tags);
    assert_int_equal(ud_reg_tags_list(f->cl, "lib/none", &tags, &err), UD_ENOTFOUND);
}

/* A Link to another host is followed without the registry's credentials. */
static void
test_tags_link_other_host(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char **tags = NULL;
    f->c.mode = M_TAGS_XHOST;
    client(f, "dXNlcjpwYXNz");
    assert_int_equal(ud_reg_tags_list(f->cl, "lib/img", &tags, &err), 0);
    assert_int_equal(ud_strv_len(tags), 1);
    assert_string_equal(tags[0], "1.0");
    ud_strv_free(tags);
    assert_int_equal(f->c.other_hits, 1);
    assert_string_equal(f->c.other_auth, "");
}

static void
test_search(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    struct ud_reg_search_page p;
    f->c.mode = M_SEARCH;
    client(f, NULL);
    /* index v2 and v1 404, registry v2 404, registry v1 answers */
    assert_int_equal(ud_reg_search(f->cl, httpd_url(f->d), "busy*", 1, 2, &p, &err), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.results[0].name, "busybox");
    assert_string_equal(p.results[0].description, "tiny");
    assert_int_equal(p.results[0].stars, 3000);
    assert_true(p.results[0].official);
    assert_string_equal(p.results[1].description, "");
    assert_false(p.last);
    ud_reg_search_page_fini(&p);
    assert_int_equal(ud_reg_search(f->cl, NULL, "busy*", 2, 2, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_true(p.last);
    ud_reg_search_page_fini(&p);
    f->c.mode = M_TAGS;
    assert_int_equal(ud_reg_search(f->cl, NULL, "x", 1, 2, &p, &err), UD_ENOTFOUND);
}

static void
test_ping(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    client(f, NULL);
    assert_int_equal(ud_reg_ping(f->cl, &err), 0);
    f->c.mode = M_STATUS;
    f->c.status = 404;
    assert_int_equal(ud_reg_ping(f->cl, &err), UD_EUNSUPP);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bearer_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bearer_anonymous_access_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insufficient_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap_and_network, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags_link_other_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
