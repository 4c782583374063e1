// SPDX-License-Identifier: Apache-2.0
/* Error reports and the log sink. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ud/base.h"

static void
test_set_and_prefix(void **state)
{
    struct ud_error err;
    ud_error_clear(&err);
    assert_int_equal(ud_error_set(&err, UD_ENOENT, 0, "no %s", "thing"), UD_ENOENT);
    assert_string_equal(err.msg, "no thing");
    ud_error_prefix(&err, "pull %s: ", "busybox");
    assert_string_equal(err.msg, "pull busybox: no thing");
    assert_int_equal(err.code, UD_ENOENT);
}

static void
test_errno_suffix(void **state)
{
    struct ud_error err;
    ud_error_set(&err, UD_EIO, ENOENT, "open %s", "/x");
    assert_string_equal(err.msg, "open /x: No such file or directory");
    assert_int_equal(err.sys_errno, ENOENT);
}

static void
test_null_error_is_fine(void **state)
{
    assert_int_equal(ud_error_set(NULL, UD_EINVAL, 0, "x"), UD_EINVAL);
    ud_error_prefix(NULL, "y");
    ud_error_clear(NULL);
}

static void
test_truncation(void **state)
{
    struct ud_error err;
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ud_error_set(&err, UD_EINVAL, 0, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    ud_error_prefix(&err, "p: ");
    assert_true(strncmp(err.msg, "p: aaa", 6) == 0);
}

static void
test_errno_mapping(void **state)
{
    assert_int_equal(ud_error_from_errno(ENOSPC), UD_ENOSPC);
    assert_int_equal(ud_error_from_errno(EFBIG), UD_ENOSPC);
    assert_int_equal(ud_error_from_errno(ENOENT), UD_ENOENT);
    assert_int_equal(ud_error_from_errno(EACCES), UD_EPERM);
    assert_string_equal(ud_error_name(UD_EDIGEST), "UD_EDIGEST");
    assert_string_equal(ud_error_name(-999), "UD_E?");
}

static char last_line[256];
static int last_level = -1;

static void
sink(int level, const char *line, void *ctx)
{
    last_level = level;
    strncpy(last_line, line, sizeof last_line - 1);
    (*(int *)ctx)++;
}

static void
test_log_levels(void **state)
{
    int calls = 0;
    ud_log_set_sink(sink, &calls);
    ud_log_set_level(UD_LOG_INFO);
    ud_log(UD_LOG_DEBUG, "hidden %d", 1);
    assert_int_equal(calls, 0);
    ud_log(UD_LOG_WARN, "shown %d", 2);
    assert_int_equal(calls, 1);
    assert_string_equal(last_line, "shown 2");
    assert_int_equal(last_level, UD_LOG_WARN);
    ud_log_set_level(UD_LOG_DEBUG);
    assert_true(ud_log_enabled(UD_LOG_DEBUG));
    ud_log_set_sink(NULL, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_prefix),     cmocka_unit_test(test_errno_suffix),
        cmocka_unit_test(test_null_error_is_fine), cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_errno_mapping),      cmocka_unit_test(test_log_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
