/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test fixture of the tracer tests: a busybox root with a static and a
 * dynamic probe program (and the host's loader and libc for the latter),
 * a symlink maze and a bind source; and a runner that executes a command
 * in it under an engine as an unprivileged user.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "ud/engine.h"

struct ptest_root {
    char dir[512];  /* the temporary directory holding it all */
    char root[600]; /* dir/ROOT */
    char bindsrc[600];
    char cdir[600]; /* the container directory (the ownership database) */
    bool dynamic;   /* the loader and libc could be copied */
};

/* An engine and whether its host claims seccomp user notifications. */
struct ptest_mode {
    const struct ud_engine *e;
    bool notify;
};

struct ptest_result {
    int rc;      /* exec()'s return */
    int wstatus; /* exec()'s waitpid status */
    char err[256];
    char out[65536]; /* stdout and stderr together */
};

/* Build the fixture; false (with why) when busybox is missing. */
bool ptest_root_make(struct ptest_root *r, char *why, size_t whysz);
void ptest_root_remove(struct ptest_root *r);
/* Can an unprivileged child be traced here? why says why not. */
bool ptest_can_ptrace(char *why, size_t whysz);
/* Run argv (guest paths) with the engine of m in root, cwd, with the binds, as
 * uid 65534 when the test runs as root. kernel may be NULL. */
void ptest_run(const struct ptest_mode *m, const struct ptest_root *r, const char *cwd,
               const struct ud_bind *binds, size_t nbinds, const char *kernel,
               const char *const *argv, struct ptest_result *res);
/* Same, and send sig to the engine's process once the output holds
 * trigger. */
void ptest_run_signal(const struct ptest_mode *m, const struct ptest_root *r, const char *cwd,
                      const struct ud_bind *binds, size_t nbinds, const char *kernel,
                      const char *const *argv, int sig, const char *trigger,
                      struct ptest_result *res);
