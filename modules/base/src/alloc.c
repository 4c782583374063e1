/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation wrappers with a failure hook: a test can make the n-th
 * allocation fail and check that every caller unwinds cleanly (the habit
 * of curl's torture tests). Jansson can be routed through the same hook.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ud/base.h"

static long fail_at;   /* 0: never fail */
static long alloc_seq; /* allocations since the hook was (re)armed */

static bool
should_fail(void)
{
    alloc_seq++;
    return fail_at > 0 && alloc_seq >= fail_at;
}

void
ud_alloc_fail_after(long n)
{
    fail_at = n > 0 ? n : 0;
    alloc_seq = 0;
}

long
ud_alloc_count(void)
{
    return alloc_seq;
}

void *
ud_malloc(size_t n)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc(n ? n : 1);
}

void *
ud_calloc(size_t nmemb, size_t size)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return calloc(nmemb ? nmemb : 1, size ? size : 1);
}

void *
ud_realloc(void *p, size_t n)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n ? n : 1);
}

char *
ud_strdup(const char *s)
{
    return s ? ud_strndup(s, strlen(s)) : NULL;
}

char *
ud_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = ud_malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *
ud_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = ud_malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void *
json_alloc(size_t n)
{
    return ud_malloc(n);
}

void
ud_json_use_ud_alloc(void)
{
    json_set_alloc_funcs(json_alloc, free);
}
