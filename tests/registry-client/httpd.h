/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test fixture: a tiny scriptable HTTP/1.1 server on 127.0.0.1:<random>.
 * One thread accepts; each connection gets a thread that reads one GET
 * request, hands it to the test's handler and closes the connection.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct httpd;

struct httpd_req {
    char method[16];
    char target[2048];        /* path and query as sent */
    char authorization[2048]; /* "" when absent */
    char range[128];          /* "" when absent */
    char accept[1024];        /* all Accept values joined with ", " */
    char body[1024];          /* request body (Content-Length bytes, cut to fit) */
    int fd;                   /* the connection, for replies */
    struct httpd *d;
};

typedef void (*httpd_handler)(const struct httpd_req *req, void *ctx);

struct httpd *httpd_start(httpd_handler h, void *ctx);
/* "http://127.0.0.1:<port>" (owned by the server). */
const char *httpd_url(struct httpd *d);
void httpd_stop(struct httpd *d);
/* Number of requests handled so far. */
int httpd_requests(struct httpd *d);

/* Write a full response. headers: extra "Name: value\r\n" lines or NULL. */
void httpd_reply(const struct httpd_req *r, int status, const char *headers, const void *body,
                 size_t len);
/* Announce len bytes but send only send_len, then close (a cut transfer). */
void httpd_reply_cut(const struct httpd_req *r, int status, const char *headers, const void *body,
                     size_t len, size_t send_len);
/* Serve data honouring "Range: bytes=a-b" / "bytes=a-" when ranges is true
 * (206 + Content-Range), else 200 with the whole body. */
void httpd_serve_bytes(const struct httpd_req *r, const void *data, size_t len, bool ranges);
/* httpd_serve_bytes, but the body (of the whole or of the range) is cut
 * after max_send bytes (SIZE_MAX: none; the connection then closes), and
 * sent in pieces of chunk bytes (0: at once) pause_ms apart (a slow link). */
void httpd_serve_bytes_ex(const struct httpd_req *r, const void *data, size_t len, bool ranges,
                          size_t max_send, size_t chunk, int pause_ms);
