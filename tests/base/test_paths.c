// SPDX-License-Identifier: Apache-2.0
/* Lexical path helpers: join, absolute, relative link targets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ud/base.h"

static void
check_join(const char *a, const char *b, const char *want)
{
    char *s = ud_path_join(a, b);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
}

static void
test_join(void **state)
{
    check_join("/a", "b", "/a/b");
    check_join("/a/", "/b", "/a/b");
    check_join("/", "b", "/b");
    check_join("/a", "", "/a");
    check_join("a//", "b/c", "a/b/c");
}

static void
check_rel(const char *from, const char *to, const char *want)
{
    char *s = NULL;
    assert_int_equal(ud_path_relative(from, to, &s, NULL), 0);
    assert_string_equal(s, want);
    free(s);
}

static void
test_relative(void **state)
{
    /* The repository's layer links: depth follows the image name. */
    check_rel("/h/.udocker/repos/busybox/latest", "/h/.udocker/layers/sha256:ab",
              "../../../layers/sha256:ab");
    check_rel("/h/.udocker/repos/quay.io/org/img/tag", "/h/.udocker/layers/sha256:ab",
              "../../../../../layers/sha256:ab");
    check_rel("/a/b", "/a/b/c", "c");
    check_rel("/a/b", "/a/b", ".");
    check_rel("/a/b/c", "/a", "../..");
    check_rel("/", "/x/y", "x/y");
    check_rel("/ab", "/a/x", "../a/x");
    check_rel("/a/./b//c/../", "/a/x", "../x");
    assert_int_equal(ud_path_relative("a", "/b", &(char *){NULL}, NULL), UD_EINVAL);
}

static void
test_absolute(void **state)
{
    char *s = NULL;
    assert_int_equal(ud_path_absolute("/a/./b/../c//d/", &s, NULL), 0);
    assert_string_equal(s, "/a/c/d");
    free(s);
    assert_int_equal(ud_path_absolute("/../..", &s, NULL), 0);
    assert_string_equal(s, "/");
    free(s);
    assert_int_equal(ud_path_absolute("rel", &s, NULL), 0);
    assert_true(s[0] == '/');
    assert_true(ud_str_has_suffix(s, "/rel"));
    free(s);
}

static void
test_relative_under_alloc_failure(void **state)
{
    for (long n = 1;; n++) {
        char *s = NULL;
        ud_alloc_fail_after(n);
        int rc = ud_path_relative("/a/b/c", "/a/x/y", &s, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_string_equal(s, "../../x/y");
            free(s);
            break;
        }
        assert_int_equal(rc, UD_ENOMEM);
        assert_null(s);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_relative),
        cmocka_unit_test(test_absolute),
        cmocka_unit_test(test_relative_under_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
