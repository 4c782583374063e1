/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mount targets inside ROOT: resolving a container path the way the
 * container will see it (its symlinks taken relative to ROOT, earlier binds
 * taken into account). The engine module makes and records the missing
 * mountpoints (ud_engine_mountpoint_add).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rr_int.h"

#define MAX_LINKS 40

/* Host path backing container path cpath: the last bind covering it (a
 * later mount hides an earlier one), else root + cpath. */
static char *
backing_path(const char *root, const struct ud_bind *binds, size_t nbinds, const char *cpath,
             bool *via_bind)
{
    for (size_t i = nbinds; i-- > 0;) {
        if (binds[i].cont && ud_engine_path_covers(binds[i].cont, cpath)) {
            *via_bind = true;
            return ud_asprintf("%s%s", binds[i].host, cpath + strlen(binds[i].cont));
        }
    }
    *via_bind = false;
    return ud_asprintf("%s%s", root, cpath);
}

static int
path_push(char **buf, const char *comp, size_t n, struct ud_error *err)
{
    bool at_root = strcmp(*buf, "/") == 0;
    char *p = ud_asprintf("%s%s%.*s", at_root ? "" : *buf, "/", (int)n, comp);

    if (!p)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "resolve path");
    free(*buf);
    *buf = p;
    return 0;
}

/* The state of one resolution: the resolved prefix and what is left. */
struct walk {
    char *done; /* container path, symlink-free */
    char *rest; /* components still to walk */
    int links;
    bool exists;
    bool via_bind;
    mode_t mode;
};

/* Follow the symlink at backing: the rest becomes target + rest. */
static int
walk_link(struct walk *w, const char *backing, const char *after, struct ud_error *err)
{
    char target[PATH_MAX];
    ssize_t n = readlink(backing, target, sizeof target - 1);

    if (n < 0)
        return ud_error_set(err, UD_EIO, errno, "readlink %s", backing);
    target[n] = '\0';
    if (++w->links > MAX_LINKS)
        return ud_error_set(err, UD_EINVAL, ELOOP, "resolve %s", backing);
    char *rest = ud_asprintf("%s/%s", target, after);
    if (!rest)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "resolve path");
    if (target[0] == '/')
        w->done[1] = '\0'; /* done is at least "/" plus a component */
    else
        ud_engine_path_pop(w->done);
    free(w->rest);
    w->rest = rest;
    return 0;
}

/* One step: consume the next component of w->rest. *more false at the end. */
static int
walk_step(struct walk *w, const char *root, const struct ud_bind *binds, size_t nbinds, bool *more,
          struct ud_error *err)
{
    char *p = w->rest;
    cleanup_free char *backing = NULL;
    struct stat st;

    while (*p == '/')
        p++;
    size_t n = strcspn(p, "/");
    char *after = p + n;
    *more = *p != '\0';
    if (!*more)
        return 0;
    if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
        if (n == 2)
            ud_engine_path_pop(w->done);
        memmove(w->rest, after, strlen(after) + 1);
        return 0;
    }
    int rc = path_push(&w->done, p, n, err);
    if (rc < 0)
        return rc;
    memmove(w->rest, after, strlen(after) + 1);
    if (!w->exists)
        return 0; /* below a missing component everything is lexical */
    backing = backing_path(root, binds, nbinds, w->done, &w->via_bind);
    if (!backing)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "resolve path");
    if (lstat(backing, &st) < 0) {
        if (errno != ENOENT)
            return ud_error_set(err, UD_EIO, errno, "stat %s", backing);
        w->exists = false;
        return 0;
    }
    w->mode = st.st_mode;
    if (S_ISLNK(st.st_mode))
        return walk_link(w, backing, w->rest, err);
    if (!S_ISDIR(st.st_mode) && strspn(w->rest, "/") != strlen(w->rest))
        return ud_error_set(err, UD_EINVAL, ENOTDIR, "resolve %s", w->done);
    return 0;
}

/* The full resolution; *mode is the type found (0 when missing). */
int
rr_resolve(const char *root, const struct ud_bind *binds, size_t nbinds, const char *cpath,
           char **out, bool *exists, mode_t *mode, bool *via_bind, struct ud_error *err)
{
    struct walk w = {.exists = true, .mode = S_IFDIR};
    bool more = true;
    int rc = 0;

    w.done = ud_strdup("/");
    w.rest = ud_strdup(cpath);
    if (!w.done || !w.rest)
        rc = ud_error_set(err, UD_ENOMEM, ENOMEM, "resolve path");
    while (rc == 0 && more)
        rc = walk_step(&w, root, binds, nbinds, &more, err);
    if (rc == 0 && strcmp(w.done, "/") == 0)
        rc = ud_error_set(err, UD_EINVAL, 0, "invalid container volume path: %s", cpath);
    free(w.rest);
    if (rc < 0) {
        free(w.done);
        return rc;
    }
    *out = w.done;
    *exists = w.exists;
    *mode = w.exists ? w.mode : 0;
    *via_bind = w.via_bind;
    return 0;
}

int
ud_rr_path_resolve(const char *root, const struct ud_bind *binds, size_t nbinds, const char *cpath,
                   char **out, bool *exists, struct ud_error *err)
{
    mode_t mode;
    bool via;

    return rr_resolve(root, binds, nbinds, cpath, out, exists, &mode, &via, err);
}
