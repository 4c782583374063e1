/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pull orchestration: choose the registry, resolve the manifest (through an
 * index when there is one) to a single platform, hand every blob to the
 * registry client in one call so transfers share connections and run in
 * parallel, and publish the tag through a layerstore transaction.
 */
#include "image_pull.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "keystore_path.h"
#include "ud/layerstore.h"
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
/* Blob plan                                                           */
/* ------------------------------------------------------------------ */

void
ud_pull_plan_fini(struct ud_pull_plan *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->blobs[i].digest);
        free(p->blobs[i].dest_path);
    }
    free(p->blobs);
    memset(p, 0, sizeof(*p));
}

static int
plan_add(struct ud_pull_plan *p, const char *layersdir, const struct ud_descriptor *d,
         struct ud_error *err)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->blobs[i].digest, d->digest) == 0) {
            if (p->blobs[i].size < 0 && d->size >= 0)
                p->blobs[i].size = d->size;
            return 0;
        }
    }
    /* The digest becomes a file name in layers/ and in the tag directory. */
    if (d->digest == NULL || d->digest[0] == '\0' || strchr(d->digest, '/') != NULL ||
        d->digest[0] == '.')
        return ud_error_set(err, UD_EINVAL, 0, "invalid blob digest in manifest");
    struct ud_pull_blob b = {.size = d->size};
    b.digest = ud_strdup(d->digest);
    b.dest_path = ud_path_join(layersdir, d->digest);
    if (b.digest == NULL || b.dest_path == NULL) {
        free(b.digest);
        free(b.dest_path);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    p->blobs[p->n++] = b;
    if (b.size > 0)
        p->total_bytes += b.size;
    return 0;
}

int
ud_pull_plan_build(const struct ud_manifest *m, const char *layersdir, struct ud_pull_plan *out,
                   struct ud_error *err)
{
    struct ud_pull_plan p = {0};
    size_t cap = m->n_layers + (m->has_config ? 1 : 0);

    p.blobs = ud_calloc(cap ? cap : 1, sizeof(*p.blobs));
    if (p.blobs == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < m->n_layers; i++) {
        int rc = plan_add(&p, layersdir, &m->layers[i], err);
        if (rc < 0) {
            ud_pull_plan_fini(&p);
            return rc;
        }
    }
    if (m->has_config) {
        int rc = plan_add(&p, layersdir, &m->config, err);
        if (rc < 0) {
            ud_pull_plan_fini(&p);
            return rc;
        }
    }
    *out = p;
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

/* Stored credentials for url. A missing or unreadable keystore means an
 * anonymous pull, as upstream does; only the reason is logged. */
static char *
lookup_auth(const struct ud_cli *cli, const char *url)
{
    struct ud_error e = {0};
    cleanup_free char *path = NULL;
    char *auth = NULL;

    if (ud_keystore_path_get(cli->conf, &path, &e) < 0)
        return NULL;
    int rc = ud_reg_keystore_get(path, url, &auth, &e);
    if (rc < 0) {
        if (rc != UD_ENOENT)
            ud_log(UD_LOG_VERBOSE, "keystore %s: %s", path, e.msg);
        return NULL;
    }
    return auth;
}

/* With --insecure and a bare host, try https once (no retries) and fall
 * back to http when the connection cannot be made (a plain-http registry
 * answers a TLS handshake with garbage). Returns the URL to use. */
static char *
probe_scheme(const struct ud_cli *cli, const char *https_url, const char *proxy)
{
    struct ud_reg_options o;
    struct ud_reg_client *probe = NULL;
    struct ud_error e = {0};
    char *http_url = NULL;

    fill_options(cli, https_url, proxy, NULL, &o);
    o.max_attempts = 1;
    if (ud_reg_client_new(&o, &probe, &e) < 0)
        return ud_strdup(https_url);
    int rc = ud_reg_ping(probe, &e);
    ud_reg_client_free(probe);
    if (rc != UD_ENET)
        return ud_strdup(https_url);
    ud_log(UD_LOG_VERBOSE, "%s: %s; trying plain http", https_url, e.msg);
    http_url = ud_asprintf("http://%s", https_url + strlen("https://"));
    if (http_url == NULL)
        return NULL;
    fill_options(cli, http_url, proxy, NULL, &o);
    o.max_attempts = 1;
    probe = NULL;
    if (ud_reg_client_new(&o, &probe, &e) < 0 || ud_reg_ping(probe, &e) < 0) {
        ud_reg_client_free(probe);
        free(http_url);
        return ud_strdup(https_url);
    }
    ud_reg_client_free(probe);
    return http_url;
}

int
ud_pull_client_open(const struct ud_cli *cli, const struct ud_pull_site *site, const char *proxy,
                    ud_reg_progress_fn progress, void *progress_ctx, const volatile int *cancel,
                    struct ud_reg_client **out, struct ud_error *err)
{
    cleanup_free char *auth = NULL;
    cleanup_free char *url = NULL;
    struct ud_reg_options o;

    if (is_insecure(cli) && !site->scheme_given &&
        ud_str_has_prefix(site->registry_url, "https://"))
        url = probe_scheme(cli, site->registry_url, proxy);
    else
        url = ud_strdup(site->registry_url);
    if (url == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    /* "login --registry=host" stores under https://host; a registry reached
     * over plain http may also have been stored under http://host. */
    auth = lookup_auth(cli, url);
    if (auth == NULL && strcmp(url, site->registry_url) != 0)
        auth = lookup_auth(cli, site->registry_url);
    fill_options(cli, url, proxy, auth, &o);
    o.progress = progress;
    o.progress_ctx = progress_ctx;
    o.cancel = cancel;
    return ud_reg_client_new(&o, out, err);
}

/* ------------------------------------------------------------------ */
/* Manifest resolution                                                 */
/* ------------------------------------------------------------------ */

/* Turn a manifest GET failure into upstream's wording. */
static int
manifest_get_error(int rc, struct ud_error *err)
{
    if (rc == UD_EAUTH)
        return ud_error_set(err, rc, 0, "manifest not found or not authorized");
    if (rc != UD_ECANCELED)
        ud_error_prefix(err, "pulling manifest: ");
    return rc;
}

/* GET the manifest for reference; when it is an index, pick want's entry
 * and GET that, following nested indexes a bounded number of times. On
 * success *body is the platform manifest as served (what "manifest"
 * stores) and *m its parsed form. */
static int
resolve_manifest(struct ud_reg_client *c, const char *remote, const char *reference,
                 const struct ud_platform *want, char **body_out, size_t *len_out,
                 struct ud_manifest *m_out, struct ud_error *err)
{
    cleanup_free char *ref = ud_strdup(reference);

    if (ref == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (int depth = 0; depth <= UD_OCI_INDEX_MAX_DEPTH; depth++) {
        cleanup_free char *body = NULL;
        cleanup_free char *ctype = NULL;
        size_t len = 0;
        enum ud_oci_kind kind = UD_OCI_KIND_UNKNOWN;

        int rc = ud_reg_manifest_get(c, remote, ref, &body, &len, &ctype, NULL, err);
        if (rc < 0)
            return manifest_get_error(rc, err);
        rc = ud_oci_kind_detect(ctype, body, len, &kind, err);
        if (rc == UD_ENOMEM)
            return rc;
        if (rc < 0 || kind == UD_OCI_KIND_UNKNOWN) {
            ud_log(UD_LOG_VERBOSE, "manifest of type '%s': %s", ctype ? ctype : "",
                   rc < 0 ? err->msg : "unknown kind");
            return ud_error_set(err, UD_EUNSUPP, 0, "no manifest for given image and platform");
        }
        if (ud_oci_kind_is_manifest(kind)) {
            struct ud_manifest m = {0};
            rc = ud_oci_manifest_parse(body, len, kind, &m, err);
            if (rc < 0) {
                ud_error_prefix(err, "invalid manifest: ");
                return rc;
            }
            *m_out = m;
            *len_out = len;
            *body_out = ud_steal(&body);
            return 0;
        }
        struct ud_index idx = {0};
        const struct ud_descriptor *d = NULL;
        rc = ud_oci_index_parse(body, len, kind, &idx, err);
        if (rc < 0) {
            ud_error_prefix(err, "invalid manifest index: ");
            return rc;
        }
        rc = ud_oci_index_select(&idx, want, &d, err);
        if (rc == 0) {
            free(ref);
            ref = ud_strdup(d->digest);
            if (ref == NULL)
                rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        }
        ud_oci_index_fini(&idx);
        if (rc < 0)
            return rc;
    }
    return ud_error_set(err, UD_EUNSUPP, 0, "manifest index nested too deeply");
}

/* ------------------------------------------------------------------ */
/* Progress and interruption                                           */
/* ------------------------------------------------------------------ */

struct progress {
    bool enabled; /* stdout is a terminal and INFO lines are shown */
    bool drawn;   /* a status line is on screen */
    const struct ud_pull_plan *plan;
    int64_t *done;     /* per blob */
    int64_t *total;    /* per blob, -1 unknown */
    const size_t *map; /* callback index -> plan index during a retry round */
    size_t finished;
    struct timespec last;
};

static void
progress_draw(struct progress *p, bool force)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (now.tv_sec - p->last.tv_sec) * 1000 + (now.tv_nsec - p->last.tv_nsec) / 1000000;
    if (!force && p->drawn && ms < 150)
        return;
    p->last = now;
    int64_t done = 0, total = 0;
    for (size_t i = 0; i < p->plan->n; i++) {
        done += p->done[i];
        total += p->total[i] > 0 ? p->total[i] : 0;
    }
    printf("\rDownloading %zu/%zu blobs: %.1f / %.1f MB\033[K", p->finished, p->plan->n,
           (double)done / 1048576.0, (double)total / 1048576.0);
    fflush(stdout);
    p->drawn = true;
}

static void
progress_end(struct progress *p)
{
    if (p->enabled && p->drawn) {
        fputs("\r\033[K", stdout);
        fflush(stdout);
        p->drawn = false;
    }
}

static void
progress_cb(void *ctx, enum ud_reg_progress_event ev, size_t index, const char *digest,
            int64_t done, int64_t total)
{
    struct progress *p = ctx;
    (void)digest;
    if (!p->enabled)
        return;
    if (p->map != NULL)
        index = p->map[index];
    if (index >= p->plan->n)
        return;
    if (total > 0)
        p->total[index] = total;
    switch (ev) {
    case UD_REG_BLOB_START:
    case UD_REG_BLOB_PROGRESS:
        p->done[index] = done;
        progress_draw(p, false);
        break;
    case UD_REG_BLOB_CACHED:
    case UD_REG_BLOB_DONE:
        p->done[index] = p->total[index] > 0 ? p->total[index] : done;
        p->finished++;
        progress_draw(p, true);
        break;
    case UD_REG_BLOB_FAILED:
        break;
    }
}

static volatile sig_atomic_t pull_cancel;

static void
on_interrupt(int sig)
{
    (void)sig;
    pull_cancel = 1;
}

struct saved_signals {
    struct sigaction intr, term, xfsz;
};

/* While the pull runs, SIGINT/SIGTERM only raise the cancel flag so that
 * transfers stop and the transaction is rolled back before exiting. */
static void
signals_catch(struct saved_signals *s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    pull_cancel = 0;
    sigaction(SIGINT, &sa, &s->intr);
    sigaction(SIGTERM, &sa, &s->term);
    /* Over RLIMIT_FSIZE a write must fail with EFBIG (reported, rolled
     * back) instead of killing the process mid-transaction. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGXFSZ, &sa, &s->xfsz);
}

static void
signals_restore(const struct saved_signals *s)
{
    sigaction(SIGINT, &s->intr, NULL);
    sigaction(SIGTERM, &s->term, NULL);
    sigaction(SIGXFSZ, &s->xfsz, NULL);
}

/* ------------------------------------------------------------------ */
/* Pull                                                                */
/* ------------------------------------------------------------------ */

_Static_assert(sizeof(sig_atomic_t) == sizeof(int), "the cancel flag is read as an int");

struct pull_ctx {
    struct ud_cli *cli;
    struct ud_image_ref ref;
    struct ud_platform want;
    struct ud_pull_site site;
    char *remote; /* repository path at the registry */
    struct ud_reg_client *client;
    char *body; /* platform manifest as served */
    size_t len;
    struct ud_manifest m;
    struct ud_pull_plan plan;
    struct ud_reg_blob *rb; /* one per plan entry */
    struct progress prog;
};

static void
pull_ctx_fini(struct pull_ctx *x)
{
    ud_reg_client_free(x->client);
    ud_oci_ref_fini(&x->ref);
    ud_pull_site_fini(&x->site);
    free(x->remote);
    free(x->body);
    ud_oci_manifest_fini(&x->m);
    ud_pull_plan_fini(&x->plan);
    free(x->rb);
    free(x->prog.done);
    free(x->prog.total);
}

/* Parse what the user gave; prints the error. */
static int
pull_prepare(struct pull_ctx *x, const char *spec, const struct ud_pull_opts *o)
{
    struct ud_error e = {0};

    if (spec == NULL || ud_oci_ref_parse(spec, &x->ref, &e) < 0) {
        if (spec != NULL)
            ud_log(UD_LOG_VERBOSE, "%s", e.msg);
        ud_err("must specify image:tag or repository/image:tag");
        return -1;
    }
    int rc = o->platform != NULL && o->platform[0] != '\0'
                 ? ud_oci_platform_parse(o->platform, &x->want, &e)
                 : ud_oci_platform_host(&x->want, &e);
    if (rc < 0) {
        ud_err("invalid platform: %s", e.msg);
        return -1;
    }
    if (ud_pull_site_select(x->cli->conf, x->ref.registry_host, o->registry_opt, o->index_opt,
                            &x->site, &e) < 0 ||
        ud_pull_remote_repo(x->cli->conf, &x->ref, &x->site, &x->remote, &e) < 0) {
        ud_err("%s", e.msg);
        return -1;
    }
    return 0;
}

/* A blob found verified in layers/ is a success whatever its status says
 * (some client versions leave the status of cached blobs unset). */
static bool
blob_ok(const struct ud_reg_blob *b)
{
    return b->status == 0 || b->cached;
}

static bool
all_blobs_ok(const struct pull_ctx *x)
{
    for (size_t i = 0; i < x->plan.n; i++)
        if (!blob_ok(&x->rb[i]))
            return false;
    return true;
}

/* Another pull of the same blob holds the download lock of its partial
 * file (the registry client answers UD_EBUSY). Waiting for it and asking
 * again finds the blob verified in layers/, or resumes what it left. */
#define BUSY_ROUNDS 8
#define BUSY_POLL_MS 200

static int
wait_for_other_download(const char *dest_path)
{
    cleanup_free char *partial = ud_asprintf("%s.partial", dest_path);
    const struct timespec pause = {0, BUSY_POLL_MS * 1000000L};

    if (partial == NULL)
        return UD_ENOMEM;
    for (;;) {
        if (pull_cancel)
            return UD_ECANCELED;
        int fd = open(partial, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return 0; /* gone: renamed into place, or abandoned */
        int r = flock(fd, LOCK_EX | LOCK_NB);
        close(fd); /* releases the lock if we got it */
        if (r == 0)
            return 0;
        nanosleep(&pause, NULL);
    }
}

/* One more fetch of the blobs that were busy. Returns 1 when none was,
 * else the fetch's result (0 or a UD_E* code). */
static int
fetch_busy_again(struct pull_ctx *x, struct ud_error *err)
{
    cleanup_free size_t *map = ud_calloc(x->plan.n ? x->plan.n : 1, sizeof(size_t));
    cleanup_free struct ud_reg_blob *again = ud_calloc(x->plan.n ? x->plan.n : 1, sizeof(*again));
    size_t k = 0;

    if (map == NULL || again == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < x->plan.n; i++) {
        if (x->rb[i].status != UD_EBUSY || x->rb[i].cached)
            continue;
        ud_log(UD_LOG_VERBOSE, "waiting for another process downloading %s", x->rb[i].digest);
        int rc = wait_for_other_download(x->rb[i].dest_path);
        if (rc < 0)
            return ud_error_set(err, rc, 0, "interrupted");
        again[k] = x->rb[i];
        map[k++] = i;
    }
    if (k == 0)
        return 1;
    x->prog.map = map;
    int rc = ud_reg_blobs_fetch(x->client, x->remote, again, k, err);
    x->prog.map = NULL;
    for (size_t j = 0; j < k; j++)
        x->rb[map[j]] = again[j];
    if (rc < 0 && rc != UD_ECANCELED && all_blobs_ok(x))
        rc = 0;
    if (rc < 0 && rc != UD_ECANCELED) {
        /* the first failure that is not ours to wait for decides */
        for (size_t i = 0; i < x->plan.n; i++) {
            if (!blob_ok(&x->rb[i]) && x->rb[i].status != UD_EBUSY) {
                *err = x->rb[i].error;
                return x->rb[i].status;
            }
        }
    }
    return rc;
}

/* Link every blob into the new tag (the links protect them from a
 * concurrent rmi), announce them and download the missing ones at once. */
static int
pull_blobs(struct pull_ctx *x, struct ud_store_image_txn *txn, struct ud_error *err)
{
    size_t n = x->plan.n;

    for (size_t i = 0; i < n; i++) {
        int rc = ud_store_image_link_blob(txn, x->plan.blobs[i].digest, err);
        if (rc < 0)
            return rc;
    }
    x->rb = ud_calloc(n ? n : 1, sizeof(*x->rb));
    x->prog.done = ud_calloc(n ? n : 1, sizeof(int64_t));
    x->prog.total = ud_calloc(n ? n : 1, sizeof(int64_t));
    if (x->rb == NULL || x->prog.done == NULL || x->prog.total == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < n; i++) {
        x->rb[i].digest = x->plan.blobs[i].digest;
        x->rb[i].size = x->plan.blobs[i].size;
        x->rb[i].dest_path = x->plan.blobs[i].dest_path;
        x->prog.total[i] = x->plan.blobs[i].size;
        ud_info("downloading layer %s", x->plan.blobs[i].digest);
    }
    x->prog.plan = &x->plan;
    int rc = ud_reg_blobs_fetch(x->client, x->remote, x->rb, n, err);
    for (int round = 0; rc < 0 && rc != UD_ECANCELED && round < BUSY_ROUNDS; round++) {
        int r = fetch_busy_again(x, err);
        if (r == 1) /* nothing was busy */
            break;
        rc = r;
    }
    progress_end(&x->prog);
    if (rc < 0 && rc != UD_ECANCELED && all_blobs_ok(x))
        rc = 0;
    return rc;
}

/* Say what failed, blob by blob (upstream stops at the first). */
static void
report_blob_failures(const struct pull_ctx *x, int rc, const struct ud_error *err)
{
    bool any = false;

    if (rc == UD_ECANCELED || pull_cancel) {
        ud_info("keyboard interrupt");
        return;
    }
    for (size_t i = 0; x->rb != NULL && i < x->plan.n; i++) {
        const struct ud_reg_blob *b = &x->rb[i];
        if (blob_ok(b) || b->status == UD_ECANCELED)
            continue;
        if (strstr(b->error.msg, b->digest) != NULL)
            ud_err("downloading layer: %s", b->error.msg);
        else
            ud_err("downloading layer %s: %s", b->digest, b->error.msg);
        any = true;
    }
    if (!any)
        ud_err("%s", err->msg);
}

/* A failed download leaves "<blob>.partial" for a later resume. A failed
 * pull must leave nothing, so those go too, except after an interruption
 * (Ctrl-C, SIGTERM): the user is likely to pull again, and the registry
 * client then resumes them with Range requests. */
static void
remove_partials(const struct pull_ctx *x)
{
    for (size_t i = 0; x->rb != NULL && i < x->plan.n; i++) {
        if (blob_ok(&x->rb[i]))
            continue;
        if (x->rb[i].status == UD_EBUSY)
            continue; /* another pull's download */
        cleanup_free char *partial = ud_asprintf("%s.partial", x->rb[i].dest_path);
        cleanup_free char *state = ud_asprintf("%s.partial.state", x->rb[i].dest_path);
        if (partial == NULL || state == NULL)
            continue;
        /* Only when nobody holds its download lock: a concurrent pull may
         * have started on it since. */
        cleanup_close int fd = open(partial, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0)
            continue;
        if (unlink(partial) < 0 && errno != ENOENT)
            ud_log(UD_LOG_VERBOSE, "cannot remove %s: %s", partial, strerror(errno));
        if (unlink(state) < 0 && errno != ENOENT)
            ud_log(UD_LOG_VERBOSE, "cannot remove %s: %s", state, strerror(errno));
    }
}

/* Everything after the manifest: the transaction and the downloads. */
static int
pull_store(struct pull_ctx *x, struct ud_store *store)
{
    struct ud_error e = {0};
    struct ud_store_image_txn *txn = NULL;
    const struct ud_store_paths *paths = ud_store_get_paths(store);

    if (ud_pull_plan_build(&x->m, paths->layersdir, &x->plan, &e) < 0 ||
        ud_store_image_begin(store, x->ref.local_repo, x->ref.tag, &txn, &e) < 0) {
        ud_err("%s", e.msg);
        return -1;
    }
    int rc = ud_store_image_put_manifest(txn, x->body, x->len, &e);
    if (rc == 0)
        rc = pull_blobs(x, txn, &e);
    if (rc < 0) {
        if (x->rb != NULL)
            report_blob_failures(x, rc, &e);
        else
            ud_err("%s", e.msg);
        ud_store_image_abort(txn);
        if (rc != UD_ECANCELED && !pull_cancel)
            remove_partials(x);
        return -1;
    }
    if (ud_store_image_commit(txn, &e) < 0) {
        ud_err("storing image %s:%s: %s", x->ref.local_repo, x->ref.tag, e.msg);
        return -1;
    }
    return 0;
}

int
ud_image_pull(struct ud_cli *cli, const char *spec, const struct ud_pull_opts *opts)
{
    static const struct ud_pull_opts none = {0};
    struct pull_ctx x = {.cli = cli};
    struct saved_signals saved;
    struct ud_error e = {0};
    int status = 1;

    if (opts == NULL)
        opts = &none;
    if (pull_prepare(&x, spec, opts) < 0) {
        pull_ctx_fini(&x);
        return 1;
    }
    struct ud_store *store = ud_cli_store(cli);
    if (store == NULL) {
        pull_ctx_fini(&x);
        return 1;
    }
    x.prog.enabled = isatty(STDOUT_FILENO) && ud_log_enabled(UD_LOG_INFO);
    signals_catch(&saved);
    int rc = ud_pull_client_open(cli, &x.site, opts->http_proxy, progress_cb, &x.prog,
                                 (const volatile int *)&pull_cancel, &x.client, &e);
    if (rc == 0)
        rc = resolve_manifest(x.client, x.remote, x.ref.tag, &x.want, &x.body, &x.len, &x.m, &e);
    if (rc < 0) {
        if (rc == UD_ECANCELED)
            ud_info("keyboard interrupt");
        else
            ud_err("%s", e.msg);
        ud_err("no files downloaded");
    } else if (pull_store(&x, store) < 0) {
        ud_err("no files downloaded");
    } else {
        status = 0;
    }
    signals_restore(&saved);
    pull_ctx_fini(&x);
    return status;
}
