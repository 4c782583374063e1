/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Root emulation of file ownership. Stat results show the caller's host
 * uid/gid as the container's ids and every other id as the overflow id, as
 * a user namespace would. On top of that, a per-container database keyed by
 * (st_dev, st_ino) remembers what chown, a refused chmod and mknod of a
 * device set, so "ls -l" shows it and package managers work. The database
 * is an append-only log (one line per change, so a crash loses at most the
 * line being written), folded on load and compacted when it has grown.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ptrace_int.h"

#define OWN_LOG_MAX (64u << 20)

struct own_rec {
    struct own_rec *next;
    uint64_t dev, ino;
    uint32_t uid, gid; /* OWN_UNSET: not recorded */
    uint32_t mode;     /* full st_mode, 0: not recorded */
    uint64_t rdev;
};

struct owners {
    struct own_rec **b;
    size_t nb, n;
    char *path;   /* the log; NULL: in memory only */
    size_t lines; /* lines in the log (for compaction) */
};

static size_t
slot(const struct owners *o, uint64_t dev, uint64_t ino)
{
    uint64_t h = (ino * 0x9e3779b97f4a7c15ULL) ^ (dev * 0xc2b2ae3d27d4eb4fULL);
    return (size_t)(h >> 17) & (o->nb - 1);
}

static struct own_rec *
find(const struct owners *o, uint64_t dev, uint64_t ino)
{
    if (o == NULL || o->n == 0)
        return NULL;
    for (struct own_rec *r = o->b[slot(o, dev, ino)]; r != NULL; r = r->next)
        if (r->dev == dev && r->ino == ino)
            return r;
    return NULL;
}

static int
grow(struct owners *o)
{
    size_t nb = o->nb ? o->nb * 2 : 256;
    struct own_rec **b = ud_calloc(nb, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < o->nb; i++) {
        struct own_rec *r = o->b[i];
        while (r != NULL) {
            struct own_rec *next = r->next;
            size_t s =
                (size_t)((r->ino * 0x9e3779b97f4a7c15ULL) ^ (r->dev * 0xc2b2ae3d27d4eb4fULL)) >> 17;
            s &= nb - 1;
            r->next = b[s];
            b[s] = r;
            r = next;
        }
    }
    free(o->b);
    o->b = b;
    o->nb = nb;
    return 0;
}

/* Put (or with everything unset, remove) a record in memory. */
static int
mem_set(struct owners *o, uint64_t dev, uint64_t ino, uint32_t uid, uint32_t gid, uint32_t mode,
        uint64_t rdev)
{
    bool empty = uid == OWN_UNSET && gid == OWN_UNSET && mode == 0;
    if (o->nb == 0 && grow(o) < 0)
        return -ENOMEM;
    struct own_rec **pp = &o->b[slot(o, dev, ino)];
    while (*pp != NULL && !((*pp)->dev == dev && (*pp)->ino == ino))
        pp = &(*pp)->next;
    if (empty) {
        if (*pp != NULL) {
            struct own_rec *r = *pp;
            *pp = r->next;
            free(r);
            o->n--;
        }
        return 0;
    }
    struct own_rec *r = *pp;
    if (r == NULL) {
        if (o->n >= o->nb && grow(o) == 0)
            return mem_set(o, dev, ino, uid, gid, mode, rdev);
        if ((r = ud_calloc(1, sizeof(*r))) == NULL)
            return -ENOMEM;
        r->dev = dev;
        r->ino = ino;
        r->next = o->b[slot(o, dev, ino)];
        o->b[slot(o, dev, ino)] = r;
        o->n++;
    }
    r->uid = uid;
    r->gid = gid;
    r->mode = mode;
    r->rdev = rdev;
    return 0;
}

/* One log line: "dev ino uid gid mode rdev". Bad lines (a torn last line
 * after a crash) are skipped. */
static void
parse_line(struct owners *o, const char *line)
{
    unsigned long long v[6];
    char *end;
    const char *p = line;
    for (int i = 0; i < 6; i++) {
        errno = 0;
        v[i] = strtoull(p, &end, 10);
        if (end == p || errno != 0)
            return;
        p = end;
    }
    if (*p != '\0' || v[2] > UINT32_MAX || v[3] > UINT32_MAX || v[4] > UINT32_MAX)
        return;
    (void)mem_set(o, v[0], v[1], (uint32_t)v[2], (uint32_t)v[3], (uint32_t)v[4], v[5]);
}

int
ud_owners_parse(struct owners *o, char *data, size_t len)
{
    size_t lines = 0;
    char *p = data, *end = data + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break; /* torn: no newline */
        *nl = '\0';
        parse_line(o, p);
        lines++;
        p = nl + 1;
    }
    o->lines = lines;
    return 0;
}

static int
fmt_rec(char *buf, size_t sz, uint64_t dev, uint64_t ino, uint32_t uid, uint32_t gid, uint32_t mode,
        uint64_t rdev)
{
    int n = snprintf(buf, sz,
                     "%" PRIu64 " %" PRIu64 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu64 "\n",
                     dev, ino, uid, gid, mode, rdev);
    return n > 0 && (size_t)n < sz ? n : -1;
}

/* Rewrite the log with one line per record (atomically). */
static void
compact(struct owners *o)
{
    struct ud_buf b;
    ud_buf_init(&b, OWN_LOG_MAX);
    char line[160];
    int r = 0;
    for (size_t i = 0; i < o->nb && r == 0; i++)
        for (struct own_rec *x = o->b[i]; x != NULL && r == 0; x = x->next) {
            int n = fmt_rec(line, sizeof(line), x->dev, x->ino, x->uid, x->gid, x->mode, x->rdev);
            r = n < 0 ? -1 : ud_buf_append(&b, line, (size_t)n, NULL);
        }
    if (r == 0 && ud_file_write_atomic(o->path, b.data ? b.data : "", b.len, 0600, NULL) == 0)
        o->lines = o->n;
    ud_buf_fini(&b);
}

static void
append(struct owners *o, uint64_t dev, uint64_t ino, uint32_t uid, uint32_t gid, uint32_t mode,
       uint64_t rdev)
{
    char line[160];
    int n = fmt_rec(line, sizeof(line), dev, ino, uid, gid, mode, rdev);
    if (o->path == NULL || n < 0)
        return;
    /* Opened per change (changes are rare) under a shared lock, so a
     * compaction of another run (exclusive lock, then rename) is never
     * written into the replaced file. */
    for (int tries = 0; tries < 3; tries++) {
        int fd = open(o->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return;
        struct stat a, b;
        if (flock(fd, LOCK_SH) == 0 && fstat(fd, &a) == 0 && stat(o->path, &b) == 0 &&
            a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            if (write(fd, line, (size_t)n) == n)
                o->lines++;
            close(fd);
            return;
        }
        close(fd);
    }
}

int
ud_owners_open(struct tracer *t, const char *cdir, struct ud_error *err)
{
    struct owners *o = ud_calloc(1, sizeof(*o));
    if (o == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (cdir != NULL && (o->path = ud_path_join(cdir, ".ptrace-owners")) == NULL) {
        free(o);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    t->owners = o;
    if (o->path == NULL)
        return 0;
    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* none yet */
    /* Exclusive while folding, so a compaction never drops another run's
     * lines. */
    (void)flock(fd, LOCK_EX);
    char *data = NULL;
    size_t len = 0;
    if (ud_file_read_fd(fd, o->path, OWN_LOG_MAX, &data, &len, NULL) == 0) {
        ud_owners_parse(o, data, len);
        if (o->lines > 2 * o->n + 64)
            compact(o);
    }
    free(data);
    close(fd);
    return 0;
}

void
ud_owners_close(struct tracer *t)
{
    struct owners *o = t->owners;
    if (o == NULL)
        return;
    if (o->path != NULL && o->lines > 2 * o->n + 64) {
        int fd = open(o->path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            /* Fold what other runs appended meanwhile, then rewrite. */
            char *data = NULL;
            size_t len = 0;
            (void)flock(fd, LOCK_EX);
            if (ud_file_read_fd(fd, o->path, OWN_LOG_MAX, &data, &len, NULL) == 0) {
                ud_owners_parse(o, data, len);
                compact(o);
            }
            free(data);
            close(fd);
        }
    }
    for (size_t i = 0; i < o->nb; i++) {
        struct own_rec *r = o->b[i];
        while (r != NULL) {
            struct own_rec *next = r->next;
            free(r);
            r = next;
        }
    }
    free(o->b);
    free(o->path);
    free(o);
    t->owners = NULL;
}

size_t
ud_owners_count(const struct tracer *t)
{
    return t->owners != NULL ? t->owners->n : 0;
}

/* The container's view of a host id. */
static uint32_t
view_uid(const struct tracer *t, uint32_t id)
{
    return id == (uint32_t)t->host_uid ? (uint32_t)t->fake_uid : t->overflow_id;
}

static uint32_t
view_gid(const struct tracer *t, uint32_t id)
{
    return id == (uint32_t)t->host_gid ? (uint32_t)t->fake_gid : t->overflow_id;
}

/* Apply the mapping and the record of (dev, ino) to the fields. */
static void
fix(const struct tracer *t, uint64_t dev, uint64_t ino, uint32_t *uid, uint32_t *gid,
    uint32_t *mode, uint64_t *rdev, bool *dev_node)
{
    *uid = view_uid(t, *uid);
    *gid = view_gid(t, *gid);
    *dev_node = false;
    const struct own_rec *r = find(t->owners, dev, ino);
    if (r == NULL)
        return;
    if (r->uid != OWN_UNSET)
        *uid = r->uid;
    if (r->gid != OWN_UNSET)
        *gid = r->gid;
    if (r->mode != 0) {
        *mode = r->mode;
        if (S_ISCHR(r->mode) || S_ISBLK(r->mode)) {
            *rdev = r->rdev;
            *dev_node = true;
        }
    }
}

void
ud_owners_fix_stat(const struct tracer *t, struct stat *st)
{
    uint32_t uid = st->st_uid, gid = st->st_gid, mode = st->st_mode;
    uint64_t rdev = st->st_rdev;
    bool dn;
    fix(t, st->st_dev, st->st_ino, &uid, &gid, &mode, &rdev, &dn);
    st->st_uid = uid;
    st->st_gid = gid;
    st->st_mode = mode;
    st->st_rdev = rdev;
    if (dn)
        st->st_size = 0;
}

void
ud_owners_fix_statx(const struct tracer *t, struct statx *sx)
{
    uint32_t uid = sx->stx_uid, gid = sx->stx_gid, mode = sx->stx_mode;
    uint64_t dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
    uint64_t rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
    bool dn;
    fix(t, dev, sx->stx_ino, &uid, &gid, &mode, &rdev, &dn);
    if (sx->stx_mask & STATX_UID)
        sx->stx_uid = uid;
    if (sx->stx_mask & STATX_GID)
        sx->stx_gid = gid;
    if (sx->stx_mask & (STATX_TYPE | STATX_MODE))
        sx->stx_mode = (uint16_t)mode;
    sx->stx_rdev_major = major(rdev);
    sx->stx_rdev_minor = minor(rdev);
    if (dn)
        sx->stx_size = 0;
}

/* What the container sees of a file now, without the record's fields. */
void
ud_owners_set(struct tracer *t, const struct stat *host, uint32_t uid, uint32_t gid, uint32_t mode,
              uint64_t rdev)
{
    struct owners *o = t->owners;
    if (o == NULL)
        return;
    const struct own_rec *old = find(o, host->st_dev, host->st_ino);
    uint32_t nu = old != NULL ? old->uid : OWN_UNSET, ng = old != NULL ? old->gid : OWN_UNSET;
    uint32_t nm = old != NULL ? old->mode : 0;
    uint64_t nr = old != NULL ? old->rdev : 0;
    if (uid != OWN_UNSET)
        nu = uid == view_uid(t, host->st_uid) ? OWN_UNSET : uid;
    if (gid != OWN_UNSET)
        ng = gid == view_gid(t, host->st_gid) ? OWN_UNSET : gid;
    if (mode != 0) {
        nm = mode == host->st_mode ? 0 : mode;
        nr = rdev;
    }
    if (old == NULL && nu == OWN_UNSET && ng == OWN_UNSET && nm == 0)
        return; /* nothing to remember: the common case costs nothing */
    if (old != NULL && old->uid == nu && old->gid == ng && old->mode == nm && old->rdev == nr)
        return;
    if (mem_set(o, host->st_dev, host->st_ino, nu, ng, nm, nr) == 0)
        append(o, host->st_dev, host->st_ino, nu, ng, nm, nr);
}

void
ud_owners_chmod(struct tracer *t, const struct stat *host, uint32_t perm)
{
    const struct own_rec *old = find(t->owners, host->st_dev, host->st_ino);
    uint32_t type = old != NULL && old->mode != 0 ? old->mode & S_IFMT : host->st_mode & S_IFMT;
    uint64_t rdev = old != NULL ? old->rdev : 0;
    ud_owners_set(t, host, OWN_UNSET, OWN_UNSET, type | (perm & 07777), rdev);
}

bool
ud_owners_has(const struct tracer *t, const struct stat *host)
{
    return find(t->owners, host->st_dev, host->st_ino) != NULL;
}

void
ud_owners_drop(struct tracer *t, uint64_t dev, uint64_t ino)
{
    struct owners *o = t->owners;
    if (find(o, dev, ino) == NULL)
        return;
    if (mem_set(o, dev, ino, OWN_UNSET, OWN_UNSET, 0, 0) == 0)
        append(o, dev, ino, OWN_UNSET, OWN_UNSET, 0, 0);
}

bool
ud_owners_is_status(const char *host)
{
    const char *p = host;
    if (strncmp(p, "/proc/", 6) != 0)
        return false;
    p += 6;
    for (int part = 0; part < 2; part++) {
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
        if (part == 0 && strncmp(p, "/task/", 6) == 0)
            p += 6;
        else
            break;
    }
    return strcmp(p, "/status") == 0;
}

/* "Uid:\tA\tB\tC\tD" (and Gid:, Groups:) with each id as the container
 * sees it. */
static int
rewrite_ids(const struct tracer *t, struct ud_buf *b, const char *line, size_t len, bool gid)
{
    const char *p = memchr(line, ':', len);
    size_t head = p != NULL ? (size_t)(p - line) + 1 : len;
    if (ud_buf_append(b, line, head, NULL) < 0)
        return -ENOMEM;
    p = line + head;
    const char *end = line + len;
    while (p < end) {
        size_t ws = 0;
        while (p + ws < end && (p[ws] == '\t' || p[ws] == ' '))
            ws++;
        if (ws > 0 && ud_buf_append(b, p, ws, NULL) < 0)
            return -ENOMEM;
        p += ws;
        if (p >= end)
            break;
        char *e;
        unsigned long v = strtoul(p, &e, 10);
        if (e == p || e > end)
            return ud_buf_append(b, p, (size_t)(end - p), NULL) < 0 ? -ENOMEM : 0;
        uint32_t id = gid ? view_gid(t, (uint32_t)v) : view_uid(t, (uint32_t)v);
        if (ud_buf_appendf(b, NULL, "%" PRIu32, id) < 0)
            return -ENOMEM;
        p = e;
    }
    return 0;
}

int
ud_owners_status_fd(const struct tracer *t, const char *host)
{
    char *data = NULL;
    size_t len = 0;
    struct ud_buf b;
    int r = 0, fd = -1;
    if (ud_file_read(host, 1u << 20, &data, &len, NULL) < 0)
        return -ENOENT;
    ud_buf_init(&b, 2u << 20);
    for (const char *p = data; p < data + len && r == 0;) {
        const char *nl = memchr(p, '\n', (size_t)(data + len - p));
        size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(data + len - p);
        if (strncmp(p, "Uid:", 4) == 0)
            r = rewrite_ids(t, &b, p, l, false);
        else if (strncmp(p, "Gid:", 4) == 0 || strncmp(p, "Groups:", 7) == 0)
            r = rewrite_ids(t, &b, p, l, true);
        else
            r = ud_buf_append(&b, p, l, NULL) < 0 ? -ENOMEM : 0;
        if (r == 0 && nl != NULL)
            r = ud_buf_append(&b, "\n", 1, NULL) < 0 ? -ENOMEM : 0;
        p += l + (nl != NULL);
    }
    if (r == 0 && (fd = memfd_create("status", MFD_CLOEXEC)) < 0)
        r = -errno;
    if (r == 0 &&
        (write(fd, b.data ? b.data : "", b.len) != (ssize_t)b.len || lseek(fd, 0, SEEK_SET) != 0)) {
        r = -EIO;
        close(fd);
    }
    free(data);
    ud_buf_fini(&b);
    return r < 0 ? r : fd;
}
