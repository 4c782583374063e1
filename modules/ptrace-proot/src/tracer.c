/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tracer loop: one waitpid(-1, __WALL) loop follows every thread of
 * the container tree (PTRACE_SEIZE options make the kernel attach forks,
 * vforks and clones), hands syscall stops to syscalls.c, keeps job control
 * working with PTRACE_LISTEN, re-keys a thread that exec'ed, and ends when
 * the first process is gone (the others are then killed, as proot
 * --kill-on-exit).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ptrace_int.h"
#include "tracer.h"

static unsigned
bucket(pid_t tid)
{
    return (unsigned)tid % TRACEE_BUCKETS;
}

struct tracee *
ud_tracee_find(struct tracer *t, pid_t tid)
{
    for (struct tracee *te = t->buckets[bucket(tid)]; te != NULL; te = te->next)
        if (te->tid == tid)
            return te;
    return NULL;
}

static struct tracee *
tracee_add(struct tracer *t, pid_t tid)
{
    struct tracee *te = ud_calloc(1, sizeof(*te));
    if (te == NULL)
        return NULL;
    te->tid = tid;
    te->next = t->buckets[bucket(tid)];
    t->buckets[bucket(tid)] = te;
    t->ntracees++;
    return te;
}

static void
tracee_unlink(struct tracer *t, struct tracee *te)
{
    struct tracee **pp = &t->buckets[bucket(te->tid)];
    while (*pp != NULL && *pp != te)
        pp = &(*pp)->next;
    if (*pp == te) {
        *pp = te->next;
        t->ntracees--;
    }
}

static void
tracee_free(struct tracee *te)
{
    if (te == NULL)
        return;
    free(te->exe);
    free(te->pending_exe);
    free(te->inval_host[0]);
    free(te->inval_host[1]);
    if (te->exit_work & XW_CLOSEFD)
        close(te->own_fd);
    free(te);
}

void
ud_tracer_free_tracees(struct tracer *t)
{
    for (size_t b = 0; b < TRACEE_BUCKETS; b++) {
        while (t->buckets[b] != NULL) {
            struct tracee *te = t->buckets[b];
            t->buckets[b] = te->next;
            tracee_free(te);
        }
    }
    t->ntracees = 0;
}

struct tracee *
ud_tracer_add_first(struct tracer *t, pid_t pid)
{
    struct tracee *te = tracee_add(t, pid);
    if (te != NULL) {
        te->seen_parent = true;
        te->seen_stop = true;
        te->tgid = pid;
    }
    return te;
}

static void
resume(struct tracer *t, struct tracee *te, int sig)
{
    int req = (te->exit_work != 0 || !t->seccomp) ? PTRACE_SYSCALL : PTRACE_CONT;
    ptrace(req, te->tid, 0, (void *)(long)sig); /* ESRCH: its death is reported next */
}

static void
syscall_stop(struct tracer *t, struct tracee *te)
{
    struct ptrace_syscall_info info;
    memset(&info, 0, sizeof(info));
    if (ptrace(PTRACE_GET_SYSCALL_INFO, te->tid, (void *)sizeof(info), &info) <= 0)
        return;
    t->nstops++;
    switch (info.op) {
    case PTRACE_SYSCALL_INFO_ENTRY:
        ud_sys_enter(t, te, (long)info.entry.nr, (const uint64_t *)info.entry.args,
                     info.stack_pointer);
        break;
    case PTRACE_SYSCALL_INFO_SECCOMP:
        ud_sys_enter(t, te, (long)info.seccomp.nr, (const uint64_t *)info.seccomp.args,
                     info.stack_pointer);
        break;
    case PTRACE_SYSCALL_INFO_EXIT:
        if (te->exit_work != 0)
            ud_sys_exit(t, te, info.exit.rval);
        break;
    default:
        break;
    }
}

static void
copy_exe(struct tracee *to, const struct tracee *from)
{
    if (from->exe == NULL || to->exe != NULL)
        return;
    to->cmd = from->cmd; /* a fork has the same command line */
    to->exe = ud_strdup(from->exe);
}

static void
on_new_child(struct tracer *t, struct tracee *parent, int event)
{
    unsigned long msg = 0;
    if (ptrace(PTRACE_GETEVENTMSG, parent->tid, 0, &msg) < 0)
        return;
    pid_t ctid = (pid_t)msg;
    struct tracee *c = ud_tracee_find(t, ctid);
    if (c == NULL && (c = tracee_add(t, ctid)) == NULL)
        return;
    c->seen_parent = true;
    copy_exe(c, parent);
    /* A thread shares its creator's process; a fork starts its own. */
    c->tgid = event == PTRACE_EVENT_CLONE ? 0 : ctid;
    if (c->held) {
        c->held = false;
        resume(t, c, 0);
    }
}

static struct tracee *
on_exec(struct tracer *t, struct tracee *te, pid_t pid)
{
    unsigned long msg = 0;
    if (ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg) == 0 && (pid_t)msg != pid) {
        /* A non-leader thread exec'ed: it takes over the leader's tid and
         * the leader is gone without a report of its own. */
        struct tracee *th = ud_tracee_find(t, (pid_t)msg);
        if (th != NULL) {
            tracee_unlink(t, te);
            tracee_free(te);
            tracee_unlink(t, th);
            th->tid = pid;
            th->next = t->buckets[bucket(pid)];
            t->buckets[bucket(pid)] = th;
            t->ntracees++;
            te = th;
        }
    }
    te->exec_done = true;
    te->tgid = pid;
    /* A new image: its registers are its own and nothing is left to do at
     * the syscall's exit, so under P1 it is not stopped there (one stop
     * fewer per exec). */
    if (!(te->exit_work & ~(XW_EXEC | XW_RESTORE)))
        te->exit_work = 0;
    if (te->pending_exe != NULL) {
        free(te->exe);
        te->exe = te->pending_exe;
        te->pending_exe = NULL;
    }
    te->cmd = te->pending_cmd;
    te->pending_cmd = 0;
    return te;
}

static void
on_stop(struct tracer *t, pid_t pid, int status)
{
    struct tracee *te = ud_tracee_find(t, pid);
    if (te == NULL && (te = tracee_add(t, pid)) == NULL) {
        ptrace(PTRACE_DETACH, pid, 0, 0);
        return;
    }
    int sig = WSTOPSIG(status);
    int event = (unsigned)status >> 16;
    if (sig == (SIGTRAP | 0x80)) {
        syscall_stop(t, te);
        resume(t, te, 0);
        return;
    }
    if (sig == SIGTRAP && event != 0) {
        switch (event) {
        case PTRACE_EVENT_SECCOMP:
            syscall_stop(t, te);
            break;
        case PTRACE_EVENT_FORK:
        case PTRACE_EVENT_VFORK:
        case PTRACE_EVENT_CLONE:
            on_new_child(t, te, event);
            break;
        case PTRACE_EVENT_EXEC:
            te = on_exec(t, te, pid);
            break;
        case PTRACE_EVENT_STOP:
            /* The first stop of an auto-attached child, or the end of a
             * PTRACE_LISTEN. A child runs once its parent's event told us
             * whose it is (its exe, its process). */
            if (!te->seen_stop) {
                te->seen_stop = true;
                if (!te->seen_parent) {
                    te->held = true;
                    return;
                }
            }
            break;
        default:
            break;
        }
        resume(t, te, 0);
        return;
    }
    if (event == PTRACE_EVENT_STOP) {
        /* Group-stop (SIGSTOP, SIGTSTP, ...): stay stopped, yet report the
         * SIGCONT that ends it, so job control works. */
        ptrace(PTRACE_LISTEN, pid, 0, 0);
        return;
    }
    resume(t, te, sig); /* signal-delivery-stop: deliver it unchanged */
}

static void
kill_all(struct tracer *t)
{
    for (size_t b = 0; b < TRACEE_BUCKETS; b++)
        for (struct tracee *te = t->buckets[b]; te != NULL; te = te->next)
            kill(te->tid, SIGKILL);
}

static void
on_death(struct tracer *t, pid_t pid, int status)
{
    struct tracee *te = ud_tracee_find(t, pid);
    if (pid == t->main_pid) {
        t->main_status = status;
        t->main_done = true;
    }
    if (te != NULL) {
        tracee_unlink(t, te);
        tracee_free(te);
    }
    if (t->main_done)
        kill_all(t);
}

int
ud_tracer_loop(struct tracer *t, volatile sig_atomic_t *fwd_target)
{
    for (;;) {
        pthread_mutex_lock(&t->lock);
        bool done = t->main_done && t->ntracees == 0;
        pthread_mutex_unlock(&t->lock);
        if (done)
            return 0;
        int status;
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            return t->main_done ? 0 : -errno; /* ECHILD */
        }
        if (pid == t->main_pid && !WIFSTOPPED(status))
            *fwd_target = 0; /* reaped: its pid may be reused */
        pthread_mutex_lock(&t->lock);
        if (WIFSTOPPED(status))
            on_stop(t, pid, status);
        else if (WIFEXITED(status) || WIFSIGNALED(status))
            on_death(t, pid, status);
        pthread_mutex_unlock(&t->lock);
    }
}
