/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The single pass of load over the archive. docker save lists
 * manifest.json last, so nothing can be decided before the end: every
 * regular member is kept, the small ones in memory and the rest spooled to
 * numbered files beside layers/ (renamed into place later, never copied),
 * each hashed while it streams by. Links are kept as names and resolved
 * lexically inside the archive, never on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive_int.h"

#define WRITEBACK_CHUNK (64u << 20)

static void
entry_fini(struct ar_entry *e)
{
    free(e->name);
    free(e->link);
    free(e->data);
    if (e->spool && !e->placed)
        (void)unlink(e->spool);
    free(e->spool);
    memset(e, 0, sizeof(*e));
}

void
ar_scan_fini(struct ar_scan *sc)
{
    for (size_t i = 0; i < sc->n; i++)
        entry_fini(&sc->v[i]);
    free(sc->v);
    sc->v = NULL;
    sc->n = sc->cap = 0;
}

static struct ar_entry *
lookup(struct ar_scan *sc, const char *name)
{
    for (size_t i = sc->n; i-- > 0;)
        if (strcmp(sc->v[i].name, name) == 0)
            return &sc->v[i];
    return NULL;
}

/* A slot for name: the existing one (a later member of the same name
 * replaces an earlier one, as tar extraction would) or a new one. */
static struct ar_entry *
slot_for(struct ar_scan *sc, const char *name, struct ud_error *err)
{
    struct ar_entry *e = lookup(sc, name);
    if (e) {
        size_t mem = e->data ? e->size : 0;
        entry_fini(e);
        sc->mem_used -= mem;
    } else {
        if (sc->n == sc->cap) {
            size_t nc = sc->cap ? sc->cap * 2 : 64;
            struct ar_entry *nv = ud_realloc(sc->v, nc * sizeof(*nv));
            if (!nv) {
                ud_error_set(err, UD_ENOMEM, 0, "out of memory");
                return NULL;
            }
            sc->v = nv;
            sc->cap = nc;
        }
        e = &sc->v[sc->n++];
        memset(e, 0, sizeof(*e));
    }
    e->name = ud_strdup(name);
    if (!e->name) {
        *e = sc->v[--sc->n]; /* drop the empty slot */
        ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        return NULL;
    }
    return e;
}

/* Stream the member's data to out_fd (or into mem), hashing it. */
static int
take_data(struct ar_reader *r, struct ar_entry *e, int out_fd, char *mem, unsigned char *buf,
          struct ud_error *err)
{
    struct ud_hash h = {0};
    int rc = ud_hash_init(&h, UD_HASH_SHA256, err);
    uint64_t got = 0, synced = 0;
    while (rc == 0) {
        unsigned char *dst = mem ? (unsigned char *)mem + got : buf;
        ssize_t k = ar_reader_data(r, dst, mem ? (size_t)(e->size - got) : AR_BUF_SIZE, err);
        if (k < 0)
            rc = (int)k;
        if (k <= 0)
            break;
        if (got < sizeof(e->head))
            memcpy(e->head + got, dst,
                   (size_t)k < sizeof(e->head) - got ? (size_t)k : sizeof(e->head) - got);
        rc = ud_hash_update(&h, dst, (size_t)k, err);
        if (rc == 0 && out_fd >= 0)
            rc = ar_write_all(out_fd, dst, (size_t)k, e->spool, err);
        got += (uint64_t)k;
        /* Start writeback as we go, so the final fdatasync is short. */
        if (rc == 0 && out_fd >= 0 && got - synced >= WRITEBACK_CHUNK) {
            (void)sync_file_range(out_fd, (off_t)synced, (off_t)(got - synced),
                                  SYNC_FILE_RANGE_WRITE);
            synced = got;
        }
    }
    if (rc == 0)
        rc = ud_hash_final_hex(&h, e->sha256, err);
    ud_hash_fini(&h);
    if (rc == 0 && out_fd >= 0 && fdatasync(out_fd) < 0)
        rc = ud_error_set(err, ud_error_from_errno(errno) == UD_ENOSPC ? UD_ENOSPC : UD_EIO, errno,
                          "writing %s", e->spool);
    return rc;
}

static int
take_file(struct ar_scan *sc, struct ar_reader *r, const struct ar_member *m, unsigned char *buf,
          struct ud_error *err)
{
    struct ar_entry *e = slot_for(sc, m->name, err);
    if (!e)
        return err ? err->code : UD_ENOMEM;
    e->type = AR_FILE;
    e->size = m->size;
    if (m->size <= AR_SMALL_MAX && sc->mem_used + m->size <= AR_MEM_TOTAL) {
        e->data = ud_malloc((size_t)m->size + 1);
        if (!e->data)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        e->data[m->size] = '\0';
        sc->mem_used += m->size;
        return take_data(r, e, -1, e->data, buf, err);
    }
    e->spool = ud_asprintf("%s/b%u", sc->spool_dir, sc->seq++);
    if (!e->spool)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    cleanup_close int fd = open(e->spool, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int ec = errno;
        free(e->spool);
        e->spool = NULL;
        return ud_error_set(err, UD_EIO, ec, "creating a spool file in %s", sc->spool_dir);
    }
    return take_data(r, e, fd, NULL, buf, err);
}

static int
take_link(struct ar_scan *sc, const struct ar_member *m, struct ud_error *err)
{
    struct ar_entry *e = slot_for(sc, m->name, err);
    if (!e)
        return err ? err->code : UD_ENOMEM;
    e->type = m->type;
    e->link = ud_strdup(m->link);
    if (!e->link)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (m->type == AR_HARDLINK && !ar_name_normalise(e->link))
        return ud_error_set(err, UD_EUNSAFE, 0, "archive link escapes the archive: %.200s",
                            m->name);
    return 0;
}

int
ar_scan_read(struct ar_scan *sc, int fd, struct ud_error *err)
{
    struct ar_reader r;
    int rc = ar_reader_open(&r, fd, err);
    if (rc < 0)
        return rc;
    struct ar_member *m = ud_malloc(sizeof(*m));
    unsigned char *buf = ud_malloc(AR_BUF_SIZE);
    if (!m || !buf)
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    while (rc == 0) {
        rc = ar_reader_next(&r, m, err);
        if (rc <= 0)
            break;
        rc = 0;
        if (m->name[0] == '\0' || m->type == AR_DIR || m->type == AR_OTHER)
            continue;
        if (m->type == AR_FILE)
            rc = take_file(sc, &r, m, buf, err);
        else
            rc = take_link(sc, m, err);
    }
    free(m);
    free(buf);
    ar_reader_close(&r);
    return rc < 0 ? rc : 0;
}

/* Lexically join the directory of from with a relative link target,
 * resolving "." and ".."; false when it climbs above the archive root. */
static bool
lex_join(const char *from, const char *target, char *out, size_t outsz)
{
    const char *slash = strrchr(from, '/');
    size_t dl = slash ? (size_t)(slash - from) : 0;
    int n = snprintf(out, outsz, "%.*s%s%s", (int)dl, from, dl ? "/" : "", target);
    if (n < 0 || (size_t)n >= outsz)
        return false;
    return ar_name_resolve(out);
}

int
ar_scan_find(struct ar_scan *sc, const char *name, struct ar_entry **out, struct ud_error *err)
{
    char cur[AR_NAME_MAX];
    if (snprintf(cur, sizeof(cur), "%s", name) >= (int)sizeof(cur) || !ar_name_normalise(cur))
        return ud_error_set(err, UD_EUNSAFE, 0, "archive names a file outside it: %.200s", name);
    for (int hop = 0; hop <= AR_LINK_HOPS; hop++) {
        struct ar_entry *e = lookup(sc, cur);
        if (!e)
            return ud_error_set(err, UD_ENOENT, 0, "archive has no member %.200s", cur);
        if (e->type == AR_FILE) {
            *out = e;
            return 0;
        }
        char next[AR_NAME_MAX];
        if (e->type == AR_HARDLINK) {
            snprintf(next, sizeof(next), "%s", e->link);
        } else if (e->link[0] == '/' || !lex_join(cur, e->link, next, sizeof(next))) {
            return ud_error_set(err, UD_EUNSAFE, 0, "archive link %.200s points outside it",
                                e->name);
        }
        memcpy(cur, next, sizeof(cur));
    }
    return ud_error_set(err, UD_EUNSAFE, 0, "too many links at %.200s", name);
}

int
ar_entry_read(const struct ar_entry *e, size_t max, char **data, size_t *len, struct ud_error *err)
{
    if (e->size > max)
        return ud_error_set(err, UD_ETOOBIG, 0, "archive member %.200s is too large", e->name);
    if (e->data) {
        char *d = ud_malloc((size_t)e->size + 1);
        if (!d)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        memcpy(d, e->data, (size_t)e->size + 1);
        *data = d;
        *len = (size_t)e->size;
        return 0;
    }
    return ud_file_read(e->spool, max, data, len, err);
}
