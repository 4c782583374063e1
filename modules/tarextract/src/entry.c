/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Creating one member beneath its (already resolved) parent directory:
 * regular files, directories, symlinks, hard links and FIFOs, with the
 * unprivileged fix-ups (no chown, setuid/setgid dropped, u+rw files, u+rwx
 * directories). Every call takes a parent fd and a single name, with
 * O_NOFOLLOW/O_EXCL or AT_SYMLINK_NOFOLLOW, so the last component is never
 * followed and an existing inode (maybe hard-linked) is never written into.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tarextract_int.h"

/* Files: no setuid, setgid or sticky (an ordinary user can't own them as
 * root anyway); always u+rw so later layers and rm work. */
static mode_t
file_mode(mode_t m)
{
    return (m & 0777) | 0600;
}

/* Directories: keep the sticky bit (tmp directories), drop setuid/setgid,
 * always u+rwx. */
static mode_t
dir_mode(mode_t m)
{
    return (m & 01777) | 0700;
}

static struct timespec
mtime_of(struct archive_entry *e)
{
    struct timespec t = {0, UTIME_OMIT};
    if (archive_entry_mtime_is_set(e)) {
        t.tv_sec = archive_entry_mtime(e);
        t.tv_nsec = archive_entry_mtime_nsec(e);
        if (t.tv_nsec < 0 || t.tv_nsec > 999999999)
            t.tv_nsec = 0;
    }
    return t;
}

/* mtime of pfd/leaf without following it; atime is left as now. */
static void
set_mtime_at(struct archive_entry *e, int pfd, const char *leaf)
{
    struct timespec ts[2] = {{0, UTIME_OMIT}, mtime_of(e)};
    if (ts[1].tv_nsec != UTIME_OMIT)
        (void)utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW);
}

int
tar_entry_clear(struct tar_apply *a, int pfd, const char *leaf)
{
    struct stat st;
    if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode)) {
        int r = tar_remove_tree(pfd, leaf);
        tar_resolver_invalidate(&a->res);
        return r;
    }
    if (unlinkat(pfd, leaf, 0) != 0 && errno != ENOENT)
        return -errno;
    if (S_ISLNK(st.st_mode))
        tar_resolver_invalidate(&a->res);
    return 0;
}

static int
write_fatal(struct tar_apply *a, int e)
{
    int code = (e == ENOSPC || e == EDQUOT || e == EFBIG) ? UD_ENOSPC : UD_EIO;
    return ud_error_set(a->err, code, e, "write %s", a->path);
}

static int
write_all(struct tar_apply *a, int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return write_fatal(a, errno);
        if (w == 0)
            return write_fatal(a, ENOSPC);
        p += w;
        n -= (size_t)w;
        a->st.bytes += (uint64_t)w;
    }
    return 0;
}

/* Copy the member's data into fd; holes of sparse members are skipped. */
static int
copy_data(struct tar_apply *a, struct archive_entry *e, int fd)
{
    const void *buf;
    size_t size;
    la_int64_t off, pos = 0;
    for (;;) {
        int r = archive_read_data_block(a->ar, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return tar_stream_error(a->stream, "corrupt archive", a->err);
        if (off != pos) {
            if (lseek(fd, off, SEEK_SET) < 0)
                return write_fatal(a, errno);
            pos = off;
        }
        int rc = write_all(a, fd, buf, size);
        if (rc < 0)
            return rc;
        pos += (la_int64_t)size;
    }
    la_int64_t want = archive_entry_size(e);
    if (archive_entry_size_is_set(e) && pos < want && ftruncate(fd, want) != 0)
        return write_fatal(a, errno);
    return 0;
}

static int
make_file(struct tar_apply *a, struct archive_entry *e, int pfd, const char *leaf)
{
    const int fl = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    mode_t m = file_mode(archive_entry_perm(e));
    int fd = openat(pfd, leaf, fl, m);
    if (fd < 0 && errno == EEXIST) {
        int r = tar_entry_clear(a, pfd, leaf);
        if (r < 0)
            return tar_entry_fail(a, "replace", -r);
        fd = openat(pfd, leaf, fl, m);
    }
    if (fd < 0)
        return tar_entry_fail(a, "create", errno);
    int rc = copy_data(a, e, fd);
    if (rc == 0) {
        struct timespec ts[2] = {{0, UTIME_OMIT}, mtime_of(e)};
        if (ts[1].tv_nsec != UTIME_OMIT)
            (void)futimens(fd, ts);
    }
    if (close(fd) != 0 && rc == 0 && errno != EINTR)
        rc = write_fatal(a, errno);
    if (rc < 0)
        (void)unlinkat(pfd, leaf, 0); /* no half-written file left behind */
    return rc;
}

static void
remember_dir_mtime(struct tar_apply *a, struct archive_entry *e)
{
    if (!(a->flags & UD_TAR_F_DIR_MTIME) || !archive_entry_mtime_is_set(e))
        return;
    if (a->ndtimes == a->capdtimes) {
        size_t n = a->capdtimes ? a->capdtimes * 2 : 64;
        struct tar_dir_time *d = ud_realloc(a->dtimes, n * sizeof(*d));
        if (!d)
            return; /* optional metadata: not worth failing the layer */
        a->dtimes = d;
        a->capdtimes = n;
    }
    char *p = ud_strndup(a->path, a->plen);
    if (!p)
        return;
    struct timespec t = mtime_of(e);
    a->dtimes[a->ndtimes++] = (struct tar_dir_time){p, t.tv_sec, t.tv_nsec};
}

static int
make_dir(struct tar_apply *a, struct archive_entry *e, int pfd, const char *leaf)
{
    mode_t m = dir_mode(archive_entry_perm(e));
    if (mkdirat(pfd, leaf, m) == 0) {
        remember_dir_mtime(a, e);
        return 0;
    }
    if (errno != EEXIST)
        return tar_entry_fail(a, "mkdir", errno);
    struct stat st;
    if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return tar_entry_fail(a, "stat", errno);
    if (S_ISDIR(st.st_mode)) {
        /* An existing directory takes the member's mode, as tar does. It
         * was just seen as a directory, not a symlink, and nobody else
         * writes here, so fchmodat can't be redirected. */
        mode_t want = m & ~a->umask;
        if ((st.st_mode & 07777) != want && fchmodat(pfd, leaf, want, 0) != 0)
            return tar_entry_fail(a, "chmod", errno);
        remember_dir_mtime(a, e);
        return 0;
    }
    int r = tar_entry_clear(a, pfd, leaf);
    if (r < 0)
        return tar_entry_fail(a, "replace", -r);
    if (mkdirat(pfd, leaf, m) != 0)
        return tar_entry_fail(a, "mkdir", errno);
    remember_dir_mtime(a, e);
    return 0;
}

/* A symlink (target given) or a FIFO at pfd/leaf: 0 or -errno. */
static int
mknod_at(int pfd, const char *leaf, const char *target, mode_t m)
{
    int r = target ? symlinkat(target, pfd, leaf) : mkfifoat(pfd, leaf, m);
    return r == 0 ? 0 : -errno;
}

/* Create a symlink or a FIFO, replacing whatever a lower layer left there
 * (symlinkat and mkfifoat never follow an existing leaf). */
static int
make_node(struct tar_apply *a, struct archive_entry *e, int pfd, const char *leaf,
          const char *target)
{
    mode_t m = file_mode(archive_entry_perm(e));
    int r = mknod_at(pfd, leaf, target, m);
    if (r == -EEXIST) {
        r = tar_entry_clear(a, pfd, leaf);
        if (r < 0)
            return tar_entry_fail(a, "replace", -r);
        r = mknod_at(pfd, leaf, target, m);
    }
    if (r < 0)
        return tar_entry_fail(a, target ? "symlink" : "mkfifo", -r);
    set_mtime_at(e, pfd, leaf);
    return 0;
}

static int
make_symlink(struct tar_apply *a, struct archive_entry *e, int pfd, const char *leaf)
{
    const char *t = archive_entry_symlink(e);
    if (!t)
        t = archive_entry_symlink_utf8(e);
    if (!t || !*t) {
        tar_warn(a, "skipping symlink %s: empty target", a->path);
        a->st.skipped++;
        return 0;
    }
    return make_node(a, e, pfd, leaf, t);
}

/* Hard link to an earlier member: the target's parent is resolved beneath
 * the root like any member's, and linkat() without AT_SYMLINK_FOLLOW links
 * a symlink itself, never what it points to. */
static int
make_hardlink(struct tar_apply *a, const char *target, int pfd, const char *leaf)
{
    bool abs = false;
    int n = tar_path_normalise(target, a->link, &a->llen, &abs);
    if (n < 0 || a->llen == 0) {
        /* a->link holds no usable name here: say what the archive said. */
        tar_warn(a, "skipping hard link %s: target %s is outside the root", a->path, target);
        a->st.skipped++;
        return 0;
    }
    if (a->llen == a->plen && memcmp(a->link, a->path, a->plen) == 0)
        return 0; /* a link to itself: nothing to do */
    size_t tdlen = a->llen;
    while (tdlen > 0 && a->link[tdlen - 1] != '/')
        tdlen--;
    const char *tleaf = a->link + tdlen;
    tdlen = tdlen ? tdlen - 1 : 0;
    /* Own copies of both fds: resolving the target may recycle the cached
     * fd of the member's parent. */
    int tfd = -1, dfd = fcntl(pfd, F_DUPFD_CLOEXEC, 3);
    if (dfd < 0)
        return tar_entry_fail(a, "dup", errno);
    int r = tar_resolve_dir(&a->res, a->link, tdlen, false, &tfd);
    if (r < 0) {
        close(dfd);
        return tar_entry_fail(a, "resolve hard link target of", -r);
    }
    tfd = fcntl(tfd, F_DUPFD_CLOEXEC, 3);
    if (tfd < 0) {
        r = errno;
        close(dfd);
        return tar_entry_fail(a, "dup", r);
    }
    if (linkat(tfd, tleaf, dfd, leaf, 0) != 0) {
        r = -errno;
        struct stat s1, s2;
        if (r == -EEXIST && fstatat(tfd, tleaf, &s1, AT_SYMLINK_NOFOLLOW) == 0 &&
            fstatat(dfd, leaf, &s2, AT_SYMLINK_NOFOLLOW) == 0 && s1.st_ino == s2.st_ino &&
            s1.st_dev == s2.st_dev) {
            r = 0; /* already that inode */
        } else if (r == -EEXIST) {
            r = tar_entry_clear(a, dfd, leaf);
            if (r == 0 && linkat(tfd, tleaf, dfd, leaf, 0) != 0)
                r = -errno;
        }
    }
    close(dfd);
    close(tfd);
    return r < 0 ? tar_entry_fail(a, "hard link", -r) : 0;
}

int
tar_entry_create(struct tar_apply *a, struct archive_entry *e, int pfd, const char *leaf)
{
    const char *hl = archive_entry_hardlink(e);
    if (!hl)
        hl = archive_entry_hardlink_utf8(e);
    if (hl)
        return make_hardlink(a, hl, pfd, leaf);
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        return make_file(a, e, pfd, leaf);
    case AE_IFDIR:
        return make_dir(a, e, pfd, leaf);
    case AE_IFLNK:
        return make_symlink(a, e, pfd, leaf);
    case AE_IFIFO:
        return make_node(a, e, pfd, leaf, NULL);
    case AE_IFCHR:
    case AE_IFBLK:
        tar_warn(a, "skipping device node %s: an ordinary user cannot create it", a->path);
        a->st.skipped++;
        return 0;
    default:
        tar_warn(a, "skipping %s: unsupported member type 0%o", a->path,
                 (unsigned)archive_entry_filetype(e));
        a->st.skipped++;
        return 0;
    }
}
