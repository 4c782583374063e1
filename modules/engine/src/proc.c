/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process helpers shared by the engines: waiting for the containerised
 * process while forwarding the signals that reach udocker, and turning a
 * wait status into the exit status of "udocker run".
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ud/engine.h"

/* The signals a user or a batch system sends to stop or steer a job. */
static const int fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
#define NFWD (sizeof(fwd_signals) / sizeof(fwd_signals[0]))

/* Signal dispositions are process-wide, so this state is too; only one
 * forwarding window is open at a time (one container per udocker). */
static volatile sig_atomic_t fwd_target;
static volatile sig_atomic_t fwd_same_pgrp;
static sigset_t fwd_saved_mask;
static bool fwd_blocked;

static void
fwd_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < NFWD; i++)
        sigaddset(set, fwd_signals[i]);
}

void
ud_engine_fwd_begin(void)
{
    sigset_t set;

    if (fwd_blocked)
        return;
    fwd_set(&set);
    if (sigprocmask(SIG_BLOCK, &set, &fwd_saved_mask) == 0)
        fwd_blocked = true;
}

void
ud_engine_fwd_child(void)
{
    /* The child inherited the blocked mask; exec keeps it, so restore it
     * or the container would start with SIGINT and friends blocked.
     * Dispositions are the parent's defaults (handlers are installed only
     * by ud_engine_wait, after the fork). */
    if (fwd_blocked)
        sigprocmask(SIG_SETMASK, &fwd_saved_mask, NULL);
    fwd_blocked = false;
}

void
ud_engine_fwd_end(void)
{
    if (fwd_blocked)
        sigprocmask(SIG_SETMASK, &fwd_saved_mask, NULL);
    fwd_blocked = false;
}

static void
fwd_handler(int sig, siginfo_t *si, void *uctx)
{
    int saved = errno;
    pid_t t = (pid_t)fwd_target;

    (void)uctx;
    /* A terminal sends SIGINT, SIGQUIT, SIGWINCH (and SIGHUP on hangup)
     * to the whole foreground process group (si_code SI_KERNEL): when the
     * target is in our group it already got its own copy, and a second
     * one would make e.g. an interactive program see two ^C. */
    if (t > 0 && !(fwd_same_pgrp && si != NULL && si->si_code == SI_KERNEL))
        kill(t, sig);
    errno = saved;
}

int
ud_engine_wait(pid_t pid, pid_t target, int *wstatus, struct ud_error *err)
{
    struct sigaction sa, old[NFWD];
    sigset_t set, prev;
    int st = 0, rc = 0;
    pid_t w;

    if (target <= 0)
        target = pid;
    fwd_target = target;
    fwd_same_pgrp = getpgid(target) == getpgrp();
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = fwd_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < NFWD; i++)
        sigaction(fwd_signals[i], &sa, &old[i]);
    /* Signals that arrived since ud_engine_fwd_begin() were held pending;
     * unblocking delivers them to the handler, now that the target is
     * known, so none is lost between the fork and this point. */
    fwd_set(&set);
    if (fwd_blocked) {
        sigprocmask(SIG_SETMASK, &fwd_saved_mask, NULL);
        fwd_blocked = false;
    } else {
        sigprocmask(SIG_UNBLOCK, &set, NULL);
    }
    do {
        w = waitpid(pid, &st, 0);
    } while (w < 0 && errno == EINTR);
    if (w < 0)
        rc = ud_error_set(err, UD_EIO, errno, "wait for process %d", (int)pid);
    /* Block while restoring, so no handler runs with a stale target. */
    sigprocmask(SIG_BLOCK, &set, &prev);
    fwd_target = 0;
    for (size_t i = 0; i < NFWD; i++)
        sigaction(fwd_signals[i], &old[i], NULL);
    sigprocmask(SIG_SETMASK, &prev, NULL);
    if (rc == 0 && wstatus != NULL)
        *wstatus = st;
    return rc;
}

int
ud_engine_exit_code(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return 1;
}
