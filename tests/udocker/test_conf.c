// SPDX-License-Identifier: Apache-2.0
/* Configuration: defaults, precedence (files < environment < CLI), typed
 * values (booleans really parsed, integers checked), no interpolation,
 * lists and the registry map, errors with FILE:LINE, showconf lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

static char home[256];

static const char *const env_vars[] = {
    "UDOCKER_LOGLEVEL",
    "UDOCKER_MAX_CONNECTIONS",
    "UDOCKER_DIR",
    "UDOCKER_BIN",
    "UDOCKER_LIB",
    "UDOCKER_DOC",
    "UDOCKER_REPOS",
    "UDOCKER_LAYERS",
    "UDOCKER_CONTAINERS",
    "UDOCKER_INDEX",
    "UDOCKER_REGISTRY",
    "UDOCKER_TARBALL",
    "UDOCKER_TMP",
    "UDOCKER_KEYSTORE",
    "UDOCKER_CA_BUNDLE",
    "UDOCKER_DEFAULT_EXECUTION_MODE",
    NULL,
};

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *
in_home(const char *rel)
{
    static char buf[512];
    snprintf(buf, sizeof(buf), "%s/%s", home, rel);
    return buf;
}

/* A fresh $HOME with ~/.udocker and no UDOCKER_* variables. */
static int
setup(void **state)
{
    snprintf(home, sizeof(home), "/tmp/ud-conf-test-XXXXXX");
    if (!mkdtemp(home))
        return -1;
    setenv("HOME", home, 1);
    for (size_t i = 0; env_vars[i]; i++)
        unsetenv(env_vars[i]);
    mkdir(in_home(".udocker"), 0700);
    return 0;
}

static int
teardown(void **state)
{
    if (ud_rm_rf(home, NULL) != 0)
        return -1;
    return 0;
}

static bool
have_system_conf(void)
{
    return access("/etc/udocker.conf", F_OK) == 0;
}

static void
test_defaults(void **state)
{
    if (have_system_conf())
        skip(); /* SKIP: /etc/udocker.conf exists and would change the defaults */
    struct ud_conf c;
    assert_int_equal(ud_conf_load(&c, NULL, NULL), 0);
    char exp[512];
    snprintf(exp, sizeof(exp), "%s/.udocker", home);
    assert_string_equal(c.topdir, exp);
    assert_string_equal(c.homedir, exp);
    snprintf(exp, sizeof(exp), "%s/.udocker/repos", home);
    assert_string_equal(c.reposdir, exp);
    snprintf(exp, sizeof(exp), "%s/.udocker/containers", home);
    assert_string_equal(c.containersdir, exp);
    assert_int_equal(c.verbose_level, UD_LOG_INFO);
    assert_int_equal(c.timeout, 12);
    assert_int_equal(c.download_timeout, 1800);
    assert_int_equal(c.ctimeout, 6);
    assert_int_equal(c.max_download_connections, 12);
    assert_false(c.http_insecure);
    assert_string_equal(c.keystore, "keystore");
    assert_string_equal(c.ca_bundle, "");
    assert_string_equal(c.dockerio_registry_url, "https://registry-1.docker.io");
    assert_string_equal(c.dockerio_index_url, "https://hub.docker.com");
    const struct ud_conf_registry *r = ud_conf_registry_find(&c, "docker.io");
    assert_non_null(r);
    assert_string_equal(r->registry_url, "https://registry-1.docker.io");
    assert_string_equal(r->index_url, "https://hub.docker.com");
    assert_null(ud_conf_registry_find(&c, "quay.io"));
    assert_string_equal(c.cmd[0], "bash");
    assert_string_equal(c.cmd[1], "-i");
    assert_null(c.cmd[2]);
    assert_null(c.fakechroot_so);
    ud_conf_fini(&c);
}

static void
test_typed_booleans(void **state)
{
    static const struct {
        const char *text;
        bool val;
    } cases[] = {{"False", false}, {"false", false}, {"no", false}, {"0", false}, {"off", false},
                 {"True", true},   {"YES", true},    {"1", true},   {"on", true}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "[DEFAULT]\nhttp_insecure = %s\n", cases[i].text);
        write_file(in_home("b.conf"), text);
        struct ud_conf c;
        assert_int_equal(ud_conf_load(&c, in_home("b.conf"), NULL), 0);
        assert_int_equal(c.http_insecure, cases[i].val);
        ud_conf_fini(&c);
    }
    write_file(in_home("b.conf"), "[DEFAULT]\n\nhttp_insecure = maybe\n");
    struct ud_conf c;
    struct ud_error err = {0};
    assert_int_equal(ud_conf_load(&c, in_home("b.conf"), &err), UD_EINVAL);
    assert_non_null(strstr(err.msg, "b.conf:3:"));
    assert_non_null(strstr(err.msg, "http_insecure"));
    assert_non_null(strstr(err.msg, "maybe"));
}

static void
test_typed_integers(void **state)
{
    static const char *const bad[] = {"timeout = 12s",
                                      "timeout = -1",
                                      "ctimeout =",
                                      "verbose_level = 9",
                                      "max_download_connections = x",
                                      NULL};
    for (size_t i = 0; bad[i]; i++) {
        char text[128];
        snprintf(text, sizeof(text), "[DEFAULT]\n%s\n", bad[i]);
        write_file(in_home("i.conf"), text);
        struct ud_conf c;
        struct ud_error err = {0};
        assert_int_equal(ud_conf_load(&c, in_home("i.conf"), &err), UD_EINVAL);
        assert_non_null(strstr(err.msg, "i.conf:2:"));
    }
    write_file(in_home("i.conf"), "[DEFAULT]\ntimeout = 30\nmax_download_connections: 3\n"
                                  "verbose_level = 1\n");
    struct ud_conf c;
    assert_int_equal(ud_conf_load(&c, in_home("i.conf"), NULL), 0);
    assert_int_equal(c.timeout, 30);
    assert_int_equal(c.max_download_connections, 3);
    assert_int_equal(c.verbose_level, 1);
    ud_conf_fini(&c);
}

static void
test_precedence(void **state)
{
    if (have_system_conf())
        skip(); /* SKIP: /etc/udocker.conf exists */
    /* ~/.udocker/udocker.conf < --config file < environment. */
    write_file(in_home(".udocker/udocker.conf"),
               "[DEFAULT]\ntimeout = 20\nctimeout = 21\nverbose_level = 2\n"
               "http_proxy = socks5://home:1\n");
    write_file(in_home("extra.conf"), "[DEFAULT]\nctimeout = 31\nverbose_level = 4\n");
    setenv("UDOCKER_LOGLEVEL", "5", 1);
    struct ud_conf c;
    assert_int_equal(ud_conf_load(&c, in_home("extra.conf"), NULL), 0);
    assert_int_equal(c.timeout, 20);
    assert_int_equal(c.ctimeout, 31);
    assert_int_equal(c.verbose_level, 5);
    assert_string_equal(c.http_proxy, "socks5://home:1");
    ud_conf_fini(&c);
    unsetenv("UDOCKER_LOGLEVEL");

    /* Without --config the home file alone. */
    assert_int_equal(ud_conf_load(&c, NULL, NULL), 0);
    assert_int_equal(c.ctimeout, 21);
    assert_int_equal(c.verbose_level, 2);
    ud_conf_fini(&c);
}

static void
test_topdir_file_and_env_dirs(void **state)
{
    if (have_system_conf())
        skip(); /* SKIP: /etc/udocker.conf exists */
    char repo[512];
    snprintf(repo, sizeof(repo), "%s/repo", home);
    mkdir(repo, 0700);
    write_file(in_home("repo/udocker.conf"), "[DEFAULT]\ndownload_timeout = 99\n");
    setenv("UDOCKER_DIR", repo, 1);
    setenv("UDOCKER_LAYERS", "/srv/layers", 1);
    struct ud_conf c;
    assert_int_equal(ud_conf_load(&c, NULL, NULL), 0);
    assert_int_equal(c.download_timeout, 99);
    assert_string_equal(c.topdir, repo);
    assert_string_equal(c.layersdir, "/srv/layers");
    char exp[600];
    snprintf(exp, sizeof(exp), "%s/repos", repo);
    assert_string_equal(c.reposdir, exp);
    /* homedir stays ~/.udocker whatever UDOCKER_DIR says. */
    snprintf(exp, sizeof(exp), "%s/.udocker", home);
    assert_string_equal(c.homedir, exp);

    /* --repo: the derived directories follow, explicit ones stay. */
    assert_int_equal(ud_conf_set_topdir(&c, "/other", NULL), 0);
    assert_string_equal(c.topdir, "/other");
    assert_string_equal(c.reposdir, "/other/repos");
    assert_string_equal(c.bindir, "/other/bin");
    assert_string_equal(c.layersdir, "/srv/layers");
    ud_conf_fini(&c);
    unsetenv("UDOCKER_DIR");
    unsetenv("UDOCKER_LAYERS");
}

static void
test_cli_layer(void **state)
{
    /* General options override the environment, which overrides files. */
    write_file(in_home("c.conf"), "[DEFAULT]\nverbose_level = 2\nhttp_insecure = no\n");
    setenv("UDOCKER_LOGLEVEL", "4", 1);
    setenv("UDOCKER_REPOS", "/srv/repos", 1);
    struct ud_conf c;
    assert_int_equal(ud_conf_load(&c, in_home("c.conf"), NULL), 0);
    assert_int_equal(c.verbose_level, 4);
    assert_false(c.http_insecure);
    assert_int_equal(ud_conf_apply_cli(&c, UD_LOG_DEBUG, true, "/cli/repo", NULL), 0);
    assert_int_equal(c.verbose_level, UD_LOG_DEBUG);
    assert_true(c.http_insecure);
    assert_string_equal(c.topdir, "/cli/repo");
    assert_string_equal(c.containersdir, "/cli/repo/containers");
    assert_string_equal(c.reposdir, "/srv/repos");
    /* No options: nothing changes; -q is level 1. */
    assert_int_equal(ud_conf_apply_cli(&c, -1, false, NULL, NULL), 0);
    assert_int_equal(c.verbose_level, UD_LOG_DEBUG);
    assert_true(c.http_insecure);
    assert_int_equal(ud_conf_apply_cli(&c, UD_LOG_MSG, false, NULL, NULL), 0);
    assert_int_equal(c.verbose_level, UD_LOG_MSG);
    assert_string_equal(c.topdir, "/cli/repo");
    ud_conf_fini(&c);
    unsetenv("UDOCKER_LOGLEVEL");
    unsetenv("UDOCKER_REPOS");
}

static void
test_env_values(void **state)
{
    setenv("UDOCKER_LOGLEVEL", "loud", 1);
    struct ud_conf c;
    struct ud_error err = {0};
    assert_int_equal(ud_conf_load(&c, NULL, &err), UD_EINVAL);
    assert_non_null(strstr(err.msg, "UDOCKER_LOGLEVEL"));
    unsetenv("UDOCKER_LOGLEVEL");

    setenv("UDOCKER_TARBALL", "", 1);
    setenv("UDOCKER_CA_BUNDLE", "/etc/ssl/my.pem", 1);
    setenv("UDOCKER_KEYSTORE", "/abs/keys", 1);
    setenv("UDOCKER_REGISTRY", "http://127.0.0.1:5000", 1);
    assert_int_equal(ud_conf_load(&c, NULL, NULL), 0);
    assert_string_equal(c.tarball, "");
    assert_string_equal(c.ca_bundle, "/etc/ssl/my.pem");
    assert_string_equal(c.keystore, "/abs/keys");
    assert_string_equal(c.dockerio_registry_url, "http://127.0.0.1:5000");
    ud_conf_fini(&c);
    unsetenv("UDOCKER_TARBALL");
    unsetenv("UDOCKER_CA_BUNDLE");
    unsetenv("UDOCKER_KEYSTORE");
    unsetenv("UDOCKER_REGISTRY");
}

static void
test_no_interpolation_and_quotes(void **state)
{
    /* Upstream's shipped file crashes on "%(topdir)s"; here it is text. */
    write_file(in_home("p.conf"), "# comment\n; other comment\n[DEFAULT]\n"
                                  "tarball = %(topdir)s/x\nhttp_agent = \"my agent\"\n"
                                  "Timeout = 7\nunknown_key = whatever\n"
                                  "[other]\ntimeout = 100\n");
    struct ud_conf c;
    assert_int_equal(ud_conf_load(&c, in_home("p.conf"), NULL), 0);
    assert_string_equal(c.tarball, "%(topdir)s/x");
    assert_string_equal(c.http_agent, "my agent");
    assert_int_equal(c.timeout, 7);
    ud_conf_fini(&c);

    write_file(in_home("p.conf"), "[DEFAULT]\njust a line\n");
    struct ud_error err = {0};
    assert_int_equal(ud_conf_load(&c, in_home("p.conf"), &err), UD_EINVAL);
    assert_non_null(strstr(err.msg, "p.conf:2:"));

    write_file(in_home("p.conf"), "[DEFAULT\n");
    assert_int_equal(ud_conf_load(&c, in_home("p.conf"), &err), UD_EINVAL);

    /* A --config file that does not exist is an error. */
    assert_int_not_equal(ud_conf_load(&c, in_home("nope.conf"), &err), 0);
    assert_non_null(strstr(err.msg, "nope.conf"));
}

static void
test_lists_and_registries(void **state)
{
    write_file(in_home("l.conf"),
               "[DEFAULT]\ncmd = ['sh', '-c', \"echo 'hi'\"]\n"
               "sysdirs_list = ('/dev',\n   '/proc',)\n"
               "docker_registries = {'docker.io': ['https://r.example', 'https://i.example'],\n"
               "    'quay.io': ['https://quay.io']}\n");
    struct ud_conf c;
    assert_int_equal(ud_conf_load(&c, in_home("l.conf"), NULL), 0);
    assert_string_equal(c.cmd[0], "sh");
    assert_string_equal(c.cmd[2], "echo 'hi'");
    assert_null(c.cmd[3]);
    assert_string_equal(c.sysdirs_list[1], "/proc");
    assert_null(c.sysdirs_list[2]);
    const struct ud_conf_registry *r = ud_conf_registry_find(&c, "quay.io");
    assert_non_null(r);
    assert_string_equal(r->registry_url, "https://quay.io");
    assert_null(r->index_url);
    assert_string_equal(ud_conf_registry_find(&c, "docker.io")->registry_url, "https://r.example");
    ud_conf_fini(&c);

    write_file(in_home("l.conf"), "[DEFAULT]\ncmd = /bin/sh -l\n");
    assert_int_equal(ud_conf_load(&c, in_home("l.conf"), NULL), 0);
    assert_string_equal(c.cmd[0], "/bin/sh");
    assert_string_equal(c.cmd[1], "-l");
    ud_conf_fini(&c);

    static const char *const bad[] = {"cmd = ['a', 'b'",
                                      "cmd = ['a' 'b']",
                                      "cmd = ['a",
                                      "docker_registries = [1]",
                                      "docker_registries = {'x': [1]}",
                                      NULL};
    for (size_t i = 0; bad[i]; i++) {
        char text[128];
        snprintf(text, sizeof(text), "[DEFAULT]\n%s\n", bad[i]);
        write_file(in_home("l.conf"), text);
        struct ud_error err = {0};
        assert_int_equal(ud_conf_load(&c, in_home("l.conf"), &err), UD_EINVAL);
        assert_non_null(strstr(err.msg, "l.conf:2:"));
    }
}

struct lines {
    char text[8192];
};

static void
collect(const char *line, void *ctx)
{
    struct lines *l = ctx;
    strncat(l->text, line, sizeof(l->text) - strlen(l->text) - 2);
    strcat(l->text, "\n");
}

static void
test_dump(void **state)
{
    write_file(in_home("d.conf"), "[DEFAULT]\nfakechroot_so = /x/lib.so\n");
    struct ud_conf c;
    assert_int_equal(ud_conf_load(&c, in_home("d.conf"), NULL), 0);
    struct lines l = {{0}};
    assert_int_equal(ud_conf_dump(&c, collect, &l, NULL), 0);
    assert_non_null(strstr(l.text, "\ntimeout = 12\n"));
    assert_non_null(strstr(l.text, "\nhttp_insecure = False\n"));
    assert_non_null(strstr(l.text, "\ncmd = ['bash', '-i']\n"));
    assert_non_null(strstr(l.text, "\nfakechroot_so = /x/lib.so\n"));
    assert_non_null(strstr(l.text, "\nfakechroot_libc = None\n"));
    assert_non_null(strstr(l.text, "\ndocker_registries = {'docker.io': "
                                   "['https://registry-1.docker.io', "
                                   "'https://hub.docker.com']}\n"));
    assert_true(strncmp(l.text, "verbose_level = 3\n", 18) == 0);
    ud_conf_fini(&c);
}

static void
test_alloc_failure(void **state)
{
    write_file(in_home("a.conf"), "[DEFAULT]\ncmd = ['sh', '-c']\ntimeout = 5\n"
                                  "docker_registries = {'q.io': ['https://q.io']}\n");
    for (long k = 1;; k++) {
        struct ud_conf c;
        struct ud_error err = {0};
        ud_alloc_fail_after(k);
        int rc = ud_conf_load(&c, in_home("a.conf"), &err);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_int_equal(c.timeout, 5);
            ud_conf_fini(&c);
            break;
        }
        if (rc != UD_ENOMEM)
            fail_msg("allocation %ld: %d %s", k, rc, err.msg);
        assert_true(k < 10000);
    }
}

int
main(void)
{
    ud_json_use_ud_alloc();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_booleans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_integers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topdir_file_and_env_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_interpolation_and_quotes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lists_and_registries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
