/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whole-tree container operations: du-like size (ps -s), rm (with the
 * owner-permission fix of rm -f) and clone (a faithful copy: symlinks as
 * links, hard links within the tree kept, modes and times kept).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

#define TREE_DEPTH_MAX 4096

int store_container_begin_raw(struct ud_store *s, const char *imagerepo,
                              struct ud_store_container_txn **out, struct ud_error *err);

/* Open-addressing set of (dev, ino) with an optional path per entry. */
struct ino_ent {
    dev_t dev;
    ino_t ino;
    char *path;
    bool used;
};
struct inoset {
    struct ino_ent *v;
    size_t cap, n;
};

static void
inoset_fini(struct inoset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->v[i].path);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static struct ino_ent *
inoset_slot(struct inoset *s, dev_t dev, ino_t ino)
{
    size_t h = ((size_t)ino * 2654435761u) ^ (size_t)dev;
    for (size_t i = 0;; i++) {
        struct ino_ent *e = &s->v[(h + i) & (s->cap - 1)];
        if (!e->used || (e->dev == dev && e->ino == ino))
            return e;
    }
}

/* Find or add; *found tells which. NULL on ENOMEM. */
static struct ino_ent *
inoset_get(struct inoset *s, dev_t dev, ino_t ino, bool *found)
{
    if ((s->n + 1) * 2 > s->cap) {
        struct inoset ns = {ud_calloc(s->cap ? s->cap * 2 : 64, sizeof(struct ino_ent)),
                            s->cap ? s->cap * 2 : 64, s->n};
        if (!ns.v)
            return NULL;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i].used)
                *inoset_slot(&ns, s->v[i].dev, s->v[i].ino) = s->v[i];
        free(s->v);
        *s = ns;
    }
    struct ino_ent *e = inoset_slot(s, dev, ino);
    *found = e->used;
    if (!e->used) {
        e->used = true, e->dev = dev, e->ino = ino, e->path = NULL;
        s->n++;
    }
    return e;
}

/* ---- size ---- */

static int
du_dir(int dfd, dev_t dev, struct inoset *seen, uint64_t *total, int depth)
{
    cleanup_dir DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return UD_EIO;
    }
    if (depth > TREE_DEPTH_MAX)
        return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
            continue;
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
            bool found;
            if (!inoset_get(seen, st.st_dev, st.st_ino, &found))
                return UD_ENOMEM;
            if (found)
                continue;
        }
        *total += (uint64_t)st.st_blocks * 512;
        if (S_ISDIR(st.st_mode)) {
            int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int rc = fd >= 0 ? du_dir(fd, dev, seen, total, depth + 1) : 0;
            if (rc == UD_ENOMEM)
                return rc;
        }
    }
    return 0;
}

int
ud_store_container_size_mb(const struct ud_store *s, const char *id_or_name, int64_t *mb,
                           struct ud_error *err)
{
    cleanup_free char *cdir = NULL, *dir = NULL;
    int rc = ud_store_container_dir(s, id_or_name, &cdir, err);
    if (rc < 0)
        return rc;
    /* Upstream runs "du -s -m -x <container>/ROOT". */
    if (!(dir = ud_path_join(cdir, "ROOT")))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return ud_error_set(err, ud_error_from_errno(e), e, "open %s", dir);
    }
    struct inoset seen = {0};
    uint64_t total = (uint64_t)st.st_blocks * 512;
    rc = du_dir(fd, st.st_dev, &seen, &total, 0);
    inoset_fini(&seen);
    if (rc == UD_ENOMEM)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc < 0)
        return ud_error_set(err, UD_EIO, 0, "cannot read %s", dir);
    *mb = (int64_t)ud_store_mib_ceil(total);
    return 0;
}

/* ---- rm ---- */

/* rm -f: owner rw on files, rwx on directories, so everything can go. */
static void
make_removable(int dfd, int depth)
{
    cleanup_dir DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *de;
    while (depth < TREE_DEPTH_MAX && (de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISLNK(st.st_mode))
            continue;
        mode_t want = st.st_mode | (S_ISDIR(st.st_mode) ? 0700 : 0600);
        if (want != st.st_mode)
            (void)fchmodat(dirfd(d), de->d_name, want & 07777, 0);
        if (S_ISDIR(st.st_mode)) {
            int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0)
                make_removable(fd, depth + 1);
        }
    }
}

static int
rm_unlink_names(const struct ud_store *s, const char *id)
{
    cleanup_dir DIR *d = opendir(s->p.containersdir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char buf[4096];
        if (de->d_name[0] == '.')
            continue;
        const char *b = store_link_base_at(dirfd(d), de->d_name, buf, sizeof(buf));
        if (b && strcmp(b, id) == 0 && unlinkat(dirfd(d), de->d_name, 0) < 0)
            return -errno;
    }
    return 0;
}

static int
rm_detach(struct ud_store *s, const char *id_or_name, struct tmp_claim *c, struct ud_error *err)
{
    cleanup_free char *id = NULL, *dir = NULL, *del = NULL;
    int rc = ud_store_container_resolve(s, id_or_name, &id, err);
    if (rc < 0)
        return rc;
    if (ud_store_container_is_protected(s, id))
        return ud_error_set(err, UD_EPERM, 0, "container is protected");
    if (!(dir = ud_path_join(s->p.containersdir, id)))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    rc = store_tmp_name(s->p.containersdir, ".del-", id, "-", &del, err);
    if (rc == 0)
        rc = tmp_claim_take(s, del, c, err);
    if (rc < 0)
        return rc;
    int e = rm_unlink_names(s, id);
    if (e < 0) {
        tmp_claim_drop(c);
        return ud_error_set(err, ud_error_from_errno(-e), -e, "removing names of %s", id);
    }
    if (rename(dir, del) < 0) {
        e = errno;
        tmp_claim_drop(c);
        return ud_error_set(err, ud_error_from_errno(e), e, "rename %s", dir);
    }
    return 0;
}

int
ud_store_container_rm(struct ud_store *s, const char *id_or_name, bool force, struct ud_error *err)
{
    struct tmp_claim c = {NULL, NULL, -1, NULL};
    int rc = ud_store_lock(s, true, err);
    if (rc < 0)
        return rc;
    rc = rm_detach(s, id_or_name, &c, err);
    ud_store_unlock(s);
    if (rc < 0)
        return rc;
    /* The tree is now invisible; delete it without the repository lock. */
    if (force) {
        int fd = open(c.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
            make_removable(fd, 0);
    }
    /* Past the rename the container is gone for every reader; the fallback
     * needs no memory so the tree is removed even under ENOMEM. */
    rc = ud_rm_rf(c.path, err);
    if (rc < 0 && store_rm_tree(c.path) == 0)
        rc = 0;
    tmp_claim_drop(&c);
    return rc;
}

/* ---- clone ---- */

struct copyctx {
    struct inoset links;
    struct ud_error *err;
};

static int copy_dir(int sfd, int dfd, const char *dpath, int depth, struct copyctx *cx);

static int
copy_reg(int sdir, int ddir, const char *name, const struct stat *st, struct ud_error *err)
{
    cleanup_close int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", name);
    cleanup_close int out =
        openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "create %s", name);
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ud_error_set(err, UD_EIO, errno, "read %s", name);
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return ud_error_set(err, ud_error_from_errno(errno), errno, "write %s", name);
            off += w;
        }
    }
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    (void)fchmod(out, st->st_mode & 07777);
    (void)futimens(out, ts);
    return 0;
}

static int
copy_entry(int sdir, int ddir, const char *dpath, const char *name, const struct stat *st,
           int depth, struct copyctx *cx)
{
    cleanup_free char *dp = ud_path_join(dpath, name);
    if (!dp)
        return ud_error_set(cx->err, UD_ENOMEM, 0, "out of memory");
    if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
        bool found;
        struct ino_ent *e = inoset_get(&cx->links, st->st_dev, st->st_ino, &found);
        if (!e)
            return ud_error_set(cx->err, UD_ENOMEM, 0, "out of memory");
        if (found && e->path && linkat(AT_FDCWD, e->path, ddir, name, 0) == 0)
            return 0;
        if (!found && !(e->path = ud_strdup(dp)))
            return ud_error_set(cx->err, UD_ENOMEM, 0, "out of memory");
    }
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    if (S_ISREG(st->st_mode))
        return copy_reg(sdir, ddir, name, st, cx->err);
    if (S_ISLNK(st->st_mode)) {
        char buf[4096];
        ssize_t n = readlinkat(sdir, name, buf, sizeof(buf) - 1);
        if (n < 0)
            return ud_error_set(cx->err, UD_EIO, errno, "readlink %s", dp);
        buf[n] = '\0';
        if (symlinkat(buf, ddir, name) < 0)
            return ud_error_set(cx->err, ud_error_from_errno(errno), errno, "symlink %s", dp);
        (void)utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    if (S_ISFIFO(st->st_mode)) {
        if (mkfifoat(ddir, name, st->st_mode & 07777) < 0)
            return ud_error_set(cx->err, ud_error_from_errno(errno), errno, "mkfifo %s", dp);
        return 0;
    }
    if (!S_ISDIR(st->st_mode)) {
        ud_log(UD_LOG_DEBUG, "clone: skipping special file %s", dp);
        return 0;
    }
    if (mkdirat(ddir, name, 0700) < 0 && errno != EEXIST)
        return ud_error_set(cx->err, ud_error_from_errno(errno), errno, "mkdir %s", dp);
    int s2 = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s2 < 0)
        return ud_error_set(cx->err, ud_error_from_errno(errno), errno, "open %s", name);
    int d2 = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d2 < 0) {
        close(s2);
        return ud_error_set(cx->err, ud_error_from_errno(errno), errno, "open %s", dp);
    }
    int rc = copy_dir(s2, d2, dp, depth + 1, cx);
    /* Modes after the contents: a read-only source directory still fills. */
    (void)fchmodat(ddir, name, st->st_mode & 07777, 0);
    (void)utimensat(ddir, name, ts, 0);
    return rc;
}

static int
copy_dir(int sfd, int dfd, const char *dpath, int depth, struct copyctx *cx)
{
    cleanup_close int dd = dfd;
    cleanup_dir DIR *d = fdopendir(sfd);
    if (!d) {
        close(sfd);
        return ud_error_set(cx->err, UD_EIO, errno, "read %s", dpath);
    }
    if (depth > TREE_DEPTH_MAX)
        return ud_error_set(cx->err, UD_ETOOBIG, 0, "tree too deep: %s", dpath);
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || (depth == 0 && (!strcmp(n, "imagerepo.name"))))
            continue;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return ud_error_set(cx->err, UD_EIO, errno, "stat %s/%s", dpath, n);
        int rc = copy_entry(dirfd(d), dd, dpath, n, &st, depth, cx);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
clone_copy(struct ud_store_container_txn *t, const char *srcdir, struct ud_error *err)
{
    const char *dst = ud_store_container_txn_dir(t);
    cleanup_free char *ir = ud_path_join(dst, "imagerepo.name");
    if (!ir)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    /* Upstream's marker while the copy runs. */
    int rc = ud_file_write_atomic(ir, "CLONING:inprogress", 18, 0644, err);
    if (rc < 0)
        return rc;
    int sfd = open(srcdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0 || dfd < 0) {
        int e = errno;
        if (sfd >= 0)
            close(sfd);
        if (dfd >= 0)
            close(dfd);
        return ud_error_set(err, ud_error_from_errno(e), e, "open %s", srcdir);
    }
    struct copyctx cx = {{0}, err};
    rc = copy_dir(sfd, dfd, dst, 0, &cx);
    inoset_fini(&cx.links);
    return rc;
}

int
ud_store_container_clone(struct ud_store *s, const char *id_or_name, const char *name, char id[37],
                         struct ud_error *err)
{
    cleanup_free char *srcdir = NULL, *imagerepo = NULL, *np = NULL;
    int rc = ud_store_container_dir(s, id_or_name, &srcdir, err);
    if (rc < 0)
        return rc;
    if (name) {
        if (!ud_store_name_is_valid(name))
            return ud_error_set(err, UD_EINVAL, 0, "invalid container name");
        if (!(np = ud_path_join(s->p.containersdir, name)))
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        if (ud_path_exists(np))
            return ud_error_set(err, UD_EEXIST, 0, "container name already exists");
    }
    cleanup_free char *irp = ud_path_join(srcdir, "imagerepo.name");
    size_t len = 0;
    if (!irp)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    struct ud_error re = {0};
    rc = ud_file_read(irp, 65536, &imagerepo, &len, &re);
    if (rc < 0 && rc != UD_ENOENT) {
        if (err)
            *err = re;
        return rc;
    }
    if (!imagerepo && !(imagerepo = ud_strdup("")))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    struct ud_store_container_txn *t = NULL;
    rc = store_container_begin_raw(s, imagerepo, &t, err);
    if (rc < 0)
        return rc;
    rc = clone_copy(t, srcdir, err);
    if (rc < 0) {
        ud_store_container_abort(t);
        return rc;
    }
    char nid[37];
    rc = ud_store_container_commit(t, nid, err);
    if (rc < 0)
        return rc;
    /* The clone exists from here: hand its id out even if naming fails. */
    memcpy(id, nid, 37);
    if (name && (rc = ud_store_name_add(s, nid, name, err)) < 0)
        return rc;
    return 0;
}
