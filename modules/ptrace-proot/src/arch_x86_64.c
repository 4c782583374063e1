/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86_64 register access for the tracer. Reading uses the portable
 * PTRACE_GET_SYSCALL_INFO; writing pokes single registers of struct
 * user_regs_struct so one change costs one ptrace call.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include "arch.h"

static const size_t arg_off[6] = {
    offsetof(struct user_regs_struct, rdi), offsetof(struct user_regs_struct, rsi),
    offsetof(struct user_regs_struct, rdx), offsetof(struct user_regs_struct, r10),
    offsetof(struct user_regs_struct, r8),  offsetof(struct user_regs_struct, r9),
};

static int
poke(pid_t tid, size_t off, uint64_t v)
{
    if (ptrace(PTRACE_POKEUSER, tid, (void *)off, (void *)v) < 0)
        return -errno;
    return 0;
}

int
ud_arch_set_arg(pid_t tid, int i, uint64_t value)
{
    if (i < 0 || i > 5)
        return -EINVAL;
    return poke(tid, arg_off[i], value);
}

int
ud_arch_set_nr(pid_t tid, long nr)
{
    return poke(tid, offsetof(struct user_regs_struct, orig_rax), (uint64_t)nr);
}

int
ud_arch_set_ret(pid_t tid, int64_t value)
{
    return poke(tid, offsetof(struct user_regs_struct, rax), (uint64_t)value);
}
