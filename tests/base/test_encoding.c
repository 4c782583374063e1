// SPDX-License-Identifier: Apache-2.0
/* base64 and the Python-compatible JSON pretty printer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ud/base.h"

static void
test_base64_round_trip(void **state)
{
    const char *cases[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"user:pass", "dXNlcjpwYXNz"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *enc = NULL;
        assert_int_equal(ud_base64_encode(cases[i][0], strlen(cases[i][0]), &enc, NULL), 0);
        assert_string_equal(enc, cases[i][1]);
        unsigned char *dec = NULL;
        size_t len = 0;
        assert_int_equal(ud_base64_decode(enc, &dec, &len, NULL), 0);
        assert_int_equal(len, strlen(cases[i][0]));
        assert_memory_equal(dec, cases[i][0], len);
        free(enc);
        free(dec);
    }
    unsigned char *dec = NULL;
    size_t len;
    assert_int_equal(ud_base64_decode("a$==", &dec, &len, NULL), UD_EPARSE);
    assert_int_equal(ud_base64_decode("a", &dec, &len, NULL), UD_EPARSE);
}

static void
test_json_pretty(void **state)
{
    const char *in = "{\"b\":[1,2,{}],\"a\":\"\xc3\xa9\",\"c\":{\"z\":null,\"y\":[]}}";
    char *out = NULL;
    assert_int_equal(ud_json_pretty(in, strlen(in), &out, NULL), 0);
    assert_string_equal(out, "{\n"
                             "    \"a\": \"\\u00e9\",\n"
                             "    \"b\": [\n"
                             "        1,\n"
                             "        2,\n"
                             "        {}\n"
                             "    ],\n"
                             "    \"c\": {\n"
                             "        \"y\": [],\n"
                             "        \"z\": null\n"
                             "    }\n"
                             "}");
    free(out);
    struct ud_error err;
    assert_int_equal(ud_json_pretty("{", 1, &out, &err), UD_EPARSE);
}

static void
test_json_pretty_alloc_failure(void **state)
{
    ud_json_use_ud_alloc();
    const char *in = "{\"k\":[\"v\",{\"x\":1}]}";
    for (long n = 1;; n++) {
        char *out = NULL;
        ud_alloc_fail_after(n);
        int rc = ud_json_pretty(in, strlen(in), &out, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            free(out);
            break;
        }
        assert_true(rc == UD_ENOMEM || rc == UD_EPARSE);
        assert_null(out);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_json_pretty),
        cmocka_unit_test(test_json_pretty_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
