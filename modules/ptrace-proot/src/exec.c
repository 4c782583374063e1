/* SPDX-License-Identifier: Apache-2.0 */
/*
 * execve/execveat: the kernel must never see a guest path, and a dynamic
 * program's PT_INTERP ("/lib64/ld-linux-x86-64.so.2") names the container's
 * loader, which the kernel would look up on the host. So the tracer does
 * what binfmt_script and binfmt_elf would: it follows "#!" lines itself and
 * runs the container's loader with the program as its argument:
 *   loader --argv0 ARGV0 PROGRAM ARGS...   (glibc >= 2.33)
 *   loader PROGRAM ARGS...                 (older loaders: argv[0] is lost)
 * The guest path of the program is remembered for /proc/self/exe.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch.h"
#include "exec_parse.h"
#include "ptrace_int.h"

#define MAX_ARGS (1u << 17)
#define MAX_DEPTH 4 /* "#!" nesting, as the kernel's limit */
#define BINPRM_BUF 256

/* One argument of the new argv: a string we push, or a pointer already in
 * the tracee. */
struct arg {
    char *local;
    uint64_t remote;
};

struct argv_list {
    struct arg *v;
    size_t n, cap;
};

static void
list_free(struct argv_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].local);
    free(l->v);
}

/* Insert at position pos a local copy of s (or the remote pointer when s
 * is NULL). */
static int
list_insert(struct argv_list *l, size_t pos, const char *s, uint64_t remote)
{
    if (l->n + 1 >= MAX_ARGS)
        return -E2BIG;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        struct arg *nv = ud_realloc(l->v, nc * sizeof(*nv));
        if (nv == NULL)
            return -ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    char *copy = NULL;
    if (s != NULL && (copy = ud_strdup(s)) == NULL)
        return -ENOMEM;
    memmove(&l->v[pos + 1], &l->v[pos], (l->n - pos) * sizeof(*l->v));
    l->v[pos].local = copy;
    l->v[pos].remote = remote;
    l->n++;
    return 0;
}

static void
list_remove(struct argv_list *l, size_t pos)
{
    free(l->v[pos].local);
    memmove(&l->v[pos], &l->v[pos + 1], (l->n - pos - 1) * sizeof(*l->v));
    l->n--;
}

static int
read_argv(pid_t tid, uint64_t addr, struct argv_list *l)
{
    uint64_t chunk[64];
    if (addr == 0)
        return 0;
    for (;;) {
        /* Never across a page boundary: the array may end just before an
         * unmapped page. */
        size_t page_left = (size_t)(4096 - (addr & 4095)) / sizeof(uint64_t);
        size_t n = page_left < 64 && page_left > 0 ? page_left : 64;
        if (ud_mem_read(tid, addr, chunk, n * sizeof(uint64_t)) < 0)
            return -EFAULT;
        for (size_t i = 0; i < n; i++) {
            if (chunk[i] == 0)
                return 0;
            int r = list_insert(l, l->n, NULL, chunk[i]);
            if (r < 0)
                return r;
        }
        addr += n * sizeof(uint64_t);
    }
}

/* Host path of the guest program path p: absolute, symlinks followed. */
static int
host_of(struct tracer *t, struct tracee *te, int dirfd, const char *p, char *out)
{
    int r = ud_xlate(t, te, dirfd, p, XL_FOLLOW, out);
    if (r != 1)
        return r;
    if (p[0] == '/') {
        snprintf(out, PATH_MAX, "%s", p);
        return 0;
    }
    char base[PATH_MAX];
    r = ud_xlate_dirfd(te->tid, dirfd, base);
    if (r < 0)
        return r;
    int n = snprintf(out, PATH_MAX, "%s/%s", base, p);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static ssize_t
fd_reader(void *ctx, void *buf, size_t n, off_t off)
{
    return pread(*(int *)ctx, buf, n, off);
}

/* PT_INTERP of an ELF file; interp[0] == '\0' when static (exec_parse.c). */
static int
elf_interp(int fd, const unsigned char *hdr, size_t n, char *interp)
{
    return ud_exec_parse_interp(hdr, n, fd_reader, &fd, interp);
}

/* "#!interp [arg]" -> interp and arg ("" when none), as binfmt_script. */
static int
parse_shebang(const char *buf, size_t n, char *interp, char *arg)
{
    return ud_exec_parse_shebang(buf, n, interp, arg);
}

/* Does the loader at host know "--argv0" (glibc 2.33 and later)? The
 * option's name sits in its .rodata. Read in fixed chunks that overlap by
 * the needle's length: no growing buffer on the first exec of every
 * container, and unlike a mapping, a loader truncated meanwhile cannot
 * fault the tracer (SIGBUS). */
static bool
file_has_argv0(const char *host)
{
    static const char needle[] = "--argv0"; /* with its NUL, as in .rodata */
    enum { NEEDLE = sizeof(needle), CHUNK = 64 * 1024 };
    static char buf[CHUNK + NEEDLE];
    int fd = open(host, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool yes = false;
    size_t keep = 0;
    for (off_t total = 0; !yes && total < (off_t)(8u << 20);) {
        ssize_t n = read(fd, buf + keep, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        total += n;
        size_t have = keep + (size_t)n;
        yes = memmem(buf, have, needle, NEEDLE) != NULL;
        keep = have < NEEDLE - 1 ? have : NEEDLE - 1;
        memmove(buf, buf + have - keep, keep);
    }
    close(fd);
    return yes;
}

static bool
loader_has_argv0(struct tracer *t, const char *host)
{
    for (size_t i = 0; i < t->nloaders; i++)
        if (strcmp(t->loaders[i].host, host) == 0)
            return t->loaders[i].argv0;
    bool yes = file_has_argv0(host);
    if (t->nloaders < sizeof(t->loaders) / sizeof(t->loaders[0])) {
        char *copy = ud_strdup(host);
        if (copy != NULL) {
            t->loaders[t->nloaders].host = copy;
            t->loaders[t->nloaders++].argv0 = yes;
        }
    }
    return yes;
}

/* Write filename and argv below the stack pointer and point the syscall's
 * arguments at them. */
static int
push_exec(struct tracee *te, int path_arg, const char *filename, const struct argv_list *l)
{
    size_t strs = strlen(filename) + 1;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].local != NULL)
            strs += strlen(l->v[i].local) + 1;
    size_t ptr_off = (strs + 15) & ~(size_t)15;
    size_t total = ptr_off + (l->n + 1) * sizeof(uint64_t);
    if (total > 256 * 1024)
        return -E2BIG;
    uint64_t base = (te->scratch - total) & ~(uint64_t)15;
    unsigned char *buf = ud_calloc(1, total);
    if (buf == NULL)
        return -ENOMEM;
    size_t off = strlen(filename) + 1;
    memcpy(buf, filename, off);
    uint64_t *ptrs = (uint64_t *)(buf + ptr_off);
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].local == NULL) {
            ptrs[i] = l->v[i].remote;
            continue;
        }
        size_t sl = strlen(l->v[i].local) + 1;
        memcpy(buf + off, l->v[i].local, sl);
        ptrs[i] = base + off;
        off += sl;
    }
    int r = ud_mem_write(te->tid, base, buf, total);
    free(buf);
    if (r < 0)
        return r;
    te->scratch = base;
    if ((r = ud_arch_set_arg(te->tid, path_arg, base)) < 0 ||
        (r = ud_arch_set_arg(te->tid, path_arg + 1, base + ptr_off)) < 0)
        return r;
    te->restore_mask |= 3u << path_arg;
    te->exit_work |= XW_RESTORE;
    return 0;
}

/* A program for another machine runs under the host's qemu (qemu.c):
 *   qemu-ARCH-static [-0 ARGV0] -L / PROGRAM ARGS...
 * The kernel gets the host path of the qemu chosen by the tracer, and
 * nothing else of the tracee's choosing; PROGRAM stays a guest path, which
 * qemu opens (and the program's PT_INTERP) through the tracer. "-L /":
 * no prefix for the interpreter, the tracer is the prefix. */
static int
exec_foreign(struct tracee *te, int path_arg, const char *qemu, const char *guest,
             struct argv_list *l)
{
    if (guest[0] != '/')
        return -ENOEXEC; /* a program outside the container, by a host dirfd */
    bool has_argv0 = l->n > 0;
    size_t at = has_argv0 ? 1 : 0;
    const char *base = strrchr(qemu, '/');
    int r;
    if ((r = list_insert(l, at, "-L", 0)) < 0 || (r = list_insert(l, at + 1, "/", 0)) < 0 ||
        (r = list_insert(l, at + 2, guest, 0)) < 0)
        return r;
    if (has_argv0 && (r = list_insert(l, 0, "-0", 0)) < 0)
        return r;
    if ((r = list_insert(l, 0, base != NULL ? base + 1 : qemu, 0)) < 0)
        return r;
    return push_exec(te, path_arg, qemu, l);
}

/* Follow "#!" lines from guest path cur; on return host holds the final
 * program's host path, cur its guest path, and l the argv to give it. */
static int
follow_scripts(struct tracer *t, struct tracee *te, int dirfd, char *cur, char *host,
               struct argv_list *l, unsigned char *hdr, ssize_t *hlen, int *fd_out)
{
    for (int depth = 0;; depth++) {
        int r = host_of(t, te, depth == 0 ? dirfd : AT_FDCWD, cur, host);
        if (r < 0)
            return r;
        struct stat st;
        if (stat(host, &st) < 0)
            return -errno;
        if (!S_ISREG(st.st_mode) || access(host, X_OK) < 0)
            return -EACCES;
        int fd = open(host, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return errno == EACCES ? 1 : -errno; /* execute-only: as it is */
        *hlen = pread(fd, hdr, BINPRM_BUF, 0);
        if (*hlen < 2 || hdr[0] != '#' || hdr[1] != '!') {
            *fd_out = fd;
            return 0;
        }
        close(fd);
        if (depth >= MAX_DEPTH)
            return -ELOOP;
        char interp[BINPRM_BUF + 1], arg[BINPRM_BUF + 1];
        if ((r = parse_shebang((const char *)hdr, (size_t)*hlen, interp, arg)) < 0)
            return r;
        /* argv: interp [arg] script argv[1..] */
        if (l->n > 0)
            list_remove(l, 0);
        if ((r = list_insert(l, 0, cur, 0)) < 0)
            return r;
        if (arg[0] != '\0' && (r = list_insert(l, 0, arg, 0)) < 0)
            return r;
        if ((r = list_insert(l, 0, interp, 0)) < 0)
            return r;
        snprintf(cur, PATH_MAX, "%s", interp);
    }
}

static int
exec_rewrite(struct tracer *t, struct tracee *te, int dirfd, int path_arg, char *cur,
             struct argv_list *l)
{
    char host[PATH_MAX], interp[PATH_MAX], lhost[PATH_MAX];
    unsigned char hdr[BINPRM_BUF];
    ssize_t hlen = 0;
    int fd = -1;
    int r = follow_scripts(t, te, dirfd, cur, host, l, hdr, &hlen, &fd);
    if (r < 0)
        return r;
    if (r == 1)
        return push_exec(te, path_arg, host, l); /* unreadable: the kernel decides */
    interp[0] = '\0';
    const char *qemu = NULL; /* another machine's program: qemu.c */
    if (hlen >= 4 && memcmp(hdr, ELFMAG, SELFMAG) == 0 &&
        (r = ud_qemu_for_elf(hdr, (size_t)hlen, &qemu)) == 0)
        r = elf_interp(fd, hdr, (size_t)hlen, interp);
    if (fd >= 0)
        close(fd);
    if (r < 0)
        return r;
    char guest_exe[PATH_MAX];
    bool guest_ok = ud_xlate_to_guest(t, host, guest_exe, sizeof(guest_exe)) == 0;
    if (guest_ok) {
        free(te->pending_exe);
        te->pending_exe = ud_strdup(guest_exe);
    }
    if (qemu != NULL)
        return exec_foreign(te, path_arg, qemu, guest_ok ? guest_exe : cur, l);
    if (interp[0] == '\0')
        return push_exec(te, path_arg, host, l);
    if ((r = host_of(t, te, AT_FDCWD, interp, lhost)) < 0)
        return r;
    /* loader [--argv0 ARGV0] PROGRAM ARGS... */
    uint64_t argv0 = l->n > 0 ? l->v[0].remote : 0;
    char *argv0_local = l->n > 0 ? l->v[0].local : NULL;
    bool a0 = loader_has_argv0(t, lhost) && l->n > 0;
    if (a0) {
        if ((r = list_insert(l, 1, argv0_local, argv0)) < 0 || (r = list_insert(l, 2, cur, 0)) < 0)
            return r;
        list_remove(l, 0);
        if ((r = list_insert(l, 0, "--argv0", 0)) < 0)
            return r;
    } else {
        if (l->n > 0)
            list_remove(l, 0);
        if ((r = list_insert(l, 0, cur, 0)) < 0)
            return r;
    }
    if ((r = list_insert(l, 0, interp, 0)) < 0)
        return r;
    te->pending_cmd = a0 ? 2 : 1; /* what /proc/PID/cmdline must hide */
    return push_exec(te, path_arg, lhost, l);
}

int
ud_exec_enter(struct tracer *t, struct tracee *te, int dirfd, int path_arg)
{
    char cur[PATH_MAX];
    uint64_t path_addr = te->args[path_arg], argv_addr = te->args[path_arg + 1];
    free(te->pending_exe);
    te->pending_exe = NULL;
    te->pending_cmd = 0;
    int r = ud_mem_read_str(te->tid, path_addr, cur, sizeof(cur));
    if (r == -EFAULT)
        return 0;
    if (r < 0)
        return r;
    if (cur[0] == '\0')
        return 0; /* execveat(fd, "", AT_EMPTY_PATH): the fd's program */
    struct argv_list l = {0};
    r = read_argv(te->tid, argv_addr, &l);
    if (r == 0)
        r = exec_rewrite(t, te, dirfd, path_arg, cur, &l);
    list_free(&l);
    return r;
}
