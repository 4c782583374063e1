/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mountpoints engines create inside ROOT, and `setup --purge`. Recorded in
 * upstream's layout (reference 2.4) so either implementation's purge
 * removes the other's: cdir/.mountpoints/ holds a symlink per mountpoint,
 * named after its container path with '/' -> '#', pointing at the deepest
 * directory that already existed, encoded the same way.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"

/* "/etc/x" -> "#etc#x". */
static char *
hash_encode(const char *cpath)
{
    char *s = ud_strdup(cpath);

    for (char *p = s; p && *p; p++)
        if (*p == '/')
            *p = '#';
    return s;
}

int
ud_engine_hash_decode(const char *name, char **out)
{
    char *s = ud_strdup(name);

    if (!s)
        return UD_ENOMEM;
    for (char *p = s; *p; p++)
        if (*p == '#')
            *p = '/';
    if (s[0] != '/' || strcmp(s, "/") == 0 || strstr(s, "/../") || ud_str_has_suffix(s, "/..") ||
        strstr(s, "//")) {
        free(s);
        return UD_EINVAL;
    }
    *out = s;
    return 0;
}

bool
ud_engine_path_covers(const char *prefix, const char *p)
{
    size_t n = strlen(prefix);

    if (strcmp(prefix, "/") == 0)
        return true;
    return strncmp(prefix, p, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

void
ud_engine_path_pop(char *buf)
{
    char *s = strrchr(buf, '/');

    if (s == buf)
        buf[1] = '\0';
    else if (s)
        *s = '\0';
}

/* The record goes before the mountpoint: a crash then leaves a record of
 * nothing, which purge tolerates, never an unrecorded mountpoint. */
static int
record(const char *cdir, const char *cpath, const char *ancestor, struct ud_error *err)
{
    cleanup_free char *dir = ud_path_join(cdir, ".mountpoints");
    cleanup_free char *name = hash_encode(cpath);
    cleanup_free char *target = hash_encode(ancestor);
    cleanup_free char *link = NULL;

    if (!dir || !name || !target)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "record mountpoint");
    if (strchr(cpath, '#'))
        return 0; /* the encoding cannot hold it; left in place */
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return ud_error_set(err, UD_EIO, errno, "mkdir %s", dir);
    link = ud_path_join(dir, name);
    if (!link)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "record mountpoint");
    if (symlink(target, link) < 0 && errno != EEXIST)
        return ud_error_set(err, UD_EIO, errno, "record mountpoint %s", link);
    return 0;
}

/* Length of the deepest existing directory (not a link) above cpath. */
static size_t
existing_prefix(const char *root, const char *cpath)
{
    size_t keep = 1; /* "/" */

    for (const char *p = cpath + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        cleanup_free char *h = ud_asprintf("%s%.*s", root, (int)(p - cpath), cpath);
        struct stat st;
        if (!h || lstat(h, &st) < 0 || !S_ISDIR(st.st_mode))
            break;
        keep = (size_t)(p - cpath);
        if (*p == '\0')
            break;
    }
    return keep;
}

/* mkdir root + cpath[0..i) for every '/' after from and at to. Something
 * other than a directory in the way (a symlink that could lead out of
 * ROOT) is refused, not followed. */
static int
make_dirs(const char *root, const char *cpath, size_t from, size_t to, struct ud_error *err)
{
    for (size_t i = from + 1; i <= to; i++) {
        if (i != to && cpath[i] != '/')
            continue;
        cleanup_free char *h = ud_asprintf("%s%.*s", root, (int)i, cpath);
        struct stat st;
        if (!h)
            return ud_error_set(err, UD_ENOMEM, ENOMEM, "mkdir");
        if (mkdir(h, 0755) == 0)
            continue;
        if (errno != EEXIST)
            return ud_error_set(err, UD_EIO, errno, "mkdir %s", h);
        if (lstat(h, &st) < 0 || !S_ISDIR(st.st_mode))
            return ud_error_set(err, UD_EEXIST, ENOTDIR, "mountpoint parent is not a directory: %s",
                                h);
    }
    return 0;
}

int
ud_engine_mountpoint_add(const struct ud_engine_ctr *c, const char *cont, bool dir,
                         struct ud_error *err)
{
    cleanup_free char *clean = ud_engine_path_clean(cont);
    cleanup_free char *host = NULL;
    cleanup_free char *anc = NULL;
    struct stat st;
    int rc;

    if (!clean)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "mountpoint");
    if (clean[0] != '/' || strcmp(clean, "/") == 0)
        return ud_error_set(err, UD_EINVAL, 0, "invalid container path: %s", cont);
    host = ud_asprintf("%s%s", c->root, clean);
    if (!host)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "mountpoint");
    if (lstat(host, &st) == 0) {
        if (S_ISLNK(st.st_mode) && stat(host, &st) != 0)
            return ud_error_set(err, UD_EEXIST, 0, "mountpoint is a dangling link: %s", clean);
        if ((bool)S_ISDIR(st.st_mode) == dir)
            return 0;
        return ud_error_set(err, UD_EEXIST, 0, "mountpoint %s exists and is not a %s", clean,
                            dir ? "directory" : "file");
    }
    size_t keep = existing_prefix(c->root, clean);
    anc = ud_strndup(clean, keep);
    if (!anc)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "mountpoint");
    if (c->cdir && (rc = record(c->cdir, clean, anc, err)) < 0)
        return rc;
    size_t last = (size_t)(strrchr(clean, '/') - clean);
    rc = make_dirs(c->root, clean, keep, dir ? strlen(clean) : last, err);
    if (rc < 0 || dir)
        return rc;
    int fd = open(host, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno != EEXIST)
        return ud_error_set(err, UD_EIO, errno, "create mountpoint %s", host);
    if (fd >= 0)
        close(fd);
    return 0;
}

/* Remove root+cpath when it is still an empty file or directory, then its
 * empty parents down to (not including) the ancestor. Never follows a
 * symlink: each step is lstat'ed first. */
static void
remove_one(const char *root, char *cpath, const char *anc)
{
    size_t alen = strlen(anc);
    bool first = true;

    while (strlen(cpath) > alen && ud_engine_path_covers(anc, cpath)) {
        cleanup_free char *h = ud_asprintf("%s%s", root, cpath);
        struct stat st;
        if (!h || lstat(h, &st) < 0)
            goto up;
        if (S_ISDIR(st.st_mode)) {
            if (rmdir(h) < 0)
                return;
        } else if (first && S_ISREG(st.st_mode) && st.st_size == 0) {
            if (unlink(h) < 0)
                return;
        } else {
            return;
        }
    up:
        first = false;
        ud_engine_path_pop(cpath);
    }
}

/* One record: its mountpoint if still unused, then the record itself.
 * A record that does not decode to a sane path is dropped unused. */
static int
purge_one(DIR *d, const char *dir, const char *name, const char *root, struct ud_error *err)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(dirfd(d), name, target, sizeof target - 1);

    if (n >= 0) {
        cleanup_free char *cpath = NULL;
        cleanup_free char *anc = NULL;
        target[n] = '\0';
        /* The ancestor may be "/" ("#"), which the decoder refuses. */
        int rc = ud_engine_hash_decode(name, &cpath);
        if (rc == 0 && strcmp(target, "#") == 0)
            anc = ud_strdup("/");
        else if (rc == 0)
            rc = ud_engine_hash_decode(target, &anc);
        if (rc == UD_ENOMEM || (rc == 0 && !anc))
            return ud_error_set(err, UD_ENOMEM, ENOMEM, "purge mountpoints");
        if (rc == 0 && ud_engine_path_covers(anc, cpath))
            remove_one(root, cpath, anc);
    }
    if (unlinkat(dirfd(d), name, 0) < 0 && errno != ENOENT)
        return ud_error_set(err, UD_EIO, errno, "remove %s/%s", dir, name);
    return 0;
}

int
ud_execmode_purge(const struct ud_engine_ctr *c, struct ud_error *err)
{
    cleanup_free char *dir = ud_path_join(c->cdir, ".mountpoints");
    cleanup_dir DIR *d = NULL;
    struct dirent *e;
    int rc;

    if (!dir)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "purge mountpoints");
    d = opendir(dir);
    if (!d && errno != ENOENT && errno != ENOTDIR)
        return ud_error_set(err, UD_EIO, errno, "open %s", dir);
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '#' && (rc = purge_one(d, dir, e->d_name, c->root, err)) < 0)
            return rc;
    }
    if (d && rmdir(dir) < 0 && errno != ENOENT && errno != ENOTEMPTY)
        return ud_error_set(err, UD_EIO, errno, "remove %s", dir);
    return ud_filebind_restore(c, err);
}
