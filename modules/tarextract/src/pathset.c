/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The set of paths a layer has written so far (and their ancestors), so a
 * whiteout or an opaque marker met later in the same archive deletes only
 * what lower layers left. Open addressing over FNV-1a hashes; the strings
 * live in an arena, so marking costs no allocation per member.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tarextract_int.h"

#define ARENA_CHUNK ((size_t)256 << 10)
#define FIRST_SLOTS 4096

struct tar_pathset_slot {
    uint64_t hash;
    const char *p; /* NULL: empty slot */
    uint32_t len;
    uint32_t flags;
};

struct tar_arena_chunk {
    struct tar_arena_chunk *next;
    size_t used, cap;
    char data[];
};

void
tar_pathset_init(struct tar_pathset *s)
{
    memset(s, 0, sizeof(*s));
}

void
tar_pathset_fini(struct tar_pathset *s)
{
    free(s->slots);
    while (s->arena) {
        struct tar_arena_chunk *n = s->arena->next;
        free(s->arena);
        s->arena = n;
    }
    memset(s, 0, sizeof(*s));
}

static uint64_t
hash_path(const char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static struct tar_pathset_slot *
find(const struct tar_pathset *s, uint64_t h, const char *p, size_t len)
{
    size_t mask = s->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct tar_pathset_slot *sl = &s->slots[i];
        if (!sl->p || (sl->hash == h && sl->len == len && memcmp(sl->p, p, len) == 0))
            return sl;
    }
}

static int
grow(struct tar_pathset *s, struct ud_error *err)
{
    size_t n = s->nslots ? s->nslots * 2 : FIRST_SLOTS;
    struct tar_pathset_slot *old = s->slots;
    size_t oldn = s->nslots;
    s->slots = ud_calloc(n, sizeof(*s->slots));
    if (!s->slots) {
        s->slots = old;
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    }
    s->nslots = n;
    for (size_t i = 0; i < oldn; i++)
        if (old[i].p)
            *find(s, old[i].hash, old[i].p, old[i].len) = old[i];
    free(old);
    return 0;
}

static const char *
arena_copy(struct tar_pathset *s, const char *p, size_t len)
{
    struct tar_arena_chunk *c = s->arena;
    if (!c || c->cap - c->used < len) {
        size_t cap = len > ARENA_CHUNK ? len : ARENA_CHUNK;
        c = ud_malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = s->arena;
        s->arena = c;
    }
    char *d = c->data + c->used;
    memcpy(d, p, len);
    c->used += len;
    return d;
}

/* Set flags on path; *existed tells whether it was already there. */
static int
mark_one(struct tar_pathset *s, const char *p, size_t len, unsigned flags, bool *existed,
         struct ud_error *err)
{
    if ((s->used + 1) * 2 > s->nslots) {
        int rc = grow(s, err);
        if (rc < 0)
            return rc;
    }
    uint64_t h = hash_path(p, len);
    struct tar_pathset_slot *sl = find(s, h, p, len);
    *existed = sl->p != NULL;
    if (!sl->p) {
        const char *copy = arena_copy(s, p, len);
        if (!copy)
            return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
        sl->p = copy;
        sl->hash = h;
        sl->len = (uint32_t)len;
        s->used++;
    }
    sl->flags |= flags;
    return 0;
}

int
tar_pathset_mark(struct tar_pathset *s, const char *path, size_t len, struct ud_error *err)
{
    bool existed;
    int rc = mark_one(s, path, len, TAR_MARK_OWN, &existed, err);
    /* An entry already present has its ancestors marked: stop there. */
    while (rc == 0 && !existed) {
        while (len > 0 && path[len - 1] != '/')
            len--;
        if (len == 0)
            break;
        len--; /* the '/' */
        rc = mark_one(s, path, len, TAR_MARK_ANCESTOR, &existed, err);
    }
    return rc;
}

unsigned
tar_pathset_get(const struct tar_pathset *s, const char *path, size_t len)
{
    if (s->nslots == 0)
        return 0;
    const struct tar_pathset_slot *sl = find(s, hash_path(path, len), path, len);
    return sl->p ? sl->flags : 0;
}
