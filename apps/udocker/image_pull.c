/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pull orchestration: with the site (pull_site.c) and the platform
 * manifest (pull_plan.c) known, hand every blob to the registry client in
 * one call so transfers share connections and run in parallel, show
 * progress (progress.h), handle interruption, and publish the tag through
 * a layerstore transaction. Content may come from registry mirrors tried
 * in order before the registry itself (sources, below).
 */
#include "image_pull.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "pull_int.h"
#include "ud/layerstore.h"
#include "ud/oci-manifest.h"

/* ------------------------------------------------------------------ */
/* Progress and interruption                                           */
/* ------------------------------------------------------------------ */

/* Registry events to the display (progress.h). During a retry round
 * the callback indexes a subset: map turns them back into plan indexes. */
struct progress {
    struct ud_progress *ui; /* NULL: nothing shown (-q) */
    size_t n;
    const size_t *map;
};

static void
progress_cb(void *ctx, enum ud_reg_progress_event ev, size_t index, const char *digest,
            int64_t done, int64_t total)
{
    struct progress *p = ctx;
    (void)digest;
    (void)total;
    if (p->ui == NULL)
        return;
    if (p->map != NULL)
        index = p->map[index];
    if (index >= p->n)
        return;
    switch (ev) {
    case UD_REG_BLOB_START:
    case UD_REG_BLOB_PROGRESS:
        ud_progress_update(p->ui, index, done);
        break;
    case UD_REG_BLOB_CACHED:
        ud_progress_done(p->ui, index, "Already exists");
        break;
    case UD_REG_BLOB_DONE:
        ud_progress_done(p->ui, index, "Pull complete");
        break;
    case UD_REG_BLOB_FAILED:
        ud_progress_failed(p->ui, index);
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

/* Where the pull may get its content from: the mirrors that apply, in
 * order, then the registry itself. A source that cannot be connected to
 * is marked dead and never asked again during this pull, so a mirror
 * that is down costs one connect timeout, not one per request. */
struct pull_source {
    char *url;
    bool mirror;
    bool dead;
    struct ud_reg_client *client;
};

struct pull_ctx {
    struct ud_cli *cli;
    const struct ud_pull_opts *opts;
    struct pull_source *src;
    size_t nsrc;
    size_t cur; /* the source that served the manifest */
    struct ud_image_ref ref;
    struct ud_platform want;
    struct ud_pull_site site;
    char *remote;                 /* repository path at the registry */
    struct ud_reg_client *client; /* borrowed: src[cur].client */
    char *body;                   /* platform manifest as served */
    size_t len;
    char *index; /* the index it was chosen from, NULL if none */
    size_t index_len;
    struct ud_manifest m;
    struct ud_pull_plan plan;
    struct ud_reg_blob *rb; /* one per plan entry */
    struct progress prog;
};

static void
pull_ctx_fini(struct pull_ctx *x)
{
    for (size_t i = 0; i < x->nsrc; i++) {
        ud_reg_client_free(x->src[i].client);
        free(x->src[i].url);
    }
    free(x->src);
    ud_progress_free(x->prog.ui);
    ud_oci_ref_fini(&x->ref);
    ud_pull_site_fini(&x->site);
    free(x->remote);
    free(x->body);
    free(x->index);
    ud_oci_manifest_fini(&x->m);
    ud_pull_plan_fini(&x->plan);
    free(x->rb);
}

static int sources_build(struct pull_ctx *x, struct ud_error *err);

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
        ud_pull_remote_repo(x->cli->conf, &x->ref, &x->site, &x->remote, &e) < 0 ||
        sources_build(x, &e) < 0) {
        ud_err("%s", e.msg);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sources: mirrors, then the registry                                 */
/* ------------------------------------------------------------------ */

static int
sources_build(struct pull_ctx *x, struct ud_error *err)
{
    cleanup_strv char **mirrors = NULL;
    int rc = ud_pull_mirrors_for(x->cli->conf, &x->ref, &x->site, &mirrors, err);
    if (rc < 0)
        return rc;
    size_t nm = 0;
    while (mirrors[nm] != NULL)
        nm++;
    x->src = ud_calloc(nm + 1, sizeof(*x->src));
    if (x->src == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < nm; i++) {
        x->src[i].mirror = true;
        x->src[i].url = ud_steal(&mirrors[i]);
        x->nsrc++;
    }
    x->src[nm].url = ud_strdup(x->site.registry_url);
    if (x->src[nm].url == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    x->nsrc++;
    return 0;
}

/* A client for source i, opened on first use. A mirror is probed once
 * (a single attempt): if it cannot be reached it is marked dead, and
 * every later call answers UD_ENET at once. Mirror clients make one
 * attempt per request, since the next source is the retry. */
static int
source_open(struct pull_ctx *x, size_t i, struct ud_error *err)
{
    struct pull_source *s = &x->src[i];
    const volatile int *cancel = (const volatile int *)&pull_cancel;
    if (s->client != NULL)
        return 0;
    if (s->dead)
        return ud_error_set(err, UD_ENET, 0, "%s: unreachable", s->url);
    if (!s->mirror)
        return ud_pull_client_open(x->cli, &x->site, x->opts->http_proxy, progress_cb, &x->prog,
                                   cancel, &s->client, err);
    int rc = ud_pull_client_open_url(x->cli, s->url, NULL, x->opts->http_proxy, 1, progress_cb,
                                     &x->prog, cancel, &s->client, err);
    if (rc == 0)
        rc = ud_reg_probe(s->client, err);
    if (rc < 0) {
        ud_reg_client_free(s->client);
        s->client = NULL;
        s->dead = rc == UD_ENET || rc == UD_EUNSUPP;
        ud_log(UD_LOG_VERBOSE, "mirror %s: %s", s->url, err->msg);
    }
    return rc;
}

/* The manifest from the first source that has it. Mirrors that fail
 * (unreachable, 404, 5xx, refused) give way to the next source; the
 * registry's own answer is final. */
static int
manifest_from_sources(struct pull_ctx *x, struct ud_error *err)
{
    int rc = UD_ENET;
    for (size_t i = 0; i < x->nsrc; i++) {
        struct pull_source *s = &x->src[i];
        if (s->dead)
            continue;
        rc = source_open(x, i, err);
        if (rc == 0)
            rc =
                ud_pull_manifest_resolve_index(s->client, x->remote, x->ref.tag, &x->want, &x->body,
                                               &x->len, &x->m, &x->index, &x->index_len, err);
        if (rc == 0) {
            x->cur = i;
            x->client = s->client;
            if (s->mirror)
                ud_log(UD_LOG_VERBOSE, "using mirror %s", s->url);
            return 0;
        }
        if (rc == UD_ECANCELED || rc == UD_ENOMEM || !s->mirror)
            return rc;
        ud_log(UD_LOG_VERBOSE, "mirror %s: %s; trying the next source", s->url, err->msg);
        if (rc == UD_ENET) {
            s->dead = true;
            ud_reg_client_free(s->client);
            s->client = NULL;
        }
    }
    return rc;
}

/* A blob found verified in layers/ is a success. The client reports it
 * with status 0; `cached` is also accepted so that a client that leaves
 * the status of cached blobs unset still works. */
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

/* A blob that another source may well serve: the failure was the
 * source's (missing, broken, unreachable, refused), not the content's. */
static bool
source_failure(int status)
{
    return status == UD_ENOTFOUND || status == UD_EREMOTE || status == UD_ENET ||
           status == UD_EAUTH;
}

/* One more fetch, from client, of the blobs that were busy (busy: after
 * waiting for the other download) or that failed at their source (!busy).
 * Returns 1 when there was none, else the fetch's result (0 or a UD_E*
 * code: the first failure not ours to wait for). */
static int
fetch_again(struct pull_ctx *x, struct ud_reg_client *client, bool busy, struct ud_error *err)
{
    cleanup_free size_t *map = ud_calloc(x->plan.n ? x->plan.n : 1, sizeof(size_t));
    cleanup_free struct ud_reg_blob *again = ud_calloc(x->plan.n ? x->plan.n : 1, sizeof(*again));
    size_t k = 0;

    if (map == NULL || again == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < x->plan.n; i++) {
        if (blob_ok(&x->rb[i]) ||
            (busy ? x->rb[i].status != UD_EBUSY : !source_failure(x->rb[i].status)))
            continue;
        if (busy) {
            ud_log(UD_LOG_VERBOSE, "waiting for another process downloading %s", x->rb[i].digest);
            int rc = wait_for_other_download(x->rb[i].dest_path);
            if (rc < 0)
                return ud_error_set(err, rc, 0, "interrupted");
        }
        again[k] = x->rb[i];
        again[k].status = 0;
        memset(&again[k].error, 0, sizeof(again[k].error));
        map[k++] = i;
    }
    if (k == 0)
        return 1;
    x->prog.map = map;
    int rc = ud_reg_blobs_fetch(client, x->remote, again, k, err);
    x->prog.map = NULL;
    for (size_t j = 0; j < k; j++)
        x->rb[map[j]] = again[j];
    if (rc < 0 && rc != UD_ECANCELED && all_blobs_ok(x))
        rc = 0;
    if (rc < 0 && rc != UD_ECANCELED) {
        for (size_t i = 0; i < x->plan.n; i++) {
            if (!blob_ok(&x->rb[i]) && x->rb[i].status != UD_EBUSY) {
                *err = x->rb[i].error;
                return x->rb[i].status;
            }
        }
    }
    return rc;
}

/* Blobs the serving source could not give: ask the next sources in
 * order (a mirror may lack a layer the registry has). */
static int
fetch_from_next_sources(struct pull_ctx *x, int rc, struct ud_error *err)
{
    for (size_t j = x->cur + 1; j < x->nsrc && rc < 0 && rc != UD_ECANCELED; j++) {
        struct ud_error e = {0};
        bool any = false;
        for (size_t i = 0; i < x->plan.n; i++)
            any = any || (!blob_ok(&x->rb[i]) && source_failure(x->rb[i].status));
        if (!any)
            break;
        if (source_open(x, j, &e) < 0)
            continue;
        ud_log(UD_LOG_VERBOSE, "fetching the missing blobs from %s", x->src[j].url);
        int r = fetch_again(x, x->src[j].client, false, err);
        if (r != 1)
            rc = r;
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
    if (x->rb == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    x->prog.ui = ud_progress_new("Downloading", n);
    x->prog.n = n;
    for (size_t i = 0; i < n; i++) {
        x->rb[i].digest = x->plan.blobs[i].digest;
        x->rb[i].size = x->plan.blobs[i].size;
        x->rb[i].dest_path = x->plan.blobs[i].dest_path;
        ud_progress_item(x->prog.ui, i, x->plan.blobs[i].digest, x->plan.blobs[i].size);
        ud_info("downloading layer %s", x->plan.blobs[i].digest);
    }
    int rc = ud_reg_blobs_fetch(x->client, x->remote, x->rb, n, err);
    for (int round = 0; rc < 0 && rc != UD_ECANCELED && round < BUSY_ROUNDS; round++) {
        int r = fetch_again(x, x->client, true, err);
        if (r == 1) /* nothing was busy */
            break;
        rc = r;
    }
    if (rc < 0 && rc != UD_ECANCELED && !all_blobs_ok(x))
        rc = fetch_from_next_sources(x, rc, err);
    ud_progress_free(x->prog.ui);
    x->prog.ui = NULL;
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

/* The partial-file policy, the registry client's own: a blob interrupted
 * (Ctrl-C, SIGTERM: status UD_ECANCELED) keeps "<blob>.partial" (and its
 * ".partial.state"), since the user is likely to pull again and the client
 * then resumes it with a Range request; a blob that failed any other way
 * leaves nothing. The client already removed those; this also covers a
 * fetch that stopped before reaching every blob. */
static void
remove_partials(const struct pull_ctx *x)
{
    for (size_t i = 0; x->rb != NULL && i < x->plan.n; i++) {
        if (blob_ok(&x->rb[i]) || x->rb[i].status == UD_ECANCELED)
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
    if (rc == 0 && x->index != NULL) /* for "images -p" */
        rc = ud_store_image_put_index(txn, x->index, x->index_len, &e);
    if (rc == 0)
        rc = pull_blobs(x, txn, &e);
    if (rc < 0) {
        if (x->rb != NULL)
            report_blob_failures(x, rc, &e);
        else
            ud_err("%s", e.msg);
        ud_store_image_abort(txn);
        remove_partials(x);
        return -1;
    }
    if (ud_store_image_commit(txn, &e) < 0) {
        ud_err("storing image %s:%s: %s", x->ref.local_repo, x->ref.tag, e.msg);
        return -1;
    }
    return 0;
}

void
ud_pull_opts_parse(struct ud_cmdline *cl, struct ud_pull_opts *o)
{
    static const char *const value_opts[] = {
        "--index=", "--registry=", "--httpproxy=", "--platform=", NULL};

    ud_cmdline_declare(cl, value_opts);
    o->index_opt = ud_cmdline_opt(cl, "--index=");
    o->registry_opt = ud_cmdline_opt(cl, "--registry=");
    o->http_proxy = ud_cmdline_opt(cl, "--httpproxy=");
    o->platform = ud_cmdline_opt(cl, "--platform=");
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
    x.opts = opts;
    if (pull_prepare(&x, spec, opts) < 0) {
        pull_ctx_fini(&x);
        return 1;
    }
    struct ud_store *store = ud_cli_store(cli);
    if (store == NULL) {
        pull_ctx_fini(&x);
        return 1;
    }
    signals_catch(&saved);
    int rc = manifest_from_sources(&x, &e);
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
