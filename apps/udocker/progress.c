/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The progress display of progress.h: bars redrawn in place on a terminal
 * (cursor moved up over the previous frame, each line cleared), rate-
 * limited to 10 frames a second; plain completion lines otherwise.
 */
#include "progress.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ud/base.h"

#define FRAME_MS 100 /* at most 10 redraws a second */
#define MAX_LINES 40 /* beyond this, one summary line instead of bars */
#define LABEL_MAX 25
#define BAR_WIDTH 30

enum item_state { IT_WAITING, IT_RUNNING, IT_DONE, IT_FAILED };

struct item {
    char label[LABEL_MAX];
    int64_t total, done;
    int64_t first; /* bytes at the first update (resumed prefix) */
    double t_first;
    double t_end;
    enum item_state state;
    const char *status;
};

struct ud_progress {
    FILE *f;
    bool tty;
    const char *action;
    size_t n;
    struct item *items;
    size_t lines_drawn; /* lines of the last frame */
    double last_frame;
    double t0;
};

static double
now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void
ud_progress_fmt_bytes(char *buf, size_t cap, int64_t b)
{
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
    double v = b < 0 ? 0 : (double)b;
    size_t u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%" PRId64 " B", b < 0 ? 0 : b);
    else
        snprintf(buf, cap, "%.1f %s", v, unit[u]);
}

struct ud_progress *
ud_progress_new_on(FILE *f, bool tty, const char *action, size_t n)
{
    struct ud_progress *p = ud_calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->items = ud_calloc(n ? n : 1, sizeof(*p->items));
    if (!p->items) {
        free(p);
        return NULL;
    }
    p->f = f;
    p->tty = tty;
    p->action = action ? action : "Working";
    p->n = n;
    p->t0 = now_s();
    for (size_t i = 0; i < n; i++)
        p->items[i].total = -1;
    return p;
}

struct ud_progress *
ud_progress_new(const char *action, size_t n)
{
    if (!ud_log_enabled(UD_LOG_INFO))
        return NULL;
    return ud_progress_new_on(stderr, isatty(STDERR_FILENO) == 1, action, n);
}

void
ud_progress_item(struct ud_progress *p, size_t i, const char *label, int64_t total)
{
    if (!p || i >= p->n)
        return;
    struct item *it = &p->items[i];
    if (label && strncmp(label, "sha256:", 7) == 0 && strlen(label) >= 19)
        snprintf(it->label, sizeof(it->label), "%.12s", label + 7);
    else
        snprintf(it->label, sizeof(it->label), "%.24s", label ? label : "");
    it->total = total;
}

/* "[=====>      ] 12.3 MB/45.6 MB  5.1 MB/s  ETA 7s" for a running item. */
static void
fmt_running(const struct item *it, double now, char *buf, size_t cap)
{
    char d[32], t[32], r[32];
    ud_progress_fmt_bytes(d, sizeof(d), it->done);
    double el = now - it->t_first;
    double rate = el > 0.05 ? (double)(it->done - it->first) / el : 0.0;
    ud_progress_fmt_bytes(r, sizeof(r), (int64_t)rate);
    if (it->total <= 0) {
        snprintf(buf, cap, "%s  %s/s", d, r);
        return;
    }
    ud_progress_fmt_bytes(t, sizeof(t), it->total);
    char bar[BAR_WIDTH + 1];
    int fill = (int)((double)BAR_WIDTH * (double)it->done / (double)it->total);
    if (fill > BAR_WIDTH)
        fill = BAR_WIDTH;
    for (int k = 0; k < BAR_WIDTH; k++)
        bar[k] = k < fill ? '=' : (k == fill ? '>' : ' ');
    bar[BAR_WIDTH] = '\0';
    if (rate > 0 && it->done < it->total) {
        long eta = (long)((double)(it->total - it->done) / rate + 0.5);
        snprintf(buf, cap, "[%s] %s/%s  %s/s  ETA %lds", bar, d, t, r, eta);
    } else {
        snprintf(buf, cap, "[%s] %s/%s", bar, d, t);
    }
}

static void
draw_line(struct ud_progress *p, const struct item *it, double now)
{
    char body[160];
    switch (it->state) {
    case IT_WAITING:
        snprintf(body, sizeof(body), "Waiting");
        break;
    case IT_RUNNING:
        fmt_running(it, now, body, sizeof(body));
        fprintf(p->f, "\r\033[K%s: %s %s\n", it->label, p->action, body);
        return;
    case IT_DONE:
        snprintf(body, sizeof(body), "%s", it->status ? it->status : "Done");
        break;
    case IT_FAILED:
        snprintf(body, sizeof(body), "Failed");
        break;
    }
    fprintf(p->f, "\r\033[K%s: %s\n", it->label, body);
}

static void
draw_summary(struct ud_progress *p)
{
    size_t fin = 0;
    int64_t done = 0, total = 0;
    for (size_t i = 0; i < p->n; i++) {
        fin += p->items[i].state >= IT_DONE;
        done += p->items[i].done;
        total += p->items[i].total > 0 ? p->items[i].total : 0;
    }
    char d[32], t[32];
    ud_progress_fmt_bytes(d, sizeof(d), done);
    ud_progress_fmt_bytes(t, sizeof(t), total);
    fprintf(p->f, "\r\033[K%s %zu/%zu: %s/%s\n", p->action, fin, p->n, d, t);
}

/* Redraw the frame: up over the previous one, then every line again. */
static void
frame(struct ud_progress *p, bool force)
{
    double now = now_s();
    if (!p->tty || (!force && now - p->last_frame < FRAME_MS / 1000.0))
        return;
    p->last_frame = now;
    if (p->lines_drawn)
        fprintf(p->f, "\033[%zuA", p->lines_drawn);
    if (p->n > MAX_LINES) {
        draw_summary(p);
        p->lines_drawn = 1;
    } else {
        for (size_t i = 0; i < p->n; i++)
            draw_line(p, &p->items[i], now);
        p->lines_drawn = p->n;
    }
    fflush(p->f);
}

void
ud_progress_update(struct ud_progress *p, size_t i, int64_t done)
{
    if (!p || i >= p->n)
        return;
    struct item *it = &p->items[i];
    if (it->state == IT_WAITING || it->state == IT_FAILED) {
        /* a failed item retried from another source starts anew */
        it->state = IT_RUNNING;
        it->done = 0;
        it->first = done;
        it->t_first = now_s();
    }
    if (done > it->done)
        it->done = done;
    frame(p, false);
}

void
ud_progress_done(struct ud_progress *p, size_t i, const char *status)
{
    if (!p || i >= p->n)
        return;
    struct item *it = &p->items[i];
    double now = now_s();
    if (it->state == IT_WAITING) {
        it->t_first = now;
        it->first = it->total > 0 ? it->total : 0;
    }
    it->state = IT_DONE;
    it->status = status;
    if (it->total > 0)
        it->done = it->total;
    it->t_end = now;
    if (p->tty) {
        frame(p, true);
        return;
    }
    int64_t moved = it->done - it->first;
    double el = now - it->t_first;
    if (moved > 0) {
        char d[32], r[32];
        ud_progress_fmt_bytes(d, sizeof(d), moved);
        ud_progress_fmt_bytes(r, sizeof(r), el > 0.001 ? (int64_t)((double)moved / el) : moved);
        fprintf(p->f, "%s: %s (%s in %.1f s, %s/s)\n", it->label, status ? status : "Done", d, el,
                r);
    } else {
        fprintf(p->f, "%s: %s\n", it->label, status ? status : "Done");
    }
    fflush(p->f);
}

void
ud_progress_failed(struct ud_progress *p, size_t i)
{
    if (!p || i >= p->n)
        return;
    p->items[i].state = IT_FAILED;
    frame(p, true);
}

void
ud_progress_free(struct ud_progress *p)
{
    if (!p)
        return;
    if (p->lines_drawn)
        frame(p, true);
    free(p->items);
    free(p);
}
