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

#include <pthread.h>

#include "reg_int.h"

enum seg_state { SEG_PENDING, SEG_ACTIVE, SEG_DONE };

/* What a blob's server does with Range: unknown until the first answer to
 * a ranged request (206 or 200). */
enum blob_range { RANGE_UNKNOWN, RANGE_YES, RANGE_NO };

struct blob_state;
struct fetch;

struct seg {
    struct blob_state *b;
    enum seg_state state;
    int64_t start;       /* absolute offset in the blob */
    int64_t end;         /* exclusive; -1 while the blob size is unknown */
    int64_t written;     /* bytes of [start, end) on disk */
    int64_t synced;      /* bytes of `written` handed to the kernel's writeback */
    unsigned char *wbuf; /* received bytes not written yet (follow `written`) */
    size_t nbuf;
    CURL *e;
    struct curl_slist *hdrs;
    char *url;      /* where the next request goes */
    bool drop_auth; /* a redirect hop: never send Authorization again */
    bool range_req; /* the active request carries Range */
    bool checked;   /* response status examined */
    bool dropped;   /* superseded (the server ignores Range): abort, discard */
    bool shortened; /* its tail went to another segment: stop the
                       request once `end` is reached */
    long status;
    int failures; /* failed attempts in a row that did not pass `high` */
    int retries;  /* failed attempts in all, progress or not */
    int64_t high; /* highest frontier (start + written) any attempt reached */
    int auth_tries;
    int hops;
    unsigned token_gen;
    int64_t not_before_ms; /* backoff: not started before this time */
    int64_t req_ms;        /* when this attempt's request started */
    int64_t data_ms;       /* when this attempt's first body bytes came */
    int64_t data_from;     /* `written` at that time (for its rate) */
    int fatal;             /* UD_E* set by a callback; aborts the blob */
    struct ud_error fatal_err;
    struct reg_headers h;
    struct seg *next_dropped; /* list of dropped segments still in flight */
    char errbuf[CURL_ERROR_SIZE];
};

struct blob_state {
    struct ud_reg_client *c;
    struct fetch *f;
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
    /* Segments in offset order, contiguous from the resume point to `next`;
     * each is allocated on its own (curl holds pointers to them). */
    struct seg **segs;
    size_t nsegs, segcap;
    int64_t next; /* first byte no segment covers yet */
    size_t hseg;  /* segment holding offset `hashed` */
    enum blob_range range;
    bool segmented;  /* more than one segment: written out of order */
    bool finished;   /* status final */
    bool started;    /* UD_REG_BLOB_START sent */
    bool committing; /* handed to the commit thread: hands off */
    int active;
    char *redirect; /* last redirect target, reused by other segments */
    int commit_rc;  /* result of blob_finalize on the commit thread */
    struct ud_error commit_err;
};

/* Guided self-scheduling: a new segment is 1 / (SEG_SPREAD x connections)
 * of the bytes not yet requested. */
#define SEG_SPREAD 2

/* blobs.c: the size of the next segment (guided self-scheduling). unplanned:
 * bytes of the whole fetch no segment covers yet; blob_left: those of the
 * blob the segment is cut from; conns: the connection pool. The segment is
 * unplanned / (SEG_SPREAD x conns) clamped to [min, max], so segments start
 * big (few requests) and shrink toward the end (a short tail); it takes the
 * whole rest of the blob when less than min would remain. */
int64_t blob_segment_size(int64_t unplanned, int64_t blob_left, int conns, int64_t min,
                          int64_t max);

/* blobfile.c: a thread that commits finished blobs (hash catch-up, digest
 * check, fsync, rename), so that the network loop never waits for the
 * disk. Each blob is submitted once; arrays are sized for all of them. */
struct committer {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct blob_state **todo, **done;
    size_t ntodo, ndone;
    size_t busy; /* submitted, not yet collected */
    bool running, stop;
    unsigned char *buf;
};

/* Start the thread for up to cap blobs. Without it (no memory, no thread),
 * committer_submit returns false and callers commit inline. */
void committer_open(struct committer *k, size_t cap);
/* Queue b (sets b->committing); false when there is no thread. The thread
 * sets b->commit_rc and b->commit_err. */
bool committer_submit(struct committer *k, struct blob_state *b);
/* Blobs whose commit is over, at most max; with wait, block until one is
 * over unless none is in flight. */
size_t committer_collect(struct committer *k, struct blob_state **out, size_t max, bool wait);
/* Whether commits are in flight or uncollected. */
bool committer_busy(struct committer *k);
/* Finish the queued commits and stop the thread (idempotent). */
void committer_close(struct committer *k);

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
