/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base: the ground floor every other module stands on. Errors that never
 * allocate, the log sink, an allocator with a failure hook for tests,
 * cleanup attributes, capped buffers, filesystem helpers (atomic writes,
 * locks, safe recursive removal), hashing and random identifiers.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <dirent.h>

#define UD_WUR __attribute__((warn_unused_result))
#define UD_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* Error codes: functions return 0 or one of these (all negative). */
enum ud_errcode {
    UD_OK = 0,
    UD_EINVAL = -1,     /* bad argument or malformed input */
    UD_ENOMEM = -2,     /* allocation failed */
    UD_EIO = -3,        /* local I/O error (sys_errno says which) */
    UD_ENOENT = -4,     /* local object does not exist */
    UD_EEXIST = -5,     /* local object already exists */
    UD_EPERM = -6,      /* not allowed (protected, not owner, root) */
    UD_EPARSE = -7,     /* data could not be parsed (JSON, tar, header) */
    UD_ENET = -8,       /* network: connect, TLS, timeout, reset */
    UD_EAUTH = -9,      /* registry refused our credentials */
    UD_ENOTFOUND = -10, /* remote object does not exist (404) */
    UD_EREMOTE = -11,   /* remote answered with an error or garbage */
    UD_EDIGEST = -12,   /* content does not match its digest or size */
    UD_EBUSY = -13,     /* locked by another process */
    UD_ENOSPC = -14,    /* disk full or file size limit */
    UD_EUNSUPP = -15,   /* valid but unsupported (media type, algorithm) */
    UD_ETOOBIG = -16,   /* input exceeds a size cap */
    UD_EUNSAFE = -17,   /* would write or link outside a root */
    UD_ECANCELED = -18, /* interrupted by a signal */
};

/* Caller-owned error report: filling it never allocates. */
struct ud_error {
    int code;      /* one of enum ud_errcode */
    int sys_errno; /* errno at the failure, or 0 */
    char msg[256]; /* one line, no trailing newline */
};

/* Fill err (may be NULL) and return code. msg gets ": strerror" appended
 * when sys_errno is non-zero. */
int ud_error_set(struct ud_error *err, int code, int sys_errno, const char *fmt, ...)
    UD_PRINTF(4, 5);
/* Prepend context to err->msg ("pull busybox: " + old message). */
void ud_error_prefix(struct ud_error *err, const char *fmt, ...) UD_PRINTF(2, 3);
/* Reset to UD_OK with an empty message. */
void ud_error_clear(struct ud_error *err);
/* Map an errno value to the closest code (ENOSPC/EFBIG -> UD_ENOSPC, ...). */
int ud_error_from_errno(int e);
/* Short static name of a code ("UD_ENOENT"). */
const char *ud_error_name(int code);

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

/* Levels follow upstream udocker's verbosity numbers. */
enum ud_log_level {
    UD_LOG_ERROR = 0,
    UD_LOG_MSG = 1,
    UD_LOG_WARN = 2,
    UD_LOG_INFO = 3,
    UD_LOG_VERBOSE = 4,
    UD_LOG_DEBUG = 5,
};

typedef void (*ud_log_sink_fn)(int level, const char *line, void *ctx);

/* The process-wide level: messages at or below it are logged. */
void ud_log_set_level(int level);
int ud_log_get_level(void);
/* Would a message at level be logged? (Skip building costly messages.) */
bool ud_log_enabled(int level);
/* Replace the sink; NULL restores the default (stderr, with no prefix). */
void ud_log_set_sink(ud_log_sink_fn fn, void *ctx);
/* Format one line and hand it to the sink when level is enabled. */
void ud_log(int level, const char *fmt, ...) UD_PRINTF(2, 3);
void ud_logv(int level, const char *fmt, va_list ap) UD_PRINTF(2, 0);

/* ------------------------------------------------------------------ */
/* Allocation (with a failure hook for allocation-failure tests)      */
/* ------------------------------------------------------------------ */

/* malloc/calloc/realloc/strdup/strndup that honour ud_alloc_fail_after:
 * NULL (errno ENOMEM) on failure, release with free(). A size of 0 gets a
 * 1-byte block, never NULL on success. ud_strdup(NULL) is NULL. */
void *ud_malloc(size_t n);
void *ud_calloc(size_t nmemb, size_t size);
void *ud_realloc(void *p, size_t n);
char *ud_strdup(const char *s);
char *ud_strndup(const char *s, size_t n);
/* Heap-allocated printf; NULL on failure. */
char *ud_asprintf(const char *fmt, ...) UD_PRINTF(1, 2);
/* Test hook: make the n-th allocation from now (1-based) and every one after
 * it fail; n <= 0 disables. Counts ud_* allocations and jansson's (after
 * ud_json_use_ud_alloc). Not thread-safe; tests only. */
void ud_alloc_fail_after(long n);
/* Number of allocations since the last ud_alloc_fail_after() call. */
long ud_alloc_count(void);
/* Route jansson's allocations through ud_malloc/free. Call once at start. */
void ud_json_use_ud_alloc(void);

/* ------------------------------------------------------------------ */
/* Cleanup helpers (declare at the top of a function, initialised)     */
/* ------------------------------------------------------------------ */

/* Targets of the cleanup_* attributes: release *p (NULL or -1 is a no-op)
 * and reset it. */
void ud_freep(void *p);
void ud_closep(int *fd);
void ud_fclosep(FILE **f);
void ud_closedirp(DIR **d);
/* Free a NULL-terminated array of strings and the array itself. */
void ud_strv_free(char **v);
void ud_strvp(char ***v);

#define cleanup_free __attribute__((cleanup(ud_freep)))
#define cleanup_close __attribute__((cleanup(ud_closep)))
#define cleanup_fclose __attribute__((cleanup(ud_fclosep)))
#define cleanup_dir __attribute__((cleanup(ud_closedirp)))
#define cleanup_strv __attribute__((cleanup(ud_strvp)))

/* Hand ownership out of a cleanup variable: returns *pp and clears it. */
#define ud_steal(pp)                                                                               \
    ({                                                                                             \
        __typeof__(*(pp)) ud_steal_tmp_ = *(pp);                                                   \
        *(pp) = NULL;                                                                              \
        ud_steal_tmp_;                                                                             \
    })
#define ud_steal_fd(pfd)                                                                           \
    ({                                                                                             \
        int ud_steal_fd_tmp_ = *(pfd);                                                             \
        *(pfd) = -1;                                                                               \
        ud_steal_fd_tmp_;                                                                          \
    })

/* ------------------------------------------------------------------ */
/* Strings                                                             */
/* ------------------------------------------------------------------ */

bool ud_str_has_prefix(const char *s, const char *prefix);
bool ud_str_has_suffix(const char *s, const char *suffix);
/* Number of entries of a NULL-terminated string vector. */
size_t ud_strv_len(char *const *v);
/* Append a copy of s to *v (NULL-terminated, may start NULL). */
int ud_strv_push(char ***v, const char *s, struct ud_error *err) UD_WUR;
/* Sort a string vector in place with strcmp. */
void ud_strv_sort(char **v);

/* ------------------------------------------------------------------ */
/* Capped growable buffer for untrusted input                          */
/* ------------------------------------------------------------------ */

struct ud_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len; 0 means 64 MiB */
};

void ud_buf_init(struct ud_buf *b, size_t max);
void ud_buf_fini(struct ud_buf *b);
/* UD_ETOOBIG when the cap would be exceeded, UD_ENOMEM on allocation. */
int ud_buf_append(struct ud_buf *b, const void *p, size_t n, struct ud_error *err) UD_WUR;
int ud_buf_appendf(struct ud_buf *b, struct ud_error *err, const char *fmt, ...)
    UD_PRINTF(3, 4) UD_WUR;
/* Return the data (caller frees) and reset the buffer. Never NULL after a
 * successful append; for an empty buffer returns an empty heap string or NULL
 * on allocation failure. */
char *ud_buf_steal(struct ud_buf *b);

/* ------------------------------------------------------------------ */
/* Filesystem                                                          */
/* ------------------------------------------------------------------ */

/* Join two path pieces with exactly one '/'. Caller frees; NULL on ENOMEM. */
char *ud_path_join(const char *a, const char *b);
/* Create path and its missing parents with mode. Existing dirs are fine.
 * Errors: UD_EINVAL (empty path), UD_EEXIST (path is there but not a
 * directory), the code of mkdir's errno otherwise, UD_ENOMEM. */
int ud_mkdir_p(const char *path, mode_t mode, struct ud_error *err) UD_WUR;
/* Read a whole file, at most max bytes (UD_ETOOBIG beyond). *out is
 * NUL-terminated; caller frees. */
int ud_file_read(const char *path, size_t max, char **out, size_t *len,
                 struct ud_error *err) UD_WUR;
/* The same from an open fd (read to its end from the current offset; fd
 * stays open and the caller's). name is for messages. Errors: UD_EIO,
 * UD_ETOOBIG, UD_ENOMEM. */
int ud_file_read_fd(int fd, const char *name, size_t max, char **out, size_t *len,
                    struct ud_error *err) UD_WUR;
/* Write data to path atomically: a temporary in the same directory, fsync,
 * rename over path, fsync of the directory. Never leaves a half file. */
int ud_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         struct ud_error *err) UD_WUR;
/* Create a temporary file next to final_path ("<dir>/.<base>.tmp-XXXXXX").
 * *tmp_path is the caller's to free; *fd_out the caller's to close. */
int ud_tmpfile_beside(const char *final_path, mode_t mode, char **tmp_path, int *fd_out,
                      struct ud_error *err) UD_WUR;
/* fsync fd, rename tmp over final and fsync the directory. An error means
 * final_path was not replaced, except a failed directory fsync (UD_EIO). */
int ud_file_commit(int fd, const char *tmp_path, const char *final_path,
                   struct ud_error *err) UD_WUR;
/* fsync the directory holding path. */
int ud_fsync_parent(const char *path, struct ud_error *err) UD_WUR;
/* Remove path recursively without following symlinks and without crossing
 * filesystems; read-only directories are made writable first. ENOENT is
 * success. Refuses "/" and paths with fewer than two components. */
int ud_rm_rf(const char *path, struct ud_error *err) UD_WUR;
/* Like ud_rm_rf on the contents of dir relative to dirfd, keeping dir. */
int ud_rm_rf_at(int dirfd, const char *name, struct ud_error *err) UD_WUR;
/* Relative path from directory from_dir to target (both absolute, lexical,
 * no symlink resolution): "/a/b/c", "/a/x/y" -> "../../x/y". Caller frees. */
int ud_path_relative(const char *from_dir, const char *target, char **out,
                     struct ud_error *err) UD_WUR;
bool ud_path_is_dir(const char *path);     /* follows symlinks */
bool ud_path_is_symlink(const char *path); /* lstat */
bool ud_path_is_regular(const char *path); /* lstat, not a link */
bool ud_path_exists(const char *path);     /* lstat */
/* Copy a file's bytes to dst (created with mode, atomically). */
int ud_file_copy(const char *src, const char *dst, mode_t mode, struct ud_error *err) UD_WUR;
/* Absolute form of path against the current directory, lexically cleaned
 * (no "." or ".." or "//"). Caller frees. */
int ud_path_absolute(const char *path, char **out, struct ud_error *err) UD_WUR;

/* Advisory lock (flock) on path, created 0600 if missing. exclusive or
 * shared; wait blocks, otherwise UD_EBUSY when held elsewhere. */
int ud_lock_acquire(const char *path, bool exclusive, bool wait, int *fd_out,
                    struct ud_error *err) UD_WUR;
void ud_lock_release(int fd);

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */

struct ud_hash {
    void *ctx; /* EVP_MD_CTX, opaque */
    int algo;  /* UD_HASH_SHA256 or UD_HASH_SHA512 */
};

enum ud_hash_algo { UD_HASH_SHA256 = 1, UD_HASH_SHA512 = 2 };
#define UD_HASH_HEX_MAX 129 /* sha512 hex + NUL */

/* Algorithm from its OCI name ("sha256", "sha512"); UD_EUNSUPP otherwise. */
int ud_hash_algo_from_name(const char *name, int *algo, struct ud_error *err) UD_WUR;
/* Start a digest; h must be released with ud_hash_fini whatever follows.
 * Errors: UD_EUNSUPP (algo), UD_ENOMEM, UD_EIO (OpenSSL refused). */
int ud_hash_init(struct ud_hash *h, int algo, struct ud_error *err) UD_WUR;
/* Feed n bytes. Errors: UD_EIO. */
int ud_hash_update(struct ud_hash *h, const void *p, size_t n, struct ud_error *err) UD_WUR;
/* Finish and write lowercase hex into out (UD_HASH_HEX_MAX bytes). */
int ud_hash_final_hex(struct ud_hash *h, char *out, struct ud_error *err) UD_WUR;
/* Release h's context; a zeroed or already released h is fine. */
void ud_hash_fini(struct ud_hash *h);
/* Hash a whole file into out (UD_HASH_HEX_MAX bytes). Errors: the open
 * errno's code, UD_EIO, those of ud_hash_init. */
int ud_hash_file(const char *path, int algo, char *out, struct ud_error *err) UD_WUR;
/* One-shot sha256 of a buffer into out (65 bytes). */
int ud_sha256_hex(const void *p, size_t n, char out[65], struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Random identifiers                                                  */
/* ------------------------------------------------------------------ */

/* A random lowercase RFC 4122 version-4 UUID string (8-4-4-4-12). */
int ud_uuid_generate(char out[37], struct ud_error *err) UD_WUR;
/* n random lowercase hex characters plus NUL into out (n+1 bytes). */
int ud_random_hex(char *out, size_t n, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Base64 and JSON output                                              */
/* ------------------------------------------------------------------ */

/* Standard base64 with padding. Caller frees. */
int ud_base64_encode(const void *p, size_t n, char **out, struct ud_error *err) UD_WUR;
/* Decode standard base64 (padding optional). Caller frees; *out is
 * NUL-terminated for convenience. */
int ud_base64_decode(const char *s, unsigned char **out, size_t *len, struct ud_error *err) UD_WUR;
/* Re-print JSON text the way Python's json.dumps(sort_keys=True, indent=4)
 * does (upstream's inspect output). Caller frees. */
int ud_json_pretty(const char *json, size_t len, char **out, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Shared libraries loaded on first use                                */
/* ------------------------------------------------------------------ */

/* One per library, static and zero-initialised apart from sonames, e.g.
 *   static const char *const names[] = {"libcurl.so.4", NULL};
 *   static struct ud_lazylib curl_lib = {.sonames = names};
 * The library is dlopen()ed (RTLD_NOW | RTLD_LOCAL) on the first call that
 * needs it, once, thread-safely; a failure is remembered and not retried. */
struct ud_lazylib {
    const char *const *sonames; /* NULL-terminated, tried in order */
    void *handle;
    int state;        /* private: untried, loaded or failed */
    char errmsg[256]; /* private: read with ud_lazylib_error */
};

/* Load the library if not yet tried: 0 when it is loaded, -1 if not. */
int ud_lazylib_load(struct ud_lazylib *lib);
/* Address of a symbol of the library (loading it first); NULL when the
 * library or the symbol is missing, with the reason kept for
 * ud_lazylib_error. Callers cache the answer. */
void *ud_lazylib_sym(struct ud_lazylib *lib, const char *name);
/* ud_lazylib_sym through a per-function cache: *slot holds the address once
 * found (written atomically, so threads may race to fill it). */
void *ud_lazylib_sym_cached(struct ud_lazylib *lib, void **slot, const char *name);
/* Why the last load or lookup failed (dlerror() text), or NULL. */
const char *ud_lazylib_error(struct ud_lazylib *lib);
