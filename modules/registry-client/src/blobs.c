/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ud_reg_blobs_fetch: all blobs of a pull downloaded at once on one thread
 * with the curl multi interface. Blobs are cut into Range segments on
 * demand, big first and shrinking toward the end (guided self-scheduling),
 * so every connection stays busy until the last bytes; redirects are
 * followed by hand without Authorization (pre-signed CDN URLs reject it);
 * 401 renews the token; 429/5xx and network errors retry with backoff,
 * resuming each segment where it stopped. Verified blobs are fsynced and
 * renamed on a second thread so that the network loop never waits for disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "blobs_int.h"

#define HASH_BUF (256 * 1024)
/* Received bytes are gathered per transfer and written in blocks of this
 * size: one pwrite per TLS record (16 KiB) costs a lot of system time. */
#define WRITE_BUF (256 * 1024)
/* Written bytes are handed to the kernel's writeback every this many. */
#define WRITEBACK_STEP (4 * 1024 * 1024)
/* UD_REG_BLOB_PROGRESS goes out when a blob has PROGRESS_STEP more bytes
 * or PROGRESS_MS have passed since the last event, whichever comes first. */
#define PROGRESS_STEP (1024 * 1024)
#define PROGRESS_MS 100
#define AUTH_TRIES 2
/* Retries that made progress are allowed beyond max_attempts, but only
 * this many: a server that always sends a little and then closes must not
 * keep a pull busy forever. */
#define PROGRESS_RETRIES 8
/* Before a blob's server has answered a ranged request, this many requests
 * may be out on it at once (unless another blob of the fetch has already
 * shown that Range works, or that it does not). */
#define SPECULATIVE_SEGS 2
/* A transfer's tail is split off for an idle connection only when that
 * part has at least this many bytes. */
#define STEAL_MIN (256 * 1024)

struct fetch {
    struct ud_reg_client *c;
    const char *repo;
    char *blob_base; /* <registry>/v2/<repo>/blobs/ */
    char *origin;    /* registry origin, for the Authorization rule */
    CURLM *m;
    struct blob_state *blobs;
    size_t n;
    int active;
    unsigned char *buf;
    int64_t t0_ms;       /* start of the fetch, for debug traces */
    bool range_seen;     /* some blob was answered 206 */
    bool norange_seen;   /* some blob's server ignored Range */
    struct seg *dropped; /* superseded segments still in flight */
    double gap_ms;       /* request to first byte on a reused connection */
    double new_gap_ms;   /* the same on a new connection (connect, TLS) */
    int conns;           /* connections open (an estimate: curl owns them) */
    double rate;         /* bytes per ms of one transfer (0: unknown) */
    struct committer k;
};

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
notify(struct fetch *f, struct blob_state *b, enum ud_reg_progress_event ev)
{
    if (f->c->progress)
        f->c->progress(f->c->progress_ctx, ev, b->index, b->pub->digest, b->done, b->size);
}

/* A throttled UD_REG_BLOB_PROGRESS. The count only goes up: after a restart
 * from byte 0 (Range ignored, 416) nothing is sent until the blob is past
 * what was already reported. force: send any advance now (the last event
 * before UD_REG_BLOB_DONE, so that the final count is the total). */
static void
progress_report(struct ud_reg_client *c, struct blob_state *b, bool force)
{
    if (!c->progress || b->done <= b->reported)
        return;
    int64_t now = now_ms();
    if (!force && b->done - b->reported < PROGRESS_STEP && now - b->reported_ms < PROGRESS_MS)
        return;
    b->reported = b->done;
    b->reported_ms = now;
    c->progress(c->progress_ctx, UD_REG_BLOB_PROGRESS, b->index, b->pub->digest, b->done, b->size);
}

/* ---------------------------------------------------------------- */
/* Transfers                                                         */
/* ---------------------------------------------------------------- */

static void
seg_stop(struct fetch *f, struct seg *s)
{
    if (s->e) {
        curl_multi_remove_handle(f->m, s->e);
        curl_easy_cleanup(s->e);
        s->e = NULL;
        f->active--;
        s->b->active--;
    }
    curl_slist_free_all(s->hdrs);
    s->hdrs = NULL;
    reg_headers_fini(&s->h);
}

static void
seg_free(struct seg *s)
{
    if (!s)
        return;
    free(s->wbuf);
    free(s->url);
    reg_headers_fini(&s->h);
    free(s);
}

/* Start writing out what s has written since the last call, so that the
 * fsync of the commit finds little left to do (the kernel would otherwise
 * keep it all dirty until then). Asynchronous; a failure only costs time. */
static void
seg_writeback(struct seg *s)
{
    if (s->written > s->synced)
        (void)sync_file_range(s->b->fd, s->start + s->synced, s->written - s->synced,
                              SYNC_FILE_RANGE_WRITE);
    s->synced = s->written;
}

/* Write (and hash, when it extends the contiguous prefix) the bytes s has
 * gathered. */
static int
seg_flush(struct seg *s, struct ud_error *err)
{
    struct blob_state *b = s->b;
    if (s->nbuf == 0)
        return 0;
    int64_t off = s->start + s->written;
    size_t n = s->nbuf;
    s->nbuf = 0;
    int rc = blob_pwrite(b, s->wbuf, n, off, err);
    if (rc < 0)
        return rc;
    if (off == b->hashed) {
        rc = ud_hash_update(&b->hash, s->wbuf, n, err);
        if (rc < 0)
            return rc;
        b->hashed += (int64_t)n;
    }
    s->written += (int64_t)n;
    b->done += (int64_t)n;
    if (s->written - s->synced >= WRITEBACK_STEP)
        seg_writeback(s);
    progress_report(b->c, b, false);
    return 0;
}

/* A blob is over: record status, stop its transfers, close its file. */
static void
blob_fail(struct fetch *f, struct blob_state *b, int code, const struct ud_error *e)
{
    if (b->finished || b->committing)
        return;
    for (size_t i = 0; i < b->nsegs; i++) {
        /* What arrived is kept for a resume after an interruption. */
        if (code == UD_ECANCELED && b->fd >= 0)
            (void)seg_flush(b->segs[i], NULL);
        b->segs[i]->nbuf = 0;
        seg_stop(f, b->segs[i]);
        b->segs[i]->state = SEG_DONE;
    }
    b->finished = true;
    b->pub->status = code;
    if (e)
        b->pub->error = *e;
    else
        ud_error_set(&b->pub->error, code, 0, "%s: download failed", b->pub->digest);
    /* Only an interruption keeps the partial file (and the state of a
     * segmented one), for the next pull to resume. Any other failure leaves
     * nothing behind. UD_EBUSY: the file is another process's download. */
    if (code == UD_ECANCELED) {
        if (b->fd >= 0 && b->segmented)
            blob_state_save(b);
    } else if (code != UD_EBUSY) {
        blob_discard(b);
    }
    blob_close(b);
    notify(f, b, UD_REG_BLOB_FAILED);
}

/* The commit (verify, fsync, rename) of b is over: report it. */
static void
blob_committed(struct fetch *f, struct blob_state *b)
{
    b->committing = false;
    ud_log(UD_LOG_DEBUG, "registry: +%" PRId64 " ms: blob %zu committed (%d)", now_ms() - f->t0_ms,
           b->index, b->commit_rc);
    if (b->commit_rc < 0) {
        blob_fail(f, b, b->commit_rc, &b->commit_err);
        return;
    }
    blob_close(b);
    b->finished = true;
    b->pub->status = 0;
    progress_report(f->c, b, true);
    notify(f, b, UD_REG_BLOB_DONE);
}

/* Every byte of b is on disk. The commit thread verifies it and moves it
 * into place while the transfers go on; without that thread, do it here. */
static void
blob_commit(struct fetch *f, struct blob_state *b)
{
    ud_log(UD_LOG_DEBUG, "registry: +%" PRId64 " ms: blob %zu complete", now_ms() - f->t0_ms,
           b->index);
    if (committer_submit(&f->k, b))
        return;
    b->commit_rc = blob_finalize(b, f->buf, HASH_BUF, &b->commit_err);
    blob_committed(f, b);
}

/* The server ignores Range: keep becomes the blob's only segment, the
 * whole blob from byte 0; the blob's other segments are dropped. Those in
 * flight cannot be removed from inside a curl callback: they abort at
 * their next callback and are freed when curl reports them done. */
static void
blob_single_stream(struct fetch *f, struct blob_state *b, struct seg *keep)
{
    for (size_t i = 0; i < b->nsegs; i++) {
        struct seg *o = b->segs[i];
        if (o == keep)
            continue;
        if (o->e) {
            o->dropped = true;
            o->next_dropped = f->dropped;
            f->dropped = o;
        } else {
            seg_free(o);
        }
    }
    b->segs[0] = keep;
    b->nsegs = 1;
    b->hseg = 0;
    b->segmented = false;
    keep->start = 0;
    keep->end = b->size;
    keep->written = 0;
    keep->synced = 0;
    b->next = b->size;
}

/* Examine the status of a response once, before its body. 200 to a Range
 * request means the server ignores Range: restart the blob as one stream. */
static void
seg_check(struct seg *s)
{
    struct blob_state *b = s->b;
    struct fetch *f = b->f;
    if (s->checked)
        return;
    s->checked = true;
    curl_easy_getinfo(s->e, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->dropped)
        return;
    if (s->status == 206) {
        int64_t first = -1;
        if (!s->h.content_range || sscanf(s->h.content_range, "bytes %" SCNd64, &first) != 1 ||
            first != s->start + s->written) {
            s->fatal = UD_EREMOTE;
            ud_error_set(&s->fatal_err, UD_EREMOTE, 0, "%s: bad Content-Range %.60s",
                         b->pub->digest, s->h.content_range ? s->h.content_range : "(none)");
            return;
        }
        b->range = RANGE_YES;
        f->range_seen = true;
        return;
    }
    if (s->status != 200 || !s->range_req)
        return;
    if (b->range == RANGE_YES) {
        s->fatal = UD_EREMOTE;
        ud_error_set(&s->fatal_err, UD_EREMOTE, 0, "%s: server stopped honouring Range",
                     b->pub->digest);
        return;
    }
    ud_log(UD_LOG_DEBUG, "registry: %s: Range ignored, single stream", b->pub->digest);
    b->range = RANGE_NO;
    f->norange_seen = true;
    blob_single_stream(f, b, s);
    if (blob_restart(b, &s->fatal_err) < 0)
        s->fatal = s->fatal_err.code;
}

static size_t
on_data(char *p, size_t size, size_t n, void *ud)
{
    struct seg *s = ud;
    struct blob_state *b = s->b;
    seg_check(s);
    if (s->fatal || s->dropped)
        return 0;
    if (s->status != 200 && s->status != 206)
        return n; /* error or redirect body: not blob data */
    int64_t off = s->start + s->written + (int64_t)s->nbuf;
    size_t want = n;
    if (s->end >= 0 && off + (int64_t)n > s->end) {
        if (!s->shortened) {
            s->fatal = UD_EDIGEST;
            ud_error_set(&s->fatal_err, UD_EDIGEST, 0, "%s: more data than expected",
                         b->pub->digest);
            return 0;
        }
        /* The rest belongs to the segment split off this one. */
        n = (size_t)(s->end - off);
    }
    if (!s->data_ms) {
        s->data_ms = now_ms();
        s->data_from = s->written + (int64_t)s->nbuf;
    }
    if (!s->wbuf && !(s->wbuf = ud_malloc(WRITE_BUF))) {
        s->fatal = ud_error_set(&s->fatal_err, UD_ENOMEM, 0, "out of memory");
        return 0;
    }
    for (size_t done = 0; done < n;) {
        size_t k = n - done < WRITE_BUF - s->nbuf ? n - done : WRITE_BUF - s->nbuf;
        memcpy(s->wbuf + s->nbuf, p + done, k);
        s->nbuf += k;
        done += k;
        if (s->nbuf == WRITE_BUF && seg_flush(s, &s->fatal_err) < 0) {
            s->fatal = s->fatal_err.code;
            return 0;
        }
    }
    return n == want ? want : 0; /* 0 stops a shortened request at its end */
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
    struct seg *s = ud;
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
        s->checked = false;
    (void)reg_headers_feed(&s->h, p, n);
    return n;
}

static bool
may_send_auth(struct fetch *f, struct seg *s)
{
    char *o = NULL;
    if (s->drop_auth || strstr(s->url, "Signature=") || reg_url_origin(s->url, &o, NULL) < 0)
        return false;
    bool same = strcmp(o, f->origin) == 0;
    free(o);
    return same;
}

static int
seg_start(struct fetch *f, struct seg *s, struct ud_error *err)
{
    struct blob_state *b = s->b;
    char range[80];
    const char *authz = may_send_auth(f, s) ? reg_token_get(f->c, f->repo) : NULL;
    int64_t from = s->start + s->written;
    /* A blob big enough to share its tail later asks with Range from the
     * start: the 206 is what shows that its tail can be split off. */
    s->range_req = from > 0 || (s->end >= 0 && s->end < b->size) ||
                   (b->range == RANGE_UNKNOWN && b->size >= 2 * STEAL_MIN);
    if (s->range_req && s->end >= 0)
        snprintf(range, sizeof(range), "Range: bytes=%" PRId64 "-%" PRId64, from, s->end - 1);
    else
        snprintf(range, sizeof(range), "Range: bytes=%" PRId64 "-", from);
    struct curl_slist *t = NULL;
    if ((authz && !(s->hdrs = curl_slist_append(s->hdrs, authz))) ||
        (s->range_req && !(t = curl_slist_append(s->hdrs, range))) || !(s->e = curl_easy_init()))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (t)
        s->hdrs = t;
    reg_easy_setup(f->c, s->e, true);
    /* Parallel TCP connections outrun one multiplexed HTTP/2 connection on
     * long fat links, and segments are what we parallelise. */
    curl_easy_setopt(s->e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(s->e, CURLOPT_URL, s->url);
    curl_easy_setopt(s->e, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(s->e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(s->e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(s->e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(s->e, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->e, CURLOPT_ERRORBUFFER, s->errbuf);
    s->errbuf[0] = '\0';
    s->checked = false;
    s->shortened = false;
    s->data_ms = 0;
    s->req_ms = now_ms();
    s->status = 0;
    s->token_gen = f->c->token_gen;
    reg_headers_fini(&s->h);
    if (curl_multi_add_handle(f->m, s->e) != CURLM_OK) {
        curl_easy_cleanup(s->e);
        s->e = NULL;
        return ud_error_set(err, UD_ENOMEM, 0, "cannot start transfer");
    }
    s->state = SEG_ACTIVE;
    f->active++;
    b->active++;
    ud_log(UD_LOG_DEBUG,
           "registry: +%" PRId64 " ms: blob %zu [%" PRId64 ", %" PRId64 ") started, %d active",
           now_ms() - f->t0_ms, b->index, from, s->end, f->active);
    if (!b->started) {
        b->started = true;
        b->reported = b->done;
        b->reported_ms = now_ms();
        notify(f, b, UD_REG_BLOB_START);
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* Completion handling                                               */
/* ---------------------------------------------------------------- */

/* Put s back in the queue after a failure, or fail the blob when out of
 * attempts. An attempt made progress only when it took the segment's
 * frontier past the highest point any earlier attempt reached: a restart
 * from byte 0 (the server ignores Range) that is cut at the same place
 * again is no progress. max_attempts failures in a row without progress
 * fail the blob; those with progress do not count, but a segment gets at
 * most max_attempts + PROGRESS_RETRIES attempts in all. */
static void
seg_retry(struct fetch *f, struct seg *s, long retry_after_ms, int code, const struct ud_error *why)
{
    int64_t frontier = s->start + s->written;
    s->retries++;
    if (frontier > s->high) {
        s->high = frontier;
        s->failures = 0;
    } else {
        s->failures++;
    }
    if (s->failures >= f->c->attempts || s->retries >= f->c->attempts + PROGRESS_RETRIES) {
        ud_log(UD_LOG_DEBUG, "registry: %s: giving up after %d attempts", s->b->pub->digest,
               s->retries);
        blob_fail(f, s->b, code, why);
        return;
    }
    long ms = reg_backoff_ms(f->c, s->failures > 0 ? s->failures : 1, retry_after_ms);
    s->not_before_ms = now_ms() + ms;
    s->state = SEG_PENDING;
    ud_log(UD_LOG_DEBUG, "registry: %s: %s; retry in %ld ms", s->b->pub->digest, why->msg, ms);
}

static void
seg_redirect(struct fetch *f, struct seg *s)
{
    struct blob_state *b = s->b;
    struct ud_error e = {0};
    char *next = NULL;
    if (++s->hops > REG_MAX_REDIRECTS) {
        ud_error_set(&e, UD_EREMOTE, 0, "%s: too many redirects", b->pub->digest);
        blob_fail(f, b, UD_EREMOTE, &e);
        return;
    }
    if (reg_url_resolve(s->url, s->h.location, &next, &e) < 0) {
        blob_fail(f, b, e.code, &e);
        return;
    }
    free(s->url);
    s->url = next;
    s->drop_auth = true;
    free(b->redirect);
    b->redirect = ud_strdup(next);
    s->state = SEG_PENDING;
    s->not_before_ms = 0;
}

static void
seg_unauthorized(struct fetch *f, struct seg *s)
{
    struct blob_state *b = s->b;
    struct ud_error e = {0};
    if (s->drop_auth) {
        /* A pre-signed URL expired or was refused: back to the registry. */
        free(b->redirect);
        b->redirect = NULL;
        char *u = ud_asprintf("%s%s", f->blob_base, b->pub->digest);
        if (!u) {
            ud_error_set(&e, UD_ENOMEM, 0, "out of memory");
            blob_fail(f, b, UD_ENOMEM, &e);
            return;
        }
        free(s->url);
        s->url = u;
        s->drop_auth = false;
        s->hops = 0;
        ud_error_set(&e, UD_EAUTH, 0, "%s: redirect target refused (HTTP %ld)", b->pub->digest,
                     s->status);
        seg_retry(f, s, -1, UD_EAUTH, &e);
        return;
    }
    if (s->status == 401 && s->h.www_auth && s->auth_tries < AUTH_TRIES) {
        s->auth_tries++;
        /* Another segment may already have renewed the token. */
        if (s->token_gen == f->c->token_gen &&
            reg_auth_negotiate(f->c, f->repo, s->h.www_auth, &e) < 0) {
            blob_fail(f, b, e.code, &e);
            return;
        }
        s->state = SEG_PENDING;
        s->not_before_ms = 0;
        return;
    }
    ud_error_set(&e, UD_EAUTH, 0, "%s: blob not authorized (HTTP %ld)", b->pub->digest, s->status);
    blob_fail(f, b, UD_EAUTH, &e);
}

/* Every byte of the blob is covered by a finished segment. */
static bool
blob_all_done(const struct blob_state *b)
{
    if (b->size < 0 || b->next < b->size)
        return false;
    for (size_t i = b->hseg; i < b->nsegs; i++)
        if (b->segs[i]->state != SEG_DONE)
            return false;
    return true;
}

static void
seg_complete(struct fetch *f, struct seg *s)
{
    struct blob_state *b = s->b;
    struct ud_error e = {0};
    if (s->end >= 0 && s->start + s->written < s->end) {
        ud_error_set(&e, UD_ENET, 0, "%s: transfer ended early", b->pub->digest);
        seg_retry(f, s, -1, UD_ENET, &e);
        return;
    }
    if (s->end < 0) {
        s->end = s->start + s->written;
        b->size = s->end;
        b->next = s->end;
    }
    s->state = SEG_DONE;
    seg_writeback(s);
    if (blob_catch_up(b, f->buf, HASH_BUF, &e) < 0) {
        blob_fail(f, b, e.code, &e);
        return;
    }
    if (b->segmented)
        blob_state_save(b);
    if (blob_all_done(b))
        blob_commit(f, b);
}

static void
seg_trace(struct fetch *f, struct seg *s)
{
    long nc = 0;
    curl_off_t first_us = 0, total_us = 0;
    curl_easy_getinfo(s->e, CURLINFO_NUM_CONNECTS, &nc);
    curl_easy_getinfo(s->e, CURLINFO_STARTTRANSFER_TIME_T, &first_us);
    curl_easy_getinfo(s->e, CURLINFO_TOTAL_TIME_T, &total_us);
    ud_log(UD_LOG_DEBUG,
           "registry: +%" PRId64 " ms: blob %zu [%" PRId64 ", %" PRId64 ") HTTP %ld in %ld ms "
           "(first byte %ld ms, %s connection)",
           now_ms() - f->t0_ms, s->b->index, s->start, s->start + s->written, s->status,
           (long)(total_us / 1000), (long)(first_us / 1000), nc > 0 ? "new" : "reused");
}

/* Keep count of open connections, and learn how long a request waits for
 * its first byte and how fast a transfer goes, for splitting tails
 * (steal). kept: the transfer ended cleanly, so its connection stays open;
 * ok: it carried blob data to its end. */
static void
seg_learn(struct fetch *f, struct seg *s, bool kept, bool ok)
{
    long nc = 0;
    curl_off_t pre_us = 0, first_us = 0;
    curl_easy_getinfo(s->e, CURLINFO_NUM_CONNECTS, &nc);
    f->conns += (int)nc - (kept ? 0 : 1);
    if (!ok)
        return;
    curl_easy_getinfo(s->e, CURLINFO_PRETRANSFER_TIME_T, &pre_us);
    curl_easy_getinfo(s->e, CURLINFO_STARTTRANSFER_TIME_T, &first_us);
    if (nc == 0 && first_us > pre_us) {
        double g = (double)(first_us - pre_us) / 1000.0;
        f->gap_ms = f->gap_ms > 0 ? 0.7 * f->gap_ms + 0.3 * g : g;
    } else if (nc > 0 && first_us > 0) {
        double g = (double)first_us / 1000.0;
        f->new_gap_ms = f->new_gap_ms > 0 ? 0.7 * f->new_gap_ms + 0.3 * g : g;
    }
    int64_t ms = s->data_ms ? now_ms() - s->data_ms : 0;
    if (ms >= 100 && s->written > s->data_from) {
        double r = (double)(s->written - s->data_from) / (double)ms;
        f->rate = f->rate > 0 ? 0.7 * f->rate + 0.3 * r : r;
    }
}

/* A dropped segment is over: forget it. */
static void
dropped_done(struct fetch *f, struct seg *s)
{
    for (struct seg **p = &f->dropped; *p; p = &(*p)->next_dropped)
        if (*p == s) {
            *p = s->next_dropped;
            break;
        }
    seg_stop(f, s);
    seg_free(s);
}

static void
seg_done(struct fetch *f, struct seg *s, CURLcode cc)
{
    struct blob_state *b = s->b;
    struct ud_error e = {0};
    if (s->dropped) {
        seg_learn(f, s, false, false);
        dropped_done(f, s);
        return;
    }
    bool kept = cc == CURLE_OK;
    seg_check(s);
    if (!s->fatal && !b->finished && seg_flush(s, &s->fatal_err) < 0)
        s->fatal = s->fatal_err.code;
    s->nbuf = 0;
    free(s->wbuf); /* idle segments hold no buffer */
    s->wbuf = NULL;
    if (cc == CURLE_WRITE_ERROR && s->shortened && !s->fatal && s->end >= 0 &&
        s->start + s->written == s->end)
        cc = CURLE_OK; /* stopped on purpose where its tail was split off */
    if (ud_log_enabled(UD_LOG_DEBUG))
        seg_trace(f, s);
    seg_learn(f, s, kept, cc == CURLE_OK && (s->status == 200 || s->status == 206));
    long st = s->status;
    long retry_after = s->h.retry_after_ms;
    int fatal = s->fatal;
    struct ud_error fe = s->fatal_err;
    bool has_location = s->h.location != NULL;
    if (cc != CURLE_OK && !fatal)
        reg_curl_error(cc, s->errbuf, s->url, &e);
    /* Keep the headers needed below; seg_stop releases the handle. */
    struct reg_headers keep = s->h;
    memset(&s->h, 0, sizeof(s->h));
    seg_stop(f, s);
    s->h = keep;
    if (b->finished)
        return;
    if (fatal) {
        blob_fail(f, b, fatal, &fe);
    } else if (cc != CURLE_OK) {
        if (reg_curl_transient(cc))
            seg_retry(f, s, -1, UD_ENET, &e);
        else
            blob_fail(f, b, e.code, &e);
    } else if (st == 200 || st == 206) {
        seg_complete(f, s);
    } else if (st >= 300 && st < 400 && has_location) {
        seg_redirect(f, s);
    } else if (st == 401 || st == 403) {
        seg_unauthorized(f, s);
    } else if (st == 416) {
        /* A resume point the server does not accept: start over once, as
         * one stream; anywhere else the partial file is useless. */
        if (!b->segmented && b->nsegs == 1 && s->start + s->written > 0) {
            s->start = s->written = s->synced = 0;
            s->end = b->size;
            b->next = b->size;
            if (blob_restart(b, &e) < 0)
                blob_fail(f, b, e.code, &e);
            else
                s->state = SEG_PENDING;
        } else {
            ud_error_set(&e, UD_EREMOTE, 0, "%s: range not satisfiable", b->pub->digest);
            blob_discard(b);
            blob_fail(f, b, UD_EREMOTE, &e);
        }
    } else if (st == 429 || (st >= 500 && st != 501)) {
        reg_status_error(st, "blob", &e);
        seg_retry(f, s, retry_after, UD_EREMOTE, &e);
    } else {
        int code = reg_status_error(st, "blob", &e);
        ud_error_prefix(&e, "%s: ", b->pub->digest);
        blob_fail(f, b, code, &e);
    }
    reg_headers_fini(&s->h);
}

/* ---------------------------------------------------------------- */
/* Planning and the event loop                                       */
/* ---------------------------------------------------------------- */

int64_t
blob_segment_size(int64_t unplanned, int64_t blob_left, int conns, int64_t min, int64_t max)
{
    if (conns < 1)
        conns = 1;
    if (max < 1)
        max = 1;
    if (min > max)
        min = max;
    int64_t len = unplanned / ((int64_t)SEG_SPREAD * conns);
    if (len < min)
        len = min;
    if (len > max)
        len = max;
    if (blob_left - len < min)
        len = blob_left; /* what would remain is a sliver: take it too */
    return len;
}

/* Bytes of the whole fetch that no segment covers yet. */
static int64_t
unplanned(const struct fetch *f)
{
    int64_t sum = 0;
    for (size_t i = 0; i < f->n; i++) {
        const struct blob_state *b = &f->blobs[i];
        if (!b->finished && !b->committing && b->size >= 0 && b->next < b->size)
            sum += b->size - b->next;
    }
    return sum;
}

/* A new segment [start, end) at position at of b's list. NULL when out of
 * memory. */
static struct seg *
seg_new(struct fetch *f, struct blob_state *b, size_t at, int64_t start, int64_t end)
{
    if (b->nsegs == b->segcap) {
        size_t cap = b->segcap ? 2 * b->segcap : 4;
        struct seg **v = ud_realloc(b->segs, cap * sizeof(*v));
        if (!v)
            return NULL;
        b->segs = v;
        b->segcap = cap;
    }
    struct seg *s = ud_calloc(1, sizeof(*s));
    if (!s || !(s->url = ud_asprintf("%s%s", f->blob_base, b->pub->digest))) {
        free(s);
        return NULL;
    }
    s->b = b;
    s->start = start;
    s->end = end;
    s->high = start;
    s->state = SEG_PENDING;
    s->h.retry_after_ms = -1;
    s->h.content_length = -1;
    memmove(&b->segs[at + 1], &b->segs[at], (b->nsegs - at) * sizeof(*b->segs));
    b->segs[at] = s;
    b->nsegs++;
    if (b->nsegs == 2) {
        /* Out-of-order writes follow: from now on only the state file says
         * how much of the partial file is contiguous. */
        b->segmented = true;
        blob_state_save(b);
    }
    return s;
}

/* Append a segment of len bytes from b->next (len -1: to the end of a blob
 * of unknown size). */
static struct seg *
seg_add(struct fetch *f, struct blob_state *b, int64_t len)
{
    struct seg *s = seg_new(f, b, b->nsegs, b->next, len < 0 ? -1 : b->next + len);
    if (s && len >= 0)
        b->next = s->end;
    return s;
}

/* Whether a new segment may be cut from b now. Its first request goes out
 * at once; more follow once its server has answered 206, or before that
 * when another blob's server did (one registry, one storage), and only a
 * few speculatively while nothing is known yet. A server that ignores
 * Range gets one stream per blob. */
static bool
may_carve(const struct fetch *f, const struct blob_state *b)
{
    if (b->finished || b->committing || (b->size >= 0 && b->next >= b->size))
        return false;
    if (b->nsegs == 0)
        return true;
    if (b->size < 0 || b->active >= f->c->max_blob_conn)
        return false;
    if (b->range == RANGE_YES)
        return true;
    if (b->range == RANGE_NO || f->norange_seen)
        return false;
    return f->range_seen || b->nsegs < SPECULATIVE_SEGS;
}

static struct seg *
carve(struct fetch *f, struct blob_state *b)
{
    int64_t len = -1;
    if (b->size >= 0)
        len = blob_segment_size(unplanned(f), b->size - b->next, f->c->max_conn,
                                (int64_t)f->c->segment_min, (int64_t)f->c->segment);
    struct seg *s = seg_add(f, b, len);
    if (!s) {
        struct ud_error e = {0};
        ud_error_set(&e, UD_ENOMEM, 0, "out of memory");
        blob_fail(f, b, UD_ENOMEM, &e);
    }
    return s;
}

/* The running transfer with the most bytes left, among those whose tail
 * may be split off (a 206 with data flowing); NULL if none. */
static struct seg *
steal_victim(struct fetch *f, size_t *at)
{
    struct seg *v = NULL;
    int64_t most = 0;
    for (size_t i = 0; i < f->n; i++) {
        struct blob_state *b = &f->blobs[i];
        if (b->finished || b->committing || b->range != RANGE_YES ||
            b->active >= f->c->max_blob_conn)
            continue;
        for (size_t k = b->hseg; k < b->nsegs; k++) {
            struct seg *s = b->segs[k];
            int64_t left = s->end - (s->start + s->written + (int64_t)s->nbuf);
            if (s->state == SEG_ACTIVE && s->status == 206 && s->data_ms && s->end >= 0 &&
                left > most) {
                most = left;
                v = s;
                *at = k;
            }
        }
    }
    return v;
}

/* Nothing is left to hand out but a connection is free: split the tail off
 * the transfer with the most bytes left, so that both parts end together.
 * The new request's first byte comes a request gap later, while the running one
 * goes on at its rate; the running one is stopped at the split point (its
 * connection then closes). Not worth it for small tails. */
static struct seg *
steal(struct fetch *f)
{
    size_t at = 0;
    struct seg *v = steal_victim(f, &at);
    if (!v)
        return NULL;
    int64_t from = v->start + v->written + (int64_t)v->nbuf, left = v->end - from;
    int64_t elapsed = now_ms() - v->data_ms;
    double rate = f->rate;
    if (elapsed >= 100 && v->written > v->data_from)
        rate = (double)(v->written - v->data_from) / (double)elapsed;
    /* Bytes v moves before the new request's first byte: it reuses an idle
     * connection if one is left (cut transfers close theirs). Before any
     * transfer has finished, v's own wait for its first byte is the guess. */
    double gap = f->conns > f->active ? f->gap_ms : f->new_gap_ms;
    if (gap <= 0)
        gap = (double)(v->data_ms - v->req_ms);
    double lead = rate * gap;
    int64_t keep = (int64_t)(((double)left + lead) / 2);
    /* Worth it when the tail is well beyond what v moves during the gap:
     * v then ends (left - lead) / 2 bytes earlier. */
    if (rate <= 0 || left - keep < STEAL_MIN || (double)left < 3 * lead)
        return NULL;
    struct seg *t = seg_new(f, v->b, at + 1, from + keep, v->end);
    if (!t)
        return NULL; /* no memory: v simply goes on */
    ud_log(UD_LOG_DEBUG, "registry: blob %zu: [%" PRId64 ", %" PRId64 ") split off a transfer",
           v->b->index, t->start, t->end);
    v->end = t->start;
    v->shortened = true;
    return t;
}

/* The next segment to start: a retry that is due, else the first request
 * of a blob not started yet, else a new segment, earlier blobs first, else
 * the tail of a running transfer.
 * wake: lowered to the time a backed-off retry becomes due. */
static struct seg *
pick(struct fetch *f, int64_t now, int64_t *wake)
{
    for (size_t i = 0; i < f->n; i++) {
        struct blob_state *b = &f->blobs[i];
        if (b->finished || b->committing || b->active >= f->c->max_blob_conn)
            continue;
        for (size_t k = b->hseg; k < b->nsegs; k++) {
            struct seg *s = b->segs[k];
            if (s->state != SEG_PENDING)
                continue;
            if (s->not_before_ms <= now)
                return s;
            *wake = s->not_before_ms < *wake ? s->not_before_ms : *wake;
        }
    }
    for (size_t i = 0; i < f->n; i++)
        if (f->blobs[i].nsegs == 0 && may_carve(f, &f->blobs[i]))
            return carve(f, &f->blobs[i]);
    for (size_t i = 0; i < f->n; i++)
        if (may_carve(f, &f->blobs[i]))
            return carve(f, &f->blobs[i]);
    return steal(f);
}

/* Start segments up to the connection limit. Returns the earliest time a
 * backed-off segment becomes startable (a finishing transfer also wakes
 * the loop). */
static int64_t
schedule(struct fetch *f)
{
    int64_t now = now_ms(), wake = INT64_MAX;
    while (f->active < f->c->max_conn) {
        struct seg *s = pick(f, now, &wake);
        if (!s)
            break;
        struct blob_state *b = s->b;
        if (b->redirect && !s->drop_auth && s->hops == 0) {
            char *u = ud_strdup(b->redirect);
            if (u) {
                free(s->url);
                s->url = u;
                s->drop_auth = true;
            }
        }
        struct ud_error e = {0};
        if (seg_start(f, s, &e) < 0) {
            seg_stop(f, s);
            blob_fail(f, b, e.code, &e);
        }
    }
    return wake;
}

/* Validate, dedupe, check the cache and open partial files. */
static void
prepare_blob(struct fetch *f, size_t i)
{
    struct blob_state *b = &f->blobs[i];
    struct ud_error e = {0};
    int rc = 0;
    b->c = f->c;
    b->f = f;
    b->index = i;
    b->fd = -1;
    b->dup_of = -1;
    if (!b->pub->dest_path || !*b->pub->dest_path)
        rc = ud_error_set(&e, UD_EINVAL, 0, "blob %zu: no destination", i);
    if (rc == 0)
        rc = blob_parse_digest(b, &e);
    for (size_t j = 0; rc == 0 && j < i; j++) {
        const char *other = f->blobs[j].pub->dest_path;
        if (other && strcmp(other, b->pub->dest_path) == 0) {
            b->dup_of = (int)j;
            b->finished = true;
            return;
        }
    }
    b->size = b->pub->size;
    if (rc == 0 && blob_is_cached(b)) {
        b->finished = true;
        b->pub->cached = true;
        b->pub->status = 0;
        b->done = b->size;
        notify(f, b, UD_REG_BLOB_CACHED);
        return;
    }
    if (rc == 0 && (!(b->partial = ud_asprintf("%s.partial", b->pub->dest_path)) ||
                    !(b->state = ud_asprintf("%s.partial.state", b->pub->dest_path))))
        rc = ud_error_set(&e, UD_ENOMEM, 0, "out of memory");
    if (rc == 0)
        rc = blob_open_partial(f->c, b, f->buf, HASH_BUF, &e);
    if (rc < 0) {
        blob_fail(f, b, rc, &e);
        return;
    }
    b->next = b->hashed;
    if (b->size >= 0 && b->next >= b->size)
        blob_commit(f, b); /* fully on disk: only verification left */
}

static bool
all_finished(struct fetch *f)
{
    for (size_t i = 0; i < f->n; i++)
        if (!f->blobs[i].finished)
            return false;
    return true;
}

static void
fail_unfinished(struct fetch *f, int code, const char *why)
{
    for (size_t i = 0; i < f->n; i++) {
        struct blob_state *b = &f->blobs[i];
        struct ud_error e = {0};
        if (b->finished || b->committing)
            continue;
        ud_error_set(&e, code, 0, "%s: %s", b->pub->digest, why);
        blob_fail(f, b, code, &e);
    }
}

/* Report the blobs the commit thread has finished (wait: until it is idle). */
static void
collect_commits(struct fetch *f, bool wait)
{
    struct blob_state *done[16];
    size_t n;
    while ((n = committer_collect(&f->k, done, 16, wait)) > 0)
        for (size_t i = 0; i < n; i++)
            blob_committed(f, done[i]);
}

static void
run_loop(struct fetch *f)
{
    while (!all_finished(f)) {
        if (reg_cancelled(f->c)) {
            fail_unfinished(f, UD_ECANCELED, "interrupted");
            return;
        }
        int64_t wake = schedule(f);
        bool committing = committer_busy(&f->k);
        if (f->active == 0 && wake == INT64_MAX && !committing) {
            if (!all_finished(f))
                fail_unfinished(f, UD_EREMOTE, "download stalled");
            return;
        }
        int running = 0;
        curl_multi_perform(f->m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(f->m, &left)) != NULL) {
            struct seg *s = NULL;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            if (s)
                seg_done(f, s, msg->data.result);
        }
        collect_commits(f, false);
        /* The commit thread does not wake curl_multi_poll: look again soon. */
        long wait = committing ? 2 : 100;
        int64_t now = now_ms();
        if (wake != INT64_MAX && wake - now < wait)
            wait = wake > now ? (long)(wake - now) : 0;
        if (f->active > 0 || wait > 0)
            curl_multi_poll(f->m, NULL, 0, (int)wait, NULL);
    }
}

static void
fetch_fini(struct fetch *f)
{
    committer_close(&f->k);
    for (size_t i = 0; f->blobs && i < f->n; i++) {
        struct blob_state *b = &f->blobs[i];
        for (size_t k = 0; k < b->nsegs; k++) {
            seg_stop(f, b->segs[k]);
            seg_free(b->segs[k]);
        }
        blob_close(b);
        free(b->segs);
        free(b->partial);
        free(b->state);
        free(b->redirect);
    }
    while (f->dropped)
        dropped_done(f, f->dropped);
    free(f->blobs);
    if (f->m)
        curl_multi_cleanup(f->m);
    free(f->blob_base);
    free(f->origin);
    free(f->buf);
}

int
ud_reg_blobs_fetch(struct ud_reg_client *c, const char *remote_repo, struct ud_reg_blob *blobs,
                   size_t n, struct ud_error *err)
{
    struct fetch f = {.c = c, .repo = remote_repo, .n = n, .t0_ms = now_ms()};
    if (!c || (!blobs && n > 0))
        return ud_error_set(err, UD_EINVAL, 0, "blobs: bad argument");
    if (!reg_repo_is_valid(remote_repo))
        return ud_error_set(err, UD_EINVAL, 0, "invalid repository name %.100s",
                            remote_repo ? remote_repo : "(null)");
    for (size_t i = 0; i < n; i++) {
        blobs[i].status = UD_EINVAL;
        blobs[i].cached = false;
        ud_error_clear(&blobs[i].error);
    }
    if (n == 0)
        return 0;
    int rc = 0;
    f.blob_base = ud_asprintf("%s/v2/%s/blobs/", c->registry, remote_repo);
    f.blobs = ud_calloc(n, sizeof(*f.blobs));
    f.buf = ud_malloc(HASH_BUF);
    f.m = curl_multi_init();
    if (!f.blob_base || !f.blobs || !f.buf || !f.m)
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc == 0)
        rc = reg_url_origin(c->registry, &f.origin, err);
    if (rc < 0) {
        fetch_fini(&f);
        return rc;
    }
    /* Without the thread, blobs are committed on this one (slower, same result). */
    committer_open(&f.k, n);
    curl_multi_setopt(f.m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->max_conn);
    curl_multi_setopt(f.m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->max_conn);
    for (size_t i = 0; i < n; i++) {
        f.blobs[i].pub = &blobs[i];
        prepare_blob(&f, i);
    }
    run_loop(&f);
    /* An interruption leaves commits in flight: they complete. */
    collect_commits(&f, true);
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct blob_state *b = &f.blobs[i];
        if (b->dup_of >= 0) {
            blobs[i].status = blobs[b->dup_of].status;
            blobs[i].cached = blobs[b->dup_of].cached;
            blobs[i].error = blobs[b->dup_of].error;
        }
        if (rc == 0 && blobs[i].status < 0) {
            rc = blobs[i].status;
            if (err)
                *err = blobs[i].error;
        }
    }
    fetch_fini(&f);
    return rc;
}
