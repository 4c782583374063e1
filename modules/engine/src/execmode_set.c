/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Switching a container between execution modes (reference 5.6) for the P
 * and R modes this build has: undo of the old engine, restore of what
 * another udocker's R or F modes left in the container, prepare of the new
 * engine, then execmode and root.path written atomically.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"

/* nftw has no context argument: the walk's state (one walk at a time). */
static struct {
    const char *root;
    const char *orig;
    regex_t re;
    bool have_re;
    int failures;
    long converted;
} walk;

/* The container-absolute form of a host-absolute link target, or NULL
 * when the target does not point into this (or a moved) container. */
static const char *
strip_prefix(const char *t)
{
    size_t l;
    regmatch_t m[2];

    if (walk.orig && (l = strlen(walk.orig)) > 1 && strncmp(t, walk.orig, l) == 0 &&
        (t[l] == '/' || t[l] == '\0'))
        return t[l] ? t + l : "/";
    l = strlen(walk.root);
    if (strncmp(t, walk.root, l) == 0 && (t[l] == '/' || t[l] == '\0'))
        return t[l] ? t + l : "/";
    if (walk.have_re && regexec(&walk.re, t, 2, m, 0) == 0 && m[1].rm_so >= 0)
        return t[m[1].rm_so] ? t + m[1].rm_so : "/";
    return NULL;
}

static int
link_back(const char *path, const struct stat *st, int type, struct FTW *f)
{
    char t[PATH_MAX];
    ssize_t n;

    (void)f;
    if (type != FTW_SL || st->st_uid != getuid())
        return 0;
    n = readlink(path, t, sizeof(t) - 1);
    if (n <= 0)
        return 0;
    t[n] = '\0';
    const char *c = t[0] == '/' ? strip_prefix(t) : NULL;
    if (c == NULL)
        return 0;
    /* Replace the link in one rename, so a crash leaves either form. */
    cleanup_free char *tmp = ud_asprintf("%s.udtmp-%d", path, (int)getpid());
    if (tmp == NULL || symlink(c, tmp) != 0 || rename(tmp, path) != 0) {
        if (tmp)
            unlink(tmp);
        walk.failures++;
        return 0;
    }
    walk.converted++;
    return 0;
}

/* F modes of another udocker made absolute symlinks host-absolute: make
 * them container-absolute again. */
static int
symlinks_to_container(const struct ud_engine_ctr *c, struct ud_error *err)
{
    cleanup_free char *rp = ud_path_join(c->cdir, "root.path");
    cleanup_free char *orig = NULL;
    size_t len = 0;
    char real[PATH_MAX];

    if (rp == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (ud_file_read(rp, PATH_MAX, &orig, &len, NULL) == 0)
        while (len > 0 && (orig[len - 1] == '\n' || orig[len - 1] == '/'))
            orig[--len] = '\0';
    if (realpath(c->root, real) == NULL)
        return ud_error_set(err, UD_EIO, errno, "container root %s", c->root);
    memset(&walk, 0, sizeof(walk));
    walk.root = real;
    walk.orig = orig;
    walk.have_re = regcomp(&walk.re, "^/.*/containers/[^/]+/ROOT(/.*)?$", REG_EXTENDED) == 0;
    int rc = nftw(real, link_back, 32, FTW_PHYS | FTW_MOUNT);
    if (walk.have_re)
        regfree(&walk.re);
    if (rc != 0)
        return ud_error_set(err, UD_EIO, errno, "walk %s", real);
    if (walk.failures)
        return ud_error_set(err, UD_EIO, 0, "%d symbolic links could not be converted",
                            walk.failures);
    ud_log(UD_LOG_DEBUG, "setup: %ld symbolic links made container-absolute", walk.converted);
    return 0;
}

/* F2-F4 of another udocker patched the container's ld.so and kept the
 * original as ld.so.orig: put it back. */
static int
ldso_restore(const struct ud_engine_ctr *c, struct ud_error *err)
{
    cleanup_free char *o = ud_path_join(c->cdir, "ld.so.orig");
    cleanup_free char *pp = ud_path_join(c->cdir, "ld.so.path");
    cleanup_free char *p = NULL;
    size_t len = 0;

    if (o == NULL || pp == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (!ud_path_exists(o) || ud_file_read(pp, PATH_MAX, &p, &len, NULL) != 0)
        return 0;
    while (len > 0 && p[len - 1] == '\n')
        p[--len] = '\0';
    if (p[0] != '/' || strstr(p, "..") != NULL)
        return 0;
    cleanup_free char *dst = ud_path_join(c->root, p + 1);
    if (dst == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return ud_file_copy(o, dst, 0755, err);
}

/* Leave whatever an F mode of another udocker did (prev is F*). */
static int
leave_f(const struct ud_engine_ctr *c, const char *prev, bool force, struct ud_error *err)
{
    int rc;

    if ((strcmp(prev, "F3") == 0 || strcmp(prev, "F4") == 0) && !force)
        return ud_error_set(err, UD_EUNSUPP, 0,
                            "the executables of this container were patched for %s: convert it "
                            "back with the udocker that did it, or use --force",
                            prev);
    if ((rc = ldso_restore(c, err)) != 0 && !force)
        return rc;
    return symlinks_to_container(c, err);
}

static int
write_state(const struct ud_engine_ctr *c, const char *mode, struct ud_error *err)
{
    cleanup_free char *em = ud_path_join(c->cdir, "execmode");
    cleanup_free char *rp = ud_path_join(c->cdir, "root.path");
    char real[PATH_MAX];
    int rc;

    if (em == NULL || rp == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (realpath(c->root, real) == NULL)
        return ud_error_set(err, UD_EIO, errno, "container root %s", c->root);
    if ((rc = ud_file_write_atomic(em, mode, strlen(mode), 0644, err)) != 0)
        return rc;
    return ud_file_write_atomic(rp, real, strlen(real), 0644, err);
}

int
ud_execmode_set(const struct ud_engine *const *engines, const struct ud_engine_ctr *c,
                const char *new_mode, bool force, struct ud_error *err)
{
    const struct ud_engine *en, *pe;
    char prev[3] = "";
    int rc;

    if (!ud_execmode_valid(new_mode))
        return ud_error_set(err, UD_EINVAL, 0, "invalid execution mode: %s", new_mode);
    en = ud_engine_find(engines, new_mode);
    if (en == NULL)
        return ud_error_set(err, UD_EUNSUPP, 0, "execution mode %s is not available in this build",
                            new_mode);
    if ((rc = ud_execmode_get(c->cdir, prev, err)) != 0) {
        if (!force)
            return rc;
        prev[0] = '\0';
    }
    if (strcmp(prev, new_mode) == 0 && !force)
        return 0;
    pe = prev[0] ? ud_engine_find(engines, prev) : NULL;
    if (pe != NULL && pe->undo != NULL && (rc = pe->undo(c, err)) != 0 && !force)
        return rc;
    if ((rc = ud_filebind_restore(c, err)) != 0 && !force)
        return rc;
    if (prev[0] == 'F' || force)
        if ((rc = leave_f(c, prev, force, err)) != 0 && !force)
            return rc;
    ud_error_clear(err);
    if (en->prepare != NULL && (rc = en->prepare(c, err)) != 0)
        return rc;
    return write_state(c, new_mode, err);
}
