// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: the input is a layer file (plain, gzip or zstd tar). It is
 * applied twice onto a fresh root beside a sentinel directory; the sentinel
 * must stay untouched and nothing may appear next to the root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ud/tarextract.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[256], root[300], outside[300], secret[320], layer[300];

static void
die(const char *what)
{
    fprintf(stderr, "fuzz_tar_layer: %s\n", what);
    abort();
}

static void
write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        die("cannot write input");
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            die("cannot write input");
        p += w;
        n -= (size_t)w;
    }
    close(fd);
}

static void
cleanup(void)
{
    struct ud_error err;
    if (base[0] && ud_rm_rf(base, &err) != 0)
        fprintf(stderr, "fuzz_tar_layer: cannot remove %s: %s\n", base, err.msg);
}

static void
init_once(void)
{
    if (base[0])
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof(base), "%s/udfuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base))
        die("mkdtemp");
    snprintf(root, sizeof(root), "%s/root", base);
    snprintf(outside, sizeof(outside), "%s/outside", base);
    snprintf(secret, sizeof(secret), "%s/secret", outside);
    snprintf(layer, sizeof(layer), "%s/layer", base);
    if (mkdir(outside, 0755) != 0)
        die("mkdir outside");
    write_file(secret, (const uint8_t *)"secret", 6);
    atexit(cleanup);
}

/* Only root/, outside/ and the layer beside each other; outside/ holds
 * only the unchanged secret with one link. */
static void
check_sentinel(void)
{
    DIR *d = opendir(base);
    if (!d)
        die("opendir base");
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "root") && strcmp(n, "outside") &&
            strcmp(n, "layer"))
            die("something was written beside the root");
    }
    closedir(d);
    d = opendir(outside);
    if (!d)
        die("sentinel directory gone");
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "secret"))
            die("something was written into the sentinel directory");
    closedir(d);
    struct stat st;
    char buf[16] = {0};
    int fd = open(secret, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
        read(fd, buf, sizeof(buf)) != 6 || memcmp(buf, "secret", 6) != 0)
        die("sentinel file changed");
    close(fd);
}

static void
ignore_warning(void *ctx, const char *msg)
{
    (void)ctx;
    if (strchr(msg, '\n'))
        die("warning spans lines");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    struct ud_error err;
    if (ud_rm_rf(root, &err) != 0 || mkdir(root, 0755) != 0)
        die("cannot reset root");
    write_file(layer, data, size);
    struct ud_tar_options o = {ignore_warning, NULL, size % 2 ? UD_TAR_F_NO_OPENAT2 : 0};
    for (int i = 0; i < 2; i++)
        if (ud_tar_layer_apply(root, layer, &o, NULL, &err) != 0 && strchr(err.msg, '\n'))
            die("error spans lines");
    if (ud_tar_layer_check(layer, NULL, &err) != 0 && strchr(err.msg, '\n'))
        die("error spans lines");
    check_sentinel();
    if (ud_rm_rf(root, &err) != 0)
        die("cannot remove root");
    return 0;
}
