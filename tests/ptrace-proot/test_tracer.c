// SPDX-License-Identifier: Apache-2.0
/*
 * The P1 and P2 engines running real programs (busybox, a static and a
 * dynamic probe program) in a busybox root as an unprivileged user: paths,
 * symlinks, binds, exec through the container's loader, "#!" scripts,
 * /proc/self/exe, processes and threads, exit status, root emulation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ud/ptrace-proot.h"

#include "ptest_root.h"

static struct ptest_root g_root;
static bool g_ready;
static char g_why[256];

/* P1 with and without the notification fast lane, and P2. */
static const struct ptest_mode p1n = {&ud_engine_p1, true};
static const struct ptest_mode p1 = {&ud_engine_p1, false};
static const struct ptest_mode p2 = {&ud_engine_p2, false};

static int
group_setup(void **state)
{
    (void)state;
    if (!ptest_can_ptrace(g_why, sizeof(g_why)))
        return 0;
    g_ready = ptest_root_make(&g_root, g_why, sizeof(g_why));
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    ptest_root_remove(&g_root);
    return 0;
}

#define NEED_ROOT()                                                                                \
    do {                                                                                           \
        if (!g_ready) {                                                                            \
            print_message("SKIP: %s\n", g_why);                                                    \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static struct ud_bind g_sys_binds[] = {
    {"/proc", "/proc", UD_BIND_DIR | UD_BIND_SYS},
    {"/dev", "/dev", UD_BIND_DIR | UD_BIND_SYS},
};

/* Run "sh -c SCRIPT" and expect exit 0; the output is in res. */
static void
sh(const struct ptest_mode *e, const char *script, struct ptest_result *res)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    ptest_run(e, &g_root, "/", g_sys_binds, 2, NULL, argv, res);
    if (res->rc != 0 || !WIFEXITED(res->wstatus) || WEXITSTATUS(res->wstatus) != 0)
        print_message("rc=%d err=%s wstatus=0x%x output:\n%s\n", res->rc, res->err, res->wstatus,
                      res->out);
    assert_int_equal(res->rc, 0);
    assert_true(WIFEXITED(res->wstatus));
    assert_int_equal(WEXITSTATUS(res->wstatus), 0);
}

static struct ptest_result g_res;

static void
test_cwd(void **state)
{
    NEED_ROOT();
    sh(*state, "cd /tmp && pwd -P && /ptest cwd && cd /m/c/bin && pwd -P", &g_res);
    assert_string_equal(g_res.out, "/tmp\n/tmp\n/bin\n");
}

/* ls / shows the container root, every entry of it and nothing else. */
static void
test_ls_root(void **state)
{
    NEED_ROOT();
    char expect[4096] = "";
    struct dirent **names;
    int n = scandir(g_root.root, &names, NULL, alphasort);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            size_t len = strlen(expect);
            snprintf(expect + len, sizeof(expect) - len, "%s\n", names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
    sh(*state, "ls -1 /", &g_res);
    assert_string_equal(g_res.out, expect);
    sh(*state, "cd /../../../.. && pwd -P && ls -1 ../../..", &g_res);
    assert_true(strncmp(g_res.out, "/\n", 2) == 0);
    assert_string_equal(g_res.out + 2, expect);
}

static void
test_proc_self_exe(void **state)
{
    NEED_ROOT();
    sh(*state, "readlink /proc/self/exe; /ptest exe; cd /tmp && ../ptest exe", &g_res);
    assert_string_equal(g_res.out, "/bin/busybox\n/ptest\n/ptest\n");
    sh(*state,
       "/ptest fdlink /etc/hostname; cd /tmp && readlink /proc/self/cwd; "
       "cd /proc/self && readlink cwd | grep -c '^/proc/[0-9]*$'",
       &g_res);
    assert_string_equal(g_res.out, "/etc/hostname\n/tmp\n1\n");
}

/* Absolute and climbing symlinks resolve inside the container. */
static void
test_symlink_maze(void **state)
{
    NEED_ROOT();
    sh(*state, "cat /m/a; cat /m/d/hostname; cat /m/c/m/c/m/b; ls -1 /m/c/ | grep -c ptest",
       &g_res);
    assert_string_equal(g_res.out, "inside\ninside\ninside\n2\n");
    sh(*state, "cat /../../../etc/hostname; cd /m && cat ../../m/a", &g_res);
    assert_string_equal(g_res.out, "inside\ninside\n");
}

static void
test_files(void **state)
{
    NEED_ROOT();
    char p[PATH_MAX];
    sh(*state,
       "echo hi > /tmp/f && mv /tmp/f /tmp/g && cat /tmp/g && mkdir /tmp/d && "
       "ln -s /tmp/g /tmp/d/l && cat /tmp/d/l && echo keep > /tmp/d/l && rm /tmp/g && "
       "ls /tmp/d && rm /tmp/d/l && rmdir /tmp/d && echo kept > /tmp/keep && ls /tmp && "
       "mkfifo /tmp/p && (echo via-fifo > /tmp/p &) && cat /tmp/p && rm /tmp/p",
       &g_res);
    assert_string_equal(g_res.out, "hi\nhi\nl\nkeep\nvia-fifo\n");
    snprintf(p, sizeof(p), "%s/tmp/keep", g_root.root);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(ud_file_read(p, 100, &data, &len, NULL), 0);
    assert_string_equal(data, "kept\n");
    free(data);
    unlink(p);
    snprintf(p, sizeof(p), "%s/tmp/g", g_root.root);
    assert_int_not_equal(access(p, F_OK), 0);
}

static void
test_bind(void **state)
{
    NEED_ROOT();
    struct ud_bind binds[] = {
        {"/proc", "/proc", UD_BIND_DIR | UD_BIND_SYS},
        {g_root.bindsrc, "/mnt/b", UD_BIND_DIR | UD_BIND_USER},
        {g_root.dir, "/new/dir", UD_BIND_DIR | UD_BIND_USER},
    };
    const char *argv[] = {"/bin/sh", "-c",
                          "cat /mnt/b/bound.txt; ls /mnt/b; cd /mnt/b && pwd -P && "
                          "/ptest cwd; cat /new/dir/bindsrc/bound.txt; cat ../../mnt/b/bound.txt",
                          NULL};
    ptest_run(*state, &g_root, "/", binds, 3, NULL, argv, &g_res);
    assert_int_equal(g_res.rc, 0);
    assert_string_equal(g_res.out, "bound\nbound.txt\n/mnt/b\n/mnt/b\nbound\nbound\n");
}

static void
test_exit_status(void **state)
{
    NEED_ROOT();
    const char *a1[] = {"/bin/sh", "-c", "exit 7", NULL};
    ptest_run(*state, &g_root, "/", NULL, 0, NULL, a1, &g_res);
    assert_int_equal(g_res.rc, 0);
    assert_true(WIFEXITED(g_res.wstatus));
    assert_int_equal(WEXITSTATUS(g_res.wstatus), 7);
    const char *a2[] = {"/bin/sh", "-c", "kill -TERM $$; sleep 5", NULL};
    ptest_run(*state, &g_root, "/", NULL, 0, NULL, a2, &g_res);
    assert_int_equal(g_res.rc, 0);
    assert_true(WIFSIGNALED(g_res.wstatus));
    assert_int_equal(WTERMSIG(g_res.wstatus), SIGTERM);
    const char *a3[] = {"/nonexistent", NULL};
    ptest_run(*state, &g_root, "/", NULL, 0, NULL, a3, &g_res);
    assert_int_equal(g_res.rc, 0);
    assert_true(WIFEXITED(g_res.wstatus));
    assert_int_not_equal(WEXITSTATUS(g_res.wstatus), 0);
}

static void
test_root_ids(void **state)
{
    NEED_ROOT();
    sh(*state, "id -u; id -g; /ptest ids; touch /tmp/o && chown 123:45 /tmp/o && echo chown-ok",
       &g_res);
    assert_string_equal(g_res.out, "0\n0\n0 0 0 0 0 0 0 0 0\nchown-ok\n");
}

/* Root emulation of ownership: the caller's files are root's, others are
 * the overflow id, chown and device nodes are remembered across runs and
 * forgotten with the file. */
static void
test_owners(void **state)
{
    NEED_ROOT();
    sh(*state,
       "id -G; touch /tmp/ow && stat -c '%u %g' /tmp/ow / /tmp | head -1; stat -c '%u %g' "
       "/dev/null; chown 123:45 /tmp/ow && stat -c '%u %g' /tmp/ow && ls -ln /tmp/ow | "
       "awk '{print $3, $4}'; mknod /tmp/cd c 1 3 && stat -c '%F %t %T %u' /tmp/cd; "
       "chown 9 /tmp/cd; chmod 4755 /tmp/ow && stat -c '%a %u %g' /tmp/ow; "
       "grep -E '^(Uid|Gid):' /proc/self/status",
       &g_res);
    assert_string_equal(g_res.out, "0\n0 0\n65534 65534\n123 45\n123 45\n"
                                   "character special file 1 3 0\n4755 123 45\n"
                                   "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
    sh(*state,
       "stat -c '%u %g %F' /tmp/ow /tmp/cd; ls -ln /tmp/cd | cut -c1; rm /tmp/ow /tmp/cd; "
       "touch /tmp/ow2 /tmp/ow3; stat -c '%u %g' /tmp/ow2 /tmp/ow3; rm /tmp/ow2 /tmp/ow3",
       &g_res);
    assert_string_equal(g_res.out, "123 45 regular empty file\n9 0 character special file\nc\n"
                                   "0 0\n0 0\n");
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/.ptrace-owners", g_root.cdir);
    assert_int_equal(access(p, F_OK), 0);
}

/* A directory opened with O_PATH (cp's target directory): the fast lane
 * cannot pass such a descriptor (SECCOMP_IOCTL_NOTIF_ADDFD refuses it), so
 * these opens must take the ptrace path. */
static void
test_opath(void **state)
{
    NEED_ROOT();
    sh(*state,
       "rm -rf /tmp/od; mkdir /tmp/od && /ptest opath /tmp/od/ f && cat /tmp/od/f && rm -r /tmp/od",
       &g_res);
    assert_string_equal(g_res.out, "opath ok 0 0 2\nx\n");
}

static void
test_uname(void **state)
{
    NEED_ROOT();
    const char *argv[] = {"/bin/sh", "-c", "uname -r; /ptest uname", NULL};
    ptest_run(*state, &g_root, "/", NULL, 0, "9.8.7-fake", argv, &g_res);
    assert_int_equal(g_res.rc, 0);
    assert_string_equal(g_res.out, "9.8.7-fake\n9.8.7-fake\n");
}

static void
test_script(void **state)
{
    NEED_ROOT();
    sh(*state, "/s.sh arg1; cd /tmp && ../s.sh two; /s2.sh x", &g_res);
    assert_string_equal(g_res.out, "script /s.sh arg1\nscript ../s.sh two\nscript /s.sh /s2.sh\n");
}

static void
test_dynamic(void **state)
{
    NEED_ROOT();
    if (!g_root.dynamic) {
        print_message("SKIP: the host's loader and libc could not be copied\n");
        skip();
    }
    sh(*state,
       "/ptest-dyn exe; /ptest-dyn argv0; cd /tmp && /ptest-dyn cwd && ../ptest-dyn exe; "
       "/ptest-dyn auxv; /ptest-dyn selfexec; /ptest selfexec",
       &g_res);
    assert_string_equal(g_res.out,
                        "/ptest-dyn\n/ptest-dyn\n/tmp\n/ptest-dyn\n/ptest-dyn 1\nagain\nagain\n");
    /* The loader's words are not in /proc/self/cmdline. */
    sh(*state, "/ptest-dyn cmdline x; cd /tmp && ../ptest-dyn cmdline", &g_res);
    assert_string_equal(g_res.out, "/ptest-dyn|cmdline|x\n../ptest-dyn|cmdline\n");
    sh(*state, "/ptest-dyn threads 4 && /ptest-dyn forks 5", &g_res);
    assert_string_equal(g_res.out, "threads 4 bad 0\nforks 5 ok 5\n");
}

static void
test_processes(void **state)
{
    NEED_ROOT();
    sh(*state,
       "i=0; while [ $i -lt 40 ]; do /bin/true; i=$((i+1)); done; echo $i; "
       "/ptest threads 16 && /ptest forks 30 && /ptest threadexec; "
       "(sleep 0.1; echo sub) & wait; echo a | cat | cat",
       &g_res);
    assert_string_equal(g_res.out,
                        "40\nthreads 16 bad 0\nforks 30 ok 30\nexec-from-thread\nsub\na\n");
}

/* A stopped and continued child (group-stop under PTRACE_LISTEN), and a
 * signal's death status seen by its parent inside. */
static void
test_job_control(void **state)
{
    NEED_ROOT();
    sh(*state,
       "exec 2>/dev/null; sleep 3 & p=$!; kill -STOP $p; sleep 0.2; grep -c '^State:.*[tT] (' "
       "/proc/$p/status; "
       "kill -CONT $p; sleep 0.2; grep -c '^State:.*S' /proc/$p/status; kill -TERM $p; "
       "wait $p; echo $?",
       &g_res);
    assert_string_equal(g_res.out, "1\n1\n143\n");
}

/* A signal sent to udocker with kill() reaches the container's process. */
static void
test_signal_forward(void **state)
{
    NEED_ROOT();
    const char *argv[] = {
        "/bin/sh", "-c", "trap 'echo got-usr1; exit 5' USR1; echo ready; sleep 5 & wait $!; exit 1",
        NULL};
    ptest_run_signal(*state, &g_root, "/", g_sys_binds, 2, NULL, argv, SIGUSR1, "ready", &g_res);
    assert_int_equal(g_res.rc, 0);
    assert_string_equal(g_res.out, "ready\ngot-usr1\n");
    assert_true(WIFEXITED(g_res.wstatus));
    assert_int_equal(WEXITSTATUS(g_res.wstatus), 5);
}

static void
test_probe(void **state)
{
    (void)state;
    struct ud_hostcaps caps;
    struct ud_error err = {0};
    memset(&caps, 0, sizeof(caps));
    snprintf(caps.kernel, sizeof(caps.kernel), "6.1.0");
    snprintf(caps.ptrace_why, sizeof(caps.ptrace_why), "kernel.yama.ptrace_scope is 3");
    assert_int_equal(ud_engine_p2.probe(&caps, &err), UD_EUNSUPP);
    assert_non_null(strstr(err.msg, "ptrace_scope is 3"));
    caps.ptrace_why[0] = '\0';
    caps.yama_scope = 3;
    assert_int_equal(ud_engine_p1.probe(&caps, &err), UD_EUNSUPP);
    assert_non_null(strstr(err.msg, "ptrace_scope is 3"));
    caps.ptrace = true;
    assert_int_equal(ud_engine_p2.probe(&caps, &err), 0);
    assert_int_equal(ud_engine_p1.probe(&caps, &err), UD_EUNSUPP);
    assert_non_null(strstr(err.msg, "seccomp"));
    caps.seccomp = true;
    assert_int_equal(ud_engine_p1.probe(&caps, &err), 0);
    snprintf(caps.kernel, sizeof(caps.kernel), "4.19.0");
    assert_int_equal(ud_engine_p1.probe(&caps, &err), UD_EUNSUPP);
    assert_string_equal(ud_engine_p1.mode, "P1");
    assert_string_equal(ud_engine_p2.mode, "P2");
}

#define BOTH(fn)                                                                                   \
    cmocka_unit_test_prestate(fn, (void *)&p1n), cmocka_unit_test_prestate(fn, (void *)&p1),       \
        cmocka_unit_test_prestate(fn, (void *)&p2)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),
        BOTH(test_cwd),
        BOTH(test_ls_root),
        BOTH(test_proc_self_exe),
        BOTH(test_symlink_maze),
        BOTH(test_files),
        BOTH(test_bind),
        BOTH(test_exit_status),
        BOTH(test_root_ids),
        BOTH(test_owners),
        BOTH(test_opath),
        BOTH(test_uname),
        BOTH(test_script),
        BOTH(test_dynamic),
        BOTH(test_processes),
        BOTH(test_job_control),
        BOTH(test_signal_forward),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
