// SPDX-License-Identifier: Apache-2.0
/*
 * ud-ptrace-run: run a command in a root directory under the P1 or P2
 * engine with a hand-built run spec, for measurements and debugging:
 *   ud-ptrace-run [-m P1|P2] [-b HOST[:CONT]]... [-w CWD] [-k REL] [-u] ROOT CMD ARGS...
 * -u runs as the caller instead of the emulated root. Exits with the
 * command's status (128+N for signal N).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ud/ptrace-proot.h"

#define MAXB 32

int
main(int argc, char **argv)
{
    const struct ud_engine *e = &ud_engine_p1;
    struct ud_bind binds[MAXB];
    size_t nb = 0;
    struct ud_run_spec s;
    memset(&s, 0, sizeof(s));
    s.cwd = "/";
    s.as_root = true;
    int opt;
    while ((opt = getopt(argc, argv, "+m:b:w:k:uD")) != -1) {
        switch (opt) {
        case 'm':
            e = strcmp(optarg, "P2") == 0 ? &ud_engine_p2 : &ud_engine_p1;
            break;
        case 'b':
            if (nb == MAXB)
                return 2;
            binds[nb].host = optarg;
            char *c = strchr(optarg, ':');
            if (c != NULL)
                *c++ = '\0';
            binds[nb].cont = c != NULL ? c : optarg;
            binds[nb].flags = UD_BIND_DIR;
            nb++;
            break;
        case 'w':
            s.cwd = optarg;
            break;
        case 'k':
            s.kernel = optarg;
            break;
        case 'u':
            s.as_root = false;
            s.uid = getuid();
            s.gid = getgid();
            break;
        case 'D':
            ud_log_set_level(UD_LOG_DEBUG);
            break;
        default:
            return 2;
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "usage: ud-ptrace-run [-m P1|P2] [-b H[:C]] [-w CWD] ROOT CMD...\n");
        return 2;
    }
    extern char **environ;
    s.root = argv[optind];
    s.exe = argv[optind + 1];
    s.argv = &argv[optind + 1];
    s.env = environ;
    s.binds = binds;
    s.nbinds = nb;
    memcpy(s.mode, e->mode, 3);
    struct ud_hostcaps caps;
    struct utsname u;
    memset(&caps, 0, sizeof(caps));
    uname(&u);
    snprintf(caps.kernel, sizeof(caps.kernel), "%s", u.release);
    caps.ptrace = caps.seccomp = caps.seccomp_notif = true;
    struct ud_error err = {0};
    int ws = 0;
    if (e->probe(&caps, &err) < 0 || e->exec(&s, &caps, &ws, &err) < 0) {
        fprintf(stderr, "ud-ptrace-run: %s\n", err.msg);
        return 125;
    }
    if (ud_log_enabled(UD_LOG_DEBUG)) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(stderr, "tracer: user %ld.%06ld s, system %ld.%06ld s, max rss %ld KiB\n",
                (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec,
                (long)ru.ru_stime.tv_usec, ru.ru_maxrss);
    }
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}
