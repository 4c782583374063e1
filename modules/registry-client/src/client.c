/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client lifecycle and the small API calls: version check (/v2/), raw
 * manifest fetch with upstream's Accept list and digest check, and tag
 * listing with Link pagination.
 */
#include <ctype.h>
#include <jansson.h>
#include <string.h>

#include "reg_int.h"

#define TAG_PAGES_MAX 100

/* Upstream's Accept list, in its order (behaviour reference 3.5). */
static const char *const manifest_accept[] = {
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    NULL,
};

static int
copy_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s || !*s)
        return 0;
    *out = ud_strdup(s);
    return *out ? 0 : -1;
}

/* Check the registry URL and return its normalised form and host. */
static int
check_registry_url(const char *url, char **norm, char **host, struct ud_error *err)
{
    if (!url || !(ud_str_has_prefix(url, "https://") || ud_str_has_prefix(url, "http://")))
        return ud_error_set(err, UD_EINVAL, 0, "registry URL must start with http:// or https://");
    CURLU *u = curl_url();
    char *h = NULL;
    if (!u)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_HOST, &h, 0);
    curl_url_cleanup(u);
    if (uc != CURLUE_OK || !h || !*h || strpbrk(url, " \t\r\n?#")) {
        curl_free(h);
        return ud_error_set(err, UD_EINVAL, 0, "bad registry URL %.200s", url);
    }
    *host = ud_strdup(h);
    curl_free(h);
    *norm = ud_strdup(url);
    if (!*host || !*norm) {
        free(*host);
        free(*norm);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    size_t n = strlen(*norm);
    while (n > 0 && (*norm)[n - 1] == '/')
        (*norm)[--n] = '\0';
    return 0;
}

static void
apply_defaults(struct ud_reg_client *c, const struct ud_reg_options *o)
{
    c->insecure = o->insecure;
    c->max_conn = o->max_connections > 0 ? o->max_connections : REG_DEFAULT_MAX_CONN;
    c->max_blob_conn =
        o->max_blob_connections > 0 ? o->max_blob_connections : REG_DEFAULT_MAX_BLOB_CONN;
    if (c->max_blob_conn > c->max_conn)
        c->max_blob_conn = c->max_conn;
    c->connect_timeout =
        o->connect_timeout_s > 0 ? o->connect_timeout_s : REG_DEFAULT_CONNECT_TIMEOUT;
    c->timeout = o->timeout_s > 0 ? o->timeout_s : REG_DEFAULT_TIMEOUT;
    c->download_timeout =
        o->download_timeout_s > 0 ? o->download_timeout_s : REG_DEFAULT_DOWNLOAD_TIMEOUT;
    c->segment = o->segment_size > 0 ? o->segment_size : REG_DEFAULT_SEGMENT;
    if (c->segment < 64 * 1024)
        c->segment = 64 * 1024;
    c->segment_min = o->segment_min_size > 0 ? o->segment_min_size : REG_DEFAULT_SEGMENT_MIN;
    if (c->segment_min < 64 * 1024)
        c->segment_min = 64 * 1024;
    if (c->segment_min > c->segment)
        c->segment_min = c->segment;
    c->attempts = o->max_attempts > 0 ? o->max_attempts : REG_DEFAULT_ATTEMPTS;
    c->retry_base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : REG_DEFAULT_RETRY_BASE_MS;
    c->retry_max_ms = o->retry_max_ms > 0 ? o->retry_max_ms : REG_DEFAULT_RETRY_MAX_MS;
    c->manifest_max = o->manifest_max > 0 ? o->manifest_max : REG_DEFAULT_MANIFEST_MAX;
    c->progress = o->progress;
    c->progress_ctx = o->progress_ctx;
    c->cancel = o->cancel;
}

/* The proxy decided once for the registry's host (proxy.c). "" means
 * direct: set explicitly, it also stops libcurl from reading the
 * environment on its own. */
static int
client_proxy(struct ud_reg_client *c, const char *explicit_proxy, struct ud_error *err)
{
    char *p = NULL;
    const char *why = NULL;
    int rc = ud_reg_proxy_select(c->registry, explicit_proxy, NULL, &p, &why, err);
    if (rc < 0)
        return rc;
    if (!p && !(p = ud_strdup("")))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (*p) {
        const char *at = strrchr(p, '@');
        const char *sep = strstr(p, "://");
        ud_log(UD_LOG_DEBUG, "registry: %s via proxy %s%s (%s)", c->registry,
               at ? "<credentials>@" : "", at ? at + 1 : (sep ? sep + 3 : p), why);
    } else {
        ud_log(UD_LOG_DEBUG, "registry: %s direct (%s)", c->registry, why);
    }
    c->proxy = p;
    return 0;
}

int
ud_reg_client_new(const struct ud_reg_options *o, struct ud_reg_client **out, struct ud_error *err)
{
    if (!o || !out)
        return ud_error_set(err, UD_EINVAL, 0, "registry client: no options");
    if ((o->auth_b64 && strpbrk(o->auth_b64, "\r\n")) ||
        (o->identity_token && strpbrk(o->identity_token, "\r\n")))
        return ud_error_set(err, UD_EINVAL, 0, "registry client: bad credentials");
    /* Before anything else: without libcurl every later step would fail
     * with a misleading "out of memory". */
    int rc = reg_curl_load(err);
    if (rc < 0)
        return rc;
    struct ud_reg_client *c = ud_calloc(1, sizeof(*c));
    if (!c)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    /* Reference-counted by libcurl; balanced in ud_reg_client_free. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = check_registry_url(o->registry_url, &c->registry, &c->host, err);
    if (rc < 0) {
        ud_reg_client_free(c);
        return rc;
    }
    apply_defaults(c, o);
    rc = client_proxy(c, o->proxy, err);
    if (rc < 0) {
        ud_reg_client_free(c);
        return rc;
    }
    if (copy_opt(o->ca_bundle, &c->ca_bundle) < 0 || copy_opt(o->user_agent, &c->user_agent) < 0 ||
        copy_opt(o->auth_b64, &c->auth_b64) < 0 ||
        copy_opt(o->identity_token, &c->identity_token) < 0 || !(c->easy = curl_easy_init()) ||
        !(c->share = curl_share_init())) {
        ud_reg_client_free(c);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    *out = c;
    return 0;
}

void
ud_reg_client_free(struct ud_reg_client *c)
{
    if (!c)
        return;
    if (c->easy)
        curl_easy_cleanup(c->easy);
    if (c->share)
        curl_share_cleanup(c->share);
    reg_tokens_free(c);
    free(c->registry);
    free(c->host);
    free(c->ca_bundle);
    free(c->proxy);
    free(c->user_agent);
    free(c->auth_b64);
    free(c->identity_token);
    free(c);
    curl_global_cleanup();
}

int
ud_reg_ping(struct ud_reg_client *c, struct ud_error *err)
{
    cleanup_free char *url = c ? ud_asprintf("%s/v2/", c->registry) : NULL;
    if (!c)
        return ud_error_set(err, UD_EINVAL, 0, "no client");
    if (!url)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    struct reg_request req = {.url = url, .no_auth = true, .body_max = 65536};
    struct reg_response resp = {0};
    int rc = reg_http_get(c, &req, &resp, err);
    if (rc == 0 && resp.status != 200 && resp.status != 401)
        rc = ud_error_set(err, UD_EUNSUPP, 0, "%s is not a v2 registry (HTTP %ld)", c->registry,
                          resp.status);
    reg_response_fini(&resp);
    return rc;
}

int
ud_reg_probe(struct ud_reg_client *c, struct ud_error *err)
{
    if (!c)
        return ud_error_set(err, UD_EINVAL, 0, "no client");
    int attempts = c->attempts;
    c->attempts = 1;
    int rc = ud_reg_ping(c, err);
    c->attempts = attempts;
    return rc;
}

/* Media type without parameters and surrounding blanks. */
static char *
bare_media_type(const char *ct)
{
    if (!ct)
        return ud_strdup("");
    size_t n = strcspn(ct, ";");
    while (n > 0 && isspace((unsigned char)ct[n - 1]))
        n--;
    return ud_strndup(ct, n);
}

static int
verify_digest(const char *digest, const char *body, size_t len, struct ud_error *err)
{
    int algo = 0;
    char name[16], hex[UD_HASH_HEX_MAX];
    const char *colon = strchr(digest, ':');
    size_t nlen = (size_t)(colon - digest);
    if (nlen >= sizeof(name))
        return ud_error_set(err, UD_EUNSUPP, 0, "unsupported digest %.80s", digest);
    memcpy(name, digest, nlen);
    name[nlen] = '\0';
    struct ud_hash h = {0};
    int rc = ud_hash_algo_from_name(name, &algo, err);
    if (rc == 0)
        rc = ud_hash_init(&h, algo, err);
    if (rc == 0)
        rc = ud_hash_update(&h, body, len, err);
    if (rc == 0)
        rc = ud_hash_final_hex(&h, hex, err);
    ud_hash_fini(&h);
    if (rc == 0 && strcmp(hex, colon + 1) != 0)
        rc = ud_error_set(err, UD_EDIGEST, 0, "manifest does not match digest %.80s", digest);
    return rc;
}

int
ud_reg_manifest_get(struct ud_reg_client *c, const char *remote_repo, const char *reference,
                    char **body, size_t *len, char **content_type, char **docker_content_digest,
                    struct ud_error *err)
{
    if (!c || !body)
        return ud_error_set(err, UD_EINVAL, 0, "manifest: bad argument");
    if (!reg_repo_is_valid(remote_repo))
        return ud_error_set(err, UD_EINVAL, 0, "invalid repository name %.100s",
                            remote_repo ? remote_repo : "(null)");
    if (!reg_reference_is_valid(reference))
        return ud_error_set(err, UD_EINVAL, 0, "invalid tag or digest %.100s",
                            reference ? reference : "(null)");
    cleanup_free char *url =
        ud_asprintf("%s/v2/%s/manifests/%s", c->registry, remote_repo, reference);
    cleanup_free char *ct = NULL;
    cleanup_free char *dcd = NULL;
    if (!url)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    struct reg_request req = {.url = url, .repo = remote_repo, .accept = manifest_accept};
    struct reg_response resp = {0};
    int rc = reg_http_get(c, &req, &resp, err);
    if (rc == 0 && resp.status != 200)
        rc = reg_status_error(resp.status, "manifest", err);
    if (rc == 0 && reg_reference_is_digest(reference))
        rc = verify_digest(reference, resp.body, resp.len, err);
    if (rc == 0 && (!(ct = bare_media_type(resp.h.content_type)) ||
                    (resp.h.docker_digest && !(dcd = ud_strdup(resp.h.docker_digest)))))
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc < 0) {
        reg_response_fini(&resp);
        return rc;
    }
    if (len)
        *len = resp.len;
    *body = ud_steal(&resp.body);
    if (content_type)
        *content_type = ud_steal(&ct);
    if (docker_content_digest)
        *docker_content_digest = ud_steal(&dcd);
    reg_response_fini(&resp);
    return 0;
}

/* The target of Link: <url>; rel="next", or NULL. */
static char *
link_next(const char *link)
{
    const char *p = link;
    while (p && (p = strchr(p, '<')) != NULL) {
        const char *e = strchr(p, '>');
        if (!e)
            return NULL;
        const char *params = e + 1, *stop = strchr(params, '<');
        size_t plen = stop ? (size_t)(stop - params) : strlen(params);
        char *seg = ud_strndup(params, plen);
        bool next = seg && (strstr(seg, "rel=\"next\"") || strstr(seg, "rel=next"));
        free(seg);
        if (next)
            return ud_strndup(p + 1, (size_t)(e - p - 1));
        p = e;
    }
    return NULL;
}

static int
tags_append(const char *body, size_t len, char ***tags, struct ud_error *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (!j)
        return ud_error_set(err, UD_EPARSE, 0, "tags list: %s", jerr.text);
    json_t *arr = json_object_get(j, "tags"), *v;
    size_t i;
    int rc = 0;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && (rc = ud_strv_push(tags, json_string_value(v), err)) < 0)
            break;
    }
    json_decref(j);
    return rc;
}

int
ud_reg_tags_list(struct ud_reg_client *c, const char *remote_repo, char ***tags,
                 struct ud_error *err)
{
    if (!c || !tags)
        return ud_error_set(err, UD_EINVAL, 0, "tags: bad argument");
    if (!reg_repo_is_valid(remote_repo))
        return ud_error_set(err, UD_EINVAL, 0, "invalid repository name %.100s",
                            remote_repo ? remote_repo : "(null)");
    cleanup_strv char **list = NULL;
    cleanup_free char *origin = NULL;
    char *url = ud_asprintf("%s/v2/%s/tags/list", c->registry, remote_repo);
    int rc =
        url ? reg_url_origin(url, &origin, err) : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (int page = 0; rc == 0 && url && page < TAG_PAGES_MAX; page++) {
        /* A Link may point at another host: the registry's token (or the
         * user's Basic credentials) must not follow it there. */
        char *o = NULL;
        bool foreign = reg_url_origin(url, &o, NULL) < 0 || strcmp(o, origin) != 0;
        free(o);
        struct reg_request req = {.url = url, .repo = remote_repo, .no_auth = foreign};
        struct reg_response resp = {0};
        rc = reg_http_get(c, &req, &resp, err);
        if (rc == 0 && resp.status != 200)
            rc = reg_status_error(resp.status, "tags list", err);
        if (rc == 0)
            rc = tags_append(resp.body, resp.len, &list, err);
        char *next = rc == 0 && resp.h.link ? link_next(resp.h.link) : NULL;
        char *abs = NULL;
        if (next) {
            int r2 = reg_url_resolve(resp.url, next, &abs, err);
            if (r2 < 0)
                rc = r2;
        }
        free(next);
        free(url);
        url = abs;
        reg_response_fini(&resp);
    }
    free(url);
    if (rc < 0)
        return rc;
    if (!list && !(list = ud_calloc(1, sizeof(char *))))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *tags = ud_steal(&list);
    return 0;
}
