/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lexical path helpers: joining, absolutising, relative link targets and
 * mkdir -p. Nothing here resolves symlinks; the repository layout depends
 * on lexical relative links (reference section 2.2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ud/base.h"

char *
ud_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    if (la == 1 && a[0] == '/')
        return ud_asprintf("/%s", b);
    if (!*b)
        return ud_strndup(a, la);
    return ud_asprintf("%.*s/%s", (int)la, a, b);
}

/* Clean an absolute path in place: collapse "//", drop ".", apply "..". */
static void
path_clean(char *p)
{
    char *out = p;
    const char *in = p;
    while (*in) {
        while (*in == '/')
            in++;
        const char *seg = in;
        while (*in && *in != '/')
            in++;
        size_t len = (size_t)(in - seg);
        if (len == 0 || (len == 1 && seg[0] == '.'))
            continue;
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (out > p && *--out != '/')
                ;
            continue;
        }
        *out++ = '/';
        memmove(out, seg, len);
        out += len;
    }
    if (out == p)
        *out++ = '/';
    *out = '\0';
}

int
ud_path_absolute(const char *path, char **out, struct ud_error *err)
{
    char *res;
    if (path[0] == '/') {
        res = ud_strdup(path);
    } else {
        char *cwd = getcwd(NULL, 0);
        if (!cwd)
            return ud_error_set(err, UD_EIO, errno, "getcwd");
        res = ud_path_join(cwd, path);
        free(cwd);
    }
    if (!res)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    path_clean(res);
    *out = res;
    return 0;
}

int
ud_path_relative(const char *from_dir, const char *target, char **out, struct ud_error *err)
{
    cleanup_free char *from = NULL;
    cleanup_free char *to = NULL;
    if (from_dir[0] != '/' || target[0] != '/')
        return ud_error_set(err, UD_EINVAL, 0, "relative path needs absolute paths");
    from = ud_strdup(from_dir);
    to = ud_strdup(target);
    if (!from || !to)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    path_clean(from);
    path_clean(to);
    /* Longest common prefix ending at a component boundary. */
    size_t i = 0, common = 0;
    while (from[i] && to[i] && from[i] == to[i]) {
        if (from[i] == '/')
            common = i;
        i++;
    }
    if ((from[i] == '\0' && (to[i] == '/' || to[i] == '\0')) || (to[i] == '\0' && from[i] == '/'))
        common = i;
    size_t ups = 0;
    for (const char *p = from + common; *p; p++)
        if (*p == '/')
            ups++;
    if (strcmp(from, "/") == 0)
        ups = 0;
    const char *rest = to + common;
    while (*rest == '/')
        rest++;
    struct ud_buf b;
    ud_buf_init(&b, 0);
    int rc = 0;
    for (size_t k = 0; k < ups && rc == 0; k++)
        rc = ud_buf_append(&b, k + 1 < ups || *rest ? "../" : "..", k + 1 < ups || *rest ? 3 : 2,
                           err);
    if (rc == 0 && *rest)
        rc = ud_buf_append(&b, rest, strlen(rest), err);
    if (rc == 0 && b.len == 0)
        rc = ud_buf_append(&b, ".", 1, err);
    if (rc < 0) {
        ud_buf_fini(&b);
        return rc;
    }
    *out = ud_buf_steal(&b);
    return 0;
}

int
ud_mkdir_p(const char *path, mode_t mode, struct ud_error *err)
{
    /* The walk below starts at p + 1: an empty path has no byte there. */
    if (!path[0])
        return ud_error_set(err, UD_EINVAL, ENOENT, "mkdir: empty path");
    cleanup_free char *p = ud_strdup(path);
    if (!p)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    for (char *s = p + 1;; s++) {
        bool end = (*s == '\0');
        if (*s == '/' || end) {
            char saved = *s;
            *s = '\0';
            if (mkdir(p, mode) != 0 && errno != EEXIST)
                return ud_error_set(err, ud_error_from_errno(errno), errno, "mkdir %s", p);
            *s = saved;
        }
        if (end)
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return ud_error_set(err, UD_EEXIST, ENOTDIR, "mkdir %s", path);
    return 0;
}

bool
ud_path_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool
ud_path_is_symlink(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

bool
ud_path_is_regular(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool
ud_path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}
