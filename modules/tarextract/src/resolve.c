/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resolve a member's parent directory beneath the container root, with
 * symlinks interpreted as if the root were "/" (what a chroot sees), so no
 * member can write outside the root. openat2(RESOLVE_IN_ROOT) does it in
 * the kernel (Linux >= 5.6); elsewhere we walk component by component with
 * O_NOFOLLOW and expand symlinks ourselves, clamping ".." at the root.
 * Consecutive members share parents, so a few resolved fds are cached.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tarextract_int.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define MAX_SYMLINKS 40 /* the kernel's own limit (path_resolution(7)) */

/* openat2 beneath the root: an O_PATH fd of the directory, or -errno. */
static int
open_in_root(int rootfd, const char *path)
{
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    for (int tries = 0; tries < 16; tries++) {
        long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        /* EAGAIN: a concurrent rename made ".." resolution unsafe; retry. */
        if (errno != EAGAIN && errno != EINTR)
            break;
    }
    return -errno;
}

/* Whether openat2 answers here. Kernels before 5.6 say ENOSYS; the seccomp
 * profiles of older container runtimes (Docker before 20.10, for one) say
 * EPERM for system calls they do not know. Asking once for the root itself
 * tells both apart from a working openat2, and the walk is correct anyway. */
static bool
openat2_works(int rootfd)
{
    int fd = open_in_root(rootfd, ".");
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

int
tar_resolver_init(struct tar_resolver *r, int rootfd, bool allow_openat2, mode_t dir_mode,
                  struct ud_error *err)
{
    memset(r, 0, sizeof(*r));
    r->rootfd = rootfd;
    r->use_openat2 = allow_openat2 && openat2_works(rootfd);
    r->dir_mode = dir_mode;
    for (int i = 0; i < TAR_FD_CACHE; i++)
        r->slots[i].fd = -1;
    for (int i = 0; i < TAR_FD_CACHE; i++) {
        r->slots[i].path = ud_malloc(TAR_PATH_MAX);
        if (!r->slots[i].path) {
            tar_resolver_fini(r);
            return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
        }
        r->slots[i].cap = TAR_PATH_MAX;
    }
    r->work = ud_malloc(3 * (size_t)TAR_PATH_MAX);
    if (!r->work) {
        tar_resolver_fini(r);
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    }
    return 0;
}

void
tar_resolver_fini(struct tar_resolver *r)
{
    for (int i = 0; i < TAR_FD_CACHE; i++) {
        if (r->slots[i].fd >= 0)
            close(r->slots[i].fd);
        free(r->slots[i].path);
        r->slots[i].path = NULL;
        r->slots[i].fd = -1;
    }
    free(r->work);
    r->work = NULL;
}

void
tar_resolver_invalidate(struct tar_resolver *r)
{
    r->stale = true;
}

static void
drop_cache(struct tar_resolver *r)
{
    r->stale = false;
    for (int i = 0; i < TAR_FD_CACHE; i++) {
        if (r->slots[i].fd >= 0)
            close(r->slots[i].fd);
        r->slots[i].fd = -1;
        r->slots[i].len = 0;
    }
}

/* Re-open the symlink-free path res (root-relative) one real directory at
 * a time; used after ".." dropped the last resolved component. */
static int
reopen_plain(int rootfd, const char *res, size_t rlen)
{
    char comp[NAME_MAX + 1];
    int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
    if (cur < 0)
        return -errno;
    size_t i = 0;
    while (i < rlen) {
        size_t s = i;
        while (i < rlen && res[i] != '/')
            i++;
        memcpy(comp, res + s, i - s);
        comp[i - s] = 0;
        i++;
        int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(cur);
        if (fd < 0)
            return -e;
        cur = fd;
    }
    return cur;
}

/* Splice a symlink target in front of the unread part of the pending path. */
static int
splice_link(char *pend, size_t *plen, size_t *ppos, const char *tgt, size_t tlen)
{
    size_t rest = *plen - *ppos;
    if (tlen + 1 + rest >= 2 * (size_t)TAR_PATH_MAX)
        return -ENAMETOOLONG;
    memmove(pend + tlen + 1, pend + *ppos, rest);
    memcpy(pend, tgt, tlen);
    pend[tlen] = '/';
    *plen = tlen + 1 + rest;
    *ppos = 0;
    return 0;
}

/* Follow one component from cur: its fd (a directory) or -errno. A symlink
 * returns 1 with its target in tgt/tlen and *fd_out unset. */
static int
step(int cur, const char *comp, int *fd_out, char *tgt, size_t *tlen)
{
    struct stat st;
    int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlinkat(fd, "", tgt, TAR_PATH_MAX);
        int e = errno;
        close(fd);
        if (n < 0)
            return -e;
        if (n >= TAR_PATH_MAX)
            return -ENAMETOOLONG;
        *tlen = (size_t)n;
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        close(fd);
        return -ENOTDIR;
    }
    *fd_out = fd;
    return 0;
}

/* The portable walk: an owned fd of dir, or -errno. */
static int
walk(struct tar_resolver *r, const char *dir, size_t len)
{
    char *pend = r->work, *res = r->work + 2 * (size_t)TAR_PATH_MAX;
    char comp[NAME_MAX + 1], tgt[TAR_PATH_MAX];
    size_t plen = len, ppos = 0, rlen = 0, tlen = 0;
    int loops = 0, rc = 0;
    int cur = fcntl(r->rootfd, F_DUPFD_CLOEXEC, 3);
    if (cur < 0)
        return -errno;
    memcpy(pend, dir, len);
    while (ppos < plen) {
        size_t s = ppos;
        while (ppos < plen && pend[ppos] != '/')
            ppos++;
        size_t clen = ppos - s;
        if (ppos < plen)
            ppos++;
        if (clen == 0 || (clen == 1 && pend[s] == '.'))
            continue;
        if (clen > NAME_MAX) {
            rc = -ENAMETOOLONG;
            break;
        }
        memcpy(comp, pend + s, clen);
        comp[clen] = 0;
        if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
            /* ".." at the root stays at the root, as in a chroot. */
            if (rlen == 0)
                continue;
            while (rlen > 0 && res[rlen - 1] != '/')
                rlen--;
            if (rlen > 0)
                rlen--;
            close(cur);
            cur = reopen_plain(r->rootfd, res, rlen);
            if (cur < 0)
                return cur;
            continue;
        }
        int fd = -1;
        rc = step(cur, comp, &fd, tgt, &tlen);
        if (rc < 0)
            break;
        if (rc == 1) {
            rc = 0;
            if (++loops > MAX_SYMLINKS) {
                rc = -ELOOP;
                break;
            }
            if (tlen > 0 && tgt[0] == '/') {
                close(cur);
                cur = fcntl(r->rootfd, F_DUPFD_CLOEXEC, 3);
                if (cur < 0)
                    return -errno;
                rlen = 0;
            }
            rc = splice_link(pend, &plen, &ppos, tgt, tlen);
            if (rc < 0)
                break;
            continue;
        }
        if (rlen + 1 + clen >= TAR_PATH_MAX) {
            close(fd);
            rc = -ENAMETOOLONG;
            break;
        }
        if (rlen > 0)
            res[rlen++] = '/';
        memcpy(res + rlen, comp, clen);
        rlen += clen;
        close(cur);
        cur = fd;
    }
    if (rc < 0) {
        close(cur);
        return rc;
    }
    return cur;
}

/* An owned fd of the existing directory dir (len > 0), or -errno. */
static int
open_existing(struct tar_resolver *r, const char *dir, size_t len)
{
    if (!r->use_openat2)
        return walk(r, dir, len);
    char *p = r->work;
    memcpy(p, dir, len);
    p[len] = 0;
    return open_in_root(r->rootfd, p);
}

/* Make the missing directories of dir one prefix at a time, each created
 * in the resolved directory of the prefix before it. A dangling symlink on
 * the way stays an error (mkdir finds it, the lookup still fails). */
static int
open_creating(struct tar_resolver *r, const char *dir, size_t len)
{
    int prev = fcntl(r->rootfd, F_DUPFD_CLOEXEC, 3);
    if (prev < 0)
        return -errno;
    size_t i = 0;
    while (i < len) {
        size_t s = i;
        while (i < len && dir[i] != '/')
            i++;
        char comp[NAME_MAX + 1];
        if (i - s > NAME_MAX) {
            close(prev);
            return -ENAMETOOLONG;
        }
        memcpy(comp, dir + s, i - s);
        comp[i - s] = 0;
        int fd = open_existing(r, dir, i);
        if (fd == -ENOENT) {
            if (mkdirat(prev, comp, r->dir_mode) != 0 && errno != EEXIST) {
                int e = errno;
                close(prev);
                return -e;
            }
            fd = open_existing(r, dir, i);
        }
        close(prev);
        if (fd < 0)
            return fd;
        prev = fd;
        i++;
    }
    return prev;
}

int
tar_resolve_dir(struct tar_resolver *r, const char *dir, size_t len, bool create, int *fd_out)
{
    if (len == 0) {
        *fd_out = r->rootfd;
        return 0;
    }
    if (len >= TAR_PATH_MAX)
        return -ENAMETOOLONG;
    if (r->stale)
        drop_cache(r);
    for (int i = 0; i < TAR_FD_CACHE; i++) {
        struct tar_fd_slot *sl = &r->slots[i];
        if (sl->fd >= 0 && sl->len == len && memcmp(sl->path, dir, len) == 0) {
            *fd_out = sl->fd;
            return 0;
        }
    }
    int fd = open_existing(r, dir, len);
    if (fd == -ENOENT && create)
        fd = open_creating(r, dir, len);
    if (fd < 0)
        return fd;
    struct tar_fd_slot *sl = &r->slots[r->next_slot];
    r->next_slot = (r->next_slot + 1) % TAR_FD_CACHE;
    if (sl->fd >= 0)
        close(sl->fd);
    memcpy(sl->path, dir, len);
    sl->len = len;
    sl->fd = fd;
    *fd_out = fd;
    return 0;
}
