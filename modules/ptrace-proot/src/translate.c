/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Path arguments: guest path -> host path. Absolute paths go through the
 * canonicaliser; relative ones are taken relative to the guest view of the
 * tracee's cwd or dirfd. A single plain name looked up in a directory that
 * is inside the container needs no rewriting at all (the kernel finds the
 * same file), which keeps fts-style walkers (openat(dirfd, "name")) at one
 * stop per call. /proc/self and the magic links of /proc/PID are handled
 * here: the canonicaliser runs in the tracer, whose "self" is not the
 * tracee's, and the kernel must follow magic links itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch.h"
#include "ptrace_int.h"

int
ud_xlate_dirfd(pid_t tid, int dirfd, char *out)
{
    char link[64];
    if (dirfd == AT_FDCWD)
        snprintf(link, sizeof(link), "/proc/%d/cwd", (int)tid);
    else if (dirfd >= 0)
        snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)tid, dirfd);
    else
        return -EBADF;
    ssize_t n = readlink(link, out, PATH_MAX - 1);
    if (n < 0)
        return -errno;
    out[n] = '\0';
    if (out[0] != '/')
        return -ENOTDIR; /* a pipe, socket, anon inode */
    return 0;
}

int
ud_xlate_to_guest(struct tracer *t, const char *host, char *out, size_t outsz)
{
    return ud_pathmap_to_guest(t->map, host, out, outsz);
}

/* Could a lookup of this single name cross into a bind's mount point? */
static bool
is_bind_name(const struct tracer *t, const char *name)
{
    for (size_t i = 0; i < t->nbind_names; i++)
        if (strcmp(name, t->bind_names[i]) == 0)
            return true;
    return false;
}

/* A plain name (no "/", not "..") resolves on the host as in the guest,
 * wherever its directory is: inside the container the kernel finds the
 * same file, outside it host semantics are what the tracer would give
 * anyway. Two exceptions: a name that may be a bind's mount point (the
 * guest sees the bind there, the host the empty directory), and a final
 * symlink that is followed (its target must resolve in the guest): the
 * name is lstat'ed through the tracee's own /proc/PID/fd/N (or cwd) link,
 * one call. Results that carry paths (readlink) take the full path. */
static bool
fast_ok(struct tracer *t, struct tracee *te, int dirfd, const char *name, unsigned how)
{
    if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, "..") == 0 ||
        (how & XL_RESULT) || is_bind_name(t, name))
        return false;
    if (!(how & XL_FOLLOW) || strcmp(name, ".") == 0)
        return true;
    char p[PATH_MAX];
    struct stat st;
    int n = dirfd == AT_FDCWD
                ? snprintf(p, sizeof(p), "/proc/%d/cwd/%s", (int)te->tid, name)
                : snprintf(p, sizeof(p), "/proc/%d/fd/%d/%s", (int)te->tid, dirfd, name);
    if (n < 0 || (size_t)n >= sizeof(p) || (dirfd < 0 && dirfd != AT_FDCWD))
        return false;
    if (lstat(p, &st) < 0)
        return errno == ENOENT; /* a missing name: it may be created there */
    return !S_ISLNK(st.st_mode);
}

static pid_t
tracee_tgid(struct tracee *te)
{
    if (te->tgid > 0)
        return te->tgid;
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)te->tid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return te->tid;
    while (fgets(buf, sizeof(buf), f) != NULL) {
        if (strncmp(buf, "Tgid:", 5) == 0) {
            te->tgid = (pid_t)strtol(buf + 5, NULL, 10);
            break;
        }
    }
    fclose(f);
    return te->tgid > 0 ? te->tgid : te->tid;
}

/* Parse "/proc/N[/task/T]/WHAT[/rest]". WHAT is returned in *what ('e' exe,
 * 'r' root, 'c' cwd, 'f' fd/K, 'o' anything else); *rest points after
 * WHAT (after fd/K for 'f'). False when the path is not under /proc/N. */
static bool
parse_proc(const char *p, int *pid, char *what, const char **rest)
{
    if (strncmp(p, "/proc/", 6) != 0)
        return false;
    char *end;
    long n = strtol(p + 6, &end, 10);
    if (end == p + 6 || n <= 0 || (*end != '/' && *end != '\0'))
        return false;
    *pid = (int)n;
    const char *q = end;
    if (strncmp(q, "/task/", 6) == 0) {
        strtol(q + 6, &end, 10);
        if (end == q + 6 || (*end != '/' && *end != '\0'))
            return false;
        q = end;
    }
    *what = 'o';
    *rest = q;
    if (*q == '\0')
        return true;
    q++;
    size_t len = strcspn(q, "/");
    if (len == 3 && strncmp(q, "exe", 3) == 0)
        *what = 'e';
    else if (len == 4 && strncmp(q, "root", 4) == 0)
        *what = 'r';
    else if (len == 3 && strncmp(q, "cwd", 3) == 0)
        *what = 'c';
    else if (len == 2 && strncmp(q, "fd", 2) == 0 && q[2] == '/' && q[3] >= '0' && q[3] <= '9') {
        *what = 'f';
        q += 3;
        len = strcspn(q, "/");
    } else
        return true;
    *rest = q + len;
    return true;
}

bool
ud_xlate_proc_link(const char *host, int *pid, char *what)
{
    const char *rest;
    return parse_proc(host, pid, what, &rest) && *what != 'o' && *rest == '\0';
}

/* "/proc/self..." and "/proc/thread-self..." name the tracee, not us. */
static int
proc_self(struct tracee *te, const char *guest, char *buf, size_t bufsz)
{
    const char *rest;
    int n;
    if (strncmp(guest, "/proc/self", 10) == 0 && (guest[10] == '/' || guest[10] == '\0')) {
        rest = guest + 10;
        n = snprintf(buf, bufsz, "/proc/%d%s", (int)tracee_tgid(te), rest);
    } else if (strncmp(guest, "/proc/thread-self", 17) == 0 &&
               (guest[17] == '/' || guest[17] == '\0')) {
        rest = guest + 17;
        n = snprintf(buf, bufsz, "/proc/%d/task/%d%s", (int)tracee_tgid(te), (int)te->tid, rest);
    } else
        return 0;
    if (n < 0 || (size_t)n >= bufsz)
        return -ENAMETOOLONG;
    return 1;
}

static int
copy_out(char *out, const char *s)
{
    size_t n = strlen(s);
    if (n >= PATH_MAX)
        return -ENAMETOOLONG;
    memcpy(out, s, n + 1);
    return 0;
}

/* Absolute guest path under the bound host /proc. 1 when not special. */
static int
xlate_proc(struct tracer *t, struct tracee *te, const char *guest, bool follow, char *out)
{
    int pid;
    char what;
    const char *rest;
    if (!parse_proc(guest, &pid, &what, &rest))
        return 1;
    switch (what) {
    case 'e':
        if (*rest == '\0' && follow) {
            struct tracee *o = ud_tracee_find(t, pid);
            if (o != NULL && o->exe != NULL)
                return ud_pathmap_to_host(t->map, "/", o->exe, true, out, PATH_MAX);
        }
        return copy_out(out, guest);
    case 'r':
        if (*rest == '\0' && !follow)
            return copy_out(out, guest);
        return ud_pathmap_to_host(t->map, "/", *rest ? rest : "/", follow, out, PATH_MAX);
    case 'c':
    case 'f':
        /* The kernel follows the magic link to the real host object. */
        return copy_out(out, guest);
    default:
        return 1;
    }
    (void)te;
}

static int
xlate_abs(struct tracer *t, struct tracee *te, const char *guest, bool follow, char *out)
{
    char tmp[PATH_MAX];
    int r;
    if (t->proc_bound && strncmp(guest, "/proc/", 6) == 0) {
        r = proc_self(te, guest, tmp, sizeof(tmp));
        if (r < 0)
            return r;
        if (r == 1)
            guest = tmp;
        r = xlate_proc(t, te, guest, follow, out);
        if (r <= 0)
            return r;
    }
    r = ud_pathmap_to_host(t->map, "/", guest, follow, out, PATH_MAX);
    if (r < 0)
        return r;
    return 0;
}

int
ud_xlate(struct tracer *t, struct tracee *te, int dirfd, const char *guest, unsigned how, char *out)
{
    bool follow = (how & XL_FOLLOW) != 0;
    int r;
    if (guest[0] == '\0')
        return 1; /* AT_EMPTY_PATH, or ENOENT from the kernel */
    if (guest[0] == '/') {
        r = xlate_abs(t, te, guest, follow, out);
        if (r == 0 && strcmp(out, guest) == 0)
            return 1;
        return r;
    }
    if (fast_ok(t, te, dirfd, guest, how)) {
        t->nfast++;
        return 1;
    }
    char base[PATH_MAX];
    if (ud_xlate_dirfd(te->tid, dirfd, base) < 0)
        return 1; /* EBADF, ENOTDIR: the kernel says it */
    char gbase[PATH_MAX], abs[PATH_MAX];
    r = ud_pathmap_to_guest(t->map, base, gbase, sizeof(gbase));
    if (r == -ENOENT)
        return 1; /* outside the container: host semantics */
    if (r < 0)
        return r;
    int n = snprintf(abs, sizeof(abs), "%s/%s", strcmp(gbase, "/") == 0 ? "" : gbase, guest);
    if (n < 0 || (size_t)n >= sizeof(abs))
        return -ENAMETOOLONG;
    r = xlate_abs(t, te, abs, follow, out);
    return r;
}

int
ud_xlate_set_str_arg(struct tracee *te, int i, const char *s)
{
    uint64_t addr;
    int r = ud_mem_push(te, s, strlen(s) + 1, &addr);
    if (r < 0)
        return r;
    r = ud_arch_set_arg(te->tid, i, addr);
    if (r < 0)
        return r;
    te->restore_mask |= 1u << i;
    te->exit_work |= XW_RESTORE;
    return 0;
}
