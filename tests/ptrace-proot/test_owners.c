// SPDX-License-Identifier: Apache-2.0
/*
 * The ownership database of root emulation (owners.c) without a tracee:
 * ids as the container sees them, records kept across a close and a new
 * open (the log), a torn last line after a crash, compaction, the status
 * file rewrite, and every allocation failure of loading.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UD_BUILDING_PTRACE_PROOT 1
#include "../../modules/ptrace-proot/src/ptrace_int.h"

static char g_dir[64];

static int
setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/udown.XXXXXX");
    return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    (void)state;
    return ud_rm_rf(g_dir, NULL) < 0 ? -1 : 0;
}

static void
tracer_init(struct tracer *t, const struct ud_run_spec *spec)
{
    memset(t, 0, sizeof(*t));
    t->spec = spec;
    t->fake_ids = t->statmap = true;
    t->host_uid = 1001;
    t->host_gid = 1002;
    t->overflow_id = 65534;
}

static struct stat
file(uint64_t dev, uint64_t ino, uid_t uid, gid_t gid, mode_t mode)
{
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_dev = dev;
    st.st_ino = ino;
    st.st_uid = uid;
    st.st_gid = gid;
    st.st_mode = mode;
    st.st_nlink = 1;
    return st;
}

static void
test_mapping(void **state)
{
    (void)state;
    struct ud_run_spec spec = {.as_root = true};
    struct tracer t;
    tracer_init(&t, &spec);
    assert_int_equal(ud_owners_open(&t, NULL, NULL), 0);
    struct stat st = file(1, 10, 1001, 1002, S_IFREG | 0644);
    ud_owners_fix_stat(&t, &st);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(st.st_gid, 0);
    st = file(1, 11, 0, 5, S_IFREG | 0644);
    ud_owners_fix_stat(&t, &st);
    assert_int_equal(st.st_uid, 65534);
    assert_int_equal(st.st_gid, 65534);
    /* Asking for what the mapping shows anyway records nothing. */
    st = file(1, 10, 1001, 1002, S_IFREG | 0644);
    ud_owners_set(&t, &st, 0, 0, 0, 0);
    assert_int_equal(ud_owners_count(&t), 0);
    ud_owners_set(&t, &st, 7, OWN_UNSET, 0, 0);
    assert_int_equal(ud_owners_count(&t), 1);
    struct statx sx;
    memset(&sx, 0, sizeof(sx));
    sx.stx_mask = STATX_BASIC_STATS;
    sx.stx_dev_major = 0;
    sx.stx_dev_minor = 1;
    sx.stx_ino = 10;
    sx.stx_uid = 1001;
    sx.stx_gid = 1002;
    sx.stx_mode = S_IFREG | 0644;
    ud_owners_fix_statx(&t, &sx);
    assert_int_equal(sx.stx_uid, 7);
    assert_int_equal(sx.stx_gid, 0);
    ud_owners_drop(&t, 1, 10);
    assert_int_equal(ud_owners_count(&t), 0);
    ud_owners_close(&t);
}

static void
test_persist(void **state)
{
    (void)state;
    struct ud_run_spec spec = {.as_root = true};
    struct tracer t;
    tracer_init(&t, &spec);
    assert_int_equal(ud_owners_open(&t, g_dir, NULL), 0);
    struct stat a = file(3, 100, 1001, 1002, S_IFREG | 0644);
    struct stat b = file(3, 101, 1001, 1002, S_IFREG | 0600);
    ud_owners_set(&t, &a, 123, 45, 0, 0);
    ud_owners_set(&t, &b, OWN_UNSET, OWN_UNSET, S_IFCHR | 0600, (1 << 8) | 3);
    ud_owners_chmod(&t, &b, 0640); /* stays a device */
    ud_owners_close(&t);
    /* A crash in the middle of a line leaves a torn line: skipped. */
    char p[128];
    snprintf(p, sizeof(p), "%s/.ptrace-owners", g_dir);
    int fd = open(p, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "3 100 9", 7), 7);
    close(fd);
    tracer_init(&t, &spec);
    assert_int_equal(ud_owners_open(&t, g_dir, NULL), 0);
    assert_int_equal(ud_owners_count(&t), 2);
    struct stat st = a;
    ud_owners_fix_stat(&t, &st);
    assert_int_equal(st.st_uid, 123);
    assert_int_equal(st.st_gid, 45);
    st = b;
    ud_owners_fix_stat(&t, &st);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_rdev, (1 << 8) | 3);
    assert_int_equal(st.st_uid, 0);
    /* Many changes of one file: the log is compacted on close. */
    for (int i = 0; i < 200; i++)
        ud_owners_set(&t, &a, (uint32_t)(i + 1), OWN_UNSET, 0, 0);
    ud_owners_close(&t);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(ud_file_read(p, 1 << 20, &data, &len, NULL), 0);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    free(data);
    assert_int_equal(lines, 2);
    tracer_init(&t, &spec);
    assert_int_equal(ud_owners_open(&t, g_dir, NULL), 0);
    st = a;
    ud_owners_fix_stat(&t, &st);
    assert_int_equal(st.st_uid, 200);
    ud_owners_close(&t);
}

static void
test_status(void **state)
{
    (void)state;
    struct ud_run_spec spec = {.as_root = true};
    struct tracer t;
    char p[128];
    tracer_init(&t, &spec);
    t.host_uid = getuid();
    t.host_gid = getgid();
    assert_true(ud_owners_is_status("/proc/12/status"));
    assert_true(ud_owners_is_status("/proc/12/task/13/status"));
    assert_false(ud_owners_is_status("/proc/12/statm"));
    assert_false(ud_owners_is_status("/proc/self/status"));
    assert_false(ud_owners_is_status("/proc/12/task/x/status"));
    snprintf(p, sizeof(p), "/proc/%d/status", (int)getpid());
    int fd = ud_owners_status_fd(&t, p);
    assert_true(fd >= 0);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(ud_file_read_fd(fd, "status", 1 << 20, &data, &len, NULL), 0);
    close(fd);
    assert_non_null(strstr(data, "\nUid:\t0\t0\t0\t0\n"));
    assert_non_null(strstr(data, "\nGid:\t0\t0\t0\t0\n"));
    assert_non_null(strstr(data, "\nPid:\t"));
    free(data);
    assert_int_equal(ud_owners_status_fd(&t, "/proc/999999999/status"), -ENOENT);
}

/* Loading a log under every allocation failure: an error or a smaller
 * database, never a crash or a leak. */
static void
test_alloc_fail(void **state)
{
    (void)state;
    struct ud_run_spec spec = {.as_root = true};
    struct tracer t;
    char p[128];
    snprintf(p, sizeof(p), "%s/.ptrace-owners", g_dir);
    const char *log = "5 1 1 2 0 0\n5 2 3 4 0 0\n5 3 4294967295 9 8612 259\n";
    assert_int_equal(ud_file_write_atomic(p, log, strlen(log), 0600, NULL), 0);
    for (long n = 1;; n++) {
        tracer_init(&t, &spec);
        ud_alloc_fail_after(n);
        int r = ud_owners_open(&t, g_dir, NULL);
        size_t count = r == 0 ? ud_owners_count(&t) : 0;
        ud_alloc_fail_after(-1);
        ud_owners_close(&t);
        if (r == 0 && count == 3)
            break;
        assert_true(n < 1000);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_persist),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_alloc_fail),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
