// SPDX-License-Identifier: Apache-2.0
/* Libraries opened on first use: a present library and symbol, a missing
 * symbol, a missing library (remembered, with dlerror's reason), the
 * fallback to a second soname, and many threads racing for the first load. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ud/base.h"

/* libm is certainly installed (it is part of the C library package) and
 * this test does not link it, so the first lookup really opens it. */
static const char *const libm_names[] = {"libm.so.6", NULL};

static void
test_symbol_found(void **state)
{
    static struct ud_lazylib lib = {.sonames = libm_names};
    assert_null(ud_lazylib_error(&lib));
    double (*fn)(double) = (double (*)(double))ud_lazylib_sym(&lib, "sqrt");
    assert_non_null(fn);
    assert_true(fn(16.0) == 4.0);
    assert_int_equal(ud_lazylib_load(&lib), 0);
    assert_null(ud_lazylib_error(&lib));
}

static void
test_symbol_missing(void **state)
{
    static struct ud_lazylib lib = {.sonames = libm_names};
    assert_null(ud_lazylib_sym(&lib, "ud_no_such_function"));
    const char *why = ud_lazylib_error(&lib);
    assert_non_null(why);
    assert_non_null(strstr(why, "ud_no_such_function"));
    /* The library itself stays usable. */
    assert_int_equal(ud_lazylib_load(&lib), 0);
    assert_non_null(ud_lazylib_sym(&lib, "cos"));
}

static void
test_library_missing(void **state)
{
    static const char *const names[] = {"libud-does-not-exist.so.9", NULL};
    static struct ud_lazylib lib = {.sonames = names};
    assert_null(ud_lazylib_sym(&lib, "sqrt"));
    const char *why = ud_lazylib_error(&lib);
    assert_non_null(why);
    assert_non_null(strstr(why, "libud-does-not-exist.so.9"));
    /* Remembered: the same answer without trying again. */
    assert_int_equal(ud_lazylib_load(&lib), -1);
    assert_null(ud_lazylib_sym(&lib, "cos"));
    assert_non_null(strstr(ud_lazylib_error(&lib), "libud-does-not-exist.so.9"));
}

static void
test_second_name(void **state)
{
    static const char *const names[] = {"libud-does-not-exist.so.9", "libm.so.6", NULL};
    static struct ud_lazylib lib = {.sonames = names};
    assert_int_equal(ud_lazylib_load(&lib), 0);
    assert_non_null(ud_lazylib_sym(&lib, "sqrt"));
    assert_null(ud_lazylib_error(&lib));
}

static void
test_no_names(void **state)
{
    static const char *const names[] = {NULL};
    static struct ud_lazylib lib = {.sonames = names};
    assert_int_equal(ud_lazylib_load(&lib), -1);
    assert_non_null(ud_lazylib_error(&lib));
}

#define NTHREADS 8
static void
test_cached_slot(void **state)
{
    static struct ud_lazylib lib = {.sonames = libm_names};
    static void *slot;
    void *p = ud_lazylib_sym_cached(&lib, &slot, "cos");
    assert_non_null(p);
    assert_ptr_equal(slot, p);
    assert_ptr_equal(ud_lazylib_sym_cached(&lib, &slot, "cos"), p);
    static void *missing;
    assert_null(ud_lazylib_sym_cached(&lib, &missing, "ud_no_such_symbol"));
    assert_null(missing);
}

static struct ud_lazylib race_lib = {.sonames = libm_names};

static void *
race_one(void *arg)
{
    (void)arg;
    return ud_lazylib_sym(&race_lib, "floor");
}

static void
test_threads(void **state)
{
    pthread_t t[NTHREADS];
    void *got[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race_one, NULL), 0);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(t[i], &got[i]), 0);
    for (int i = 0; i < NTHREADS; i++) {
        assert_non_null(got[i]);
        assert_ptr_equal(got[i], got[0]);
    }
    assert_non_null(race_lib.handle);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symbol_found),    cmocka_unit_test(test_symbol_missing),
        cmocka_unit_test(test_library_missing), cmocka_unit_test(test_second_name),
        cmocka_unit_test(test_no_names),        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_cached_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
