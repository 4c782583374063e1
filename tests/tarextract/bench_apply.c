/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark driver (not a test): apply layers in order onto a root and
 * print the time taken, to compare with `tar -xzf`. Usage:
 *   tarextract_bench [-s] [-p] ROOT LAYER...
 * -s decompresses in the calling thread, -p forces the portable resolver.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ud/tarextract.h>

static void
warn_cb(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "warning: %s\n", msg);
}

int
main(int argc, char **argv)
{
    struct ud_tar_options o = {warn_cb, NULL, 0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-s") == 0)
            o.flags |= UD_TAR_F_SINGLE_THREAD;
        else if (strcmp(argv[i], "-p") == 0)
            o.flags |= UD_TAR_F_NO_OPENAT2;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: %s [-s] [-p] ROOT LAYER...\n", argv[0]);
        return 2;
    }
    const char *root = argv[i++];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct ud_tar_stats total = {0};
    for (; i < argc; i++) {
        struct ud_tar_stats st;
        struct ud_error err;
        if (ud_tar_layer_apply(root, argv[i], &o, &st, &err) != 0) {
            fprintf(stderr, "error: %s\n", err.msg);
            return 1;
        }
        total.entries += st.entries;
        total.bytes += st.bytes;
        total.skipped += st.skipped;
        total.warnings += st.warnings;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%.3f s, %llu entries, %llu bytes, %llu skipped, %llu warnings\n", s,
           (unsigned long long)total.entries, (unsigned long long)total.bytes,
           (unsigned long long)total.skipped, (unsigned long long)total.warnings);
    return 0;
}
