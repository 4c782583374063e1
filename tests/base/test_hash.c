// SPDX-License-Identifier: Apache-2.0
/* Digests (known-answer tests) and random identifiers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ud/base.h"

static void
test_sha256_known(void **state)
{
    char hex[65];
    assert_int_equal(ud_sha256_hex("abc", 3, hex, NULL), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(ud_sha256_hex("", 0, hex, NULL), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_sha512_file(void **state)
{
    char path[] = "/tmp/ud-hash-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    close(fd);
    char hex[UD_HASH_HEX_MAX];
    assert_int_equal(ud_hash_file(path, UD_HASH_SHA512, hex, NULL), 0);
    assert_string_equal(hex, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                             "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    unlink(path);
    struct ud_error err;
    assert_int_equal(ud_hash_file(path, UD_HASH_SHA256, hex, &err), UD_ENOENT);
    int algo;
    assert_int_equal(ud_hash_algo_from_name("md5", &algo, &err), UD_EUNSUPP);
    assert_int_equal(ud_hash_algo_from_name("sha512", &algo, &err), 0);
    assert_int_equal(algo, UD_HASH_SHA512);
}

/* Every failing allocation gives UD_ENOMEM and no output; then the digest. */
static void
test_hash_file_alloc_failure(void **state)
{
    char path[] = "/tmp/ud-hash-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    close(fd);
    for (long n = 1;; n++) {
        char hex[UD_HASH_HEX_MAX] = "";
        struct ud_error err = {0};
        ud_alloc_fail_after(n);
        int rc = ud_hash_file(path, UD_HASH_SHA256, hex, &err);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_string_equal(hex,
                                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
            break;
        }
        assert_int_equal(rc, UD_ENOMEM);
        assert_string_equal(hex, "");
        assert_true(n < 10);
    }
    unlink(path);
}

static void
test_uuid(void **state)
{
    char a[37], b[37];
    assert_int_equal(ud_uuid_generate(a, NULL), 0);
    assert_int_equal(ud_uuid_generate(b, NULL), 0);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(a[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", a[i]));
    }
    assert_int_equal(a[14], '4');
    char hex[65];
    assert_int_equal(ud_random_hex(hex, 63, NULL), 0);
    assert_int_equal(strlen(hex), 63);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known),
        cmocka_unit_test(test_sha512_file),
        cmocka_unit_test(test_hash_file_alloc_failure),
        cmocka_unit_test(test_uuid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
