/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export: a directory tree (a container's ROOT, or the whole container
 * directory for --clone) as a tar on a file descriptor. Walks with
 * openat/fstatat relative to directory fds, never following a symlink;
 * entries are sorted by name so that the same tree gives the same bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "archive_int.h"

#define MAX_DEPTH 512

struct inode_name {
    dev_t dev;
    ino_t ino;
    char *name;
};

struct walk {
    struct ar_writer w;
    dev_t root_dev;
    struct inode_name *links; /* files with st_nlink > 1 already written */
    size_t n_links, cap_links;
};

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a directory (without . and ..). */
static int
list_dir(int dfd, char ***out, struct ud_error *err)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return ud_error_set(err, UD_EIO, errno, "reading a directory");
    }
    rewinddir(d);
    char **v = NULL;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            rc = ud_strv_push(&v, de->d_name, err);
    closedir(d);
    if (rc < 0) {
        ud_strv_free(v);
        return rc;
    }
    if (v)
        qsort(v, ud_strv_len(v), sizeof(char *), cmp_str);
    *out = v;
    return 0;
}

static const char *
seen_link(struct walk *wk, const struct stat *st)
{
    for (size_t i = 0; i < wk->n_links; i++)
        if (wk->links[i].dev == st->st_dev && wk->links[i].ino == st->st_ino)
            return wk->links[i].name;
    return NULL;
}

static int
remember_link(struct walk *wk, const struct stat *st, const char *name, struct ud_error *err)
{
    if (wk->n_links == wk->cap_links) {
        size_t nc = wk->cap_links ? wk->cap_links * 2 : 64;
        struct inode_name *nv = ud_realloc(wk->links, nc * sizeof(*nv));
        if (!nv)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        wk->links = nv;
        wk->cap_links = nc;
    }
    char *copy = ud_strdup(name);
    if (!copy)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    wk->links[wk->n_links++] = (struct inode_name){st->st_dev, st->st_ino, copy};
    return 0;
}

static int walk_dir(struct walk *wk, int dfd, const char *prefix, int depth, struct ud_error *err);

static int
emit_file(struct walk *wk, int dfd, const char *name, const char *path, const struct stat *st,
          struct ud_error *err)
{
    struct ar_header h = {.name = path,
                          .type = '0',
                          .mode = st->st_mode & 07777,
                          .size = (uint64_t)st->st_size,
                          .mtime = st->st_mtim.tv_sec};
    if (st->st_nlink > 1) {
        const char *first = seen_link(wk, st);
        if (first) {
            h.type = '1';
            h.link = first;
            h.size = 0;
            return ar_writer_header(&wk->w, &h, err);
        }
        int rc = remember_link(wk, st, path, err);
        if (rc < 0)
            return rc;
    }
    cleanup_close int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, UD_EIO, errno, "open %s", path);
    return ar_writer_file_fd(&wk->w, &h, fd, path, NULL, err);
}

static int
emit_entry(struct walk *wk, int dfd, const char *name, const char *path, int depth,
           struct ud_error *err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return ud_error_set(err, UD_EIO, errno, "stat %s", path);
    struct ar_header h = {.name = path, .mode = st.st_mode & 07777, .mtime = st.st_mtim.tv_sec};
    char target[AR_NAME_MAX];
    switch (st.st_mode & S_IFMT) {
    case S_IFREG:
        return emit_file(wk, dfd, name, path, &st, err);
    case S_IFLNK: {
        ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
        if (n < 0)
            return ud_error_set(err, UD_EIO, errno, "readlink %s", path);
        target[n] = '\0';
        h.type = '2';
        h.link = target;
        h.mode = 0777;
        return ar_writer_header(&wk->w, &h, err);
    }
    case S_IFDIR: {
        cleanup_free char *dname = ud_asprintf("%s/", path);
        if (!dname)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        h.name = dname;
        h.type = '5';
        int rc = ar_writer_header(&wk->w, &h, err);
        if (rc < 0 || st.st_dev != wk->root_dev) /* --one-file-system */
            return rc;
        cleanup_close int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return ud_error_set(err, UD_EIO, errno, "open %s", path);
        return walk_dir(wk, sub, path, depth + 1, err);
    }
    case S_IFIFO:
        h.type = '6';
        return ar_writer_header(&wk->w, &h, err);
    case S_IFCHR:
    case S_IFBLK:
        h.type = S_ISCHR(st.st_mode) ? '3' : '4';
        h.devmajor = major(st.st_rdev);
        h.devminor = minor(st.st_rdev);
        return ar_writer_header(&wk->w, &h, err);
    default: /* sockets cannot be archived */
        return 0;
    }
}

static int
walk_dir(struct walk *wk, int dfd, const char *prefix, int depth, struct ud_error *err)
{
    if (depth > MAX_DEPTH)
        return ud_error_set(err, UD_ETOOBIG, 0, "directory tree too deep at %.200s", prefix);
    cleanup_strv char **names = NULL;
    int rc = list_dir(dfd, &names, err);
    for (size_t i = 0; rc == 0 && names && names[i]; i++) {
        cleanup_free char *path = ud_asprintf("%s/%s", prefix, names[i]);
        rc = path ? emit_entry(wk, dfd, names[i], path, depth, err)
                  : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    return rc;
}

int
ud_archive_tree_write(const char *dir, int fd, struct ud_error *err)
{
    struct walk wk = {0};
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (dfd < 0 || fstat(dfd, &st) < 0)
        return ud_error_set(err, errno == ENOENT ? UD_ENOENT : UD_EIO, errno, "open %s", dir);
    wk.root_dev = st.st_dev;
    int rc = ar_writer_open(&wk.w, fd, err);
    struct ar_header h = {
        .name = "./", .type = '5', .mode = st.st_mode & 07777, .mtime = st.st_mtim.tv_sec};
    if (rc == 0)
        rc = ar_writer_header(&wk.w, &h, err);
    if (rc == 0)
        rc = walk_dir(&wk, dfd, ".", 0, err);
    if (rc == 0)
        rc = ar_writer_finish(&wk.w, err);
    ar_writer_close(&wk.w);
    for (size_t i = 0; i < wk.n_links; i++)
        free(wk.links[i].name);
    free(wk.links);
    return rc;
}
