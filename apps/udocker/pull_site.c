/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a pull or a search goes: the registry and index URLs chosen from
 * the image name, the options and the configuration (reference 3.1), the
 * repository path at that registry, and a registry client opened with the
 * CLI's network settings and stored credentials.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "image_pull.h"
#include "keystore_path.h"
#include "pull_int.h"
#include "ud/oci-manifest.h"

#define HUB_INDEX_DEFAULT "https://hub.docker.com"

/* ------------------------------------------------------------------ */
/* Registry selection                                                  */
/* ------------------------------------------------------------------ */

void
ud_pull_site_fini(struct ud_pull_site *s)
{
    if (s == NULL)
        return;
    free(s->registry_url);
    free(s->index_url);
    memset(s, 0, sizeof(*s));
}

/* Normalise a URL given by the user or the configuration: "https://" is
 * assumed without a scheme, only http and https are accepted, trailing '/'
 * go, and nothing that could break a request line gets through. */
static int
url_normalise(const char *v, char **out, bool *scheme_given, struct ud_error *err)
{
    const char *sep = strstr(v, "://");
    const char *host = v;
    bool given = false;

    for (const char *p = v; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return ud_error_set(err, UD_EINVAL, 0, "invalid registry URL: %s", v);
    }
    if (sep != NULL) {
        size_t sl = (size_t)(sep - v);
        if (!((sl == 4 && strncasecmp(v, "http", 4) == 0) ||
              (sl == 5 && strncasecmp(v, "https", 5) == 0)))
            return ud_error_set(err, UD_EINVAL, 0, "unsupported URL scheme: %s", v);
        host = sep + 3;
        given = true;
    }
    size_t n = strlen(host);
    while (n > 0 && host[n - 1] == '/')
        n--;
    if (n == 0 || host[0] == '/')
        return ud_error_set(err, UD_EINVAL, 0, "invalid registry URL: %s", v);
    char *url = given ? ud_asprintf("%.*s%.*s", (int)(host - v), v, (int)n, host)
                      : ud_asprintf("https://%.*s", (int)n, host);
    if (url == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *out = url;
    *scheme_given = given;
    return 0;
}

/* Host part of a URL ("https://h:5000/x" -> "h:5000"), borrowed length. */
static const char *
url_host(const char *url, size_t *len)
{
    const char *sep = strstr(url, "://");
    const char *h = sep ? sep + 3 : url;
    *len = strcspn(h, "/");
    return h;
}

/* Does the URL (with or without scheme) name host exactly (host:port)? */
static bool
url_names_host(const char *url, const char *host)
{
    size_t hl;
    const char *h = url_host(url, &hl);
    return hl == strlen(host) && strncasecmp(h, host, hl) == 0;
}

static bool
is_hub_host(const char *host)
{
    static const char *const names[] = {"docker.io", "index.docker.io", "registry-1.docker.io",
                                        "registry.hub.docker.com"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(host, names[i]) == 0)
            return true;
    return false;
}

static const struct ud_conf_registry *
conf_registry(const struct ud_conf *conf, const char *host)
{
    if (conf == NULL)
        return NULL;
    for (size_t i = 0; i < conf->nregistries; i++) {
        const char *name = conf->registries[i].name;
        if (name != NULL && strcasecmp(name, host) == 0 && conf->registries[i].registry_url)
            return &conf->registries[i];
    }
    return NULL;
}

/* Fill out from a registry URL and an optional index URL (either may come
 * from the user or the configuration). */
static int
site_set(struct ud_pull_site *out, const char *registry, const char *index, struct ud_error *err)
{
    cleanup_free char *reg = NULL;
    cleanup_free char *idx = NULL;
    bool given = false;
    bool idx_given = false;

    int rc = url_normalise(registry, &reg, &given, err);
    if (rc < 0)
        return rc;
    if (index != NULL && index[0] != '\0') {
        rc = url_normalise(index, &idx, &idx_given, err);
        if (rc < 0)
            return rc;
        /* The client searches the registry itself after the index; the
         * same URL twice would only repeat failed requests. */
        if (strcmp(idx, reg) == 0) {
            free(idx);
            idx = NULL;
        }
    }
    out->registry_url = ud_steal(&reg);
    out->index_url = ud_steal(&idx);
    out->scheme_given = given;
    return 0;
}

static int
site_for_host(const struct ud_conf *conf, const char *host, const char *registry_opt,
              const char *index_opt, struct ud_pull_site *out, struct ud_error *err)
{
    const struct ud_conf_registry *r = conf_registry(conf, host);

    if (host[0] == '\0')
        return ud_error_set(err, UD_EINVAL, 0, "empty registry host");
    /* An option that names the image's own host says how to reach it
     * (scheme, path prefix): honour it. */
    if (registry_opt != NULL && registry_opt[0] != '\0' && url_names_host(registry_opt, host))
        return site_set(out, registry_opt, index_opt, err);
    if (index_opt != NULL && index_opt[0] != '\0' && url_names_host(index_opt, host))
        return site_set(out, index_opt, index_opt, err);
    if (r != NULL)
        return site_set(out, r->registry_url, r->index_url, err);
    if (is_hub_host(host)) {
        const char *reg = conf && conf->dockerio_registry_url ? conf->dockerio_registry_url
                                                              : UD_OCI_DOCKER_HUB_REGISTRY;
        const char *idx =
            conf && conf->dockerio_index_url ? conf->dockerio_index_url : HUB_INDEX_DEFAULT;
        return site_set(out, reg, idx, err);
    }
    return site_set(out, host, NULL, err);
}

int
ud_pull_site_select(const struct ud_conf *conf, const char *host, const char *registry_opt,
                    const char *index_opt, struct ud_pull_site *out, struct ud_error *err)
{
    struct ud_pull_site s = {0};
    int rc;

    if (registry_opt != NULL && registry_opt[0] == '\0')
        registry_opt = NULL;
    if (index_opt != NULL && index_opt[0] == '\0')
        index_opt = NULL;

    if (host != NULL)
        rc = site_for_host(conf, host, registry_opt, index_opt, &s, err);
    else if (registry_opt != NULL)
        rc = site_set(&s, registry_opt, index_opt, err);
    else if (index_opt != NULL)
        rc = site_set(&s, index_opt, NULL, err);
    else
        rc = site_set(
            &s,
            conf && conf->dockerio_registry_url ? conf->dockerio_registry_url
                                                : UD_OCI_DOCKER_HUB_REGISTRY,
            conf && conf->dockerio_index_url ? conf->dockerio_index_url : HUB_INDEX_DEFAULT, err);
    if (rc < 0)
        return rc;
    *out = s;
    return 0;
}

static bool
site_is_hub(const struct ud_conf *conf, const char *registry_url)
{
    const char *hub = conf && conf->dockerio_registry_url ? conf->dockerio_registry_url
                                                          : UD_OCI_DOCKER_HUB_REGISTRY;
    size_t hl, rl;
    const char *hh = url_host(hub, &hl);
    const char *rh = url_host(registry_url, &rl);
    if (hl == rl && strncasecmp(hh, rh, hl) == 0)
        return true;
    /* upstream's test: the host names docker.io or docker.com */
    return memmem(rh, rl, "docker.io", 9) != NULL || memmem(rh, rl, "docker.com", 10) != NULL;
}

int
ud_pull_remote_repo(const struct ud_conf *conf, const struct ud_image_ref *ref,
                    const struct ud_pull_site *site, char **out, struct ud_error *err)
{
    const char *name = ref->local_repo;
    char *r;

    if (ref->registry_host != NULL) {
        size_t hl = strlen(ref->registry_host);
        if (strncmp(name, ref->registry_host, hl) != 0 || name[hl] != '/')
            return ud_error_set(err, UD_EINVAL, 0, "invalid image name: %s", name);
        name += hl + 1;
    }
    if (name[0] == '\0')
        return ud_error_set(err, UD_EINVAL, 0, "invalid image name: %s", ref->local_repo);
    /* Docker Hub keeps official images under library/ (reference 3.1). */
    if (strchr(name, '/') == NULL && site_is_hub(conf, site->registry_url))
        r = ud_asprintf("library/%s", name);
    else
        r = ud_strdup(name);
    if (r == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *out = r;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

/* --insecure, or http_insecure in the configuration. */
static bool
is_insecure(const struct ud_cli *cli)
{
    return cli->insecure || (cli->conf != NULL && cli->conf->http_insecure);
}

static void
fill_options(const struct ud_cli *cli, const char *url, const char *proxy, const char *auth,
             struct ud_reg_options *o)
{
    const struct ud_conf *conf = cli->conf;

    memset(o, 0, sizeof(*o));
    o->registry_url = url;
    o->insecure = is_insecure(cli);
    o->auth_b64 = auth;
    if (proxy == NULL && conf != NULL)
        proxy = conf->http_proxy;
    o->proxy = proxy != NULL && proxy[0] != '\0' ? proxy : NULL;
    if (conf == NULL)
        return;
    o->ca_bundle = conf->ca_bundle && conf->ca_bundle[0] ? conf->ca_bundle : NULL;
    o->user_agent = conf->http_agent && conf->http_agent[0] ? conf->http_agent : NULL;
    o->max_connections =
        conf->max_download_connections > 0
            ? (int)(conf->max_download_connections > 64 ? 64 : conf->max_download_connections)
            : 0;
    o->connect_timeout_s = conf->ctimeout > 0 ? conf->ctimeout : 0;
    o->timeout_s = conf->timeout > 0 ? conf->timeout : 0;
    o->download_timeout_s = conf->download_timeout > 0 ? conf->download_timeout : 0;
}

/* Credentials for url: udocker's own keystore first, then what
 * "docker login" left in the Docker CLI's config.json (auths entries,
 * credsStore/credHelpers helpers). A missing or unreadable source means
 * an anonymous pull, as upstream does; a malformed config.json is one
 * warning line. */
struct creds {
    char *auth;     /* base64 user:pass */
    char *identity; /* OAuth2 refresh token */
};

static void
creds_fini(struct creds *c)
{
    free(c->auth);
    free(c->identity);
    c->auth = c->identity = NULL;
}

static void
lookup_auth(const struct ud_cli *cli, const char *url, struct creds *out)
{
    struct ud_error e = {0};
    cleanup_free char *path = NULL;
    char *auth = NULL, *identity = NULL;

    if (ud_keystore_path_get(cli->conf, &path, &e) == 0) {
        int rc = ud_reg_keystore_get(path, url, &auth, &e);
        if (rc == 0) {
            out->auth = auth;
            return;
        }
        if (rc != UD_ENOENT)
            ud_log(UD_LOG_VERBOSE, "keystore %s: %s", path, e.msg);
    }
    free(path);
    path = NULL;
    if (ud_docker_config_path_get(&path, &e) < 0)
        return;
    long tmo = cli->conf != NULL && cli->conf->timeout > 0 ? cli->conf->timeout : 12;
    int rc = ud_reg_docker_credentials(path, url, tmo * 1000, &auth, &identity, &e);
    if (rc == 0) {
        ud_log(UD_LOG_DEBUG, "credentials for %s from %s", url, path);
        out->auth = auth;
        out->identity = identity;
    } else if (rc == UD_EPARSE || rc == UD_ETOOBIG) {
        ud_warn("ignoring %s", e.msg);
    } else if (rc != UD_ENOENT) {
        ud_log(UD_LOG_DEBUG, "%s", e.msg);
    }
}

int
ud_pull_client_open_url(const struct ud_cli *cli, const char *url, const char *also_url,
                        const char *proxy, int attempts, ud_reg_progress_fn progress,
                        void *progress_ctx, const volatile int *cancel, struct ud_reg_client **out,
                        struct ud_error *err)
{
    struct creds cr = {0};
    struct ud_reg_options o;

    lookup_auth(cli, url, &cr);
    if (cr.auth == NULL && cr.identity == NULL && also_url != NULL && strcmp(url, also_url) != 0)
        lookup_auth(cli, also_url, &cr);
    fill_options(cli, url, proxy, cr.auth, &o);
    o.identity_token = cr.identity;
    o.max_attempts = attempts;
    o.progress = progress;
    o.progress_ctx = progress_ctx;
    o.cancel = cancel;
    int rc = ud_reg_client_new(&o, out, err);
    creds_fini(&cr);
    return rc;
}

static int
client_open(const struct ud_cli *cli, const char *url, const char *also_url, const char *proxy,
            ud_reg_progress_fn progress, void *progress_ctx, const volatile int *cancel,
            struct ud_reg_client **out, struct ud_error *err)
{
    return ud_pull_client_open_url(cli, url, also_url, proxy, 0, progress, progress_ctx, cancel,
                                   out, err);
}

int
ud_pull_client_open(const struct ud_cli *cli, const struct ud_pull_site *site, const char *proxy,
                    ud_reg_progress_fn progress, void *progress_ctx, const volatile int *cancel,
                    struct ud_reg_client **out, struct ud_error *err)
{
    const char *url = site->registry_url;
    struct ud_reg_client *c = NULL, *h = NULL;
    struct ud_error e = {0};

    int rc = client_open(cli, url, NULL, proxy, progress, progress_ctx, cancel, &c, err);
    if (rc < 0)
        return rc;
    if (!is_insecure(cli) || site->scheme_given || !ud_str_has_prefix(url, "https://")) {
        *out = c;
        return 0;
    }
    /* --insecure and a bare host: try https once, without retries, and fall
     * back to http when the connection cannot be made (a plain-http
     * registry answers a TLS handshake with garbage). The probe is the
     * client's own first request, so its connection serves the pull. */
    if (ud_reg_probe(c, &e) != UD_ENET) {
        *out = c;
        return 0;
    }
    ud_log(UD_LOG_VERBOSE, "%s: %s; trying plain http", url, e.msg);
    cleanup_free char *http_url = ud_asprintf("http://%s", url + strlen("https://"));
    if (http_url == NULL) {
        ud_reg_client_free(c);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    if (client_open(cli, http_url, url, proxy, progress, progress_ctx, cancel, &h, &e) < 0 ||
        ud_reg_probe(h, &e) < 0) {
        ud_reg_client_free(h);
        *out = c; /* neither answers: report https's errors */
        return 0;
    }
    ud_reg_client_free(c);
    *out = h;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Mirrors                                                             */
/* ------------------------------------------------------------------ */

/* Does the mirror entry's host key name the registry of this pull? A
 * Docker Hub name stands for Docker Hub whatever URL it is reached by. */
static bool
mirror_key_matches(const struct ud_conf *conf, const char *key, size_t klen,
                   const struct ud_image_ref *ref, const struct ud_pull_site *site)
{
    cleanup_free char *k = ud_strndup(key, klen);
    if (k == NULL)
        return false;
    if (is_hub_host(k))
        return site_is_hub(conf, site->registry_url);
    if (ref->registry_host != NULL && strcasecmp(k, ref->registry_host) == 0)
        return true;
    return url_names_host(site->registry_url, k);
}

/* One entry ("URL" or "host=URL"): append its URL to v when it applies. */
static int
mirror_entry(const struct ud_conf *conf, const char *e, size_t n, const struct ud_image_ref *ref,
             const struct ud_pull_site *site, char ***v, struct ud_error *err)
{
    const char *eq = memchr(e, '=', n);
    const char *url = e;
    size_t ulen = n;
    if (eq != NULL) {
        if (!mirror_key_matches(conf, e, (size_t)(eq - e), ref, site))
            return 0;
        url = eq + 1;
        ulen = n - (size_t)(eq - e) - 1;
    } else if (!site_is_hub(conf, site->registry_url)) {
        return 0;
    }
    cleanup_free char *raw = ud_strndup(url, ulen);
    cleanup_free char *norm = NULL;
    bool given = false;
    if (raw == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int rc = url_normalise(raw, &norm, &given, err);
    if (rc < 0) {
        ud_error_prefix(err, "registry_mirrors: ");
        return rc;
    }
    if (strcmp(norm, site->registry_url) == 0)
        return 0; /* the registry itself comes last anyway */
    for (size_t i = 0; *v != NULL && (*v)[i] != NULL; i++)
        if (strcmp((*v)[i], norm) == 0)
            return 0;
    return ud_strv_push(v, norm, err);
}

int
ud_pull_mirrors_for(const struct ud_conf *conf, const struct ud_image_ref *ref,
                    const struct ud_pull_site *site, char ***out, struct ud_error *err)
{
    cleanup_strv char **v = ud_calloc(1, sizeof(char *));
    if (v == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; conf != NULL && conf->registry_mirrors && conf->registry_mirrors[i]; i++) {
        const char *p = conf->registry_mirrors[i];
        while (*p != '\0') {
            p += strspn(p, ", \t");
            size_t n = strcspn(p, ", \t");
            if (n > 0) {
                int rc = mirror_entry(conf, p, n, ref, site, &v, err);
                if (rc < 0)
                    return rc;
            }
            p += n;
        }
    }
    *out = ud_steal(&v);
    return 0;
}
