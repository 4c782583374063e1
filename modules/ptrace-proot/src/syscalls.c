/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Syscall entry and exit handling: path arguments rewritten at entry (the
 * original register put back at exit, since the x86_64 ABI preserves
 * argument registers across a syscall), results that carry paths rewritten
 * at exit, and the small emulations (ids, uname, ports, chroot).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "arch.h"
#include "ptrace_int.h"
#include "systable.h"

/* Skip the call; the exit stop sets its result. */
static void
fail(struct tracee *te, int64_t ret)
{
    if (ud_arch_set_nr(te->tid, -1) < 0)
        return;
    te->exit_work |= XW_RET;
    te->ret_value = ret;
}

void
ud_sys_fail(struct tracee *te, int64_t ret)
{
    fail(te, ret);
}

bool
ud_sys_follow_k(const void *desc, pid_t tid, const uint64_t args[6], int k)
{
    const struct sysdesc *d = desc;
    uint64_t fl = d->flags >= 0 ? args[d->flags] : 0;
    switch (d->follow[k]) {
    case FOL_YES:
        return true;
    case FOL_AT_NOFOLLOW:
        return !(fl & AT_SYMLINK_NOFOLLOW);
    case FOL_AT_FOLLOW:
        return (fl & AT_SYMLINK_FOLLOW) != 0;
    case FOL_OPEN:
        if (d->flags < 0)
            fl = args[1]; /* open(path, flags) */
        return !(fl & O_NOFOLLOW) && !((fl & O_CREAT) && (fl & O_EXCL));
    case FOL_OPENHOW: {
        struct open_how how;
        if (tid <= 0 || ud_mem_read(tid, args[2], &how, sizeof(how.flags)) < 0)
            return true;
        return !(how.flags & O_NOFOLLOW) && !((how.flags & O_CREAT) && (how.flags & O_EXCL));
    }
    case FOL_INOTIFY:
        return !(args[2] & IN_DONT_FOLLOW);
    default:
        return false;
    }
}

/* The host path the tracer itself can use for a path argument: the
 * rewritten one, else the argument resolved through the tracee's own cwd
 * or dirfd link ("" names the dirfd itself). */
int
ud_sys_local_path(pid_t tid, int dirfd, const char *guest, const char *host, int r, char *out)
{
    int n;
    if (r == 0)
        n = snprintf(out, PATH_MAX, "%s", host);
    else if (guest[0] == '/')
        n = snprintf(out, PATH_MAX, "%s", guest);
    else if (dirfd == AT_FDCWD)
        n = snprintf(out, PATH_MAX, "/proc/%d/cwd%s%s", (int)tid, guest[0] ? "/" : "", guest);
    else if (dirfd >= 0)
        n = snprintf(out, PATH_MAX, "/proc/%d/fd/%d%s%s", (int)tid, dirfd, guest[0] ? "/" : "",
                     guest);
    else
        return -EBADF;
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* Remember the host path of a namespace-changing call for the exit stop:
 * the canonicaliser is told once the change is done. An unchanged
 * relative path is resolved from the guest view of its base directory. */
static void
note_inval(struct tracer *t, struct tracee *te, int k, int dirfd, const char *guest,
           const char *host, int r)
{
    char base[PATH_MAX], gbase[PATH_MAX], full[PATH_MAX];
    const char *p = host;
    if (r != 0) {
        p = guest;
        if (guest[0] != '/') {
            if (ud_xlate_dirfd(te->tid, dirfd, base) < 0 ||
                ud_pathmap_to_guest(t->map, base, gbase, sizeof(gbase)) < 0)
                return; /* outside the container: nothing of it is cached */
            if (ud_pathmap_to_host(t->map, gbase, guest, false, full, sizeof(full)) < 0)
                return;
            p = full;
        }
    }
    free(te->inval_host[k]);
    te->inval_host[k] = ud_strdup(p);
    te->exit_work |= XW_INVAL;
}

/* Translate every path argument of d. False when the call was failed.
 * local (may be NULL) gets the tracer's path of each argument
 * (ud_sys_local_path), "" when there is none. */
static bool
do_paths(struct tracer *t, struct tracee *te, const struct sysdesc *d, char (*local)[PATH_MAX])
{
    char guest[PATH_MAX], host[PATH_MAX];
    if (local != NULL)
        local[0][0] = local[1][0] = '\0';
    for (int k = 0; k < 2; k++) {
        int pi = d->path[k];
        if (pi < 0 || te->args[pi] == 0)
            continue;
        int r = ud_mem_read_str(te->tid, te->args[pi], guest, sizeof(guest));
        if (r == -EFAULT)
            continue; /* the kernel reports it */
        if (r < 0) {
            fail(te, r);
            return false;
        }
        int dirfd = d->dirfd[k] >= 0 ? (int)te->args[d->dirfd[k]] : AT_FDCWD;
        unsigned how = ud_sys_follow_k(d, te->tid, te->args, k) ? XL_FOLLOW : 0;
        if (d->kind == K_READLINK)
            how |= XL_RESULT;
        r = ud_xlate(t, te, dirfd, guest, how, host);
        if (r < 0) {
            fail(te, r);
            return false;
        }
        if (d->inval)
            note_inval(t, te, k, dirfd, guest, host, r);
        if (local != NULL && !(d->kind == K_READLINK && guest[0] == '\0') &&
            ud_sys_local_path(te->tid, dirfd, guest, host, r, local[k]) < 0)
            local[k][0] = '\0';
        if (r == 1)
            continue;
        t->nrewrites++;
        r = ud_xlate_set_str_arg(te, pi, host);
        if (r < 0) {
            fail(te, r);
            return false;
        }
    }
    return true;
}

static void
enter_sock(struct tracer *t, struct tracee *te)
{
    int ai = te->nr == SYS_sendto ? 4 : 1;
    uint64_t addr = te->args[ai];
    size_t len = (size_t)te->args[ai + 1];
    struct sockaddr_storage ss;
    if (addr == 0 || len < sizeof(sa_family_t) || len > sizeof(ss))
        return;
    memset(&ss, 0, sizeof(ss));
    if (ud_mem_read(te->tid, addr, &ss, len) < 0)
        return;
    uint64_t naddr;
    size_t nlen = len;
    if (ss.ss_family == AF_UNIX) {
        struct sockaddr_un *un = (struct sockaddr_un *)&ss;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        if (len <= off || un->sun_path[0] == '\0')
            return; /* unnamed or abstract */
        char guest[sizeof(un->sun_path) + 1], host[PATH_MAX];
        memcpy(guest, un->sun_path, len - off);
        guest[len - off] = '\0';
        int r = ud_xlate(t, te, AT_FDCWD, guest, te->nr != SYS_bind ? XL_FOLLOW : 0, host);
        if (r == 1)
            return;
        if (r == 0 && strlen(host) >= sizeof(un->sun_path))
            r = -ENAMETOOLONG;
        if (r < 0) {
            fail(te, r);
            return;
        }
        memset(un->sun_path, 0, sizeof(un->sun_path));
        memcpy(un->sun_path, host, strlen(host));
        nlen = off + strlen(host) + 1;
    } else if (te->nr == SYS_bind && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
        in_port_t *pp = ss.ss_family == AF_INET ? &((struct sockaddr_in *)&ss)->sin_port
                                                : &((struct sockaddr_in6 *)&ss)->sin6_port;
        const struct ud_run_spec *s = t->spec;
        size_t i;
        for (i = 0; i < s->nports; i++)
            if (s->ports[i].cont == ntohs(*pp))
                break;
        if (i == s->nports)
            return;
        *pp = htons(s->ports[i].host);
    } else
        return;
    if (ud_mem_push(te, &ss, nlen, &naddr) < 0 || ud_arch_set_arg(te->tid, ai, naddr) < 0 ||
        ud_arch_set_arg(te->tid, ai + 1, nlen) < 0)
        return;
    te->restore_mask |= 3u << ai;
    te->exit_work |= XW_RESTORE;
}

static void
enter_chroot(struct tracer *t, struct tracee *te)
{
    char guest[PATH_MAX], host[PATH_MAX];
    struct stat st;
    int r = ud_mem_read_str(te->tid, te->args[0], guest, sizeof(guest));
    if (r == 0)
        r = ud_xlate(t, te, AT_FDCWD, guest, XL_FOLLOW, host);
    if (r == 1)
        memcpy(host, guest, strlen(guest) + 1);
    if (r >= 0)
        r = stat(host, &st) == 0 ? (S_ISDIR(st.st_mode) ? 0 : -ENOTDIR) : -errno;
    /* The root stays the container's: a chroot is accepted, not done. */
    fail(te, r);
}

static void
enter_readlink(struct tracer *t, struct tracee *te, const struct sysdesc *d)
{
    char host[2][PATH_MAX];
    if (!do_paths(t, te, d, host) || !t->proc_bound)
        return;
    int pid;
    char what;
    if (ud_xlate_proc_link(host[0], &pid, &what)) {
        te->proc_pid = pid;
        te->proc_what = what;
        te->exit_work |= XW_READLINK;
    }
}

void
ud_sys_enter(struct tracer *t, struct tracee *te, long nr, const uint64_t args[6], uint64_t sp)
{
    te->nr = nr;
    memcpy(te->args, args, sizeof(te->args));
    te->sp = sp;
    te->scratch = sp - UD_ARCH_REDZONE;
    if (te->exit_work & XW_CLOSEFD)
        close(te->own_fd); /* an exit that never came */
    te->exit_work = 0;
    te->restore_mask = 0;
    for (int k = 0; k < 2; k++) {
        free(te->inval_host[k]); /* an exit that never came */
        te->inval_host[k] = NULL;
    }
    const struct sysdesc *d = ud_systable_lookup(nr);
    if (d == NULL)
        return;
    int r;
    char local[2][PATH_MAX];
    switch (d->kind) {
    case K_PATH:
        if (t->proc_bound && (nr == SYS_open || nr == SYS_openat)) {
            if (do_paths(t, te, d, local))
                ud_own_open(t, te, d, local[0]);
        } else if (d->path[1] >= 0 && ud_owners_count(t) > 0) {
            if (do_paths(t, te, d, local))
                ud_own_enter(t, te, d, local); /* rename over a file */
        } else
            do_paths(t, te, d, NULL);
        break;
    case K_STAT:
        if (do_paths(t, te, d, NULL) && t->statmap)
            te->exit_work |= XW_STAT;
        break;
    case K_CHOWN:
    case K_CHMOD:
    case K_REMOVE:
    case K_MKNOD:
        if (do_paths(t, te, d, local))
            ud_own_enter(t, te, d, local);
        break;
    case K_GETGROUPS:
        ud_own_getgroups(t, te);
        break;
    case K_READLINK:
        enter_readlink(t, te, d);
        break;
    case K_EXEC:
        te->exec_done = false;
        if (nr == SYS_execveat)
            r = ud_exec_enter(t, te, (int)args[0], 1);
        else
            r = ud_exec_enter(t, te, AT_FDCWD, 0);
        if (r < 0)
            fail(te, r);
        else
            te->exit_work |= XW_EXEC;
        break;
    case K_GETCWD:
        te->exit_work |= XW_GETCWD;
        break;
    case K_CHROOT:
        enter_chroot(t, te);
        break;
    case K_SOCK:
        enter_sock(t, te);
        break;
    case K_UNAME:
        if (t->spec->kernel != NULL)
            te->exit_work |= XW_UNAME;
        break;
    case K_ID_GET_U:
    case K_ID_GET_G:
        if (t->fake_ids)
            fail(te, d->kind == K_ID_GET_U ? (int64_t)t->fake_uid : (int64_t)t->fake_gid);
        break;
    case K_ID_SET:
        if (t->fake_ids)
            fail(te, 0);
        break;
    case K_RESID:
        if (t->fake_ids) {
            fail(te, 0);
            te->exit_work |= XW_RESID;
        }
        break;
    }
}

static void
exit_getcwd(struct tracer *t, struct tracee *te, int64_t rval)
{
    char host[PATH_MAX], guest[PATH_MAX];
    if (rval <= 0 || rval > PATH_MAX)
        return;
    if (ud_mem_read(te->tid, te->args[0], host, (size_t)rval) < 0)
        return;
    host[rval - 1] = '\0';
    if (ud_xlate_to_guest(t, host, guest, sizeof(guest)) < 0)
        return; /* outside the container: the host path, as PRoot does */
    size_t len = strlen(guest) + 1;
    if (len > te->args[1]) {
        ud_arch_set_ret(te->tid, -ERANGE);
        return;
    }
    if (ud_mem_write(te->tid, te->args[0], guest, len) == 0)
        ud_arch_set_ret(te->tid, (int64_t)len);
}

static void
exit_readlink(struct tracer *t, struct tracee *te, int64_t rval)
{
    int bi = te->nr == SYS_readlinkat ? 2 : 1;
    uint64_t buf = te->args[bi];
    size_t size = (size_t)te->args[bi + 1];
    char host[PATH_MAX], guest[PATH_MAX];
    if (rval < 0 || rval >= PATH_MAX)
        return;
    if (ud_mem_read(te->tid, buf, host, (size_t)rval) < 0)
        return;
    host[rval] = '\0';
    struct tracee *o = te->proc_what == 'e' ? ud_tracee_find(t, te->proc_pid) : NULL;
    if (o != NULL && o->exe != NULL)
        snprintf(guest, sizeof(guest), "%s", o->exe);
    else if (te->proc_what == 'r')
        snprintf(guest, sizeof(guest), "/");
    else if (host[0] != '/' || ud_xlate_to_guest(t, host, guest, sizeof(guest)) < 0)
        return;
    size_t len = strlen(guest);
    if (len > size)
        len = size;
    if (ud_mem_write(te->tid, buf, guest, len) == 0)
        ud_arch_set_ret(te->tid, (int64_t)len);
}

static void
exit_uname(struct tracer *t, struct tracee *te)
{
    char rel[sizeof(((struct utsname *)0)->release)];
    memset(rel, 0, sizeof(rel));
    snprintf(rel, sizeof(rel), "%s", t->spec->kernel);
    ud_mem_write(te->tid, te->args[0] + offsetof(struct utsname, release), rel, sizeof(rel));
}

static void
exit_resid(struct tracer *t, struct tracee *te)
{
    uint32_t id = te->nr == SYS_getresuid ? (uint32_t)t->fake_uid : (uint32_t)t->fake_gid;
    for (int i = 0; i < 3; i++) {
        if (te->args[i] != 0 && ud_mem_write(te->tid, te->args[i], &id, sizeof(id)) < 0) {
            ud_arch_set_ret(te->tid, -EFAULT);
            return;
        }
    }
}

void
ud_sys_exit(struct tracer *t, struct tracee *te, int64_t rval)
{
    unsigned w = te->exit_work;
    te->exit_work = 0;
    if (w & XW_EXEC) {
        if (te->exec_done)
            return; /* a new image: its registers are its own */
        free(te->pending_exe);
        te->pending_exe = NULL;
    }
    if (w & XW_RESTORE) {
        for (int i = 0; i < 6; i++)
            if (te->restore_mask & (1u << i))
                ud_arch_set_arg(te->tid, i, te->args[i]);
    }
    if (w & XW_RET) {
        ud_arch_set_ret(te->tid, te->ret_value);
        rval = te->ret_value;
    }
    if ((w & XW_GETCWD) != 0)
        exit_getcwd(t, te, rval);
    if ((w & XW_READLINK) != 0)
        exit_readlink(t, te, rval);
    if ((w & XW_UNAME) != 0 && rval == 0)
        exit_uname(t, te);
    if ((w & XW_RESID) != 0)
        exit_resid(t, te);
    if (w & (XW_STAT | XW_CHOWN | XW_CHMOD | XW_DROP | XW_CLOSEFD))
        ud_own_exit(t, te, w, rval);
    if ((w & XW_EPERM_OK) != 0 && rval == -EPERM)
        ud_arch_set_ret(te->tid, 0);
    if (w & XW_INVAL) {
        for (int k = 0; k < 2; k++) {
            if (te->inval_host[k] != NULL && rval >= 0)
                ud_pathmap_invalidate(t->map, te->inval_host[k]);
            free(te->inval_host[k]);
            te->inval_host[k] = NULL;
        }
    }
}
