/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /proc files whose content would give the engine away: the Uid/Gid lines
 * of /proc/PID/status (the host's ids; root emulation shows 0) and the
 * command line of a program started through the container's loader
 * (/proc/PID/cmdline shows "loader --argv0 ARGV0 PROGRAM ARGS"). An open
 * of one gets a memfd holding a copy in the container's terms, made when
 * it is opened (a reader sees a snapshot, as most readers do anyway).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ptrace_int.h"

/* "/proc/N[/task/T]/NAME": N, or -1. */
static pid_t
proc_file(const char *host, const char *name)
{
    const char *p = host;
    pid_t pid = -1;
    if (strncmp(p, "/proc/", 6) != 0)
        return -1;
    p += 6;
    for (int part = 0; part < 2; part++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v <= 0 || *p < '0' || *p > '9')
            return -1;
        if (part == 0)
            pid = (pid_t)v;
        p = end;
        if (part == 0 && strncmp(p, "/task/", 6) == 0)
            p += 6;
        else
            break;
    }
    return *p == '/' && strcmp(p + 1, name) == 0 ? pid : -1;
}

/* Words of a NUL-separated command line, the loader's left out. */
static int
cmdline_fd(const char *host, unsigned mode)
{
    char *data = NULL;
    size_t len = 0;
    if (ud_file_read(host, 1u << 22, &data, &len, NULL) < 0)
        return -ENOENT;
    char *out = ud_malloc(len + 1);
    size_t o = 0;
    unsigned word = 0;
    if (out == NULL) {
        free(data);
        return -ENOMEM;
    }
    for (size_t i = 0; i < len;) {
        size_t wl = strnlen(data + i, len - i);
        size_t take = wl + (i + wl < len); /* with its NUL when there is one */
        bool drop = word == 0 || (mode == 2 && (word == 1 || word == 3));
        if (!drop) {
            memcpy(out + o, data + i, take);
            o += take;
        }
        i += take;
        word++;
    }
    int fd = memfd_create("cmdline", MFD_CLOEXEC);
    int r = fd < 0 ? -errno : 0;
    if (r == 0 && (write(fd, out, o) != (ssize_t)o || lseek(fd, 0, SEEK_SET) != 0)) {
        close(fd);
        r = -EIO;
    }
    free(data);
    free(out);
    return r < 0 ? r : fd;
}

int
ud_proc_copy(struct tracer *t, const char *host, int *fd)
{
    int r;
    pid_t pid;
    if (t->statmap && ud_owners_is_status(host)) {
        r = ud_owners_status_fd(t, host);
    } else if ((pid = proc_file(host, "cmdline")) > 0) {
        const struct tracee *te = ud_tracee_find(t, pid);
        if (te == NULL || te->cmd == 0)
            return 0;
        r = cmdline_fd(host, te->cmd);
    } else
        return 0;
    if (r < 0)
        return r;
    *fd = r;
    return 1;
}
