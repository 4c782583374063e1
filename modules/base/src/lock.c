/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Advisory whole-file locks with flock(2). flock is what works across
 * processes on local filesystems and, through the client, on NFS v4 and
 * Lustre, where udocker repositories often live.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "ud/base.h"

int
ud_lock_acquire(const char *path, bool exclusive, bool wait, int *fd_out, struct ud_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EACCES || errno == EROFS))
        fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open lock %s", path);
    int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
    while (flock(fd, op) != 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return ud_error_set(err, UD_EBUSY, 0, "%s is locked by another process", path);
        return ud_error_set(err, UD_EIO, e, "lock %s", path);
    }
    *fd_out = fd;
    return 0;
}

void
ud_lock_release(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}
