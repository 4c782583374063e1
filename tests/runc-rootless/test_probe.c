/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The R engines' descriptions and probes: what each needs from the host
 * capability probe and the reasons given when it is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ud/runc-rootless.h"

/* Does a sysctl already explain a missing user namespace on this host? */
static bool
host_sysctl_forbids(void)
{
    static const char *const files[][2] = {
        {"/proc/sys/kernel/unprivileged_userns_clone", "0"},
        {"/proc/sys/user/max_user_namespaces", "0"},
        {"/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"},
    };
    for (size_t i = 0; i < 3; i++) {
        char *t = NULL;
        size_t n;
        if (ud_file_read(files[i][0], 64, &t, &n, NULL) == 0) {
            bool hit = strtol(t, NULL, 10) == strtol(files[i][1], NULL, 10);
            free(t);
            if (hit)
                return true;
        }
    }
    return false;
}

static void
test_descriptions(void **state)
{
    (void)state;
    const struct ud_engine *e[] = {&ud_engine_r1, &ud_engine_r2, &ud_engine_r3};
    const char *modes[] = {"R1", "R2", "R3"};
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(e[i]->mode, modes[i]);
        assert_int_equal(e[i]->family, UD_ENGINE_R);
        assert_non_null(e[i]->summary);
        assert_non_null(e[i]->probe);
        assert_non_null(e[i]->exec);
        assert_null(e[i]->prepare); /* no FileBind: nothing to set up or undo */
        assert_null(e[i]->undo);
    }
    /* R1 needs no external program: it is the fastest R mode. */
    assert_true(ud_engine_r1.speed < ud_engine_r3.speed);
    assert_true(ud_engine_r3.speed < ud_engine_r2.speed);
}

static void
test_probes(void **state)
{
    (void)state;
    struct ud_hostcaps caps;
    struct ud_error e = {0};
    memset(&caps, 0, sizeof caps);
    caps.userns = true;
    caps.pidns = true;
    assert_int_equal(ud_engine_r1.probe(&caps, &e), 0);
    assert_int_equal(ud_engine_r2.probe(&caps, &e), UD_EUNSUPP);
    assert_string_equal(e.msg, "runc is not installed (not found in PATH)");
    assert_int_equal(ud_engine_r3.probe(&caps, &e), UD_EUNSUPP);
    assert_string_equal(e.msg, "crun is not installed (not found in PATH)");
    snprintf(caps.runc, sizeof caps.runc, "/usr/sbin/runc");
    snprintf(caps.crun, sizeof caps.crun, "/usr/bin/crun");
    assert_int_equal(ud_engine_r2.probe(&caps, &e), 0);
    assert_int_equal(ud_engine_r3.probe(&caps, &e), 0);

    caps.userns = false;
    snprintf(caps.userns_why, sizeof caps.userns_why, "unshare: Operation not permitted");
    assert_int_equal(ud_engine_r1.probe(&caps, &e), UD_EUNSUPP);
    assert_int_equal(ud_engine_r2.probe(&caps, &e), UD_EUNSUPP);
    assert_int_equal(ud_engine_r3.probe(&caps, &e), UD_EUNSUPP);
    if (!host_sysctl_forbids())
        assert_string_equal(e.msg, "unshare: Operation not permitted");
    else
        assert_non_null(strstr(e.msg, "sysctl"));
    /* R1 refuses to start without user namespaces, with the reason. */
    struct ud_run_spec spec;
    memset(&spec, 0, sizeof spec);
    int ws = 0;
    assert_int_equal(ud_rr_r1_run(&spec, &caps, NULL, &ws, &e), UD_EUNSUPP);
    assert_string_equal(e.msg,
                        "user namespaces are not available: unshare: Operation not permitted");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptions),
        cmocka_unit_test(test_probes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
