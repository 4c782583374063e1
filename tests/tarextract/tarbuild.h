/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test support: build small layer archives with libarchive's writer (plain,
 * gzip or zstd; pax, GNU or ustar headers) and inspect extracted trees.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <ud/tarextract.h>

enum tb_filter { TB_NONE, TB_GZIP, TB_ZSTD };
enum tb_format { TB_PAX, TB_GNU, TB_USTAR };

struct tb;

struct tb *tb_new(const char *path, enum tb_filter filter, enum tb_format format);
void tb_file(struct tb *t, const char *name, const char *data, mode_t mode);
void tb_dir(struct tb *t, const char *name, mode_t mode);
void tb_symlink(struct tb *t, const char *name, const char *target);
void tb_hardlink(struct tb *t, const char *name, const char *target);
void tb_fifo(struct tb *t, const char *name);
void tb_dev(struct tb *t, const char *name, bool block);
void tb_close(struct tb *t);

/* A fresh temp directory "<tmp>/udtar-XXXXXX" holding root/ and outside/
 * (a sentinel sibling with one file, outside/secret = "secret"). */
struct tb_env {
    char dir[256];
    char root[300];
    char outside[300];
    char secret[320];
    char layer[300];
};
void tb_env_setup(struct tb_env *e);
void tb_env_teardown(struct tb_env *e);
/* root-relative helpers */
char *tb_path(const struct tb_env *e, const char *rel); /* static buffer */
bool tb_exists(const struct tb_env *e, const char *rel);
char *tb_read(const struct tb_env *e, const char *rel);  /* caller frees, NULL if absent */
mode_t tb_mode(const struct tb_env *e, const char *rel); /* lstat st_mode, 0 if absent */
/* The sentinel is untouched: only "secret", unchanged, one link. */
void tb_assert_outside_intact(const struct tb_env *e);
/* Collect warnings from ud_tar_layer_apply. */
struct tb_warns {
    int n;
    char last[512];
};
void tb_warn_cb(void *ctx, const char *msg);

/* One test's state for the extraction tests: the temporary tree, the
 * extraction flags, and the warnings and stats of the last apply. */
struct tb_ctx {
    struct tb_env env;
    unsigned flags; /* UD_TAR_F_*, from the test's prestate */
    struct tb_warns warns;
    struct ud_tar_stats st;
    int nlayer;
    char buf[1024]; /* scratch for path helpers */
};
/* cmocka setup/teardown: *state is a pointer to the flags on entry, the
 * context afterwards. */
int tb_ctx_setup(void **state);
int tb_ctx_teardown(void **state);
/* Start the next layer file ("<dir>/layerN.tar") and return its builder. */
struct tb *tb_ctx_layer(struct tb_ctx *c, enum tb_filter f);
/* Apply the current layer onto the root; fails the test on error. */
void tb_ctx_apply(struct tb_ctx *c);
