/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Architecture-specific register access of the tracer: where the syscall
 * number, arguments and return value live, and how much of the stack below
 * the stack pointer a program may use without telling the kernel.
 */
#pragma once

#ifndef UD_BUILDING_PTRACE_PROOT
#error "arch.h is private to the ptrace-proot module"
#endif

#include <stdint.h>
#include <sys/types.h>

#if defined(__x86_64__)
/* The System V ABI lets leaf code use 128 bytes below %rsp. */
#define UD_ARCH_REDZONE 128
#else
#error "ptrace-proot supports x86_64 only for now: add src/arch_<arch>.c and its constants"
#endif

/* Set argument i (0-5) of the stopped tracee's syscall. 0 or -errno. */
int ud_arch_set_arg(pid_t tid, int i, uint64_t value);
/* Replace the syscall number at an entry or seccomp stop (-1 skips it). */
int ud_arch_set_nr(pid_t tid, long nr);
/* Set the return value at an exit stop. */
int ud_arch_set_ret(pid_t tid, int64_t value);
