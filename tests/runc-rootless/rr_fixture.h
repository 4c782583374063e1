/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixtures for the runc-rootless tests: a tiny busybox root in a temporary
 * directory, run specs built by hand, and running an engine as an
 * unprivileged user (tests run as root in CI) with stdout captured.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ud/runc-rootless.h"

struct rr_fx {
    char *dir;  /* temporary directory, owned by the test user */
    char *cdir; /* dir/c: the container directory */
    char *root; /* dir/c/ROOT (realpath) */
    uid_t uid;  /* the user engines run as */
    gid_t gid;
};

/* Make the fixture; NULL with *why set when it cannot be made. */
struct rr_fx *rr_fx_new(const char **why);
void rr_fx_free(struct rr_fx *f);
/* cmocka setup and teardown: *state is the fixture, or NULL (the reason
 * printed) for the tests to skip. */
int rr_fx_setup(void **state);
int rr_fx_teardown(void **state);
/* A file of dir owned by the test user; returns the path (caller frees). */
char *rr_fx_write(struct rr_fx *f, const char *rel, const char *content);
/* A directory of dir owned by the test user (caller frees). */
char *rr_fx_mkdir(struct rr_fx *f, const char *rel);

/* A spec running argv (NULL-terminated) in f's root as root, cwd "/". */
struct ud_run_spec *rr_spec_new(struct rr_fx *f, const char *const *argv);
void rr_spec_add_bind(struct ud_run_spec *s, const char *host, const char *cont, unsigned flags);
void rr_spec_free(struct ud_run_spec *s);
/* SPEC("sh", "-c", "...") in a test whose state is the fixture. */
#define SPEC(...) rr_spec_new(*state, (const char *const[]){__VA_ARGS__, NULL})

/* What a run as the test user gave. */
struct rr_result {
    int rc; /* the engine's return */
    int wstatus;
    char msg[256]; /* err.msg */
    char *out;     /* the command's stdout */
};

enum rr_engine_kind { RR_R1, RR_R2, RR_R3 };

/* Run spec with the engine as f->uid (forking; dropping privileges when
 * root). stdin_data may be NULL (stdin is /dev/null); kill_after_ms > 0
 * sends SIGTERM to the runner (the udocker process) after that delay.
 * Returns false with *why when the user namespace path cannot be used. */
bool rr_run(struct rr_fx *f, const struct ud_run_spec *s, enum rr_engine_kind kind,
            const struct ud_rr_r1_opts *opts, const char *stdin_data, int kill_after_ms,
            struct rr_result *res, const char **why);
void rr_result_fini(struct rr_result *r);
/* rr_run for a cmocka test whose state is the fixture: without a fixture,
 * or when rr_run gives up, the reason is printed, s freed and the test
 * skipped (cmocka's skip() does not return). true otherwise; the engine's
 * message is printed when it failed. */
bool rr_run_or_skip(void **state, struct ud_run_spec *s, enum rr_engine_kind kind,
                    const struct ud_rr_r1_opts *opts, const char *stdin_data, int kill_after_ms,
                    struct rr_result *res);

/* When set, rr_run gives the runner a new session whose controlling
 * terminal is a pty, as stdin, and writes stdin_data to its master side. */
extern bool rr_run_on_tty;
