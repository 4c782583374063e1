// SPDX-License-Identifier: Apache-2.0
/* Row formats of ps and images (reference 1.6), byte for byte, and the
 * image names local commands accept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output.h"

#define ID "0f3e8d1c-5a0b-3c4d-9e8f-112233445566"

static void
check(char *got, const char *want)
{
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void
test_pylist(void **state)
{
    const char *one[] = {"c1", NULL};
    const char *two[] = {"c1b", "c1", NULL};
    const char *quote[] = {"it's", NULL};
    check(ud_fmt_pylist(one, true), "['c1']");
    check(ud_fmt_pylist(two, true), "['c1b', 'c1']");
    check(ud_fmt_pylist(quote, true), "[\"it's\"]");
    check(ud_fmt_pylist(NULL, true), "");
    check(ud_fmt_pylist(NULL, false), "[]");
}

/* Names may hold control characters (only "/. []" are refused): the list
 * is escaped as Python's repr does, so a ps row stays one line. */
static void
test_pylist_control_chars(void **state)
{
    const char *nl[] = {"a\nb", NULL};
    const char *ctl[] = {"t\tr\rx\x01y\x7f", NULL};
    const char *bs[] = {"a\\b", NULL};
    check(ud_fmt_pylist(nl, true), "['a\\nb']");
    check(ud_fmt_pylist(ctl, true), "['t\\tr\\rx\\x01y\\x7f']");
    check(ud_fmt_pylist(bs, true), "['a\\\\b']");
}

static void
test_ps_header(void **state)
{
    struct ud_ps_opts o = {0};
    /* 36-column id, " P M ", NAMES in 18, a space, IMAGE in 20. */
    check(ud_fmt_ps_header(&o), "CONTAINER ID                         P M NAMES              "
                                "IMAGE               ");
    struct ud_ps_opts all = {.mode = true, .size = true, .platform = true};
    check(ud_fmt_ps_header(&all), "CONTAINER ID                         P M MOD SIZE "
                                  "PLATFORM           NAMES              IMAGE               ");
}

static void
test_ps_rows(void **state)
{
    struct ud_ps_opts o = {0};
    const char *names[] = {"c1", NULL};
    struct ud_ps_row r = {.id = ID,
                          .is_protected = false,
                          .root_state = 'W',
                          .names = names,
                          .image = "busybox:latest"};
    check(ud_fmt_ps_row(&o, &r), ID " . W ['c1']             busybox:latest      ");
    r.is_protected = true;
    r.root_state = 'N';
    r.names = NULL;
    r.image = "quay.io/org/a-very-long-image-name:1.0";
    check(ud_fmt_ps_row(&o, &r),
          ID " P N                    quay.io/org/a-very-long-image-name:1.0");

    struct ud_ps_opts all = {.mode = true, .size = true, .platform = true};
    struct ud_ps_row r2 = {.id = ID,
                           .root_state = 'R',
                           .execmode = "F3",
                           .size_mb = 12,
                           .platform = "linux/amd64",
                           .names = names,
                           .image = "x:y"};
    check(ud_fmt_ps_row(&all, &r2),
          ID " . R F3    12 linux/amd64        ['c1']             x:y                 ");
    r2.size_mb = -1;
    r2.execmode = NULL;
    r2.platform = NULL;
    check(ud_fmt_ps_row(&all, &r2),
          ID " . R       -1 unknown/unknown    ['c1']             x:y                 ");
    /* Names longer than the column are not cut (min width 18). */
    const char *many[] = {"first-name", "second-name", NULL};
    r.names = many;
    r.image = "i:t";
    r.is_protected = false;
    r.root_state = 'D';
    check(ud_fmt_ps_row(&o, &r), ID " . D ['first-name', 'second-name'] i:t                 ");
}

static void
test_images_rows(void **state)
{
    check(ud_fmt_image_row("busybox", "latest", false, NULL), "busybox:latest    .");
    check(ud_fmt_image_row("quay.io/a/b", "sha256:ab", true, NULL), "quay.io/a/b:sha256:ab    P");
    check(ud_fmt_image_row("busybox", "1", true, "linux/arm64/v8"),
          "linux/arm64/v8     P busybox:1");
    check(ud_fmt_image_row("busybox", "1", false, "unknown/unknown"),
          "unknown/unknown    . busybox:1");
    check(ud_fmt_image_blob("sha256:0123", 0), "    /sha256:0123 (0 MB)");
    check(ud_fmt_image_blob("abc.layer", 42), "    /abc.layer (42 MB)");
}

/* images -p of an image pulled through an index: upstream's row, then the
 * platforms the index offers; an index naming none still says "index". */
static void
test_images_index_rows(void **state)
{
    const char *three[] = {"linux/amd64", "linux/arm64/v8", "linux/arm/v7", NULL};
    const char *none[] = {NULL};
    check(ud_fmt_image_row_index("multi", "latest", false, "linux/amd64", three),
          "linux/amd64        . multi:latest  [index: linux/amd64 linux/arm64/v8 linux/arm/v7]");
    check(ud_fmt_image_row_index("quay.io/a/b", "1", true, "linux/arm/v7", three),
          "linux/arm/v7       P quay.io/a/b:1  [index: linux/amd64 linux/arm64/v8 linux/arm/v7]");
    check(ud_fmt_image_row_index("m", "t", false, "unknown/unknown", none),
          "unknown/unknown    . m:t  [index]");
    check(ud_fmt_image_row_index("m", "t", false, "linux/amd64", NULL),
          "linux/amd64        . m:t  [index]");
    /* Under allocation failure: NULL, never a truncated row. */
    char *r = NULL;
    for (long n = 1; n < 100 && !r; n++) {
        ud_alloc_fail_after(n);
        r = ud_fmt_image_row_index("multi", "latest", false, "linux/amd64", three);
        ud_alloc_fail_after(0);
    }
    assert_non_null(r);
    assert_true(ud_str_has_suffix(r, "linux/arm/v7]"));
    free(r);
}

static void
test_imagespec(void **state)
{
    static const struct {
        const char *spec, *repo, *tag;
    } ok[] = {
        {"busybox", "busybox", "latest"},
        {"busybox:1.36", "busybox", "1.36"},
        {"docker.io/python:3", "docker.io/python", "3"},
        {"quay.io/org/img:v1", "quay.io/org/img", "v1"},
        {"localhost:5000/lab/x:2", "localhost:5000/lab/x", "2"},
        {"img@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "img",
         "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *repo = NULL, *tag = NULL;
        assert_int_equal(ud_imagespec_split(ok[i].spec, &repo, &tag, NULL), 0);
        assert_string_equal(repo, ok[i].repo);
        assert_string_equal(tag, ok[i].tag);
        free(repo);
        free(tag);
    }
    static const char *const bad[] = {"", "a//b", "/abs", "img:", "img:bad/tag", NULL};
    for (size_t i = 0; bad[i]; i++) {
        char *repo = NULL, *tag = NULL;
        struct ud_error err = {0};
        assert_int_equal(ud_imagespec_split(bad[i], &repo, &tag, &err), UD_EINVAL);
        assert_null(repo);
        assert_string_equal(err.msg, "must specify image:tag or repository/image:tag");
    }
    char *repo = NULL, *tag = NULL;
    assert_int_equal(ud_imagespec_split(NULL, &repo, &tag, NULL), UD_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pylist),      cmocka_unit_test(test_pylist_control_chars),
        cmocka_unit_test(test_ps_header),   cmocka_unit_test(test_ps_rows),
        cmocka_unit_test(test_images_rows), cmocka_unit_test(test_images_index_rows),
        cmocka_unit_test(test_imagespec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
