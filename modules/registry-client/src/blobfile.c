/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The on-disk side of a blob download: "<dest>.partial" written with pwrite,
 * its digest computed over the contiguous prefix as it grows (re-reading
 * from the page cache only for segments that finished out of order), resume
 * of an interrupted download, and the final verify + fsync + rename, done
 * on a commit thread while the other transfers go on.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobs_int.h"

#define STATE_MAGIC "udocker-partial 1"

int
blob_parse_digest(struct blob_state *b, struct ud_error *err)
{
    const char *d = b->pub->digest;
    const char *colon = d ? strchr(d, ':') : NULL;
    char name[16];
    if (!colon || (size_t)(colon - d) >= sizeof(name))
        return ud_error_set(err, UD_EINVAL, 0, "bad digest %.100s", d ? d : "(null)");
    memcpy(name, d, (size_t)(colon - d));
    name[colon - d] = '\0';
    int rc = ud_hash_algo_from_name(name, &b->algo, err);
    if (rc < 0)
        return rc;
    size_t want = b->algo == UD_HASH_SHA512 ? 128 : 64, n = strlen(colon + 1);
    for (const char *p = colon + 1; *p; p++)
        if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
            n = 0;
    if (n != want)
        return ud_error_set(err, UD_EINVAL, 0, "bad digest %.100s", d);
    memcpy(b->expect_hex, colon + 1, n + 1);
    return 0;
}

bool
blob_is_cached(struct blob_state *b)
{
    char hex[UD_HASH_HEX_MAX];
    struct stat st;
    if (lstat(b->pub->dest_path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    if (b->size >= 0 && st.st_size != b->size)
        return false;
    if (ud_hash_file(b->pub->dest_path, b->algo, hex, NULL) < 0)
        return false;
    return strcmp(hex, b->expect_hex) == 0;
}

int
blob_pwrite(struct blob_state *b, const void *p, size_t n, int64_t off, struct ud_error *err)
{
    const char *q = p;
    while (n > 0) {
        ssize_t w = pwrite(b->fd, q, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            return ud_error_set(err, ud_error_from_errno(e), e, "write %s", b->partial);
        }
        q += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Hash [from, to) of the partial file. */
static int
hash_range(struct blob_state *b, int64_t from, int64_t to, unsigned char *buf, size_t bufsz,
           struct ud_error *err)
{
    while (from < to) {
        size_t want = (size_t)(to - from) < bufsz ? (size_t)(to - from) : bufsz;
        ssize_t r = pread(b->fd, buf, want, (off_t)from);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return ud_error_set(err, UD_EIO, r < 0 ? errno : 0, "read %s", b->partial);
        int rc = ud_hash_update(&b->hash, buf, (size_t)r, err);
        if (rc < 0)
            return rc;
        from += r;
    }
    return 0;
}

/* The good prefix recorded by an earlier run, or -1 without a state file. */
static int64_t
state_load(struct blob_state *b)
{
    char buf[128];
    int fd = open(b->state, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    long long good = 0;
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* A torn or foreign state file trusts nothing. */
    if (strncmp(buf, STATE_MAGIC "\ngood ", sizeof(STATE_MAGIC) + 5) != 0 ||
        sscanf(buf + sizeof(STATE_MAGIC) + 5, "%lld", &good) != 1 || good < 0)
        return 0;
    return good;
}

void
blob_state_save(struct blob_state *b)
{
    char buf[128];
    int n = snprintf(buf, sizeof(buf), STATE_MAGIC "\ngood %" PRId64 "\n", b->hashed);
    int fd = open(b->state, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return;
    if (write(fd, buf, (size_t)n) != n)
        ud_log(UD_LOG_DEBUG, "registry: cannot record progress in %s", b->state);
    close(fd);
}

int
blob_open_partial(struct ud_reg_client *c, struct blob_state *b, unsigned char *buf, size_t bufsz,
                  struct ud_error *err)
{
    struct stat st;
    b->fd = open(b->partial, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (b->fd < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", b->partial);
    /* Two pulls of one layer must not interleave their writes. */
    if (flock(b->fd, LOCK_EX | LOCK_NB) != 0)
        return ud_error_set(err, UD_EBUSY, 0, "%s is being downloaded by another process",
                            b->pub->digest);
    if (fstat(b->fd, &st) != 0)
        return ud_error_set(err, UD_EIO, errno, "stat %s", b->partial);
    int rc = ud_hash_init(&b->hash, b->algo, err);
    if (rc < 0)
        return rc;
    b->hash_live = true;
    /* A segmented download writes out of order, so only its state file
     * knows the contiguous prefix; a single stream is sequential, so its
     * length is the prefix. */
    int64_t good = state_load(b);
    if (good < 0)
        good = st.st_size;
    if (good > st.st_size)
        good = st.st_size;
    if (b->size >= 0 && good > b->size)
        good = 0;
    if (good > 0) {
        ud_log(UD_LOG_DEBUG, "registry: resuming %s at %" PRId64, b->pub->digest, good);
        rc = hash_range(b, 0, good, buf, bufsz, err);
        if (rc < 0)
            return rc;
    }
    if (ftruncate(b->fd, (off_t)good) != 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "truncate %s", b->partial);
    unlink(b->state);
    b->hashed = good;
    b->done = good;
    return 0;
}

int
blob_catch_up(struct blob_state *b, unsigned char *buf, size_t bufsz, struct ud_error *err)
{
    while (b->hseg < b->nsegs) {
        struct seg *s = b->segs[b->hseg];
        int64_t frontier = s->start + s->written;
        if (frontier > b->hashed) {
            int rc = hash_range(b, b->hashed, frontier, buf, bufsz, err);
            if (rc < 0)
                return rc;
            b->hashed = frontier;
        }
        if (s->state != SEG_DONE)
            break;
        b->hseg++;
    }
    return 0;
}

int
blob_restart(struct blob_state *b, struct ud_error *err)
{
    ud_hash_fini(&b->hash);
    b->hash_live = false;
    int rc = ud_hash_init(&b->hash, b->algo, err);
    if (rc < 0)
        return rc;
    b->hash_live = true;
    if (ftruncate(b->fd, 0) != 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "truncate %s", b->partial);
    unlink(b->state);
    b->hashed = 0;
    b->done = 0;
    b->hseg = 0;
    return 0;
}

void
blob_close(struct blob_state *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
    if (b->hash_live)
        ud_hash_fini(&b->hash);
    b->hash_live = false;
}

void
blob_discard(struct blob_state *b)
{
    if (b->partial)
        unlink(b->partial);
    if (b->state)
        unlink(b->state);
}

int
reg_file_commit(int fd, const char *tmp, const char *final, struct ud_error *err)
{
    char *copy = ud_strdup(final);
    if (!copy)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (dfd < 0)
        return ud_error_set(err, UD_EIO, errno, "open directory of %s", final);
    int rc = 0;
    if (fsync(fd) != 0)
        rc = ud_error_set(err, ud_error_from_errno(errno), errno, "fsync %s", tmp);
    else if (rename(tmp, final) != 0)
        rc = ud_error_set(err, ud_error_from_errno(errno), errno, "rename %s", final);
    else if (fsync(dfd) != 0 && errno != EINVAL)
        ud_log(UD_LOG_DEBUG, "registry: fsync directory of %s failed", final);
    close(dfd);
    return rc;
}

int
blob_finalize(struct blob_state *b, unsigned char *buf, size_t bufsz, struct ud_error *err)
{
    char hex[UD_HASH_HEX_MAX];
    int rc = blob_catch_up(b, buf, bufsz, err);
    if (rc < 0)
        return rc;
    const struct seg *last = b->nsegs ? b->segs[b->nsegs - 1] : NULL;
    int64_t total = last ? last->start + last->written : b->hashed;
    if (b->hashed != total)
        return ud_error_set(err, UD_EIO, 0, "%s: internal hashing gap", b->pub->digest);
    if (b->pub->size >= 0 && total != b->pub->size) {
        blob_discard(b);
        return ud_error_set(err, UD_EDIGEST, 0,
                            "%s: size mismatch (got %" PRId64 ", expected %" PRId64 ")",
                            b->pub->digest, total, b->pub->size);
    }
    rc = ud_hash_final_hex(&b->hash, hex, err);
    ud_hash_fini(&b->hash);
    b->hash_live = false;
    if (rc < 0)
        return rc;
    if (strcmp(hex, b->expect_hex) != 0) {
        blob_discard(b);
        return ud_error_set(err, UD_EDIGEST, 0, "%s: content does not match its digest",
                            b->pub->digest);
    }
    rc = reg_file_commit(b->fd, b->partial, b->pub->dest_path, err);
    if (rc < 0) {
        blob_discard(b);
        return rc;
    }
    unlink(b->state);
    return 0;
}

/* ---------------------------------------------------------------- */
/* The commit thread                                                 */
/* ---------------------------------------------------------------- */

#define COMMIT_BUF (256 * 1024)

static void *
committer_main(void *arg)
{
    struct committer *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (k->ntodo == 0 && !k->stop)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->ntodo == 0)
            break;
        struct blob_state *b = k->todo[0];
        memmove(k->todo, k->todo + 1, (k->ntodo - 1) * sizeof(*k->todo));
        k->ntodo--;
        pthread_mutex_unlock(&k->mu);
        /* The loop thread leaves a committing blob alone: no lock needed. */
        b->commit_rc = blob_finalize(b, k->buf, COMMIT_BUF, &b->commit_err);
        pthread_mutex_lock(&k->mu);
        k->done[k->ndone++] = b;
        pthread_cond_broadcast(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

void
committer_open(struct committer *k, size_t cap)
{
    sigset_t all, old;
    memset(k, 0, sizeof(*k));
    k->todo = ud_calloc(cap, sizeof(*k->todo));
    k->done = ud_calloc(cap, sizeof(*k->done));
    k->buf = ud_malloc(COMMIT_BUF);
    if (!k->todo || !k->done || !k->buf)
        goto fail;
    if (pthread_mutex_init(&k->mu, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&k->cv, NULL) != 0) {
        pthread_mutex_destroy(&k->mu);
        goto fail;
    }
    /* Signals (SIGINT for the cancel flag) stay with the calling thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&k->th, NULL, committer_main, k);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        goto fail;
    }
    k->running = true;
    return;
fail:
    ud_log(UD_LOG_DEBUG, "registry: no commit thread; committing inline");
    free(k->todo);
    free(k->done);
    free(k->buf);
    memset(k, 0, sizeof(*k));
}

bool
committer_submit(struct committer *k, struct blob_state *b)
{
    if (!k->running)
        return false;
    b->committing = true;
    pthread_mutex_lock(&k->mu);
    k->todo[k->ntodo++] = b;
    k->busy++;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    return true;
}

size_t
committer_collect(struct committer *k, struct blob_state **out, size_t max, bool wait)
{
    size_t n = 0;
    if (!k->running)
        return 0;
    pthread_mutex_lock(&k->mu);
    while (wait && k->ndone == 0 && k->busy > 0)
        pthread_cond_wait(&k->cv, &k->mu);
    n = k->ndone < max ? k->ndone : max;
    memcpy(out, k->done, n * sizeof(*out));
    memmove(k->done, k->done + n, (k->ndone - n) * sizeof(*k->done));
    k->ndone -= n;
    k->busy -= n;
    pthread_mutex_unlock(&k->mu);
    return n;
}

bool
committer_busy(struct committer *k)
{
    if (!k->running)
        return false;
    pthread_mutex_lock(&k->mu);
    bool busy = k->busy > 0;
    pthread_mutex_unlock(&k->mu);
    return busy;
}

void
committer_close(struct committer *k)
{
    if (!k->running)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = true;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->th, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k->todo);
    free(k->done);
    free(k->buf);
    memset(k, 0, sizeof(*k));
}
