/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ptrace-proot: the P1 and P2 execution modes. The container's programs run
 * as children of a ptrace tracer that rewrites the path arguments and
 * results of system calls so the container root looks like "/". P1 stops
 * only the path-carrying calls through a seccomp-bpf filter; P2 stops every
 * call (for kernels whose seccomp misbehaves).
 */
#pragma once

#include "ud/engine.h"

/* The two engines. exec() runs the tracer inside the calling process: it
 * forks the container's first process, follows every process and thread it
 * starts, and returns the waitpid status of that first process once it and
 * (being killed on exit) the rest of the tree are gone. The caller must not
 * have other children it waits for while exec() runs (exec() reaps with
 * waitpid(-1)). SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and
 * SIGWINCH sent to the caller with kill() are forwarded to that process. */
extern const struct ud_engine ud_engine_p1, ud_engine_p2;
