/* SPDX-License-Identifier: Apache-2.0 */
/*
 * R2/R3: the generated OCI runtime config (parsed back with jansson and
 * checked field by field), and real runs with runc and crun as an
 * unprivileged user: exit status, signals, stdin, ids, volumes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "rr_fixture.h"

static json_t *
config_of(const struct ud_run_spec *s, const struct ud_rr_oci_params *p)
{
    char *text = NULL;
    struct ud_error e = {0};
    assert_int_equal(ud_rr_oci_config_format(s, p, &text, &e), 0);
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    free(text);
    return j;
}

/* The mount whose destination is dest, or NULL. */
static json_t *
mount_at(json_t *cfg, const char *dest)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(cfg, "mounts"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0)
            return m;
    }
    return NULL;
}

static bool
has_option(json_t *m, const char *opt)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(m, "options"), i, o)
    {
        if (strcmp(json_string_value(o), opt) == 0)
            return true;
    }
    return false;
}

static void
test_config_fields(void **state)
{
    struct rr_fx *f = *state;
    if (!f)
        skip();
    struct ud_run_spec *s = SPEC("sh", "-c", "echo hi");
    free(s->cwd);
    s->cwd = strdup("/tmp");
    s->tty = true;
    char *vol = rr_fx_mkdir(f, "v");
    rr_spec_add_bind(s, vol, "/data", UD_BIND_DIR | UD_BIND_USER);
    rr_spec_add_bind(s, "/etc/hostname", "/etc/hostname", UD_BIND_RO);
    rr_spec_add_bind(s, "/nonexistent/x", "/etc/host.conf", UD_BIND_SYS);
    rr_spec_add_bind(s, "/dev", "/dev", UD_BIND_SYS | UD_BIND_DIR);
    assert_int_equal(ud_strv_push(&s->devices, "/dev/null", NULL), 0);
    struct ud_rr_oci_params p = {.runtime = UD_RR_RUNC,
                                 .host_uid = 1234,
                                 .host_gid = 5678,
                                 .hostname = "node1",
                                 .mqueue = false};
    json_t *c = config_of(s, &p);

    json_t *proc = json_object_get(c, "process");
    assert_true(json_is_true(json_object_get(proc, "terminal")));
    assert_string_equal(json_string_value(json_object_get(proc, "cwd")), "/tmp");
    json_t *args = json_object_get(proc, "args");
    assert_int_equal(json_array_size(args), 3);
    assert_string_equal(json_string_value(json_array_get(args, 2)), "echo hi");
    assert_string_equal(json_string_value(json_array_get(json_object_get(proc, "env"), 0)),
                        "PATH=/bin");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(proc, "user"), "uid")), 0);
    json_t *caps = json_object_get(proc, "capabilities");
    assert_int_equal(json_array_size(json_object_get(caps, "bounding")), 14);
    assert_int_equal(json_array_size(json_object_get(caps, "ambient")), 14);

    json_t *root = json_object_get(c, "root");
    assert_string_equal(json_string_value(json_object_get(root, "path")), f->root);
    assert_true(json_is_false(json_object_get(root, "readonly")));
    assert_string_equal(json_string_value(json_object_get(c, "hostname")), "node1");

    json_t *lx = json_object_get(c, "linux");
    json_t *um = json_array_get(json_object_get(lx, "uidMappings"), 0);
    assert_int_equal(json_integer_value(json_object_get(um, "containerID")), 0);
    assert_int_equal(json_integer_value(json_object_get(um, "hostID")), 1234);
    assert_int_equal(json_integer_value(json_object_get(um, "size")), 1);
    json_t *gm = json_array_get(json_object_get(lx, "gidMappings"), 0);
    assert_int_equal(json_integer_value(json_object_get(gm, "hostID")), 5678);
    size_t i;
    json_t *ns;
    json_array_foreach(json_object_get(lx, "namespaces"), i, ns)
    {
        const char *t = json_string_value(json_object_get(ns, "type"));
        assert_string_not_equal(t, "network");
        assert_string_not_equal(t, "cgroup");
        assert_string_not_equal(t, "pid");
    }
    assert_int_equal(json_array_size(json_object_get(lx, "namespaces")), 4);
    json_t *dev = json_array_get(json_object_get(lx, "devices"), 0);
    struct stat st;
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_string_equal(json_string_value(json_object_get(dev, "type")), "c");
    assert_int_equal(json_integer_value(json_object_get(dev, "major")), major(st.st_rdev));
    assert_int_equal(json_integer_value(json_object_get(dev, "minor")), minor(st.st_rdev));

    json_t *pm = mount_at(c, "/proc");
    assert_string_equal(json_string_value(json_object_get(pm, "source")), "/proc");
    assert_true(has_option(pm, "rbind"));
    assert_null(mount_at(c, "/sys/fs/cgroup"));
    assert_null(mount_at(c, "/dev/mqueue"));
    assert_null(mount_at(c, "/etc/host.conf")); /* missing system bind */
    assert_true(has_option(mount_at(c, "/dev/shm"), "size=2g"));
    assert_true(has_option(mount_at(c, "/sys"), "rbind"));
    json_t *data = mount_at(c, "/data");
    assert_string_equal(json_string_value(json_object_get(data, "source")), vol);
    assert_true(has_option(data, "rbind") && has_option(data, "rw"));
    assert_true(has_option(mount_at(c, "/etc/hostname"), "ro"));
    /* /dev is the engine's tmpfs, not the host's /dev. */
    assert_string_equal(json_string_value(json_object_get(mount_at(c, "/dev"), "type")), "tmpfs");
    json_decref(c);

    free(vol);
    rr_spec_free(s);
}

static void
test_config_not_root(void **state)
{
    if (!*state)
        skip();
    struct ud_run_spec *s = SPEC("id");
    struct ud_rr_oci_params p = {.host_uid = 1234, .host_gid = 5678};
    /* Not as root: still root inside (runc needs a root mapping). */
    s->as_root = false;
    s->tty = false;
    p.runtime = UD_RR_CRUN;
    p.mqueue = true;
    p.shm_size = "64m";
    json_t *c = config_of(s, &p);
    json_t *proc = json_object_get(c, "process");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(proc, "user"), "uid")), 0);
    assert_true(json_is_false(json_object_get(proc, "terminal")));
    json_t *um = json_array_get(json_object_get(json_object_get(c, "linux"), "uidMappings"), 0);
    assert_int_equal(json_integer_value(json_object_get(um, "containerID")), 0);
    assert_int_equal(json_integer_value(json_object_get(um, "hostID")), 1234);
    assert_non_null(mount_at(c, "/dev/mqueue"));
    assert_true(has_option(mount_at(c, "/dev/shm"), "size=64m"));
    json_decref(c);
    rr_spec_free(s);
}

static void
test_config_errors(void **state)
{
    if (!*state)
        skip();
    struct ud_run_spec *s = SPEC("true");
    struct ud_rr_oci_params p = {.runtime = UD_RR_RUNC, .host_uid = 1, .host_gid = 1};
    char *text = NULL;
    struct ud_error e = {0};
    assert_int_equal(ud_strv_push(&s->devices, "/etc/passwd", NULL), 0);
    assert_int_equal(ud_rr_oci_config_format(s, &p, &text, &e), UD_EINVAL);
    assert_string_equal(e.msg, "invalid device: /etc/passwd");
    ud_strv_free(s->devices);
    s->devices = NULL;
    ud_json_use_ud_alloc();
    for (long n = 1;; n++) {
        ud_alloc_fail_after(n);
        int rc = ud_rr_oci_config_format(s, &p, &text, &e);
        ud_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, UD_ENOMEM);
    }
    assert_non_null(strstr(text, "\"ociVersion\""));
    free(text);
    rr_spec_free(s);
}

/* crun 1.8 refuses hosts with cgroup v1 and v2 mounted side by side when
 * the v2 hierarchy holds controllers, even with cgroups disabled. */
static const char *
crun_blocked(void)
{
    char *c = NULL;
    size_t n;
    bool hybrid =
        ud_path_is_dir("/sys/fs/cgroup/unified") &&
        ud_file_read("/sys/fs/cgroup/unified/cgroup.controllers", 4096, &c, &n, NULL) == 0 && n > 1;
    free(c);
    return hybrid ? "crun refuses this host's hybrid cgroup layout (controllers in "
                    "/sys/fs/cgroup/unified)"
                  : NULL;
}

/* Some runtime and kernel pairs cannot start any rootless container (the
 * runtimes of Debian 12 under kernel 5.10: runc's init pipe is reset,
 * crun cannot re-execute itself from a memfd). Tried once per runtime
 * with a command that needs nothing; the runs that follow then skip with
 * the reason instead of failing on the runtime's own limits. */
static const char *
runtime_blocked(void **state, enum rr_engine_kind k)
{
    static int tried[2];
    static char why[2][512];
    int i = k == RR_R2 ? 0 : 1;
    if (!tried[i]) {
        struct rr_result r;
        struct ud_run_spec *s = SPEC("true");
        tried[i] = 1;
        if (rr_run_or_skip(state, s, k, NULL, NULL, 0, &r)) {
            if (r.rc != 0 || !WIFEXITED(r.wstatus) || WEXITSTATUS(r.wstatus) != 0)
                snprintf(why[i], sizeof(why[i]),
                         "%s cannot start a container on this host (%s, wait status %d)",
                         k == RR_R2 ? "runc" : "crun", r.rc ? r.msg : "runtime failed", r.wstatus);
            rr_result_fini(&r);
        }
        rr_spec_free(s);
    }
    return why[i][0] ? why[i] : NULL;
}

static bool
run_oci(void **state, enum rr_engine_kind k, struct ud_run_spec *s, const char *in, int kill_ms,
        struct rr_result *r)
{
    const char *why = k == RR_R3 ? crun_blocked() : NULL;
    if (!why)
        why = runtime_blocked(state, k);
    if (why) {
        fprintf(stderr, "SKIP: %s\n", why);
        rr_spec_free(s);
        skip();
        return false;
    }
    return rr_run_or_skip(state, s, k, NULL, in, kill_ms, r);
}

static void
check_runtime(void **state, enum rr_engine_kind k)
{
    struct rr_fx *f = *state;
    struct rr_result r;
    const char *why = k == RR_R3 ? crun_blocked() : NULL;
    if (why)
        fprintf(stderr, "SKIP: %s\n", why);
    if (!f || why)
        skip();
    struct ud_run_spec *s = SPEC("sh", "-c", "id -u; cat; echo w > /data/f; exit 5");
    char *vol = rr_fx_mkdir(f, k == RR_R2 ? "v2" : "v3");
    rr_spec_add_bind(s, vol, "/data", UD_BIND_DIR | UD_BIND_USER);
    if (!run_oci(state, k, s, "in\n", 0, &r))
        return;
    assert_int_equal(r.rc, 0);
    /* The runtime's exit status is the command's (upstream lost it). */
    assert_true(WIFEXITED(r.wstatus));
    assert_int_equal(WEXITSTATUS(r.wstatus), 5);
    assert_string_equal(r.out, "0\nin\n");
    char *hf = ud_path_join(vol, "f");
    assert_true(ud_path_is_regular(hf));
    free(hf);
    rr_result_fini(&r);
    /* A read-only volume refuses writes. */
    s->binds[0].flags |= UD_BIND_RO;
    free(s->argv[2]);
    s->argv[2] = strdup("echo x > /data/g || exit 4");
    if (!run_oci(state, k, s, NULL, 0, &r))
        return;
    assert_int_equal(WEXITSTATUS(r.wstatus), 4);
    rr_result_fini(&r);
    /* Not as root: root all the same, as upstream (with a warning). */
    s->as_root = false;
    free(s->argv[2]);
    s->argv[2] = strdup("id -u");
    if (!run_oci(state, k, s, NULL, 0, &r))
        return;
    assert_string_equal(r.out, "0\n");
    rr_result_fini(&r);
    free(vol);
    rr_spec_free(s);
    /* No bundle or state directory is left behind. */
    DIR *d = opendir(f->cdir);
    struct dirent *de;
    while ((de = readdir(d)))
        assert_false(ud_str_has_prefix(de->d_name, ".oci"));
    closedir(d);
}

static void
test_runc(void **state)
{
    check_runtime(state, RR_R2);
}

static void
test_crun(void **state)
{
    check_runtime(state, RR_R3);
}

/* SIGTERM to udocker reaches the command through the runtime. */
static void
check_signal(void **state, enum rr_engine_kind k)
{
    struct rr_result r;
    struct ud_run_spec *s = SPEC("sleep", "20");
    if (!run_oci(state, k, s, NULL, 700, &r))
        return;
    assert_int_equal(r.rc, 0);
    assert_int_equal(ud_engine_exit_code(r.wstatus), 128 + SIGTERM);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_runc_signal(void **state)
{
    check_signal(state, RR_R2);
}

/* A command that handles SIGTERM and leaves a background process behind:
 * the run ends with the command (exit 7), not with the background process,
 * which in the runtime's foreground mode held its output pipes open. */
static void
check_signal_trap(void **state, enum rr_engine_kind k)
{
    struct rr_result r;
    struct ud_run_spec *s = SPEC("sh", "-c", "trap 'exit 7' TERM; sleep 15 & wait");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* 3 s: the trap must be set before the signal, also under emulation. */
    if (!run_oci(state, k, s, NULL, 3000, &r))
        return;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(r.rc, 0);
    assert_true(WIFEXITED(r.wstatus));
    assert_int_equal(WEXITSTATUS(r.wstatus), 7);
    /* runc starts the command detached, so the run ends with it. crun
     * runs in the foreground (started detached, its command is not
     * reparented to us) and waits for the orphan too: documented. */
    if (k == RR_R2)
        assert_true(t1.tv_sec - t0.tv_sec < 10);
    rr_result_fini(&r);
    rr_spec_free(s);
}

static void
test_runc_signal_trap(void **state)
{
    check_signal_trap(state, RR_R2);
}

static void
test_crun_signal_trap(void **state)
{
    check_signal_trap(state, RR_R3);
}

static void
test_crun_signal(void **state)
{
    check_signal(state, RR_R3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_fields, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_config_not_root, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_runc, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_crun, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_runc_signal, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_crun_signal, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_runc_signal_trap, rr_fx_setup, rr_fx_teardown),
        cmocka_unit_test_setup_teardown(test_crun_signal_trap, rr_fx_setup, rr_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
