/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ud_maxrss: runs a command and reports its peak resident set size (the
 * largest of the process and the descendants it waited for) from wait4's
 * rusage, so the memory bench needs no /usr/bin/time.
 * Usage: ud_maxrss [-o FILE] COMMAND [ARG...]; prints "maxrss_kb N" and
 * "wall_s S" to FILE (or stderr); exits with the command's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    const char *out = NULL;
    int i = 1;
    if (argc > 2 && !strcmp(argv[1], "-o")) {
        out = argv[2];
        i = 3;
    }
    if (i >= argc) {
        fputs("usage: ud_maxrss [-o FILE] COMMAND [ARG...]\n", stderr);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("ud_maxrss: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[i], argv + i);
        fprintf(stderr, "ud_maxrss: %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("ud_maxrss: wait4");
            return 2;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* RUSAGE_CHILDREN also covers grandchildren the command waited for. */
    struct rusage rc;
    long kb = ru.ru_maxrss;
    if (getrusage(RUSAGE_CHILDREN, &rc) == 0 && rc.ru_maxrss > kb)
        kb = rc.ru_maxrss;
    FILE *f = out ? fopen(out, "w") : stderr;
    if (!f) {
        perror("ud_maxrss: output");
        f = stderr;
    }
    fprintf(f, "maxrss_kb %ld\nwall_s %.3f\n", kb,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    if (f != stderr)
        fclose(f);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
