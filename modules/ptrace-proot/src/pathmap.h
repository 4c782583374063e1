/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Path translation of the ptrace engine: guest paths (what the traced
 * program names) to host paths (what the kernel is asked for) and back,
 * through the container root, its binds and the guest's own symlinks, with
 * a cache of resolved directory prefixes so a lookup of a deep path costs a
 * hash probe instead of one lstat() per component.
 */
#ifndef UD_BUILDING_PTRACE_PROOT
#error "pathmap.h is private to the ptrace-proot module"
#endif
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ud/base.h"

struct ud_bind;

/* The container root and its binds, plus the prefix cache. One per run,
 * shared by every tracee; not thread-safe (the tracer is single-threaded). */
struct ud_pathmap;

/* Counters for tests and measurements (never reset implicitly). */
struct ud_pathmap_stats {
    uint64_t calls;     /* ud_pathmap_to_host calls */
    uint64_t hits;      /* calls that started from a cached prefix */
    uint64_t misses;    /* calls that started from the guest "/" */
    uint64_t lstats;    /* lstat() calls made while resolving */
    uint64_t readlinks; /* readlink() calls made while resolving */
    uint64_t inserts;   /* entries added to the cache */
    uint64_t flushes;   /* times the cache was dropped (invalidate, size cap) */
    uint64_t entries;   /* entries in the cache now */
};

/* Build the map for the container root (a host directory; its realpath is
 * used) and binds (copied; may be NULL when nbinds is 0). A bind's host is
 * taken through realpath() too; a UD_BIND_SYS bind whose host is missing is
 * dropped, any other missing host stays (lookups under it report ENOENT).
 * Errors: UD_EINVAL (relative root, a relative bind path or a bind at "/"),
 * UD_ENOENT (root missing or not a directory), UD_ENOMEM. */
int ud_pathmap_new(const char *root, const struct ud_bind *binds, size_t nbinds,
                   struct ud_pathmap **out, struct ud_error *err) UD_WUR;
/* NULL is a no-op. */
void ud_pathmap_free(struct ud_pathmap *m);

/* Guest path (absolute, or relative to guest_cwd, an absolute guest path)
 * to the host path in out[outsz]. follow_last: follow a final symlink (a
 * trailing "/", "/." or "/.." implies it, and the final must then be a
 * directory). Symlinks resolve inside the guest (absolute targets are
 * guest-absolute), ".." stops at the guest "/", binds are honoured. A
 * missing final component is fine; a missing intermediate one ends the
 * resolution and the rest is appended lexically. Once resolution enters a
 * bind whose host is /proc, components are appended lexically: the
 * kernel's magic links (fd/N, cwd, exe) are left for the kernel to follow
 * in the tracee, except <pid|self|thread-self>/root, which is the guest "/".
 * Returns 0 or -errno: -ENOENT (empty path, ".." or "." after a missing
 * component), -ENAMETOOLONG (a path or component the kernel would refuse,
 * or out too small), -ELOOP (more than 40 symlinks), -ENOTDIR (a
 * non-directory followed by more components or a "/"), -EINVAL (NULL path,
 * or relative path without an absolute guest_cwd), -errno of lstat or
 * readlink otherwise. out is written only on success. */
int ud_pathmap_to_host(struct ud_pathmap *m, const char *guest_cwd, const char *guest_path,
                       bool follow_last, char *out, size_t outsz);

/* Host path (as the kernel reports it: getcwd, /proc/PID/fd/N, exe) to the
 * guest path in out[outsz]: the longest of the root and the bind hosts that
 * is a prefix of host_path (at a component boundary) wins, a bind on a tie.
 * host_path is cleaned lexically first, so the result never climbs above
 * "/". Returns 0, -ENOENT when host_path is outside the root and every
 * bind, -EINVAL when it is relative, -ENAMETOOLONG. */
int ud_pathmap_to_guest(const struct ud_pathmap *m, const char *host_path, char *out, size_t outsz);

/* Tell the map a tracee changed the namespace at host_path (after rename
 * (call for both paths), unlink, rmdir, symlink, mkdir, link). The cache is
 * dropped when host_path is a directory or symlink a cached resolution
 * went through; host_path NULL drops it always. Changes made by processes
 * outside the tracer are not seen (docs/ptrace-proot.md). */
void ud_pathmap_invalidate(struct ud_pathmap *m, const char *host_path);

/* Copy the counters into out. */
void ud_pathmap_stats_get(const struct ud_pathmap *m, struct ud_pathmap_stats *out);
/* Zero the counters (entries excepted). */
void ud_pathmap_stats_reset(struct ud_pathmap *m);

/* ------------------------------------------------------------------ */
/* Internals shared by pathmap.c and pathmap_resolve.c only            */
/* ------------------------------------------------------------------ */
#ifdef UD_PATHMAP_INTERNAL

#define PM_MAXLINKS 40                /* the kernel's MAXSYMLINKS */
#define PM_LEX_MAX (2 * PATH_MAX + 2) /* cwd + "/" + path, both < PATH_MAX */
#define PM_MAXCOMP (PM_LEX_MAX / 2)

enum pm_kind { PM_DIR, PM_FILE, PM_MISSING };

struct pm_bind {
    char *cont; /* normalised guest path, never "/" */
    size_t clen;
    char *host; /* realpath of the host path (lexically cleaned if missing) */
    size_t hlen;
    enum pm_kind kind;
    bool opaque; /* host is /proc or under it: no symlink resolution there */
};

/* One slot of an open-addressing table of strings. key, host and guest
 * share one allocation starting at key. */
struct pm_entry {
    uint64_t hash;
    char *key; /* NULL: empty slot */
    const char *host;
    const char *guest;
    uint32_t klen, hlen, glen;
    uint32_t nlinks; /* symlinks followed to get here */
};

struct pm_table {
    struct pm_entry *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
    size_t bytes; /* string bytes held */
};

struct ud_pathmap {
    char *root; /* "" when the root is the host "/" */
    size_t rootlen;
    struct pm_bind *binds;
    size_t nbinds;
    /* guest key (the lexical guest prefix, or a canonical guest dir) ->
     * host dir and canonical guest dir */
    struct pm_table cache;
    /* host paths of directories and symlinks that cached resolutions went
     * through: an invalidate of anything else cannot make an entry wrong */
    struct pm_table via;
    /* Bumped by every flush. A walk caches nothing once it changed: the
     * via records of the walk so far went with the flush. */
    uint64_t gen;
    struct ud_pathmap_stats st;

    /* Scratch space of ud_pathmap_to_host (the map is single-threaded). */
    char lex[PM_LEX_MAX]; /* cwd + path without "", "." components */
    size_t lexlen;
    uint32_t cend[PM_MAXCOMP];  /* end offset of each component of lex */
    uint64_t chash[PM_MAXCOMP]; /* hash of lex up to cend[i] */
    size_t ncomp;
    char rest[PM_LEX_MAX]; /* components still to resolve */
    char g[PATH_MAX];      /* canonical guest dir reached ("" is "/") */
    size_t glen;
    char h[PATH_MAX]; /* the host path of g */
    size_t hlen;
    char link[PATH_MAX]; /* readlink() target */
};

uint64_t pm_hash(const char *s, size_t n);
uint64_t pm_hash_more(uint64_t h, const char *s, size_t n);
#define PM_HASH_INIT 0xcbf29ce484222325ULL

const struct pm_entry *pm_table_find(const struct pm_table *t, uint64_t hash, const char *key,
                                     size_t klen);
/* Add (key -> host, guest) unless present or the cache was flushed since
 * generation gen; a failed allocation only skips the entry (the cache is an
 * optimisation). A full cache is flushed and the entry skipped. */
void pm_cache_put(struct ud_pathmap *m, uint64_t gen, uint64_t hash, const char *key, size_t klen,
                  const char *host, size_t hlen, const char *guest, size_t glen, uint32_t nlinks);
/* Record a host path that a cached resolution goes through. */
void pm_via_put(struct ud_pathmap *m, const char *host, size_t hlen);
void pm_cache_flush(struct ud_pathmap *m);

/* The bind mounted exactly at guest path g[glen], the last given wins. */
const struct pm_bind *pm_bind_at(const struct ud_pathmap *m, const char *g, size_t glen);
/* Is g[glen] a proper ancestor of some bind's guest path? */
bool pm_bind_below(const struct ud_pathmap *m, const char *g, size_t glen);
/* The host path of canonical guest path g[glen] into h (PATH_MAX bytes):
 * longest bind prefix, else the root. Sets *opaque when it lies in a /proc
 * bind and *opq_clen to that bind's guest length. -ENAMETOOLONG. */
int pm_map_guest(const struct ud_pathmap *m, const char *g, size_t glen, char *h, size_t *hlen,
                 bool *opaque, size_t *opq_clen);

#endif /* UD_PATHMAP_INTERNAL */
