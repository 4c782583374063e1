/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keystore: upstream-compatible JSON, mode 0600, atomic replacement,
 * lookup with and without scheme, refusal of files others own or can
 * read, creation of a missing directory, and allocation failures.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <ud/registry-client.h>

struct fx {
    char dir[256];
    char path[300];
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/ud-ks-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/sub/keystore", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    if (ud_rm_rf(f->dir, NULL) < 0)
        print_error("cannot remove %s\n", f->dir);
    free(f);
    return 0;
}

static char *
slurp(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (ud_file_read(path, 1 << 20, &data, &len, NULL) < 0)
        return NULL;
    return data;
}

static int
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' || strlen(e->d_name) > 2)
            n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static void
test_round_trip(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *auth = NULL;
    assert_int_equal(ud_reg_keystore_get(f->path, "https://quay.io", &auth, &err), UD_ENOENT);
    assert_int_equal(
        ud_reg_keystore_set(f->path, "https://registry-1.docker.io", "dXNlcjpwYXNz", &err), 0);
    assert_int_equal(ud_reg_keystore_set(f->path, "https://quay.io", "cTpx", &err), 0);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *text = slurp(f->path);
    assert_non_null(text);
    assert_string_equal(text, "{\"https://registry-1.docker.io\": {\"auth\": \"dXNlcjpwYXNz\", "
                              "\"email\": \"\"}, \"https://quay.io\": {\"auth\": \"cTpx\", "
                              "\"email\": \"\"}}");
    free(text);
    assert_int_equal(ud_reg_keystore_get(f->path, "https://quay.io", &auth, &err), 0);
    assert_string_equal(auth, "cTpx");
    free(auth);
    /* replace keeps the other entry */
    assert_int_equal(ud_reg_keystore_set(f->path, "https://quay.io", "bmV3", &err), 0);
    assert_int_equal(ud_reg_keystore_get(f->path, "https://quay.io", &auth, &err), 0);
    assert_string_equal(auth, "bmV3");
    free(auth);
    assert_int_equal(ud_reg_keystore_get(f->path, "https://registry-1.docker.io", &auth, &err), 0);
    assert_string_equal(auth, "dXNlcjpwYXNz");
    free(auth);
    /* no temporary files left beside it */
    char sub[320];
    snprintf(sub, sizeof(sub), "%s/sub", f->dir);
    assert_int_equal(count_entries(sub), 1);
}

static void
test_schemeless_lookup(void **state)
{
    struct fx *f = *state;
    char *auth = NULL;
    assert_int_equal(ud_reg_keystore_set(f->path, "myreg.example:5000", "YTpi", NULL), 0);
    assert_int_equal(ud_reg_keystore_get(f->path, "https://myreg.example:5000", &auth, NULL), 0);
    assert_string_equal(auth, "YTpi");
    free(auth);
    assert_int_equal(ud_reg_keystore_get(f->path, "http://myreg.example:5000", &auth, NULL), 0);
    free(auth);
    assert_int_equal(ud_reg_keystore_delete(f->path, "https://myreg.example:5000", NULL), 0);
    assert_int_equal(ud_reg_keystore_get(f->path, "myreg.example:5000", &auth, NULL), UD_ENOENT);
}

static void
test_delete(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    assert_int_equal(ud_reg_keystore_delete(f->path, "https://a", &err), UD_ENOENT);
    assert_int_equal(ud_reg_keystore_delete_all(f->path, &err), UD_ENOENT);
    assert_int_equal(ud_reg_keystore_set(f->path, "https://a", "YQ==", &err), 0);
    assert_int_equal(ud_reg_keystore_set(f->path, "https://b", "Yg==", &err), 0);
    assert_int_equal(ud_reg_keystore_delete(f->path, "https://c", &err), UD_ENOENT);
    assert_int_equal(ud_reg_keystore_delete(f->path, "https://a", &err), 0);
    char *text = slurp(f->path);
    assert_string_equal(text, "{\"https://b\": {\"auth\": \"Yg==\", \"email\": \"\"}}");
    free(text);
    assert_int_equal(ud_reg_keystore_delete_all(f->path, &err), 0);
    assert_false(ud_path_exists(f->path));
}

static void
test_refuses_open_permissions(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    assert_int_equal(ud_reg_keystore_set(f->path, "https://a", "YQ==", &err), 0);
    assert_int_equal(chmod(f->path, 0644), 0);
    assert_int_equal(ud_reg_keystore_set(f->path, "https://b", "Yg==", &err), UD_EPERM);
    assert_non_null(strstr(err.msg, "permissions"));
    assert_int_equal(ud_reg_keystore_delete(f->path, "https://a", &err), UD_EPERM);
    assert_int_equal(ud_reg_keystore_delete_all(f->path, &err), UD_EPERM);
    char *text = slurp(f->path);
    assert_string_equal(text, "{\"https://a\": {\"auth\": \"YQ==\", \"email\": \"\"}}");
    free(text);
}

static void
test_refuses_foreign_owner(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    if (geteuid() != 0) {
        skip(); /* needs root to hand the file to another user */
        return;
    }
    assert_int_equal(ud_reg_keystore_set(f->path, "https://a", "YQ==", &err), 0);
    assert_int_equal(chown(f->path, 65534, 65534), 0);
    assert_int_equal(ud_reg_keystore_set(f->path, "https://b", "Yg==", &err), UD_EPERM);
    assert_non_null(strstr(err.msg, "not owned"));
    assert_int_equal(chown(f->path, 0, 0), 0);
    char sub[320];
    snprintf(sub, sizeof(sub), "%s/sub", f->dir);
    assert_int_equal(chown(sub, 65534, 65534), 0);
    assert_int_equal(ud_reg_keystore_set(f->path, "https://b", "Yg==", &err), UD_EPERM);
    assert_non_null(strstr(err.msg, "directory"));
}

static void
test_corrupt_and_symlink(void **state)
{
    struct fx *f = *state;
    struct ud_error err = {0};
    char *auth = NULL;
    assert_int_equal(ud_reg_keystore_set(f->path, "https://a", "YQ==", &err), 0);
    assert_int_equal(ud_file_write_atomic(f->path, "{not json", 9, 0600, &err), 0);
    assert_int_equal(ud_reg_keystore_get(f->path, "https://a", &auth, &err), UD_EPARSE);
    assert_int_equal(ud_reg_keystore_set(f->path, "https://a", "YQ==", &err), UD_EPARSE);
    char *text = slurp(f->path);
    assert_string_equal(text, "{not json");
    free(text);
    /* a blank file (upstream's shred leaves spaces) is an empty keystore */
    assert_int_equal(ud_file_write_atomic(f->path, "   \n", 4, 0600, &err), 0);
    assert_int_equal(ud_reg_keystore_get(f->path, "https://a", &auth, &err), UD_ENOENT);
    assert_int_equal(ud_reg_keystore_set(f->path, "https://a", "YQ==", &err), 0);
    /* a symlink is refused, never followed for writing */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(symlink("/etc/passwd", f->path), 0);
    assert_int_equal(ud_reg_keystore_set(f->path, "https://a", "YQ==", &err), UD_EPERM);
}

static void
test_alloc_failure(void **state)
{
    struct fx *f = *state;
    assert_int_equal(ud_reg_keystore_set(f->path, "https://a", "YQ==", NULL), 0);
    char *before = slurp(f->path);
    for (long n = 1;; n++) {
        ud_alloc_fail_after(n);
        int rc = ud_reg_keystore_set(f->path, "https://b", "Yg==", NULL);
        ud_alloc_fail_after(0);
        if (rc == 0)
            break;
        /* jansson reports some allocation failures as syntax errors. */
        assert_true(rc == UD_ENOMEM || rc == UD_EPARSE);
        char *now = slurp(f->path);
        assert_string_equal(now, before); /* unchanged on failure */
        free(now);
        assert_true(n < 1000);
    }
    free(before);
    for (long n = 1;; n++) {
        char *auth = NULL;
        ud_alloc_fail_after(n);
        int rc = ud_reg_keystore_get(f->path, "https://b", &auth, NULL);
        ud_alloc_fail_after(0);
        if (rc == 0) {
            assert_string_equal(auth, "Yg==");
            free(auth);
            break;
        }
        assert_true(rc == UD_ENOMEM || rc == UD_EPARSE);
        assert_true(n < 1000);
    }
}

int
main(void)
{
    ud_json_use_ud_alloc();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schemeless_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_open_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_foreign_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_and_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
