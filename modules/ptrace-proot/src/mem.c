/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tracee memory access: process_vm_readv/writev (one system call for any
 * size), with PTRACE_PEEKDATA/POKEDATA as the fallback for pages the
 * former refuses (read-only mappings, kernels without CMA).
 */
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "arch.h"
#include "ptrace_int.h"

static int
peek_read(pid_t tid, uint64_t addr, void *buf, size_t n)
{
    unsigned char *out = buf;
    while (n > 0) {
        uint64_t base = addr & ~(uint64_t)7;
        size_t skip = (size_t)(addr - base);
        errno = 0;
        long w = ptrace(PTRACE_PEEKDATA, tid, (void *)base, NULL);
        if (w == -1 && errno != 0)
            return -EFAULT;
        size_t take = sizeof(w) - skip;
        if (take > n)
            take = n;
        memcpy(out, (unsigned char *)&w + skip, take);
        out += take;
        addr += take;
        n -= take;
    }
    return 0;
}

int
ud_mem_read(pid_t tid, uint64_t addr, void *buf, size_t n)
{
    struct iovec local = {buf, n};
    struct iovec remote = {(void *)addr, n};
    ssize_t r = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (r == (ssize_t)n)
        return 0;
    return peek_read(tid, addr, buf, n);
}

static int
poke_write(pid_t tid, uint64_t addr, const void *buf, size_t n)
{
    const unsigned char *in = buf;
    while (n > 0) {
        uint64_t base = addr & ~(uint64_t)7;
        size_t skip = (size_t)(addr - base);
        long w = 0;
        size_t take = sizeof(w) - skip;
        if (take > n)
            take = n;
        if (skip != 0 || take != sizeof(w)) {
            int r = peek_read(tid, base, &w, sizeof(w));
            if (r < 0)
                return r;
        }
        memcpy((unsigned char *)&w + skip, in, take);
        if (ptrace(PTRACE_POKEDATA, tid, (void *)base, (void *)w) < 0)
            return -EFAULT;
        in += take;
        addr += take;
        n -= take;
    }
    return 0;
}

int
ud_mem_write(pid_t tid, uint64_t addr, const void *buf, size_t n)
{
    struct iovec local = {(void *)buf, n};
    struct iovec remote = {(void *)addr, n};
    ssize_t r = process_vm_writev(tid, &local, 1, &remote, 1, 0);
    if (r == (ssize_t)n)
        return 0;
    return poke_write(tid, addr, buf, n);
}

/* Strings are read a chunk at a time, never across a page boundary, so a
 * string ending just before an unmapped page still reads; the first chunk
 * is small, as most paths are. */
int
ud_mem_read_str(pid_t tid, uint64_t addr, char *buf, size_t n)
{
    size_t got = 0;
    if (addr == 0)
        return -EFAULT;
    while (got < n) {
        size_t page_left = 4096 - ((addr + got) & 4095);
        size_t want = n - got < page_left ? n - got : page_left;
        if (got == 0 && want > 256)
            want = 256;
        int r = ud_mem_read(tid, addr + got, buf + got, want);
        if (r < 0)
            return r;
        char *nul = memchr(buf + got, '\0', want);
        if (nul != NULL)
            return 0;
        got += want;
    }
    return -ENAMETOOLONG;
}

int
ud_mem_push(struct tracee *te, const void *buf, size_t n, uint64_t *addr)
{
    uint64_t a = (te->scratch - n) & ~(uint64_t)15;
    /* Keep the scratch area to a few pages: a thread stack may be small. */
    if (te->sp - a > 64 * 1024)
        return -ENAMETOOLONG;
    int r = ud_mem_write(te->tid, a, buf, n);
    if (r < 0)
        return r;
    te->scratch = a;
    *addr = a;
    return 0;
}
