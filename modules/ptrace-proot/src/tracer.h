/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry points of the tracer loop for the engine glue (engine_p.c).
 */
#pragma once

#ifndef UD_BUILDING_PTRACE_PROOT
#error "tracer.h is private to the ptrace-proot module"
#endif

#include <signal.h>

#include "ptrace_int.h"

/* Register the first process (already seized). NULL on allocation failure. */
struct tracee *ud_tracer_add_first(struct tracer *t, pid_t pid);
/* Run until the first process and every other tracee are gone. The loop
 * zeroes *fwd_target (the pid signals are forwarded to) once it reaped the
 * first process. 0, or -errno when waiting failed before that. */
int ud_tracer_loop(struct tracer *t, volatile sig_atomic_t *fwd_target);
void ud_tracer_free_tracees(struct tracer *t);
