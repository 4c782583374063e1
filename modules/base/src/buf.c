/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growable byte buffer with a hard cap, for input that comes from the
 * network or from files we do not trust.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ud/base.h"

#define UD_BUF_DEFAULT_MAX ((size_t)64 << 20)

void
ud_buf_init(struct ud_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : UD_BUF_DEFAULT_MAX;
}

void
ud_buf_fini(struct ud_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int
buf_reserve(struct ud_buf *b, size_t extra, struct ud_error *err)
{
    if (extra > b->max || b->len > b->max - extra)
        return ud_error_set(err, UD_ETOOBIG, 0, "data exceeds %zu bytes", b->max);
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *nd = ud_realloc(b->data, cap);
    if (!nd)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    b->data = nd;
    b->cap = cap;
    return 0;
}

int
ud_buf_append(struct ud_buf *b, const void *p, size_t n, struct ud_error *err)
{
    int rc = buf_reserve(b, n, err);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
ud_buf_appendf(struct ud_buf *b, struct ud_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ud_error_set(err, UD_EINVAL, 0, "bad format");
    int rc = buf_reserve(b, (size_t)n, err);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *
ud_buf_steal(struct ud_buf *b)
{
    char *d = b->data;
    if (!d)
        d = ud_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}
