/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /etc/subuid parsing (names, numeric owners, malformed lines, ranges
 * past the id space) and the id maps built from it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ud/runc-rootless.h"

static int
find(const char *text, const char *user, uint32_t id, struct ud_rr_subid *out)
{
    struct ud_error e = {0};
    return ud_rr_subid_find(text, strlen(text), user, id, out, &e);
}

static void
test_find_by_name_and_uid(void **state)
{
    (void)state;
    const char *t = "alice:100000:65536\n"
                    "1001:165536:65536\n"
                    "bob:231072:1000\n";
    struct ud_rr_subid r = {0};
    assert_int_equal(find(t, "alice", 1000, &r), 0);
    assert_int_equal(r.start, 100000);
    assert_int_equal(r.count, 65536);
    assert_int_equal(find(t, "carol", 1001, &r), 0); /* numeric owner */
    assert_int_equal(r.start, 165536);
    assert_int_equal(find(t, NULL, 1001, &r), 0);
    assert_int_equal(r.start, 165536);
    assert_int_equal(find(t, "bob", 7, &r), 0);
    assert_int_equal(r.count, 1000);
    struct ud_error e = {0};
    assert_int_equal(ud_rr_subid_find(t, strlen(t), "dave", 5, &r, &e), UD_ENOENT);
    assert_string_equal(e.msg, "no subordinate ids for dave");
    /* The first grant wins, as newuidmap takes them in order. */
    assert_int_equal(find("x:10:5\nx:20:5\n", "x", 1, &r), 0);
    assert_int_equal(r.start, 10);
}

static void
test_malformed_lines_skipped(void **state)
{
    (void)state;
    struct ud_rr_subid r = {0};
    const char *t = "# comment\n"
                    "\n"
                    "alice\n"
                    "alice:100000\n"
                    "alice:abc:10\n"
                    "alice:-1:10\n"
                    "alice:1:0\n"           /* empty range */
                    "alice:4294967295:2\n"  /* past the id space */
                    "alice:99999999999:1\n" /* too big */
                    "alice:1:2:3\n"         /* extra field */
                    ":5:5\n"
                    "alice:300000:10 \r\n"; /* trailing blanks and CR */
    assert_int_equal(find(t, "alice", 1000, &r), 0);
    assert_int_equal(r.start, 300000);
    assert_int_equal(r.count, 10);
    assert_int_equal(find("alice:4294967286:10", "alice", 1, &r), 0); /* ends at 2^32 */
    assert_int_equal(find("", "alice", 1, &r), UD_ENOENT);
    assert_int_equal(find("alice:1:1", "alic", 1, &r), UD_ENOENT); /* no prefix match */
    /* Not NUL-terminated: only len bytes count. */
    struct ud_error e = {0};
    assert_int_equal(ud_rr_subid_find("alice:5:5\nalice:7:7", 9, "alice", 1, &r, &e), 0);
    assert_int_equal(r.count, 5);
    assert_int_equal(ud_rr_subid_find("alice:5:55", 9, "alice", 1, &r, &e), 0);
    assert_int_equal(r.count, 5);
    assert_int_equal(ud_rr_subid_find("alice:5:5", 8, "alice", 1, &r, &e), UD_ENOENT);
}

static void
test_lookup_file(void **state)
{
    (void)state;
    char path[] = "/tmp/rr-subid-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *t = "u:500:20\n";
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    struct ud_rr_subid r = {0};
    struct ud_error e = {0};
    assert_int_equal(ud_rr_subid_lookup(path, "u", 1, &r, &e), 0);
    assert_int_equal(r.start, 500);
    assert_int_equal(ud_rr_subid_lookup(path, "v", 1, &r, &e), UD_ENOENT);
    assert_non_null(strstr(e.msg, "no subordinate ids for v"));
    /* Allocation failure: an error, never a crash. */
    for (long n = 1;; n++) {
        ud_alloc_fail_after(n);
        int rc = ud_rr_subid_lookup(path, "u", 1, &r, &e);
        ud_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, UD_ENOMEM);
    }
    unlink(path);
    assert_int_equal(ud_rr_subid_lookup(path, "u", 1, &r, &e), UD_ENOENT);
    assert_non_null(strstr(e.msg, "is missing"));
}

static void
test_idmap(void **state)
{
    (void)state;
    struct ud_rr_idrange r[2];
    char buf[96];
    struct ud_error e = {0};
    size_t n = ud_rr_idmap_build(true, 1000, NULL, r);
    assert_int_equal(ud_rr_idmap_format(r, n, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "0 1000 1\n");
    n = ud_rr_idmap_build(false, 1000, NULL, r);
    assert_int_equal(ud_rr_idmap_format(r, n, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "1000 1000 1\n");
    struct ud_rr_subid sub = {100000, 65536};
    n = ud_rr_idmap_build(true, 1000, &sub, r);
    assert_int_equal(ud_rr_idmap_format(r, n, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "0 1000 1\n1 100000 65536\n");
    /* Not as root: the range is not used. */
    assert_int_equal(ud_rr_idmap_build(false, 1000, &sub, r), 1);
    /* A range holding the caller's own id is cut before it. */
    struct ud_rr_subid own = {900, 200};
    n = ud_rr_idmap_build(true, 1000, &own, r);
    assert_int_equal(n, 2);
    assert_int_equal(r[1].count, 100);
    struct ud_rr_subid starts = {1000, 10};
    assert_int_equal(ud_rr_idmap_build(true, 1000, &starts, r), 1);
    /* Too small a buffer. */
    n = ud_rr_idmap_build(true, 1000, &sub, r);
    assert_int_equal(ud_rr_idmap_format(r, n, buf, 12, &e), UD_ETOOBIG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_by_name_and_uid),
        cmocka_unit_test(test_malformed_lines_skipped),
        cmocka_unit_test(test_lookup_file),
        cmocka_unit_test(test_idmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
