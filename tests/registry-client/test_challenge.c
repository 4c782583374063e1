/* SPDX-License-Identifier: Apache-2.0 */
/*
 * WWW-Authenticate parser: real header shapes from Docker Hub, ghcr, quay,
 * ECR, GitLab, plus the cases upstream mis-parses (spaces after commas,
 * commas inside quoted scopes, escapes, mixed case, several challenges)
 * and malformed input. Allocation failures must fail cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <ud/registry-client.h>

static void
parse_ok(const char *hdr, struct ud_reg_challenges *cs)
{
    struct ud_error err = {0};
    int rc = ud_reg_www_authenticate_parse(hdr, cs, &err);
    if (rc != 0)
        print_error("parse failed: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

static void
test_docker_hub(void **state)
{
    struct ud_reg_challenges cs;
    parse_ok("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
             "scope=\"repository:library/busybox:pull\"",
             &cs);
    assert_int_equal(cs.n, 1);
    assert_string_equal(cs.items[0].scheme, "bearer");
    assert_int_equal(cs.items[0].nparams, 3);
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "realm"),
                        "https://auth.docker.io/token");
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "service"), "registry.docker.io");
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "scope"),
                        "repository:library/busybox:pull");
    assert_null(ud_reg_challenge_param(&cs.items[0], "error"));
    ud_reg_challenges_fini(&cs);
}

static void
test_spaces_and_commas_in_scope(void **state)
{
    struct ud_reg_challenges cs;
    parse_ok("Bearer realm=\"https://ghcr.io/token\", service=\"ghcr.io\" ,  "
             "scope=\"repository:org/a:pull,push repository:org/b:pull\"",
             &cs);
    assert_int_equal(cs.n, 1);
    assert_int_equal(cs.items[0].nparams, 3);
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "service"), "ghcr.io");
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "scope"),
                        "repository:org/a:pull,push repository:org/b:pull");
    ud_reg_challenges_fini(&cs);
}

static void
test_case_insensitive_and_tokens(void **state)
{
    struct ud_reg_challenges cs;
    parse_ok("BEARER REALM = \"https://quay.io/v2/auth\" , Service=quay.io,SCOPE=repo:x:pull", &cs);
    assert_string_equal(cs.items[0].scheme, "bearer");
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "realm"), "https://quay.io/v2/auth");
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "Service"), "quay.io");
    assert_string_equal(cs.items[0].params[2].key, "scope");
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "scope"), "repo:x:pull");
    ud_reg_challenges_fini(&cs);
}

static void
test_basic_ecr(void **state)
{
    struct ud_reg_challenges cs;
    parse_ok("Basic realm=\"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/\","
             "service=\"ecr.amazonaws.com\"",
             &cs);
    assert_int_equal(cs.n, 1);
    assert_string_equal(cs.items[0].scheme, "basic");
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "service"), "ecr.amazonaws.com");
    ud_reg_challenges_fini(&cs);
}

static void
test_several_challenges_and_escapes(void **state)
{
    struct ud_reg_challenges cs;
    parse_ok("Basic realm=\"a \\\"quoted\\\" realm, with comma\", "
             "Bearer realm=\"https://t.example/token\",service=\"s\", Negotiate",
             &cs);
    assert_int_equal(cs.n, 3);
    assert_string_equal(cs.items[0].scheme, "basic");
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "realm"),
                        "a \"quoted\" realm, with comma");
    assert_string_equal(cs.items[1].scheme, "bearer");
    assert_string_equal(ud_reg_challenge_param(&cs.items[1], "service"), "s");
    assert_string_equal(cs.items[2].scheme, "negotiate");
    assert_int_equal(cs.items[2].nparams, 0);
    ud_reg_challenges_fini(&cs);
}

static void
test_token68(void **state)
{
    struct ud_reg_challenges cs;
    parse_ok("Negotiate abc/def+12==, Basic realm=x", &cs);
    assert_int_equal(cs.n, 2);
    assert_string_equal(cs.items[0].token68, "abc/def+12==");
    assert_int_equal(cs.items[0].nparams, 0);
    assert_string_equal(ud_reg_challenge_param(&cs.items[1], "realm"), "x");
    ud_reg_challenges_fini(&cs);
}

static void
test_insufficient_scope(void **state)
{
    struct ud_reg_challenges cs;
    parse_ok("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
             "scope=\"repository:samalba/my-app:pull,push\",error=\"insufficient_scope\"",
             &cs);
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "error"), "insufficient_scope");
    assert_string_equal(ud_reg_challenge_param(&cs.items[0], "scope"),
                        "repository:samalba/my-app:pull,push");
    ud_reg_challenges_fini(&cs);
}

static void
test_malformed(void **state)
{
    static const char *bad[] = {
        "",
        "   ,  , ",
        "realm=\"no scheme\"",
        "Bearer realm=\"unterminated",
        "Bearer realm=\"x\" junk",
        "Bearer realm=\"x\",\x01",
        "Bea/rer realm=x",
        "Bearer=",
        "@",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ud_reg_challenges cs = {(void *)0x1, 7};
        struct ud_error err = {0};
        int rc = ud_reg_www_authenticate_parse(bad[i], &cs, &err);
        if (rc == 0)
            print_error("accepted: %s\n", bad[i]);
        assert_true(rc == UD_EPARSE);
        assert_true(err.msg[0] != '\0');
        assert_int_equal(cs.n, 7); /* untouched on failure */
    }
}

static void
test_too_long(void **state)
{
    char big[10000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "Bearer realm=", 13);
    struct ud_reg_challenges cs;
    assert_int_equal(ud_reg_www_authenticate_parse(big, &cs, NULL), UD_ETOOBIG);
    assert_int_equal(ud_reg_www_authenticate_parse(NULL, &cs, NULL), UD_EINVAL);
}

static void
test_alloc_failure(void **state)
{
    const char *hdr = "Basic realm=\"r\", Bearer realm=\"https://t/token\",service=\"s\","
                      "scope=\"repository:a/b:pull\", Negotiate abc==";
    for (long n = 1;; n++) {
        struct ud_reg_challenges cs;
        ud_alloc_fail_after(n);
        int rc = ud_reg_www_authenticate_parse(hdr, &cs, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_int_equal(cs.n, 3);
            ud_reg_challenges_fini(&cs);
            break;
        }
        assert_int_equal(rc, UD_ENOMEM);
        assert_true(n < 1000);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_hub),
        cmocka_unit_test(test_spaces_and_commas_in_scope),
        cmocka_unit_test(test_case_insensitive_and_tokens),
        cmocka_unit_test(test_basic_ecr),
        cmocka_unit_test(test_several_challenges_and_escapes),
        cmocka_unit_test(test_token68),
        cmocka_unit_test(test_insufficient_scope),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
