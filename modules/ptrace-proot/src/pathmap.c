/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The path map: the container root and binds, host-to-guest translation,
 * and the cache of resolved guest prefixes with its invalidation. The
 * guest-to-host walk itself is in pathmap_resolve.c.
 */
#define UD_PATHMAP_INTERNAL 1
#include "pathmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ud/engine.h"

/* Beyond these the cache is dropped and refilled: a walk of a huge tree
 * must not grow the tracer without bound. */
#define PM_CACHE_MAX_ENTRIES (1u << 20)
#define PM_CACHE_MAX_BYTES (64u << 20)

/* ------------------------------------------------------------------ */
/* Hashing and tables                                                  */
/* ------------------------------------------------------------------ */

/* FNV-1a: byte-wise, so the hash of every prefix of a path falls out of
 * one pass over it (pathmap_resolve.c probes several prefixes). */
uint64_t
pm_hash_more(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t
pm_hash(const char *s, size_t n)
{
    return pm_hash_more(PM_HASH_INIT, s, n);
}

const struct pm_entry *
pm_table_find(const struct pm_table *t, uint64_t hash, const char *key, size_t klen)
{
    if (t->cap == 0)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const struct pm_entry *e = &t->slots[i];
        if (!e->key)
            return NULL;
        if (e->hash == hash && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    }
}

static void
table_clear(struct pm_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].key);
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = t->bytes = 0;
}

/* Double the table (or create it); false on allocation failure. */
static bool
table_grow(struct pm_table *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 256;
    struct pm_entry *ns = ud_calloc(ncap, sizeof(*ns));
    if (!ns)
        return false;
    for (size_t i = 0; i < t->cap; i++) {
        struct pm_entry *e = &t->slots[i];
        if (!e->key)
            continue;
        size_t j = e->hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = *e;
    }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return true;
}

/* Insert a new key (the caller checked it is absent). */
static bool
table_add(struct pm_table *t, uint64_t hash, const char *key, size_t klen, const char *host,
          size_t hlen, const char *guest, size_t glen, uint32_t nlinks)
{
    if ((t->n + 1) * 4 > t->cap * 3 && !table_grow(t))
        return false;
    size_t total = klen + 1 + (host ? hlen + 1 : 0) + (guest ? glen + 1 : 0);
    char *blob = ud_malloc(total);
    if (!blob)
        return false;
    struct pm_entry e = {.hash = hash, .key = blob, .klen = (uint32_t)klen, .nlinks = nlinks};
    memcpy(blob, key, klen);
    blob[klen] = '\0';
    char *p = blob + klen + 1;
    if (host) {
        memcpy(p, host, hlen);
        p[hlen] = '\0';
        e.host = p;
        e.hlen = (uint32_t)hlen;
        p += hlen + 1;
    }
    if (guest) {
        memcpy(p, guest, glen);
        p[glen] = '\0';
        e.guest = p;
        e.glen = (uint32_t)glen;
    }
    size_t i = hash & (t->cap - 1);
    while (t->slots[i].key)
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = e;
    t->n++;
    t->bytes += total;
    return true;
}

void
pm_cache_flush(struct ud_pathmap *m)
{
    if (m->cache.n == 0 && m->via.n == 0)
        return;
    table_clear(&m->cache);
    table_clear(&m->via);
    m->gen++;
    m->st.flushes++;
    m->st.entries = 0;
}

static bool
cache_full(const struct ud_pathmap *m)
{
    return m->cache.n + m->via.n >= PM_CACHE_MAX_ENTRIES ||
           m->cache.bytes + m->via.bytes >= PM_CACHE_MAX_BYTES;
}

void
pm_cache_put(struct ud_pathmap *m, uint64_t gen, uint64_t hash, const char *key, size_t klen,
             const char *host, size_t hlen, const char *guest, size_t glen, uint32_t nlinks)
{
    if (gen != m->gen || klen == 0 || pm_table_find(&m->cache, hash, key, klen))
        return;
    if (cache_full(m)) {
        pm_cache_flush(m);
        return;
    }
    if (table_add(&m->cache, hash, key, klen, host, hlen, guest, glen, nlinks)) {
        m->st.inserts++;
        m->st.entries = m->cache.n;
    }
}

void
pm_via_put(struct ud_pathmap *m, const char *host, size_t hlen)
{
    uint64_t hash = pm_hash(host, hlen);
    if (pm_table_find(&m->via, hash, host, hlen))
        return;
    if (cache_full(m))
        pm_cache_flush(m);
    /* If this fails the entries that depend on it must not outlive a
     * change to it: drop them all now rather than risk a stale answer. */
    if (!table_add(&m->via, hash, host, hlen, NULL, 0, NULL, 0, 0))
        pm_cache_flush(m);
}

/* ------------------------------------------------------------------ */
/* Lexical path cleaning                                               */
/* ------------------------------------------------------------------ */

/* Clean absolute path p into out[outsz]: no "", "." or ".." components,
 * no trailing "/" ("/" stays "/"). -EINVAL when p is relative,
 * -ENAMETOOLONG when out is too small. */
static int
clean_abs(const char *p, char *out, size_t outsz)
{
    if (!p || p[0] != '/')
        return -EINVAL;
    size_t n = 0;
    const char *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t len = (size_t)(e - s);
        if (len == 0 || (len == 1 && s[0] == '.')) {
            s = e;
            continue;
        }
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
            s = e;
            continue;
        }
        if (n + 1 + len + 1 > outsz)
            return -ENAMETOOLONG;
        out[n++] = '/';
        memcpy(out + n, s, len);
        n += len;
        s = e;
    }
    if (n == 0) {
        if (outsz < 2)
            return -ENAMETOOLONG;
        out[n++] = '/';
    }
    out[n] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ */
/* Construction                                                        */
/* ------------------------------------------------------------------ */

static bool
is_proc_host(const char *h)
{
    return strcmp(h, "/proc") == 0 || ud_str_has_prefix(h, "/proc/");
}

/* Copy one bind into m->binds[m->nbinds] unless it is a missing system bind. */
static int
bind_add(struct ud_pathmap *m, const struct ud_bind *b, struct ud_error *err)
{
    char buf[PATH_MAX];
    if (!b->host || !b->cont)
        return ud_error_set(err, UD_EINVAL, 0, "bind without a path");
    if (clean_abs(b->cont, buf, sizeof(buf)) != 0 || strcmp(buf, "/") == 0)
        return ud_error_set(err, UD_EINVAL, 0, "invalid container path of a bind: %s", b->cont);
    cleanup_free char *cont = ud_strdup(buf);
    if (!cont)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "bind %s", b->cont);
    if (b->host[0] != '/')
        return ud_error_set(err, UD_EINVAL, 0, "invalid host path of a bind: %s", b->host);
    enum pm_kind kind = PM_MISSING;
    char *real = realpath(b->host, NULL); /* libc malloc: not counted by the hook */
    if (real) {
        struct stat st;
        kind = stat(real, &st) == 0 && S_ISDIR(st.st_mode) ? PM_DIR : PM_FILE;
        bool fits = strlen(real) < sizeof(buf);
        if (fits)
            memcpy(buf, real, strlen(real) + 1);
        free(real);
        if (!fits)
            return ud_error_set(err, UD_EINVAL, ENAMETOOLONG, "bind %s", b->host);
    } else {
        if (b->flags & UD_BIND_SYS)
            return 0;
        if (clean_abs(b->host, buf, sizeof(buf)) != 0)
            return ud_error_set(err, UD_EINVAL, 0, "invalid host path of a bind: %s", b->host);
    }
    char *host = ud_strdup(buf);
    if (!host)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "bind %s", b->host);
    struct pm_bind *pb = &m->binds[m->nbinds++];
    pb->cont = ud_steal(&cont);
    pb->clen = strlen(pb->cont);
    pb->host = host;
    pb->hlen = strlen(host);
    pb->kind = kind;
    pb->opaque = is_proc_host(host);
    return 0;
}

static int
root_set(struct ud_pathmap *m, const char *root, struct ud_error *err)
{
    if (!root || root[0] != '/')
        return ud_error_set(err, UD_EINVAL, 0, "container root must be absolute: %s",
                            root ? root : "(null)");
    char *real = realpath(root, NULL);
    if (!real)
        return ud_error_set(err, UD_ENOENT, errno, "container root %s", root);
    struct stat st;
    bool dir = stat(real, &st) == 0 && S_ISDIR(st.st_mode);
    /* The root "/" is kept as "" so root + "/usr" is "/usr". */
    m->root = ud_strdup(strcmp(real, "/") == 0 ? "" : real);
    free(real);
    if (!dir)
        return ud_error_set(err, UD_ENOENT, ENOTDIR, "container root %s", root);
    if (!m->root)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "container root %s", root);
    m->rootlen = strlen(m->root);
    return 0;
}

int
ud_pathmap_new(const char *root, const struct ud_bind *binds, size_t nbinds,
               struct ud_pathmap **out, struct ud_error *err)
{
    struct ud_pathmap *m = ud_calloc(1, sizeof(*m));
    if (!m)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "path map");
    int r = root_set(m, root, err);
    if (r == 0 && nbinds > 0) {
        m->binds = ud_calloc(nbinds, sizeof(*m->binds));
        if (!m->binds)
            r = ud_error_set(err, UD_ENOMEM, ENOMEM, "path map binds");
    }
    for (size_t i = 0; r == 0 && i < nbinds; i++)
        r = bind_add(m, &binds[i], err);
    if (r != 0) {
        ud_pathmap_free(m);
        return r;
    }
    *out = m;
    return 0;
}

void
ud_pathmap_free(struct ud_pathmap *m)
{
    if (!m)
        return;
    table_clear(&m->cache);
    table_clear(&m->via);
    for (size_t i = 0; i < m->nbinds; i++) {
        free(m->binds[i].cont);
        free(m->binds[i].host);
    }
    free(m->binds);
    free(m->root);
    free(m);
}

/* ------------------------------------------------------------------ */
/* Binds                                                               */
/* ------------------------------------------------------------------ */

const struct pm_bind *
pm_bind_at(const struct ud_pathmap *m, const char *g, size_t glen)
{
    for (size_t i = m->nbinds; i-- > 0;) {
        const struct pm_bind *b = &m->binds[i];
        if (b->clen == glen && memcmp(b->cont, g, glen) == 0)
            return b;
    }
    return NULL;
}

/* Is a[alen] a path prefix of b[blen] at a component boundary? ("" is
 * the prefix of everything.) */
static bool
path_under(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen <= blen && memcmp(a, b, alen) == 0 &&
           (alen == blen || b[alen] == '/' || (alen > 0 && a[alen - 1] == '/'));
}

bool
pm_bind_below(const struct ud_pathmap *m, const char *g, size_t glen)
{
    for (size_t i = 0; i < m->nbinds; i++) {
        const struct pm_bind *b = &m->binds[i];
        if (b->clen > glen && path_under(g, glen, b->cont, b->clen))
            return true;
    }
    return false;
}

int
pm_map_guest(const struct ud_pathmap *m, const char *g, size_t glen, char *h, size_t *hlen,
             bool *opaque, size_t *opq_clen)
{
    const struct pm_bind *best = NULL;
    for (size_t i = m->nbinds; i-- > 0;) {
        const struct pm_bind *b = &m->binds[i];
        if ((!best || b->clen > best->clen) && path_under(b->cont, b->clen, g, glen))
            best = b;
    }
    const char *pre = best ? best->host : m->root;
    size_t plen = best ? best->hlen : m->rootlen;
    size_t skip = best ? best->clen : 0;
    if (plen + (glen - skip) >= PATH_MAX)
        return -ENAMETOOLONG;
    memcpy(h, pre, plen);
    memcpy(h + plen, g + skip, glen - skip);
    *hlen = plen + glen - skip;
    h[*hlen] = '\0';
    *opaque = best && best->opaque;
    *opq_clen = best ? best->clen : 0;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Host to guest                                                       */
/* ------------------------------------------------------------------ */

int
ud_pathmap_to_guest(const struct ud_pathmap *m, const char *host_path, char *out, size_t outsz)
{
    char p[PATH_MAX];
    int r = clean_abs(host_path, p, sizeof(p));
    if (r != 0)
        return r;
    size_t plen = strlen(p);
    /* The root competes with the binds: a root under a bound $HOME must
     * still give "/usr" for root/usr, not the long way through the bind.
     * Longest prefix wins; on a tie a bind beats the root and a later bind
     * an earlier one. */
    bool found = path_under(m->root, m->rootlen, p, plen);
    size_t best = found ? m->rootlen : 0;
    const struct pm_bind *bb = NULL;
    for (size_t i = 0; i < m->nbinds; i++) {
        const struct pm_bind *b = &m->binds[i];
        if (path_under(b->host, b->hlen, p, plen) && (!found || b->hlen >= best)) {
            found = true;
            best = b->hlen;
            bb = b;
        }
    }
    if (!found)
        return -ENOENT;
    const char *cont = bb ? bb->cont : "";
    size_t clen = bb ? bb->clen : 0;
    const char *tail = p + best;
    if (best == 1) /* a bind of the host "/": keep the leading "/" */
        tail = p;
    if (strcmp(tail, "/") == 0)
        tail = "";
    size_t tlen = strlen(tail);
    if (clen + tlen == 0) {
        if (outsz < 2)
            return -ENAMETOOLONG;
        memcpy(out, "/", 2);
        return 0;
    }
    if (clen + tlen + 1 > outsz)
        return -ENAMETOOLONG;
    memcpy(out, cont, clen);
    memcpy(out + clen, tail, tlen + 1);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Invalidation and counters                                           */
/* ------------------------------------------------------------------ */

void
ud_pathmap_invalidate(struct ud_pathmap *m, const char *host_path)
{
    if (!m)
        return;
    char p[PATH_MAX];
    if (!host_path || clean_abs(host_path, p, sizeof(p)) != 0) {
        pm_cache_flush(m);
        return;
    }
    /* Every directory and symlink that a cached entry depends on was
     * walked in this generation and recorded in via (a cache hit on a
     * prefix implies its own components were recorded when it was made).
     * A changed path that is not there (a regular file, a new name) can't
     * alter a cached resolution. */
    size_t n = strlen(p);
    if (pm_table_find(&m->via, pm_hash(p, n), p, n))
        pm_cache_flush(m);
}

void
ud_pathmap_stats_get(const struct ud_pathmap *m, struct ud_pathmap_stats *out)
{
    *out = m->st;
    out->entries = m->cache.n;
}

void
ud_pathmap_stats_reset(struct ud_pathmap *m)
{
    memset(&m->st, 0, sizeof(m->st));
    m->st.entries = m->cache.n;
}
