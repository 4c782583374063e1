/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared fixtures of the image-archive tests: a fresh repository in a
 * temporary directory, and an archive builder (the module's own tar writer
 * into an unlinked temporary file) with layouts made by hand the way
 * docker, skopeo and OCI tools write them.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "archive_int.h"
#include "ud/base.h"
#include "ud/image-archive.h"
#include "ud/layerstore.h"

struct fx {
    char top[256];
    struct ud_store_paths paths;
    struct ud_store *s;
};

static inline void
fx_open(struct fx *f)
{
    struct ud_error e = {0};
    snprintf(f->top, sizeof(f->top), "/tmp/ud-ia-test.XXXXXX");
    assert_non_null(mkdtemp(f->top));
    f->paths = (struct ud_store_paths){.topdir = f->top};
    assert_int_equal(ud_store_create(&f->paths, &e), 0);
    assert_int_equal(ud_store_open(&f->paths, &f->s, &e), 0);
}

static inline void
fx_close(struct fx *f)
{
    struct ud_error e = {0};
    ud_store_free(f->s);
    f->s = NULL;
    assert_int_equal(ud_rm_rf(f->top, &e), 0);
}

/* Number of entries in a directory of the repository (dot files too). */
static inline int
fx_count(const struct fx *f, const char *sub)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", f->top, sub);
    DIR *d = opendir(p);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, ".lock"))
            n++;
    if (d)
        closedir(d);
    return n;
}

/* The repository holds nothing: no image, no layer, no container. */
static inline void
fx_assert_empty(const struct fx *f)
{
    assert_int_equal(fx_count(f, "repos"), 0);
    assert_int_equal(fx_count(f, "layers"), 0);
    assert_int_equal(fx_count(f, "containers"), 0);
}

/* --- archive builder ------------------------------------------------ */

struct tb {
    int fd;
    struct ar_writer w;
};

static inline void
tb_open(struct tb *t)
{
    struct ud_error e = {0};
    char tmpl[] = "/tmp/ud-ia-tar.XXXXXX";
    t->fd = mkstemp(tmpl);
    assert_true(t->fd >= 0);
    unlink(tmpl);
    assert_int_equal(ar_writer_open(&t->w, t->fd, &e), 0);
}

static inline void
tb_file(struct tb *t, const char *name, const void *p, size_t n)
{
    struct ud_error e = {0};
    assert_int_equal(ar_writer_file_mem(&t->w, name, p, n, &e), 0);
}

static inline void
tb_str(struct tb *t, const char *name, const char *s)
{
    tb_file(t, name, s, strlen(s));
}

static inline void
tb_link(struct tb *t, const char *name, const char *target, bool hard)
{
    struct ud_error e = {0};
    struct ar_header h = {.name = name, .link = target, .type = hard ? '1' : '2', .mode = 0777};
    assert_int_equal(ar_writer_header(&t->w, &h, &e), 0);
}

static inline void
tb_dir(struct tb *t, const char *name)
{
    struct ud_error e = {0};
    struct ar_header h = {.name = name, .type = '5', .mode = 0755};
    assert_int_equal(ar_writer_header(&t->w, &h, &e), 0);
}

/* Finish and rewind: the fd is ready to be read. */
static inline int
tb_finish(struct tb *t)
{
    struct ud_error e = {0};
    assert_int_equal(ar_writer_finish(&t->w, &e), 0);
    ar_writer_close(&t->w);
    assert_int_equal(lseek(t->fd, 0, SEEK_SET), 0);
    return t->fd;
}

/* Without the end-of-archive marker (a truncated archive). */
static inline int
tb_finish_unterminated(struct tb *t)
{
    struct ud_error e = {0};
    assert_int_equal(ar_writer_flush(&t->w, &e), 0);
    ar_writer_close(&t->w);
    assert_int_equal(lseek(t->fd, 0, SEEK_SET), 0);
    return t->fd;
}

static inline void
sha256_of(const void *p, size_t n, char digest[72])
{
    char hex[65];
    struct ud_error e = {0};
    assert_int_equal(ud_sha256_hex(p, n, hex, &e), 0);
    snprintf(digest, 72, "sha256:%s", hex);
}

/* A small but real layer: a tar holding one file. */
static inline char *
make_layer(const char *fname, const char *content, size_t *len)
{
    struct tb t;
    tb_open(&t);
    tb_str(&t, fname, content);
    int fd = tb_finish(&t);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char *buf = malloc((size_t)st.st_size);
    assert_non_null(buf);
    assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

/* A Docker-ish config listing the diff_ids of the layers. */
static inline char *
make_config(const char *const *diff_ids, size_t n, const char *salt)
{
    char ids[4096] = "";
    size_t off = 0;
    for (size_t i = 0; i < n && off < sizeof(ids); i++)
        off +=
            (size_t)snprintf(ids + off, sizeof(ids) - off, "%s\"%s\"", i ? "," : "", diff_ids[i]);
    char *s =
        ud_asprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]"
                    "},\"salt\":\"%s\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}",
                    salt, ids);
    assert_non_null(s);
    return s;
}
