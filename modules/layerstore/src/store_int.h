/* SPDX-License-Identifier: Apache-2.0 */
/*
 * layerstore internals shared by the module's source files: the store
 * handle, name validation, temporary-object claims (a flock on a sibling
 * "<tmp>.lock" file marks a temporary directory as owned by a live process),
 * layer reference scanning and small JSON helpers.
 */
#pragma once
#ifndef UD_BUILDING_LAYERSTORE
#error "store_int.h is private to the layerstore module"
#endif

#include <stdbool.h>
#include <stddef.h>

#include "ud/base.h"
#include "ud/layerstore.h"

#define STORE_FILE_MAX ((size_t)64 << 20)
#define STORE_RAND_LEN 12

struct ud_store {
    struct ud_store_paths p; /* all members owned, absolute */
    char *lockpath;          /* <topdir>/.lock */
    int lockfd;              /* -1 when not held */
    int lockdepth;           /* re-entrancy count */
    bool lockexcl;
    char **own; /* temporary dirs this handle owns (skip in cleanup) */
};

/* Claim on a temporary object: an exclusive flock on "<path>.lock". */
struct tmp_claim {
    char *path;     /* the temporary directory (owned) */
    char *lockpath; /* "<path>.lock" (owned; allocated up front so that
                       dropping the claim never needs memory) */
    int fd;         /* lock file descriptor, -1 if none */
};

/* ---- store.c ---- */
int store_own_add(struct ud_store *s, const char *path, struct ud_error *err);
void store_own_del(struct ud_store *s, const char *path);
bool store_own_has(const struct ud_store *s, const char *path);

/* ---- util.c ---- */
bool store_plain_name_ok(const char *name);
int store_check_repo_tag(const char *repo, const char *tag, struct ud_error *err);
int store_tag_dir(const struct ud_store *s, const char *repo, const char *tag, char **repodir,
                  char **tagdir, struct ud_error *err);
bool store_is_tag_dir(const char *dir);
/* Claim path (create + flock "<path>.lock", non-blocking). */
int tmp_claim_take(const char *path, struct tmp_claim *c, struct ud_error *err);
/* Drop the claim: unlink "<path>.lock" and close. */
void tmp_claim_drop(struct tmp_claim *c);
/* Is the temporary directory path free (nobody holds its lock)? On true the
 * claim is taken and must be dropped by the caller. */
bool tmp_claim_try(const char *path, struct tmp_claim *c);
int store_tmp_name(const char *dir, const char *prefix, const char *base, const char *suffix,
                   char **out, struct ud_error *err);
/* Basenames of link targets of every symlink directly in dir (sorted). */
int store_dir_link_targets(const char *dir, char ***out, struct ud_error *err);
/* Every symlink under reposdir (recursively, hidden dirs included, except
 * the directory exclude): its name and its target's basename, sorted. */
int store_collect_refs(const struct ud_store *s, const char *exclude, char ***out,
                       struct ud_error *err);
bool store_strv_has_sorted(char *const *v, size_t n, const char *x);
/* Delete layers/<name> for each name that no symlink under reposdir names. */
int store_gc_layers(struct ud_store *s, char *const *names, bool force, struct ud_error *err);
/* rmdir dir and its parents while empty, stopping at stop (exclusive). */
void store_rmdir_parents(const char *dir, const char *stop);
bool store_dir_has_subdirs(const char *dir);
int store_write_empty(const char *path, struct ud_error *err);

/* Recursive removal that needs no ud_malloc (for abort paths). */
int store_rm_tree(const char *path);
/* fsync a directory after a rename into it; failures only logged. */
void store_fsync_dir(const char *dir);
