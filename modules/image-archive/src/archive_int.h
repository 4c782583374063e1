/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to image-archive: the streaming tar reader (plain, gzip, zstd;
 * ustar, GNU long names, pax) and the tar writer, both over a file
 * descriptor with large buffers, plus small JSON and hashing helpers.
 */
#ifndef UD_BUILDING_IMAGE_ARCHIVE
#error "archive_int.h is private to the image-archive module"
#endif
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ud/image-archive.h"

#define AR_BUF_SIZE (1u << 20) /* I/O buffer of the reader and the writer */
#define AR_NAME_MAX 4096       /* member names and link targets */
#define AR_PAX_MAX (1u << 20)  /* pax extended header */

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

enum ar_comp { AR_COMP_NONE, AR_COMP_GZIP, AR_COMP_ZSTD };

struct ar_reader {
    int fd;
    enum ar_comp comp;
    void *zs;          /* z_stream or ZSTD_DStream */
    unsigned char *in; /* raw input buffer */
    size_t in_len, in_pos;
    bool in_eof;
    bool stream_end;    /* the compressed stream ended */
    uint64_t remaining; /* data bytes of the current member not yet read */
    uint64_t padding;   /* padding after the current member's data */
};

enum ar_type { AR_FILE, AR_DIR, AR_SYMLINK, AR_HARDLINK, AR_OTHER };

struct ar_member {
    char name[AR_NAME_MAX]; /* normalised: no "./", no trailing '/' */
    char link[AR_NAME_MAX]; /* link target as written */
    enum ar_type type;
    uint64_t size;
    unsigned mode;
    int64_t mtime;
};

/* fd stays the caller's. The compression is told from the first bytes. */
int ar_reader_open(struct ar_reader *r, int fd, struct ud_error *err) UD_WUR;
void ar_reader_close(struct ar_reader *r);
/* Next member (the unread data of the previous one is skipped): 1 with
 * *m filled, 0 at the end-of-archive marker. A member name that is
 * absolute or climbs with ".." is UD_EUNSAFE; EOF before the marker is
 * UD_EPARSE "truncated archive". */
int ar_reader_next(struct ar_reader *r, struct ar_member *m, struct ud_error *err) UD_WUR;
/* Read up to n bytes of the current member's data: count read (0 at the
 * member's end) or a negative error (truncated: UD_EPARSE). */
ssize_t ar_reader_data(struct ar_reader *r, void *p, size_t n, struct ud_error *err);

/* Up to n bytes of the decompressed stream itself (not of members): for
 * hashing a compressed layer's content. 0 at its end. */
ssize_t ar_reader_raw(struct ar_reader *r, void *p, size_t n, struct ud_error *err);

/* Lexically normalise a member name in place: strip leading "./" and '/',
 * collapse "//" and "/./", drop a trailing '/'. false when a ".."
 * component or a leading '/' makes it escape (the name is then unusable). */
bool ar_name_normalise(char *name);
/* The same, but ".." takes back the previous component (a link target
 * joined to its directory); false when it climbs above the top. */
bool ar_name_resolve(char *name);

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

struct ar_writer {
    int fd;
    unsigned char *buf;
    size_t len;
    uint64_t written;
    int64_t mtime; /* used by ar_writer_file_mem */
};

struct ar_header {
    const char *name;
    const char *link; /* symlink or hard link target, else NULL */
    char type; /* '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo */
    unsigned mode;
    uint64_t size;
    int64_t mtime;
    unsigned devmajor, devminor;
};

int ar_writer_open(struct ar_writer *w, int fd, struct ud_error *err) UD_WUR;
void ar_writer_close(struct ar_writer *w); /* frees the buffer; fd stays */
/* A header (with a pax header first when a name, link or size does not
 * fit ustar). */
int ar_writer_header(struct ar_writer *w, const struct ar_header *h, struct ud_error *err) UD_WUR;
int ar_writer_data(struct ar_writer *w, const void *p, size_t n, struct ud_error *err) UD_WUR;
/* Pad the data written since the header to 512 bytes. */
int ar_writer_pad(struct ar_writer *w, uint64_t size, struct ud_error *err) UD_WUR;
/* A whole regular member from memory. */
int ar_writer_file_mem(struct ar_writer *w, const char *name, const void *p, size_t n,
                       struct ud_error *err) UD_WUR;
/* A whole regular member from the file at path, size bytes; with
 * want_sha256 ("<hex>") the content is hashed on the way and must match
 * (UD_EDIGEST). A file of another size is UD_EIO. */
int ar_writer_file_path(struct ar_writer *w, const char *name, const char *path, uint64_t size,
                        const char *want_sha256, struct ud_error *err) UD_WUR;
/* A regular member from an open fd (h->size bytes from its offset);
 * label names it in messages. */
int ar_writer_file_fd(struct ar_writer *w, const struct ar_header *h, int fd, const char *label,
                      const char *want_sha256, struct ud_error *err) UD_WUR;
/* End-of-archive marker and flush. */
int ar_writer_finish(struct ar_writer *w, struct ud_error *err) UD_WUR;
int ar_writer_flush(struct ar_writer *w, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* write(2) all of p, retrying on EINTR and short writes. */
int ar_write_all(int fd, const void *p, size_t n, const char *what, struct ud_error *err) UD_WUR;
/* The layer media type (OCI) for the first bytes of a layer blob. */
const char *ar_layer_media_type(const void *head, size_t n);
/* Docker's fully qualified name of a local repo ("busybox" ->
 * "docker.io/library/busybox"). Caller frees; NULL on ENOMEM. */
char *ar_qualified_name(const char *repo);
/* An OCI image manifest for config and layers (digests and sizes).
 * media types of layers given. Caller frees *json. */
struct ar_blob {
    char digest[72]; /* "sha256:<hex>" */
    uint64_t size;
    const char *media_type;
};
int ar_manifest_build(const struct ar_blob *config, const struct ar_blob *layers, size_t n,
                      char **json, size_t *len, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* load: the members kept by one pass, and the plan made from them     */
/* ------------------------------------------------------------------ */

#define AR_SMALL_MAX (1u << 20)  /* members up to this size stay in memory */
#define AR_MEM_TOTAL (64u << 20) /* ... while the kept total stays below this */
#define AR_LINK_HOPS 16

struct ar_entry {
    char *name;        /* normalised member name */
    enum ar_type type; /* AR_FILE, AR_SYMLINK or AR_HARDLINK */
    char *link;        /* link target (links only) */
    uint64_t size;
    char sha256[65];       /* of the content (files only) */
    unsigned char head[8]; /* first bytes, to tell a layer's compression */
    char *data;            /* content when small (NUL-terminated), else NULL */
    char *spool;           /* spooled content, else NULL */
    bool placed;           /* already put into layers/ by this load */
};

struct ar_scan {
    struct ar_entry *v;
    size_t n, cap;
    const char *spool_dir; /* borrowed */
    size_t mem_used;
    unsigned seq;
};

/* Read the whole archive from fd, keeping every regular file (in memory
 * or spooled into spool_dir, hashed on the way) and every link. */
int ar_scan_read(struct ar_scan *sc, int fd, struct ud_error *err) UD_WUR;
void ar_scan_fini(struct ar_scan *sc);
/* The file member a name leads to, following symlinks (lexically, within
 * the archive) and hard links: UD_ENOENT "archive has no member X",
 * UD_EUNSAFE for a link leaving the archive. */
int ar_scan_find(struct ar_scan *sc, const char *name, struct ar_entry **out,
                 struct ud_error *err) UD_WUR;
/* Content of a file member, at most max bytes (UD_ETOOBIG). Caller frees. */
int ar_entry_read(const struct ar_entry *e, size_t max, char **data, size_t *len,
                  struct ud_error *err) UD_WUR;

struct ar_plan_blob {
    char *filename; /* in layers/: "sha256:<hex>", "<id>.layer", "<id>.json" */
    struct ar_entry *e;
};

struct ar_plan_image {
    char *repo, *tag;
    bool v1;
    char *meta; /* v2: manifest bytes; v1: ancestry JSON */
    size_t meta_len;
    struct ar_plan_blob *blobs;
    size_t n_blobs;
};

struct ar_plan {
    struct ar_plan_image *v;
    size_t n;
};

/* Decide what the scanned archive holds (OCI layout, docker-save
 * manifest.json, or pre-1.10 repositories), check every blob and name. */
int ar_plan_make(struct ar_scan *sc, const struct ud_archive_load_opts *o, struct ar_plan *out,
                 struct ud_error *err) UD_WUR;
void ar_plan_fini(struct ar_plan *p);
