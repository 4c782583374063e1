/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_http_get: one API request carried through redirects, authentication
 * and retries. Redirects are followed here rather than by curl so that the
 * Authorization header is only ever sent to the registry's own origin
 * (pre-signed S3/CDN URLs reject it, and it must not leak elsewhere).
 */
#include <string.h>

#include "reg_int.h"

struct sink {
    struct ud_buf buf;
    bool too_big;
};

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    if (ud_buf_append(&s->buf, p, n, NULL) < 0) {
        s->too_big = true;
        return 0;
    }
    return n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
    /* An oversize or unstorable header is ignored rather than fatal. */
    (void)reg_headers_feed(ud, p, n);
    return n;
}

void
reg_response_fini(struct reg_response *r)
{
    free(r->body);
    free(r->url);
    reg_headers_fini(&r->h);
    memset(r, 0, sizeof(*r));
    r->h.retry_after_ms = -1;
    r->h.content_length = -1;
}

/* Whether the Authorization header may go to url: same origin as the
 * registry (or as the explicit header's target) and not a signed URL. */
static bool
may_send_auth(const char *url, const char *origin)
{
    char *o = NULL;
    if (strstr(url, "Signature=") || reg_url_origin(url, &o, NULL) < 0)
        return false;
    bool same = strcmp(o, origin) == 0;
    free(o);
    return same;
}

static int
build_headers(struct ud_reg_client *c, const struct reg_request *req, const char *url,
              const char *origin, struct curl_slist **out, struct ud_error *err)
{
    struct curl_slist *l = NULL, *t;
    const char *authz = NULL;
    if (req->authz)
        authz = req->authz;
    else if (!req->no_auth)
        authz = reg_token_get(c, req->repo);
    if (authz && may_send_auth(url, origin)) {
        if (!(l = curl_slist_append(l, authz)))
            goto oom;
    }
    for (size_t i = 0; req->accept && req->accept[i]; i++) {
        cleanup_free char *line = ud_asprintf("Accept: %s", req->accept[i]);
        if (!line || !(t = curl_slist_append(l, line)))
            goto oom;
        l = t;
    }
    *out = l;
    return 0;
oom:
    curl_slist_free_all(l);
    return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
}

/* One perform of url into resp (body capped). */
static int
perform_once(struct ud_reg_client *c, const struct reg_request *req, const char *url,
             const char *origin, struct reg_response *resp, CURLcode *crc, char *errbuf,
             struct ud_error *err)
{
    struct curl_slist *hdrs = NULL;
    struct sink s = {.too_big = false};
    CURL *e = c->easy;
    int rc = build_headers(c, req, url, origin, &hdrs, err);
    if (rc < 0)
        return rc;
    ud_buf_init(&s.buf, req->body_max ? req->body_max : c->manifest_max);
    reg_response_fini(resp);
    curl_easy_reset(e);
    reg_easy_setup(c, e, false);
    errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &resp->h);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    if (req->post_form)
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->post_form);
    *crc = curl_easy_perform(e);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (s.too_big) {
        size_t max = s.buf.max;
        ud_buf_fini(&s.buf);
        return ud_error_set(err, UD_ETOOBIG, 0, "%.120s: response larger than %zu bytes", url, max);
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->len = s.buf.len;
    resp->body = ud_buf_steal(&s.buf);
    resp->url = ud_strdup(url);
    if (!resp->body || !resp->url)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return 0;
}

static bool
status_is_retryable(long st)
{
    return st == 429 || (st >= 500 && st != 501 && st != 505);
}

static bool
is_redirect(long st)
{
    return st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
}

/* After a response: decide what to do next. 1 = loop again (url may have
 * changed), 0 = done, <0 = error. */
static int
next_step(struct ud_reg_client *c, const struct reg_request *req, struct reg_response *resp,
          char **url, int *attempt, int *hops, bool *auth_done, const char *origin,
          struct ud_error *err)
{
    long st = resp->status;
    if (is_redirect(st) && resp->h.location) {
        if (++*hops > REG_MAX_REDIRECTS)
            return ud_error_set(err, UD_EREMOTE, 0, "%.120s: too many redirects", req->url);
        char *next = NULL;
        int rc = reg_url_resolve(*url, resp->h.location, &next, err);
        if (rc < 0)
            return rc;
        ud_log(UD_LOG_DEBUG, "registry: redirect to %.200s", next);
        free(*url);
        *url = next;
        return 1;
    }
    if (st == 401 && !req->no_auth && !req->authz && resp->h.www_auth && !*auth_done &&
        may_send_auth(*url, origin)) {
        int rc = reg_auth_negotiate(c, req->repo, resp->h.www_auth, err);
        if (rc < 0)
            return rc;
        *auth_done = true;
        return 1;
    }
    if (status_is_retryable(st) && *attempt < c->attempts) {
        long ms = reg_backoff_ms(c, *attempt, resp->h.retry_after_ms);
        ud_log(UD_LOG_DEBUG, "registry: HTTP %ld, retry in %ld ms", st, ms);
        int rc = reg_sleep_ms(c, ms, err);
        if (rc < 0)
            return rc;
        ++*attempt;
        return 1;
    }
    return 0;
}

int
reg_http_get(struct ud_reg_client *c, const struct reg_request *req, struct reg_response *resp,
             struct ud_error *err)
{
    cleanup_free char *url = ud_strdup(req->url);
    cleanup_free char *origin = NULL;
    char errbuf[CURL_ERROR_SIZE];
    int attempt = 1, hops = 0;
    bool auth_done = false;
    struct reg_response r = {.h = {.retry_after_ms = -1, .content_length = -1}};
    if (!url)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int rc = reg_url_origin(req->url, &origin, err);
    while (rc == 0) {
        if (reg_cancelled(c)) {
            rc = ud_error_set(err, UD_ECANCELED, 0, "interrupted");
            break;
        }
        CURLcode crc = CURLE_OK;
        ud_log(UD_LOG_DEBUG, "registry: GET %.200s", url);
        rc = perform_once(c, req, url, origin, &r, &crc, errbuf, err);
        if (rc < 0)
            break;
        if (crc != CURLE_OK) {
            if (reg_curl_transient(crc) && attempt < c->attempts) {
                ud_log(UD_LOG_DEBUG, "registry: %s, retrying", curl_easy_strerror(crc));
                rc = reg_sleep_ms(c, reg_backoff_ms(c, attempt++, -1), err);
                continue;
            }
            rc = reg_curl_error(crc, errbuf, url, err);
            break;
        }
        rc = next_step(c, req, &r, &url, &attempt, &hops, &auth_done, origin, err);
        if (rc == 0) {
            *resp = r;
            return 0;
        }
        if (rc > 0)
            rc = 0;
    }
    reg_response_fini(&r);
    return rc;
}
