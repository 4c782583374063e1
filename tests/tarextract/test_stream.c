/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Input side: compression detection by magic, gzip (concatenated members,
 * trailing bytes), zstd, plain, bzip2/xz through libarchive, large files
 * across buffer boundaries in both threading modes; fatal errors (corrupt,
 * truncated, garbage, disk full via RLIMIT_FSIZE, missing root) and the
 * allocation-failure loop; ud_tar_layer_check; the warning cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ud/tarextract.h>

#include "tarbuild.h"

static int
setup(void **state)
{
    struct tb_env *e = calloc(1, sizeof(*e));
    tb_env_setup(e);
    umask(022);
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    tb_env_teardown(*state);
    free(*state);
    return 0;
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void
spew(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Compress bytes into path with libarchive's raw format and a filter. */
static void
compress_bytes(const char *path, const void *p, size_t n, enum tb_filter f)
{
    struct archive *a = archive_write_new();
    if (f == TB_GZIP)
        archive_write_add_filter_gzip(a);
    else
        archive_write_add_filter_zstd(a);
    assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_copy_pathname(e, "raw");
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (n)
        assert_int_equal(archive_write_data(a, p, n), (la_ssize_t)n);
    archive_entry_free(e);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static char *
pseudo_random(size_t n, uint32_t seed)
{
    char *b = malloc(n + 1);
    assert_non_null(b);
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        /* compressible, but not trivially: letters with runs */
        b[i] = (char)('a' + (x % 7 == 0 ? (x >> 8) % 26 : 0));
    }
    b[n] = 0;
    return b;
}

static int
apply_flags(struct tb_env *e, unsigned flags, struct ud_tar_stats *st, struct ud_error *err)
{
    struct ud_tar_options o = {NULL, NULL, flags};
    return ud_tar_layer_apply(e->root, e->layer, &o, st, err);
}

static void
test_detect_buf(void **state)
{
    (void)state;
    unsigned char b[512] = {0};
    assert_int_equal(ud_tar_compression_detect_buf("\x1f\x8b\x08", 3), UD_TAR_COMP_GZIP);
    assert_int_equal(ud_tar_compression_detect_buf("\x28\xb5\x2f\xfd", 4), UD_TAR_COMP_ZSTD);
    assert_int_equal(ud_tar_compression_detect_buf("\x50\x2a\x4d\x18", 4), UD_TAR_COMP_ZSTD);
    assert_int_equal(ud_tar_compression_detect_buf("BZh9", 4), UD_TAR_COMP_BZIP2);
    assert_int_equal(ud_tar_compression_detect_buf("\xfd"
                                                   "7zXZ\0",
                                                   6),
                     UD_TAR_COMP_XZ);
    assert_int_equal(ud_tar_compression_detect_buf("", 0), UD_TAR_COMP_NONE);
    assert_int_equal(ud_tar_compression_detect_buf(b, 512), UD_TAR_COMP_NONE);
    assert_int_equal(ud_tar_compression_detect_buf("hello", 5), UD_TAR_COMP_UNKNOWN);
    memcpy(b + 257, "ustar", 5);
    b[0] = 'x';
    assert_int_equal(ud_tar_compression_detect_buf(b, 512), UD_TAR_COMP_NONE);
    memset(b, 'A', sizeof(b));
    assert_int_equal(ud_tar_compression_detect_buf(b, 512), UD_TAR_COMP_UNKNOWN);
    assert_string_equal(ud_tar_compression_name(UD_TAR_COMP_ZSTD), "zstd");
    assert_string_equal(ud_tar_compression_name(UD_TAR_COMP_UNKNOWN), "unknown");
}

static void
test_detect_files(void **state)
{
    struct tb_env *e = *state;
    struct ud_error err;
    enum ud_tar_compression c;
    const enum tb_filter fl[] = {TB_NONE, TB_GZIP, TB_ZSTD};
    const enum ud_tar_compression want[] = {UD_TAR_COMP_NONE, UD_TAR_COMP_GZIP, UD_TAR_COMP_ZSTD};
    for (int i = 0; i < 3; i++) {
        struct tb *t = tb_new(e->layer, fl[i], TB_PAX);
        tb_file(t, "a", "a", 0644);
        tb_close(t);
        assert_int_equal(ud_tar_compression_detect(e->layer, &c, &err), 0);
        assert_int_equal(c, want[i]);
    }
    /* pre-POSIX (v7) headers have no magic: told by their checksum */
    struct archive *a = archive_write_new();
    archive_write_set_format_v7tar(a);
    assert_int_equal(archive_write_open_filename(a, e->layer), ARCHIVE_OK);
    struct archive_entry *en = archive_entry_new();
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_copy_pathname(en, "v7file");
    archive_entry_set_perm(en, 0644);
    archive_entry_set_size(en, 2);
    assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
    archive_write_data(a, "v7", 2);
    archive_entry_free(en);
    archive_write_close(a);
    archive_write_free(a);
    assert_int_equal(ud_tar_compression_detect(e->layer, &c, &err), 0);
    assert_int_equal(c, UD_TAR_COMP_NONE);
    assert_int_equal(apply_flags(e, 0, NULL, &err), 0);
    assert_true(tb_exists(e, "v7file"));
    assert_int_equal(ud_tar_compression_detect("/nonexistent/x", &c, &err), UD_ENOENT);
}

/* A big file crosses many decoder chunks and ring slots. */
static void
big_case(struct tb_env *e, enum tb_filter f, unsigned flags)
{
    const size_t n = (6u << 20) + 12345;
    char *data = pseudo_random(n, 42 + f);
    struct tb *t = tb_new(e->layer, f, TB_PAX);
    for (int i = 0; i < 50; i++) {
        char name[32];
        snprintf(name, sizeof(name), "small/%d", i);
        tb_file(t, name, name, 0644);
    }
    tb_file(t, "big", data, 0644);
    tb_file(t, "after", "after", 0644);
    tb_close(t);
    struct ud_tar_stats st;
    struct ud_error err;
    assert_int_equal(apply_flags(e, flags, &st, &err), 0);
    size_t len;
    char path[400];
    snprintf(path, sizeof(path), "%s/big", e->root);
    char *got = slurp(path, &len);
    assert_int_equal(len, n);
    assert_memory_equal(got, data, n);
    assert_true(tb_exists(e, "after"));
    assert_true(tb_exists(e, "small/49"));
    assert_int_equal(st.entries, 52);
    assert_true(st.bytes > n);
    free(got);
    free(data);
}

static void
test_big_gzip_threaded(void **state)
{
    big_case(*state, TB_GZIP, 0);
}

static void
test_big_gzip_single(void **state)
{
    big_case(*state, TB_GZIP, UD_TAR_F_SINGLE_THREAD);
}

static void
test_big_zstd_threaded(void **state)
{
    big_case(*state, TB_ZSTD, 0);
}

static void
test_big_zstd_single(void **state)
{
    big_case(*state, TB_ZSTD, UD_TAR_F_SINGLE_THREAD);
}

static void
test_big_plain(void **state)
{
    big_case(*state, TB_NONE, 0);
}

/* gzip members concatenated (as `cat a.gz b.gz`), then trailing zeros. */
static void
test_gzip_multimember(void **state)
{
    struct tb_env *e = *state;
    char plain[400], part[400];
    snprintf(plain, sizeof(plain), "%s/plain.tar", e->dir);
    struct tb *t = tb_new(plain, TB_NONE, TB_PAX);
    tb_file(t, "one", "1", 0644);
    tb_file(t, "two", "2", 0644);
    tb_close(t);
    size_t n;
    char *tar = slurp(plain, &n);
    size_t cut = 700;
    snprintf(part, sizeof(part), "%s/part.gz", e->dir);
    compress_bytes(part, tar, cut, TB_GZIP);
    size_t n1;
    char *g1 = slurp(part, &n1);
    compress_bytes(part, tar + cut, n - cut, TB_GZIP);
    size_t n2;
    char *g2 = slurp(part, &n2);
    char *all = calloc(1, n1 + n2 + 100);
    memcpy(all, g1, n1);
    memcpy(all + n1, g2, n2);
    spew(e->layer, all, n1 + n2 + 100);
    struct ud_error err;
    struct ud_tar_stats st;
    assert_int_equal(apply_flags(e, 0, &st, &err), 0);
    assert_true(tb_exists(e, "one"));
    assert_true(tb_exists(e, "two"));
    assert_int_equal(ud_tar_layer_check(e->layer, &st, &err), 0);
    assert_int_equal(st.entries, 2);
    free(tar);
    free(g1);
    free(g2);
    free(all);
}

static void
make_layer(struct tb_env *e, enum tb_filter f)
{
    char *data = pseudo_random(300000, 7);
    struct tb *t = tb_new(e->layer, f, TB_PAX);
    tb_file(t, "a", data, 0644);
    tb_file(t, "b", data, 0644);
    tb_close(t);
    free(data);
}

static void
expect_parse_error(struct tb_env *e, const char *needle)
{
    struct ud_error err = {0};
    struct ud_tar_stats st = {99, 99, 99, 99};
    assert_int_equal(apply_flags(e, 0, &st, &err), UD_EPARSE);
    if (needle && !strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
    assert_int_equal(st.entries, 99); /* untouched on failure */
    assert_null(strchr(err.msg, '\n'));
    assert_int_equal(ud_tar_layer_check(e->layer, NULL, &err), UD_EPARSE);
    assert_int_equal(apply_flags(e, UD_TAR_F_SINGLE_THREAD, NULL, &err), UD_EPARSE);
}

static void
test_truncated(void **state)
{
    struct tb_env *e = *state;
    const enum tb_filter fl[] = {TB_GZIP, TB_ZSTD, TB_NONE};
    const char *needle[] = {"gzip", "zstd", NULL};
    for (int i = 0; i < 3; i++) {
        make_layer(e, fl[i]);
        struct stat st;
        assert_int_equal(stat(e->layer, &st), 0);
        assert_int_equal(truncate(e->layer, st.st_size / 2), 0);
        expect_parse_error(e, needle[i]);
        /* cut just before the end: the last bytes (checksums) missing */
        make_layer(e, fl[i]);
        assert_int_equal(truncate(e->layer, st.st_size - (fl[i] == TB_NONE ? 1500 : 3)), 0);
        expect_parse_error(e, needle[i]);
    }
}

static void
test_corrupt_and_garbage(void **state)
{
    struct tb_env *e = *state;
    make_layer(e, TB_GZIP);
    size_t n;
    char *b = slurp(e->layer, &n);
    b[n - 6] ^= 0x55; /* the CRC32 in the gzip trailer */
    spew(e->layer, b, n);
    expect_parse_error(e, "gzip");
    memset(b, 'Z', n);
    spew(e->layer, b, n);
    expect_parse_error(e, "not a tar");
    /* gzip of something that is not a tar */
    compress_bytes(e->layer, b, n, TB_GZIP);
    expect_parse_error(e, NULL);
    b[0] = 0x28; /* zstd magic, then garbage */
    b[1] = (char)0xb5;
    b[2] = 0x2f;
    b[3] = (char)0xfd;
    spew(e->layer, b, 4096);
    expect_parse_error(e, "zstd");
    free(b);
}

static void
test_empty_layers(void **state)
{
    struct tb_env *e = *state;
    struct ud_error err;
    struct ud_tar_stats st;
    spew(e->layer, "", 0);
    assert_int_equal(apply_flags(e, 0, &st, &err), 0);
    assert_int_equal(st.entries, 0);
    struct tb *t = tb_new(e->layer, TB_GZIP, TB_PAX);
    tb_close(t);
    assert_int_equal(apply_flags(e, 0, &st, &err), 0);
    assert_int_equal(st.entries, 0);
    assert_int_equal(ud_tar_layer_check(e->layer, &st, &err), 0);
}

static void
test_other_filters(void **state)
{
    struct tb_env *e = *state;
    struct ud_error err;
    int (*add[2])(struct archive *) = {archive_write_add_filter_bzip2, archive_write_add_filter_xz};
    const char *names[2] = {"bz", "xz"};
    for (int i = 0; i < 2; i++) {
        struct archive *a = archive_write_new();
        if (add[i](a) != ARCHIVE_OK) {
            archive_write_free(a);
            continue; /* libarchive built without it */
        }
        archive_write_set_format_pax_restricted(a);
        assert_int_equal(archive_write_open_filename(a, e->layer), ARCHIVE_OK);
        struct archive_entry *en = archive_entry_new();
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_copy_pathname(en, names[i]);
        archive_entry_set_perm(en, 0644);
        archive_entry_set_size(en, 2);
        assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
        archive_write_data(a, "ok", 2);
        archive_entry_free(en);
        archive_write_close(a);
        archive_write_free(a);
        assert_int_equal(apply_flags(e, 0, NULL, &err), 0);
        assert_true(tb_exists(e, names[i]));
    }
}

static void
test_check(void **state)
{
    struct tb_env *e = *state;
    struct ud_error err;
    struct ud_tar_stats st;
    make_layer(e, TB_ZSTD);
    assert_int_equal(ud_tar_layer_check(e->layer, &st, &err), 0);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.bytes, 600000);
    assert_false(tb_exists(e, "a")); /* check writes nothing */
    assert_int_equal(ud_tar_layer_check("/nonexistent/layer", NULL, &err), UD_ENOENT);
}

static void
test_missing_root(void **state)
{
    struct tb_env *e = *state;
    struct ud_error err;
    make_layer(e, TB_NONE);
    assert_int_equal(ud_tar_layer_apply("/nonexistent/root", e->layer, NULL, NULL, &err),
                     UD_ENOENT);
    assert_int_equal(ud_tar_layer_apply(e->root, "/nonexistent/layer", NULL, NULL, &err),
                     UD_ENOENT);
}

static void
test_warning_cap(void **state)
{
    struct tb_env *e = *state;
    struct tb *t = tb_new(e->layer, TB_GZIP, TB_PAX);
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof(name), "lib/dev%d", i);
        tb_dev(t, name, i % 2);
    }
    tb_close(t);
    struct tb_warns w = {0};
    struct ud_tar_options o = {tb_warn_cb, &w, 0};
    struct ud_tar_stats st;
    struct ud_error err;
    assert_int_equal(ud_tar_layer_apply(e->root, e->layer, &o, &st, &err), 0);
    assert_int_equal(w.n, UD_TAR_WARN_MAX + 1);
    assert_non_null(strstr(w.last, "suppressed"));
    assert_int_equal(st.warnings, 300);
    assert_int_equal(st.skipped, 300);
}

/* Disk full, simulated with RLIMIT_FSIZE in a child (SIGXFSZ ignored, so
 * write fails with EFBIG): UD_ENOSPC and no half-written file left. */
static void
test_enospc(void **state)
{
    struct tb_env *e = *state;
    char *data = pseudo_random(1 << 20, 3);
    struct tb *t = tb_new(e->layer, TB_GZIP, TB_PAX);
    tb_file(t, "first", "small", 0644);
    tb_file(t, "huge", data, 0644);
    tb_file(t, "never", "x", 0644);
    tb_close(t);
    free(data);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {256 << 10, 256 << 10};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(10);
        struct ud_error err;
        int rc = ud_tar_layer_apply(e->root, e->layer, NULL, NULL, &err);
        if (rc != UD_ENOSPC)
            _exit(11);
        if (!tb_exists(e, "first") || tb_exists(e, "huge") || tb_exists(e, "never"))
            _exit(12);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Every allocation failure unwinds cleanly with UD_ENOMEM. */
static void
test_alloc_failures(void **state)
{
    struct tb_env *e = *state;
    struct tb *t = tb_new(e->layer, TB_GZIP, TB_PAX);
    tb_file(t, ".wh.lower", "", 0644);
    tb_dir(t, "d", 0755);
    tb_file(t, "d/f", "f", 0644);
    tb_hardlink(t, "d/h", "d/f");
    tb_file(t, "d/.wh..wh..opq", "", 0644);
    tb_close(t);
    struct ud_error err;
    int rc = -1;
    long n;
    for (n = 1; n < 1000 && rc != 0; n++) {
        assert_int_equal(ud_rm_rf(e->root, &err), 0);
        assert_int_equal(mkdir(e->root, 0755), 0);
        char lower[400];
        snprintf(lower, sizeof(lower), "%s/lower", e->root);
        spew(lower, "l", 1);
        struct ud_tar_options o = {NULL, NULL, n % 2 ? 0 : UD_TAR_F_SINGLE_THREAD};
        ud_alloc_fail_after(n);
        rc = ud_tar_layer_apply(e->root, e->layer, &o, NULL, &err);
        ud_alloc_fail_after(0);
        if (rc != 0)
            assert_int_equal(rc, UD_ENOMEM);
    }
    assert_int_equal(rc, 0);
    assert_true(n > 3);
    assert_false(tb_exists(e, "lower"));
    assert_true(tb_exists(e, "d/h"));
    for (n = 1; n < 1000; n++) {
        ud_alloc_fail_after(n);
        rc = ud_tar_layer_check(e->layer, NULL, &err);
        ud_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, UD_ENOMEM);
    }
    assert_int_equal(rc, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_buf),
        T(test_detect_files),
        T(test_big_gzip_threaded),
        T(test_big_gzip_single),
        T(test_big_zstd_threaded),
        T(test_big_zstd_single),
        T(test_big_plain),
        T(test_gzip_multimember),
        T(test_truncated),
        T(test_corrupt_and_garbage),
        T(test_empty_layers),
        T(test_other_filters),
        T(test_check),
        T(test_missing_root),
        T(test_warning_cap),
        T(test_enospc),
        T(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
