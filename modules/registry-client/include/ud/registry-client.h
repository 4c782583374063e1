/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry-client: the Docker/OCI distribution (v2) protocol. Token and basic
 * authentication, raw manifest fetch, concurrent ranged resumable verified blob
 * download, tag listing, search, and the upstream-compatible credentials file
 * (keystore). It never parses manifests: callers hand raw bodies to
 * oci-manifest. Nothing here prints; progress goes through a callback.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ud/base.h>

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

struct ud_reg_client; /* opaque */

/* Progress events for one blob of ud_reg_blobs_fetch(). */
enum ud_reg_progress_event {
    UD_REG_BLOB_START = 1,  /* download begins (not sent for cached blobs) */
    UD_REG_BLOB_CACHED = 2, /* dest_path already held the verified blob */
    UD_REG_BLOB_PROGRESS = 3,
    UD_REG_BLOB_DONE = 4,   /* verified and renamed into place */
    UD_REG_BLOB_FAILED = 5, /* blob->status / blob->error say why */
};

/* index: position in the blobs array. done/total in bytes (total -1 when
 * unknown). Called on the fetching thread; must not call back into the client. */
typedef void (*ud_reg_progress_fn)(void *ctx, enum ud_reg_progress_event ev, size_t index,
                                   const char *digest, int64_t done, int64_t total);

/* Every field may be left 0/NULL to get the default shown. Strings are
 * borrowed only for the duration of ud_reg_client_new (the client copies). */
struct ud_reg_options {
    /* "https://registry-1.docker.io" or "http://127.0.0.1:5000"; required.
     * The scheme is honoured as given: http:// is plain HTTP. A trailing '/'
     * is ignored. */
    const char *registry_url;
    bool insecure;               /* --insecure: do not verify TLS peer or host name */
    const char *ca_bundle;       /* extra CA file (PEM), trusted in addition to the system store */
    const char *proxy;           /* socks4/4a/5/5h/http URL, optional user:pass@; NULL:
                                    the environment (ud_reg_proxy_select) */
    int max_connections;         /* parallel blob transfers in all: 12 */
    int max_blob_connections;    /* parallel transfers on one blob: 8 (<= max_connections) */
    long connect_timeout_s;      /* 6 */
    long timeout_s;              /* whole API request (manifest, token, tags): 12 */
    long download_timeout_s;     /* one blob transfer (or segment): 1800 */
    const char *user_agent;      /* "udocker/<version>" style; NULL: curl's none */
    const char *auth_b64;        /* base64("user:pass") for this registry or NULL */
    const char *identity_token;  /* OAuth2 refresh token (Docker's identitytoken): bearer
                                    tokens are then obtained by POST grant_type=refresh_token */
    size_t segment_size;         /* largest ranged segment: 16 MiB (at least 64 KiB) */
    size_t segment_min_size;     /* smallest, toward the end of a fetch: 4 MiB (<= segment_size) */
    int max_attempts;            /* attempts per request (429/5xx/network): 3 */
    long retry_base_ms;          /* first backoff delay, doubled each time: 500 */
    long retry_max_ms;           /* cap of any delay incl. Retry-After: 30000 */
    size_t manifest_max;         /* cap of a manifest/JSON body: 4 MiB */
    ud_reg_progress_fn progress; /* optional */
    void *progress_ctx;
    /* Optional cancel flag (e.g. set by a SIGINT handler): when it becomes
     * non-zero, transfers stop and calls return UD_ECANCELED. */
    const volatile int *cancel;
};

/* Create a client for opts->registry_url. UD_EINVAL when the URL is not
 * http(s)://host[:port][/path], UD_ENOMEM. Free with ud_reg_client_free. */
int ud_reg_client_new(const struct ud_reg_options *opts, struct ud_reg_client **out,
                      struct ud_error *err) UD_WUR;
/* NULL is a no-op. */
void ud_reg_client_free(struct ud_reg_client *c);

/* GET <registry>/v2/: 0 when it answers 200 or 401 (a v2 registry),
 * UD_EUNSUPP for another status, UD_ENET when unreachable. */
int ud_reg_ping(struct ud_reg_client *c, struct ud_error *err) UD_WUR;
/* ud_reg_ping with a single attempt (no retry, no backoff), to probe
 * whether a registry speaks https before falling back to http. The
 * connection stays open for the client's next requests. */
int ud_reg_probe(struct ud_reg_client *c, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Manifests and tags                                                  */
/* ------------------------------------------------------------------ */

/* GET /v2/<remote_repo>/manifests/<reference> (tag or "sha256:..." digest)
 * with the six Accept types in upstream order, authenticating as needed.
 * On success *body (NUL-terminated, *len bytes), *content_type (media type
 * without parameters, "" when absent) and *docker_content_digest (NULL when
 * the header is absent) are the caller's to free; any out pointer but body
 * may be NULL. A digest reference is verified against the body.
 * Errors: UD_EAUTH (401/403: "manifest not found or not authorized", bad
 * credentials, insufficient scope), UD_ENOTFOUND (404), UD_EREMOTE (other
 * status or 5xx after retries), UD_ETOOBIG (over manifest_max), UD_ENET
 * (curl's message), UD_EDIGEST, UD_EINVAL (bad repo/reference). */
int ud_reg_manifest_get(struct ud_reg_client *c, const char *remote_repo, const char *reference,
                        char **body, size_t *len, char **content_type, char **docker_content_digest,
                        struct ud_error *err) UD_WUR;

/* GET /v2/<remote_repo>/tags/list following Link rel="next" pages (at most
 * 100 pages). *tags is a NULL-terminated vector the caller frees with
 * ud_strv_free, in server order. Errors as for ud_reg_manifest_get. */
int ud_reg_tags_list(struct ud_reg_client *c, const char *remote_repo, char ***tags,
                     struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Blobs                                                               */
/* ------------------------------------------------------------------ */

struct ud_reg_blob {
    const char *digest;    /* in: "sha256:<64 hex>" or "sha512:<128 hex>" */
    int64_t size;          /* in: size from the manifest, -1 when unknown */
    const char *dest_path; /* in: final path, e.g. <repo>/layers/sha256:... */
    int status;            /* out: 0 or a UD_E* code */
    bool cached;           /* out: dest_path already held the verified blob */
    struct ud_error error; /* out: details when status != 0 */
};

/* Download n blobs of remote_repo concurrently (transfers on the calling
 * thread, at most max_connections at once, max_blob_connections on one
 * blob). A blob whose dest_path already exists and verifies is not
 * downloaded (cached = true). Others are written to "<dest_path>.partial"
 * (same directory; directory must exist), verified against digest and
 * size, fsynced and renamed to dest_path (on a helper thread, so transfers
 * never wait for the disk). A ".partial" left by an interrupted run is
 * resumed with a Range request. Blobs of known size are fetched in ranged
 * segments when the server honours Range: large ones first, shrinking to
 * segment_min_size toward the end so all connections finish together.
 * A digest or size mismatch deletes the partial (UD_EDIGEST).
 * Memory stays bounded (streaming buffers only). Every blob gets a status;
 * the return value is the first failing blob's code (err copies its error),
 * or 0. Errors per blob: UD_EDIGEST, UD_ENOSPC, UD_EIO, UD_EAUTH,
 * UD_ENOTFOUND, UD_EREMOTE, UD_ENET, UD_ECANCELED, UD_EINVAL. */
int ud_reg_blobs_fetch(struct ud_reg_client *c, const char *remote_repo, struct ud_reg_blob *blobs,
                       size_t n, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Search                                                              */
/* ------------------------------------------------------------------ */

struct ud_reg_search_result {
    char *name;        /* repo_name or name */
    char *description; /* short_description or description; "" when absent */
    int64_t stars;     /* star_count, 0 when absent */
    bool official;     /* is_official */
};

struct ud_reg_search_page {
    struct ud_reg_search_result *results;
    size_t n;
    bool last; /* no further page exists */
};

/* One page (1-based) of a search for expr (NULL or "" means "*"). Tries, in
 * order, <index_url>/v2/search/repositories, <index_url>/v1/search,
 * <registry>/v2/search/repositories, <registry>/v1/search; the first that
 * answers 200 (or 401) is used. index_url may be NULL. page_size 0 means 25.
 * out is filled only on success; release with ud_reg_search_page_fini.
 * Errors: UD_ENOTFOUND (no endpoint), UD_EAUTH, UD_EREMOTE, UD_ENET,
 * UD_EPARSE (unreadable JSON). */
int ud_reg_search(struct ud_reg_client *c, const char *index_url, const char *expr, int page,
                  int page_size, struct ud_reg_search_page *out, struct ud_error *err) UD_WUR;
void ud_reg_search_page_fini(struct ud_reg_search_page *p);

/* ------------------------------------------------------------------ */
/* WWW-Authenticate (public for tests and fuzzing)                     */
/* ------------------------------------------------------------------ */

struct ud_reg_auth_param {
    char *key;   /* lower-cased */
    char *value; /* unquoted, escapes resolved */
};

struct ud_reg_challenge {
    char *scheme; /* lower-cased: "bearer", "basic", ... */
    struct ud_reg_auth_param *params;
    size_t nparams;
    char *token68; /* a bare token68 after the scheme, else NULL */
};

struct ud_reg_challenges {
    struct ud_reg_challenge *items;
    size_t n;
};

/* Parse an RFC 7235 WWW-Authenticate value: one or more challenges,
 * case-insensitive schemes and keys, quoted strings with commas and
 * backslash escapes, optional whitespace around ',' and '='. out is filled
 * only on success; release with ud_reg_challenges_fini. Errors: UD_EPARSE
 * (no challenge or malformed), UD_ETOOBIG (> 8 KiB or > 64 params),
 * UD_ENOMEM. */
int ud_reg_www_authenticate_parse(const char *hdr, struct ud_reg_challenges *out,
                                  struct ud_error *err) UD_WUR;
void ud_reg_challenges_fini(struct ud_reg_challenges *c);
/* Value of param key (case-insensitive) or NULL; borrowed from ch. */
const char *ud_reg_challenge_param(const struct ud_reg_challenge *ch, const char *key);

/* ------------------------------------------------------------------ */
/* Keystore: upstream's credentials file                               */
/* ------------------------------------------------------------------ */
/*
 * JSON {"<registry URL>": {"auth": "<base64 user:pass>", "email": ""}, ...}.
 * Reads and writes refuse (UD_EPERM) a file or directory not owned by the
 * caller, or a file with group/other permission bits. Writes replace the
 * file atomically with mode 0600 and create its directory (0700) if missing.
 */

/* Stored auth for registry_url: exact key first, then the URL without its
 * http(s):// scheme. *auth_b64 is the caller's. UD_ENOENT when the file or
 * the entry is absent, UD_EPARSE for a corrupt file, UD_EPERM. */
int ud_reg_keystore_get(const char *path, const char *registry_url, char **auth_b64,
                        struct ud_error *err) UD_WUR;
/* Add or replace the entry for registry_url (email ""), keeping others. */
int ud_reg_keystore_set(const char *path, const char *registry_url, const char *auth_b64,
                        struct ud_error *err) UD_WUR;
/* Remove the entry for registry_url (exact key, else schemeless key).
 * UD_ENOENT when there was nothing to delete. */
int ud_reg_keystore_delete(const char *path, const char *registry_url, struct ud_error *err) UD_WUR;
/* Remove the whole file (logout -a). UD_ENOENT when it did not exist. */
int ud_reg_keystore_delete_all(const char *path, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Proxies                                                             */
/* ------------------------------------------------------------------ */

typedef char *(*ud_reg_getenv_fn)(const char *name);

/* The proxy a client for url uses. explicit_proxy (non-empty) wins; else
 * https_proxy/HTTPS_PROXY for an https URL, http_proxy (lower case only,
 * as libcurl) for http; else all_proxy/ALL_PROXY. When url's host
 * matches no_proxy/NO_PROXY (comma list: "*", names, ".domain" or
 * "domain" suffixes, IPs, IPv4 CIDR like 127.0.0.0/8; ports ignored) the
 * answer is direct, also for an explicit proxy. *out is the proxy URL
 * (caller frees) or NULL for a direct connection; *why (optional, static)
 * names the rule that decided. getenv_fn NULL means getenv. Errors:
 * UD_EINVAL (proxy URL with blanks), UD_ENOMEM. */
int ud_reg_proxy_select(const char *url, const char *explicit_proxy, ud_reg_getenv_fn getenv_fn,
                        char **out, const char **why, struct ud_error *err) UD_WUR;
/* Whether host (no port, no brackets) matches a no_proxy list. */
bool ud_reg_no_proxy_match(const char *no_proxy, const char *host);

/* ------------------------------------------------------------------ */
/* Docker CLI credentials (~/.docker/config.json)                      */
/* ------------------------------------------------------------------ */

/* What config.json says about one registry. Any field may be NULL. */
struct ud_reg_docker_auth {
    char *auth_b64;       /* auths.<key>.auth (base64 "user:pass") */
    char *identity_token; /* auths.<key>.identitytoken */
    char *helper;         /* credHelpers.<host>, else credsStore */
    char *server;         /* what to hand the helper: the auths key found, or
                             "https://index.docker.io/v1/" for Docker Hub, or
                             the host[:port] */
};
void ud_reg_docker_auth_fini(struct ud_reg_docker_auth *a);

/* Look registry_url up in the text of a Docker CLI config.json. Keys of
 * "auths" match by host[:port] whatever their scheme and path; the Docker
 * Hub names (docker.io, index.docker.io, registry-1.docker.io,
 * registry.hub.docker.com) are one registry. out is filled on success.
 * Errors: UD_ENOENT (nothing for this registry), UD_EPARSE (not JSON, or
 * fields of the wrong type), UD_ETOOBIG (over 1 MiB), UD_ENOMEM. */
int ud_reg_docker_config_lookup(const char *json, size_t len, const char *registry_url,
                                struct ud_reg_docker_auth *out, struct ud_error *err) UD_WUR;

/* Run "docker-credential-<helper> get" (found in PATH) with server on
 * stdin and read its JSON {"Username": ..., "Secret": ...}. A Username of
 * "<token>" makes Secret an identity token (*identity_token), else
 * *auth_b64 = base64(Username:Secret). The helper is killed after
 * timeout_ms. Errors: UD_EINVAL (bad helper name), UD_ENOENT (helper not
 * installed, or it has no credentials for server), UD_ENET ("credential
 * helper timed out"), UD_EREMOTE (it failed or crashed), UD_EPARSE (unreadable answer), UD_ENOMEM.
 */
int ud_reg_cred_helper_get(const char *helper, const char *server, long timeout_ms, char **auth_b64,
                           char **identity_token, struct ud_error *err) UD_WUR;

/* Both: read config_path, look registry_url up, ask its helper (falling
 * back to the auths entry when the helper fails: the reason is logged at
 * debug level). Exactly one of *auth_b64 / *identity_token is set on
 * success. Errors: UD_ENOENT (no file, no entry), UD_EPARSE, the file's
 * read errors, UD_ENOMEM. */
int ud_reg_docker_credentials(const char *config_path, const char *registry_url,
                              long helper_timeout_ms, char **auth_b64, char **identity_token,
                              struct ud_error *err) UD_WUR;
