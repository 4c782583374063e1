/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who runs inside (reference 6.5): --user or the image's User, looked up
 * in the container's passwd (or the host's with --hostauth), named users
 * mapped to the caller's uid and gid, and the passwd/group copies bound
 * over /etc/passwd and /etc/group with the user and the caller's groups.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"

/* Limit on passwd/group files read (a container's may be large on NIS
 * images, but not this large). */
#define AUTH_MAX (16u * 1024 * 1024)

struct pwent {
    char *name, *gecos, *home, *shell;
    long uid, gid; /* -1 when not given */
};

static void
pwent_fini(struct pwent *p)
{
    free(p->name);
    free(p->gecos);
    free(p->home);
    free(p->shell);
    memset(p, 0, sizeof(*p));
}

static bool
all_digits(const char *s, size_t n)
{
    if (n == 0 || n > 9)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static long
num(const char *s, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Parse --user: a name [A-Za-z_][A-Za-z0-9_.-]* or uid[:gid]. */
static int
user_parse(const char *u, struct pwent *out, struct ud_error *err)
{
    size_t n = strcspn(u, ":");

    memset(out, 0, sizeof(*out));
    out->uid = out->gid = -1;
    if (all_digits(u, n)) {
        out->uid = num(u, n);
        if (u[n] == ':') {
            if (!all_digits(u + n + 1, strlen(u + n + 1)))
                return ud_error_set(err, UD_EINVAL, 0, "invalid syntax for user: %s", u);
            out->gid = num(u + n + 1, strlen(u + n + 1));
        }
        return 0;
    }
    bool ok = u[n] == '\0' && n > 0 && n < 256 &&
              ((u[0] >= 'A' && u[0] <= 'Z') || (u[0] >= 'a' && u[0] <= 'z') || u[0] == '_');
    for (size_t i = 1; ok && i < n; i++)
        ok = (u[i] >= 'A' && u[i] <= 'Z') || (u[i] >= 'a' && u[i] <= 'z') ||
             (u[i] >= '0' && u[i] <= '9') || u[i] == '_' || u[i] == '-' || u[i] == '.';
    if (!ok)
        return ud_error_set(err, UD_EINVAL, 0, "invalid syntax for user: %s", u);
    out->name = ud_strdup(u);
    return out->name ? 0 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
}

/* Field i (0-based) of a ':'-separated line of length n. */
static bool
field(const char *line, size_t n, int i, const char **f, size_t *fl)
{
    const char *p = line, *end = line + n;

    for (; i > 0; i--) {
        p = memchr(p, ':', (size_t)(end - p));
        if (p == NULL)
            return false;
        p++;
    }
    const char *q = memchr(p, ':', (size_t)(end - p));
    *f = p;
    *fl = (size_t)((q ? q : end) - p);
    return true;
}

/* Find name (or uid when name is NULL) in passwd text. */
static int
pw_lookup(const char *text, const char *name, long uid, struct pwent *out, struct ud_error *err)
{
    for (const char *l = text; l && *l;) {
        const char *nl = strchrnul(l, '\n');
        size_t n = (size_t)(nl - l);
        const char *f[7];
        size_t fl[7];
        bool ok = true;
        for (int i = 0; i < 7 && ok; i++)
            ok = field(l, n, i, &f[i], &fl[i]);
        if (ok && all_digits(f[2], fl[2]) && all_digits(f[3], fl[3]) &&
            (name ? (strlen(name) == fl[0] && strncmp(f[0], name, fl[0]) == 0)
                  : num(f[2], fl[2]) == uid)) {
            memset(out, 0, sizeof(*out));
            out->uid = num(f[2], fl[2]);
            out->gid = num(f[3], fl[3]);
            out->name = ud_strndup(f[0], fl[0]);
            out->gecos = ud_strndup(f[4], fl[4]);
            out->home = ud_strndup(f[5], fl[5]);
            out->shell = ud_strndup(f[6], fl[6]);
            if (!out->name || !out->gecos || !out->home || !out->shell) {
                pwent_fini(out);
                return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
            }
            return 0;
        }
        l = *nl ? nl + 1 : nl;
    }
    return UD_ENOENT;
}

/* Does group text have a group with this gid? */
static bool
gr_has_gid(const char *text, long gid)
{
    for (const char *l = text; l && *l;) {
        const char *nl = strchrnul(l, '\n');
        const char *f;
        size_t fl;
        if (field(l, (size_t)(nl - l), 2, &f, &fl) && all_digits(f, fl) && num(f, fl) == gid)
            return true;
        l = *nl ? nl + 1 : nl;
    }
    return false;
}

/* Read an auth file of the container (through binds and symlinks) or of
 * the host; a missing one reads as empty. */
static int
auth_read(const struct ud_run_spec *s, const char *cont, const char *hostfile, char **out,
          struct ud_error *err)
{
    cleanup_free char *hp = NULL;
    size_t len = 0;
    int rc;

    if (hostfile == NULL) {
        rc = ud_engine_resolve(s, cont, &hp, NULL);
        if (rc == UD_ENOMEM)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        hostfile = hp;
    }
    if (hostfile == NULL || ud_file_read(hostfile, AUTH_MAX, out, &len, NULL) != 0) {
        *out = ud_strdup("");
        return *out ? 0 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    return 0;
}

/* Write text to a new 0600 file in tmpdir; *path is the caller's. */
static int
tmp_write(const char *tmpdir, const char *what, const char *text, char **path, struct ud_error *err)
{
    cleanup_free char *p = ud_asprintf("%s/udocker-%d-%s-XXXXXX", tmpdir, (int)getpid(), what);
    cleanup_close int fd = -1;
    size_t len = strlen(text), off = 0;

    if (p == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    fd = mkostemp(p, O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, UD_EIO, errno, "create %s", p);
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            unlink(p);
            return ud_error_set(err, ud_error_from_errno(e), e, "write %s", p);
        }
        off += (size_t)n;
    }
    *path = ud_steal(&p);
    return 0;
}

/* Is this exact line in text? */
static bool
has_line(const char *text, const char *line)
{
    size_t ll = strlen(line);
    for (const char *l = text; l && *l;) {
        const char *nl = strchrnul(l, '\n');
        if ((size_t)(nl - l) == ll && strncmp(l, line, ll) == 0)
            return true;
        l = *nl ? nl + 1 : nl;
    }
    return false;
}

/* Append to a copy of text a line, after a newline if text lacks one. */
static int
append_line(struct ud_buf *b, const char *line, struct ud_error *err)
{
    if (b->len > 0 && b->data[b->len - 1] != '\n' && ud_buf_append(b, "\n", 1, err) != 0)
        return UD_ENOMEM;
    if (ud_buf_append(b, line, strlen(line), err) != 0 || ud_buf_append(b, "\n", 1, err) != 0)
        return UD_ENOMEM;
    return 0;
}

/* Insert the bind just appended at index at (before the user volumes). */
static void
bind_move_last(struct ud_run_spec *s, size_t at)
{
    struct ud_bind b = s->binds[s->nbinds - 1];
    memmove(&s->binds[at + 1], &s->binds[at], (s->nbinds - 1 - at) * sizeof(b));
    s->binds[at] = b;
}

static size_t
first_user_bind(const struct ud_run_spec *s)
{
    for (size_t i = 0; i < s->nbinds; i++)
        if (s->binds[i].flags & UD_BIND_USER)
            return i;
    return s->nbinds;
}

static int
bind_generated(struct ud_run_spec *s, const char *tmpdir, const char *what, const char *cont,
               const char *text, struct ud_error *err)
{
    cleanup_free char *p = NULL;
    int rc;

    size_t at = first_user_bind(s);

    if ((rc = tmp_write(tmpdir, what, text, &p, err)) != 0)
        return rc;
    if ((rc = ud_spec_bind_add(s, p, cont, UD_BIND_GENERATED, err)) != 0) {
        unlink(p);
        return rc;
    }
    if (at + 1 < s->nbinds)
        bind_move_last(s, at);
    return 0;
}

/* The passwd and group copies (reference 6.5). */
static int
gen_auth(struct ud_run_spec *s, const struct ud_run_opts *o, const struct ud_host_ident *h,
         const struct ud_run_defaults *d, const char *gecos, struct ud_error *err)
{
    const char *tmpdir = d && d->tmpdir ? d->tmpdir : "/tmp";
    cleanup_free char *pw = NULL;
    cleanup_free char *gr = NULL;
    cleanup_free char *hostgr = NULL;
    cleanup_free char *line = NULL;
    struct ud_buf pb, gb;
    int rc;

    if ((rc = auth_read(s, "/etc/passwd", o->hostauth ? h->passwd_file : NULL, &pw, err)) ||
        (rc = auth_read(s, "/etc/group", o->hostauth ? h->group_file : NULL, &gr, err)))
        return rc;
    ud_buf_init(&pb, 0);
    ud_buf_init(&gb, 0);
    rc = ud_buf_append(&pb, pw, strlen(pw), err) || ud_buf_append(&gb, gr, strlen(gr), err)
             ? UD_ENOMEM
             : 0;
    if (rc == 0 && !o->hostauth) {
        line = ud_asprintf("%s:x:%u:%u:%s:%s:%s", s->user, (unsigned)s->uid, (unsigned)s->gid,
                           gecos, s->home, s->shell);
        if (line == NULL)
            rc = UD_ENOMEM;
        else if (!has_line(pw, line))
            rc = append_line(&pb, line, err);
        if (rc == 0)
            rc = auth_read(s, NULL, h->group_file ? h->group_file : "/etc/group", &hostgr, err);
        if (rc == 0 && !gr_has_gid(hostgr, (long)s->gid)) {
            free(line);
            line = ud_asprintf("%s:x:%u:", s->user, (unsigned)s->gid);
            rc = line ? append_line(&gb, line, err) : UD_ENOMEM;
        }
        for (size_t i = 0; rc == 0 && i < h->ngroups; i++) {
            free(line);
            line = ud_asprintf("G%u:x:%u:%s,", (unsigned)h->groups[i], (unsigned)h->groups[i],
                               s->user);
            rc = line ? append_line(&gb, line, err) : UD_ENOMEM;
        }
    }
    if (rc == 0 && pb.data && gb.data) {
        rc = bind_generated(s, tmpdir, "passwd", "/etc/passwd", pb.data, err);
        if (rc == 0)
            rc = bind_generated(s, tmpdir, "group", "/etc/group", gb.data, err);
    }
    ud_buf_fini(&pb);
    ud_buf_fini(&gb);
    if (rc == UD_ENOMEM)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return rc;
}

/* Fill s->user/uid/gid/home/shell from the parsed request. */
static int
user_resolve(struct ud_run_spec *s, const struct ud_run_opts *o, const struct ud_host_ident *h,
             const struct pwent *want, const char *asked, struct pwent *res, struct ud_error *err)
{
    cleanup_free char *pw = NULL;
    int rc;

    if ((rc = auth_read(s, "/etc/passwd", o->hostauth ? h->passwd_file : NULL, &pw, err)))
        return rc;
    rc = pw_lookup(pw, want->name, want->uid, res, err);
    if (rc == UD_ENOMEM)
        return rc;
    if (rc == UD_ENOENT) {
        if (o->hostauth || o->containerauth)
            return ud_error_set(err, UD_ENOENT, 0, "user not found: %s", asked);
        if (want->name == NULL && want->uid == 0)
            res->name = ud_strdup("root");
        else
            res->name = want->name ? ud_strdup(want->name) : ud_asprintf("%ld", want->uid);
        res->gecos = ud_strdup("*UDOCKER*");
        res->home = ud_strdup(want->uid == 0 ? "/root" : "/");
        res->shell = ud_strdup("/bin/sh");
        res->uid = want->uid >= 0 ? want->uid : (long)h->uid;
        res->gid = want->gid >= 0 ? want->gid : res->uid == 0 ? 0 : (long)h->gid;
        if (!res->name || !res->gecos || !res->home || !res->shell)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        return 0;
    }
    if (want->name != NULL) {
        /* Named users run with the caller's ids; root stays 0:0. */
        if (res->uid != 0) {
            res->uid = (long)h->uid;
            res->gid = (long)h->gid;
        }
    } else {
        res->uid = want->uid;
        if (want->gid >= 0)
            res->gid = want->gid;
    }
    return 0;
}

int
ud_spec_user(struct ud_run_spec *s, const struct ud_run_opts *o, const struct ud_host_ident *h,
             const struct ud_run_defaults *d, const struct ud_meta *m, struct ud_error *err)
{
    const char *asked = o->user && o->user[0] ? o->user : (m->user && m->user[0] ? m->user : NULL);
    struct pwent want, res = {0};
    int rc;

    if (asked == NULL)
        asked = s->mode[0] == 'F' && h->user ? h->user : "root";
    if ((rc = user_parse(asked, &want, err)) != 0)
        return rc;
    rc = user_resolve(s, o, h, &want, asked, &res, err);
    pwent_fini(&want);
    if (rc != 0) {
        pwent_fini(&res);
        return rc;
    }
    if (o->bindhome && h->home && h->home[0] == '/') {
        free(res.home);
        res.home = ud_strdup(h->home);
    }
    s->uid = (uid_t)res.uid;
    s->gid = (gid_t)res.gid;
    s->as_root = res.uid == 0;
    s->user = ud_steal(&res.name);
    s->home = ud_steal(&res.home);
    s->shell = ud_steal(&res.shell);
    if (!s->home || !s->user || !s->shell) {
        pwent_fini(&res);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    if (!s->shell[0]) {
        free(s->shell);
        if (!(s->shell = ud_strdup("/bin/sh"))) {
            pwent_fini(&res);
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        }
    }
    rc = 0;
    const struct ud_bind *bp = ud_spec_bind_find(s, "/etc/passwd");
    const struct ud_bind *bg = ud_spec_bind_find(s, "/etc/group");
    bool user_bound = (bp && (bp->flags & UD_BIND_USER)) || (bg && (bg->flags & UD_BIND_USER));
    if (!o->containerauth && !user_bound)
        rc = gen_auth(s, o, h, d, res.gecos ? res.gecos : "*UDOCKER*", err);
    pwent_fini(&res);
    return rc;
}
