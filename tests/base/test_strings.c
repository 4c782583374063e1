// SPDX-License-Identifier: Apache-2.0
/* Strings, string vectors, capped buffers and the allocation-failure hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ud/base.h"

static void
test_prefix_suffix(void **state)
{
    assert_true(ud_str_has_prefix("sha256:abc", "sha256:"));
    assert_false(ud_str_has_prefix("sha2", "sha256:"));
    assert_true(ud_str_has_suffix("a.layer", ".layer"));
    assert_false(ud_str_has_suffix("r", ".layer"));
}

static void
test_strv(void **state)
{
    cleanup_strv char **v = NULL;
    assert_int_equal(ud_strv_push(&v, "b", NULL), 0);
    assert_int_equal(ud_strv_push(&v, "a", NULL), 0);
    assert_int_equal(ud_strv_len(v), 2);
    ud_strv_sort(v);
    assert_string_equal(v[0], "a");
    assert_string_equal(v[1], "b");
    assert_null(v[2]);
}

static void
test_buf_cap(void **state)
{
    struct ud_buf b;
    struct ud_error err;
    ud_buf_init(&b, 8);
    assert_int_equal(ud_buf_append(&b, "12345", 5, &err), 0);
    assert_int_equal(ud_buf_appendf(&b, &err, "%d", 678), 0);
    assert_string_equal(b.data, "12345678");
    assert_int_equal(ud_buf_append(&b, "9", 1, &err), UD_ETOOBIG);
    assert_int_equal(b.len, 8);
    char *s = ud_buf_steal(&b);
    assert_string_equal(s, "12345678");
    free(s);
    assert_null(b.data);
    s = ud_buf_steal(&b);
    assert_string_equal(s, "");
    free(s);
}

static void
test_alloc_failure_hook(void **state)
{
    ud_alloc_fail_after(2);
    void *a = ud_malloc(4);
    assert_non_null(a);
    assert_null(ud_malloc(4));
    assert_null(ud_strdup("x"));
    ud_alloc_fail_after(0);
    char *s = ud_asprintf("%s-%d", "a", 1);
    assert_string_equal(s, "a-1");
    free(s);
    free(a);
}

static void
test_strv_push_under_failure(void **state)
{
    for (long n = 1;; n++) {
        char **v = NULL;
        struct ud_error err;
        ud_alloc_fail_after(n);
        int rc = ud_strv_push(&v, "one", &err);
        if (rc == 0)
            rc = ud_strv_push(&v, "two", &err);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_int_equal(ud_strv_len(v), 2);
            ud_strv_free(v);
            break;
        }
        assert_int_equal(rc, UD_ENOMEM);
        ud_strv_free(v);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_suffix),
        cmocka_unit_test(test_strv),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_alloc_failure_hook),
        cmocka_unit_test(test_strv_push_under_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
