/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest path to host path: the component walk the kernel would do inside
 * the container (symlinks relative to the guest "/", ".." stopping there,
 * binds), started from the longest prefix already in the cache so a deep
 * path costs one hash probe and at most one lstat() of its last component.
 */
#define UD_PATHMAP_INTERNAL 1
#include "pathmap.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where the walk stands: the directory reached is known (NORMAL), does not
 * exist (MISSING: the rest is appended lexically), or lies in a /proc bind
 * (OPAQUE: the rest is appended lexically, the kernel follows the magic
 * links in the tracee). */
enum walk_mode { W_NORMAL, W_MISSING, W_OPAQUE };

struct walk {
    size_t rlen, pos; /* m->rest[pos..rlen) is still to resolve */
    size_t lrem;      /* the last lrem bytes of rest are the caller's own path */
    uint32_t nlinks;
    uint64_t gen; /* m->gen when the walk started */
    enum walk_mode mode;
    size_t opq_clen; /* guest length of the /proc bind when OPAQUE */
    bool known_dir;  /* g/h is a directory we have seen (lstat, bind, cache) */
    bool must_dir;   /* the caller's path ends in "/", "/." or "/.." */
    bool follow;     /* follow_last */
    bool final_dir;  /* the final component had to be a directory */
};

/* ------------------------------------------------------------------ */
/* The caller's path, cleaned and hashed                               */
/* ------------------------------------------------------------------ */

/* Append the components of s[n] to m->lex, dropping "" and "." (".." is
 * kept: after a symlink it is not lexical), with each prefix's hash. */
static int
lex_append(struct ud_pathmap *m, const char *s, size_t n, uint64_t *hash)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && s[i] == '/')
            i++;
        size_t b = i;
        while (i < n && s[i] != '/')
            i++;
        size_t len = i - b;
        if (len == 0 || (len == 1 && s[b] == '.'))
            continue;
        if (len > NAME_MAX)
            return -ENAMETOOLONG;
        if (m->lexlen + 1 + len >= sizeof(m->lex) || m->ncomp >= PM_MAXCOMP)
            return -ENAMETOOLONG;
        char *d = m->lex + m->lexlen;
        d[0] = '/';
        memcpy(d + 1, s + b, len);
        *hash = pm_hash_more(*hash, d, len + 1);
        m->lexlen += len + 1;
        m->cend[m->ncomp] = (uint32_t)m->lexlen;
        m->chash[m->ncomp] = *hash;
        m->ncomp++;
    }
    m->lex[m->lexlen] = '\0';
    return 0;
}

/* Does the raw path end in a way that makes its final a directory? */
static bool
ends_as_dir(const char *p, size_t n)
{
    if (p[n - 1] == '/')
        return true;
    size_t b = n;
    while (b > 0 && p[b - 1] != '/')
        b--;
    size_t len = n - b;
    return (len == 1 && p[b] == '.') || (len == 2 && p[b] == '.' && p[b + 1] == '.');
}

static int
lex_build(struct ud_pathmap *m, const char *cwd, const char *path, size_t plen)
{
    uint64_t hash = PM_HASH_INIT;
    m->lexlen = 0;
    m->ncomp = 0;
    if (path[0] != '/') {
        if (!cwd || cwd[0] != '/')
            return -EINVAL;
        size_t clen = strnlen(cwd, PATH_MAX);
        if (clen >= PATH_MAX)
            return -ENAMETOOLONG;
        int r = lex_append(m, cwd, clen, &hash);
        if (r != 0)
            return r;
    }
    return lex_append(m, path, plen, &hash);
}

/* ------------------------------------------------------------------ */
/* Walk helpers                                                        */
/* ------------------------------------------------------------------ */

static int
push(char *buf, size_t *len, const char *name, size_t n)
{
    if (*len + 1 + n >= PATH_MAX)
        return -ENAMETOOLONG;
    buf[*len] = '/';
    memcpy(buf + *len + 1, name, n);
    *len += n + 1;
    buf[*len] = '\0';
    return 0;
}

static void
pop(char *buf, size_t *len)
{
    while (*len > 0 && buf[*len - 1] != '/')
        (*len)--;
    if (*len > 0)
        (*len)--;
    buf[*len] = '\0';
}

static int
set_host(struct ud_pathmap *m, const char *h, size_t n)
{
    if (n >= PATH_MAX)
        return -ENAMETOOLONG;
    memcpy(m->h, h, n);
    m->h[n] = '\0';
    m->hlen = n;
    return 0;
}

/* Is there nothing but "/" and "." left after rest[pos]? *slash: a "/"
 * follows the component (so it must be a directory). */
static bool
at_last(const struct ud_pathmap *m, const struct walk *w, bool *slash)
{
    size_t i = w->pos;
    *slash = false;
    while (i < w->rlen) {
        if (m->rest[i] == '/') {
            *slash = true;
            i++;
        } else if (m->rest[i] == '.' && (i + 1 == w->rlen || m->rest[i + 1] == '/')) {
            i++;
        } else {
            return false;
        }
    }
    return true;
}

/* The caller's own path has been consumed up to here: record that its
 * prefix resolves to the directory reached, and the canonical name too. */
static void
remember(struct ud_pathmap *m, const struct walk *w, bool canonical)
{
    if (w->mode != W_NORMAL || !w->known_dir)
        return;
    /* A canonical path holds no symlink: resolving it follows none. */
    if (canonical)
        pm_cache_put(m, w->gen, pm_hash(m->g, m->glen), m->g, m->glen, m->h, m->hlen, m->g, m->glen,
                     0);
    /* rest[pos..rlen) holds no bytes of a symlink target: the lexical
     * prefix of the caller's path ends here. */
    if (w->pos + w->lrem < w->rlen)
        return;
    size_t klen = m->lexlen - w->lrem;
    if (klen == m->glen && memcmp(m->lex, m->g, klen) == 0)
        return;
    pm_cache_put(m, w->gen, pm_hash(m->lex, klen), m->lex, klen, m->h, m->hlen, m->g, m->glen,
                 w->nlinks);
}

/* "/proc/<pid|self|thread-self>/root" in a /proc bind: the guest "/". */
static bool
is_proc_root(const struct ud_pathmap *m, const struct walk *w)
{
    const char *g = m->g;
    size_t n = m->glen, c = w->opq_clen;
    if (n < c + 7 || memcmp(g + n - 5, "/root", 5) != 0 || g[c] != '/')
        return false;
    const char *x = g + c + 1;
    size_t xl = n - 5 - (c + 1);
    if (memchr(x, '/', xl))
        return false;
    if ((xl == 4 && memcmp(x, "self", 4) == 0) || (xl == 11 && memcmp(x, "thread-self", 11) == 0))
        return true;
    for (size_t i = 0; i < xl; i++)
        if (x[i] < '0' || x[i] > '9')
            return false;
    return xl > 0;
}

static void
to_root(struct ud_pathmap *m, struct walk *w)
{
    m->glen = 0;
    m->g[0] = '\0';
    memcpy(m->h, m->root, m->rootlen + 1);
    m->hlen = m->rootlen;
    w->mode = W_NORMAL;
    w->known_dir = true;
}

/* ------------------------------------------------------------------ */
/* One component                                                       */
/* ------------------------------------------------------------------ */

static int
step_dotdot(struct ud_pathmap *m, struct walk *w)
{
    if (w->mode == W_MISSING)
        return -ENOENT; /* the kernel needs the missing directory */
    if (m->glen == 0)
        return 0; /* ".." of the guest "/" is itself */
    pop(m->g, &m->glen);
    bool opaque;
    int r = pm_map_guest(m, m->g, m->glen, m->h, &m->hlen, &opaque, &w->opq_clen);
    if (r != 0)
        return r;
    w->mode = opaque ? W_OPAQUE : W_NORMAL;
    w->known_dir = !opaque;
    remember(m, w, false);
    return 0;
}

/* Enter the bind mounted at g. */
static int
step_bind(struct ud_pathmap *m, struct walk *w, const struct pm_bind *b, bool last, bool dirreq)
{
    int r = set_host(m, b->host, b->hlen);
    if (r != 0)
        return r;
    w->known_dir = false;
    if (b->opaque) {
        w->mode = W_OPAQUE;
        w->opq_clen = b->clen;
        return 0;
    }
    if (b->kind == PM_MISSING) {
        w->mode = W_MISSING;
        return 0;
    }
    w->mode = W_NORMAL;
    if (b->kind == PM_FILE)
        return !last || dirreq ? -ENOTDIR : 0;
    w->known_dir = true;
    pm_via_put(m, m->h, m->hlen);
    remember(m, w, true);
    return 0;
}

/* Replace the symlink just appended to g/h by its target. */
static int
step_link(struct ud_pathmap *m, struct walk *w)
{
    if (++w->nlinks > PM_MAXLINKS)
        return -ELOOP;
    m->st.readlinks++;
    ssize_t n = readlink(m->h, m->link, sizeof(m->link));
    if (n < 0)
        return -errno;
    if ((size_t)n >= sizeof(m->link))
        return -ENAMETOOLONG;
    if (n == 0)
        return -ENOENT;
    pm_via_put(m, m->h, m->hlen);
    size_t left = w->rlen - w->pos;
    if ((size_t)n + left >= sizeof(m->rest))
        return -ENAMETOOLONG;
    memmove(m->rest + n, m->rest + w->pos, left);
    memcpy(m->rest, m->link, (size_t)n);
    w->rlen = (size_t)n + left;
    w->pos = 0;
    m->rest[w->rlen] = '\0';
    if (m->link[0] == '/') {
        to_root(m, w);
    } else {
        pop(m->g, &m->glen);
        pop(m->h, &m->hlen);
        w->known_dir = true;
    }
    return 0;
}

/* A name: g and h get it appended, then it is looked at if it matters. */
static int
step_name(struct ud_pathmap *m, struct walk *w, const char *name, size_t n)
{
    if (n > NAME_MAX)
        return -ENAMETOOLONG;
    bool slash;
    bool last = at_last(m, w, &slash);
    bool dirreq = last && (slash || w->must_dir);
    bool follow = !last || w->follow || dirreq;
    if (last)
        w->final_dir = dirreq;
    int r = push(m->g, &m->glen, name, n);
    if (r != 0)
        return r;
    const struct pm_bind *b = pm_bind_at(m, m->g, m->glen);
    if (b)
        return step_bind(m, w, b, last, dirreq);
    if (w->mode == W_OPAQUE && follow && is_proc_root(m, w)) {
        to_root(m, w);
        remember(m, w, false);
        return 0;
    }
    r = push(m->h, &m->hlen, name, n);
    if (r != 0)
        return r;
    w->known_dir = false;
    if (w->mode != W_NORMAL || !follow)
        return 0;
    struct stat st;
    m->st.lstats++;
    if (lstat(m->h, &st) != 0) {
        if (errno != ENOENT)
            return -errno;
        /* A missing parent of a bind: a directory for the walk's sake
         * (the bind is reachable below it), the kernel never sees it. */
        if (!pm_bind_below(m, m->g, m->glen))
            w->mode = W_MISSING;
        return 0;
    }
    if (S_ISLNK(st.st_mode))
        return step_link(m, w);
    if (!S_ISDIR(st.st_mode))
        return !last || dirreq ? -ENOTDIR : 0;
    w->known_dir = true;
    pm_via_put(m, m->h, m->hlen);
    remember(m, w, true);
    return 0;
}

static int
walk_rest(struct ud_pathmap *m, struct walk *w)
{
    for (;;) {
        while (w->pos < w->rlen && m->rest[w->pos] == '/')
            w->pos++;
        if (w->pos >= w->rlen)
            return 0;
        size_t b = w->pos;
        while (w->pos < w->rlen && m->rest[w->pos] != '/')
            w->pos++;
        size_t n = w->pos - b;
        if (w->pos + w->lrem > w->rlen)
            w->lrem = w->rlen - w->pos;
        if (n == 1 && m->rest[b] == '.')
            continue;
        int r;
        if (n == 2 && m->rest[b] == '.' && m->rest[b + 1] == '.') {
            r = step_dotdot(m, w);
        } else {
            /* name points into rest, which a symlink rewrites: step_name
             * is done with it by then. */
            r = step_name(m, w, m->rest + b, n);
        }
        if (r != 0)
            return r;
    }
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */
/* ------------------------------------------------------------------ */

/* Start from the longest cached prefix of lex: the whole path when its
 * final is followed (or is ".."), else its parent. Returns the number of
 * components the cache covered. */
static size_t
start_cached(struct ud_pathmap *m, struct walk *w)
{
    size_t n = m->ncomp;
    if (n == 0)
        return 0;
    const char *lastc = m->lex + (n > 1 ? m->cend[n - 2] : 0) + 1;
    bool dd = m->lex + m->cend[n - 1] - lastc == 2 && lastc[0] == '.' && lastc[1] == '.';
    size_t top = w->follow || w->must_dir || dd ? n : n - 1;
    for (size_t j = top; j >= 1; j--) {
        const struct pm_entry *e =
            pm_table_find(&m->cache, m->chash[j - 1], m->lex, m->cend[j - 1]);
        if (!e)
            continue;
        memcpy(m->g, e->guest, e->glen + 1);
        m->glen = e->glen;
        memcpy(m->h, e->host, e->hlen + 1);
        m->hlen = e->hlen;
        w->nlinks = e->nlinks;
        return j;
    }
    return 0;
}

int
ud_pathmap_to_host(struct ud_pathmap *m, const char *guest_cwd, const char *guest_path,
                   bool follow_last, char *out, size_t outsz)
{
    m->st.calls++;
    if (!guest_path)
        return -EINVAL;
    size_t plen = strnlen(guest_path, PATH_MAX);
    if (plen == 0)
        return -ENOENT;
    if (plen >= PATH_MAX)
        return -ENAMETOOLONG;
    int r = lex_build(m, guest_cwd, guest_path, plen);
    if (r != 0)
        return r;
    struct walk w = {
        .follow = follow_last, .must_dir = ends_as_dir(guest_path, plen), .gen = m->gen};
    to_root(m, &w);
    size_t k = start_cached(m, &w);
    if (k > 0)
        m->st.hits++;
    else
        m->st.misses++;
    size_t off = k > 0 ? m->cend[k - 1] : 0;
    w.rlen = m->lexlen - off;
    memcpy(m->rest, m->lex + off, w.rlen + 1);
    w.lrem = w.rlen;
    w.final_dir = w.must_dir;
    r = walk_rest(m, &w);
    if (r != 0)
        return r;
    if (w.mode == W_MISSING && w.must_dir && guest_path[plen - 1] == '.')
        return -ENOENT; /* "missing/." needs the missing directory */
    /* A final that must be a directory but could not be checked keeps its
     * "/", so the kernel still refuses to treat it as a file. */
    bool slash = w.final_dir && !w.known_dir && m->hlen > 0;
    const char *h = m->hlen > 0 ? m->h : "/";
    size_t hl = m->hlen > 0 ? m->hlen : 1;
    if (hl + slash + 1 > outsz || hl + slash >= PATH_MAX)
        return -ENAMETOOLONG;
    memcpy(out, h, hl);
    if (slash)
        out[hl++] = '/';
    out[hl] = '\0';
    return 0;
}
