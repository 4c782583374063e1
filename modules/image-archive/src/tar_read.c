/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A streaming tar reader for image archives: one pass front to back over a
 * file or a pipe, decompressing gzip (zlib) or zstd on the way, with ustar,
 * GNU long names and pax (path, linkpath, size). Own code rather than
 * libarchive so that the outer archive is read with large direct reads and
 * no copy, and so that local commands keep libarchive unloaded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "archive_int.h"

#define BLOCK 512

static ssize_t
raw_read(int fd, void *p, size_t n)
{
    for (;;) {
        ssize_t k = read(fd, p, n);
        if (k >= 0 || errno != EINTR)
            return k;
    }
}

/* Refill the raw input buffer when it is empty; false at EOF. */
static int
fill(struct ar_reader *r, struct ud_error *err)
{
    if (r->in_pos < r->in_len)
        return 1;
    if (r->in_eof)
        return 0;
    ssize_t k = raw_read(r->fd, r->in, AR_BUF_SIZE);
    if (k < 0)
        return ud_error_set(err, UD_EIO, errno, "reading the archive");
    r->in_pos = 0;
    r->in_len = (size_t)k;
    if (k == 0) {
        r->in_eof = true;
        return 0;
    }
    return 1;
}

int
ar_reader_open(struct ar_reader *r, int fd, struct ud_error *err)
{
    memset(r, 0, sizeof(*r));
    r->fd = fd;
    r->in = ud_malloc(AR_BUF_SIZE);
    if (!r->in)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    /* Gather enough bytes to tell the compression (a pipe may deliver
     * them a few at a time). */
    while (!r->in_eof && r->in_len < 4) {
        ssize_t k = raw_read(fd, r->in + r->in_len, AR_BUF_SIZE - r->in_len);
        if (k < 0) {
            ar_reader_close(r);
            return ud_error_set(err, UD_EIO, errno, "reading the archive");
        }
        if (k == 0)
            r->in_eof = true;
        r->in_len += (size_t)k;
    }
    const unsigned char *h = r->in;
    if (r->in_len >= 2 && h[0] == 0x1f && h[1] == 0x8b) {
        z_stream *z = ud_calloc(1, sizeof(*z));
        if (!z || inflateInit2(z, 15 + 16) != Z_OK) {
            free(z);
            ar_reader_close(r);
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        }
        r->zs = z;
        r->comp = AR_COMP_GZIP;
    } else if (r->in_len >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) {
        r->zs = ZSTD_createDStream();
        if (!r->zs) {
            ar_reader_close(r);
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        }
        r->comp = AR_COMP_ZSTD;
    } else if (r->in_len >= 3 && (!memcmp(h, "BZh", 3) || !memcmp(h,
                                                                  "\xfd"
                                                                  "7zX",
                                                                  4))) {
        ar_reader_close(r);
        return ud_error_set(err, UD_EUNSUPP, 0,
                            "archive compressed with bzip2 or xz: decompress it first");
    }
    return 0;
}

void
ar_reader_close(struct ar_reader *r)
{
    if (r->comp == AR_COMP_GZIP && r->zs) {
        inflateEnd(r->zs);
        free(r->zs);
    } else if (r->comp == AR_COMP_ZSTD && r->zs) {
        ZSTD_freeDStream(r->zs);
    }
    r->zs = NULL;
    free(r->in);
    r->in = NULL;
}

static ssize_t
gz_read(struct ar_reader *r, unsigned char *p, size_t n, struct ud_error *err)
{
    z_stream *z = r->zs;
    z->next_out = p;
    z->avail_out = (uInt)(n > (1u << 30) ? (1u << 30) : n);
    uInt want = z->avail_out;
    while (z->avail_out == want) {
        if (z->avail_in == 0) {
            int f = fill(r, err);
            if (f < 0)
                return f;
            if (f == 0)
                return r->stream_end ? 0
                                     : ud_error_set(err, UD_EPARSE, 0, "truncated archive (gzip)");
            z->next_in = r->in + r->in_pos;
            z->avail_in = (uInt)(r->in_len - r->in_pos);
            r->in_pos = r->in_len;
        }
        if (r->stream_end) { /* another gzip member follows */
            if (inflateReset(z) != Z_OK)
                return ud_error_set(err, UD_EPARSE, 0, "corrupt archive (gzip)");
            r->stream_end = false;
        }
        int rc = inflate(z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END)
            r->stream_end = true;
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            return ud_error_set(err, UD_EPARSE, 0, "corrupt archive (gzip: %s)",
                                z->msg ? z->msg : "bad data");
    }
    return (ssize_t)(want - z->avail_out);
}

static ssize_t
zst_read(struct ar_reader *r, unsigned char *p, size_t n, struct ud_error *err)
{
    ZSTD_outBuffer out = {p, n, 0};
    while (out.pos == 0) {
        if (r->in_pos >= r->in_len) {
            int f = fill(r, err);
            if (f < 0)
                return f;
            if (f == 0)
                return r->stream_end ? 0
                                     : ud_error_set(err, UD_EPARSE, 0, "truncated archive (zstd)");
        }
        ZSTD_inBuffer in = {r->in, r->in_len, r->in_pos};
        size_t rc = ZSTD_decompressStream(r->zs, &out, &in);
        r->in_pos = in.pos;
        if (ZSTD_isError(rc))
            return ud_error_set(err, UD_EPARSE, 0, "corrupt archive (zstd: %s)",
                                ZSTD_getErrorName(rc));
        r->stream_end = rc == 0;
    }
    return (ssize_t)out.pos;
}

/* Up to n bytes of the (decompressed) tar stream; 0 at its end. */
static ssize_t
src_read(struct ar_reader *r, void *p, size_t n, struct ud_error *err)
{
    if (r->comp == AR_COMP_GZIP)
        return gz_read(r, p, n, err);
    if (r->comp == AR_COMP_ZSTD)
        return zst_read(r, p, n, err);
    if (r->in_pos < r->in_len) {
        size_t k = r->in_len - r->in_pos < n ? r->in_len - r->in_pos : n;
        memcpy(p, r->in + r->in_pos, k);
        r->in_pos += k;
        return (ssize_t)k;
    }
    if (r->in_eof)
        return 0;
    if (n >= AR_BUF_SIZE / 4) { /* large reads go straight to the caller */
        ssize_t k = raw_read(r->fd, p, n);
        if (k < 0)
            return ud_error_set(err, UD_EIO, errno, "reading the archive");
        if (k == 0)
            r->in_eof = true;
        return k;
    }
    int f = fill(r, err);
    if (f <= 0)
        return f;
    return src_read(r, p, n, err);
}

/* Exactly n bytes, or UD_EPARSE "truncated archive". */
static int
src_read_full(struct ar_reader *r, void *p, size_t n, struct ud_error *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = src_read(r, (char *)p + got, n - got, err);
        if (k < 0)
            return (int)k;
        if (k == 0)
            return ud_error_set(err, UD_EPARSE, 0, "truncated archive");
        got += (size_t)k;
    }
    return 0;
}

static int
src_skip(struct ar_reader *r, uint64_t n, struct ud_error *err)
{
    if (r->comp == AR_COMP_NONE && n > 2 * AR_BUF_SIZE) {
        /* Seekable input (a file): skip without reading. */
        uint64_t buffered = r->in_len - r->in_pos;
        off_t cur = lseek(r->fd, 0, SEEK_CUR);
        off_t end = cur >= 0 ? lseek(r->fd, 0, SEEK_END) : -1;
        if (end >= 0 && lseek(r->fd, cur, SEEK_SET) == cur) {
            uint64_t ahead = n - buffered;
            if ((uint64_t)(end - cur) < ahead)
                return ud_error_set(err, UD_EPARSE, 0, "truncated archive");
            if (lseek(r->fd, (off_t)ahead, SEEK_CUR) >= 0) {
                r->in_pos = r->in_len;
                return 0;
            }
        }
    }
    unsigned char tmp[16384];
    while (n > 0) {
        size_t k = n > sizeof(tmp) ? sizeof(tmp) : (size_t)n;
        int rc = src_read_full(r, tmp, k, err);
        if (rc < 0)
            return rc;
        n -= k;
    }
    return 0;
}

ssize_t
ar_reader_raw(struct ar_reader *r, void *p, size_t n, struct ud_error *err)
{
    return src_read(r, p, n, err);
}

ssize_t
ar_reader_data(struct ar_reader *r, void *p, size_t n, struct ud_error *err)
{
    if (r->remaining == 0)
        return 0;
    if (n > r->remaining)
        n = (size_t)r->remaining;
    ssize_t k = src_read(r, p, n, err);
    if (k == 0)
        return ud_error_set(err, UD_EPARSE, 0, "truncated archive");
    if (k > 0)
        r->remaining -= (uint64_t)k;
    return k;
}

/* Numeric header field: octal (NUL/space terminated) or base-256. */
static bool
parse_num(const unsigned char *f, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (f[0] & 0x80) {
        if (f[0] != 0x80)
            return false; /* negative or over 2^56 */
        for (size_t i = 1; i < n; i++) {
            if (v >> 55)
                return false;
            v = (v << 8) | f[i];
        }
        *out = v;
        return true;
    }
    size_t i = 0;
    while (i < n && f[i] == ' ')
        i++;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v >> 60)
            return false;
        v = v * 8 + (uint64_t)(f[i] - '0');
    }
    for (; i < n; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return false;
    *out = v;
    return true;
}

static bool
checksum_ok(const unsigned char *h)
{
    uint64_t want;
    if (!parse_num(h + 148, 8, &want))
        return false;
    unsigned long u = 0;
    long s = 0;
    for (int i = 0; i < BLOCK; i++) {
        unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];
        u += c;
        s += (signed char)c;
    }
    return want == u || (long)want == s;
}

/* Clean a relative name in place: "." and empty components dropped; ".."
 * refused, or with climb taking back the previous component (refused
 * above the top). Writing never overtakes reading, so in place is safe. */
static bool
name_clean(char *name, bool climb)
{
    if (name[0] == '/')
        return false;
    char *out = name;
    const char *p = name;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0)
            break;
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (!climb || out == name)
                return false;
            while (out > name && out[-1] != '/')
                out--;
            if (out > name)
                out--;
        } else if (!(len == 1 && p[0] == '.')) {
            if (out != name)
                *out++ = '/';
            memmove(out, p, len);
            out += len;
        }
        p += len;
    }
    *out = '\0';
    return true;
}

bool
ar_name_normalise(char *name)
{
    return name_clean(name, false);
}

bool
ar_name_resolve(char *name)
{
    return name_clean(name, true);
}

/* A field of a pax record set ("len key=value\n"...). */
static int
pax_apply(char *data, size_t n, struct ar_member *m, bool *has_name, bool *has_link, uint64_t *size,
          bool *has_size, struct ud_error *err)
{
    size_t pos = 0;
    while (pos < n) {
        char *end = NULL;
        errno = 0;
        unsigned long len = strtoul(data + pos, &end, 10);
        if (errno || end == data + pos || *end != ' ' || len < 5 || len > n - pos ||
            data[pos + len - 1] != '\n')
            return ud_error_set(err, UD_EPARSE, 0, "corrupt archive: bad pax header");
        char *kv = end + 1;
        char *rec_end = data + pos + len - 1;
        *rec_end = '\0';
        char *eq = strchr(kv, '=');
        if (!eq)
            return ud_error_set(err, UD_EPARSE, 0, "corrupt archive: bad pax record");
        *eq = '\0';
        const char *v = eq + 1;
        size_t vl = (size_t)(rec_end - v);
        if (!strcmp(kv, "path") || !strcmp(kv, "linkpath")) {
            if (vl >= AR_NAME_MAX || memchr(v, '\0', vl))
                return ud_error_set(err, UD_EPARSE, 0, "archive member name too long");
            bool path = kv[0] == 'p';
            memcpy(path ? m->name : m->link, v, vl + 1);
            *(path ? has_name : has_link) = true;
        } else if (!strcmp(kv, "size")) {
            char *e2 = NULL;
            errno = 0;
            unsigned long long sz = strtoull(v, &e2, 10);
            if (errno || e2 == v || *e2)
                return ud_error_set(err, UD_EPARSE, 0, "corrupt archive: bad pax size");
            *size = sz;
            *has_size = true;
        }
        pos += len;
    }
    return 0;
}

/* Read the data of a meta member (long name, pax) into a capped buffer. */
static int
read_meta(struct ar_reader *r, uint64_t size, char **out, struct ud_error *err)
{
    if (size > AR_PAX_MAX)
        return ud_error_set(err, UD_ETOOBIG, 0, "archive extended header too large");
    char *buf = ud_malloc((size_t)size + 1);
    if (!buf)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    uint64_t pad = (BLOCK - size % BLOCK) % BLOCK;
    int rc = src_read_full(r, buf, (size_t)size, err);
    if (rc == 0)
        rc = src_skip(r, pad, err);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[size] = '\0';
    *out = buf;
    return 0;
}

struct pending {
    bool has_name, has_link, has_size;
    uint64_t size;
};

static void
copy_field(char *dst, const unsigned char *src, size_t n)
{
    size_t l = strnlen((const char *)src, n);
    memcpy(dst, src, l);
    dst[l] = '\0';
}

/* Fill m from a ustar header block (pending long names and pax win). */
static int
header_fill(const unsigned char *h, struct pending *pd, struct ar_member *m, struct ud_error *err)
{
    uint64_t size, mode, mtime;
    if (!parse_num(h + 124, 12, &size) || !parse_num(h + 100, 8, &mode) ||
        !parse_num(h + 136, 12, &mtime))
        return ud_error_set(err, UD_EPARSE, 0, "corrupt archive: bad number in a header");
    if (!pd->has_name) {
        char tmp[256];
        copy_field(tmp, h, 100);
        if (!memcmp(h + 257, "ustar\0", 6) && h[345]) {
            char pre[160];
            copy_field(pre, h + 345, 155);
            snprintf(m->name, AR_NAME_MAX, "%s/%s", pre, tmp);
        } else {
            memcpy(m->name, tmp, strlen(tmp) + 1);
        }
    }
    if (!pd->has_link)
        copy_field(m->link, h + 157, 100);
    m->size = pd->has_size ? pd->size : size;
    m->mode = (unsigned)(mode & 07777);
    m->mtime = (int64_t)mtime;
    switch (h[156]) {
    case '0':
    case '\0':
    case '7':
        m->type = AR_FILE;
        break;
    case '1':
        m->type = AR_HARDLINK;
        break;
    case '2':
        m->type = AR_SYMLINK;
        break;
    case '5':
        m->type = AR_DIR;
        break;
    case 'S':
        return ud_error_set(err, UD_EUNSUPP, 0, "GNU sparse members are not supported: %s",
                            m->name);
    default:
        m->type = AR_OTHER;
    }
    /* Links and directories carry no data whatever their size field says
     * (POSIX ustar; GNU tar and Go write 0). */
    if (m->type == AR_HARDLINK || m->type == AR_SYMLINK || m->type == AR_DIR)
        m->size = 0;
    return 0;
}

static bool
all_zero(const unsigned char *h)
{
    for (int i = 0; i < BLOCK; i++)
        if (h[i])
            return false;
    return true;
}

int
ar_reader_next(struct ar_reader *r, struct ar_member *m, struct ud_error *err)
{
    int rc = src_skip(r, r->remaining + r->padding, err);
    if (rc < 0)
        return rc;
    r->remaining = r->padding = 0;
    struct pending pd = {0};
    unsigned char h[BLOCK];
    for (;;) {
        ssize_t k = src_read(r, h, BLOCK, err);
        if (k < 0)
            return (int)k;
        if (k > 0 && k < BLOCK && (rc = src_read_full(r, h + k, BLOCK - (size_t)k, err)) < 0)
            return rc;
        if (k == 0)
            return ud_error_set(err, UD_EPARSE, 0, "truncated archive (no end-of-archive marker)");
        if (all_zero(h)) {
            if (pd.has_name || pd.has_link || pd.has_size)
                return ud_error_set(err, UD_EPARSE, 0, "corrupt archive: header expected");
            return 0; /* end-of-archive marker (the second block is not needed) */
        }
        if (!checksum_ok(h))
            return ud_error_set(err, UD_EPARSE, 0, "corrupt archive: bad header checksum");
        char t = (char)h[156];
        if (t == 'L' || t == 'K' || t == 'x' || t == 'g') {
            uint64_t sz;
            cleanup_free char *data = NULL;
            if (!parse_num(h + 124, 12, &sz))
                return ud_error_set(err, UD_EPARSE, 0, "corrupt archive: bad size");
            if ((rc = read_meta(r, sz, &data, err)) < 0)
                return rc;
            if (t == 'g')
                continue;
            if (t == 'x') {
                rc = pax_apply(data, (size_t)sz, m, &pd.has_name, &pd.has_link, &pd.size,
                               &pd.has_size, err);
                if (rc < 0)
                    return rc;
                continue;
            }
            size_t l = strnlen(data, (size_t)sz);
            if (l >= AR_NAME_MAX)
                return ud_error_set(err, UD_EPARSE, 0, "archive member name too long");
            memcpy(t == 'L' ? m->name : m->link, data, l + 1);
            *(t == 'L' ? &pd.has_name : &pd.has_link) = true;
            continue;
        }
        if ((rc = header_fill(h, &pd, m, err)) < 0)
            return rc;
        break;
    }
    r->remaining = (m->type == AR_FILE || m->type == AR_OTHER) ? m->size : 0;
    r->padding = (BLOCK - r->remaining % BLOCK) % BLOCK;
    char raw[AR_NAME_MAX];
    memcpy(raw, m->name, sizeof(raw));
    if (!ar_name_normalise(m->name))
        return ud_error_set(err, UD_EUNSAFE, 0, "archive member escapes the archive: %.200s", raw);
    return 1;
}
