/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tar writer behind save and export: POSIX ustar headers, with a pax
 * extended header in front when a name, a link target or a size does not
 * fit, written through one large buffer. Blob files are copied into the
 * buffer directly and hashed on the way (save checks every blob's digest).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_int.h"

#define BLOCK 512

int
ar_write_all(int fd, const void *p, size_t n, const char *what, struct ud_error *err)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = write(fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : EIO;
            return ud_error_set(err, ud_error_from_errno(e) == UD_ENOSPC ? UD_ENOSPC : UD_EIO, e,
                                "writing %s", what);
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

int
ar_writer_open(struct ar_writer *w, int fd, struct ud_error *err)
{
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->buf = ud_malloc(AR_BUF_SIZE);
    if (!w->buf)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return 0;
}

void
ar_writer_close(struct ar_writer *w)
{
    free(w->buf);
    w->buf = NULL;
}

int
ar_writer_flush(struct ar_writer *w, struct ud_error *err)
{
    if (w->len == 0)
        return 0;
    int rc = ar_write_all(w->fd, w->buf, w->len, "the archive", err);
    w->len = 0;
    return rc;
}

int
ar_writer_data(struct ar_writer *w, const void *p, size_t n, struct ud_error *err)
{
    const char *c = p;
    while (n > 0) {
        if (w->len == 0 && n >= AR_BUF_SIZE) {
            int rc = ar_write_all(w->fd, c, n, "the archive", err);
            if (rc == 0)
                w->written += n;
            return rc;
        }
        size_t k = AR_BUF_SIZE - w->len < n ? AR_BUF_SIZE - w->len : n;
        memcpy(w->buf + w->len, c, k);
        w->len += k;
        w->written += k;
        c += k;
        n -= k;
        if (w->len == AR_BUF_SIZE) {
            int rc = ar_writer_flush(w, err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int
ar_writer_pad(struct ar_writer *w, uint64_t size, struct ud_error *err)
{
    static const char zeros[BLOCK];
    size_t pad = (size_t)((BLOCK - size % BLOCK) % BLOCK);
    return pad ? ar_writer_data(w, zeros, pad, err) : 0;
}

static void
put_octal(unsigned char *f, size_t n, uint64_t v)
{
    /* n-1 digits and a NUL, as POSIX ustar writers do. */
    f[n - 1] = '\0';
    for (size_t i = n - 1; i-- > 0;) {
        f[i] = (unsigned char)('0' + (v & 7));
        v >>= 3;
    }
}

static void
finish_checksum(unsigned char *h)
{
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < BLOCK; i++)
        sum += h[i];
    put_octal(h + 148, 7, sum);
    h[155] = ' ';
}

static void
base_header(unsigned char *h, char type, unsigned mode, uint64_t size, int64_t mtime)
{
    memset(h, 0, BLOCK);
    put_octal(h + 100, 8, mode & 07777);
    put_octal(h + 108, 8, 0);
    put_octal(h + 116, 8, 0);
    put_octal(h + 124, 12, size);
    put_octal(h + 136, 12, mtime < 0 ? 0 : (uint64_t)mtime & 077777777777ull);
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
}

/* Append one pax record "len key=value\n" to b. */
static int
pax_record(struct ud_buf *b, const char *key, const char *val, struct ud_error *err)
{
    size_t body = strlen(key) + strlen(val) + 3; /* ' ', '=', '\n' */
    size_t len = body + 1;
    while (len != body + (size_t)snprintf(NULL, 0, "%zu", len))
        len = body + (size_t)snprintf(NULL, 0, "%zu", len);
    return ud_buf_appendf(b, err, "%zu %s=%s\n", len, key, val);
}

/* Can name be split into ustar's prefix (<=155) and name (<=100)? */
static bool
ustar_split(const char *name, size_t *cut)
{
    size_t n = strlen(name);
    if (n <= 100) {
        *cut = 0;
        return true;
    }
    for (size_t i = n - 1; i > 0; i--) {
        if (name[i] != '/')
            continue;
        if (n - i - 1 > 100 || n - i - 1 == 0)
            return false;
        if (i <= 155) {
            *cut = i;
            return true;
        }
    }
    return false;
}

int
ar_writer_header(struct ar_writer *w, const struct ar_header *h, struct ud_error *err)
{
    size_t cut = 0;
    bool name_fits = ustar_split(h->name, &cut);
    bool link_fits = !h->link || strlen(h->link) <= 100;
    bool size_fits = h->size < 077777777777ull;
    unsigned char blk[BLOCK];
    int rc;
    if (!name_fits || !link_fits || !size_fits) {
        struct ud_buf b;
        ud_buf_init(&b, AR_PAX_MAX);
        char num[32];
        snprintf(num, sizeof(num), "%llu", (unsigned long long)h->size);
        rc = name_fits ? 0 : pax_record(&b, "path", h->name, err);
        if (rc == 0 && !link_fits)
            rc = pax_record(&b, "linkpath", h->link, err);
        if (rc == 0 && !size_fits)
            rc = pax_record(&b, "size", num, err);
        if (rc == 0) {
            base_header(blk, 'x', 0644, b.len, h->mtime);
            memcpy(blk, "././@PaxHeader", 14);
            finish_checksum(blk);
            rc = ar_writer_data(w, blk, BLOCK, err);
        }
        if (rc == 0)
            rc = ar_writer_data(w, b.data, b.len, err);
        if (rc == 0)
            rc = ar_writer_pad(w, b.len, err);
        ud_buf_fini(&b);
        if (rc < 0)
            return rc;
    }
    base_header(blk, h->type, h->mode, size_fits ? h->size : 0, h->mtime);
    if (name_fits && cut) {
        memcpy(blk + 345, h->name, cut);
        memcpy(blk, h->name + cut + 1, strlen(h->name) - cut - 1);
    } else {
        size_t n = strlen(h->name);
        memcpy(blk, h->name, n > 100 ? 100 : n);
    }
    if (h->link) {
        size_t n = strlen(h->link);
        memcpy(blk + 157, h->link, n > 100 ? 100 : n);
    }
    if (h->type == '3' || h->type == '4') {
        put_octal(blk + 329, 8, h->devmajor);
        put_octal(blk + 337, 8, h->devminor);
    }
    finish_checksum(blk);
    return ar_writer_data(w, blk, BLOCK, err);
}

int
ar_writer_file_mem(struct ar_writer *w, const char *name, const void *p, size_t n,
                   struct ud_error *err)
{
    struct ar_header h = {.name = name, .type = '0', .mode = 0644, .size = n, .mtime = w->mtime};
    int rc = ar_writer_header(w, &h, err);
    if (rc == 0)
        rc = ar_writer_data(w, p, n, err);
    if (rc == 0)
        rc = ar_writer_pad(w, n, err);
    return rc;
}

/* Copy size bytes of fd into the archive, reading into the buffer itself. */
static int
copy_fd(struct ar_writer *w, int fd, const char *path, uint64_t size, struct ud_hash *hash,
        struct ud_error *err)
{
    uint64_t left = size;
    while (left > 0) {
        if (w->len == AR_BUF_SIZE) {
            int rc = ar_writer_flush(w, err);
            if (rc < 0)
                return rc;
        }
        size_t room = AR_BUF_SIZE - w->len;
        size_t want = left < room ? (size_t)left : room;
        ssize_t k = read(fd, w->buf + w->len, want);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return ud_error_set(err, UD_EIO, errno, "reading %s", path);
        if (k == 0)
            return ud_error_set(err, UD_EIO, 0, "%s: file shrank while it was read", path);
        if (hash && ud_hash_update(hash, w->buf + w->len, (size_t)k, err) < 0)
            return err ? err->code : UD_EIO;
        w->len += (size_t)k;
        w->written += (uint64_t)k;
        left -= (uint64_t)k;
    }
    return 0;
}

int
ar_writer_file_fd(struct ar_writer *w, const struct ar_header *h, int fd, const char *label,
                  const char *want_sha256, struct ud_error *err)
{
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    int rc = ar_writer_header(w, h, err);
    if (rc < 0)
        return rc;
    struct ud_hash hash = {0};
    if (want_sha256 && (rc = ud_hash_init(&hash, UD_HASH_SHA256, err)) < 0)
        return rc;
    rc = copy_fd(w, fd, label, h->size, want_sha256 ? &hash : NULL, err);
    char hex[UD_HASH_HEX_MAX];
    if (rc == 0 && want_sha256 && (rc = ud_hash_final_hex(&hash, hex, err)) == 0 &&
        strcmp(hex, want_sha256) != 0)
        rc = ud_error_set(err, UD_EDIGEST, 0, "%s does not match its digest sha256:%s", label,
                          want_sha256);
    ud_hash_fini(&hash);
    if (rc == 0)
        rc = ar_writer_pad(w, h->size, err);
    return rc;
}

int
ar_writer_file_path(struct ar_writer *w, const char *name, const char *path, uint64_t size,
                    const char *want_sha256, struct ud_error *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, errno == ENOENT ? UD_ENOENT : UD_EIO, errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
        return ud_error_set(err, UD_EDIGEST, 0, "%s: not a regular file of %llu bytes", path,
                            (unsigned long long)size);
    struct ar_header h = {.name = name, .type = '0', .mode = 0644, .size = size, .mtime = w->mtime};
    return ar_writer_file_fd(w, &h, fd, path, want_sha256, err);
}

int
ar_writer_finish(struct ar_writer *w, struct ud_error *err)
{
    static const char zeros[2 * BLOCK];
    int rc = ar_writer_data(w, zeros, sizeof(zeros), err);
    if (rc == 0)
        rc = ar_writer_flush(w, err);
    return rc;
}
