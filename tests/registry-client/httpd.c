/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test fixture: the scriptable loopback HTTP/1.1 server (see httpd.h).
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
    struct httpd *d;
    int fd;
    pthread_t th;
    struct conn *next;
};

struct httpd {
    int lfd;
    char url[64];
    httpd_handler h;
    void *ctx;
    volatile int stop;
    pthread_t th;
    pthread_mutex_t mu;
    struct conn *conns;
    int requests;
};

/* false when the peer has gone */
static bool
send_all(int fd, const void *p, size_t n)
{
    const char *q = p;
    while (n > 0) {
        ssize_t w = send(fd, q, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        q += w;
        n -= (size_t)w;
    }
    return true;
}

static const char *
reason(int st)
{
    switch (st) {
    case 200:
        return "OK";
    case 206:
        return "Partial Content";
    case 302:
        return "Found";
    case 307:
        return "Temporary Redirect";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 416:
        return "Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

/* Status line and headers announcing len body bytes, then at most
 * send_len of them in pieces of `chunk` bytes pause_ms apart. */
static void
reply_paced(const struct httpd_req *r, int status, const char *headers, const void *body,
            size_t len, size_t send_len, size_t chunk, int pause_ms)
{
    char head[4096];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                     reason(status), len, headers ? headers : "");
    if (!send_all(r->fd, head, (size_t)n) || strcmp(r->method, "HEAD") == 0 || !body)
        return;
    const char *p = body;
    size_t left = send_len < len ? send_len : len;
    if (chunk == 0)
        chunk = left ? left : 1;
    while (left > 0) {
        size_t k = left < chunk ? left : chunk;
        if (!send_all(r->fd, p, k))
            return;
        p += k;
        left -= k;
        if (left > 0 && pause_ms > 0)
            poll(NULL, 0, pause_ms);
    }
}

void
httpd_reply_cut(const struct httpd_req *r, int status, const char *headers, const void *body,
                size_t len, size_t send_len)
{
    reply_paced(r, status, headers, body, len, send_len, 0, 0);
}

void
httpd_reply(const struct httpd_req *r, int status, const char *headers, const void *body,
            size_t len)
{
    httpd_reply_cut(r, status, headers, body, len, len);
}

void
httpd_serve_bytes(const struct httpd_req *r, const void *data, size_t len, bool ranges)
{
    httpd_serve_bytes_ex(r, data, len, ranges, SIZE_MAX, 0, 0);
}

void
httpd_serve_bytes_ex(const struct httpd_req *r, const void *data, size_t len, bool ranges,
                     size_t max_send, size_t chunk, int pause_ms)
{
    unsigned long long a = 0, b = len ? len - 1 : 0;
    const char *p = r->range;
    if (!ranges || strncmp(p, "bytes=", 6) != 0) {
        reply_paced(r, 200, NULL, data, len, max_send, chunk, pause_ms);
        return;
    }
    char *e = NULL;
    a = strtoull(p + 6, &e, 10);
    if (e && *e == '-' && e[1] >= '0' && e[1] <= '9')
        b = strtoull(e + 1, NULL, 10);
    if (a >= len) {
        char h[128];
        snprintf(h, sizeof(h), "Content-Range: bytes */%zu\r\n", len);
        httpd_reply(r, 416, h, NULL, 0);
        return;
    }
    if (b >= len)
        b = len - 1;
    char h[160];
    snprintf(h, sizeof(h), "Content-Range: bytes %llu-%llu/%zu\r\n", a, b, len);
    reply_paced(r, 206, h, (const char *)data + a, (size_t)(b - a + 1), max_send, chunk, pause_ms);
}

static void
header_value(const char *head, const char *name, char *out, size_t outsz, bool join)
{
    size_t nl = strlen(name), used = 0;
    out[0] = '\0';
    for (const char *line = strstr(head, "\r\n"); line && line[2];
         line = strstr(line + 2, "\r\n")) {
        const char *l = line + 2;
        if (strncasecmp(l, name, nl) != 0 || l[nl] != ':')
            continue;
        const char *v = l + nl + 1;
        while (*v == ' ')
            v++;
        const char *end = strstr(v, "\r\n");
        size_t n = end ? (size_t)(end - v) : strlen(v);
        if (used && join && used + 2 < outsz) {
            memcpy(out + used, ", ", 2);
            used += 2;
        } else if (!join) {
            used = 0;
        }
        if (used + n >= outsz)
            n = outsz - used - 1;
        memcpy(out + used, v, n);
        used += n;
        out[used] = '\0';
    }
}

static void *
conn_main(void *arg)
{
    struct conn *c = arg;
    char buf[16384];
    size_t len = 0;
    while (len < sizeof(buf) - 1) {
        ssize_t r = recv(c->fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    buf[len] = '\0';
    /* A request body (POST): read up to its Content-Length. */
    char *eoh = strstr(buf, "\r\n\r\n");
    char clen[32] = "";
    if (eoh)
        header_value(buf, "Content-Length", clen, sizeof(clen), false);
    size_t want = eoh && clen[0] ? (size_t)strtoul(clen, NULL, 10) : 0;
    while (eoh && want > 0 && len - (size_t)(eoh + 4 - buf) < want && len < sizeof(buf) - 1) {
        ssize_t r = recv(c->fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
    }
    if (len > 0 && strstr(buf, "\r\n\r\n")) {
        struct httpd_req *req = calloc(1, sizeof(*req));
        if (req) {
            req->fd = c->fd;
            req->d = c->d;
            sscanf(buf, "%15s %2047s", req->method, req->target);
            header_value(buf, "Authorization", req->authorization, sizeof(req->authorization),
                         false);
            header_value(buf, "Range", req->range, sizeof(req->range), false);
            header_value(buf, "Accept", req->accept, sizeof(req->accept), true);
            snprintf(req->body, sizeof(req->body), "%s", strstr(buf, "\r\n\r\n") + 4);
            pthread_mutex_lock(&c->d->mu);
            c->d->requests++;
            pthread_mutex_unlock(&c->d->mu);
            c->d->h(req, c->d->ctx);
            free(req);
        }
    }
    shutdown(c->fd, SHUT_WR);
    /* Drain so the client sees an orderly close, not a reset. */
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    while (poll(&pfd, 1, 200) > 0 && recv(c->fd, buf, sizeof(buf), 0) > 0)
        ;
    close(c->fd);
    return NULL;
}

static void *
accept_main(void *arg)
{
    struct httpd *d = arg;
    while (!d->stop) {
        struct pollfd pfd = {.fd = d->lfd, .events = POLLIN};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        int fd = accept(d->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->d = d;
        c->fd = fd;
        pthread_mutex_lock(&d->mu);
        c->next = d->conns;
        d->conns = c;
        pthread_mutex_unlock(&d->mu);
        if (pthread_create(&c->th, NULL, conn_main, c) != 0) {
            close(fd);
            c->fd = -1;
        }
    }
    return NULL;
}

struct httpd *
httpd_start(httpd_handler h, void *ctx)
{
    struct httpd *d = calloc(1, sizeof(*d));
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    if (!d)
        return NULL;
    d->h = h;
    d->ctx = ctx;
    pthread_mutex_init(&d->mu, NULL);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (d->lfd < 0 || bind(d->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(d->lfd, 128) != 0 || getsockname(d->lfd, (struct sockaddr *)&sa, &sl) != 0) {
        if (d->lfd >= 0)
            close(d->lfd);
        free(d);
        return NULL;
    }
    snprintf(d->url, sizeof(d->url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    if (pthread_create(&d->th, NULL, accept_main, d) != 0) {
        close(d->lfd);
        free(d);
        return NULL;
    }
    return d;
}

const char *
httpd_url(struct httpd *d)
{
    return d->url;
}

int
httpd_requests(struct httpd *d)
{
    pthread_mutex_lock(&d->mu);
    int n = d->requests;
    pthread_mutex_unlock(&d->mu);
    return n;
}

void
httpd_stop(struct httpd *d)
{
    if (!d)
        return;
    d->stop = 1;
    pthread_join(d->th, NULL);
    close(d->lfd);
    while (d->conns) {
        struct conn *c = d->conns;
        d->conns = c->next;
        if (c->fd >= 0)
            pthread_join(c->th, NULL);
        free(c);
    }
    pthread_mutex_destroy(&d->mu);
    free(d);
}
