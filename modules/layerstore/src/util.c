/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared inside layerstore: repository and tag name checks, the
 * claims on temporary directories (flock on "<dir>.lock"), the scan of
 * reposdir for symlinks that keep layer files alive, and layer garbage
 * collection under those references.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

bool
store_plain_name_ok(const char *name)
{
    return name && name[0] && !strchr(name, '/') && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0 && strlen(name) <= 255;
}

int
store_check_repo_tag(const char *repo, const char *tag, struct ud_error *err)
{
    if (!repo || !tag || !repo[0] || !tag[0])
        return ud_error_set(err, UD_EINVAL, 0, "invalid image name");
    if (tag[0] == '.' || strchr(tag, '/') || strlen(tag) > 200)
        return ud_error_set(err, UD_EINVAL, 0, "invalid image tag: %s", tag);
    if (repo[0] == '/' || strlen(repo) > 4096)
        return ud_error_set(err, UD_EINVAL, 0, "invalid image repository: %s", repo);
    /* Every component non-empty and not hidden: hidden names are ours. */
    int ncomp = 0;
    for (const char *c = repo; *c;) {
        const char *e = strchrnul(c, '/');
        if (e == c || *c == '.' || e - c > 200 || ++ncomp > STORE_REPO_COMPONENTS_MAX)
            return ud_error_set(err, UD_EINVAL, 0, "invalid image repository: %s", repo);
        c = *e ? e + 1 : e;
        if (*e && !*c)
            return ud_error_set(err, UD_EINVAL, 0, "invalid image repository: %s", repo);
    }
    return 0;
}

int
store_tag_dir(const struct ud_store *s, const char *repo, const char *tag, char **repodir,
              char **tagdir, struct ud_error *err)
{
    int rc = store_check_repo_tag(repo, tag, err);
    if (rc < 0)
        return rc;
    char *r = ud_path_join(s->p.reposdir, repo);
    char *t = r ? ud_path_join(r, tag) : NULL;
    if (!t) {
        free(r);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    if (repodir)
        *repodir = r;
    else
        free(r);
    *tagdir = t;
    return 0;
}

bool
store_is_tag_dir(const char *dir)
{
    struct stat st;
    char *tagf = ud_path_join(dir, "TAG");
    bool ok = tagf && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && lstat(tagf, &st) == 0 &&
              S_ISREG(st.st_mode);
    free(tagf);
    return ok;
}

static char *
lock_name(const char *path)
{
    return ud_asprintf("%s.lock", path);
}

static int
claim_lock(const char *path, struct tmp_claim *c, struct ud_error *err)
{
    c->path = NULL;
    c->lockpath = NULL;
    c->fd = -1;
    c->s = NULL;
    cleanup_free char *lp = lock_name(path);
    cleanup_free char *dup = ud_strdup(path);
    if (!lp || !dup)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "create %s", lp);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        return ud_error_set(err, UD_EBUSY, e, "lock %s", lp);
    }
    c->path = ud_steal(&dup);
    c->lockpath = ud_steal(&lp);
    c->fd = fd;
    return 0;
}

int
tmp_claim_take(struct ud_store *s, const char *path, struct tmp_claim *c, struct ud_error *err)
{
    /* Counted before it exists: the count may exceed the claims (one
     * more scan) but never fall below them. */
    int counted = store_tmp_count_add(s, 1, err);
    if (counted < 0)
        return counted;
    int rc = claim_lock(path, c, err);
    if (rc < 0 && counted == 0)
        (void)store_tmp_count_add(s, -1, NULL);
    if (rc == 0 && counted == 0)
        c->s = s;
    return rc;
}

bool
tmp_claim_try(const char *path, struct tmp_claim *c)
{
    return claim_lock(path, c, NULL) == 0;
}

void
tmp_claim_drop(struct tmp_claim *c)
{
    /* A temporary its owner failed to remove stays counted, for the next
     * open's scan to find. */
    struct stat st;
    if (c->s && c->fd >= 0 && c->path && lstat(c->path, &st) < 0 && errno == ENOENT)
        (void)store_tmp_count_add(c->s, -1, NULL);
    c->s = NULL;
    if (c->lockpath)
        (void)unlink(c->lockpath);
    if (c->fd >= 0)
        close(c->fd);
    free(c->path);
    free(c->lockpath);
    c->path = NULL;
    c->lockpath = NULL;
    c->fd = -1;
}

int
store_tmp_name(const char *dir, const char *prefix, const char *base, const char *suffix,
               char **out, struct ud_error *err)
{
    char rnd[STORE_RAND_LEN + 1];
    int rc = ud_random_hex(rnd, STORE_RAND_LEN, err);
    if (rc < 0)
        return rc;
    char *p = ud_asprintf("%s/%s%s%s%s", dir, prefix, base, suffix, rnd);
    if (!p)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *out = p;
    return 0;
}

static const char *
base_of(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

const char *
store_link_base_at(int dfd, const char *name, char *buf, size_t size)
{
    ssize_t n = readlinkat(dfd, name, buf, size - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    return base_of(buf);
}

/* readlinkat into a heap string. NULL with *gone set when the entry is no
 * longer a link (removed since it was listed), else NULL means ENOMEM. */
static char *
read_link_at(int dfd, const char *name, bool *gone)
{
    size_t cap = 256;
    *gone = false;
    for (;;) {
        char *buf = ud_malloc(cap);
        if (!buf)
            return NULL;
        ssize_t n = readlinkat(dfd, name, buf, cap);
        if (n < 0) {
            *gone = errno == ENOENT || errno == EINVAL;
            free(buf);
            return NULL;
        }
        if ((size_t)n < cap) {
            buf[n] = '\0';
            return buf;
        }
        free(buf);
        if (cap > 65536)
            return NULL;
        cap *= 4;
    }
}

int
store_dir_link_targets(const char *dir, char ***out, struct ud_error *err)
{
    cleanup_dir DIR *d = opendir(dir);
    cleanup_strv char **v = NULL;
    if (!d)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (store_dirent_type(dirfd(d), de->d_name, de->d_type) != DT_LNK)
            continue;
        bool gone;
        cleanup_free char *t = read_link_at(dirfd(d), de->d_name, &gone);
        if (!t && gone)
            continue;
        if (!t)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        int rc = ud_strv_push(&v, base_of(t), err);
        if (rc < 0)
            return rc;
    }
    if (v)
        ud_strv_sort(v);
    *out = ud_steal(&v);
    return 0;
}

struct refwalk {
    const char *exclude;
    char ***v;
    struct ud_error *err;
};

static int
collect_in(int dfd, const char *path, int depth, struct refwalk *w)
{
    if (depth > STORE_REPOS_DEPTH_MAX) {
        close(dfd);
        return 0;
    }
    /* The excluded tag directory's own links do not count, but its
     * subdirectories are other repositories ("a:b" next to "a/b:c"). */
    bool excluded = w->exclude && strcmp(path, w->exclude) == 0;
    cleanup_dir DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        unsigned char type = store_dirent_type(dirfd(d), de->d_name, de->d_type);
        int rc = 0;
        if (type == DT_LNK && !excluded) {
            bool gone;
            cleanup_free char *t = read_link_at(dirfd(d), de->d_name, &gone);
            if (!t && gone)
                continue;
            if (!t)
                return ud_error_set(w->err, UD_ENOMEM, 0, "out of memory");
            rc = ud_strv_push(w->v, de->d_name, w->err);
            if (rc == 0 && strcmp(base_of(t), de->d_name) != 0)
                rc = ud_strv_push(w->v, base_of(t), w->err);
        } else if (type == DT_DIR) {
            cleanup_free char *sub = ud_path_join(path, de->d_name);
            if (!sub)
                return ud_error_set(w->err, UD_ENOMEM, 0, "out of memory");
            int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0)
                rc = collect_in(fd, sub, depth + 1, w);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
store_collect_refs(const struct ud_store *s, const char *exclude, char ***out, struct ud_error *err)
{
    cleanup_strv char **v = NULL;
    struct refwalk w = {exclude, &v, err};
    int fd = open(s->p.reposdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", s->p.reposdir);
    int rc = collect_in(fd, s->p.reposdir, 0, &w);
    if (rc < 0)
        return rc;
    if (v)
        ud_strv_sort(v);
    *out = ud_steal(&v);
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool
store_strv_has_sorted(char *const *v, size_t n, const char *x)
{
    if (!v || n == 0)
        return false;
    return bsearch(&x, v, n, sizeof(char *), cmp_str) != NULL;
}

int
store_gc_layers(struct ud_store *s, char *const *names, bool force, struct ud_error *err)
{
    if (!names || !names[0])
        return 0;
    cleanup_strv char **refs = NULL;
    int rc = store_collect_refs(s, NULL, &refs, err);
    if (rc < 0)
        return rc;
    size_t nrefs = ud_strv_len(refs);
    int first = 0;
    for (size_t i = 0; names[i]; i++) {
        if (!store_plain_name_ok(names[i]) || store_strv_has_sorted(refs, nrefs, names[i]))
            continue;
        cleanup_free char *lp = ud_path_join(s->p.layersdir, names[i]);
        if (!lp)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        if (unlink(lp) < 0 && errno != ENOENT && !force && first == 0)
            first =
                ud_error_set(err, ud_error_from_errno(errno), errno, "removing layer %s", names[i]);
    }
    return first;
}

void
store_rmdir_parents(const char *dir, const char *stop)
{
    cleanup_free char *d = ud_strdup(dir);
    size_t sl = strlen(stop);
    while (d && strlen(d) > sl && strncmp(d, stop, sl) == 0 && d[sl] == '/') {
        if (rmdir(d) < 0)
            return;
        char *slash = strrchr(d, '/');
        if (!slash)
            return;
        *slash = '\0';
    }
}

bool
store_dir_has_subdirs(const char *dir)
{
    cleanup_dir DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (store_dirent_type(dirfd(d), de->d_name, de->d_type) == DT_DIR)
            return true;
    }
    return false;
}

int
store_write_empty(const char *path, struct ud_error *err)
{
    return ud_file_write_atomic(path, "", 0, 0644, err);
}

/* Empty the directory dfd (owned) without allocating from ud_malloc, so an
 * abort after an allocation failure still leaves nothing behind. Never
 * follows symlinks and never crosses into another filesystem. */
static int
clear_dir_fd(int dfd, dev_t dev, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (!S_ISDIR(st.st_mode)) {
            if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                rc = -1;
            continue;
        }
        if (st.st_dev != dev || depth > 4096) {
            rc = -1;
            continue;
        }
        (void)fchmodat(dirfd(d), de->d_name, (st.st_mode | 0700) & 07777, 0);
        int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 || clear_dir_fd(sub, dev, depth + 1) < 0 ||
            unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int
store_rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    (void)chmod(path, (st.st_mode | 0700) & 07777);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || clear_dir_fd(fd, st.st_dev, 0) < 0)
        return -1;
    return rmdir(path);
}

void
store_fsync_dir(const char *dir)
{
    /* Durability of a rename that already happened: a failure here cannot
     * be undone, so it is logged, not returned. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        ud_log(UD_LOG_DEBUG, "fsync %s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
}

unsigned char
store_dirent_type(int dfd, const char *name, unsigned char d_type)
{
    /* Most filesystems fill d_type; only the rest (DT_UNKNOWN) cost a
     * stat. An entry that vanished in between reads as DT_UNKNOWN. */
    if (d_type != DT_UNKNOWN)
        return d_type;
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return DT_UNKNOWN;
    return IFTODT(st.st_mode);
}

int
store_dir_each(int dfd, char *buf, size_t size, store_dir_fn fn, void *ctx)
{
    for (;;) {
        ssize_t n = getdents64(dfd, buf, size);
        if (n <= 0)
            return 0; /* end, or an error readdir() would also end on */
        for (ssize_t off = 0; off < n;) {
            const struct dirent64 *de = (const struct dirent64 *)(void *)(buf + off);
            off += de->d_reclen;
            const char *nm = de->d_name;
            if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
                continue;
            int rc = fn(ctx, dfd, nm, store_dirent_type(dfd, nm, de->d_type));
            if (rc)
                return rc;
        }
    }
}
