/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ud_wanproxy: a TCP proxy that makes a loopback registry look like one behind
 * a WAN link (the kernel here has no netem qdisc). One thread, epoll, libc only.
 * Each direction of each connection gets a one-way delay, a per-connection rate
 * cap and a share of a link-wide rate cap (one token bucket per direction).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define QUANTUM (32 * 1024) /* bytes read per turn: the unit of round robin */
#define NS 1000000000ULL

enum { C2S = 0, S2C = 1 }; /* client to server, server to client */

struct chunk {
    struct chunk *next;
    uint64_t release_ns; /* when it has crossed the emulated link */
    size_t len, off;
    bool eof; /* a delayed FIN: shutdown(dst, SHUT_WR) when released */
    char data[];
};

struct bucket {
    double tokens; /* bytes; may go negative (debt) by at most one quantum */
    double rate;   /* bytes per ns; 0 = unlimited */
    double burst;
    uint64_t last_ns;
};

struct conn;

/* One direction of one connection. */
struct dir {
    struct conn *conn;
    int idx; /* C2S or S2C */
    struct chunk *head, *tail;
    size_t queued;
    bool src_readable, dst_writable, src_eof, done;
    struct bucket bucket;
    uint64_t bytes, first_ns, last_ns;
};

/* epoll tag: which socket of which connection, or a special fd. */
struct tag {
    struct conn *conn; /* NULL for the listener, timer and signal fds */
    int side;          /* 0 client socket, 1 server socket; special: fd kind */
};

struct conn {
    struct conn *prev, *next;
    int fd[2]; /* [0] accepted client socket, [1] socket to the target */
    bool connected, dead;
    unsigned id;
    uint64_t accept_ns;
    struct dir d[2];
    struct tag tag[2];
};

struct opts {
    struct sockaddr_in listen, target;
    double delay_ms, conn_mbit, link_mbit, max_seconds;
    int sndbuf;
    bool handshake, verbose;
};

static struct conn *g_conns;    /* circular list start = round-robin cursor */
static struct bucket g_link[2]; /* shared link, one bucket per direction */
static struct opts g_o;
static uint64_t g_delay_ns;
static size_t g_cap; /* per-direction queue bound before reads stop */
static unsigned g_next_id, g_nconns;
static int g_ep = -1;

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void
bucket_init(struct bucket *b, double mbit, uint64_t now)
{
    b->rate = mbit > 0 ? mbit * 1e6 / 8.0 / 1e9 : 0;
    /* Burst of ~2 ms of the rate, at least one quantum: smooth yet cheap. */
    b->burst = b->rate > 0 ? b->rate * 2e6 : 0;
    if (b->burst < QUANTUM)
        b->burst = QUANTUM;
    b->tokens = b->burst;
    b->last_ns = now;
}

static void
bucket_refill(struct bucket *b, uint64_t now)
{
    if (b->rate <= 0 || now <= b->last_ns)
        return;
    b->tokens += (double)(now - b->last_ns) * b->rate;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    b->last_ns = now;
}

static bool
bucket_ok(const struct bucket *b)
{
    return b->rate <= 0 || b->tokens > 0;
}

/* Time at which the bucket is positive again. */
static uint64_t
bucket_ready_ns(const struct bucket *b, uint64_t now)
{
    if (bucket_ok(b))
        return now;
    return now + (uint64_t)((-b->tokens + 1.0) / b->rate) + 1;
}

static void
bucket_take(struct bucket *b, size_t n)
{
    if (b->rate > 0)
        b->tokens -= (double)n;
}

static int
parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64] = "127.0.0.1";
    const char *colon = strrchr(s, ':');
    const char *port = s;
    if (colon) {
        size_t n = (size_t)(colon - s);
        if (n == 0 || n >= sizeof(host))
            return -1;
        memcpy(host, s, n);
        host[n] = '\0';
        port = colon + 1;
    }
    char *end = NULL;
    long p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p < 0 || p > 65535)
        return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)p);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int
parse_num(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

static void
usage(FILE *f)
{
    fputs("usage: ud_wanproxy --target [HOST:]PORT [--listen [HOST:]PORT]\n"
          "         [--delay-ms MS] [--conn-mbit MBIT] [--link-mbit MBIT]\n"
          "         [--max-seconds S] [--sndbuf BYTES] [--no-handshake] [-v]\n"
          "Defaults: listen 127.0.0.1:0 (prints the port), delay 20 ms each way,\n"
          "100 Mbit/s per connection, 1000 Mbit/s link, max 3600 s. 0 = no limit.\n",
          f);
}

static int
parse_opts(int argc, char **argv)
{
    g_o.delay_ms = 20;
    g_o.conn_mbit = 100;
    g_o.link_mbit = 1000;
    g_o.max_seconds = 3600;
    g_o.sndbuf = 128 * 1024;
    g_o.handshake = true;
    parse_addr("127.0.0.1:0", &g_o.listen);
    bool have_target = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double num = 0;
        int rc = 0;
        if (!strcmp(a, "-v")) {
            g_o.verbose = true;
            continue;
        }
        if (!strcmp(a, "--no-handshake")) {
            g_o.handshake = false;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!v) {
            fprintf(stderr, "ud_wanproxy: %s: missing value or unknown option\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--listen")) {
            rc = parse_addr(v, &g_o.listen);
        } else if (!strcmp(a, "--target")) {
            rc = parse_addr(v, &g_o.target);
            have_target = true;
        } else if (!strcmp(a, "--delay-ms")) {
            rc = parse_num(v, &g_o.delay_ms);
        } else if (!strcmp(a, "--conn-mbit")) {
            rc = parse_num(v, &g_o.conn_mbit);
        } else if (!strcmp(a, "--link-mbit")) {
            rc = parse_num(v, &g_o.link_mbit);
        } else if (!strcmp(a, "--max-seconds")) {
            rc = parse_num(v, &g_o.max_seconds);
        } else if (!strcmp(a, "--sndbuf")) {
            rc = parse_num(v, &num);
            g_o.sndbuf = (int)num;
        } else {
            fprintf(stderr, "ud_wanproxy: unknown option %s\n", a);
            return -1;
        }
        if (rc < 0) {
            fprintf(stderr, "ud_wanproxy: bad value for %s: %s\n", a, v);
            return -1;
        }
    }
    if (!have_target) {
        usage(stderr);
        return -1;
    }
    return 0;
}

static void
tune_socket(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* A modest send buffer: released bytes reach a slow reader late, as on a
     * real link, instead of piling up in a multi-megabyte loopback buffer. */
    if (g_o.sndbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &g_o.sndbuf, sizeof(g_o.sndbuf));
}

static int
ep_add(int fd, struct tag *t, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = t};
    return epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev);
}

static void
conn_free(struct conn *c)
{
    for (int i = 0; i < 2; i++) {
        struct chunk *k = c->d[i].head;
        while (k) {
            struct chunk *n = k->next;
            free(k);
            k = n;
        }
        if (c->fd[i] >= 0)
            close(c->fd[i]);
    }
    if (c->next == c) {
        g_conns = NULL;
    } else {
        c->prev->next = c->next;
        c->next->prev = c->prev;
        if (g_conns == c)
            g_conns = c->next;
    }
    g_nconns--;
    free(c);
}

static void
conn_report(const struct conn *c, uint64_t now)
{
    if (!g_o.verbose)
        return;
    const struct dir *d = &c->d[S2C];
    double span = d->last_ns > d->first_ns ? (double)(d->last_ns - d->first_ns) / 1e9 : 0;
    fprintf(stderr,
            "ud_wanproxy: conn %u closed after %.3f s: up %llu B, down %llu B, "
            "down rate %.1f Mbit/s over %.3f s\n",
            c->id, (double)(now - c->accept_ns) / 1e9, (unsigned long long)c->d[C2S].bytes,
            (unsigned long long)d->bytes, span > 0 ? (double)d->bytes * 8 / span / 1e6 : 0.0, span);
}

static void
conn_accept(int lfd, uint64_t now)
{
    for (;;) {
        int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return; /* EAGAIN, or a transient error: wait for the next event */
        int sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct conn *c = calloc(1, sizeof(*c));
        if (sfd < 0 || !c) {
            close(cfd);
            if (sfd >= 0)
                close(sfd);
            free(c);
            continue;
        }
        tune_socket(cfd);
        tune_socket(sfd);
        if (connect(sfd, (struct sockaddr *)&g_o.target, sizeof(g_o.target)) < 0 &&
            errno != EINPROGRESS) {
            close(cfd);
            close(sfd);
            free(c);
            continue;
        }
        c->fd[0] = cfd;
        c->fd[1] = sfd;
        c->id = ++g_next_id;
        c->accept_ns = now;
        for (int i = 0; i < 2; i++) {
            c->tag[i] = (struct tag){.conn = c, .side = i};
            c->d[i].conn = c;
            c->d[i].idx = i;
            bucket_init(&c->d[i].bucket, g_o.conn_mbit, now);
        }
        if (!g_conns) {
            c->next = c->prev = c;
            g_conns = c;
        } else { /* insert before the cursor: last in the round */
            c->next = g_conns;
            c->prev = g_conns->prev;
            g_conns->prev->next = c;
            g_conns->prev = c;
        }
        g_nconns++;
        uint32_t ev = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        if (ep_add(cfd, &c->tag[0], ev) < 0 || ep_add(sfd, &c->tag[1], ev) < 0)
            c->dead = true;
    }
}

/* Socket events only set flags; the pump does the I/O. */
static void
conn_event(struct tag *t, uint32_t ev)
{
    struct conn *c = t->conn;
    int side = t->side;
    struct dir *from = &c->d[side == 0 ? C2S : S2C]; /* reads from this socket */
    struct dir *to = &c->d[side == 0 ? S2C : C2S];   /* writes to this socket */
    if (side == 1 && !c->connected && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            c->dead = true;
            return;
        }
        c->connected = true;
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
        from->src_readable = true;
    if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        to->dst_writable = true;
}

static int
dir_src(const struct dir *d)
{
    return d->conn->fd[d->idx == C2S ? 0 : 1];
}

static int
dir_dst(const struct dir *d)
{
    return d->conn->fd[d->idx == C2S ? 1 : 0];
}

/* When bytes read now reach the far side. Without a real handshake to delay,
 * the connection's opening round trip is charged to its first bytes: a
 * request arrives 3 one-way delays after connect(), as on a real link. */
static uint64_t
release_time(const struct dir *d, uint64_t now)
{
    uint64_t t = now + g_delay_ns;
    if (g_o.handshake) {
        uint64_t first = d->conn->accept_ns + (d->idx == C2S ? 3 : 4) * g_delay_ns;
        if (t < first)
            t = first;
    }
    return t;
}

static void
dir_push(struct dir *d, struct chunk *k)
{
    k->next = NULL;
    if (d->tail)
        d->tail->next = k;
    else
        d->head = k;
    d->tail = k;
}

/* Write released chunks to the destination until it would block. */
static void
dir_flush(struct dir *d, uint64_t now)
{
    struct conn *c = d->conn;
    if (!c->connected)
        return;
    while (d->head && d->head->release_ns <= now && d->dst_writable && !c->dead) {
        struct chunk *k = d->head;
        if (k->eof) {
            shutdown(dir_dst(d), SHUT_WR);
            d->done = true;
        } else {
            ssize_t n = send(dir_dst(d), k->data + k->off, k->len - k->off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    d->dst_writable = false;
                else if (errno != EINTR)
                    c->dead = true;
                return;
            }
            k->off += (size_t)n;
            d->queued -= (size_t)n;
            if (k->off < k->len)
                continue;
        }
        d->head = k->next;
        if (!d->head)
            d->tail = NULL;
        free(k);
    }
}

static bool
dir_can_read(const struct dir *d)
{
    return d->src_readable && !d->src_eof && !d->conn->dead && d->queued < g_cap &&
           bucket_ok(&d->bucket) && bucket_ok(&g_link[d->idx]);
}

/* One turn of the round robin: read at most one quantum. True if bytes moved. */
static bool
dir_read(struct dir *d, uint64_t now)
{
    struct chunk *k = malloc(sizeof(*k) + QUANTUM);
    if (!k)
        return false;
    ssize_t n = recv(dir_src(d), k->data, QUANTUM, 0);
    if (n < 0) {
        free(k);
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            d->src_readable = false;
        else if (errno != EINTR)
            d->conn->dead = true;
        return false;
    }
    k->len = (size_t)n;
    k->off = 0;
    k->eof = n == 0;
    k->release_ns = release_time(d, now);
    if (d->tail && k->release_ns < d->tail->release_ns)
        k->release_ns = d->tail->release_ns; /* keep order */
    if (n == 0) {
        struct chunk *small = realloc(k, sizeof(*k));
        dir_push(d, small ? small : k);
        d->src_eof = true;
        return false;
    }
    dir_push(d, k);
    d->queued += (size_t)n;
    d->bytes += (size_t)n;
    if (!d->first_ns)
        d->first_ns = now;
    d->last_ns = now;
    bucket_take(&d->bucket, (size_t)n);
    bucket_take(&g_link[d->idx], (size_t)n);
    return true;
}

static void
pump(uint64_t now)
{
    bucket_refill(&g_link[0], now);
    bucket_refill(&g_link[1], now);
    struct conn *start = g_conns;
    if (!start)
        return;
    struct conn *c = start;
    do {
        for (int i = 0; i < 2; i++) {
            bucket_refill(&c->d[i].bucket, now);
            dir_flush(&c->d[i], now);
        }
        c = c->next;
    } while (c != start);
    /* Round robin: every connection may read one quantum per round, so the
     * shared link is split evenly between the streams that want it. */
    bool progress = true;
    while (progress) {
        progress = false;
        c = start;
        do {
            for (int i = 0; i < 2; i++)
                if (dir_can_read(&c->d[i]) && dir_read(&c->d[i], now))
                    progress = true;
            c = c->next;
        } while (c != start);
    }
    if (g_delay_ns == 0) {
        c = start;
        do {
            dir_flush(&c->d[0], now);
            dir_flush(&c->d[1], now);
            c = c->next;
        } while (c != start);
    }
    g_conns = start->next; /* next pass starts one connection later */
}

/* Close finished or failed connections; return the next wake-up time. */
static uint64_t
reap_and_next(uint64_t now)
{
    uint64_t next = UINT64_MAX;
    struct conn *c = g_conns;
    for (unsigned left = g_nconns; left > 0; left--) {
        struct conn *n = c->next;
        if (c->dead || (c->d[0].done && c->d[1].done)) {
            conn_report(c, now);
            conn_free(c);
            c = n;
            continue;
        }
        for (int i = 0; i < 2; i++) {
            const struct dir *d = &c->d[i];
            if (d->head && d->head->release_ns > now && d->head->release_ns < next)
                next = d->head->release_ns;
            if (d->src_readable && !d->src_eof && d->queued < g_cap) {
                uint64_t a = bucket_ready_ns(&d->bucket, now);
                uint64_t b = bucket_ready_ns(&g_link[i], now);
                uint64_t t = a > b ? a : b;
                if (t < next)
                    next = t;
            }
        }
        c = n;
    }
    return next;
}

static void
timer_arm(int tfd, uint64_t at)
{
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    if (at != UINT64_MAX) {
        its.it_value.tv_sec = (time_t)(at / NS);
        its.it_value.tv_nsec = (long)(at % NS);
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;
    }
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int
setup_fds(int *lfd, int *tfd, int *sfd)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    *sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    *tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    *lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    if (*sfd < 0 || *tfd < 0 || *lfd < 0 || g_ep < 0) {
        perror("ud_wanproxy: setup");
        return -1;
    }
    int one = 1;
    setsockopt(*lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(*lfd, (struct sockaddr *)&g_o.listen, sizeof(g_o.listen)) < 0 ||
        listen(*lfd, 512) < 0) {
        perror("ud_wanproxy: listen");
        return -1;
    }
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    getsockname(*lfd, (struct sockaddr *)&sa, &sl);
    char host[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof(host));
    printf("listening %s:%u\n", host, ntohs(sa.sin_port));
    fflush(stdout);
    return 0;
}

int
main(int argc, char **argv)
{
    static struct tag t_listen = {NULL, 0}, t_timer = {NULL, 1}, t_sig = {NULL, 2};
    int lfd = -1, tfd = -1, sfd = -1;
    if (parse_opts(argc, argv) < 0 || setup_fds(&lfd, &tfd, &sfd) < 0)
        return 2;
    uint64_t now = mono_ns();
    g_delay_ns = (uint64_t)(g_o.delay_ms * 1e6);
    bucket_init(&g_link[0], g_o.link_mbit, now);
    bucket_init(&g_link[1], g_o.link_mbit, now);
    /* In flight on the link (delay x rate) plus slack for token waits. */
    double inflight = g_o.conn_mbit > 0 ? g_o.conn_mbit * 1e6 / 8 * g_o.delay_ms / 1e3 : 8e6;
    g_cap = (size_t)(inflight * 1.5) + 256 * 1024;
    uint64_t deadline = g_o.max_seconds > 0 ? now + (uint64_t)(g_o.max_seconds * 1e9) : 0;
    if (ep_add(lfd, &t_listen, EPOLLIN) < 0 || ep_add(tfd, &t_timer, EPOLLIN) < 0 ||
        ep_add(sfd, &t_sig, EPOLLIN) < 0) {
        perror("ud_wanproxy: epoll");
        return 2;
    }
    timer_arm(tfd, deadline ? deadline : UINT64_MAX);
    int status = 0;
    for (bool stop = false; !stop;) {
        struct epoll_event evs[64];
        int n = epoll_wait(g_ep, evs, 64, -1);
        if (n < 0 && errno != EINTR) {
            perror("ud_wanproxy: epoll_wait");
            status = 1;
            break;
        }
        now = mono_ns();
        for (int i = 0; i < n; i++) {
            struct tag *t = evs[i].data.ptr;
            if (t->conn) {
                conn_event(t, evs[i].events);
            } else if (t == &t_listen) {
                conn_accept(lfd, now);
            } else if (t == &t_timer) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
                    status = 1;
            } else {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                    stop = true;
            }
        }
        now = mono_ns();
        if (deadline && now >= deadline) {
            fprintf(stderr, "ud_wanproxy: --max-seconds reached, exiting\n");
            break;
        }
        pump(now);
        uint64_t next = reap_and_next(now);
        if (deadline && deadline < next)
            next = deadline;
        timer_arm(tfd, next);
    }
    while (g_conns)
        conn_free(g_conns);
    close(lfd);
    close(tfd);
    close(sfd);
    close(g_ep);
    return status;
}
