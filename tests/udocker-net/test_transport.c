// SPDX-License-Identifier: Apache-2.0
/* The CLI's transport helpers: which mirrors apply to an image (Docker Hub
 * mirrors, per-registry "host=URL" entries, separators, duplicates, bad
 * URLs), the registry_mirrors key and its variable, the Docker config
 * path, and the progress display (lines without a terminal, bars redrawn
 * in place and rate-limited on one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "conf.h"
#include "image_pull.h"
#include "keystore_path.h"
#include "progress.h"
#include "pull_int.h"
#include "ud/oci-manifest.h"

/* Mirrors for spec under conf's mirror list (a NULL-terminated vector),
 * joined with ' '. */
static char *
mirrors(char **list, const char *spec, const char *registry_opt, int *rc_out)
{
    struct ud_conf conf = {0};
    struct ud_image_ref ref = {0};
    struct ud_pull_site site = {0};
    struct ud_error e = {0};
    char **v = NULL;
    conf.registry_mirrors = list;
    conf.dockerio_registry_url = (char *)"https://registry-1.docker.io";
    assert_int_equal(ud_oci_ref_parse(spec, &ref, &e), 0);
    assert_int_equal(ud_pull_site_select(&conf, ref.registry_host, registry_opt, NULL, &site, &e),
                     0);
    int rc = ud_pull_mirrors_for(&conf, &ref, &site, &v, &e);
    ud_oci_ref_fini(&ref);
    ud_pull_site_fini(&site);
    *rc_out = rc;
    if (rc < 0) {
        assert_null(strchr(e.msg, '\n'));
        return NULL;
    }
    char buf[1024] = "";
    for (size_t i = 0; v[i]; i++) {
        if (i)
            strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
        strncat(buf, v[i], sizeof(buf) - strlen(buf) - 1);
    }
    ud_strv_free(v);
    return strdup(buf);
}

static void
expect_mirrors(char **list, const char *spec, const char *registry_opt, const char *want)
{
    int rc = 0;
    char *got = mirrors(list, spec, registry_opt, &rc);
    if (rc != 0)
        fail_msg("%s: rc %d", spec, rc);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got '%s', want '%s'", spec, got, want);
    free(got);
}

static void
test_mirrors_for(void **state)
{
    (void)state;
    char *hub[] = {(char *)"https://m1.example, m2.example:5000",
                   (char *)"http://m3 https://m1.example", NULL};
    expect_mirrors(hub, "busybox", NULL, "https://m1.example https://m2.example:5000 http://m3");
    expect_mirrors(hub, "docker.io/library/busybox", NULL,
                   "https://m1.example https://m2.example:5000 http://m3");
    /* another registry gets no Docker Hub mirror */
    expect_mirrors(hub, "quay.io/org/img", NULL, "");
    expect_mirrors(hub, "busybox", "http://127.0.0.1:5000", "");
    char *per[] = {(char *)"quay.io=https://qm.example,docker.io=http://dm",
                   (char *)"127.0.0.1:5000=http://lm:1/ https://hubm", NULL};
    expect_mirrors(per, "quay.io/org/img", NULL, "https://qm.example");
    expect_mirrors(per, "busybox", NULL, "http://dm https://hubm");
    expect_mirrors(per, "127.0.0.1:5000/a/b", NULL, "http://lm:1");
    expect_mirrors(per, "busybox", "http://127.0.0.1:5000", "http://lm:1");
    expect_mirrors(per, "ghcr.io/x/y", NULL, "");
    /* the registry itself is never its own mirror */
    char *self[] = {(char *)"https://registry-1.docker.io/", NULL};
    expect_mirrors(self, "busybox", NULL, "");
    expect_mirrors(NULL, "busybox", NULL, "");
}

static void
test_mirrors_bad(void **state)
{
    (void)state;
    int rc = 0;
    char *bad1[] = {(char *)"ftp://m", NULL};
    assert_null(mirrors(bad1, "busybox", NULL, &rc));
    assert_int_equal(rc, UD_EINVAL);
    char *bad2[] = {(char *)"docker.io=", NULL};
    assert_null(mirrors(bad2, "busybox", NULL, &rc));
    assert_int_equal(rc, UD_EINVAL);
    /* a bad entry for another registry is not looked at */
    char *other[] = {(char *)"quay.io=ftp://x", NULL};
    char *got = mirrors(other, "busybox", NULL, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, "");
    free(got);
}

static void
test_mirrors_conf_key(void **state)
{
    (void)state;
    struct ud_conf conf = {0};
    struct ud_error e = {0};
    setenv("UDOCKER_REGISTRY_MIRRORS", "http://a:1,http://b:2", 1);
    assert_int_equal(ud_conf_load(&conf, NULL, &e), 0);
    assert_non_null(conf.registry_mirrors);
    assert_string_equal(conf.registry_mirrors[0], "http://a:1,http://b:2");
    bool known = false;
    assert_int_equal(
        ud_conf_set(&conf, "registry_mirrors", "['http://c', 'quay.io=http://d']", &known, &e), 0);
    assert_true(known);
    assert_string_equal(conf.registry_mirrors[1], "quay.io=http://d");
    ud_conf_fini(&conf);
    unsetenv("UDOCKER_REGISTRY_MIRRORS");
}

static void
test_docker_config_path(void **state)
{
    (void)state;
    struct ud_error e = {0};
    char *p = NULL;
    setenv("DOCKER_CONFIG", "/etc/dcfg", 1);
    assert_int_equal(ud_docker_config_path_get(&p, &e), 0);
    assert_string_equal(p, "/etc/dcfg/config.json");
    free(p);
    unsetenv("DOCKER_CONFIG");
    char *old = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("HOME", "/home/u", 1);
    assert_int_equal(ud_docker_config_path_get(&p, &e), 0);
    assert_string_equal(p, "/home/u/.docker/config.json");
    free(p);
    if (old) {
        setenv("HOME", old, 1);
        free(old);
    }
}

/* ------------------------------------------------------------------ */
/* Progress                                                            */
/* ------------------------------------------------------------------ */

#define DG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
test_progress_lines(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct ud_progress *p = ud_progress_new_on(f, false, "Downloading", 3);
    assert_non_null(p);
    ud_progress_item(p, 0, DG, 2000000);
    ud_progress_item(p, 1, "a-very-long-label-that-goes-on-and-on", 10);
    ud_progress_item(p, 2, "cfg", -1);
    ud_progress_update(p, 0, 0);
    ud_progress_update(p, 0, 1000000);
    ud_progress_done(p, 1, "Already exists");
    ud_progress_done(p, 0, "Pull complete");
    ud_progress_failed(p, 2);
    ud_progress_free(p);
    fclose(f);
    /* one line per finished item, nothing for updates or failures */
    assert_non_null(strstr(text, "0123456789ab: Pull complete (2.0 MB in "));
    assert_non_null(strstr(text, "a-very-long-label-that-g: Already exists\n"));
    assert_null(strstr(text, "cfg"));
    assert_null(strchr(text, '\033'));
    size_t lines = 0;
    for (char *c = text; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 2);
    free(text);
}

static void
test_progress_tty(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct ud_progress *p = ud_progress_new_on(f, true, "Downloading", 2);
    ud_progress_item(p, 0, DG, 1000000);
    ud_progress_item(p, 1, "b", 500);
    /* a burst of updates within one frame period draws one frame */
    for (int i = 0; i < 1000; i++)
        ud_progress_update(p, 0, i * 100);
    fflush(f);
    size_t frames = 0;
    for (char *c = text; (c = strstr(c, "0123456789ab: ")) != NULL; c++)
        frames++;
    assert_int_equal(frames, 1);
    struct timespec pause = {0, 120 * 1000000L};
    nanosleep(&pause, NULL);
    ud_progress_update(p, 0, 500000);
    ud_progress_done(p, 1, "Pull complete");
    ud_progress_free(p);
    fclose(f);
    assert_non_null(strstr(text, "\033[2A")); /* redrawn in place */
    assert_non_null(strstr(text, "0123456789ab: Downloading ["));
    assert_non_null(strstr(text, "500.0 kB/1.0 MB"));
    assert_non_null(strstr(text, "ETA "));
    assert_non_null(strstr(text, "b: Pull complete"));
    free(text);
}

static void
test_progress_null_and_bytes(void **state)
{
    (void)state;
    ud_progress_item(NULL, 0, "x", 1);
    ud_progress_update(NULL, 0, 1);
    ud_progress_done(NULL, 0, "x");
    ud_progress_failed(NULL, 0);
    ud_progress_free(NULL);
    char b[32];
    ud_progress_fmt_bytes(b, sizeof(b), 999);
    assert_string_equal(b, "999 B");
    ud_progress_fmt_bytes(b, sizeof(b), 1500);
    assert_string_equal(b, "1.5 kB");
    ud_progress_fmt_bytes(b, sizeof(b), 3210000000);
    assert_string_equal(b, "3.2 GB");
    ud_progress_fmt_bytes(b, sizeof(b), -5);
    assert_string_equal(b, "0 B");
    /* out of range items are ignored */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct ud_progress *p = ud_progress_new_on(f, false, NULL, 1);
    ud_progress_update(p, 5, 1);
    ud_progress_done(p, 5, "x");
    ud_progress_free(p);
    fclose(f);
    assert_int_equal(len, 0);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mirrors_for),
        cmocka_unit_test(test_mirrors_bad),
        cmocka_unit_test(test_mirrors_conf_key),
        cmocka_unit_test(test_docker_config_path),
        cmocka_unit_test(test_progress_lines),
        cmocka_unit_test(test_progress_tty),
        cmocka_unit_test(test_progress_null_and_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
