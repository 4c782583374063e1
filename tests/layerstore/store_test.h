/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared fixtures of the layerstore tests: a fresh repository in a temporary
 * directory, small file helpers and blob creation by content digest.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ud/base.h"
#include "ud/layerstore.h"

struct fx {
    char top[256];
    struct ud_store_paths paths;
    struct ud_store *s;
};

static inline char *
fx_path(const struct fx *f, const char *rel)
{
    char *p = ud_asprintf("%s/%s", f->top, rel);
    assert_non_null(p);
    return p;
}

static inline void
fx_write(const struct fx *f, const char *rel, const char *data)
{
    char *p = fx_path(f, rel);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(data, fp);
    fclose(fp);
    free(p);
}

static inline char *
fx_read(const struct fx *f, const char *rel)
{
    char *p = fx_path(f, rel);
    char *data = NULL;
    size_t len = 0;
    struct ud_error e = {0};
    int rc = ud_file_read(p, 1 << 20, &data, &len, &e);
    free(p);
    return rc == 0 ? data : NULL;
}

static inline char *
fx_readlink(const struct fx *f, const char *rel)
{
    char *p = fx_path(f, rel);
    char buf[4096];
    ssize_t n = readlink(p, buf, sizeof(buf) - 1);
    free(p);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return strdup(buf);
}

static inline bool
fx_exists(const struct fx *f, const char *rel)
{
    char *p = fx_path(f, rel);
    bool ok = ud_path_exists(p);
    free(p);
    return ok;
}

static inline void
fx_mkdir(const struct fx *f, const char *rel)
{
    char *p = fx_path(f, rel);
    assert_int_equal(ud_mkdir_p(p, 0755, NULL), 0);
    free(p);
}

static inline void
fx_symlink(const struct fx *f, const char *target, const char *rel)
{
    char *p = fx_path(f, rel);
    assert_int_equal(symlink(target, p), 0);
    free(p);
}

/* Write data as layers/sha256:<hex>; the digest goes to out (72 bytes). */
static inline void
fx_blob(const struct fx *f, const char *data, char out[80])
{
    char hex[65];
    assert_int_equal(ud_sha256_hex(data, strlen(data), hex, NULL), 0);
    snprintf(out, 80, "sha256:%s", hex);
    char rel[128];
    snprintf(rel, sizeof(rel), "layers/%s", out);
    fx_write(f, rel, data);
}

/* Number of entries in a directory (without . and ..), -1 if unreadable. */
static inline int
fx_count(const struct fx *f, const char *rel)
{
    char *p = fx_path(f, rel);
    DIR *d = opendir(p);
    free(p);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static inline int
fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->top, sizeof(f->top), "%s/udstore-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->top));
    f->paths.topdir = f->top;
    struct ud_error e = {0};
    assert_int_equal(ud_store_create(&f->paths, &e), 0);
    assert_int_equal(ud_store_open(&f->paths, &f->s, &e), 0);
    *state = f;
    return 0;
}

static inline int
fx_teardown(void **state)
{
    struct fx *f = *state;
    ud_store_free(f->s);
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", f->top, f->top);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", f->top);
    free(f);
    return 0;
}
