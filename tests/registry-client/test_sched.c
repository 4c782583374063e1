/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How the blob downloader cuts blobs into Range segments: the segment size
 * rule (big first, shrinking to the minimum toward the end), the ranges a
 * real fetch asks for (every byte exactly once, sizes shrinking), hashing
 * in order when later segments finish first, and the tail of a slow
 * transfer split off for idle connections.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "blobs_int.h"
#include "httpd.h"

#define MiB (1024 * 1024)
#define MAX_RANGES 512

struct range {
    int64_t a, b; /* inclusive, as in the header */
};

struct srv {
    unsigned char *data;
    size_t len;
    char digest[80];
    pthread_mutex_t mu;
    struct range ranges[MAX_RANGES];
    int nranges;
    int requests;
    int slow_first_ms; /* delay the response to the range at offset 0 */
    int pace_ms;       /* > 0: every body trickles out, 64 KiB per pace_ms */
};

static void
handler(const struct httpd_req *r, void *p)
{
    struct srv *s = p;
    long long a = -1, b = -1;
    pthread_mutex_lock(&s->mu);
    s->requests++;
    if (sscanf(r->range, "bytes=%lld-%lld", &a, &b) >= 1 && s->nranges < MAX_RANGES) {
        if (b < 0)
            b = (long long)s->len - 1;
        s->ranges[s->nranges++] = (struct range){a, b};
    }
    pthread_mutex_unlock(&s->mu);
    if (strstr(r->target, s->digest) == NULL) {
        httpd_reply(r, 404, NULL, "{}", 2);
        return;
    }
    if (a == 0 && s->slow_first_ms > 0)
        usleep((useconds_t)s->slow_first_ms * 1000);
    if (s->pace_ms > 0)
        httpd_serve_bytes_ex(r, s->data, s->len, true, SIZE_MAX, 64 * 1024, s->pace_ms);
    else
        httpd_serve_bytes(r, s->data, s->len, true);
}

struct fx {
    struct srv s;
    struct httpd *d;
    struct ud_reg_client *cl;
    char dir[64];
    char path[200];
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char hex[65];
    uint32_t seed = 7;
    f->s.len = 3 * MiB + 12345;
    f->s.data = malloc(f->s.len);
    for (size_t i = 0; i < f->s.len; i++) {
        seed = seed * 1103515245u + 12345u;
        f->s.data[i] = (unsigned char)(seed >> 16);
    }
    if (ud_sha256_hex(f->s.data, f->s.len, hex, NULL) < 0)
        return -1;
    snprintf(f->s.digest, sizeof(f->s.digest), "sha256:%s", hex);
    pthread_mutex_init(&f->s.mu, NULL);
    f->d = httpd_start(handler, &f->s);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ud-sched-XXXXXX");
    if (!f->d || !mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, f->s.digest);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    ud_reg_client_free(f->cl);
    httpd_stop(f->d);
    if (ud_rm_rf(f->dir, NULL) < 0)
        print_error("cannot remove %s\n", f->dir);
    pthread_mutex_destroy(&f->s.mu);
    free(f->s.data);
    free(f);
    return 0;
}

static void
make_client(struct fx *f, size_t seg_max, size_t seg_min, int conns)
{
    struct ud_reg_options o = {.registry_url = httpd_url(f->d),
                               .segment_size = seg_max,
                               .segment_min_size = seg_min,
                               .max_connections = conns,
                               .retry_base_ms = 1};
    assert_int_equal(ud_reg_client_new(&o, &f->cl, NULL), 0);
}

static void
fetch_ok(struct fx *f)
{
    struct ud_error err = {0};
    struct ud_reg_blob b = {.digest = f->s.digest, .size = (int64_t)f->s.len, .dest_path = f->path};
    char *data = NULL;
    size_t len = 0;
    int rc = ud_reg_blobs_fetch(f->cl, "lib/img", &b, 1, &err);
    if (rc != 0)
        print_error("fetch: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(b.status, 0);
    assert_int_equal(ud_file_read(f->path, 16 * MiB, &data, &len, NULL), 0);
    assert_int_equal(len, f->s.len);
    assert_memory_equal(data, f->s.data, len);
    free(data);
}

static int
cmp_range(const void *x, const void *y)
{
    const struct range *a = x, *b = y;
    return a->a < b->a ? -1 : a->a > b->a;
}

/* The rule alone: sizes follow the bytes left to plan, within [min, max],
 * never leave a piece smaller than min, and plan every byte once. */
static void
test_segment_size_rule(void **state)
{
    (void)state;
    const int64_t sizes[] = {80 * MiB, 45 * MiB, 25 * MiB, 12 * MiB, 8 * MiB, 766};
    const size_t n = sizeof(sizes) / sizeof(sizes[0]);
    const int64_t min = 1 * MiB, max = 16 * MiB;
    int64_t next[6] = {0}, unplanned = 0, total = 0, first = 0, last_of_4 = 0;
    int pieces = 0;
    for (size_t i = 0; i < n; i++)
        total += sizes[i];
    unplanned = total;
    /* Earliest blob first, as the downloader carves. */
    for (size_t i = 0; i < n; i++) {
        while (next[i] < sizes[i]) {
            int64_t left = sizes[i] - next[i];
            int64_t len = blob_segment_size(unplanned, left, 12, min, max);
            assert_true(len > 0 && len <= left);
            if (len < left) {
                assert_true(len >= min && len <= max);
                assert_true(left - len >= min); /* no sliver left behind */
            } else {
                assert_true(len <= max + min || len == left);
            }
            if (pieces++ == 0)
                first = len;
            if (i == 4)
                last_of_4 = len;
            next[i] += len;
            unplanned -= len;
        }
        assert_int_equal(next[i], sizes[i]);
    }
    assert_int_equal(unplanned, 0);
    /* Big first (a share of everything), small at the end. */
    assert_int_equal(first, total / (SEG_SPREAD * 12));
    assert_true(last_of_4 < 2 * min);
    /* A blob under the minimum is one piece; the limits clamp. */
    assert_int_equal(blob_segment_size(100 * MiB, 500, 8, min, max), 500);
    assert_int_equal(blob_segment_size(1000 * MiB, 100 * MiB, 8, min, max), max);
    assert_int_equal(blob_segment_size(4 * MiB, 100 * MiB, 8, min, max), min);
    /* Less than min would remain: take it all. */
    assert_int_equal(blob_segment_size(1000 * MiB, max + min / 2, 8, min, max), max + min / 2);
    /* min above max is lowered to max. */
    assert_int_equal(blob_segment_size(4 * MiB, 100 * MiB, 8, 2 * max, max), max);
}

/* A real fetch: the ranges asked for tile the blob exactly (each byte
 * once), start at the maximum and shrink toward the end. Segments are kept
 * below twice STEAL_MIN so that no tail is split off. */
static void
test_ranges_cover_once_and_shrink(void **state)
{
    struct fx *f = *state;
    make_client(f, 256 * 1024, 64 * 1024, 4);
    fetch_ok(f);
    int n = f->s.nranges;
    assert_true(n >= 13); /* 3 MiB in pieces of at most 256 KiB */
    assert_int_equal(f->s.requests, n);
    qsort(f->s.ranges, (size_t)n, sizeof(f->s.ranges[0]), cmp_range);
    int64_t at = 0, smallest = INT64_MAX;
    for (int i = 0; i < n; i++) {
        int64_t len = f->s.ranges[i].b - f->s.ranges[i].a + 1;
        assert_int_equal(f->s.ranges[i].a, at);
        assert_true(len <= 256 * 1024 + 64 * 1024);
        if (i + 1 < n && len < smallest)
            smallest = len;
        at = f->s.ranges[i].b + 1;
    }
    assert_int_equal(at, (int64_t)f->s.len);
    assert_int_equal(f->s.ranges[0].b + 1, 256 * 1024);
    assert_true(smallest < 256 * 1024); /* sizes shrank before the end */
}

/* The first segment is answered last: the others are written out of order
 * and hashed once the gap closes. A correct digest shows every byte was
 * hashed, in order. */
static void
test_out_of_order_hashed_in_order(void **state)
{
    struct fx *f = *state;
    f->s.slow_first_ms = 300;
    make_client(f, 256 * 1024, 64 * 1024, 4);
    fetch_ok(f);
    assert_true(f->s.nranges >= 13);
}

/* One big transfer and idle connections: its tail is split off, more than
 * once, and the cut transfers still yield the exact blob. */
static void
test_tail_split_for_idle_connections(void **state)
{
    struct fx *f = *state;
    f->s.pace_ms = 10; /* ~6 MB/s per connection */
    make_client(f, 16 * MiB, 16 * MiB, 4);
    fetch_ok(f);
    assert_true(f->s.requests >= 3);
    qsort(f->s.ranges, (size_t)f->s.nranges, sizeof(f->s.ranges[0]), cmp_range);
    assert_int_equal(f->s.ranges[0].a, 0);
    /* Each split-off part ends where the blob or an earlier part ends. */
    for (int i = 1; i < f->s.nranges; i++) {
        assert_true(f->s.ranges[i].a > 0);
        assert_true(f->s.ranges[i].b <= (int64_t)f->s.len - 1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_size_rule),
        cmocka_unit_test_setup_teardown(test_ranges_cover_once_and_shrink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_hashed_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_split_for_idle_connections, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
