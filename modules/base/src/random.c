/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Random identifiers from the kernel's getrandom(2): container ids (UUID
 * version 4, as upstream's ids are effectively random) and hex names.
 */
#include <errno.h>
#include <sys/random.h>

#include "ud/base.h"

static int
fill_random(unsigned char *buf, size_t n, struct ud_error *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ud_error_set(err, UD_EIO, errno, "getrandom");
        got += (size_t)r;
    }
    return 0;
}

static const char hexdig[] = "0123456789abcdef";

int
ud_uuid_generate(char out[37], struct ud_error *err)
{
    unsigned char b[16];
    int rc = fill_random(b, sizeof b, err);
    if (rc < 0)
        return rc;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hexdig[b[i] >> 4];
        out[o++] = hexdig[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

int
ud_random_hex(char *out, size_t n, struct ud_error *err)
{
    unsigned char b[64];
    size_t o = 0;
    while (o < n) {
        size_t want = (n - o + 1) / 2;
        if (want > sizeof b)
            want = sizeof b;
        int rc = fill_random(b, want, err);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < want && o < n; i++) {
            out[o++] = hexdig[b[i] >> 4];
            if (o < n)
                out[o++] = hexdig[b[i] & 15];
        }
    }
    out[n] = '\0';
    return 0;
}
