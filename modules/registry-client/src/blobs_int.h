/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to registry-client: state of the concurrent blob downloader. A
 * blob is a list of contiguous segments [start, end) written with pwrite
 * into "<dest>.partial"; its hash follows the contiguous written prefix.
 */
#ifndef UD_BUILDING_REGISTRY_CLIENT
#error "blobs_int.h is private to the registry-client module"
#endif
#pragma once

#include "reg_int.h"

enum seg_state { SEG_HELD, SEG_PENDING, SEG_ACTIVE, SEG_DONE };

struct blob_state;

struct seg {
    struct blob_state *b;
    enum seg_state state;
    int64_t start;   /* absolute offset in the blob */
    int64_t end;     /* exclusive; -1 while the blob size is unknown */
    int64_t written; /* bytes of [start, end) on disk */
    CURL *e;
    struct curl_slist *hdrs;
    char *url;      /* where the next request goes */
    bool drop_auth; /* a redirect hop: never send Authorization again */
    bool range_req; /* the active request carries Range */
    bool checked;   /* response status examined */
    long status;
    int failures; /* failed attempts in a row that did not pass `high` */
    int retries;  /* failed attempts in all, progress or not */
    int64_t high; /* highest frontier (start + written) any attempt reached */
    int auth_tries;
    int hops;
    unsigned token_gen;
    int64_t not_before_ms; /* backoff: not started before this time */
    int fatal;             /* UD_E* set by a callback; aborts the blob */
    struct ud_error fatal_err;
    struct reg_headers h;
    char errbuf[CURL_ERROR_SIZE];
};

struct blob_state {
    struct ud_reg_client *c;
    struct ud_reg_blob *pub;
    size_t index;
    int dup_of; /* index of an earlier blob with the same dest_path, or -1 */
    int algo;
    char expect_hex[UD_HASH_HEX_MAX];
    char *partial; /* "<dest>.partial" */
    char *state;   /* "<dest>.partial.state": contiguous good prefix */
    int fd;
    struct ud_hash hash;
    bool hash_live;
    int64_t size;        /* expected total, -1 unknown */
    int64_t hashed;      /* bytes [0, hashed) are hashed (and on disk) */
    int64_t done;        /* bytes on disk, for progress */
    int64_t reported;    /* last `done` sent as UD_REG_BLOB_PROGRESS */
    int64_t reported_ms; /* when it was sent (monotonic ms) */
    struct seg *segs;
    size_t nsegs;
    size_t hseg;    /* segment holding offset `hashed` */
    bool segmented; /* the server confirmed Range with a 206 */
    bool finished;  /* status final */
    bool started;   /* UD_REG_BLOB_START sent */
    int active;
    char *redirect; /* last redirect target, reused by other segments */
};

/* blobfile.c: the .partial file and its hash. */
/* Open or resume the partial file and hash its trusted prefix. Sets
 * b->hashed; a prefix equal to the expected size needs no transfer. */
int blob_open_partial(struct ud_reg_client *c, struct blob_state *b, unsigned char *buf,
                      size_t bufsz, struct ud_error *err);
/* Hash what has become contiguous on disk since the last call. */
int blob_catch_up(struct blob_state *b, unsigned char *buf, size_t bufsz, struct ud_error *err);
/* Record the good prefix for a later resume (segmented blobs only). */
void blob_state_save(struct blob_state *b);
/* Verify digest and size; fsync and rename into place, or delete. */
int blob_finalize(struct blob_state *b, unsigned char *buf, size_t bufsz, struct ud_error *err);
/* Start over from byte 0 (server ignored Range, or 416 on resume). */
int blob_restart(struct blob_state *b, struct ud_error *err);
/* Drop the partial file and its state file. */
void blob_discard(struct blob_state *b);
/* Close the fd and free the hash (keeps files). */
void blob_close(struct blob_state *b);
/* dest_path already holds the blob: true when it verifies. */
bool blob_is_cached(struct blob_state *b);
/* pwrite all of p at off; UD_ENOSPC/UD_EIO on failure. */
int blob_pwrite(struct blob_state *b, const void *p, size_t n, int64_t off, struct ud_error *err);
/* Parse "algo:hex" of b->pub->digest into algo/expect_hex. */
int blob_parse_digest(struct blob_state *b, struct ud_error *err);
