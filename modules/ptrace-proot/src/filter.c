/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The P1 seccomp filter, built with libseccomp in the tracer and handed to
 * the child as a raw BPF program (the child only calls prctl between fork
 * and exec). Path-carrying calls return SECCOMP_RET_TRACE; the id calls
 * under root emulation return 0 in the kernel without a stop; everything
 * else runs untraced. fstat()-style calls (AT_EMPTY_PATH) and futimens()
 * (NULL path) are left out by argument checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ptrace_int.h"
#include "systable.h"

/* The calls the notification supervisor serves (notify.c); the stat
 * family only with a path (not AT_EMPTY_PATH). */
static int
notify_rule(scmp_filter_ctx ctx, long nr, bool statmap)
{
    const uint32_t n = SCMP_ACT_NOTIFY;
    switch (nr) {
    case SYS_openat:
    case SYS_open: {
        /* O_PATH descriptors cannot be passed by SECCOMP_IOCTL_NOTIF_ADDFD
         * (the kernel's fget() refuses them): those opens stop instead. */
        int fi = nr == SYS_openat ? 2 : 1;
        int r = seccomp_rule_add(ctx, n, (int)nr, 1, SCMP_CMP(fi, SCMP_CMP_MASKED_EQ, O_PATH, 0));
        if (r == 0)
            r = seccomp_rule_add(ctx, SCMP_ACT_TRACE(0), (int)nr, 1,
                                 SCMP_CMP(fi, SCMP_CMP_MASKED_EQ, O_PATH, O_PATH));
        return r;
    }
    case SYS_fstat:
        return statmap ? seccomp_rule_add(ctx, n, (int)nr, 0) : 1;
    case SYS_newfstatat:
    case SYS_statx:
        if (statmap) /* every result gets the container's ids */
            return seccomp_rule_add(ctx, n, (int)nr, 0);
        if (nr == SYS_statx)
            return seccomp_rule_add(ctx, n, (int)nr, 1,
                                    SCMP_A2(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));
        return seccomp_rule_add(ctx, n, (int)nr, 1, SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));
    case SYS_stat:
    case SYS_lstat:
    case SYS_access:
    case SYS_faccessat:
    case SYS_faccessat2:
    case SYS_readlink:
    case SYS_readlinkat:
        return seccomp_rule_add(ctx, n, (int)nr, 0);
    default:
        return 1;
    }
}

static int
add_rule(scmp_filter_ctx ctx, const struct sysdesc *d, const struct tracer *t)
{
    if (t->notify) {
        int r = notify_rule(ctx, d->nr, t->statmap);
        if (r <= 0)
            return r;
    }
    uint32_t act = SCMP_ACT_TRACE(0);
    switch (d->kind) {
    case K_UNAME:
        if (t->spec->kernel == NULL)
            return 0;
        break;
    case K_ID_GET_U:
    case K_ID_GET_G:
    case K_ID_SET:
        if (!t->fake_ids)
            return 0;
        if (t->spec->as_root || d->kind == K_ID_SET)
            act = SCMP_ACT_ERRNO(0); /* returns 0, no stop */
        break;
    case K_RESID:
        if (!t->fake_ids)
            return 0;
        break;
    case K_CHOWN:
        if (d->path[0] < 0 && !(t->fake_ids && t->spec->as_root))
            return 0; /* fchown: only for the EPERM emulation */
        break;
    case K_STAT:
        if (d->path[0] < 0 && !t->statmap)
            return 0; /* fstat: only for the ids */
        break;
    case K_GETGROUPS:
        if (!t->fake_ids)
            return 0;
        break;
    default:
        break;
    }
    if ((d->nr == SYS_newfstatat || d->nr == SYS_statx) && t->statmap)
        return seccomp_rule_add(ctx, act, (int)d->nr, 0);
    if (d->nr == SYS_newfstatat)
        return seccomp_rule_add(ctx, act, (int)d->nr, 1,
                                SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));
    if (d->nr == SYS_statx)
        return seccomp_rule_add(ctx, act, (int)d->nr, 1,
                                SCMP_A2(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));
    if (d->nr == SYS_utimensat)
        return seccomp_rule_add(ctx, act, (int)d->nr, 1, SCMP_A1(SCMP_CMP_NE, 0));
    if (d->nr == SYS_sendto)
        return seccomp_rule_add(ctx, act, (int)d->nr, 1, SCMP_A4(SCMP_CMP_NE, 0));
    return seccomp_rule_add(ctx, act, (int)d->nr, 0);
}

int
ud_sys_filter_build(const struct tracer *t, void **prog, unsigned short *len, struct ud_error *err)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    int fd = -1, r;
    void *buf = NULL;
    if (ctx == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "seccomp: cannot create a filter");
    /* Calls of another ABI (i386 int 0x80) would be misread: refuse them. */
    r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS));
    size_t n;
    const struct sysdesc *all = ud_systable_all(&n);
    for (size_t i = 0; i < n && r == 0; i++)
        r = add_rule(ctx, &all[i], t);
    if (r < 0) {
        seccomp_release(ctx);
        return ud_error_set(err, UD_EIO, -r, "seccomp: cannot add a rule");
    }
    fd = memfd_create("ud-seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        seccomp_release(ctx);
        return ud_error_set(err, UD_EIO, errno, "seccomp: memfd_create");
    }
    r = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    off_t size = lseek(fd, 0, SEEK_END);
    if (r < 0 || size <= 0 || size % 8 != 0 || size / 8 > 65535) {
        close(fd);
        return ud_error_set(err, UD_EIO, r < 0 ? -r : 0, "seccomp: cannot export the filter");
    }
    buf = ud_malloc((size_t)size);
    if (buf == NULL || pread(fd, buf, (size_t)size, 0) != size) {
        free(buf);
        close(fd);
        return ud_error_set(err, buf == NULL ? UD_ENOMEM : UD_EIO, errno,
                            "seccomp: cannot read the filter back");
    }
    close(fd);
    *prog = buf;
    *len = (unsigned short)(size / 8);
    return 0;
}
