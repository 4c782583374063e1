/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The synchronous request engine for API calls (manifests, tokens, tags,
 * search): redirects followed by hand so credentials never leak to another
 * host, 401 answered through the auth module, 429/5xx and transient network
 * failures retried with exponential backoff honouring Retry-After.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reg_int.h"

/* ---------------------------------------------------------------- */
/* Response headers                                                  */
/* ---------------------------------------------------------------- */

void
reg_headers_fini(struct reg_headers *h)
{
    free(h->content_type);
    free(h->docker_digest);
    free(h->www_auth);
    free(h->location);
    free(h->link);
    free(h->content_range);
    memset(h, 0, sizeof(*h));
    h->retry_after_ms = -1;
    h->content_length = -1;
}

static int
set_value(char **slot, const char *v, size_t n, bool append)
{
    if (n > REG_HEADER_MAX)
        return -1;
    char *nv;
    if (append && *slot)
        nv = ud_asprintf("%s, %.*s", *slot, (int)n, v);
    else
        nv = ud_strndup(v, n);
    if (!nv)
        return -1;
    free(*slot);
    *slot = nv;
    return 0;
}

int
reg_headers_feed(struct reg_headers *h, const char *line, size_t len)
{
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        reg_headers_fini(h);
        return 0;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return 0;
    size_t klen = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);
#define IS(name) (klen == sizeof(name) - 1 && strncasecmp(line, name, klen) == 0)
    if (IS("content-type"))
        return set_value(&h->content_type, v, vlen, false);
    if (IS("docker-content-digest"))
        return set_value(&h->docker_digest, v, vlen, false);
    if (IS("www-authenticate"))
        return set_value(&h->www_auth, v, vlen, true);
    if (IS("location"))
        return set_value(&h->location, v, vlen, false);
    if (IS("link"))
        return set_value(&h->link, v, vlen, true);
    if (IS("content-range"))
        return set_value(&h->content_range, v, vlen, false);
    if (IS("retry-after") && vlen < 64) {
        char tmp[64];
        memcpy(tmp, v, vlen);
        tmp[vlen] = '\0';
        h->retry_after_ms = reg_retry_after_parse(tmp, time(NULL));
        return 0;
    }
    if (IS("content-length") && vlen > 0 && vlen < 20) {
        char tmp[24], *e = NULL;
        memcpy(tmp, v, vlen);
        tmp[vlen] = '\0';
        errno = 0;
        long long cl = strtoll(tmp, &e, 10);
        if (errno == 0 && *e == '\0' && cl >= 0 && isdigit((unsigned char)tmp[0]))
            h->content_length = cl;
    }
#undef IS
    return 0;
}

long
reg_retry_after_parse(const char *value, time_t now)
{
    if (!value)
        return -1;
    while (*value == ' ')
        value++;
    if (isdigit((unsigned char)*value)) {
        char *e = NULL;
        errno = 0;
        long long s = strtoll(value, &e, 10);
        while (e && *e == ' ')
            e++;
        if (errno != 0 || !e || *e != '\0')
            return -1;
        if (s > 86400)
            s = 86400;
        return (long)(s * 1000);
    }
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1)
        return -1;
    if (t <= now)
        return 0;
    double d = difftime(t, now);
    return d > 86400 ? 86400000L : (long)(d * 1000);
}

long
reg_backoff_ms(const struct ud_reg_client *c, int attempt, long retry_after_ms)
{
    long ms = retry_after_ms;
    if (ms < 0) {
        ms = c->retry_base_ms;
        for (int i = 1; i < attempt && ms < c->retry_max_ms; i++)
            ms *= 2;
    }
    return ms > c->retry_max_ms ? c->retry_max_ms : ms;
}

bool
reg_cancelled(const struct ud_reg_client *c)
{
    return c->cancel && *c->cancel;
}

int
reg_sleep_ms(const struct ud_reg_client *c, long ms, struct ud_error *err)
{
    while (ms > 0) {
        if (reg_cancelled(c))
            return ud_error_set(err, UD_ECANCELED, 0, "interrupted");
        long slice = ms > 100 ? 100 : ms;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return reg_cancelled(c) ? ud_error_set(err, UD_ECANCELED, 0, "interrupted") : 0;
}

/* ---------------------------------------------------------------- */
/* URLs                                                              */
/* ---------------------------------------------------------------- */

char *
reg_url_escape(const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = ud_malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p) || (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

static int
url_handle(const char *url, CURLU **out, struct ud_error *err)
{
    CURLU *u = curl_url();
    if (!u)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        curl_url_cleanup(u);
        return ud_error_set(err, UD_EINVAL, 0, "bad URL %s: %s", url, curl_url_strerror(uc));
    }
    *out = u;
    return 0;
}

int
reg_url_resolve(const char *base, const char *location, char **out, struct ud_error *err)
{
    CURLU *u = NULL;
    char *res = NULL;
    int rc = url_handle(base, &u, err);
    if (rc < 0)
        return rc;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, location, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_URL, &res, 0);
    curl_url_cleanup(u);
    if (uc != CURLUE_OK)
        return ud_error_set(err, UD_EREMOTE, 0, "bad redirect location %.100s: %s", location,
                            curl_url_strerror(uc));
    *out = ud_strdup(res);
    curl_free(res);
    return *out ? 0 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
}

int
reg_url_origin(const char *url, char **out, struct ud_error *err)
{
    CURLU *u = NULL;
    char *host = NULL, *port = NULL, *scheme = NULL;
    int rc = url_handle(url, &u, err);
    if (rc < 0)
        return rc;
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        rc = ud_error_set(err, UD_EINVAL, 0, "bad URL %s", url);
    } else {
        *out = ud_asprintf("%s://%s:%s", scheme, host, port);
        for (char *p = *out; p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (!*out)
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    curl_free(host);
    curl_free(port);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

/* Distribution spec: path components [a-z0-9]+([._-][a-z0-9]+)* joined by
 * '/'. We accept upper case too (some private registries allow it) but no
 * empty components, "..", or characters needing escaping. */
bool
reg_repo_is_valid(const char *repo)
{
    if (!repo || !*repo || strlen(repo) > 255 || repo[0] == '/')
        return false;
    const char *comp = repo;
    for (const char *p = repo;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - comp);
            if (n == 0 || !isalnum((unsigned char)comp[0]) || !isalnum((unsigned char)p[-1]))
                return false;
            if (*p == '\0')
                return true;
            comp = p + 1;
        } else if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) {
            return false;
        }
    }
}

bool
reg_reference_is_digest(const char *ref)
{
    const char *colon = ref ? strchr(ref, ':') : NULL;
    if (!colon || colon == ref)
        return false;
    for (const char *p = ref; p < colon; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("+._-", *p))
            return false;
    size_t n = strlen(colon + 1);
    if (n < 32)
        return false;
    for (const char *p = colon + 1; *p; p++)
        if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
            return false;
    return true;
}

bool
reg_reference_is_valid(const char *ref)
{
    if (!ref || !*ref)
        return false;
    if (reg_reference_is_digest(ref))
        return true;
    /* tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
    size_t n = strlen(ref);
    if (n > 128 || !(isalnum((unsigned char)ref[0]) || ref[0] == '_'))
        return false;
    for (const char *p = ref; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            return false;
    return true;
}

/* ---------------------------------------------------------------- */
/* curl plumbing                                                     */
/* ---------------------------------------------------------------- */

void
reg_easy_setup(struct ud_reg_client *c, CURL *e, bool download)
{
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, c->connect_timeout);
    if (download) {
        /* A whole-transfer limit plus a stall detector: 1 KiB/s over 60 s. */
        curl_easy_setopt(e, CURLOPT_TIMEOUT, c->download_timeout);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 128L * 1024);
    } else {
        curl_easy_setopt(e, CURLOPT_TIMEOUT, c->timeout);
    }
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, download ? NULL : "");
    if (c->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->ca_bundle) {
        /* CAINFO replaces curl's default bundle; keep the system store by
         * pointing CAPATH at the hashed system directory (OpenSSL uses
         * both), so the user's file adds to it. */
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_bundle);
        if (ud_path_is_dir("/etc/ssl/certs"))
            curl_easy_setopt(e, CURLOPT_CAPATH, "/etc/ssl/certs");
    }
    if (c->proxy)
        curl_easy_setopt(e, CURLOPT_PROXY, c->proxy);
    if (c->user_agent)
        curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    if (c->share)
        curl_easy_setopt(e, CURLOPT_SHARE, c->share);
}

bool
reg_curl_transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

int
reg_curl_error(CURLcode rc, const char *errbuf, const char *url, struct ud_error *err)
{
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return ud_error_set(err, UD_ECANCELED, 0, "interrupted");
    return ud_error_set(err, UD_ENET, 0, "%.120s: %s", url,
                        errbuf && errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

int
reg_status_error(long status, const char *what, struct ud_error *err)
{
    if (status == 401 || status == 403)
        return ud_error_set(err, UD_EAUTH, 0, "%s not found or not authorized (HTTP %ld)", what,
                            status);
    if (status == 404)
        return ud_error_set(err, UD_ENOTFOUND, 0, "%s not found (HTTP 404)", what);
    return ud_error_set(err, UD_EREMOTE, 0, "%s: registry answered HTTP %ld", what, status);
}
