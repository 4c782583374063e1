/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer file as a libarchive reader. libarchive only parses tar; gzip
 * and zstd are decoded here, in a helper thread, into a small ring of large
 * buffers, so decompression and writing run on two cores at once as they do
 * with `tar -xzf` (tar and gzip in two processes). bzip2 and xz, rare in
 * images, go through libarchive's own filters in the calling thread.
 */
#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "archive_lazy.h"
#include "tarextract_int.h"

#define CHUNK_SIZE ((size_t)1 << 20)
#define NCHUNK 4
#define INBUF_SIZE ((size_t)1 << 20)

struct chunk {
    unsigned char *p;
    size_t len;
};

struct tar_stream {
    int fd;
    enum ud_tar_compression comp;
    struct archive *ar;
    bool threaded;

    /* decoder state: used by the producer thread only once it runs */
    unsigned char *in;
    size_t in_len, in_pos;
    bool in_eof;
    bool finished; /* decoder reached the end of its stream */
    z_stream zs;
    bool zs_ready;
    bool gz_member; /* inside a gzip member */
    ZSTD_DCtx *zd;
    size_t zlast; /* last ZSTD_decompressStream() result */

    /* ring of decoded chunks; head is the oldest, count includes a chunk
     * the consumer holds (libarchive keeps using it until its next read) */
    struct chunk chunk[NCHUNK];
    unsigned char *chunk_mem;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool sync_ready;
    unsigned head, count;
    bool holding, done, cancel;
    pthread_t thr;
    bool thr_started;

    /* first decoder/read error, written before done is published */
    int ecode, eerrno;
    char emsg[200];
};

static int UD_PRINTF(4, 5) decoder_fail(struct tar_stream *s, int code, int e, const char *fmt, ...)
{
    va_list ap;
    if (s->ecode == 0) {
        s->ecode = code;
        s->eerrno = e;
        va_start(ap, fmt);
        vsnprintf(s->emsg, sizeof(s->emsg), fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Move unread input to the front and read until at least want bytes are
 * buffered or the file ends. */
static int
fill_input(struct tar_stream *s, size_t want)
{
    if (s->in_pos > 0) {
        memmove(s->in, s->in + s->in_pos, s->in_len - s->in_pos);
        s->in_len -= s->in_pos;
        s->in_pos = 0;
    }
    while (!s->in_eof && s->in_len < want) {
        ssize_t r = read(s->fd, s->in + s->in_len, INBUF_SIZE - s->in_len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return decoder_fail(s, UD_EIO, errno, "read layer");
        if (r == 0)
            s->in_eof = true;
        s->in_len += (size_t)r;
    }
    return 0;
}

/* Read the raw file (plain tar, or input of a libarchive filter). */
static int
raw_decode(struct tar_stream *s, unsigned char *out, size_t cap, size_t *got)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(s->fd, out + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return decoder_fail(s, UD_EIO, errno, "read layer");
        if (r == 0) {
            s->finished = true;
            break;
        }
        n += (size_t)r;
    }
    *got = n;
    return s->finished ? 0 : 1;
}

/* gzip, with concatenated members as gzip(1) reads them; bytes after the
 * last member that do not start a new one are ignored, as gzip does. */
static int
gz_decode(struct tar_stream *s, unsigned char *out, size_t cap, size_t *got)
{
    z_stream *z = &s->zs;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    while (z->avail_out > 0 && !s->finished) {
        if (s->in_pos == s->in_len && !s->in_eof && fill_input(s, 1) < 0)
            return -1;
        if (!s->gz_member) {
            if (s->in_len - s->in_pos < 2 && fill_input(s, 2) < 0)
                return -1;
            const unsigned char *b = s->in + s->in_pos;
            if (s->in_len - s->in_pos < 2 || b[0] != 0x1f || b[1] != 0x8b) {
                s->finished = true;
                break;
            }
            if (inflateReset(z) != Z_OK)
                return decoder_fail(s, UD_EPARSE, 0, "gzip: cannot reset decoder");
            s->gz_member = true;
        }
        z->next_in = s->in + s->in_pos;
        z->avail_in = (uInt)(s->in_len - s->in_pos);
        int r = inflate(z, Z_NO_FLUSH);
        s->in_pos = s->in_len - z->avail_in;
        if (r == Z_STREAM_END) {
            s->gz_member = false;
        } else if (r == Z_BUF_ERROR && s->in_pos == s->in_len && s->in_eof) {
            return decoder_fail(s, UD_EPARSE, 0, "gzip: unexpected end of compressed data");
        } else if (r == Z_MEM_ERROR) {
            return decoder_fail(s, UD_ENOMEM, ENOMEM, "gzip: out of memory");
        } else if (r != Z_OK && r != Z_BUF_ERROR) {
            return decoder_fail(s, UD_EPARSE, 0, "gzip: %s",
                                z->msg ? z->msg : "invalid compressed data");
        }
    }
    *got = cap - z->avail_out;
    return s->finished ? 0 : 1;
}

static int
zstd_decode(struct tar_stream *s, unsigned char *out, size_t cap, size_t *got)
{
    ZSTD_outBuffer ob = {out, cap, 0};
    while (ob.pos < ob.size && !s->finished) {
        if (s->in_pos == s->in_len && !s->in_eof && fill_input(s, 1) < 0)
            return -1;
        if (s->in_pos == s->in_len && s->in_eof && s->zlast == 0) {
            s->finished = true; /* every frame complete */
            break;
        }
        size_t before = ob.pos;
        ZSTD_inBuffer ib = {s->in, s->in_len, s->in_pos};
        size_t r = ZSTD_decompressStream(s->zd, &ob, &ib);
        s->in_pos = ib.pos;
        if (ZSTD_isError(r))
            return decoder_fail(s, UD_EPARSE, 0, "zstd: %s", ZSTD_getErrorName(r));
        s->zlast = r;
        if (s->in_pos == s->in_len && s->in_eof && ob.pos == before) {
            if (r != 0)
                return decoder_fail(s, UD_EPARSE, 0, "zstd: unexpected end of compressed data");
            s->finished = true;
        }
    }
    *got = ob.pos;
    return s->finished ? 0 : 1;
}

/* 1: more may follow, 0: end of stream (got may be > 0), -1: error. */
static int
decode(struct tar_stream *s, unsigned char *out, size_t cap, size_t *got)
{
    *got = 0;
    if (s->finished)
        return 0;
    switch (s->comp) {
    case UD_TAR_COMP_GZIP:
        return gz_decode(s, out, cap, got);
    case UD_TAR_COMP_ZSTD:
        return zstd_decode(s, out, cap, got);
    default:
        return raw_decode(s, out, cap, got);
    }
}

static void *
producer(void *arg)
{
    struct tar_stream *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->cancel && s->count == NCHUNK)
            pthread_cond_wait(&s->cv, &s->mu);
        bool stop = s->cancel;
        unsigned idx = (s->head + s->count) % NCHUNK;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        size_t got = 0;
        int r = decode(s, s->chunk[idx].p, CHUNK_SIZE, &got);
        pthread_mutex_lock(&s->mu);
        if (r >= 0 && got > 0) {
            s->chunk[idx].len = got;
            s->count++;
        }
        if (r <= 0)
            s->done = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        if (r <= 0)
            break;
    }
    return NULL;
}

/* Next decoded chunk for the consumer: 1 with *c set, 0 at the end, -1 on
 * a decoder error. Releases the chunk handed out before. */
static int
next_chunk(struct tar_stream *s, struct chunk *c)
{
    if (!s->threaded) {
        int r = decode(s, s->chunk[0].p, CHUNK_SIZE, &c->len);
        c->p = s->chunk[0].p;
        return r < 0 ? -1 : c->len > 0;
    }
    pthread_mutex_lock(&s->mu);
    if (s->holding) {
        s->head = (s->head + 1) % NCHUNK;
        s->count--;
        s->holding = false;
        pthread_cond_broadcast(&s->cv);
    }
    while (s->count == 0 && !s->done)
        pthread_cond_wait(&s->cv, &s->mu);
    int r = 0;
    if (s->count > 0) {
        s->holding = true;
        *c = s->chunk[s->head];
        r = 1;
    } else if (s->ecode) {
        r = -1;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static la_ssize_t
read_cb(struct archive *a, void *ud, const void **buf)
{
    struct tar_stream *s = ud;
    struct chunk c = {NULL, 0};
    int r = next_chunk(s, &c);
    if (r < 0) {
        archive_set_error(a, s->eerrno ? s->eerrno : EILSEQ, "%s", s->emsg);
        return ARCHIVE_FATAL;
    }
    *buf = c.p;
    return r ? (la_ssize_t)c.len : 0;
}

static int
stream_setup_decoder(struct tar_stream *s, struct ud_error *err)
{
    if (s->comp == UD_TAR_COMP_GZIP) {
        /* 16 + 15: gzip wrapper, largest window; checks CRC32 and ISIZE. */
        int r = inflateInit2(&s->zs, 16 + 15);
        if (r != Z_OK)
            return ud_error_set(err, UD_ENOMEM, ENOMEM, "gzip: cannot initialise decoder");
        s->zs_ready = true;
    } else if (s->comp == UD_TAR_COMP_ZSTD) {
        s->zd = ZSTD_createDCtx();
        if (!s->zd)
            return ud_error_set(err, UD_ENOMEM, ENOMEM, "zstd: cannot initialise decoder");
        s->zlast = 0;
    }
    return 0;
}

static int
stream_setup_archive(struct tar_stream *s, struct ud_error *err)
{
    /* libarchive may be opened only now (UD_LAZY_LIBS): say so if it is
     * missing rather than "cannot create archive reader". */
    int rc = tar_archive_load(err);
    if (rc < 0)
        return rc;
    s->ar = archive_read_new();
    if (!s->ar)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "cannot create archive reader");
    /* Only tar (and a zero-length stream): a layer is nothing else. */
    archive_read_support_format_tar(s->ar);
    archive_read_support_format_empty(s->ar);
    if (s->comp == UD_TAR_COMP_BZIP2)
        archive_read_support_filter_bzip2(s->ar);
    else if (s->comp == UD_TAR_COMP_XZ)
        archive_read_support_filter_xz(s->ar);
    if (s->threaded) {
        if (pthread_mutex_init(&s->mu, NULL) != 0)
            return ud_error_set(err, UD_ENOMEM, ENOMEM, "cannot create mutex");
        if (pthread_cond_init(&s->cv, NULL) != 0) {
            pthread_mutex_destroy(&s->mu);
            return ud_error_set(err, UD_ENOMEM, ENOMEM, "cannot create condition");
        }
        s->sync_ready = true;
        int e = pthread_create(&s->thr, NULL, producer, s);
        if (e != 0)
            return ud_error_set(err, UD_ENOMEM, e, "cannot start decompression thread");
        s->thr_started = true;
    }
    archive_read_set_read_callback(s->ar, read_cb);
    archive_read_set_callback_data(s->ar, s);
    if (archive_read_open1(s->ar) != ARCHIVE_OK)
        return tar_stream_error(s, "not a tar archive", err);
    return 0;
}

int
tar_stream_open(const char *path, unsigned flags, struct tar_stream **out, struct ud_error *err)
{
    struct tar_stream *s = ud_calloc(1, sizeof(*s));
    if (!s)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    int rc;
    /* One open for detection and reading: the bytes told apart are the
     * bytes decoded, even if the file is replaced meanwhile. */
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        rc = ud_error_set(err, errno == ENOENT ? UD_ENOENT : UD_EIO, errno, "open %s", path);
        goto fail;
    }
    int e = -tar_compression_detect_fd(s->fd, &s->comp);
    if (e > 0) {
        rc = ud_error_set(err, UD_EIO, e, "read %s", path);
        goto fail;
    }
    if (s->comp == UD_TAR_COMP_UNKNOWN) {
        rc = ud_error_set(err, UD_EPARSE, 0, "not a tar archive (nor gzip, zstd, bzip2, xz)");
        goto fail;
    }
    (void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    bool decodes = s->comp == UD_TAR_COMP_GZIP || s->comp == UD_TAR_COMP_ZSTD;
    s->threaded = decodes && !(flags & UD_TAR_F_SINGLE_THREAD);
    size_t nchunks = s->threaded ? NCHUNK : 1;
    s->chunk_mem = ud_malloc(nchunks * CHUNK_SIZE);
    s->in = decodes ? ud_malloc(INBUF_SIZE) : NULL;
    if (!s->chunk_mem || (decodes && !s->in)) {
        rc = ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < nchunks; i++)
        s->chunk[i].p = s->chunk_mem + i * CHUNK_SIZE;
    rc = stream_setup_decoder(s, err);
    if (rc == 0)
        rc = stream_setup_archive(s, err);
    if (rc < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    tar_stream_close(s);
    return rc;
}

struct archive *
tar_stream_archive(struct tar_stream *s)
{
    return s->ar;
}

int
tar_stream_finish(struct tar_stream *s, struct ud_error *err)
{
    if (s->comp != UD_TAR_COMP_GZIP && s->comp != UD_TAR_COMP_ZSTD)
        return 0;
    struct chunk c;
    int r;
    while ((r = next_chunk(s, &c)) > 0)
        ;
    if (r < 0)
        return ud_error_set(err, s->ecode, s->eerrno, "%s", s->emsg);
    return 0;
}

int
tar_stream_error(struct tar_stream *s, const char *what, struct ud_error *err)
{
    bool have = false;
    if (s->threaded) {
        pthread_mutex_lock(&s->mu);
        have = s->done && s->ecode;
        pthread_mutex_unlock(&s->mu);
    } else {
        have = s->ecode != 0;
    }
    if (have)
        return ud_error_set(err, s->ecode, s->eerrno, "%s", s->emsg);
    const char *m = s->ar ? archive_error_string(s->ar) : NULL;
    int e = s->ar ? archive_errno(s->ar) : 0;
    if (e == ENOMEM)
        return ud_error_set(err, UD_ENOMEM, e, "%s", m ? m : "out of memory");
    return ud_error_set(err, UD_EPARSE, 0, "%s: %s", what, m ? m : "unknown error");
}

void
tar_stream_close(struct tar_stream *s)
{
    if (!s)
        return;
    if (s->thr_started) {
        pthread_mutex_lock(&s->mu);
        s->cancel = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thr, NULL);
    }
    if (s->ar)
        archive_read_free(s->ar);
    if (s->sync_ready) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
    }
    if (s->zs_ready)
        inflateEnd(&s->zs);
    if (s->zd)
        ZSTD_freeDCtx(s->zd);
    if (s->fd >= 0)
        close(s->fd);
    free(s->chunk_mem);
    free(s->in);
    free(s);
}
