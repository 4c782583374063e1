/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table of system calls the tracer handles: which arguments are paths,
 * relative to which dirfd, whether the last component is followed, and
 * which special handling (exec, results, ids, sockets) a call needs.
 */
#pragma once

#ifndef UD_BUILDING_PTRACE_PROOT
#error "systable.h is private to the ptrace-proot module"
#endif

#include <stdbool.h>

/* How the last component of a path argument is treated. */
enum follow_rule {
    FOL_YES,         /* always followed */
    FOL_NO,          /* never (lstat, unlink, mkdir, rename, readlink) */
    FOL_AT_NOFOLLOW, /* followed unless flags & AT_SYMLINK_NOFOLLOW */
    FOL_AT_FOLLOW,   /* followed only if flags & AT_SYMLINK_FOLLOW */
    FOL_OPEN,        /* open flags: O_NOFOLLOW, O_CREAT|O_EXCL */
    FOL_OPENHOW,     /* openat2: flags in struct open_how */
    FOL_INOTIFY,     /* followed unless mask & IN_DONT_FOLLOW */
};

enum sys_kind {
    K_PATH,     /* path arguments only */
    K_READLINK, /* path + result rewriting of /proc magic links */
    K_EXEC,
    K_GETCWD,
    K_CHROOT,
    K_SOCK, /* sockaddr: AF_UNIX path, AF_INET port */
    K_UNAME,
    K_ID_GET_U, /* getuid, geteuid */
    K_ID_GET_G, /* getgid, getegid */
    K_ID_SET,   /* set*id, setgroups */
    K_RESID,    /* getresuid, getresgid */
    K_CHOWN,    /* path + EPERM -> 0 under root emulation, ids remembered */
    K_CHMOD,    /* path; under root emulation a refused mode is remembered */
    K_STAT,     /* path (or fd): results get the container's ids */
    K_REMOVE,   /* path: unlink/rmdir, the owner record goes with the file */
    K_MKNOD,    /* path; devices become empty files under root emulation */
    K_GETGROUPS,
};

struct sysdesc {
    long nr;
    unsigned char kind;
    signed char dirfd[2]; /* argument index of the dirfd, -1 for AT_FDCWD */
    signed char path[2];  /* argument index of the path, -1 for none */
    unsigned char follow[2];
    signed char flags; /* argument index of the flags word, -1 none */
    bool inval;        /* changes the namespace */
};

/* The descriptor of nr, or NULL. */
const struct sysdesc *ud_systable_lookup(long nr);
/* All descriptors, for the filter. */
const struct sysdesc *ud_systable_all(size_t *n);
