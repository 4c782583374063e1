/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A driver for timing R1 against bwrap: builds a run spec by hand and
 * calls ud_rr_r1_run (-p: with a PID namespace, -s: with the subordinate
 * id ranges through newuidmap). Not a test.
 *   rr_bench_r1 [-p] [-s] [-b HOST:CONT]... ROOT CMD [ARG]...
 * Exits with the command's exit status (128+N for signal N).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ud/runc-rootless.h"

int
main(int argc, char **argv)
{
    static char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", NULL};
    static char *names[] = {NULL};
    struct ud_bind binds[32];
    struct ud_rr_r1_opts o = UD_RR_R1_DEFAULTS;
    struct ud_run_spec s = {0};
    struct ud_error e = {0};
    int c, ws = 0;

    while ((c = getopt(argc, argv, "+psb:")) != -1) {
        if (c == 'p') {
            o.pidns = 1;
        } else if (c == 's') {
            o.subids = true;
        } else if (c == 'b' && s.nbinds < 32) {
            char *colon = strchr(optarg, ':');
            if (!colon)
                return 2;
            *colon = '\0';
            binds[s.nbinds++] = (struct ud_bind){optarg, colon + 1, UD_BIND_SYS};
        } else {
            return 2;
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "usage: rr_bench_r1 [-p] [-s] [-b HOST:CONT]... ROOT CMD [ARG]...\n");
        return 2;
    }
    s.id = "";
    s.root = realpath(argv[optind], NULL);
    memcpy(s.mode, "R1", 3);
    s.names = names;
    s.argv = argv + optind + 1;
    s.exe = argv[optind + 1];
    s.env = env;
    s.cwd = "/";
    s.as_root = true;
    s.binds = binds;
    if (!s.root) {
        perror(argv[optind]);
        return 2;
    }
    if (ud_rr_r1_run(&s, NULL, &o, &ws, &e) < 0) {
        fprintf(stderr, "Error: %s\n", e.msg);
        return 1;
    }
    free(s.root);
    return ud_engine_exit_code(ws);
}
