/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry access around the protocol: the proxy rule (explicit, *_proxy,
 * all_proxy, no_proxy with suffixes and CIDR), the Docker CLI config.json
 * lookup (auths, identitytoken, credsStore/credHelpers, Docker Hub
 * aliases, malformed files, allocation failures), credential helpers run
 * for real (good, token, failing, hanging, crashing, missing, garbage),
 * and the identity-token refresh against the loopback fixture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <ud/registry-client.h>

#include "httpd.h"

/* ------------------------------------------------------------------ */
/* Proxies                                                             */
/* ------------------------------------------------------------------ */

static const char *const *fake_env;

static char *
fake_getenv(const char *name)
{
    for (size_t i = 0; fake_env && fake_env[i]; i += 2)
        if (strcmp(fake_env[i], name) == 0)
            return (char *)fake_env[i + 1];
    return NULL;
}

/* want NULL: direct. */
static void
expect_proxy(const char *const *env, const char *url, const char *explicit_proxy, const char *want,
             const char *want_why)
{
    char *out = (char *)"unset";
    const char *why = NULL;
    struct ud_error e = {0};
    fake_env = env;
    assert_int_equal(ud_reg_proxy_select(url, explicit_proxy, fake_getenv, &out, &why, &e), 0);
    if (want == NULL) {
        if (out != NULL)
            fail_msg("%s: expected direct, got %s", url, out);
    } else {
        if (out == NULL)
            fail_msg("%s: expected %s, got direct (%s)", url, want, why);
        assert_string_equal(out, want);
    }
    if (want_why)
        assert_string_equal(why, want_why);
    free(out);
}

static void
test_proxy_select(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    static const char *const env1[] = {"https_proxy", "http://hp:1",  "http_proxy", "http://p:2",
                                       "all_proxy",   "socks5://a:3", NULL};
    static const char *const upper[] = {
        "HTTPS_PROXY", "http://HP:1",   "HTTP_PROXY", "http://bad:9",
        "ALL_PROXY",   "socks5h://A:3", NULL};
    static const char *const np[] = {
        "https_proxy", "http://hp:1", "http_proxy",
        "http://p:2",  "no_proxy",    "localhost, .example.com,10.0.0.0/8,[::1],h:5000",
        NULL};
    static const char *const star[] = {"all_proxy", "socks5://a:3", "NO_PROXY", "*", NULL};

    expect_proxy(none, "https://r.io", NULL, NULL, "no proxy configured");
    expect_proxy(none, "https://r.io", "", NULL, NULL);
    expect_proxy(none, "https://r.io", "socks5h://u:p@s:1080", "socks5h://u:p@s:1080", NULL);
    expect_proxy(env1, "https://r.io", NULL, "http://hp:1", "https_proxy");
    expect_proxy(env1, "http://r.io:5000", NULL, "http://p:2", "http_proxy");
    expect_proxy(env1, "http://r.io", "http://x:1", "http://x:1", NULL);
    /* upper case for https and all; HTTP_PROXY is ignored (httpoxy) */
    expect_proxy(upper, "https://r.io", NULL, "http://HP:1", NULL);
    expect_proxy(upper, "http://r.io", NULL, "socks5h://A:3", "all_proxy");
    /* no_proxy: names, suffixes, CIDR, IPv6, host:port entries */
    expect_proxy(np, "https://localhost:5000", NULL, NULL, "no_proxy");
    expect_proxy(np, "https://reg.example.com", NULL, NULL, "no_proxy");
    expect_proxy(np, "https://example.com", NULL, NULL, "no_proxy");
    expect_proxy(np, "https://badexample.com", NULL, "http://hp:1", NULL);
    expect_proxy(np, "http://10.1.2.3:5000", NULL, NULL, "no_proxy");
    expect_proxy(np, "http://11.1.2.3:5000", NULL, "http://p:2", NULL);
    expect_proxy(np, "http://[::1]:5000/x", NULL, NULL, "no_proxy");
    expect_proxy(np, "https://h", NULL, NULL, "no_proxy");
    expect_proxy(np, "https://user:pw@localhost", NULL, NULL, "no_proxy");
    /* no_proxy also applies to an explicit proxy */
    expect_proxy(np, "https://localhost", "http://x:1", NULL, "no_proxy");
    expect_proxy(star, "https://anything", NULL, NULL, "no_proxy");
}

static void
test_no_proxy_match(void **state)
{
    (void)state;
    assert_true(ud_reg_no_proxy_match("127.0.0.1", "127.0.0.1"));
    assert_true(ud_reg_no_proxy_match("127.0.0.0/8", "127.9.9.9"));
    assert_true(ud_reg_no_proxy_match("0.0.0.0/0", "8.8.8.8"));
    assert_false(ud_reg_no_proxy_match("127.0.0.0/8", "128.0.0.1"));
    assert_false(ud_reg_no_proxy_match("127.0.0.0/33", "127.0.0.1"));
    assert_false(ud_reg_no_proxy_match("127.0.0.0/x", "127.0.0.1"));
    assert_false(ud_reg_no_proxy_match("", "a"));
    assert_false(ud_reg_no_proxy_match(" , ,", "a"));
    assert_false(ud_reg_no_proxy_match(".", "a"));
    assert_true(ud_reg_no_proxy_match("A.COM", "x.a.com"));
    assert_false(ud_reg_no_proxy_match("a.com", "xa.com"));
    assert_true(ud_reg_no_proxy_match("x,  a.com:443", "a.com"));
    assert_false(ud_reg_no_proxy_match(NULL, "a"));
}

/* ------------------------------------------------------------------ */
/* config.json lookup                                                  */
/* ------------------------------------------------------------------ */

static int
lookup(const char *json, const char *url, struct ud_reg_docker_auth *a)
{
    struct ud_error e = {0};
    memset(a, 0, sizeof(*a));
    return ud_reg_docker_config_lookup(json, strlen(json), url, a, &e);
}

static void
test_config_auths(void **state)
{
    (void)state;
    struct ud_reg_docker_auth a;
    const char *cfg = "{\"auths\": {"
                      "\"https://index.docker.io/v1/\": {\"auth\": \"aHViOnB3\"},"
                      "\"quay.io\": {\"auth\": \"cTpw\", \"email\": \"x\"},"
                      "\"http://127.0.0.1:5000\": {\"identitytoken\": \"rt-1\"},"
                      "\"Registry.Example.COM:443/v2/\": {\"auth\": \"ZTpw\"}}}";
    assert_int_equal(lookup(cfg, "https://registry-1.docker.io", &a), 0);
    assert_string_equal(a.auth_b64, "aHViOnB3");
    assert_string_equal(a.server, "https://index.docker.io/v1/");
    assert_null(a.helper);
    ud_reg_docker_auth_fini(&a);
    assert_int_equal(lookup(cfg, "https://docker.io", &a), 0);
    ud_reg_docker_auth_fini(&a);
    assert_int_equal(lookup(cfg, "https://quay.io/", &a), 0);
    assert_string_equal(a.auth_b64, "cTpw");
    ud_reg_docker_auth_fini(&a);
    assert_int_equal(lookup(cfg, "http://127.0.0.1:5000", &a), 0);
    assert_null(a.auth_b64);
    assert_string_equal(a.identity_token, "rt-1");
    ud_reg_docker_auth_fini(&a);
    assert_int_equal(lookup(cfg, "https://registry.example.com:443", &a), 0);
    assert_string_equal(a.auth_b64, "ZTpw");
    ud_reg_docker_auth_fini(&a);
    /* the port is part of the key */
    assert_int_equal(lookup(cfg, "https://127.0.0.1:5001", &a), UD_ENOENT);
    assert_int_equal(lookup(cfg, "https://ghcr.io", &a), UD_ENOENT);
    assert_int_equal(lookup("{}", "https://ghcr.io", &a), UD_ENOENT);
}

static void
test_config_helpers(void **state)
{
    (void)state;
    struct ud_reg_docker_auth a;
    const char *cfg = "{\"credsStore\": \"desktop\", \"credHelpers\": {\"gcr.io\": \"gcloud\","
                      " \"docker.io\": \"hubhelper\"}, \"auths\": {\"gcr.io\": {}}}";
    assert_int_equal(lookup(cfg, "https://gcr.io", &a), 0);
    assert_string_equal(a.helper, "gcloud");
    assert_string_equal(a.server, "gcr.io");
    ud_reg_docker_auth_fini(&a);
    assert_int_equal(lookup(cfg, "https://registry-1.docker.io", &a), 0);
    assert_string_equal(a.helper, "hubhelper");
    assert_string_equal(a.server, "https://index.docker.io/v1/");
    ud_reg_docker_auth_fini(&a);
    assert_int_equal(lookup(cfg, "https://quay.io:8443", &a), 0);
    assert_string_equal(a.helper, "desktop");
    assert_string_equal(a.server, "quay.io:8443");
    ud_reg_docker_auth_fini(&a);
}

static void
test_config_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "{\"auths\": {",
        "[]",
        "{\"auths\": []}",
        "{\"auths\": {\"quay.io\": \"x\"}}",
        "{\"auths\": {\"quay.io\": {\"auth\": 5}}}",
        "{\"auths\": {\"quay.io\": {\"auth\": \"a\\nb\"}}}",
        "{\"credHelpers\": 1}",
        "{\"credsStore\": 1}",
        "{\"auths\": {}, \"auths\": {}}",
        NULL,
    };
    struct ud_reg_docker_auth a;
    struct ud_error e = {0};
    for (size_t i = 0; bad[i]; i++) {
        memset(&a, 0, sizeof(a));
        int rc = ud_reg_docker_config_lookup(bad[i], strlen(bad[i]), "https://quay.io", &a, &e);
        if (rc != UD_EPARSE)
            fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
        assert_null(strchr(e.msg, '\n'));
        assert_null(a.auth_b64);
    }
    assert_int_equal(ud_reg_docker_config_lookup("{}", 2, "no scheme or host/", &a, &e), UD_ENOENT);
    assert_int_equal(ud_reg_docker_config_lookup("{}", 2, "", &a, &e), UD_EINVAL);
}

static void
test_config_alloc_failures(void **state)
{
    (void)state;
    const char *cfg = "{\"credsStore\": \"s\", \"auths\": {\"quay.io\": {\"auth\": \"cTpw\","
                      " \"identitytoken\": \"t\"}}}";
    for (int n = 1;; n++) {
        struct ud_reg_docker_auth a = {0};
        struct ud_error e = {0};
        ud_alloc_fail_after(n);
        int rc = ud_reg_docker_config_lookup(cfg, strlen(cfg), "https://quay.io", &a, &e);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_string_equal(a.auth_b64, "cTpw");
            assert_string_equal(a.helper, "s");
            ud_reg_docker_auth_fini(&a);
            break;
        }
        assert_int_equal(rc, UD_ENOMEM);
        assert_null(a.auth_b64);
        assert_true(n < 100);
    }
}

/* ------------------------------------------------------------------ */
/* Credential helpers, run for real                                    */
/* ------------------------------------------------------------------ */

struct hfx {
    char dir[64];
    char *old_path;
};

static void
write_script(const char *dir, const char *name, const char *body)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/docker-credential-%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, 0755);
}

static int
hsetup(void **state)
{
    struct hfx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/ud-helpers-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    write_script(
        f->dir, "good",
        "read -r s; [ \"$s\" = reg.example ] || { echo 'not found'; exit 1; }\n"
        "echo '{\"ServerURL\":\"reg.example\",\"Username\":\"user\",\"Secret\":\"pass\"}'");
    write_script(f->dir, "token",
                 "cat >/dev/null; echo '{\"Username\":\"<token>\",\"Secret\":\"rt-9\"}'");
    write_script(f->dir, "hang", "sleep 20");
    write_script(f->dir, "crash", "kill -SEGV $$");
    write_script(f->dir, "garbage", "echo 'not json'");
    write_script(f->dir, "nosecret", "echo '{\"Username\":\"u\",\"Secret\":\"\"}'");
    const char *p = getenv("PATH");
    f->old_path = strdup(p ? p : "/usr/bin:/bin");
    char np[4096];
    snprintf(np, sizeof(np), "%s:%s", f->dir, f->old_path);
    setenv("PATH", np, 1);
    *state = f;
    return 0;
}

static int
hteardown(void **state)
{
    struct hfx *f = *state;
    setenv("PATH", f->old_path, 1);
    free(f->old_path);
    if (ud_rm_rf(f->dir, NULL) < 0)
        print_error("cannot remove %s\n", f->dir);
    free(f);
    return 0;
}

static int
helper(const char *name, long tmo, char **ab, char **it, struct ud_error *e)
{
    *ab = *it = NULL;
    return ud_reg_cred_helper_get(name, "reg.example", tmo, ab, it, e);
}

static void
test_helper_answers(void **state)
{
    (void)state;
    char *ab, *it;
    struct ud_error e = {0};
    assert_int_equal(helper("good", 5000, &ab, &it, &e), 0);
    assert_string_equal(ab, "dXNlcjpwYXNz"); /* user:pass */
    assert_null(it);
    free(ab);
    assert_int_equal(helper("token", 5000, &ab, &it, &e), 0);
    assert_null(ab);
    assert_string_equal(it, "rt-9");
    free(it);
    assert_int_equal(ud_reg_cred_helper_get("good", "other", 5000, &ab, &it, &e), UD_ENOENT);
}

static void
test_helper_failures(void **state)
{
    (void)state;
    char *ab, *it;
    struct ud_error e = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(helper("hang", 300, &ab, &it, &e), UD_ENET);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms < 3000);
    assert_non_null(strstr(e.msg, "timed out"));
    assert_int_equal(helper("crash", 5000, &ab, &it, &e), UD_EREMOTE);
    assert_non_null(strstr(e.msg, "signal"));
    assert_int_equal(helper("missing", 5000, &ab, &it, &e), UD_ENOENT);
    assert_int_equal(helper("garbage", 5000, &ab, &it, &e), UD_EPARSE);
    assert_int_equal(helper("nosecret", 5000, &ab, &it, &e), UD_EPARSE);
    assert_int_equal(helper("../evil", 5000, &ab, &it, &e), UD_EINVAL);
    assert_int_equal(helper("", 5000, &ab, &it, &e), UD_EINVAL);
    assert_int_equal(ud_reg_cred_helper_get("good", "a\nb", 5000, &ab, &it, &e), UD_EINVAL);
}

static void
write_cfg(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The whole chain: helper first, its failure falls back to auths. */
static void
test_docker_credentials(void **state)
{
    struct hfx *f = *state;
    char path[128], *ab = NULL, *it = NULL;
    struct ud_error e = {0};
    snprintf(path, sizeof(path), "%s/config.json", f->dir);
    assert_int_equal(ud_reg_docker_credentials(path, "https://reg.example", 1000, &ab, &it, &e),
                     UD_ENOENT);
    write_cfg(path, "{\"credHelpers\": {\"reg.example\": \"good\"}}");
    assert_int_equal(ud_reg_docker_credentials(path, "https://reg.example", 1000, &ab, &it, &e), 0);
    assert_string_equal(ab, "dXNlcjpwYXNz");
    free(ab);
    static const char *const fallbacks[] = {"hang", "crash", "missing", "garbage", NULL};
    for (size_t i = 0; fallbacks[i]; i++) {
        char cfg[256];
        snprintf(cfg, sizeof(cfg),
                 "{\"credsStore\": \"%s\", \"auths\": {\"reg.example\": {\"auth\": \"Zjpw\"}}}",
                 fallbacks[i]);
        write_cfg(path, cfg);
        ab = it = NULL;
        assert_int_equal(ud_reg_docker_credentials(path, "https://reg.example", 300, &ab, &it, &e),
                         0);
        assert_string_equal(ab, "Zjpw");
        free(ab);
    }
    write_cfg(path, "{\"credsStore\": \"missing\"}");
    assert_int_equal(ud_reg_docker_credentials(path, "https://reg.example", 300, &ab, &it, &e),
                     UD_ENOENT);
    write_cfg(path, "{\"auths\": {\"reg.example\": {\"identitytoken\": \"rt\"}}}");
    assert_int_equal(ud_reg_docker_credentials(path, "https://reg.example", 300, &ab, &it, &e), 0);
    assert_null(ab);
    assert_string_equal(it, "rt");
    free(it);
    write_cfg(path, "{\"auths\": ");
    assert_int_equal(ud_reg_docker_credentials(path, "https://reg.example", 300, &ab, &it, &e),
                     UD_EPARSE);
    assert_non_null(strstr(e.msg, "config.json"));
}

/* ------------------------------------------------------------------ */
/* Identity token: OAuth2 refresh at the realm                         */
/* ------------------------------------------------------------------ */

struct tctx {
    int posts;
    char body[1024];
    char authz[2048];
};

static void
token_handler(const struct httpd_req *r, void *p)
{
    struct tctx *c = p;
    if (strncmp(r->target, "/token", 6) == 0) {
        if (strcmp(r->method, "POST") == 0) {
            c->posts++;
            snprintf(c->body, sizeof(c->body), "%s", r->body);
            snprintf(c->authz, sizeof(c->authz), "%s", r->authorization);
            static const char tok[] = "{\"access_token\":\"acc-1\",\"refresh_token\":\"rt-2\"}";
            httpd_reply(r, 200, "Content-Type: application/json\r\n", tok, sizeof(tok) - 1);
        } else {
            httpd_reply(r, 405, NULL, "", 0);
        }
        return;
    }
    if (strcmp(r->authorization, "Bearer acc-1") == 0) {
        static const char m[] = "{\"schemaVersion\":2}";
        httpd_reply(r, 200, "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n", m,
                    sizeof(m) - 1);
        return;
    }
    char h[512];
    snprintf(h, sizeof(h),
             "WWW-Authenticate: Bearer realm=\"%s/token\",service=\"svc\","
             "scope=\"repository:lib/img:pull\"\r\n",
             httpd_url(r->d));
    httpd_reply(r, 401, h, "{}", 2);
}

static void
test_identity_token_refresh(void **state)
{
    (void)state;
    struct tctx c = {0};
    struct httpd *d = httpd_start(token_handler, &c);
    assert_non_null(d);
    struct ud_reg_options o = {.registry_url = httpd_url(d),
                               .identity_token = "rt-1",
                               .auth_b64 = "dXNlcjpwYXNz",
                               .proxy = ""};
    struct ud_reg_client *cl = NULL;
    struct ud_error e = {0};
    assert_int_equal(ud_reg_client_new(&o, &cl, &e), 0);
    char *body = NULL;
    size_t len = 0;
    int rc = ud_reg_manifest_get(cl, "lib/img", "latest", &body, &len, NULL, NULL, &e);
    if (rc != 0)
        fail_msg("manifest: %s", e.msg);
    assert_int_equal(c.posts, 1);
    assert_non_null(strstr(c.body, "grant_type=refresh_token"));
    assert_non_null(strstr(c.body, "refresh_token=rt-1"));
    assert_non_null(strstr(c.body, "service=svc"));
    assert_non_null(strstr(c.body, "scope=repository%3Alib%2Fimg%3Apull"));
    assert_string_equal(c.authz, ""); /* the refresh token is the credential */
    free(body);
    ud_reg_client_free(cl);
    httpd_stop(d);
    o.identity_token = "bad\nline";
    assert_int_equal(ud_reg_client_new(&o, &cl, &e), UD_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_select),
        cmocka_unit_test(test_no_proxy_match),
        cmocka_unit_test(test_config_auths),
        cmocka_unit_test(test_config_helpers),
        cmocka_unit_test(test_config_malformed),
        cmocka_unit_test(test_config_alloc_failures),
        cmocka_unit_test_setup_teardown(test_helper_answers, hsetup, hteardown),
        cmocka_unit_test_setup_teardown(test_helper_failures, hsetup, hteardown),
        cmocka_unit_test_setup_teardown(test_docker_credentials, hsetup, hteardown),
        cmocka_unit_test(test_identity_token_refresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
