// SPDX-License-Identifier: Apache-2.0
/* Filesystem helpers: mkdir -p, atomic writes, reads with a cap, locks,
 * and recursive removal that must not follow symlinks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ud/base.h"

static int
setup_dir(void **state)
{
    char tmpl[] = "/tmp/ud-base-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    *state = strdup(d);
    return 0;
}

static int
teardown_dir(void **state)
{
    struct ud_error err;
    int rc = ud_rm_rf(*state, &err);
    free(*state);
    return rc;
}

static char *
sub(void **state, const char *name)
{
    char *p = ud_path_join(*state, name);
    assert_non_null(p);
    return p;
}

static void
test_mkdir_p(void **state)
{
    cleanup_free char *p = sub(state, "a/b/c/");
    assert_int_equal(ud_mkdir_p(p, 0755, NULL), 0);
    assert_true(ud_path_is_dir(p));
    assert_int_equal(ud_mkdir_p(p, 0755, NULL), 0);
    cleanup_free char *f = sub(state, "file");
    assert_int_equal(ud_file_write_atomic(f, "x", 1, 0644, NULL), 0);
    cleanup_free char *under = sub(state, "file/sub");
    struct ud_error err;
    assert_true(ud_mkdir_p(under, 0755, &err) < 0);
    /* An empty path is refused, not read past its end. */
    assert_int_equal(ud_mkdir_p("", 0755, &err), UD_EINVAL);
}

static void
test_atomic_write_and_read(void **state)
{
    cleanup_free char *f = sub(state, "TAG");
    struct ud_error err;
    assert_int_equal(ud_file_write_atomic(f, "/r/busybox:latest", 17, 0600, &err), 0);
    struct stat st;
    assert_int_equal(stat(f, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    cleanup_free char *data = NULL;
    size_t len = 0;
    assert_int_equal(ud_file_read(f, 100, &data, &len, &err), 0);
    assert_int_equal(len, 17);
    assert_string_equal(data, "/r/busybox:latest");
    char *small = NULL;
    assert_int_equal(ud_file_read(f, 4, &small, &len, &err), UD_ETOOBIG);
    assert_null(small);
    /* No temporary left beside the file. */
    cleanup_dir DIR *d = opendir(*state);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    assert_int_equal(n, 1);
    assert_int_equal(ud_file_read("/nonexistent/x", 4, &small, &len, &err), UD_ENOENT);
}

/* From an open fd: the rest of the file from the current offset, the fd
 * left open; the cap and the message name apply as for a path. */
static void
test_read_fd(void **state)
{
    cleanup_free char *f = sub(state, "conf");
    assert_int_equal(ud_file_write_atomic(f, "key=value\n", 10, 0600, NULL), 0);
    cleanup_close int fd = open(f, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 4, SEEK_SET), 4);
    cleanup_free char *data = NULL;
    size_t len = 0;
    struct ud_error err;
    assert_int_equal(ud_file_read_fd(fd, f, 100, &data, &len, &err), 0);
    assert_int_equal(len, 6);
    assert_string_equal(data, "value\n");
    assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
    char *small = NULL;
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(ud_file_read_fd(fd, "conf", 4, &small, &len, &err), UD_ETOOBIG);
    assert_null(small);
    assert_non_null(strstr(err.msg, "read conf: "));
}

static void
test_copy(void **state)
{
    cleanup_free char *a = sub(state, "a");
    cleanup_free char *b = sub(state, "b");
    assert_int_equal(ud_file_write_atomic(a, "hello", 5, 0644, NULL), 0);
    assert_int_equal(ud_file_copy(a, b, 0600, NULL), 0);
    cleanup_free char *data = NULL;
    assert_int_equal(ud_file_read(b, 100, &data, NULL, NULL), 0);
    assert_string_equal(data, "hello");
}

static void
test_rm_rf_keeps_symlink_targets(void **state)
{
    cleanup_free char *outside = sub(state, "outside");
    cleanup_free char *victim = sub(state, "outside/keep");
    cleanup_free char *tree = sub(state, "tree/x/y");
    cleanup_free char *top = sub(state, "tree");
    cleanup_free char *link = sub(state, "tree/x/link");
    cleanup_free char *ro = sub(state, "tree/x");
    assert_int_equal(ud_mkdir_p(outside, 0755, NULL), 0);
    assert_int_equal(ud_file_write_atomic(victim, "k", 1, 0644, NULL), 0);
    assert_int_equal(ud_mkdir_p(tree, 0755, NULL), 0);
    assert_int_equal(symlink(outside, link), 0);
    /* Read-only directories as image layers leave them. */
    assert_int_equal(chmod(tree, 0500), 0);
    assert_int_equal(chmod(ro, 0500), 0);
    struct ud_error err;
    assert_int_equal(ud_rm_rf(top, &err), 0);
    assert_false(ud_path_exists(top));
    assert_true(ud_path_is_regular(victim));
    assert_int_equal(ud_rm_rf(top, &err), 0); /* already gone is fine */
}

static void
test_rm_rf_refuses_short_paths(void **state)
{
    struct ud_error err;
    assert_int_equal(ud_rm_rf("/", &err), UD_EUNSAFE);
    assert_int_equal(ud_rm_rf("/tmp", &err), UD_EUNSAFE);
}

static void
test_lock(void **state)
{
    cleanup_free char *lk = sub(state, ".lock");
    int fd = -1;
    struct ud_error err;
    assert_int_equal(ud_lock_acquire(lk, true, false, &fd, &err), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd2 = -1;
        int rc = ud_lock_acquire(lk, true, false, &fd2, NULL);
        _exit(rc == UD_EBUSY ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ud_lock_release(fd);
    assert_int_equal(ud_lock_acquire(lk, false, false, &fd, &err), 0);
    ud_lock_release(fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mkdir_p, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_atomic_write_and_read, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_read_fd, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_copy, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_rm_rf_keeps_symlink_targets, setup_dir, teardown_dir),
        cmocka_unit_test(test_rm_rf_refuses_short_paths),
        cmocka_unit_test_setup_teardown(test_lock, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
