// SPDX-License-Identifier: Apache-2.0
/* The command-line grammar (reference 1.1): general options up to the
 * first word starting with a letter, options only before the first
 * positional, "--opt value" only when value does not start with '-',
 * "-" is positional, leftovers are syntax errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
init(struct ud_cmdline *cl, char **w, size_t n)
{
    assert_int_equal(ud_cmdline_init(cl, w, n, NULL), 0);
}

/* Run leftover with stderr captured; returns the captured text. */
static char *
leftover_text(struct ud_cmdline *cl, bool *ret)
{
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    *ret = ud_cmdline_leftover(cl);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    static char buf[512];
    rewind(tmp);
    size_t n = fread(buf, 1, sizeof(buf) - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    return buf;
}

static void
test_general_split(void **state)
{
    char *argv[] = {"udocker", "-D", "--repo", "/x", "--insecure", "images", "-l"};
    struct ud_general g;
    ud_general_parse(N(argv), argv, &g);
    assert_int_equal(g.cmd_index, 5);
    assert_int_equal(g.verbosity, UD_LOG_DEBUG);
    assert_string_equal(g.repo, "/x");
    assert_true(g.insecure);
    assert_null(g.bad);

    /* A general option's separate value must not start with a letter:
     * "-D foo" makes foo the command; "--repo rel" leaves --repo bare. */
    char *argv2[] = {"udocker", "--repo", "rel", "ps"};
    ud_general_parse(N(argv2), argv2, &g);
    assert_int_equal(g.cmd_index, 2);
    assert_string_equal(g.bad, "--repo");
    assert_null(g.repo);

    char *argv3[] = {"udocker", "--repo=/r", "--config=/c.conf", "--allow-root", "ps"};
    ud_general_parse(N(argv3), argv3, &g);
    assert_string_equal(g.repo, "/r");
    assert_string_equal(g.config, "/c.conf");
    assert_true(g.allow_root);
    assert_int_equal(g.cmd_index, 4);
    assert_int_equal(g.verbosity, -1);
}

static void
test_general_empty_and_help(void **state)
{
    char *argv[] = {"udocker", "", "-q", "", "images"};
    struct ud_general g;
    ud_general_parse(N(argv), argv, &g);
    assert_int_equal(g.cmd_index, 4);
    assert_int_equal(g.verbosity, UD_LOG_MSG);

    char *none[] = {"udocker"};
    ud_general_parse(1, none, &g);
    assert_int_equal(g.cmd_index, 1);
    assert_false(g.help);

    char *h[] = {"udocker", "--help"};
    ud_general_parse(2, h, &g);
    assert_true(g.help);
    assert_int_equal(g.cmd_index, 2);

    char *v[] = {"udocker", "-V"};
    ud_general_parse(2, v, &g);
    assert_true(v[1] && g.version);

    /* An unknown general option is reported, the command still found. */
    char *bad[] = {"udocker", "--bogus", "-x", "ps"};
    ud_general_parse(N(bad), bad, &g);
    assert_string_equal(g.bad, "--bogus");
    assert_int_equal(g.cmd_index, 3);
}

static void
test_general_debug_and_quiet(void **state)
{
    /* Upstream leaves -q unconsumed when -D is also given; here both are
     * accepted and the last one wins. */
    char *a[] = {"udocker", "-D", "-q", "ps"};
    struct ud_general g;
    ud_general_parse(N(a), a, &g);
    assert_null(g.bad);
    assert_int_equal(g.verbosity, UD_LOG_MSG);
    char *b[] = {"udocker", "--quiet", "--debug", "ps"};
    ud_general_parse(N(b), b, &g);
    assert_null(g.bad);
    assert_int_equal(g.verbosity, UD_LOG_DEBUG);
}

static void
test_options_only_before_first_positional(void **state)
{
    /* "run c7 --rm" runs --rm inside the container. */
    char *w[] = {"c7", "--rm"};
    struct ud_cmdline cl;
    init(&cl, w, N(w));
    assert_false(ud_cmdline_flag(&cl, "--rm"));
    assert_string_equal(ud_cmdline_pos(&cl, 0), "c7");
    size_t n = 0;
    char **rest = ud_cmdline_rest(&cl, 1, &n);
    assert_int_equal(n, 1);
    assert_string_equal(rest[0], "--rm");
    assert_null(rest[1]);
    free(rest);
    bool r;
    leftover_text(&cl, &r);
    assert_false(r);
    ud_cmdline_fini(&cl);

    /* "rm c1 -f": -f after the first positional is positional too. */
    char *w2[] = {"c1", "-f"};
    init(&cl, w2, N(w2));
    assert_false(ud_cmdline_flag(&cl, "-f"));
    rest = ud_cmdline_rest(&cl, 0, &n);
    assert_int_equal(n, 2);
    assert_string_equal(rest[1], "-f");
    free(rest);
    ud_cmdline_fini(&cl);
}

static void
test_run_dashdash_literal(void **state)
{
    char *w[] = {"--rm", "c7", "--", "ls", "-l"};
    struct ud_cmdline cl;
    init(&cl, w, N(w));
    assert_true(ud_cmdline_flag(&cl, "--rm"));
    assert_string_equal(ud_cmdline_pos(&cl, 0), "c7");
    size_t n = 0;
    char **rest = ud_cmdline_rest(&cl, 1, &n);
    assert_int_equal(n, 3);
    assert_string_equal(rest[0], "--");
    assert_string_equal(rest[1], "ls");
    assert_string_equal(rest[2], "-l");
    assert_null(rest[3]);
    free(rest);
    ud_cmdline_fini(&cl);
}

static void
test_opt_value_forms(void **state)
{
    struct ud_cmdline cl;
    char *w[] = {"--name", "box", "img"};
    init(&cl, w, N(w));
    assert_string_equal(ud_cmdline_opt(&cl, "--name="), "box");
    assert_string_equal(ud_cmdline_pos(&cl, 0), "img");
    assert_null(ud_cmdline_pos(&cl, 1));
    bool r;
    leftover_text(&cl, &r);
    assert_false(r);
    ud_cmdline_fini(&cl);

    char *w2[] = {"--name=box", "img"};
    init(&cl, w2, N(w2));
    assert_string_equal(ud_cmdline_opt(&cl, "--name="), "box");
    assert_string_equal(ud_cmdline_pos(&cl, 0), "img");
    ud_cmdline_fini(&cl);

    /* "--opt -x": a value starting with '-' is not taken. */
    char *w3[] = {"--name", "-x", "img"};
    init(&cl, w3, N(w3));
    assert_null(ud_cmdline_opt(&cl, "--name="));
    assert_string_equal(ud_cmdline_pos(&cl, 0), "img");
    const char *msg = leftover_text(&cl, &r);
    assert_true(r);
    assert_string_equal(msg, "Error: syntax error at: --name -x\n");
    ud_cmdline_fini(&cl);

    /* "--name=" with an empty value is an empty string, not absent. */
    char *w4[] = {"--name=", "img"};
    init(&cl, w4, N(w4));
    assert_string_equal(ud_cmdline_opt(&cl, "--name="), "");
    ud_cmdline_fini(&cl);

    /* The last occurrence wins for single-value options. */
    char *w5[] = {"--name=a", "--name", "b", "img"};
    init(&cl, w5, N(w5));
    assert_string_equal(ud_cmdline_opt(&cl, "--name="), "b");
    ud_cmdline_fini(&cl);
}

static void
test_declared_order_independent(void **state)
{
    /* Asking for a flag before the value option must not mistake the
     * value for the first positional once the option is declared. */
    static const char *const decl[] = {"--name=", NULL};
    char *w[] = {"--name", "box", "--force", "img"};
    struct ud_cmdline cl;
    init(&cl, w, N(w));
    ud_cmdline_declare(&cl, decl);
    assert_true(ud_cmdline_flag(&cl, "--force"));
    assert_string_equal(ud_cmdline_opt(&cl, "--name="), "box");
    assert_string_equal(ud_cmdline_pos(&cl, 0), "img");
    bool r;
    leftover_text(&cl, &r);
    assert_false(r);
    ud_cmdline_fini(&cl);
}

static void
test_multi_value(void **state)
{
    static const char *const decl[] = {"-v=", "-e=", NULL};
    char *w[] = {"-v", "/a", "-v=/b", "-e", "X=1", "--volume=/c", "c7", "-v", "/d"};
    struct ud_cmdline cl;
    init(&cl, w, N(w));
    ud_cmdline_declare(&cl, decl);
    size_t n = 0;
    const char **v = ud_cmdline_opt_all(&cl, "-v=", &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0], "/a");
    assert_string_equal(v[1], "/b");
    free(v);
    const char **v2 = ud_cmdline_opt_all(&cl, "--volume=", &n);
    assert_int_equal(n, 1);
    assert_string_equal(v2[0], "/c");
    free(v2);
    const char **e = ud_cmdline_opt_all(&cl, "-e=", &n);
    assert_int_equal(n, 1);
    assert_string_equal(e[0], "X=1");
    free(e);
    assert_null(ud_cmdline_opt_all(&cl, "--env=", &n));
    assert_int_equal(n, 0);
    assert_string_equal(ud_cmdline_pos(&cl, 0), "c7");
    char **rest = ud_cmdline_rest(&cl, 1, &n);
    assert_int_equal(n, 2);
    assert_string_equal(rest[0], "-v");
    free(rest);
    ud_cmdline_fini(&cl);
}

static void
test_dash_is_positional(void **state)
{
    char *w[] = {"-", "repo:tag"};
    struct ud_cmdline cl;
    init(&cl, w, N(w));
    assert_false(ud_cmdline_flag(&cl, "-"));
    assert_string_equal(ud_cmdline_pos(&cl, 0), "-");
    assert_string_equal(ud_cmdline_pos(&cl, 1), "repo:tag");
    /* Asking again for P1 gives the same word (upstream's P1). */
    assert_string_equal(ud_cmdline_pos(&cl, 0), "-");
    ud_cmdline_fini(&cl);
}

static void
test_leftovers(void **state)
{
    char *w[] = {"-l", "--bogus", "extra", "more"};
    struct ud_cmdline cl;
    init(&cl, w, N(w));
    assert_true(ud_cmdline_flag(&cl, "-l"));
    bool r;
    const char *msg = leftover_text(&cl, &r);
    assert_true(r);
    assert_string_equal(msg, "Error: syntax error at: --bogus extra more\n");
    ud_cmdline_fini(&cl);

    /* Flags are matched exactly: "-lx" is not "-l". */
    char *w2[] = {"-lx"};
    init(&cl, w2, N(w2));
    assert_false(ud_cmdline_flag(&cl, "-l"));
    leftover_text(&cl, &r);
    assert_true(r);
    ud_cmdline_fini(&cl);
}

static void
test_empty_words(void **state)
{
    /* Empty words before the first positional are skipped; after it they
     * are kept (a container command may need an empty argument). */
    char *w[] = {"", "-f", "", "c7", ""};
    struct ud_cmdline cl;
    init(&cl, w, N(w));
    assert_true(ud_cmdline_flag(&cl, "-f"));
    assert_string_equal(ud_cmdline_pos(&cl, 0), "c7");
    size_t n = 0;
    char **rest = ud_cmdline_rest(&cl, 1, &n);
    assert_int_equal(n, 1);
    assert_string_equal(rest[0], "");
    free(rest);
    bool r;
    leftover_text(&cl, &r);
    assert_false(r);
    ud_cmdline_fini(&cl);
}

static void
test_no_words(void **state)
{
    struct ud_cmdline cl;
    init(&cl, NULL, 0);
    assert_false(ud_cmdline_flag(&cl, "-f"));
    assert_null(ud_cmdline_opt(&cl, "--name="));
    assert_null(ud_cmdline_pos(&cl, 0));
    size_t n = 7;
    assert_null(ud_cmdline_rest(&cl, 0, &n));
    assert_int_equal(n, 0);
    bool r;
    leftover_text(&cl, &r);
    assert_false(r);
    ud_cmdline_fini(&cl);
}

static void
test_alloc_failure(void **state)
{
    char *w[] = {"-v", "/a", "-v", "/b", "c7"};
    for (long k = 1;; k++) {
        struct ud_cmdline cl;
        struct ud_error err = {0};
        ud_alloc_fail_after(k);
        int rc = ud_cmdline_init(&cl, w, N(w), &err);
        if (rc) {
            ud_alloc_fail_after(0);
            assert_int_equal(rc, UD_ENOMEM);
            continue;
        }
        size_t n = 0;
        const char **v = ud_cmdline_opt_all(&cl, "-v=", &n);
        ud_alloc_fail_after(0);
        ud_cmdline_fini(&cl);
        if (v) {
            assert_int_equal(n, 2);
            free(v);
            break;
        }
        assert_int_equal(n, 0);
        assert_true(k < 100);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_general_split),
        cmocka_unit_test(test_general_empty_and_help),
        cmocka_unit_test(test_general_debug_and_quiet),
        cmocka_unit_test(test_options_only_before_first_positional),
        cmocka_unit_test(test_run_dashdash_literal),
        cmocka_unit_test(test_opt_value_forms),
        cmocka_unit_test(test_declared_order_independent),
        cmocka_unit_test(test_multi_value),
        cmocka_unit_test(test_dash_is_positional),
        cmocka_unit_test(test_leftovers),
        cmocka_unit_test(test_empty_words),
        cmocka_unit_test(test_no_words),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
