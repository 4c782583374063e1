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
/* How deep the walks of reposdir go (listing, reference scan, cleanup);
 * reposdir itself is depth 0. A tag directory lies one level below its
 * repository, so a repository name may have at most STORE_REPOS_DEPTH_MAX
 * - 1 components: anything deeper would be invisible to the listing, and
 * worse, its links would not keep its layers alive against rmi and its
 * temporaries would escape the cleanup count. */
#define STORE_REPOS_DEPTH_MAX 64
#define STORE_REPO_COMPONENTS_MAX (STORE_REPOS_DEPTH_MAX - 1)
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
    char *path;         /* the temporary directory (owned) */
    char *lockpath;     /* "<path>.lock" (owned; allocated up front so that
                           dropping the claim never needs memory) */
    int fd;             /* lock file descriptor, -1 if none */
    struct ud_store *s; /* set for an owner's claim, which is counted in the
                           size of the repository lock file; NULL for the
                           claims cleanup takes on leftovers */
};

/* ---- store.c ---- */
/* ud_store_lock(s, true) without waiting: UD_EBUSY when held elsewhere. */
int store_lock_try(struct ud_store *s, struct ud_error *err);
int store_own_add(struct ud_store *s, const char *path, struct ud_error *err);
void store_own_del(struct ud_store *s, const char *path);
bool store_own_has(const struct ud_store *s, const char *path);

/* ---- cleanup.c ---- */
/* The cleanup ud_store_open runs: nothing while the count of outstanding
 * temporaries is zero (a 1-byte lock file), else a scan under the
 * exclusive lock (skipped if nowait and the lock is busy). */
int store_cleanup_if_needed(struct ud_store *s, bool nowait, struct ud_error *err);
/* Add delta to the count of outstanding temporaries (the size of the
 * lock file minus one; 0 bytes: unknown), under the exclusive lock, taken
 * here if not held. Returns 1
 * when the lock file is not ours to write (opened read-only): nothing is
 * counted, and a crash of this command is cleaned up only by a scan that
 * another reason triggers. */
int store_tmp_count_add(struct ud_store *s, int delta, struct ud_error *err);

/* ---- util.c ---- */
bool store_plain_name_ok(const char *name);
int store_check_repo_tag(const char *repo, const char *tag, struct ud_error *err);
int store_tag_dir(const struct ud_store *s, const char *repo, const char *tag, char **repodir,
                  char **tagdir, struct ud_error *err);
bool store_is_tag_dir(const char *dir);
/* Claim path for a new temporary (create + flock "<path>.lock",
 * non-blocking) and count it (store_tmp_count_add). Under the exclusive
 * lock. */
int tmp_claim_take(struct ud_store *s, const char *path, struct tmp_claim *c, struct ud_error *err);
/* Drop the claim: uncount it if it is an owner's claim and the temporary
 * is gone (first, so that the count is never below the claims that
 * exist), unlink "<path>.lock", close. */
void tmp_claim_drop(struct tmp_claim *c);
/* Is the temporary directory path free (nobody holds its lock)? On true the
 * claim is taken and must be dropped by the caller. */
bool tmp_claim_try(const char *path, struct tmp_claim *c);
int store_tmp_name(const char *dir, const char *prefix, const char *base, const char *suffix,
                   char **out, struct ud_error *err);
/* The basename of the target of the symlink name in directory dfd (a
 * container name link: the id it names), trailing '/' ignored, read into
 * buf (size bytes) and pointing into it. NULL when name is not a symlink
 * or its target is empty or does not fit. */
const char *store_link_base_at(int dfd, const char *name, char *buf, size_t size);
/* Basenames of link targets of every symlink directly in dir (sorted). */
int store_dir_link_targets(const char *dir, char ***out, struct ud_error *err);
/* Every symlink under reposdir (recursively, hidden dirs included, except
 * the symlinks directly in the directory exclude; its subdirectories,
 * other repositories, are walked): its name and its target's basename,
 * sorted. */
int store_collect_refs(const struct ud_store *s, const char *exclude, char ***out,
                       struct ud_error *err);
bool store_strv_has_sorted(char *const *v, size_t n, const char *x);
/* Delete layers/<name> for each name that no symlink under reposdir names. */
int store_gc_layers(struct ud_store *s, char *const *names, bool force, struct ud_error *err);
/* rmdir dir and its parents while empty, stopping at stop (exclusive). */
void store_rmdir_parents(const char *dir, const char *stop);
bool store_dir_has_subdirs(const char *dir);
int store_write_empty(const char *path, struct ud_error *err);

/* Type (DT_*) of the entry name of directory dfd: d_type when the
 * filesystem gave one, else from fstatat (no link followed); DT_UNKNOWN if
 * the entry is gone. */
unsigned char store_dirent_type(int dfd, const char *name, unsigned char d_type);
/* Call fn for every entry of the open directory dfd except "." and "..",
 * with its type resolved as by store_dirent_type(), reading with
 * getdents64 into buf (size bytes, 8-byte aligned): no stat and no buffer
 * allocation per directory as opendir() has. Stops at the first non-zero
 * return of fn and returns it; a read error ends the listing like
 * readdir() does. STORE_DIRBUF is a good size. */
#define STORE_DIRBUF 32768
typedef int (*store_dir_fn)(void *ctx, int dfd, const char *name, unsigned char type);
int store_dir_each(int dfd, char *buf, size_t size, store_dir_fn fn, void *ctx);

/* Recursive removal that needs no ud_malloc (for abort paths). */
int store_rm_tree(const char *path);
/* fsync a directory after a rename into it; failures only logged. */
void store_fsync_dir(const char *dir);

/* ---- index_keep.c ---- */
/* Is the file at path a readable image index (a JSON object with a
 * "manifests" array)? For verify. */
bool store_index_valid(const char *path);
