/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recursive removal that never follows a symlink and never crosses into
 * another filesystem, and that copes with read-only directories left by
 * image layers (it makes each directory owner-rwx before emptying it).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ud/base.h"

#define RM_MAX_DEPTH 4096

static int rm_dir_contents(int dfd, dev_t dev, int depth, struct ud_error *err);

/* Remove the entry name inside parent dfd, whatever its type. */
static int
rm_entry(int dfd, const char *name, dev_t dev, int depth, struct ud_error *err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT)
            return 0;
        return ud_error_set(err, ud_error_from_errno(errno), errno, "stat %s", name);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
            return ud_error_set(err, ud_error_from_errno(errno), errno, "unlink %s", name);
        return 0;
    }
    if (st.st_dev != dev)
        return ud_error_set(err, UD_EUNSAFE, EXDEV, "refusing to cross filesystem at %s", name);
    if (depth > RM_MAX_DEPTH)
        return ud_error_set(err, UD_EINVAL, ELOOP, "directory tree too deep at %s", name);
    if ((st.st_mode & S_IRWXU) != S_IRWXU)
        fchmodat(dfd, name, (st.st_mode & 07777) | S_IRWXU, 0);
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", name);
    int rc = rm_dir_contents(sub, dev, depth + 1, err);
    close(sub);
    if (rc < 0) {
        ud_error_prefix(err, "%s/", name);
        return rc;
    }
    if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "rmdir %s", name);
    return 0;
}

static int
rm_dir_contents(int dfd, dev_t dev, int depth, struct ud_error *err)
{
    int dup_fd = dup(dfd);
    if (dup_fd < 0)
        return ud_error_set(err, UD_EIO, errno, "dup");
    cleanup_dir DIR *d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return ud_error_set(err, UD_EIO, errno, "opendir");
    }
    struct dirent *de;
    while ((errno = 0, de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int rc = rm_entry(dfd, de->d_name, dev, depth, err);
        if (rc < 0)
            return rc;
    }
    if (errno != 0)
        return ud_error_set(err, UD_EIO, errno, "readdir");
    return 0;
}

int
ud_rm_rf_at(int dirfd, const char *name, struct ud_error *err)
{
    struct stat st;
    if (fstat(dirfd, &st) != 0)
        return ud_error_set(err, UD_EIO, errno, "stat directory");
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
        return ud_error_set(err, UD_EINVAL, 0, "refusing to remove '%s'", name);
    return rm_entry(dirfd, name, st.st_dev, 0, err);
}

int
ud_rm_rf(const char *path, struct ud_error *err)
{
    cleanup_free char *abs = NULL;
    int rc = ud_path_absolute(path, &abs, err);
    if (rc < 0)
        return rc;
    /* Upstream's safety rule: never remove "/" or a top-level directory. */
    size_t slashes = 0;
    for (const char *p = abs; *p; p++)
        slashes += (*p == '/');
    if (slashes < 2)
        return ud_error_set(err, UD_EUNSAFE, 0, "refusing to remove %s", abs);
    char *slash = strrchr(abs, '/');
    *slash = '\0';
    const char *parent = abs[0] ? abs : "/";
    cleanup_close int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) {
        if (errno == ENOENT)
            return 0;
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", parent);
    }
    rc = ud_rm_rf_at(pfd, slash + 1, err);
    if (rc < 0)
        ud_error_prefix(err, "remove %s/: ", parent);
    return rc;
}
