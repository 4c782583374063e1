/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening, creating and locking a repository, and the cleanup of what
 * crashed commands left behind (temporary tags and containers, half-deleted
 * objects, tags renamed aside during a replacement).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

static int
fill_paths(const struct ud_store_paths *in, struct ud_store_paths *out, struct ud_error *err)
{
    static const char *const sub[] = {"bin", "lib", "doc", "repos", "layers", "containers"};
    const char *given[6];
    const char **dst[6];
    char *top = NULL;

    memset(out, 0, sizeof(*out));
    if (!in || !in->topdir || !in->topdir[0])
        return ud_error_set(err, UD_EINVAL, 0, "repository directory not set");
    given[0] = in->bindir, given[1] = in->libdir, given[2] = in->docdir;
    given[3] = in->reposdir, given[4] = in->layersdir, given[5] = in->containersdir;
    dst[0] = &out->bindir, dst[1] = &out->libdir, dst[2] = &out->docdir;
    dst[3] = &out->reposdir, dst[4] = &out->layersdir, dst[5] = &out->containersdir;
    int rc = ud_path_absolute(in->topdir, &top, err);
    if (rc < 0)
        return rc;
    out->topdir = top;
    for (size_t i = 0; i < 6; i++) {
        char *v = NULL;
        if (given[i] && given[i][0]) {
            rc = ud_path_absolute(given[i], &v, err);
            if (rc < 0)
                goto fail;
        } else if (!(v = ud_path_join(top, sub[i]))) {
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
            goto fail;
        }
        *dst[i] = v;
    }
    return 0;
fail:
    free((char *)out->topdir);
    for (size_t i = 0; i < 6; i++)
        free((char *)*dst[i]);
    memset(out, 0, sizeof(*out));
    return rc;
}

static void
free_paths(struct ud_store_paths *p)
{
    free((char *)p->topdir);
    free((char *)p->bindir);
    free((char *)p->libdir);
    free((char *)p->docdir);
    free((char *)p->reposdir);
    free((char *)p->layersdir);
    free((char *)p->containersdir);
    memset(p, 0, sizeof(*p));
}

static bool
paths_are_repo(const struct ud_store_paths *p)
{
    return ud_path_is_dir(p->reposdir) && ud_path_is_dir(p->layersdir) &&
           ud_path_is_dir(p->containersdir) && ud_path_is_dir(p->bindir) &&
           ud_path_is_dir(p->libdir);
}

bool
ud_store_is_repo(const struct ud_store_paths *paths)
{
    struct ud_store_paths p;
    if (fill_paths(paths, &p, NULL) < 0)
        return false;
    bool ok = paths_are_repo(&p);
    free_paths(&p);
    return ok;
}

int
ud_store_create(const struct ud_store_paths *paths, struct ud_error *err)
{
    struct ud_store_paths p;
    int rc = fill_paths(paths, &p, err);
    if (rc < 0)
        return rc;
    const char *dirs[] = {p.topdir,   p.bindir,    p.libdir,       p.docdir,
                          p.reposdir, p.layersdir, p.containersdir};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && rc == 0; i++)
        rc = ud_mkdir_p(dirs[i], 0755, err);
    free_paths(&p);
    return rc;
}

int
ud_store_open_flags(const struct ud_store_paths *paths, unsigned flags, struct ud_store **out,
                    struct ud_error *err)
{
    struct ud_store *s = ud_calloc(1, sizeof(*s));
    if (!s)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    s->lockfd = -1;
    int rc = fill_paths(paths, &s->p, err);
    if (rc < 0) {
        free(s);
        return rc;
    }
    if (!paths_are_repo(&s->p)) {
        rc = ud_error_set(err, UD_ENOENT, 0, "invalid udocker repository: %s", s->p.topdir);
        ud_store_free(s);
        return rc;
    }
    if (!(s->lockpath = ud_path_join(s->p.topdir, ".lock"))) {
        ud_store_free(s);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    struct ud_error cerr = {0};
    if (store_cleanup_if_needed(s, flags & UD_STORE_OPEN_NOWAIT, &cerr) < 0) {
        if (cerr.code == UD_ENOMEM) {
            ud_store_free(s);
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        }
        ud_log(UD_LOG_DEBUG, "repository cleanup: %s", cerr.msg);
    }
    *out = s;
    return 0;
}

int
ud_store_open(const struct ud_store_paths *paths, struct ud_store **out, struct ud_error *err)
{
    return ud_store_open_flags(paths, 0, out, err);
}

void
ud_store_free(struct ud_store *s)
{
    if (!s)
        return;
    if (s->lockfd >= 0)
        ud_lock_release(s->lockfd);
    free_paths(&s->p);
    free(s->lockpath);
    ud_strv_free(s->own);
    free(s);
}

const struct ud_store_paths *
ud_store_get_paths(const struct ud_store *s)
{
    return &s->p;
}

int
ud_store_lock(struct ud_store *s, bool exclusive, struct ud_error *err)
{
    if (s->lockdepth > 0) {
        /* Re-entrant: upgrading a shared hold is not supported by flock
         * without a window, so a shared holder asking for exclusive is a
         * programming error we report instead of deadlocking. */
        if (exclusive && !s->lockexcl)
            return ud_error_set(err, UD_EBUSY, 0, "repository lock held shared");
        s->lockdepth++;
        return 0;
    }
    int fd = -1;
    int rc = ud_lock_acquire(s->lockpath, exclusive, true, &fd, err);
    if (rc < 0)
        return rc;
    s->lockfd = fd;
    s->lockexcl = exclusive;
    s->lockdepth = 1;
    return 0;
}

int
store_lock_try(struct ud_store *s, struct ud_error *err)
{
    if (s->lockdepth > 0)
        return ud_store_lock(s, true, err);
    int fd = -1;
    int rc = ud_lock_acquire(s->lockpath, true, false, &fd, err);
    if (rc < 0)
        return rc;
    s->lockfd = fd;
    s->lockexcl = true;
    s->lockdepth = 1;
    return 0;
}

void
ud_store_unlock(struct ud_store *s)
{
    if (s->lockdepth <= 0)
        return;
    if (--s->lockdepth == 0) {
        ud_lock_release(s->lockfd);
        s->lockfd = -1;
    }
}

int
store_own_add(struct ud_store *s, const char *path, struct ud_error *err)
{
    return ud_strv_push(&s->own, path, err);
}

void
store_own_del(struct ud_store *s, const char *path)
{
    size_t n = ud_strv_len(s->own);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s->own[i], path) == 0) {
            free(s->own[i]);
            memmove(&s->own[i], &s->own[i + 1], (n - i) * sizeof(char *));
            return;
        }
    }
}

bool
store_own_has(const struct ud_store *s, const char *path)
{
    for (size_t i = 0; s->own && s->own[i]; i++)
        if (strcmp(s->own[i], path) == 0)
            return true;
    return false;
}
