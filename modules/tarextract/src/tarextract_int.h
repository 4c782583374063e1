/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private interfaces of the tarextract module: the decompressing input
 * stream that feeds libarchive, the beneath-the-root path resolver with its
 * parent-fd cache, the set of paths a layer has written, and tree removal.
 */
#ifndef UD_BUILDING_TAREXTRACT
#error "tarextract_int.h is private to the tarextract module"
#endif
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ud/base.h>
#include <ud/tarextract.h>

struct archive;

/* Longest member path we apply: the kernel refuses longer path arguments. */
#define TAR_PATH_MAX PATH_MAX

/* ---- detect.c ---- */

/* Compression of the open file fd from its first bytes (read with pread, so
 * the file offset stays where it was). 0, or -errno when it can't be read. */
int tar_compression_detect_fd(int fd, enum ud_tar_compression *out) UD_WUR;

/* ---- stream.c: the layer file as a libarchive reader ---- */

struct tar_stream;

/* Open path, detect its compression and return a libarchive reader (tar
 * format only) fed by a decompressor, in a helper thread unless
 * UD_TAR_F_SINGLE_THREAD. *out owns the archive; free with
 * tar_stream_close(). */
int tar_stream_open(const char *path, unsigned flags, struct tar_stream **out,
                    struct ud_error *err) UD_WUR;
struct archive *tar_stream_archive(struct tar_stream *s);
/* After the archive's end: read the compressed stream to its end so that a
 * bad checksum or a truncated frame is still reported. */
int tar_stream_finish(struct tar_stream *s, struct ud_error *err) UD_WUR;
/* Turn a failed libarchive call into an error: the decompressor's or the
 * read error when there was one, else UD_EPARSE with libarchive's text. */
int tar_stream_error(struct tar_stream *s, const char *what, struct ud_error *err);
void tar_stream_close(struct tar_stream *s);

/* ---- resolve.c: parents resolved beneath the root ---- */

#define TAR_FD_CACHE 16

struct tar_fd_slot {
    char *path; /* lexical, normalised, relative to the root; "" unused */
    size_t len;
    size_t cap;
    int fd; /* O_PATH directory fd, -1 when empty */
};

struct tar_resolver {
    int rootfd; /* borrowed */
    bool use_openat2;
    bool stale;      /* drop the cache at the next resolution */
    mode_t dir_mode; /* for directories created on the way */
    unsigned next_slot;
    struct tar_fd_slot slots[TAR_FD_CACHE];
    char *work; /* 2 * TAR_PATH_MAX scratch for the portable walk */
};

int tar_resolver_init(struct tar_resolver *r, int rootfd, bool allow_openat2, mode_t dir_mode,
                      struct ud_error *err) UD_WUR;
void tar_resolver_fini(struct tar_resolver *r);
/* fd of directory dir (a normalised relative path, "" for the root),
 * resolved beneath the root with symlinks taken as if the root were "/".
 * With create, missing directories are made. The fd is borrowed from the
 * cache and valid until the next call or invalidation. Returns 0 or
 * -errno. */
int tar_resolve_dir(struct tar_resolver *r, const char *dir, size_t len, bool create, int *fd_out);
/* Forget every cached fd (after a directory or symlink was removed). Lazy:
 * the fd last returned stays valid until the next tar_resolve_dir(). */
void tar_resolver_invalidate(struct tar_resolver *r);

/* ---- pathset.c: the paths one layer has written ---- */

enum { TAR_MARK_OWN = 1, TAR_MARK_ANCESTOR = 2 };

struct tar_pathset {
    struct tar_pathset_slot *slots;
    size_t nslots; /* power of two */
    size_t used;
    struct tar_arena_chunk *arena;
};

void tar_pathset_init(struct tar_pathset *s);
void tar_pathset_fini(struct tar_pathset *s);
/* Mark path as written by this layer and its ancestors as holding such. */
int tar_pathset_mark(struct tar_pathset *s, const char *path, size_t len,
                     struct ud_error *err) UD_WUR;
/* TAR_MARK_* bits of path, 0 when unmarked. */
unsigned tar_pathset_get(const struct tar_pathset *s, const char *path, size_t len);

/* ---- remove.c: removal beneath a directory fd, never following links ---- */

/* Remove dfd/name whatever it is, recursively; read-only directories are
 * made writable first. ENOENT is success. Returns 0 or -errno. */
int tar_remove_tree(int dfd, const char *name);
/* Remove dfd/name except what keep marks: path is name's root-relative
 * path (in a TAR_PATH_MAX buffer of which len bytes are used; it is
 * extended and restored while descending). Returns 0 or -errno. */
int tar_remove_except(int dfd, const char *name, char *path, size_t len,
                      const struct tar_pathset *keep);
/* Remove every child of directory dfd except what keep marks; path is the
 * directory's root-relative path as above ("" for the root). */
int tar_remove_children_except(int dfd, char *path, size_t len, const struct tar_pathset *keep);

/* ---- apply.c / entry.c: one layer being applied ---- */

struct archive_entry;

struct tar_dir_time {
    char *path;
    int64_t sec;
    long nsec;
};

struct tar_apply {
    int rootfd; /* borrowed */
    struct tar_stream *stream;
    struct archive *ar;
    const struct ud_tar_options *opts;
    unsigned flags;
    struct ud_tar_stats st;
    mode_t umask;
    bool track;      /* lower layers exist: remember what this one writes */
    bool warned_abs; /* "leading / removed" said once */
    struct tar_resolver res;
    struct tar_pathset marked;
    char *path;  /* normalised member path (TAR_PATH_MAX) */
    size_t plen; /* its length */
    size_t dlen; /* length of its parent part ("" = root) */
    char *link;  /* normalised hard-link target (TAR_PATH_MAX) */
    size_t llen;
    char *scratch; /* paths built while removing (TAR_PATH_MAX) */
    struct tar_dir_time *dtimes;
    size_t ndtimes, capdtimes;
    struct ud_error *err;
};

/* Send one warning (sanitised to one line) to the caller's callback. */
void tar_warn(struct tar_apply *a, const char *fmt, ...) UD_PRINTF(2, 3);
/* A member failed for errno e: a fatal error (disk full, I/O) sets a->err
 * and returns its code; anything else warns, counts the member as skipped
 * and returns 0. */
int tar_entry_fail(struct tar_apply *a, const char *what, int e);
/* Lexically normalise a member name into out (TAR_PATH_MAX): drop leading
 * '/', "." and empty components, apply "..". 0, or -1 when ".." would
 * climb above the root, -2 when too long. *abs tells if '/' was dropped. */
int tar_path_normalise(const char *in, char *out, size_t *outlen, bool *abs);
/* Create the member e at a->path in the directory pfd under name leaf. */
int tar_entry_create(struct tar_apply *a, struct archive_entry *e, int pfd, const char *leaf);
/* Remove whatever is at pfd/leaf so a member can take its place. 0 or
 * -errno. */
int tar_entry_clear(struct tar_apply *a, int pfd, const char *leaf);
