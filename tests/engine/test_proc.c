/* SPDX-License-Identifier: Apache-2.0 */
/* Exit-status conversion and signal forwarding of ud_engine_wait: a child
 * that waits for a signal reports which one it got through its status. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ud/engine.h"

static void
test_exit_code(void **state)
{
    (void)state;
    for (int code = 0; code < 256; code += 17) {
        pid_t p = fork();
        if (p == 0)
            _exit(code);
        int st = 0;
        assert_int_equal(waitpid(p, &st, 0), p);
        assert_int_equal(ud_engine_exit_code(st), code);
    }
    int sigs[] = {SIGKILL, SIGTERM, SIGSEGV, SIGINT};
    for (size_t i = 0; i < 4; i++) {
        pid_t p = fork();
        if (p == 0) {
            signal(sigs[i], SIG_DFL);
            raise(sigs[i]);
            _exit(0);
        }
        int st = 0;
        assert_int_equal(waitpid(p, &st, 0), p);
        assert_int_equal(ud_engine_exit_code(st), 128 + sigs[i]);
    }
}

static volatile sig_atomic_t got;
static void
on_sig(int s)
{
    got = s;
}

/* Child: note any forwarded signal (handlers installed by
 * child_handlers while the signals are still blocked, so an early forward
 * is not lost) and exit with its number. */
static void
child_handlers(void)
{
    struct sigaction sa = {.sa_handler = on_sig};
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT};
    for (size_t i = 0; i < 6; i++)
        sigaction(sigs[i], &sa, NULL);
}

static void
child_wait_for_signal(void)
{
    for (int i = 0; i < 500 && !got; i++)
        usleep(10000);
    _exit(got ? 100 + got : 1);
}

/* Send sig to udocker (this process) while it waits; the child must get it
 * and udocker must survive it. */
static void
forward_one(int sig, bool early)
{
    struct ud_error e = {0};
    int st = -1;

    ud_engine_fwd_begin();
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        child_handlers();
        ud_engine_fwd_child();
        /* The mask was restored: a blocked signal would stay pending. */
        sigset_t m;
        sigprocmask(SIG_SETMASK, NULL, &m);
        if (sigismember(&m, sig))
            _exit(2);
        child_wait_for_signal();
    }
    /* early: the signal arrives between the fork and the wait, while the
     * handlers are not installed yet; it must be held, not act on us. */
    if (early)
        kill(getpid(), sig);
    else {
        pid_t k = fork();
        if (k == 0) {
            usleep(50000);
            kill(getppid(), sig);
            _exit(0);
        }
    }
    assert_int_equal(ud_engine_wait(p, p, &st, &e), 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 100 + sig);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    /* The disposition was restored to what it was (default). */
    struct sigaction cur;
    sigaction(sig, NULL, &cur);
    assert_ptr_equal(cur.sa_handler, SIG_DFL);
}

static void
test_forward(void **state)
{
    (void)state;
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT};
    for (size_t i = 0; i < 6; i++) {
        forward_one(sigs[i], false);
        forward_one(sigs[i], true);
    }
}

static void
test_wait_not_child(void **state)
{
    (void)state;
    struct ud_error e = {0};
    int st = 12345;
    assert_int_equal(ud_engine_wait(1, 1, &st, &e), UD_EIO);
    assert_int_equal(st, 12345);
    assert_non_null(e.msg[0] ? e.msg : NULL);
}

/* The whole window: fwd_end after a failed fork restores the mask. */
static void
test_fwd_end(void **state)
{
    (void)state;
    sigset_t m;
    ud_engine_fwd_begin();
    sigprocmask(SIG_SETMASK, NULL, &m);
    assert_true(sigismember(&m, SIGTERM));
    ud_engine_fwd_end();
    sigprocmask(SIG_SETMASK, NULL, &m);
    assert_false(sigismember(&m, SIGTERM));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_wait_not_child),
        cmocka_unit_test(test_fwd_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
