/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whole-file reads with a cap, and atomic writes: a temporary file in the
 * same directory, fsync, rename over the target, fsync of the directory.
 * A reader sees the old content or the new one, never half of either.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ud/base.h"

int
ud_file_read_fd(int fd, const char *name, size_t max, char **out, size_t *len, struct ud_error *err)
{
    struct ud_buf b;
    ud_buf_init(&b, max);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ud_buf_fini(&b);
            return ud_error_set(err, UD_EIO, errno, "read %s", name);
        }
        if (n == 0)
            break;
        int rc = ud_buf_append(&b, chunk, (size_t)n, err);
        if (rc < 0) {
            ud_buf_fini(&b);
            ud_error_prefix(err, "read %s: ", name);
            return rc;
        }
    }
    size_t got = b.len;
    char *data = ud_buf_steal(&b);
    if (!data)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    *out = data;
    if (len)
        *len = got;
    return 0;
}

int
ud_file_read(const char *path, size_t max, char **out, size_t *len, struct ud_error *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", path);
    return ud_file_read_fd(fd, path, max, out, len, err);
}

int
ud_fsync_parent(const char *path, struct ud_error *err)
{
    cleanup_free char *copy = ud_strdup(path);
    if (!copy)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    cleanup_close int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return ud_error_set(err, UD_EIO, errno, "open directory of %s", path);
    if (fsync(dfd) != 0 && errno != EINVAL)
        return ud_error_set(err, UD_EIO, errno, "fsync directory of %s", path);
    return 0;
}

int
ud_tmpfile_beside(const char *final_path, mode_t mode, char **tmp_path, int *fd_out,
                  struct ud_error *err)
{
    cleanup_free char *copy_dir = ud_strdup(final_path);
    cleanup_free char *copy_base = ud_strdup(final_path);
    if (!copy_dir || !copy_base)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    char *tmpl = ud_asprintf("%s/.%s.tmp-XXXXXX", dirname(copy_dir), basename(copy_base));
    if (!tmpl)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    int fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(tmpl);
        return ud_error_set(err, ud_error_from_errno(e), e, "create temporary file for %s",
                            final_path);
    }
    if (fchmod(fd, mode) != 0) {
        int e = errno;
        close(fd);
        unlink(tmpl);
        free(tmpl);
        return ud_error_set(err, UD_EIO, e, "chmod temporary file for %s", final_path);
    }
    *tmp_path = tmpl;
    *fd_out = fd;
    return 0;
}

int
ud_file_commit(int fd, const char *tmp_path, const char *final_path, struct ud_error *err)
{
    /* Open the directory before the rename: once the rename is done, the
     * only thing left that can fail is the directory fsync, so a caller never
     * sees an error for a file that was in fact replaced for lack of memory. */
    cleanup_free char *copy = ud_strdup(final_path);
    if (!copy)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    cleanup_close int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return ud_error_set(err, UD_EIO, errno, "open directory of %s", final_path);
    if (fsync(fd) != 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "fsync %s", tmp_path);
    if (rename(tmp_path, final_path) != 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "rename %s", final_path);
    if (fsync(dfd) != 0 && errno != EINVAL)
        return ud_error_set(err, UD_EIO, errno, "fsync directory of %s", final_path);
    return 0;
}

static int
write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
ud_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                     struct ud_error *err)
{
    cleanup_free char *tmp = NULL;
    cleanup_close int fd = -1;
    int rc = ud_tmpfile_beside(path, mode, &tmp, &fd, err);
    if (rc < 0)
        return rc;
    if (write_all(fd, data, len) != 0) {
        int e = errno;
        unlink(tmp);
        return ud_error_set(err, ud_error_from_errno(e), e, "write %s", path);
    }
    rc = ud_file_commit(fd, tmp, path, err);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int
ud_file_copy(const char *src, const char *dst, mode_t mode, struct ud_error *err)
{
    cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", src);
    cleanup_free char *tmp = NULL;
    cleanup_close int fd = -1;
    int rc = ud_tmpfile_beside(dst, mode, &tmp, &fd, err);
    if (rc < 0)
        return rc;
    char chunk[131072];
    for (;;) {
        ssize_t n = read(in, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && write_all(fd, chunk, (size_t)n) != 0)) {
            int e = errno;
            unlink(tmp);
            return ud_error_set(err, ud_error_from_errno(e), e, "copy %s to %s", src, dst);
        }
        if (n == 0)
            break;
    }
    rc = ud_file_commit(fd, tmp, dst, err);
    if (rc < 0)
        unlink(tmp);
    return rc;
}
