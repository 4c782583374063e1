/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The system calls that carry paths (or results the container must see
 * translated), per architecture through <sys/syscall.h>. Legacy calls that
 * newer architectures lack are under #ifdef.
 */
#include <stddef.h>
#include <sys/syscall.h>

#include "ptrace_int.h"
#include "systable.h"

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif

/* One path relative to the cwd / to a dirfd; two paths. */
#define P1(nr, kind, p, fol, inv)                                                                  \
    {                                                                                              \
        nr, kind, {-1, -1}, {p, -1}, {fol, 0}, -1, inv                                             \
    }
#define PAT(nr, kind, d, p, fol, fl, inv)                                                          \
    {                                                                                              \
        nr, kind, {d, -1}, {p, -1}, {fol, 0}, fl, inv                                              \
    }
#define P2(nr, p0, f0, p1, f1)                                                                     \
    {                                                                                              \
        nr, K_PATH, {-1, -1}, {p0, p1}, {f0, f1}, -1, true                                         \
    }
#define P2AT(nr, d0, p0, f0, d1, p1, f1, fl)                                                       \
    {                                                                                              \
        nr, K_PATH, {d0, d1}, {p0, p1}, {f0, f1}, fl, true                                         \
    }
#define SPECIAL(nr, kind)                                                                          \
    {                                                                                              \
        nr, kind, {-1, -1}, {-1, -1}, {0, 0}, -1, false                                            \
    }

/* inval: the call may remove or replace a directory or symlink, so the
 * canonicaliser is told once it succeeded. Opens never do (creating a name
 * cannot change a cached resolution) and stay without an exit stop. */
static const struct sysdesc table[] = {
#ifdef SYS_open
    P1(SYS_open, K_PATH, 0, FOL_OPEN, false),
    P1(SYS_creat, K_PATH, 0, FOL_YES, false),
    P1(SYS_stat, K_STAT, 0, FOL_YES, false),
    P1(SYS_lstat, K_STAT, 0, FOL_NO, false),
    P1(SYS_access, K_PATH, 0, FOL_YES, false),
    P1(SYS_mkdir, K_PATH, 0, FOL_NO, true),
    P1(SYS_rmdir, K_REMOVE, 0, FOL_NO, true),
    P1(SYS_unlink, K_REMOVE, 0, FOL_NO, true),
    P2(SYS_rename, 0, FOL_NO, 1, FOL_NO),
    P2(SYS_link, 0, FOL_NO, 1, FOL_NO),
    P1(SYS_symlink, K_PATH, 1, FOL_NO, true),
    P1(SYS_readlink, K_READLINK, 0, FOL_NO, false),
    P1(SYS_chmod, K_CHMOD, 0, FOL_YES, false),
    P1(SYS_chown, K_CHOWN, 0, FOL_YES, false),
    P1(SYS_lchown, K_CHOWN, 0, FOL_NO, false),
    P1(SYS_utime, K_PATH, 0, FOL_YES, false),
    P1(SYS_utimes, K_PATH, 0, FOL_YES, false),
    P1(SYS_mknod, K_MKNOD, 0, FOL_NO, true),
    P1(SYS_inotify_add_watch, K_PATH, 1, FOL_INOTIFY, false),
    PAT(SYS_futimesat, K_PATH, 0, 1, FOL_YES, -1, false),
#endif
    PAT(SYS_openat, K_PATH, 0, 1, FOL_OPEN, 2, false),
    PAT(SYS_openat2, K_PATH, 0, 1, FOL_OPENHOW, 2, false),
    PAT(SYS_newfstatat, K_STAT, 0, 1, FOL_AT_NOFOLLOW, 3, false),
    PAT(SYS_statx, K_STAT, 0, 1, FOL_AT_NOFOLLOW, 2, false),
    PAT(SYS_faccessat, K_PATH, 0, 1, FOL_YES, -1, false),
    PAT(SYS_faccessat2, K_PATH, 0, 1, FOL_AT_NOFOLLOW, 3, false),
    SPECIAL(SYS_execve, K_EXEC),
    SPECIAL(SYS_execveat, K_EXEC),
    P1(SYS_chdir, K_PATH, 0, FOL_YES, false),
    P1(SYS_chroot, K_CHROOT, 0, FOL_YES, false),
    PAT(SYS_mkdirat, K_PATH, 0, 1, FOL_NO, -1, true),
    PAT(SYS_unlinkat, K_REMOVE, 0, 1, FOL_NO, -1, true),
    P2AT(SYS_renameat, 0, 1, FOL_NO, 2, 3, FOL_NO, -1),
    P2AT(SYS_renameat2, 0, 1, FOL_NO, 2, 3, FOL_NO, -1),
    P2AT(SYS_linkat, 0, 1, FOL_AT_FOLLOW, 2, 3, FOL_NO, 4),
    PAT(SYS_symlinkat, K_PATH, 1, 2, FOL_NO, -1, true),
    PAT(SYS_readlinkat, K_READLINK, 0, 1, FOL_NO, -1, false),
    PAT(SYS_fchmodat, K_CHMOD, 0, 1, FOL_YES, -1, false),
    PAT(SYS_fchmodat2, K_CHMOD, 0, 1, FOL_AT_NOFOLLOW, 3, false),
    PAT(SYS_fchownat, K_CHOWN, 0, 1, FOL_AT_NOFOLLOW, 4, false),
    SPECIAL(SYS_fchown, K_CHOWN),
    SPECIAL(SYS_fstat, K_STAT),
    SPECIAL(SYS_getgroups, K_GETGROUPS),
    PAT(SYS_utimensat, K_PATH, 0, 1, FOL_AT_NOFOLLOW, 3, false),
    P1(SYS_truncate, K_PATH, 0, FOL_YES, false),
    P1(SYS_getxattr, K_PATH, 0, FOL_YES, false),
    P1(SYS_lgetxattr, K_PATH, 0, FOL_NO, false),
    P1(SYS_setxattr, K_PATH, 0, FOL_YES, false),
    P1(SYS_lsetxattr, K_PATH, 0, FOL_NO, false),
    P1(SYS_listxattr, K_PATH, 0, FOL_YES, false),
    P1(SYS_llistxattr, K_PATH, 0, FOL_NO, false),
    P1(SYS_removexattr, K_PATH, 0, FOL_YES, false),
    P1(SYS_lremovexattr, K_PATH, 0, FOL_NO, false),
    PAT(SYS_setxattrat, K_PATH, 0, 1, FOL_AT_NOFOLLOW, 2, false),
    PAT(SYS_getxattrat, K_PATH, 0, 1, FOL_AT_NOFOLLOW, 2, false),
    PAT(SYS_listxattrat, K_PATH, 0, 1, FOL_AT_NOFOLLOW, 2, false),
    PAT(SYS_removexattrat, K_PATH, 0, 1, FOL_AT_NOFOLLOW, 2, false),
    PAT(SYS_name_to_handle_at, K_PATH, 0, 1, FOL_AT_FOLLOW, 4, false),
    PAT(SYS_mknodat, K_MKNOD, 0, 1, FOL_NO, -1, true),
    P1(SYS_statfs, K_PATH, 0, FOL_YES, false),
    P1(SYS_acct, K_PATH, 0, FOL_YES, false),
    P1(SYS_swapon, K_PATH, 0, FOL_YES, false),
    P1(SYS_swapoff, K_PATH, 0, FOL_YES, false),
    SPECIAL(SYS_bind, K_SOCK),
    SPECIAL(SYS_connect, K_SOCK),
    SPECIAL(SYS_sendto, K_SOCK),
    SPECIAL(SYS_getcwd, K_GETCWD),
    SPECIAL(SYS_uname, K_UNAME),
    SPECIAL(SYS_getuid, K_ID_GET_U),
    SPECIAL(SYS_geteuid, K_ID_GET_U),
    SPECIAL(SYS_getgid, K_ID_GET_G),
    SPECIAL(SYS_getegid, K_ID_GET_G),
    SPECIAL(SYS_getresuid, K_RESID),
    SPECIAL(SYS_getresgid, K_RESID),
    SPECIAL(SYS_setuid, K_ID_SET),
    SPECIAL(SYS_setgid, K_ID_SET),
    SPECIAL(SYS_setreuid, K_ID_SET),
    SPECIAL(SYS_setregid, K_ID_SET),
    SPECIAL(SYS_setresuid, K_ID_SET),
    SPECIAL(SYS_setresgid, K_ID_SET),
    SPECIAL(SYS_setfsuid, K_ID_SET),
    SPECIAL(SYS_setfsgid, K_ID_SET),
    SPECIAL(SYS_setgroups, K_ID_SET),
};

#define NTABLE (sizeof(table) / sizeof(table[0]))
#define MAXNR 512

/* nr -> index + 1 into table; built on first use (the table is const, so
 * two tracers racing to build it write the same bytes). */
static unsigned char index_of[MAXNR];
static bool index_built;

static void
build_index(void)
{
    for (size_t i = 0; i < NTABLE; i++)
        if (table[i].nr >= 0 && table[i].nr < MAXNR)
            index_of[table[i].nr] = (unsigned char)(i + 1);
    index_built = true;
}

const struct sysdesc *
ud_systable_lookup(long nr)
{
    if (!index_built)
        build_index();
    if (nr < 0 || nr >= MAXNR || index_of[nr] == 0)
        return NULL;
    return &table[index_of[nr] - 1];
}

const struct sysdesc *
ud_systable_all(size_t *n)
{
    *n = NTABLE;
    return table;
}
