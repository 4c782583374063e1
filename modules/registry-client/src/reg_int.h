/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to registry-client: the client object, the synchronous request
 * engine used for API calls (manifests, tokens, tags, search), the token
 * cache and small helpers shared with the concurrent blob downloader.
 */
#ifndef UD_BUILDING_REGISTRY_CLIENT
#error "reg_int.h is private to the registry-client module"
#endif
#pragma once

#include <curl/curl.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include <ud/registry-client.h>

#define REG_DEFAULT_MAX_CONN 12
#define REG_DEFAULT_MAX_BLOB_CONN 8
#define REG_DEFAULT_CONNECT_TIMEOUT 6L
#define REG_DEFAULT_TIMEOUT 12L
#define REG_DEFAULT_DOWNLOAD_TIMEOUT 1800L
#define REG_DEFAULT_SEGMENT (16u * 1024 * 1024)
#define REG_DEFAULT_SEGMENT_MIN (4u * 1024 * 1024)
#define REG_DEFAULT_ATTEMPTS 3
#define REG_DEFAULT_RETRY_BASE_MS 500L
#define REG_DEFAULT_RETRY_MAX_MS 30000L
#define REG_DEFAULT_MANIFEST_MAX (4u * 1024 * 1024)
#define REG_MAX_REDIRECTS 5
#define REG_HEADER_MAX 8192 /* longest header value we keep */

/* One cached Authorization header value, keyed by repository ("" for
 * registry-wide requests such as search or ping). */
struct reg_token {
    char *repo;
    char *authz; /* full header line "Authorization: Bearer ..." */
    struct reg_token *next;
};

struct ud_reg_client {
    char *registry; /* scheme://host[:port][/path], no trailing '/' */
    char *host;     /* lower-cased host of registry (for redirect checks) */
    bool insecure;
    char *ca_bundle;
    char *proxy;
    char *user_agent;
    char *auth_b64;
    char *identity_token; /* OAuth2 refresh token (Docker's identitytoken) */
    int max_conn;         /* blob transfers in all */
    int max_blob_conn;    /* blob transfers on one blob */
    long connect_timeout;
    long timeout;
    long download_timeout;
    size_t segment;     /* largest ranged segment */
    size_t segment_min; /* smallest, at the end of a fetch */
    int attempts;
    long retry_base_ms;
    long retry_max_ms;
    size_t manifest_max;
    ud_reg_progress_fn progress;
    void *progress_ctx;
    const volatile int *cancel;
    CURL *easy;    /* reused for synchronous API requests */
    CURLSH *share; /* DNS, TLS sessions and connections shared with blobs */
    struct reg_token *tokens;
    unsigned token_gen; /* bumped whenever a cached header changes */
};

/* Headers of the final response of one transfer that the client needs. */
struct reg_headers {
    char *content_type;
    char *docker_digest;
    char *www_auth; /* several WWW-Authenticate lines joined with ", " */
    char *location;
    char *link;
    char *content_range;
    long retry_after_ms;    /* -1 when absent or unparseable */
    int64_t content_length; /* -1 when absent */
};

void reg_headers_fini(struct reg_headers *h);
/* Feed one raw header line (as curl's header callback receives it). A
 * status line resets h, so only the last response's headers remain. */
int reg_headers_feed(struct reg_headers *h, const char *line, size_t len);

/* Retry-After value: delta-seconds or an HTTP-date, in milliseconds from
 * now (now is a parameter for tests). -1 when unparseable; negative dates
 * give 0. */
long reg_retry_after_parse(const char *value, time_t now);
/* Delay before attempt number attempt (1 = first retry): base * 2^(n-1)
 * or the server's Retry-After, capped. */
long reg_backoff_ms(const struct ud_reg_client *c, int attempt, long retry_after_ms);
/* Sleep ms milliseconds in short slices; UD_ECANCELED if the cancel flag is
 * raised meanwhile. */
int reg_sleep_ms(const struct ud_reg_client *c, long ms, struct ud_error *err);
bool reg_cancelled(const struct ud_reg_client *c);

/* Percent-encode s for a query value or path segment (RFC 3986 unreserved
 * kept; '/' kept when keep_slash). Caller frees; NULL on ENOMEM. */
char *reg_url_escape(const char *s, bool keep_slash);
/* Resolve location (absolute or relative) against base. Caller frees. */
int reg_url_resolve(const char *base, const char *location, char **out, struct ud_error *err);
/* Lower-cased "host:port" of url (port made explicit from the scheme), so
 * two URLs can be compared as the same origin. Caller frees. */
int reg_url_origin(const char *url, char **out, struct ud_error *err);
/* Validate a repository name (lower-case path components) and a reference
 * (tag or algo:hex digest). */
bool reg_repo_is_valid(const char *repo);
bool reg_reference_is_valid(const char *ref);
bool reg_reference_is_digest(const char *ref);

/* Apply the client's common options (timeouts, TLS, proxy, agent, share)
 * to an easy handle. */
void reg_easy_setup(struct ud_reg_client *c, CURL *e, bool download);
/* Map a failed curl transfer to UD_ENET (or UD_ECANCELED) with curl's text. */
int reg_curl_error(CURLcode rc, const char *errbuf, const char *url, struct ud_error *err);
/* Whether a curl failure is worth retrying (timeouts, resets, partial). */
bool reg_curl_transient(CURLcode rc);
/* Make sure libcurl can be used: with UD_LAZY_LIBS it is opened on first
 * use (curl_lazy.c), and a missing library or function is reported here as
 * UD_EUNSUPP "cannot load libcurl: <why>". Linked normally, always 0. */
#ifdef UD_LAZY_LIBS
int reg_curl_load(struct ud_error *err);
#else
static inline int
reg_curl_load(struct ud_error *err)
{
    (void)err;
    return 0;
}
#endif

/* Synchronous request for API calls. */
struct reg_request {
    const char *url;
    const char *repo;          /* token cache key; NULL means "" */
    const char *const *accept; /* NULL-terminated or NULL */
    size_t body_max;           /* 0: client's manifest_max */
    bool no_auth;              /* never send or negotiate credentials */
    const char *authz;         /* explicit "Authorization: ..." line, sent
                                  only to the request URL's own origin */
    const char *post_form;     /* POST this application/x-www-form-urlencoded
                                  body instead of a GET (token refresh) */
};

struct reg_response {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char *url; /* final URL after redirects */
    struct reg_headers h;
};

void reg_response_fini(struct reg_response *r);
/* Perform req with redirects (max 5, Authorization dropped across hosts and
 * for Signature= URLs), auth negotiation on 401 and retries of 429/5xx and
 * transient network failures. Returns 0 with any final status in resp; the
 * caller maps statuses. UD_ENET/UD_EAUTH/UD_ETOOBIG/UD_ECANCELED otherwise. */
int reg_http_get(struct ud_reg_client *c, const struct reg_request *req, struct reg_response *resp,
                 struct ud_error *err);

/* Token cache. */
const char *reg_token_get(struct ud_reg_client *c, const char *repo);
void reg_tokens_free(struct ud_reg_client *c);
/* Answer a challenge (the WWW-Authenticate value of a 401): obtain a bearer
 * token or use Basic credentials, and cache the resulting header for repo.
 * UD_EAUTH when the challenge cannot be met. */
int reg_auth_negotiate(struct ud_reg_client *c, const char *repo, const char *www_auth,
                       struct ud_error *err);

/* fsync fd, rename tmp over final, fsync the directory. Unlike base's
 * ud_file_commit, everything that can fail for lack of memory happens
 * before the rename, so an error always means "final unchanged". */
int reg_file_commit(int fd, const char *tmp, const char *final, struct ud_error *err);

/* Map a final non-2xx status of an API call to an error code + message. */
int reg_status_error(long status, const char *what, struct ud_error *err);
