/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test support: archive writer wrappers and tree inspection helpers for the
 * tarextract tests (see tarbuild.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <ud/base.h>

#include "tarbuild.h"

struct tb {
    struct archive *a;
};

struct tb *
tb_new(const char *path, enum tb_filter filter, enum tb_format format)
{
    struct tb *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->a = archive_write_new();
    assert_non_null(t->a);
    if (filter == TB_GZIP)
        assert_int_equal(archive_write_add_filter_gzip(t->a), ARCHIVE_OK);
    else if (filter == TB_ZSTD)
        assert_int_equal(archive_write_add_filter_zstd(t->a), ARCHIVE_OK);
    if (format == TB_PAX)
        assert_int_equal(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
    else if (format == TB_GNU)
        assert_int_equal(archive_write_set_format_gnutar(t->a), ARCHIVE_OK);
    else
        assert_int_equal(archive_write_set_format_ustar(t->a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(t->a, path), ARCHIVE_OK);
    return t;
}

static void
put(struct tb *t, const char *name, unsigned type, mode_t mode, const char *data, const char *sym,
    const char *hard, dev_t rdev)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_mtime(e, 1000000000, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    size_t len = data ? strlen(data) : 0;
    archive_entry_set_size(e, (la_int64_t)len);
    if (sym)
        archive_entry_copy_symlink(e, sym);
    if (hard) {
        archive_entry_copy_hardlink(e, hard);
        archive_entry_set_size(e, 0);
        len = 0;
    }
    if (rdev)
        archive_entry_set_rdev(e, rdev);
    int r = archive_write_header(t->a, e);
    if (r != ARCHIVE_OK)
        fail_msg("write header %s: %s", name, archive_error_string(t->a));
    if (len)
        assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
    archive_entry_free(e);
}

void
tb_file(struct tb *t, const char *name, const char *data, mode_t mode)
{
    put(t, name, AE_IFREG, mode, data ? data : "", NULL, NULL, 0);
}

void
tb_dir(struct tb *t, const char *name, mode_t mode)
{
    put(t, name, AE_IFDIR, mode, NULL, NULL, NULL, 0);
}

void
tb_symlink(struct tb *t, const char *name, const char *target)
{
    put(t, name, AE_IFLNK, 0777, NULL, target, NULL, 0);
}

void
tb_hardlink(struct tb *t, const char *name, const char *target)
{
    put(t, name, AE_IFREG, 0644, NULL, NULL, target, 0);
}

void
tb_fifo(struct tb *t, const char *name)
{
    put(t, name, AE_IFIFO, 0644, NULL, NULL, NULL, 0);
}

void
tb_dev(struct tb *t, const char *name, bool block)
{
    put(t, name, block ? AE_IFBLK : AE_IFCHR, 0660, NULL, NULL, NULL, makedev(1, 3));
}

void
tb_close(struct tb *t)
{
    assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
    archive_write_free(t->a);
    free(t);
}

void
tb_env_setup(struct tb_env *e)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(e->dir, sizeof(e->dir), "%s/udtar-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->root, sizeof(e->root), "%s/root", e->dir);
    snprintf(e->outside, sizeof(e->outside), "%s/outside", e->dir);
    snprintf(e->secret, sizeof(e->secret), "%s/secret", e->outside);
    snprintf(e->layer, sizeof(e->layer), "%s/layer.tar", e->dir);
    assert_int_equal(mkdir(e->root, 0755), 0);
    assert_int_equal(mkdir(e->outside, 0755), 0);
    FILE *f = fopen(e->secret, "w");
    assert_non_null(f);
    fputs("secret", f);
    fclose(f);
}

void
tb_env_teardown(struct tb_env *e)
{
    struct ud_error err;
    assert_int_equal(ud_rm_rf(e->dir, &err), 0);
}

char *
tb_path(const struct tb_env *e, const char *rel)
{
    static char buf[8192];
    snprintf(buf, sizeof(buf), "%s/%s", e->root, rel);
    return buf;
}

bool
tb_exists(const struct tb_env *e, const char *rel)
{
    struct stat st;
    return lstat(tb_path(e, rel), &st) == 0;
}

mode_t
tb_mode(const struct tb_env *e, const char *rel)
{
    struct stat st;
    return lstat(tb_path(e, rel), &st) == 0 ? st.st_mode : 0;
}

char *
tb_read(const struct tb_env *e, const char *rel)
{
    FILE *f = fopen(tb_path(e, rel), "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

void
tb_assert_outside_intact(const struct tb_env *e)
{
    DIR *d = opendir(e->outside);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strcmp(de->d_name, "secret") != 0)
            fail_msg("unexpected %s/%s", e->outside, de->d_name);
        n++;
    }
    closedir(d);
    assert_int_equal(n, 1);
    struct stat st;
    assert_int_equal(lstat(e->secret, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_nlink, 1);
    FILE *f = fopen(e->secret, "r");
    assert_non_null(f);
    char buf[64] = {0};
    size_t n2 = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    assert_int_equal(n2, 6);
    assert_string_equal(buf, "secret");
}

void
tb_warn_cb(void *ctx, const char *msg)
{
    struct tb_warns *w = ctx;
    w->n++;
    snprintf(w->last, sizeof(w->last), "%s", msg);
    assert_null(strchr(msg, '\n'));
}

int
tb_ctx_setup(void **state)
{
    struct tb_ctx *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->flags = *(unsigned *)*state;
    tb_env_setup(&c->env);
    umask(022);
    *state = c;
    return 0;
}

int
tb_ctx_teardown(void **state)
{
    struct tb_ctx *c = *state;
    tb_env_teardown(&c->env);
    free(c);
    return 0;
}

struct tb *
tb_ctx_layer(struct tb_ctx *c, enum tb_filter f)
{
    snprintf(c->env.layer, sizeof(c->env.layer), "%s/layer%d.tar", c->env.dir, ++c->nlayer);
    return tb_new(c->env.layer, f, TB_PAX);
}

void
tb_ctx_apply(struct tb_ctx *c)
{
    struct ud_tar_options o = {tb_warn_cb, &c->warns, c->flags};
    struct ud_error err = {0};
    memset(&c->st, 0, sizeof(c->st));
    int rc = ud_tar_layer_apply(c->env.root, c->env.layer, &o, &c->st, &err);
    if (rc != 0)
        fail_msg("apply: %s", err.msg);
}
