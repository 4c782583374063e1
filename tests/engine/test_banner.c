/* SPDX-License-Identifier: Apache-2.0 */
/* The run banner, byte for byte against upstream's layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "banner_expected.h"
#include "run_cmd.h"

static void
test_banner(void **state)
{
    (void)state;
    char *b = ud_run_banner("87f17c6d-29e5-42ca-9049-965a2d1b2f1a", '%', "/bin/echo");
    char *want = strdup(banner_r);
    want[strlen(want) - 1] = '\0'; /* ud_out adds the final newline */
    assert_string_equal(b, want);
    free(b);
    free(want);
    b = ud_run_banner("", '*', "sh");
    want = strdup(banner_p_location);
    want[strlen(want) - 1] = '\0';
    assert_string_equal(b, want);
    free(b);
    free(want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_banner)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
