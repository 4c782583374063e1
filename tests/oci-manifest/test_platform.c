/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Platforms: --platform parsing with Docker aliases, uname machine names,
 * the host platform, formatting and matching.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/utsname.h>

#include <cmocka.h>

#include "ud/oci-manifest.h"

static void
expect_parse(const char *in, const char *want)
{
    struct ud_platform p;
    struct ud_error err = {0};
    char buf[UD_OCI_PLATFORM_STR_MAX];

    if (ud_oci_platform_parse(in, &p, &err) != 0)
        fail_msg("%s: %s", in, err.msg);
    ud_oci_platform_format(&p, buf);
    if (strcmp(buf, want) != 0)
        fail_msg("%s gave %s, want %s", in, buf, want);
}

static void
test_parse(void **state)
{
    (void)state;
    expect_parse("linux/amd64", "linux/amd64");
    expect_parse("LINUX/AMD64", "linux/amd64");
    expect_parse("linux/arm64/v8", "linux/arm64/v8");
    expect_parse("linux/arm64", "linux/arm64");
    expect_parse("linux/x86_64", "linux/amd64");
    expect_parse("linux/x86-64", "linux/amd64");
    expect_parse("linux/aarch64", "linux/arm64");
    expect_parse("linux/armhf", "linux/arm/v7");
    expect_parse("linux/armel", "linux/arm/v6");
    expect_parse("linux/armhf/v6", "linux/arm/v6");
    expect_parse("linux/armv7l", "linux/arm/v7");
    expect_parse("linux/arm/7", "linux/arm/v7");
    expect_parse("linux/arm/V7", "linux/arm/v7");
    expect_parse("linux/i386", "linux/386");
    expect_parse("linux/i686", "linux/386");
    expect_parse("linux/x86", "linux/386");
    expect_parse("linux/ppc64le", "linux/ppc64le");
    expect_parse("linux/s390x", "linux/s390x");
    expect_parse("linux/riscv64", "linux/riscv64");
    expect_parse("amd64", "linux/amd64");
    expect_parse("aarch64", "linux/arm64");
    expect_parse("windows/amd64", "windows/amd64");
}

static void
test_parse_bad(void **state)
{
    const char *bad[] = {"",
                         "/",
                         "linux/",
                         "/amd64",
                         "linux//v7",
                         "a/b/c/d",
                         "linux/amd 64",
                         "linux/amd64/",
                         "linux/\xc3\xa4",
                         "linux/a:b",
                         "linux/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ud_platform p;
        struct ud_error err = {0};
        memset(&p, 0x5a, sizeof(p));
        if (ud_oci_platform_parse(bad[i], &p, &err) != UD_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(err.msg[0] != '\0');
        assert_int_equal((unsigned char)p.os[0], 0x5a);
    }
    struct ud_platform p;
    assert_int_equal(ud_oci_platform_parse(NULL, &p, NULL), UD_EINVAL);
}

static void
expect_machine(const char *m, const char *want)
{
    struct ud_platform p;
    char buf[UD_OCI_PLATFORM_STR_MAX];
    assert_int_equal(ud_oci_platform_from_machine(m, &p, NULL), 0);
    ud_oci_platform_format(&p, buf);
    if (strcmp(buf, want) != 0)
        fail_msg("%s gave %s, want %s", m, buf, want);
}

static void
test_machine(void **state)
{
    struct ud_platform p;
    (void)state;
    expect_machine("x86_64", "linux/amd64");
    expect_machine("aarch64", "linux/arm64");
    expect_machine("armv7l", "linux/arm/v7");
    expect_machine("armv6l", "linux/arm/v6");
    expect_machine("armv5tel", "linux/arm/v5");
    expect_machine("armv8l", "linux/arm/v7");
    expect_machine("i686", "linux/386");
    expect_machine("i586", "linux/386");
    expect_machine("ppc64le", "linux/ppc64le");
    expect_machine("s390x", "linux/s390x");
    expect_machine("riscv64", "linux/riscv64");
    expect_machine("mips64el", "linux/mips64le");
    expect_machine("loongarch64", "linux/loong64");
    expect_machine("SomeNewArch", "linux/somenewarch");
    assert_int_equal(ud_oci_platform_from_machine("", &p, NULL), UD_EINVAL);
    assert_int_equal(ud_oci_platform_from_machine(NULL, &p, NULL), UD_EINVAL);
    assert_int_equal(ud_oci_platform_from_machine("x y", &p, NULL), UD_EINVAL);
}

static void
test_host(void **state)
{
    struct ud_platform host, expect;
    struct utsname u;
    (void)state;
    assert_int_equal(ud_oci_platform_host(&host, NULL), 0);
    assert_int_equal(uname(&u), 0);
    assert_int_equal(ud_oci_platform_from_machine(u.machine, &expect, NULL), 0);
    assert_string_equal(host.os, "linux");
    assert_string_equal(host.arch, expect.arch);
    assert_string_equal(host.variant, expect.variant);
    /* Docker naming, never the kernel's. */
    assert_string_not_equal(host.arch, "x86_64");
    assert_string_not_equal(host.arch, "aarch64");
    if (strcmp(u.machine, "x86_64") == 0)
        assert_string_equal(host.arch, "amd64");
}

static void
test_matches(void **state)
{
    struct ud_platform a, b;
    (void)state;
    assert_int_equal(ud_oci_platform_parse("linux/amd64", &a, NULL), 0);
    assert_int_equal(ud_oci_platform_parse("linux/x86_64", &b, NULL), 0);
    assert_true(ud_oci_platform_matches(&a, &b));
    struct ud_platform raw = {.os = "Linux", .arch = "X86_64"};
    assert_true(ud_oci_platform_matches(&raw, &a));
    struct ud_platform unk = {.os = "unknown", .arch = "unknown"};
    struct ud_platform want_unk = {.os = "unknown", .arch = "unknown"};
    assert_false(ud_oci_platform_matches(&unk, &want_unk));
    assert_int_equal(ud_oci_platform_parse("linux/arm/v7", &a, NULL), 0);
    struct ud_platform arm = {.os = "linux", .arch = "arm"};
    struct ud_platform arm6 = {.os = "linux", .arch = "arm", .variant = "v6"};
    assert_true(ud_oci_platform_matches(&arm, &a));    /* variant-less fallback */
    assert_false(ud_oci_platform_matches(&arm6, &a));  /* other variant */
    assert_true(ud_oci_platform_matches(&arm6, &arm)); /* no variant requested */
    assert_int_equal(ud_oci_platform_parse("linux/arm64", &a, NULL), 0);
    struct ud_platform a64v8 = {.os = "linux", .arch = "arm64", .variant = "v8"};
    assert_true(ud_oci_platform_matches(&a64v8, &a));
    assert_int_equal(ud_oci_platform_parse("linux/amd64", &b, NULL), 0);
    assert_false(ud_oci_platform_matches(&a64v8, &b));
    struct ud_platform win = {.os = "windows", .arch = "amd64"};
    assert_false(ud_oci_platform_matches(&win, &b));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),   cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_machine), cmocka_unit_test(test_host),
        cmocka_unit_test(test_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
