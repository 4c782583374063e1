/* SPDX-License-Identifier: Apache-2.0 */
/*
 * P1's fast lane: seccomp user notifications for the hottest path calls
 * (open, stat, access, readlink families). A supervisor thread reads the
 * path, translates it and either lets the call run unchanged in the tracee
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE, when the path needs no change) or
 * performs it on the host path itself and returns the result: the file
 * descriptor through SECCOMP_IOCTL_NOTIF_ADDFD (atomically, FLAG_SEND), the
 * stat buffer and the readlink text written into the tracee. No ptrace stop
 * and no register to restore. Creating opens run with the tracee's umask;
 * O_PATH opens are not sent here (ADDFD cannot pass such a descriptor).
 * Under root emulation every stat call comes here, its ids mapped.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ptrace_int.h"
#include "systable.h"

struct notifier {
    struct tracer *t;
    int fd;
    int stop[2];
    pthread_t th;
    size_t req_size, resp_size;
};

struct fifo_open {
    int listener;
    uint64_t id;
    char host[PATH_MAX];
    int flags;
};

/* A FIFO's open blocks until its other end opens: do it aside, so the
 * supervisor keeps serving (the other end may well be a notified open). */
static void *
fifo_thread(void *arg)
{
    struct fifo_open *f = arg;
    int fd = open(f->host, f->flags | O_CLOEXEC);
    if (fd >= 0) {
        struct seccomp_notif_addfd add = {.id = f->id,
                                          .flags = SECCOMP_ADDFD_FLAG_SEND,
                                          .srcfd = (uint32_t)fd,
                                          .newfd_flags = (uint32_t)(f->flags & O_CLOEXEC)};
        ioctl(f->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
        close(fd);
    } else {
        struct seccomp_notif_resp resp = {.id = f->id, .error = -errno};
        ioctl(f->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
    free(f);
    return NULL;
}

/* 1 when the open was answered (fd sent), else *err is the error. */
static int
do_open(struct notifier *n, uint64_t id, pid_t pid, const char *host, int flags, mode_t mode,
        int *err)
{
    struct stat st;
    bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
    if (stat(host, &st) < 0) {
        if (!(creates && errno == ENOENT)) {
            *err = -errno;
            return 0;
        }
    } else if (S_ISFIFO(st.st_mode) && !(flags & O_NONBLOCK)) {
        struct fifo_open *f = ud_calloc(1, sizeof(*f));
        pthread_t th;
        pthread_attr_t at;
        if (f == NULL) {
            *err = -ENOMEM;
            return 0;
        }
        f->listener = n->fd;
        f->id = id;
        f->flags = flags;
        memcpy(f->host, host, strlen(host) + 1);
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int r = pthread_create(&th, &at, fifo_thread, f);
        pthread_attr_destroy(&at);
        if (r != 0) {
            free(f);
            *err = -r;
            return 0;
        }
        return 1;
    }
    /* Creating a name cannot change a resolution the canonicaliser
     * cached: no invalidation. */
    if (creates)
        umask(ud_tracee_umask(pid));
    int fd = -1, r = 0;
    if ((flags & O_ACCMODE) == O_RDONLY && !creates && !(flags & O_DIRECTORY) &&
        (r = ud_proc_copy(n->t, host, &fd)) < 0) {
        *err = r; /* a copy of /proc/PID/{status,cmdline} */
        return 0;
    }
    if (r == 0 && (fd = open(host, flags | O_CLOEXEC, mode)) < 0) {
        *err = -errno;
        return 0;
    }
    struct seccomp_notif_addfd add = {.id = id,
                                      .flags = SECCOMP_ADDFD_FLAG_SEND,
                                      .srcfd = (uint32_t)fd,
                                      .newfd_flags = (uint32_t)(flags & O_CLOEXEC)};
    r = ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
    *err = r < 0 ? -errno : 0;
    close(fd);
    return r >= 0 ? 1 : 0;
}

/* Write n bytes into the tracee, after checking the notification is still
 * live (so the pid was not reused by another process meanwhile). */
static int
put(struct notifier *n, uint64_t id, pid_t pid, uint64_t addr, const void *buf, size_t len)
{
    if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0)
        return -ENOENT;
    return ud_mem_write(pid, addr, buf, len) < 0 ? -EFAULT : 0;
}

static void
fix_readlink(struct tracer *t, const char *link_host, char *res, size_t ressz)
{
    int pid;
    char what, guest[PATH_MAX];
    if (!t->proc_bound || !ud_xlate_proc_link(link_host, &pid, &what))
        return;
    struct tracee *o = what == 'e' ? ud_tracee_find(t, pid) : NULL;
    if (o != NULL && o->exe != NULL)
        snprintf(res, ressz, "%s", o->exe);
    else if (what == 'r')
        snprintf(res, ressz, "/");
    else if (res[0] == '/' && ud_xlate_to_guest(t, res, guest, sizeof(guest)) == 0)
        snprintf(res, ressz, "%s", guest);
}

/* Perform the call on host; 1 when already answered, else resp->val/error. */
static int
perform(struct notifier *n, const struct seccomp_notif *req, const uint64_t *a, const char *host,
        struct seccomp_notif_resp *resp)
{
    struct tracer *t = n->t;
    pid_t pid = (pid_t)req->pid;
    int e = 0;
    long nr = req->data.nr;
    if (nr == SYS_openat || nr == SYS_open) {
        int flags = (int)(nr == SYS_openat ? a[2] : a[1]);
        mode_t mode = (mode_t)(nr == SYS_openat ? a[3] : a[2]);
        if (do_open(n, req->id, pid, host, flags, mode, &e))
            return 1;
    } else if (nr == SYS_newfstatat || nr == SYS_stat || nr == SYS_lstat) {
        struct stat st;
        /* A path ending at a tracee's fd or cwd link ("" with AT_EMPTY_PATH)
         * must follow that link. */
        int fl = nr == SYS_newfstatat ? (int)a[3] & (AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT)
                 : nr == SYS_lstat    ? AT_SYMLINK_NOFOLLOW
                                      : 0;
        uint64_t buf = nr == SYS_newfstatat ? a[2] : a[1];
        if (fstatat(AT_FDCWD, host, &st, fl) < 0)
            e = -errno;
        else {
            if (t->statmap)
                ud_owners_fix_stat(t, &st);
            e = put(n, req->id, pid, buf, &st, sizeof(st));
        }
    } else if (nr == SYS_fstat) {
        struct stat st;
        if (stat(host, &st) < 0)
            e = errno == ENOENT ? -EBADF : -errno;
        else {
            ud_owners_fix_stat(t, &st);
            e = put(n, req->id, pid, a[1], &st, sizeof(st));
        }
    } else if (nr == SYS_statx) {
        struct statx sx;
        int fl = (int)a[2] & ~AT_EMPTY_PATH;
        if (statx(AT_FDCWD, host, fl, (unsigned)a[3], &sx) < 0)
            e = -errno;
        else {
            if (t->statmap)
                ud_owners_fix_statx(t, &sx);
            e = put(n, req->id, pid, a[4], &sx, sizeof(sx));
        }
    } else if (nr == SYS_access || nr == SYS_faccessat || nr == SYS_faccessat2) {
        long mode = nr == SYS_access ? (long)a[1] : (long)a[2];
        long fl = nr == SYS_faccessat2 ? (long)a[3] : 0;
        e = syscall(SYS_faccessat2, AT_FDCWD, host, mode, fl) < 0 ? -errno : 0;
    } else if (nr == SYS_readlink || nr == SYS_readlinkat) {
        char res[PATH_MAX];
        uint64_t buf = nr == SYS_readlink ? a[1] : a[2];
        size_t size = (size_t)(nr == SYS_readlink ? a[2] : a[3]);
        ssize_t len = readlink(host, res, sizeof(res) - 1);
        if (len < 0)
            e = -errno;
        else if ((int)size <= 0)
            e = -EINVAL;
        else {
            res[len] = '\0';
            fix_readlink(t, host, res, sizeof(res));
            len = (ssize_t)strlen(res);
            if ((size_t)len > size)
                len = (ssize_t)size;
            e = put(n, req->id, pid, buf, res, (size_t)len);
            resp->val = len;
        }
    } else {
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        return 0;
    }
    resp->error = e;
    if (e < 0)
        resp->val = 0;
    return 0;
}

static int
path_args(long nr, int *dirfd, int *pi)
{
    *dirfd = -1;
    switch (nr) {
    case SYS_open:
    case SYS_stat:
    case SYS_lstat:
    case SYS_access:
    case SYS_readlink:
        *pi = 0;
        return 0;
    case SYS_openat:
    case SYS_newfstatat:
    case SYS_statx:
    case SYS_faccessat:
    case SYS_faccessat2:
    case SYS_readlinkat:
        *dirfd = 0;
        *pi = 1;
        return 0;
    default:
        return -1;
    }
}

static bool
is_stat(long nr)
{
    return nr == SYS_stat || nr == SYS_lstat || nr == SYS_newfstatat || nr == SYS_statx ||
           nr == SYS_fstat;
}

/* Under root emulation every stat result passes through here (the ids
 * must be the container's), even for a path that needs no rewriting: the
 * call is made on the tracee's own cwd or fd link. 0 when host is set,
 * else the notification is left to the kernel. */
static int
stat_local(const struct seccomp_notif *req, uint64_t *a, int dirfd, const char *guest, char *host)
{
    long nr = req->data.nr;
    int dfd = dirfd >= 0 ? (int)a[dirfd] : AT_FDCWD;
    if (nr == SYS_fstat) {
        dfd = (int)a[0];
        if (dfd < 0)
            return -1; /* EBADF from the kernel */
    } else if (guest[0] == '\0') {
        int fi = nr == SYS_statx ? 2 : 3;
        if (nr != SYS_newfstatat && nr != SYS_statx)
            return -1;
        if (!(a[fi] & AT_EMPTY_PATH))
            return -1;                           /* ENOENT from the kernel */
        a[fi] &= ~(uint64_t)AT_SYMLINK_NOFOLLOW; /* the fd's own link */
    }
    return ud_sys_local_path((pid_t)req->pid, dfd, nr == SYS_fstat ? "" : guest, NULL, 1, host);
}

static void
handle(struct notifier *n, const struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
    struct tracer *t = n->t;
    uint64_t a[6];
    char guest[PATH_MAX], host[PATH_MAX];
    int dirfd = -1, pi = -1, r;
    long nr = req->data.nr;
    bool via_fd = false;
    memcpy(a, req->data.args, sizeof(a));
    resp->id = req->id;
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    const struct sysdesc *d = ud_systable_lookup(nr);
    bool smap = t->statmap && is_stat(nr);
    if (d == NULL || (nr != SYS_fstat && path_args(nr, &dirfd, &pi) < 0))
        return;
    t->nnotify++;
    if (nr == SYS_fstat) {
        if (!smap || stat_local(req, a, -1, "", host) < 0)
            return;
        r = 0;
    } else {
        r = ud_mem_read_str((pid_t)req->pid, a[pi], guest, sizeof(guest));
        if (r < 0) {
            if (r != -EFAULT) {
                resp->flags = 0;
                resp->error = r;
            }
            return;
        }
        struct tracee tmp, *te = ud_tracee_find(t, (pid_t)req->pid);
        if (te == NULL) {
            memset(&tmp, 0, sizeof(tmp));
            tmp.tid = (pid_t)req->pid;
            te = &tmp;
        }
        bool rl = nr == SYS_readlink || nr == SYS_readlinkat;
        unsigned how = (ud_sys_follow(d, a) ? XL_FOLLOW : 0) | (rl ? XL_RESULT : 0);
        r = ud_xlate(t, te, dirfd >= 0 ? (int)a[dirfd] : AT_FDCWD, guest, how, host);
        int pid;
        char what;
        if (r == 1 && smap) {
            if (stat_local(req, a, dirfd, guest, host) < 0)
                return;
            via_fd = dirfd >= 0 && (int)a[dirfd] >= 0 && guest[0] != '/';
        } else if (r == 1) {
            bool status = (nr == SYS_open || nr == SYS_openat) && t->proc_bound &&
                          strncmp(guest, "/proc/", 6) == 0 &&
                          (strstr(guest, "/status") != NULL || strstr(guest, "/cmdline") != NULL);
            if (!status && (!rl || !t->proc_bound || guest[0] != '/' ||
                            !ud_xlate_proc_link(guest, &pid, &what)))
                return; /* unchanged: the kernel runs it in the tracee */
            memcpy(host, guest, strlen(guest) + 1);
        } else
            t->nrewrites++;
    }
    resp->flags = 0;
    if (r < 0) {
        resp->error = r;
        return;
    }
    if (perform(n, req, a, host, resp) == 1) {
        resp->id = 0; /* answered */
        return;
    }
    if (via_fd && resp->error == -ENOENT) {
        /* A closed dirfd: the kernel's answer is EBADF. */
        struct stat st;
        snprintf(host, sizeof(host), "/proc/%d/fd/%d", (int)req->pid, (int)a[dirfd]);
        if (lstat(host, &st) < 0)
            resp->error = -EBADF;
    }
}

static void *
notify_thread(void *arg)
{
    struct notifier *n = arg;
    struct seccomp_notif *req = ud_calloc(1, n->req_size);
    struct seccomp_notif_resp *resp = ud_calloc(1, n->resp_size);
    struct pollfd pfd[2] = {{n->fd, POLLIN, 0}, {n->stop[0], POLLIN, 0}};
    /* A umask of this thread's own (set per creating open). */
    if (unshare(CLONE_FS) < 0) {
        free(req);
        req = NULL;
    }
    while (req != NULL && resp != NULL) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[1].revents != 0 || (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL)))
            break;
        memset(req, 0, n->req_size);
        if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
            continue; /* ENOENT: the caller went away (a signal) */
        memset(resp, 0, n->resp_size);
        pthread_mutex_lock(&n->t->lock);
        handle(n, req, resp);
        pthread_mutex_unlock(&n->t->lock);
        if (resp->id != 0)
            ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
    }
    free(req);
    free(resp);
    return NULL;
}

int
ud_notify_start(struct tracer *t, int fd, struct ud_error *err)
{
    struct seccomp_notif_sizes sz;
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
        return ud_error_set(err, UD_EUNSUPP, errno, "seccomp: notification sizes");
    struct notifier *n = ud_calloc(1, sizeof(*n));
    if (n == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    n->t = t;
    n->fd = fd;
    n->req_size = sz.seccomp_notif > sizeof(struct seccomp_notif) ? sz.seccomp_notif
                                                                  : sizeof(struct seccomp_notif);
    n->resp_size = sz.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
                       ? sz.seccomp_notif_resp
                       : sizeof(struct seccomp_notif_resp);
    if (pipe2(n->stop, O_CLOEXEC) < 0) {
        free(n);
        return ud_error_set(err, UD_EIO, errno, "pipe");
    }
    /* The thread blocks every signal: those udocker forwards must interrupt
     * the ptrace loop's waitpid, in the main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&n->th, NULL, notify_thread, n);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        close(n->stop[0]);
        close(n->stop[1]);
        free(n);
        return ud_error_set(err, UD_EIO, r, "cannot start the seccomp supervisor");
    }
    t->notifier = n;
    return 0;
}

void
ud_notify_stop(struct tracer *t)
{
    struct notifier *n = t->notifier;
    if (n == NULL)
        return;
    (void)!write(n->stop[1], "x", 1);
    pthread_join(n->th, NULL);
    close(n->stop[0]);
    close(n->stop[1]);
    close(n->fd);
    free(n);
    t->notifier = NULL;
}
