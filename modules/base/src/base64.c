/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Standard base64 (RFC 4648 section 4), for registry credentials stored in
 * the keystore as base64("user:password").
 */
#include <errno.h>
#include <string.h>

#include "ud/base.h"

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
ud_base64_encode(const void *p, size_t n, char **out, struct ud_error *err)
{
    const unsigned char *in = p;
    if (n > ((size_t)1 << 30))
        return ud_error_set(err, UD_ETOOBIG, 0, "base64 input too large");
    char *s = ud_malloc(4 * ((n + 2) / 3) + 1);
    if (!s)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        s[o++] = b64chars[(v >> 18) & 63];
        s[o++] = b64chars[(v >> 12) & 63];
        s[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        s[o++] = i + 2 < n ? b64chars[v & 63] : '=';
    }
    s[o] = '\0';
    *out = s;
    return 0;
}

static int
b64val(unsigned char c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;
    return p ? (int)(p - b64chars) : -1;
}

int
ud_base64_decode(const char *s, unsigned char **out, size_t *len, struct ud_error *err)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return ud_error_set(err, UD_EPARSE, 0, "invalid base64 length");
    unsigned char *d = ud_malloc(n / 4 * 3 + 3);
    if (!d)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0) {
            ud_freep(&d);
            return ud_error_set(err, UD_EPARSE, 0, "invalid base64 character");
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            d[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    d[o] = '\0';
    *out = d;
    *len = o;
    return 0;
}
