/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Concurrent blob download against the loopback fixture: parallel ranged
 * segments, fallback when Range is ignored, resume of a .partial (plain
 * and segmented), digest and size mismatches, cut transfers retried,
 * per-blob errors, redirects without Authorization, token renewal, cache
 * hits, duplicate entries, file-size limit (ENOSPC path), progress events,
 * bounded retries against servers that always cut the body short, and
 * the interrupt policy (partial kept, then resumed).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpd.h"
#include <ud/registry-client.h>

#define NBLOBS 4

struct blobdata {
    unsigned char *data;
    size_t len;
    char digest[80];
    bool corrupt; /* serve one flipped byte */
};

struct ctx {
    struct blobdata b[NBLOBS];
    bool ranges;
    bool require_auth;
    bool redirect;   /* send blob requests to the other server */
    int cut_first;   /* cut this many blob responses half-way */
    bool cut_always; /* every blob response announces all, sends half */
    size_t dribble;  /* > 0: every response sends only this many bytes */
    int pace_ms;     /* > 0: bodies trickle out, 64 KiB per pace_ms */
    int fail_first;  /* answer 500 this many times first */
    char other[64];
    pthread_mutex_t mu;
    int blob_requests;
    int range_requests;
    long long low_range; /* lowest range start asked for, -1: none */
    int token_requests;
    int other_with_auth;
    int other_requests;
    char first_range[128];
};

struct fx {
    struct ctx c;
    struct httpd *d, *other;
    struct ud_reg_client *cl;
    char dir[64];
    char paths[NBLOBS][160];
    struct ud_reg_blob blobs[NBLOBS];
    int events[8];
    /* UD_REG_BLOB_PROGRESS per callback index */
    int progress_n[NBLOBS];
    int64_t last_done[NBLOBS];
    int64_t last_total[NBLOBS];
    bool backwards;          /* a count that did not grow */
    volatile int cancel;     /* the client's cancel flag */
    bool cancel_on_progress; /* raise it at the first progress event */
};

static struct blobdata *
find_blob(struct ctx *c, const char *target)
{
    const char *d = strstr(target, "/blobs/");
    for (int i = 0; d && i < NBLOBS; i++)
        if (strcmp(d + 7, c->b[i].digest) == 0)
            return &c->b[i];
    return NULL;
}

static void
serve(const struct httpd_req *r, struct ctx *c, struct blobdata *b)
{
    if (r->range[0]) {
        long long a = -1;
        c->range_requests++;
        if (sscanf(r->range, "bytes=%lld", &a) == 1 && (c->low_range < 0 || a < c->low_range))
            c->low_range = a;
        if (!c->first_range[0])
            snprintf(c->first_range, sizeof(c->first_range), "%s", r->range);
    }
    if (c->cut_always || c->cut_first > 0) {
        if (c->cut_first > 0)
            c->cut_first--;
        httpd_reply_cut(r, 200, NULL, b->data, b->len, b->len / 2);
        return;
    }
    if (c->dribble > 0) {
        httpd_serve_bytes_ex(r, b->data, b->len, c->ranges, c->dribble, 0, 0);
        return;
    }
    if (c->pace_ms > 0) {
        /* Slow, but without holding the fixture's lock all along. */
        pthread_mutex_unlock(&c->mu);
        httpd_serve_bytes_ex(r, b->data, b->len, c->ranges, SIZE_MAX, 64 * 1024, c->pace_ms);
        pthread_mutex_lock(&c->mu);
        return;
    }
    if (b->corrupt) {
        unsigned char *copy = malloc(b->len);
        memcpy(copy, b->data, b->len);
        copy[b->len / 3] ^= 0x55;
        httpd_serve_bytes(r, copy, b->len, c->ranges);
        free(copy);
        return;
    }
    httpd_serve_bytes(r, b->data, b->len, c->ranges);
}

static void
handler(const struct httpd_req *r, void *p)
{
    struct ctx *c = p;
    pthread_mutex_lock(&c->mu);
    struct blobdata *b = find_blob(c, r->target);
    if (strncmp(r->target, "/token", 6) == 0) {
        c->token_requests++;
        httpd_reply(r, 200, NULL, "{\"token\":\"t0k\"}", 15);
    } else if (!b) {
        httpd_reply(r, 404, NULL, "{}", 2);
    } else if (c->require_auth && strcmp(r->authorization, "Bearer t0k") != 0) {
        char h[256];
        snprintf(h, sizeof(h), "WWW-Authenticate: Bearer realm=\"%s/token\",service=\"s\"\r\n",
                 httpd_url(r->d));
        httpd_reply(r, 401, h, NULL, 0);
    } else if (c->fail_first > 0) {
        c->fail_first--;
        httpd_reply(r, 500, NULL, "oops", 4);
    } else if (c->redirect) {
        char h[256];
        snprintf(h, sizeof(h), "Location: %s/cdn/%s?Signature=abc\r\n", c->other, b->digest);
        httpd_reply(r, 307, h, NULL, 0);
    } else {
        c->blob_requests++;
        serve(r, c, b);
    }
    pthread_mutex_unlock(&c->mu);
}

static void
other_handler(const struct httpd_req *r, void *p)
{
    struct ctx *c = p;
    pthread_mutex_lock(&c->mu);
    struct blobdata *b = NULL;
    const char *d = strstr(r->target, "/cdn/");
    for (int i = 0; d && i < NBLOBS; i++)
        if (strncmp(d + 5, c->b[i].digest, strlen(c->b[i].digest)) == 0)
            b = &c->b[i];
    c->other_requests++;
    if (r->authorization[0])
        c->other_with_auth++;
    if (b)
        serve(r, c, b);
    else
        httpd_reply(r, 404, NULL, NULL, 0);
    pthread_mutex_unlock(&c->mu);
}

static void
fill(struct blobdata *b, size_t len, uint32_t seed)
{
    char hex[65];
    b->data = malloc(len ? len : 1);
    b->len = len;
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        b->data[i] = (unsigned char)(seed >> 16);
    }
    if (ud_sha256_hex(b->data, len, hex, NULL) < 0)
        abort();
    snprintf(b->digest, sizeof(b->digest), "sha256:%s", hex);
}

static void
on_progress(void *ctx, enum ud_reg_progress_event ev, size_t index, const char *digest,
            int64_t done, int64_t total)
{
    struct fx *f = ctx;
    (void)digest;
    f->events[ev]++;
    if (ev != UD_REG_BLOB_PROGRESS || index >= NBLOBS)
        return;
    if (f->progress_n[index] > 0 && done <= f->last_done[index])
        f->backwards = true;
    f->progress_n[index]++;
    f->last_done[index] = done;
    f->last_total[index] = total;
    if (f->cancel_on_progress)
        f->cancel = 1;
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    static const size_t sizes[NBLOBS] = {3 * 1024 * 1024 + 17, 1000, 0, 300 * 1024};
    pthread_mutex_init(&f->c.mu, NULL);
    for (int i = 0; i < NBLOBS; i++)
        fill(&f->c.b[i], sizes[i], (uint32_t)i + 1);
    f->c.ranges = true;
    f->c.low_range = -1;
    f->d = httpd_start(handler, &f->c);
    f->other = httpd_start(other_handler, &f->c);
    if (!f->d || !f->other)
        return -1;
    snprintf(f->c.other, sizeof(f->c.other), "%s", httpd_url(f->other));
    snprintf(f->dir, sizeof(f->dir), "/tmp/ud-blobs-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    for (int i = 0; i < NBLOBS; i++) {
        snprintf(f->paths[i], sizeof(f->paths[i]), "%s/%s", f->dir, f->c.b[i].digest);
        f->blobs[i] = (struct ud_reg_blob){
            .digest = f->c.b[i].digest, .size = (int64_t)f->c.b[i].len, .dest_path = f->paths[i]};
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    ud_reg_client_free(f->cl);
    httpd_stop(f->d);
    httpd_stop(f->other);
    for (int i = 0; i < NBLOBS; i++)
        free(f->c.b[i].data);
    if (ud_rm_rf(f->dir, NULL) < 0)
        print_error("cannot remove %s\n", f->dir);
    pthread_mutex_destroy(&f->c.mu);
    free(f);
    return 0;
}

/* Segments of a fixed size (the shrinking sizes are test_sched's topic). */
static void
make_client(struct fx *f, size_t segment, int conns)
{
    struct ud_reg_options o = {.registry_url = httpd_url(f->d),
                               .segment_size = segment,
                               .segment_min_size = segment,
                               .max_connections = conns,
                               .retry_base_ms = 1,
                               .progress = on_progress,
                               .progress_ctx = f,
                               .cancel = &f->cancel};
    ud_reg_client_free(f->cl);
    f->cl = NULL;
    assert_int_equal(ud_reg_client_new(&o, &f->cl, NULL), 0);
}

static void
assert_blob_ok(struct fx *f, int i)
{
    char *data = NULL;
    size_t len = 0;
    char partial[200];
    assert_int_equal(f->blobs[i].status, 0);
    assert_int_equal(ud_file_read(f->paths[i], 16 << 20, &data, &len, NULL), 0);
    assert_int_equal(len, f->c.b[i].len);
    assert_memory_equal(data, f->c.b[i].data, len);
    free(data);
    snprintf(partial, sizeof(partial), "%s.partial", f->paths[i]);
    assert_false(ud_path_exists(partial));
    snprintf(partial, sizeof(partial), "%s.partial.state", f->paths[i]);
    assert_false(ud_path_exists(partial));
}

static void
test_parallel_ranged(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    make_client(f, 64 * 1024, 4);
    int rc = ud_reg_blobs_fetch(f->cl, "lib/img", f->blobs, NBLOBS, &err);
    if (rc != 0)
        print_error("fetch: %s\n", err.msg);
    assert_int_equal(rc, 0);
    for (int i = 0; i < NBLOBS; i++)
        assert_blob_ok(f, i);
    /* blob 0 (3 MiB) in 64 KiB segments, blob 3 (300 KiB) too; the last
     * piece of each takes a remainder under 64 KiB along */
    assert_true(f->c.range_requests >= 48 + 4);
    assert_int_equal(f->events[UD_REG_BLOB_DONE], NBLOBS);
    assert_int_equal(f->events[UD_REG_BLOB_FAILED], 0);
    assert_true(f->events[UD_REG_BLOB_PROGRESS] >= 3); /* every MiB of blob 0 */
    /* a second fetch finds everything cached and asks nothing */
    int before = httpd_requests(f->d);
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", f->blobs, NBLOBS, &err), 0);
    assert_int_equal(httpd_requests(f->d), before);
    for (int i = 0; i < NBLOBS; i++) {
        assert_true(f->blobs[i].cached);
        assert_int_equal(f->blobs[i].status, 0);
    }
    assert_int_equal(f->events[UD_REG_BLOB_CACHED], NBLOBS);
}

/* A blob already in place is a success: status 0, cached, no request,
 * also when the same blob is listed twice. */
static void
test_cached_status(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    make_client(f, 64 * 1024, 8);
    assert_int_equal(ud_file_write_atomic(f->paths[1], f->c.b[1].data, f->c.b[1].len, 0644, NULL),
                     0);
    struct ud_reg_blob two[2] = {f->blobs[1], f->blobs[1]};
    two[0].status = two[1].status = UD_EIO; /* outputs are overwritten */
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", two, 2, &err), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(two[i].status, 0);
        assert_true(two[i].cached);
    }
    assert_int_equal(httpd_requests(f->d), 0);
    assert_int_equal(f->events[UD_REG_BLOB_START], 0);
}

static void
test_range_ignored(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    f->c.ranges = false;
    make_client(f, 64 * 1024, 8);
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", f->blobs, NBLOBS, &err), 0);
    for (int i = 0; i < NBLOBS; i++)
        assert_blob_ok(f, i);
    /* The empty blob verifies without a request. Blobs 0 and 3 may have
     * had a second, speculative range out before the first 200 showed
     * that Range is ignored; then nothing more is split. */
    assert_true(f->c.blob_requests >= NBLOBS - 1);
    assert_true(f->c.blob_requests <= NBLOBS - 1 + 2);
}

static void
write_partial(struct fx *f, int i, size_t len, bool state_file, size_t good)
{
    char p[200];
    snprintf(p, sizeof(p), "%s.partial", f->paths[i]);
    assert_int_equal(ud_file_write_atomic(p, f->c.b[i].data, len, 0644, NULL), 0);
    if (state_file) {
        char s[200], text[64];
        snprintf(s, sizeof(s), "%s.partial.state", f->paths[i]);
        int n = snprintf(text, sizeof(text), "udocker-partial 1\ngood %zu\n", good);
        assert_int_equal(ud_file_write_atomic(s, text, (size_t)n, 0644, NULL), 0);
    }
}

static void
test_resume(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    make_client(f, 1024 * 1024, 8);
    /* single stream left 200000 bytes */
    write_partial(f, 3, 200000, false, 0);
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", &f->blobs[3], 1, &err), 0);
    assert_blob_ok(f, 3);
    assert_string_equal(f->c.first_range, "bytes=200000-307199");
    /* segmented run: 2 MiB on disk but only 1.5 MiB known contiguous;
     * nothing below it is asked for again (several ranges go out at once,
     * so the lowest is checked rather than the first to arrive) */
    f->c.first_range[0] = '\0';
    f->c.low_range = -1;
    make_client(f, 512 * 1024, 8);
    write_partial(f, 0, 2 * 1024 * 1024, true, 1536 * 1024);
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", &f->blobs[0], 1, &err), 0);
    assert_blob_ok(f, 0);
    assert_int_equal(f->c.low_range, 1572864);
}

static void
test_resume_corrupt_prefix(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char p[200];
    make_client(f, 1024 * 1024, 8);
    snprintf(p, sizeof(p), "%s.partial", f->paths[3]);
    assert_int_equal(ud_file_write_atomic(p, "garbage", 7, 0644, NULL), 0);
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", &f->blobs[3], 1, &err), UD_EDIGEST);
    assert_false(ud_path_exists(p));
    assert_false(ud_path_exists(f->paths[3]));
    /* the next attempt starts clean and succeeds */
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", &f->blobs[3], 1, &err), 0);
    assert_blob_ok(f, 3);
}

static void
test_digest_and_size_mismatch(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char p[200];
    make_client(f, 64 * 1024, 8);
    f->c.b[0].corrupt = true;
    f->blobs[1].size = 999; /* manifest claims one byte less */
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", f->blobs, NBLOBS, &err), UD_EDIGEST);
    assert_non_null(strstr(err.msg, f->c.b[0].digest));
    assert_int_equal(f->blobs[0].status, UD_EDIGEST);
    assert_int_equal(f->blobs[1].status, UD_EDIGEST);
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof(p), "%s.partial", f->paths[i]);
        assert_false(ud_path_exists(p));
        assert_false(ud_path_exists(f->paths[i]));
    }
    assert_blob_ok(f, 2);
    assert_blob_ok(f, 3);
}

static void
test_cut_and_500_retried(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    f->c.ranges = false;
    f->c.cut_first = 1;
    f->c.fail_first = 2;
    make_client(f, 64 * 1024, 8);
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", f->blobs, NBLOBS, &err), 0);
    for (int i = 0; i < NBLOBS; i++)
        assert_blob_ok(f, i);
}

static void
assert_no_partial(struct fx *f, int i)
{
    char p[200];
    snprintf(p, sizeof(p), "%s.partial", f->paths[i]);
    assert_false(ud_path_exists(p));
    snprintf(p, sizeof(p), "%s.partial.state", f->paths[i]);
    assert_false(ud_path_exists(p));
    assert_false(ud_path_exists(f->paths[i]));
}

/* The server announces the whole blob, closes after half of it and
 * ignores Range: every retry starts again from byte 0 and is cut at the
 * same place. That is no progress; the fetch gives up after max_attempts
 * of them, and the partial file goes (only an interruption keeps it). */
static void
test_truncated_gives_up(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    f->c.ranges = false;
    f->c.cut_always = true;
    make_client(f, 1024 * 1024, 8); /* blob 3: one stream */
    int rc = ud_reg_blobs_fetch(f->cl, "lib/img", &f->blobs[3], 1, &err);
    assert_true(rc == UD_ENET || rc == UD_EREMOTE);
    assert_int_equal(f->blobs[3].status, rc);
    assert_non_null(strstr(err.msg, f->c.b[3].digest));
    /* the first attempt (half the blob is new) plus max_attempts (3)
     * without progress */
    assert_int_equal(f->c.blob_requests, 1 + 3);
    assert_int_equal(f->events[UD_REG_BLOB_FAILED], 1);
    assert_no_partial(f, 3);
    /* the same when the blob would be fetched in segments: the first
     * request and one speculative second range, then max_attempts */
    make_client(f, 64 * 1024, 8);
    f->c.blob_requests = 0;
    rc = ud_reg_blobs_fetch(f->cl, "lib/img", &f->blobs[0], 1, &err);
    assert_true(rc == UD_ENET || rc == UD_EREMOTE);
    assert_true(f->c.blob_requests <= 2 + 3);
    assert_no_partial(f, 0);
}

/* A server that honours Range but sends only a little per response: each
 * attempt is progress, yet the number of attempts stays bounded. */
static void
test_progress_retries_bounded(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    f->c.dribble = 1000;
    make_client(f, 1024 * 1024, 8);
    int rc = ud_reg_blobs_fetch(f->cl, "lib/img", &f->blobs[3], 1, &err);
    assert_true(rc == UD_ENET || rc == UD_EREMOTE);
    /* more than max_attempts (3): attempts that progress are allowed... */
    assert_true(f->c.blob_requests > 3);
    /* ...but not forever: far fewer than the 308 it would take */
    assert_true(f->c.blob_requests <= 3 + 8);
    assert_no_partial(f, 3);
}

/* Progress events of every blob grow strictly and end at the blob's size,
 * also when a cut transfer restarts from byte 0 (Range ignored). */
static void
test_progress_monotonic(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    f->c.ranges = false;
    f->c.cut_first = 2;
    make_client(f, 64 * 1024, 1);
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", f->blobs, NBLOBS, &err), 0);
    assert_false(f->backwards);
    for (int i = 0; i < NBLOBS; i++) {
        assert_blob_ok(f, i);
        if (f->c.b[i].len == 0)
            continue;
        assert_true(f->progress_n[i] >= 1);
        assert_int_equal(f->last_done[i], (int64_t)f->c.b[i].len);
        assert_int_equal(f->last_total[i], (int64_t)f->c.b[i].len);
    }
    /* blob 0 has 3 MiB: at least one event per MiB */
    assert_true(f->progress_n[0] >= 3);
    assert_int_equal(f->events[UD_REG_BLOB_START], NBLOBS - 1);
}

/* Interrupted (the cancel flag): the partial file stays; the next fetch
 * resumes it with a Range request from where it stopped. */
static void
test_cancel_keeps_partial_and_resumes(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    struct stat st;
    char p[200], want[64];
    f->c.pace_ms = 20;
    f->cancel_on_progress = true;
    make_client(f, 64 * 1024 * 1024, 1); /* one stream: its tail is not split off */
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", &f->blobs[0], 1, &err), UD_ECANCELED);
    assert_int_equal(f->blobs[0].status, UD_ECANCELED);
    snprintf(p, sizeof(p), "%s.partial", f->paths[0]);
    assert_int_equal(stat(p, &st), 0);
    assert_true(st.st_size > 0);
    assert_true(st.st_size < (off_t)f->c.b[0].len);
    assert_false(ud_path_exists(f->paths[0]));
    /* run again, at full speed */
    f->cancel = 0;
    f->cancel_on_progress = false;
    pthread_mutex_lock(&f->c.mu);
    f->c.pace_ms = 0;
    f->c.first_range[0] = '\0';
    pthread_mutex_unlock(&f->c.mu);
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", &f->blobs[0], 1, &err), 0);
    assert_blob_ok(f, 0);
    snprintf(want, sizeof(want), "bytes=%lld-%zu", (long long)st.st_size, f->c.b[0].len - 1);
    assert_string_equal(f->c.first_range, want);
}

static void
test_not_found_per_blob(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    make_client(f, 64 * 1024, 8);
    char unknown[80];
    snprintf(unknown, sizeof(unknown), "sha256:%064d", 0);
    f->blobs[1].digest = unknown; /* a blob the server does not have */
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", f->blobs, NBLOBS, &err), UD_ENOTFOUND);
    assert_int_equal(f->blobs[1].status, UD_ENOTFOUND);
    assert_blob_ok(f, 0);
    assert_blob_ok(f, 2);
    assert_blob_ok(f, 3);
    struct ud_reg_blob bad = {.digest = "sha256:zz", .size = 1, .dest_path = f->paths[1]};
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", &bad, 1, &err), UD_EINVAL);
}

static void
test_redirect_and_token(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    f->c.require_auth = true;
    f->c.redirect = true;
    make_client(f, 64 * 1024, 4);
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", f->blobs, NBLOBS, &err), 0);
    for (int i = 0; i < NBLOBS; i++)
        assert_blob_ok(f, i);
    assert_true(f->c.token_requests >= 1);
    assert_true(f->c.token_requests <= 2);
    assert_true(f->c.other_requests >= NBLOBS);
    assert_int_equal(f->c.other_with_auth, 0);
}

static void
test_duplicates(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    struct ud_reg_blob two[2] = {f->blobs[3], f->blobs[3]};
    make_client(f, 64 * 1024, 8);
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", two, 2, &err), 0);
    assert_int_equal(two[0].status, 0);
    assert_int_equal(two[1].status, 0);
    f->blobs[3].status = 0;
    assert_blob_ok(f, 3);
}

static void
test_file_size_limit(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    struct rlimit old, lim;
    char p[200];
    make_client(f, 64 * 1024, 8);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 100 * 1024;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = ud_reg_blobs_fetch(f->cl, "lib/img", &f->blobs[3], 1, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(rc, UD_ENOSPC);
    snprintf(p, sizeof(p), "%s.partial", f->paths[3]);
    assert_false(ud_path_exists(p));
    assert_false(ud_path_exists(f->paths[3]));
}

static void
test_cancel(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    static volatile int flag = 1;
    struct ud_reg_options o = {.registry_url = httpd_url(f->d), .cancel = &flag};
    assert_int_equal(ud_reg_client_new(&o, &f->cl, NULL), 0);
    assert_int_equal(ud_reg_blobs_fetch(f->cl, "lib/img", f->blobs, NBLOBS, &err), UD_ECANCELED);
    for (int i = 0; i < NBLOBS; i++)
        if (f->c.b[i].len > 0) /* the empty blob needs no transfer */
            assert_false(ud_path_exists(f->paths[i]));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parallel_ranged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_corrupt_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_and_size_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_500_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_per_blob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_and_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cached_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_retries_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_monotonic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_keeps_partial_and_resumes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
