/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Removal beneath a directory fd for whiteouts and replaced entries. Never
 * follows a symlink (O_NOFOLLOW, unlinkat), makes read-only directories
 * writable before emptying them, and can spare the paths the current layer
 * wrote (opaque directories and whiteouts met after the layer's own files).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tarextract_int.h"

/* Deeper than any real image; a guard against fd exhaustion. */
#define MAX_DEPTH 512

static int remove_entry(int dfd, const char *name, int depth);
static int children_except(int fd, char *path, size_t len, const struct tar_pathset *keep,
                           int depth);

/* An O_RDONLY fd of directory dfd/name made u+rwx, or -errno. */
static int
open_dir_writable(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) {
        /* A directory without u+rx: fix it first. name was just seen as a
         * directory and nothing else writes here, so chmod can't be
         * redirected through a symlink. */
        if (fchmodat(dfd, name, 0700, 0) != 0)
            return -errno;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
        (void)fchmod(fd, (st.st_mode & 07777) | 0700);
    return fd;
}

static int
remove_dir(int dfd, const char *name, int depth)
{
    if (depth > MAX_DEPTH)
        return -ELOOP;
    for (int pass = 0; pass < 3; pass++) {
        int fd = open_dir_writable(dfd, name);
        if (fd == -ENOENT)
            return 0;
        if (fd < 0)
            return fd;
        int rc = children_except(fd, NULL, 0, NULL, depth);
        if (rc < 0)
            return rc;
        if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
            return 0;
        /* Entries missed by readdir while deleting: go round again. */
        if (errno != ENOTEMPTY && errno != EEXIST)
            return -errno;
    }
    return -ENOTEMPTY;
}

static int
remove_entry(int dfd, const char *name, int depth)
{
    if (unlinkat(dfd, name, 0) == 0)
        return 0;
    int e = errno;
    if (e == ENOENT)
        return 0;
    if (e != EISDIR && e != EPERM)
        return -e;
    /* EISDIR (Linux) or EPERM (POSIX) for a directory; a file that is
     * simply not removable keeps its own error. */
    int r = remove_dir(dfd, name, depth);
    return r == -ENOTDIR ? -e : r;
}

int
tar_remove_tree(int dfd, const char *name)
{
    return remove_entry(dfd, name, 0);
}

static int
remove_except(int dfd, const char *name, char *path, size_t len, const struct tar_pathset *keep,
              int depth)
{
    if (!tar_pathset_get(keep, path, len))
        return remove_entry(dfd, name, depth);
    /* Written by this layer (or holding what it wrote): keep it, and
     * sift through it when it is a directory. */
    int fd = open_dir_writable(dfd, name);
    if (fd == -ENOTDIR || fd == -ELOOP || fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    return children_except(fd, path, len, keep, depth + 1);
}

/* Remove every entry of the directory fd (taken over and closed) except
 * what keep marks; path is the directory's root-relative path, extended and
 * restored while descending. keep NULL: remove everything, path unused. */
static int
children_except(int fd, char *path, size_t len, const struct tar_pathset *keep, int depth)
{
    if (depth > MAX_DEPTH) {
        close(fd);
        return -ELOOP;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0)))
            continue;
        size_t nlen = strlen(n), sub = len + (len ? 1 : 0) + nlen;
        int r;
        if (!keep || sub >= TAR_PATH_MAX) {
            /* Longer than any member path: nothing there can be marked. */
            r = remove_entry(dirfd(d), n, depth + 1);
        } else {
            if (len)
                path[len] = '/';
            memcpy(path + len + (len ? 1 : 0), n, nlen);
            path[sub] = 0;
            r = remove_except(dirfd(d), n, path, sub, keep, depth + 1);
            path[len] = 0;
        }
        if (r < 0 && rc == 0)
            rc = r;
        errno = 0;
    }
    if (errno != 0 && rc == 0)
        rc = -errno;
    closedir(d);
    return rc;
}

int
tar_remove_except(int dfd, const char *name, char *path, size_t len, const struct tar_pathset *keep)
{
    return remove_except(dfd, name, path, len, keep, 0);
}

int
tar_remove_children_except(int dfd, char *path, size_t len, const struct tar_pathset *keep)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
        (void)fchmod(fd, (st.st_mode & 07777) | 0700);
    return children_except(fd, path, len, keep, 0);
}
