/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tarextract: apply one image layer (plain, gzip or zstd tar) onto a
 * container root as an ordinary user, with OCI/Docker whiteout semantics,
 * without ever writing or linking outside the root; and check that a layer
 * file is a complete, readable tar archive (used by `verify`).
 */
#pragma once

#include <stdint.h>

#include <ud/base.h>

/* Compression of a layer file, told by its first bytes (never by name). */
enum ud_tar_compression {
    UD_TAR_COMP_UNKNOWN = 0, /* not a tar nor a compression we know */
    UD_TAR_COMP_NONE = 1,    /* plain tar (ustar/pax/gnu header, or empty) */
    UD_TAR_COMP_GZIP = 2,    /* 1f 8b */
    UD_TAR_COMP_ZSTD = 3,    /* zstd frame or skippable frame */
    UD_TAR_COMP_BZIP2 = 4,   /* "BZh": read through libarchive, no pipeline */
    UD_TAR_COMP_XZ = 5,      /* fd 37 7a 58 5a 00: same */
};

/* Flags for struct ud_tar_options.flags. */
enum ud_tar_flags {
    /* Resolve paths with the portable component walk even where openat2()
     * exists (the fallback for kernels before 5.6); for tests. */
    UD_TAR_F_NO_OPENAT2 = 1u << 0,
    /* Decompress in the calling thread instead of a helper thread. */
    UD_TAR_F_SINGLE_THREAD = 1u << 1,
    /* Also restore directory mtimes (at the end of the layer). */
    UD_TAR_F_DIR_MTIME = 1u << 2,
};

/* Options for ud_tar_layer_apply(); a NULL pointer means all defaults. */
struct ud_tar_options {
    /* Called once per warning (a skipped entry, a dropped bit...) with a
     * one-line message, never printed by the library. May be NULL. After
     * UD_TAR_WARN_MAX warnings in one call, one last "further warnings
     * suppressed" message is sent; stats->warnings still counts them all. */
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
    unsigned flags; /* enum ud_tar_flags */
};

#define UD_TAR_WARN_MAX 200

/* What one call did. */
struct ud_tar_stats {
    uint64_t entries;  /* archive members read (whiteouts included) */
    uint64_t bytes;    /* regular-file bytes written */
    uint64_t skipped;  /* members not applied (unsafe, device, dev/..., error) */
    uint64_t warnings; /* warnings raised (sent or suppressed) */
};

/* Short static name: "none", "gzip", "zstd", "bzip2", "xz", "unknown". */
const char *ud_tar_compression_name(enum ud_tar_compression c);

/* Compression of the bytes p[0..n) (the start of a file; 512 bytes or more
 * are needed to recognise a plain tar, a file shorter than that is plain
 * only when empty or all zero). */
enum ud_tar_compression ud_tar_compression_detect_buf(const void *p, size_t n);

/* Compression of the file at path. UD_ENOENT/UD_EIO when it can't be read.
 * *out is written on success (UD_TAR_COMP_UNKNOWN is a success). */
int ud_tar_compression_detect(const char *path, enum ud_tar_compression *out,
                              struct ud_error *err) UD_WUR;

/* Apply the layer at layer_path onto the directory root (which must exist).
 *
 * Semantics (docs/tarextract.md has the details):
 *  - `.wh.NAME` deletes NAME (recursively) as lower layers left it;
 *    `.wh..wh..opq` empties its directory of what lower layers put there;
 *    what this layer itself adds is kept whatever the member order; whiteouts
 *    work at every depth including the archive root; they are never written.
 *  - regular files, directories, symlinks (never followed), hard links
 *    (target resolved beneath root) and FIFOs are created; device nodes are
 *    skipped with a warning; nothing below dev/ is created.
 *  - a member replaces whatever is at its path (a directory only by a
 *    directory; otherwise the old entry is removed recursively).
 *  - no ownership change; setuid/setgid dropped; the umask applies; dirs get
 *    u+rwx, other files u+rw; file and symlink mtimes restored; xattrs, ACLs
 *    and ownership not restored.
 *  - every member's parent is resolved beneath root as if root were "/";
 *    a member that would climb out (`..`, symlinked parents, hard-link
 *    targets) is skipped with a warning, as is any member that fails for a
 *    reason of its own (the layer goes on).
 *
 * Fatal errors: UD_ENOENT (root or layer missing), UD_EPARSE (unknown
 * format, corrupt or truncated archive or compressed stream), UD_ENOSPC
 * (disk full, quota or file-size limit), UD_EIO (other I/O failures),
 * UD_ENOMEM. On a fatal error the root holds the members applied so far.
 * opts may be NULL; stats (may be NULL) is written on success only. */
int ud_tar_layer_apply(const char *root, const char *layer_path, const struct ud_tar_options *opts,
                       struct ud_tar_stats *stats, struct ud_error *err) UD_WUR;

/* Same, with the root given as an open directory fd (not closed). */
int ud_tar_layer_apply_at(int root_dirfd, const char *layer_path, const struct ud_tar_options *opts,
                          struct ud_tar_stats *stats, struct ud_error *err) UD_WUR;

/* Read the whole layer (every member, every byte, compressed-stream
 * checksums included) to confirm it is a valid tar archive. Writes nothing.
 * UD_EPARSE when it is not (with libarchive's or the decompressor's
 * message), UD_ENOENT/UD_EIO when it can't be read. stats (may be NULL)
 * gets entries and bytes on success. */
int ud_tar_layer_check(const char *layer_path, struct ud_tar_stats *stats,
                       struct ud_error *err) UD_WUR;
