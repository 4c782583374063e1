/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Root emulation around the calls that change or show ownership: chown and
 * refused chmod succeed and are remembered (owners.c), mknod of a device
 * makes an empty file remembered as the device, unlink/rmdir/rename forget
 * the record of a file that is gone, getgroups shows the container's group
 * and stat results (ptrace path) get the container's ids.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arch.h"
#include "ptrace_int.h"
#include "systable.h"

mode_t
ud_tracee_umask(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 022;
    ssize_t len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len <= 0)
        return 022;
    buf[len] = '\0';
    const char *u = strstr(buf, "\nUmask:");
    return u != NULL ? (mode_t)strtol(u + 8, NULL, 8) & 0777 : 022;
}

static bool
as_root(const struct tracer *t)
{
    return t->statmap && t->spec->as_root;
}

/* Stat the file a call acts on into te->own_st. */
static void
take(struct tracee *te, const char *local, bool follow)
{
    te->own_ok =
        local[0] != '\0' && (follow ? stat(local, &te->own_st) : lstat(local, &te->own_st)) == 0;
}

/* mknod of a character or block device: an empty file stands for it. */
static void
fake_mknod(struct tracer *t, struct tracee *te, const char *local, mode_t mode, dev_t dev)
{
    mode_t perm = mode & 07777 & ~ud_tracee_umask(te->tid);
    int fd = local[0] != '\0'
                 ? open(local, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm)
                 : -1;
    if (fd < 0) {
        ud_sys_fail(te, local[0] != '\0' ? -errno : -ENOENT);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) == 0)
        ud_owners_set(t, &st, OWN_UNSET, OWN_UNSET, (mode & S_IFMT) | perm, dev);
    close(fd);
    ud_sys_fail(te, 0);
}

void
ud_own_enter(struct tracer *t, struct tracee *te, const struct sysdesc *d, char local[2][PATH_MAX])
{
    long nr = d->nr;
    bool follow = d->path[0] < 0 || ud_sys_follow(d, te->args);
    te->own_ok = false;
    if (d->path[0] < 0 && ud_sys_local_path(te->tid, (int)te->args[0], "", NULL, 1, local[0]) < 0)
        return; /* fchown */
    switch (d->kind) {
    case K_CHOWN: {
        if (!as_root(t))
            return;
        int ui = nr == SYS_fchownat ? 2 : 1;
        take(te, local[0], follow || strncmp(local[0], "/proc/", 6) == 0);
        te->own_uid = (uint32_t)te->args[ui];
        te->own_gid = (uint32_t)te->args[ui + 1];
        te->exit_work |= XW_CHOWN | XW_EPERM_OK;
        return;
    }
    case K_CHMOD:
        if (!as_root(t))
            return;
        take(te, local[0], follow);
        te->own_mode = (uint32_t)te->args[nr == SYS_chmod ? 1 : 2];
        te->exit_work |= XW_CHMOD;
        return;
    case K_MKNOD: {
        mode_t mode = (mode_t)te->args[nr == SYS_mknodat ? 2 : 1];
        if (as_root(t) && (S_ISCHR(mode) || S_ISBLK(mode)))
            fake_mknod(t, te, local[0], mode, (dev_t)te->args[nr == SYS_mknodat ? 3 : 2]);
        return;
    }
    case K_REMOVE:
        if (ud_owners_count(t) > 0) {
            take(te, local[0], false);
            if (te->own_ok && ud_owners_has(t, &te->own_st))
                te->exit_work |= XW_DROP;
        }
        return;
    default:
        /* rename: a file replaced at the new name is gone. */
        if (ud_owners_count(t) > 0 && d->path[1] >= 0 && nr != SYS_link && nr != SYS_linkat) {
            take(te, local[1], false);
            if (te->own_ok && ud_owners_has(t, &te->own_st))
                te->exit_work |= XW_DROP;
        }
        return;
    }
}

void
ud_own_open(struct tracer *t, struct tracee *te, const struct sysdesc *d, const char *local)
{
    int fi = d->flags >= 0 ? d->flags : 1;
    int flags = (int)te->args[fi];
    char path[64];
    int fd;
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_DIRECTORY | O_PATH)) ||
        ud_proc_copy(t, local, &fd) <= 0)
        return;
    /* The tracee opens the tracer's copy through /proc (same user). */
    snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)getpid(), fd);
    if (ud_xlate_set_str_arg(te, d->path[0], path) < 0) {
        close(fd);
        return;
    }
    te->own_fd = fd;
    te->exit_work |= XW_CLOSEFD;
}

void
ud_own_getgroups(struct tracer *t, struct tracee *te)
{
    if (!t->fake_ids)
        return;
    int size = (int)te->args[0];
    uint32_t gid = (uint32_t)t->fake_gid;
    if (size < 0)
        ud_sys_fail(te, -EINVAL);
    else if (size > 0 && ud_mem_write(te->tid, te->args[1], &gid, sizeof(gid)) < 0)
        ud_sys_fail(te, -EFAULT);
    else
        ud_sys_fail(te, 1);
}

static void
exit_stat(struct tracer *t, struct tracee *te)
{
    long nr = te->nr;
    if (nr == SYS_statx) {
        struct statx sx;
        if (ud_mem_read(te->tid, te->args[4], &sx, sizeof(sx)) == 0) {
            ud_owners_fix_statx(t, &sx);
            ud_mem_write(te->tid, te->args[4], &sx, sizeof(sx));
        }
        return;
    }
    uint64_t buf = te->args[nr == SYS_newfstatat ? 2 : 1];
    struct stat st;
    if (ud_mem_read(te->tid, buf, &st, sizeof(st)) == 0) {
        ud_owners_fix_stat(t, &st);
        ud_mem_write(te->tid, buf, &st, sizeof(st));
    }
}

void
ud_own_exit(struct tracer *t, struct tracee *te, unsigned w, int64_t rval)
{
    if (w & XW_CLOSEFD) {
        close(te->own_fd);
        te->own_fd = -1;
    }
    if ((w & XW_STAT) && rval == 0)
        exit_stat(t, te);
    if ((w & XW_CHOWN) && te->own_ok && (rval == 0 || rval == -EPERM)) {
        if (rval == 0) {
            /* The kernel did it: the host ids are the ones asked for. */
            if (te->own_uid != OWN_UNSET)
                te->own_st.st_uid = te->own_uid;
            if (te->own_gid != OWN_UNSET)
                te->own_st.st_gid = te->own_gid;
        }
        ud_owners_set(t, &te->own_st, te->own_uid, te->own_gid, 0, 0);
    }
    if ((w & XW_CHMOD) && te->own_ok) {
        if (rval == -EPERM) {
            ud_owners_chmod(t, &te->own_st, te->own_mode);
            ud_arch_set_ret(te->tid, 0);
        } else if (rval == 0 && ud_owners_has(t, &te->own_st)) {
            te->own_st.st_mode = (te->own_st.st_mode & S_IFMT) | (te->own_mode & 07777);
            ud_owners_chmod(t, &te->own_st, te->own_mode);
        }
    }
    if ((w & XW_DROP) && te->own_ok && rval == 0 &&
        (S_ISDIR(te->own_st.st_mode) || te->own_st.st_nlink <= 1))
        ud_owners_drop(t, te->own_st.st_dev, te->own_st.st_ino);
}
