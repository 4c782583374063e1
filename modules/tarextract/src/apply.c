/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying a layer: one pass over the archive. Each member's name is
 * normalised, whiteouts are applied to what lower layers left (sparing what
 * this layer already wrote, tracked in a path set), excluded and unsafe
 * members are skipped with a warning, and the rest are created beneath
 * their parent resolved inside the root. Also the whole-archive check used
 * by `verify`.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tarextract_int.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define MAX_RETRIES 100 /* damaged headers tolerated per layer */

void
tar_warn(struct tar_apply *a, const char *fmt, ...)
{
    a->st.warnings++;
    if (!a->opts || !a->opts->warn || a->st.warnings > UD_TAR_WARN_MAX + 1)
        return;
    if (a->st.warnings == UD_TAR_WARN_MAX + 1) {
        a->opts->warn(a->opts->warn_ctx, "further warnings for this layer suppressed");
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Member names may hold newlines or escape sequences: one line only. */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    a->opts->warn(a->opts->warn_ctx, msg);
}

static bool
errno_is_fatal(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG || e == EROFS || e == EIO || e == ENOMEM;
}

int
tar_entry_fail(struct tar_apply *a, const char *what, int e)
{
    if (errno_is_fatal(e)) {
        int code = e == ENOMEM ? UD_ENOMEM : e == EIO || e == EROFS ? UD_EIO : UD_ENOSPC;
        return ud_error_set(a->err, code, e, "%s %s", what, a->path);
    }
    tar_warn(a, "skipping %s: %s: %s", a->path, what, strerror(e));
    a->st.skipped++;
    return 0;
}

int
tar_path_normalise(const char *in, char *out, size_t *outlen, bool *abs)
{
    size_t o = 0, i = 0;
    *abs = in[0] == '/';
    out[0] = 0;
    for (;;) {
        while (in[i] == '/')
            i++;
        size_t s = i;
        while (in[i] && in[i] != '/')
            i++;
        size_t c = i - s;
        if (c == 0)
            break;
        if (c == 1 && in[s] == '.')
            continue;
        if (c == 2 && in[s] == '.' && in[s + 1] == '.') {
            if (o == 0)
                return -1; /* would climb above the root */
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            out[o] = 0;
            continue;
        }
        if (o + 1 + c >= TAR_PATH_MAX)
            return -2;
        if (o)
            out[o++] = '/';
        memcpy(out + o, in + s, c);
        o += c;
        out[o] = 0;
    }
    *outlen = o;
    return 0;
}

/* Members nobody unprivileged may or should create (upstream's --exclude
 * list): anything below dev/ (the directory itself is kept). */
static bool
is_excluded(const char *p, size_t len)
{
    return (len > 4 && memcmp(p, "dev/", 4) == 0) ||
           (len > 17 && memcmp(p, "etc/udev/devices/", 17) == 0);
}

static bool
is_wh(const char *s, size_t n)
{
    return n >= 4 && memcmp(s, WH_PREFIX, 4) == 0;
}

/* Whiteout a->path (".../.wh.NAME" or ".../.wh..wh..opq"). */
static int
apply_whiteout(struct tar_apply *a, const char *leaf)
{
    if (!a->track)
        return 0; /* empty root: no lower layer to hide */
    const char *name = leaf + 4;
    bool opaque = strcmp(leaf, WH_OPAQUE) == 0;
    if (!opaque && is_wh(name, strlen(name)))
        return 0; /* aufs bookkeeping (.wh..wh.plnk...): not a whiteout */
    if (!opaque && (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)) {
        tar_warn(a, "skipping whiteout %s: no name", a->path);
        a->st.skipped++;
        return 0;
    }
    int pfd;
    int r = tar_resolve_dir(&a->res, a->path, a->dlen, false, &pfd);
    if (r == -ENOENT || r == -ENOTDIR)
        return 0; /* nothing there to hide */
    if (r < 0)
        return tar_entry_fail(a, "resolve parent of", -r);
    memcpy(a->scratch, a->path, a->dlen);
    a->scratch[a->dlen] = 0;
    if (opaque) {
        r = tar_remove_children_except(pfd, a->scratch, a->dlen, &a->marked);
    } else {
        size_t n = strlen(name), len = a->dlen + (a->dlen ? 1 : 0) + n;
        if (a->dlen)
            a->scratch[a->dlen] = '/';
        memcpy(a->scratch + a->dlen + (a->dlen ? 1 : 0), name, n + 1);
        if (is_excluded(a->scratch, len))
            return 0;
        r = tar_remove_except(pfd, name, a->scratch, len, &a->marked);
    }
    tar_resolver_invalidate(&a->res);
    return r < 0 ? tar_entry_fail(a, "whiteout", -r) : 0;
}

static int
apply_member(struct tar_apply *a, struct archive_entry *e)
{
    const char *name = archive_entry_pathname(e);
    if (!name)
        name = archive_entry_pathname_utf8(e);
    if (!name || !*name) {
        tar_warn(a, "skipping a member without a name");
        a->st.skipped++;
        return 0;
    }
    bool abs = false;
    int n = tar_path_normalise(name, a->path, &a->plen, &abs);
    if (n < 0) {
        tar_warn(a, "skipping %.300s: %s", name,
                 n == -1 ? "its path climbs out of the root" : "path too long");
        a->st.skipped++;
        return 0;
    }
    if (abs && !a->warned_abs) {
        a->warned_abs = true;
        tar_warn(a, "removing leading '/' from member names");
    }
    if (a->plen == 0)
        return 0; /* the root itself ("./"): left as it is */
    size_t d = a->plen;
    while (d > 0 && a->path[d - 1] != '/')
        d--;
    const char *leaf = a->path + d;
    a->dlen = d ? d - 1 : 0;
    /* A ".wh." directory on the way is aufs metadata (.wh..wh.plnk/...). */
    for (size_t s = 0; s < a->dlen;) {
        size_t t = s;
        while (t < a->dlen && a->path[t] != '/')
            t++;
        if (is_wh(a->path + s, t - s)) {
            a->st.skipped++;
            return 0;
        }
        s = t + 1;
    }
    if (is_wh(leaf, strlen(leaf)))
        return apply_whiteout(a, leaf);
    if (is_excluded(a->path, a->plen)) {
        a->st.skipped++;
        return 0;
    }
    if (a->track) {
        int rc = tar_pathset_mark(&a->marked, a->path, a->plen, a->err);
        if (rc < 0)
            return rc;
    }
    int pfd;
    int r = tar_resolve_dir(&a->res, a->path, a->dlen, true, &pfd);
    if (r < 0)
        return tar_entry_fail(a, "resolve parent of", -r);
    return tar_entry_create(a, e, pfd, leaf);
}

/* The process umask without changing it (umask(2) can only set it). */
static mode_t
read_umask(void)
{
    char buf[2048];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 022;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 022;
    buf[n] = 0;
    const char *p = strstr(buf, "\nUmask:");
    if (!p)
        return 022;
    return (mode_t)(strtoul(p + 7, NULL, 8) & 0777);
}

/* True when the root has no entries: then no lower layer exists and
 * whiteouts have nothing to hide, so tracking can be skipped. */
static bool
root_is_empty(int rootfd)
{
    int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return false;
    }
    bool empty = true;
    struct dirent *de;
    while (empty && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            empty = false;
    closedir(d);
    return empty;
}

static void
restore_dir_mtimes(struct tar_apply *a)
{
    /* Deepest first is not needed: setting a directory's times does not
     * touch its parent's. Reverse order still ends with the outermost. */
    for (size_t i = a->ndtimes; i-- > 0;) {
        const char *p = a->dtimes[i].path;
        size_t len = strlen(p), d = len;
        while (d > 0 && p[d - 1] != '/')
            d--;
        int pfd;
        if (tar_resolve_dir(&a->res, p, d ? d - 1 : 0, false, &pfd) != 0)
            continue;
        struct timespec ts[2] = {{0, UTIME_OMIT}, {a->dtimes[i].sec, a->dtimes[i].nsec}};
        (void)utimensat(pfd, p + d, ts, AT_SYMLINK_NOFOLLOW);
    }
}

static void
apply_fini(struct tar_apply *a)
{
    tar_stream_close(a->stream);
    tar_resolver_fini(&a->res);
    tar_pathset_fini(&a->marked);
    for (size_t i = 0; i < a->ndtimes; i++)
        free(a->dtimes[i].path);
    free(a->dtimes);
    free(a->path);
    free(a->link);
    free(a->scratch);
}

static int
apply_run(struct tar_apply *a, const char *layer_path)
{
    a->path = ud_malloc(TAR_PATH_MAX);
    a->link = ud_malloc(TAR_PATH_MAX);
    a->scratch = ud_malloc(TAR_PATH_MAX);
    if (!a->path || !a->link || !a->scratch)
        return ud_error_set(a->err, UD_ENOMEM, ENOMEM, "out of memory");
    a->path[0] = 0;
    int rc = tar_resolver_init(&a->res, a->rootfd, !(a->flags & UD_TAR_F_NO_OPENAT2), 0755 | 0700,
                               a->err);
    if (rc < 0)
        return rc;
    rc = tar_stream_open(layer_path, a->flags, &a->stream, a->err);
    if (rc < 0)
        return rc;
    a->ar = tar_stream_archive(a->stream);
    int retries = 0;
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a->ar, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r == ARCHIVE_RETRY && ++retries <= MAX_RETRIES) {
            /* A damaged header libarchive can step over: skip it. */
            const char *m = archive_error_string(a->ar);
            tar_warn(a, "skipping a damaged member: %s", m ? m : "unknown error");
            a->st.skipped++;
            continue;
        }
        if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY)
            return tar_stream_error(a->stream, "corrupt archive", a->err);
        a->st.entries++;
        rc = apply_member(a, e);
        if (rc < 0)
            return rc;
    }
    rc = tar_stream_finish(a->stream, a->err);
    if (rc == 0 && a->ndtimes)
        restore_dir_mtimes(a);
    return rc;
}

int
ud_tar_layer_apply_at(int root_dirfd, const char *layer_path, const struct ud_tar_options *opts,
                      struct ud_tar_stats *stats, struct ud_error *err)
{
    struct tar_apply a;
    memset(&a, 0, sizeof(a));
    a.rootfd = root_dirfd;
    a.opts = opts;
    a.flags = opts ? opts->flags : 0;
    a.err = err;
    a.umask = read_umask();
    a.track = !root_is_empty(root_dirfd);
    tar_pathset_init(&a.marked);
    for (int i = 0; i < TAR_FD_CACHE; i++)
        a.res.slots[i].fd = -1;
    struct stat st;
    int rc;
    if (fstat(root_dirfd, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = ud_error_set(err, UD_ENOENT, ENOTDIR, "container root is not a directory");
    else
        rc = apply_run(&a, layer_path);
    apply_fini(&a);
    if (rc < 0) {
        ud_error_prefix(err, "layer %s: ", layer_path);
        return rc;
    }
    if (stats)
        *stats = a.st;
    return 0;
}

int
ud_tar_layer_apply(const char *root, const char *layer_path, const struct ud_tar_options *opts,
                   struct ud_tar_stats *stats, struct ud_error *err)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, errno == ENOENT ? UD_ENOENT : UD_EIO, errno, "container root %s",
                            root);
    int rc = ud_tar_layer_apply_at(fd, layer_path, opts, stats, err);
    close(fd);
    return rc;
}

int
ud_tar_layer_check(const char *layer_path, struct ud_tar_stats *stats, struct ud_error *err)
{
    struct tar_stream *s = NULL;
    struct ud_tar_stats st = {0};
    int rc = tar_stream_open(layer_path, 0, &s, err);
    while (rc == 0) {
        struct archive_entry *e;
        int r = archive_read_next_header(tar_stream_archive(s), &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY) {
            rc = tar_stream_error(s, "corrupt archive", err);
            break;
        }
        st.entries++;
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
            st.bytes += (uint64_t)archive_entry_size(e);
        if (archive_read_data_skip(tar_stream_archive(s)) < ARCHIVE_WARN)
            rc = tar_stream_error(s, "corrupt archive", err);
    }
    if (rc == 0)
        rc = tar_stream_finish(s, err);
    tar_stream_close(s);
    if (rc < 0) {
        ud_error_prefix(err, "layer %s: ", layer_path);
        return rc;
    }
    if (stats)
        *stats = st;
    return 0;
}
