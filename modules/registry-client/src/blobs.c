/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ud_reg_blobs_fetch: all blobs of a pull downloaded at once on one thread
 * with the curl multi interface. Big blobs are split into Range segments
 * once the server has proven it honours Range (206 to the first segment);
 * redirects are followed by hand without Authorization (pre-signed CDN
 * URLs reject it); 401 renews the token; 429/5xx and network errors retry
 * with backoff, resuming each segment where it stopped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "blobs_int.h"

#define HASH_BUF (256 * 1024)
/* UD_REG_BLOB_PROGRESS goes out when a blob has PROGRESS_STEP more bytes
 * or PROGRESS_MS have passed since the last event, whichever comes first. */
#define PROGRESS_STEP (1024 * 1024)
#define PROGRESS_MS 100
#define AUTH_TRIES 2
/* Retries that made progress are allowed beyond max_attempts, but only
 * this many: a server that always sends a little and then closes must not
 * keep a pull busy forever. */
#define PROGRESS_RETRIES 8

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

/* A blob is over: record status, stop its transfers, close its file. */
static void
blob_fail(struct fetch *f, struct blob_state *b, int code, const struct ud_error *e)
{
    if (b->finished)
        return;
    for (size_t i = 0; i < b->nsegs; i++) {
        seg_stop(f, &b->segs[i]);
        b->segs[i].state = SEG_DONE;
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

static void
blob_succeed(struct fetch *f, struct blob_state *b)
{
    struct ud_error e = {0};
    int rc = blob_finalize(b, f->buf, HASH_BUF, &e);
    if (rc < 0) {
        blob_fail(f, b, rc, &e);
        return;
    }
    blob_close(b);
    b->finished = true;
    b->pub->status = 0;
    progress_report(f->c, b, true);
    notify(f, b, UD_REG_BLOB_DONE);
}

/* Examine the status of a response once, before its body. 200 to a Range
 * request means the server ignores Range: restart the blob as one stream. */
static void
seg_check(struct seg *s)
{
    struct blob_state *b = s->b;
    if (s->checked)
        return;
    s->checked = true;
    curl_easy_getinfo(s->e, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status == 206) {
        int64_t first = -1;
        if (!s->h.content_range || sscanf(s->h.content_range, "bytes %" SCNd64, &first) != 1 ||
            first != s->start + s->written) {
            s->fatal = UD_EREMOTE;
            ud_error_set(&s->fatal_err, UD_EREMOTE, 0, "%s: bad Content-Range %.60s",
                         b->pub->digest, s->h.content_range ? s->h.content_range : "(none)");
            return;
        }
        if (!b->segmented) {
            b->segmented = true;
            for (size_t i = 0; i < b->nsegs; i++)
                if (b->segs[i].state == SEG_HELD)
                    b->segs[i].state = SEG_PENDING;
        }
        return;
    }
    if (s->status != 200 || !s->range_req)
        return;
    if (b->segmented) {
        s->fatal = UD_EREMOTE;
        ud_error_set(&s->fatal_err, UD_EREMOTE, 0, "%s: server stopped honouring Range",
                     b->pub->digest);
        return;
    }
    ud_log(UD_LOG_DEBUG, "registry: %s: Range ignored, single stream", b->pub->digest);
    /* s is segs[0] (only the first segment runs before a 206). */
    for (size_t i = 1; i < b->nsegs; i++) {
        free(b->segs[i].url);
        b->segs[i].url = NULL;
    }
    b->nsegs = 1;
    s->start = 0;
    s->end = b->size;
    s->written = 0;
    if (blob_restart(b, &s->fatal_err) < 0)
        s->fatal = s->fatal_err.code;
}

static size_t
on_data(char *p, size_t size, size_t n, void *ud)
{
    struct seg *s = ud;
    struct blob_state *b = s->b;
    seg_check(s);
    if (s->fatal)
        return 0;
    if (s->status != 200 && s->status != 206)
        return n; /* error or redirect body: not blob data */
    int64_t off = s->start + s->written;
    if (s->end >= 0 && off + (int64_t)n > s->end) {
        s->fatal = UD_EDIGEST;
        ud_error_set(&s->fatal_err, UD_EDIGEST, 0, "%s: more data than expected", b->pub->digest);
        return 0;
    }
    if (blob_pwrite(b, p, n, off, &s->fatal_err) < 0) {
        s->fatal = s->fatal_err.code;
        return 0;
    }
    if (off == b->hashed) {
        if (ud_hash_update(&b->hash, p, n, &s->fatal_err) < 0) {
            s->fatal = s->fatal_err.code;
            return 0;
        }
        b->hashed += (int64_t)n;
    }
    s->written += (int64_t)n;
    b->done += (int64_t)n;
    progress_report(b->c, b, false);
    return n;
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
    s->range_req = from > 0 || (s->end >= 0 && s->end < b->size);
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
    }
    s->state = SEG_DONE;
    if (blob_catch_up(b, f->buf, HASH_BUF, &e) < 0) {
        blob_fail(f, b, e.code, &e);
        return;
    }
    if (b->segmented)
        blob_state_save(b);
    for (size_t i = 0; i < b->nsegs; i++)
        if (b->segs[i].state != SEG_DONE)
            return;
    blob_succeed(f, b);
}

static void
seg_done(struct fetch *f, struct seg *s, CURLcode cc)
{
    struct blob_state *b = s->b;
    struct ud_error e = {0};
    seg_check(s);
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
        /* A resume point the server does not accept: start over once;
         * anywhere else the partial file is useless. */
        if (!b->segmented && b->nsegs == 1 && s->start + s->written > 0) {
            s->start = s->written = 0;
            s->end = b->size;
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

static int
plan_segments(struct fetch *f, struct blob_state *b, struct ud_error *err)
{
    int64_t from = b->hashed, seg = (int64_t)f->c->segment;
    size_t n = 1;
    if (b->size >= 0 && from >= b->size)
        return 0; /* fully on disk: only verification left */
    if (b->size >= 0 && b->size - from > 2 * seg)
        n = (size_t)((b->size - from + seg - 1) / seg);
    b->segs = ud_calloc(n, sizeof(*b->segs));
    if (!b->segs)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    b->nsegs = n;
    for (size_t i = 0; i < n; i++) {
        struct seg *s = &b->segs[i];
        s->b = b;
        s->start = from + (int64_t)i * seg;
        s->end = n == 1 ? b->size : (i + 1 == n ? b->size : s->start + seg);
        s->high = s->start;
        s->state = i == 0 ? SEG_PENDING : SEG_HELD;
        s->h.retry_after_ms = -1;
        s->h.content_length = -1;
        if (!(s->url = ud_asprintf("%s%s", f->blob_base, b->pub->digest)))
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    if (n > 1) {
        /* Out-of-order writes follow: from now on only the state file says
         * how much of the partial file is contiguous. */
        blob_state_save(b);
    }
    return 0;
}

/* Validate, dedupe, check the cache and open partial files. */
static void
prepare_blob(struct fetch *f, size_t i)
{
    struct blob_state *b = &f->blobs[i];
    struct ud_error e = {0};
    int rc = 0;
    b->c = f->c;
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
    if (rc == 0)
        rc = plan_segments(f, b, &e);
    if (rc < 0) {
        blob_fail(f, b, rc, &e);
        return;
    }
    if (b->nsegs == 0)
        blob_succeed(f, b);
}

/* Start pending segments up to the connection limit, earlier blobs first.
 * Returns the earliest time a backed-off segment becomes startable. */
static int64_t
schedule(struct fetch *f)
{
    int64_t now = now_ms(), wake = INT64_MAX;
    for (size_t i = 0; i < f->n; i++) {
        struct blob_state *b = &f->blobs[i];
        for (size_t k = 0; !b->finished && k < b->nsegs; k++) {
            struct seg *s = &b->segs[k];
            if (s->state != SEG_PENDING)
                continue;
            if (s->not_before_ms > now) {
                wake = s->not_before_ms < wake ? s->not_before_ms : wake;
                continue;
            }
            if (f->active >= f->c->max_conn)
                return wake; /* a finishing transfer wakes the loop */
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
    }
    return wake;
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
        if (b->finished)
            continue;
        ud_error_set(&e, code, 0, "%s: %s", b->pub->digest, why);
        blob_fail(f, b, code, &e);
    }
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
        if (f->active == 0 && wake == INT64_MAX) {
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
        long wait = 100;
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
    for (size_t i = 0; f->blobs && i < f->n; i++) {
        struct blob_state *b = &f->blobs[i];
        for (size_t k = 0; k < b->nsegs; k++) {
            seg_stop(f, &b->segs[k]);
            free(b->segs[k].url);
        }
        blob_close(b);
        free(b->segs);
        free(b->partial);
        free(b->state);
        free(b->redirect);
    }
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
    struct fetch f = {.c = c, .repo = remote_repo, .n = n};
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
    curl_multi_setopt(f.m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->max_conn);
    curl_multi_setopt(f.m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->max_conn);
    for (size_t i = 0; i < n; i++) {
        f.blobs[i].pub = &blobs[i];
        prepare_blob(&f, i);
    }
    run_loop(&f);
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
