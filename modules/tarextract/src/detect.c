/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compression detection by magic bytes. Layers are stored under their
 * digest, so names say nothing; the first bytes say everything we need.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "tarextract_int.h"

const char *
ud_tar_compression_name(enum ud_tar_compression c)
{
    switch (c) {
    case UD_TAR_COMP_NONE:
        return "none";
    case UD_TAR_COMP_GZIP:
        return "gzip";
    case UD_TAR_COMP_ZSTD:
        return "zstd";
    case UD_TAR_COMP_BZIP2:
        return "bzip2";
    case UD_TAR_COMP_XZ:
        return "xz";
    case UD_TAR_COMP_UNKNOWN:
        break;
    }
    return "unknown";
}

/* A tar header block: the "ustar" magic (POSIX and GNU variants), or a
 * pre-POSIX (v7) header whose checksum field is right. */
static bool
is_tar_header(const unsigned char *b)
{
    if (memcmp(b + 257, "ustar", 5) == 0)
        return true;
    unsigned long want = 0;
    int digits = 0;
    for (int i = 148; i < 156; i++) {
        if (b[i] >= '0' && b[i] <= '7') {
            want = want * 8 + (unsigned long)(b[i] - '0');
            digits++;
        } else if (b[i] == ' ' || b[i] == 0) {
            if (digits)
                break;
        } else {
            return false;
        }
    }
    if (!digits)
        return false;
    unsigned long sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : b[i];
    return sum == want;
}

static bool
all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

enum ud_tar_compression
ud_tar_compression_detect_buf(const void *p, size_t n)
{
    const unsigned char *b = p;
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return UD_TAR_COMP_GZIP;
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return UD_TAR_COMP_ZSTD;
    /* zstd skippable frames (0x184D2A50..5F little-endian) may lead. */
    if (n >= 4 && (b[0] & 0xf0) == 0x50 && b[1] == 0x2a && b[2] == 0x4d && b[3] == 0x18)
        return UD_TAR_COMP_ZSTD;
    if (n >= 4 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h' && b[3] >= '1' && b[3] <= '9')
        return UD_TAR_COMP_BZIP2;
    if (n >= 6 && memcmp(b,
                         "\xfd"
                         "7zXZ\0",
                         6) == 0)
        return UD_TAR_COMP_XZ;
    if (n >= 512)
        return (is_tar_header(b) || all_zero(b, 512)) ? UD_TAR_COMP_NONE : UD_TAR_COMP_UNKNOWN;
    /* Shorter than a block: only an empty file (or zero padding) is a tar. */
    return all_zero(b, n) ? UD_TAR_COMP_NONE : UD_TAR_COMP_UNKNOWN;
}

int
tar_compression_detect_fd(int fd, enum ud_tar_compression *out)
{
    unsigned char head[512];
    size_t n = 0;
    while (n < sizeof(head)) {
        ssize_t r = pread(fd, head + n, sizeof(head) - n, (off_t)n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *out = ud_tar_compression_detect_buf(head, n);
    return 0;
}

int
ud_tar_compression_detect(const char *path, enum ud_tar_compression *out, struct ud_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, errno == ENOENT ? UD_ENOENT : UD_EIO, errno, "open %s", path);
    int r = tar_compression_detect_fd(fd, out);
    close(fd);
    if (r < 0)
        return ud_error_set(err, UD_EIO, -r, "read %s", path);
    return 0;
}
