/* SPDX-License-Identifier: Apache-2.0 */
/* The run spec builder: argv and --entrypoint, environment precedence,
 * users and the passwd/group copies, volumes, working directory,
 * executable lookup, ports, and allocation failures. */
#include <dirent.h>
#include <fcntl.h>

#include "spec_fx.h"

#define CFG_EP                                                                                     \
    "{\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"],"                      \
    "\"Env\":[\"A=img\",\"B=img\",\"PATH=/usr/bin:/bin\"],\"WorkingDir\":\"/tmp\"}}"

static void
test_entrypoint(void **state)
{
    struct fx *f = *state;
    struct ud_run_spec *s = NULL;
    struct ud_error e = {0};
    char *cmd[] = {"true", "x y", NULL};

    /* No --entrypoint, no command: Entrypoint + Cmd. */
    struct ud_run_opts o = {0};
    assert_int_equal(fx_build(f, &o, NULL, CFG_EP, &s, &e), 0);
    assert_int_equal(fx_argc(s), 3);
    assert_string_equal(s->argv[0], "/bin/sh");
    assert_string_equal(s->argv[2], "echo hi");
    assert_string_equal(s->exe, "/bin/sh");
    assert_string_equal(s->cwd, "/tmp");
    ud_run_spec_free(s);

    /* A command replaces Cmd, keeps the Entrypoint. */
    o.cmd = cmd;
    o.ncmd = 2;
    assert_int_equal(fx_build(f, &o, NULL, CFG_EP, &s, &e), 0);
    assert_int_equal(fx_argc(s), 4);
    assert_string_equal(s->argv[2], "true");
    assert_string_equal(s->argv[3], "x y");
    ud_run_spec_free(s);

    /* --entrypoint="": neither Entrypoint nor Cmd. */
    o.entrypoint = "";
    assert_int_equal(fx_build(f, &o, NULL, CFG_EP, &s, &e), 0);
    assert_int_equal(fx_argc(s), 2);
    assert_string_equal(s->argv[0], "true");
    assert_string_equal(s->exe, "/bin/true");
    ud_run_spec_free(s);

    /* --entrypoint="" and no command: the default command. */
    o.ncmd = 0;
    o.cmd = NULL;
    const char *const defcmd[] = {"sh", "-i", NULL};
    f->d.cmd = defcmd;
    assert_int_equal(fx_build(f, &o, NULL, CFG_EP, &s, &e), 0);
    assert_int_equal(fx_argc(s), 2);
    assert_string_equal(s->argv[0], "sh");
    assert_string_equal(s->argv[1], "-i");
    ud_run_spec_free(s);
    f->d.cmd = NULL;

    /* --entrypoint="/bin/sh  -x": split on spaces; image Cmd dropped. */
    o.entrypoint = "/bin/sh  -x";
    assert_int_equal(fx_build(f, &o, NULL, CFG_EP, &s, &e), 0);
    assert_int_equal(fx_argc(s), 2);
    assert_string_equal(s->argv[1], "-x");
    o.cmd = cmd;
    o.ncmd = 1;
    ud_run_spec_free(s);
    assert_int_equal(fx_build(f, &o, NULL, CFG_EP, &s, &e), 0);
    assert_int_equal(fx_argc(s), 3);
    assert_string_equal(s->argv[2], "true");
    ud_run_spec_free(s);

    /* --nometa ignores the image: the CLI command alone. */
    struct ud_run_opts o2 = {.cmd = cmd, .ncmd = 1, .nometa = true};
    assert_int_equal(fx_build(f, &o2, NULL, CFG_EP, &s, &e), 0);
    assert_int_equal(fx_argc(s), 1);
    assert_null(fx_env(s, "A"));
    assert_string_equal(s->cwd, "/root");
    ud_run_spec_free(s);

    /* A string Entrypoint is split on whitespace (reference 4.2). */
    assert_int_equal(
        fx_build(f, &(struct ud_run_opts){0}, NULL,
                 "{\"container_config\":{\"Entrypoint\":\"/bin/sh -e\",\"cmd\":[\"z\"]}}", &s, &e),
        0);
    assert_int_equal(fx_argc(s), 3);
    assert_string_equal(s->argv[1], "-e");
    assert_string_equal(s->argv[2], "z");
    ud_run_spec_free(s);
}

static void
test_exe_lookup(void **state)
{
    struct fx *f = *state;
    struct ud_run_spec *s = NULL;
    struct ud_error e = {0};
    char *a[] = {NULL, NULL};
    struct ud_run_opts o = {.cmd = a, .ncmd = 1};

    /* An absolute link in the container goes to the container's /bin/sh. */
    a[0] = "env";
    assert_int_equal(fx_build(f, &o, NULL, "{\"config\":{\"Env\":[\"PATH=/usr/bin\"]}}", &s, &e),
                     0);
    assert_string_equal(s->exe, "/usr/bin/env");
    ud_run_spec_free(s);

    /* Not executable, missing: 'command not found' (exit 127 in the CLI). */
    a[0] = "noexec";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), UD_ENOENT);
    assert_string_equal(e.msg, "command not found or has no execute bit set: ['noexec']");
    a[0] = "/nope/x";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), UD_ENOENT);
    assert_non_null(strstr(e.msg, "command not found"));
    a[0] = "/bin";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), UD_ENOENT);

    /* Through a volume, by PATH. */
    const char *vol[] = {fx_p(f, "host/tools:/opt/tools")};
    struct ud_run_opts ov = {.cmd = a, .ncmd = 1, .volumes = vol, .nvolumes = 1};
    const char *el[] = {"PATH=/opt/tools:/bin"};
    ov.env = el;
    ov.nenv = 1;
    a[0] = "run";
    assert_int_equal(fx_build(f, &ov, NULL, NULL, &s, &e), 0);
    assert_string_equal(s->exe, "/opt/tools/run");
    char *hp = ud_run_spec_host_path(s, "/opt/tools/run");
    assert_string_equal(hp, fx_p(f, "host/tools/run"));
    free(hp);
    hp = ud_run_spec_host_path(s, "/etc/x");
    assert_string_equal(hp, fx_p(f, "ROOT/etc/x"));
    free(hp);
    ud_run_spec_free(s);

    /* ./x and ../x against the working directory. */
    struct ud_run_opts ow = {.cmd = a, .ncmd = 1, .workdir = "/usr/bin"};
    a[0] = "../../bin/sh";
    assert_int_equal(fx_build(f, &ow, NULL, NULL, &s, &e), 0);
    assert_string_equal(s->exe, "/bin/sh");
    assert_string_equal(s->argv[0], "../../bin/sh");
    ud_run_spec_free(s);
    a[0] = "./env";
    assert_int_equal(fx_build(f, &ow, NULL, NULL, &s, &e), 0);
    assert_string_equal(s->exe, "/usr/bin/env");
    ud_run_spec_free(s);
}

static void
test_env(void **state)
{
    struct fx *f = *state;
    struct ud_run_spec *s = NULL;
    struct ud_error e = {0};
    char *a[] = {"sh", NULL};
    fx_write(fx_p(f, "host/envf"),
             "A=file\nB=file\n  C=file  \n1BAD=x\nBAD KEY=x\n\nHOSTONLY\nD=a=b\r\n", 0644);
    const char *ef[] = {fx_p(f, "host/envf")};
    const char *ev[] = {"A=cli", "FOO", "E="};
    struct ud_run_opts o = {
        .cmd = a, .ncmd = 1, .env = ev, .nenv = 3, .env_files = ef, .nenv_files = 1};

    assert_int_equal(fx_build(f, &o, "R1", CFG_EP, &s, &e), 0);
    assert_string_equal(fx_env(s, "A"), "cli");  /* -e first */
    assert_string_equal(fx_env(s, "B"), "img");  /* then the image */
    assert_string_equal(fx_env(s, "C"), "file"); /* then --env-file */
    assert_string_equal(fx_env(s, "D"), "a=b");
    assert_string_equal(fx_env(s, "E"), "");
    assert_string_equal(fx_env(s, "FOO"), "bar");    /* bare -e: host value */
    assert_string_equal(fx_env(s, "HOSTONLY"), "h"); /* bare line: host value */
    assert_null(fx_env(s, "1BAD"));
    assert_null(fx_env(s, "BAD KEY"));
    assert_string_equal(fx_env(s, "PATH"), "/usr/bin:/bin"); /* image PATH kept */
    assert_string_equal(fx_env(s, "HOME"), "/root");
    assert_string_equal(fx_env(s, "USER"), "root");
    assert_string_equal(fx_env(s, "LOGNAME"), "root");
    assert_string_equal(fx_env(s, "USERNAME"), "root");
    assert_string_equal(fx_env(s, "PS1"), "01234567# ");
    assert_string_equal(fx_env(s, "SHLVL"), "0");
    assert_string_equal(fx_env(s, "container_ruser"), "hu");
    assert_string_equal(fx_env(s, "container_root"), f->root);
    assert_string_equal(fx_env(s, "container_uuid"), "0123456789abcdef-id");
    assert_string_equal(fx_env(s, "container_execmode"), "R1");
    assert_string_equal(fx_env(s, "container_names"), "box,other");
    assert_string_equal(fx_env(s, "TERM"), "xterm"); /* allowed host variable */
    assert_null(fx_env(s, "VTE_VERSION"));
    ud_run_spec_free(s);

    /* No PATH anywhere: root_path for uid 0, user_path otherwise; --hostenv
     * passes everything but the denied ones, under the container's. */
    struct ud_run_opts o2 = {.cmd = a, .ncmd = 1, .hostenv = true};
    f->d.root_path = "/r:/bin";
    f->d.user_path = "/u:/bin";
    assert_int_equal(fx_build(f, &o2, "R1", NULL, &s, &e), 0);
    assert_string_equal(fx_env(s, "PATH"), "/r:/bin");
    assert_string_equal(fx_env(s, "FOO"), "bar");
    assert_null(fx_env(s, "VTE_VERSION"));
    ud_run_spec_free(s);
    o2.user = "alice";
    o2.hostenv = false;
    assert_int_equal(fx_build(f, &o2, "R1", NULL, &s, &e), 0);
    assert_string_equal(fx_env(s, "PATH"), "/u:/bin");
    assert_string_equal(fx_env(s, "PS1"), "01234567\\$ ");
    assert_string_equal(fx_env(s, "HOME"), "/home/alice");
    assert_null(fx_env(s, "FOO"));
    ud_run_spec_free(s);
    f->d.root_path = f->d.user_path = NULL;

    /* A missing env file is an error. */
    const char *bad[] = {fx_p(f, "host/none")};
    struct ud_run_opts o3 = {.cmd = a, .ncmd = 1, .env_files = bad, .nenv_files = 1};
    assert_int_equal(fx_build(f, &o3, "R1", NULL, &s, &e), UD_ENOENT);
    assert_non_null(strstr(e.msg, "invalid env file"));
}

/* The text of the generated bind onto cont, or NULL. */
static char *
gen_text(const struct ud_run_spec *s, const char *cont)
{
    for (size_t i = 0; i < s->nbinds; i++)
        if (strcmp(s->binds[i].cont, cont) == 0 && (s->binds[i].flags & UD_BIND_GENERATED)) {
            char *t = NULL;
            size_t n = 0;
            struct stat st;
            assert_int_equal(stat(s->binds[i].host, &st), 0);
            assert_int_equal(st.st_mode & 0777, 0600);
            assert_int_equal(ud_file_read(s->binds[i].host, 1 << 20, &t, &n, NULL), 0);
            return t;
        }
    return NULL;
}

static void
test_user(void **state)
{
    struct fx *f = *state;
    struct ud_run_spec *s = NULL;
    struct ud_error e = {0};
    char *a[] = {"sh", NULL};
    struct ud_run_opts o = {.cmd = a, .ncmd = 1, .user = "1234:5678"};

    /* uid:gid not in the container: that uid and gid, a sane name. */
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), 0);
    assert_int_equal(s->uid, 1234);
    assert_int_equal(s->gid, 5678);
    assert_string_equal(s->user, "1234");
    assert_false(s->as_root);
    char *pw = gen_text(s, "/etc/passwd"), *gr = gen_text(s, "/etc/group");
    assert_non_null(strstr(pw, "\n1234:x:1234:5678:*UDOCKER*:/:/bin/sh\n"));
    assert_non_null(strstr(gr, "\n1234:x:5678:\n")); /* host has no gid 5678 */
    assert_non_null(strstr(gr, "\nG4343:x:4343:1234,\n"));
    assert_non_null(strstr(gr, "\nG50:x:50:1234,\n"));
    char gen[512] = "";
    for (size_t i = 0; i < s->nbinds; i++)
        if (s->binds[i].flags & UD_BIND_GENERATED)
            snprintf(gen, sizeof(gen), "%s", s->binds[i].host);
    assert_true(ud_path_exists(gen));
    free(pw);
    free(gr);
    /* Generated binds come before user volumes. */
    ud_run_spec_free(s);
    assert_false(ud_path_exists(gen));

    /* A named user of the container runs with the caller's ids. */
    o.user = "alice";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), 0);
    assert_int_equal(s->uid, 4242);
    assert_int_equal(s->gid, 4343);
    assert_string_equal(s->home, "/home/alice");
    assert_string_equal(s->shell, "/bin/ash");
    assert_string_equal(s->cwd, "/home/alice");
    pw = gen_text(s, "/etc/passwd");
    gr = gen_text(s, "/etc/group");
    assert_non_null(strstr(pw, "alice:x:4242:4343:Alice A:/home/alice:/bin/ash\n"));
    assert_null(strstr(gr, "alice:x:4343:")); /* the host has gid 4343 */
    free(pw);
    free(gr);
    ud_run_spec_free(s);

    /* Root in the container keeps 0:0, and its line is not repeated. */
    o.user = "root";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), 0);
    assert_true(s->as_root);
    assert_int_equal(s->uid, 0);
    pw = gen_text(s, "/etc/passwd");
    assert_string_equal(pw, "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice "
                            "A:/home/alice:/bin/ash\n");
    free(pw);
    ud_run_spec_free(s);

    /* Unknown name: the caller's ids, home "/". */
    o.user = "bob";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), 0);
    assert_int_equal(s->uid, 4242);
    assert_string_equal(s->home, "/");
    ud_run_spec_free(s);

    /* Not found with --hostauth / --containerauth is an error. */
    o.hostauth = true;
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), UD_ENOENT);
    assert_string_equal(e.msg, "user not found: bob");
    o.hostauth = false;
    o.containerauth = true;
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), UD_ENOENT);

    /* --containerauth: no copies. */
    o.user = "alice";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), 0);
    assert_null(gen_text(s, "/etc/passwd"));
    assert_null(gen_text(s, "/etc/group"));
    ud_run_spec_free(s);
    o.containerauth = false;

    /* --hostauth: copies of the host files, no lines added. */
    o.user = "hu";
    o.hostauth = true;
    o.workdir = "/";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), 0);
    pw = gen_text(s, "/etc/passwd");
    gr = gen_text(s, "/etc/group");
    assert_string_equal(pw, "root:x:0:0:root:/root:/bin/bash\nhu:x:4242:4343:Host "
                            "U:/home/hu:/bin/bash\n");
    assert_string_equal(gr, "root:x:0:\nhg:x:4343:\nextra:x:50:\n");
    assert_string_equal(s->home, "/home/hu");
    free(pw);
    free(gr);
    ud_run_spec_free(s);
    o.hostauth = false;
    o.workdir = NULL;

    /* Bad syntax. */
    const char *badu[] = {"a:b", "1:x", "-x", "a b", ":1", "1:", "a/b"};
    for (size_t i = 0; i < sizeof(badu) / sizeof(badu[0]); i++) {
        o.user = badu[i];
        assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), UD_EINVAL);
        assert_non_null(strstr(e.msg, "invalid syntax for user"));
    }

    /* The image's User applies without --user; --user wins. */
    o.user = NULL;
    assert_int_equal(fx_build(f, &o, NULL, "{\"config\":{\"User\":\"alice\"}}", &s, &e), 0);
    assert_string_equal(s->user, "alice");
    ud_run_spec_free(s);
    o.user = "0";
    assert_int_equal(fx_build(f, &o, NULL, "{\"config\":{\"User\":\"alice\"}}", &s, &e), 0);
    assert_string_equal(s->user, "root");
    assert_int_equal(s->gid, 0);
    ud_run_spec_free(s);

    /* An explicit bind of /etc/passwd: nothing generated. */
    const char *vol[] = {fx_p(f, "host/passwd:/etc/passwd")};
    struct ud_run_opts ov = {
        .cmd = a, .ncmd = 1, .volumes = vol, .nvolumes = 1, .user = "hu", .workdir = "/"};
    assert_int_equal(fx_build(f, &ov, NULL, NULL, &s, &e), 0);
    assert_null(gen_text(s, "/etc/passwd"));
    assert_null(gen_text(s, "/etc/group"));
    assert_string_equal(s->home, "/home/hu"); /* looked up in the bound file */
    ud_run_spec_free(s);

    /* --bindhome: the host home, bound. */
    struct ud_run_opts ob = {.cmd = a, .ncmd = 1, .bindhome = true};
    f->h.home = f->hostd;
    assert_int_equal(fx_build(f, &ob, NULL, NULL, &s, &e), 0);
    assert_string_equal(s->home, f->hostd);
    assert_string_equal(fx_env(s, "HOME"), f->hostd);
    assert_string_equal(s->cwd, f->hostd);
    ud_run_spec_free(s);
    f->h.home = "/home/hu";
}

static bool
has_bind(const struct ud_run_spec *s, const char *host, const char *cont, unsigned flags)
{
    for (size_t i = 0; i < s->nbinds; i++)
        if (strcmp(s->binds[i].host, host) == 0 && strcmp(s->binds[i].cont, cont) == 0 &&
            (s->binds[i].flags & flags) == flags)
            return true;
    return false;
}

static void
test_volumes(void **state)
{
    struct fx *f = *state;
    struct ud_run_spec *s = NULL;
    struct ud_error e = {0};
    char *a[] = {"sh", NULL};
    char v1[256], v2[256], v3[256], v4[256];
    snprintf(v1, sizeof(v1), "%s//data/", f->hostd);
    snprintf(v2, sizeof(v2), "%s/file:/etc/x.conf", f->hostd);
    snprintf(v3, sizeof(v3), "%s/tools:", f->hostd);
    snprintf(v4, sizeof(v4), "%s/tools:/t", f->hostd);
    const char *vols[] = {v1, v2, v3, v4};
    const char *novol[] = {v4, "/not/there"};
    struct ud_run_opts o = {
        .cmd = a, .ncmd = 1, .volumes = vols, .nvolumes = 4, .novol = novol, .nnovol = 2};

    assert_int_equal(fx_build(f, &o, "P1", NULL, &s, &e), 0);
    assert_true(
        has_bind(s, fx_p(f, "host/data"), fx_p(f, "host/data"), UD_BIND_USER | UD_BIND_DIR));
    assert_true(has_bind(s, fx_p(f, "host/file"), "/etc/x.conf", UD_BIND_USER));
    assert_true(has_bind(s, fx_p(f, "host/tools"), fx_p(f, "host/tools"), UD_BIND_USER));
    assert_false(has_bind(s, fx_p(f, "host/tools"), "/t", 0)); /* removed by --novol */
    /* P modes: /proc and /dev as system binds, first. */
    assert_true(has_bind(s, "/proc", "/proc", UD_BIND_SYS | UD_BIND_DIR));
    assert_true(s->binds[0].flags & UD_BIND_SYS);
    assert_true(s->binds[s->nbinds - 1].flags & UD_BIND_USER);
    ud_run_spec_free(s);

    /* R modes: only resolv.conf and host.conf; --nosysdirs none. */
    assert_int_equal(fx_build(f, &o, "R1", NULL, &s, &e), 0);
    assert_false(has_bind(s, "/proc", "/proc", 0));
    for (size_t i = 0; i < s->nbinds; i++)
        if (s->binds[i].flags & UD_BIND_SYS)
            assert_true(strcmp(s->binds[i].cont, "/etc/resolv.conf") == 0 ||
                        strcmp(s->binds[i].cont, "/etc/host.conf") == 0);
    ud_run_spec_free(s);
    o.nosysdirs = true;
    assert_int_equal(fx_build(f, &o, "P1", NULL, &s, &e), 0);
    for (size_t i = 0; i < s->nbinds; i++)
        assert_false(s->binds[i].flags & UD_BIND_SYS);
    ud_run_spec_free(s);

    /* Validation. */
    struct {
        const char *v, *msg;
    } bad[] = {
        {"relative/path:/x", "invalid host volume path: relative/path"},
        {"/does/not/exist:/x", "invalid host volume path: /does/not/exist"},
        {"/tmp:rel", "invalid container volume path: rel"},
        {"/tmp:/", "invalid container volume path: /"},
        {"/tmp:/a/..", "invalid container volume path: /a/.."},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ud_run_opts ob = {.cmd = a, .ncmd = 1, .volumes = &bad[i].v, .nvolumes = 1};
        assert_int_equal(fx_build(f, &ob, "R1", NULL, &s, &e), UD_EINVAL);
        assert_string_equal(e.msg, bad[i].msg);
    }
}

static void
test_workdir(void **state)
{
    struct fx *f = *state;
    struct ud_run_spec *s = NULL;
    struct ud_error e = {0};
    char *a[] = {"sh", NULL};
    struct ud_run_opts o = {.cmd = a, .ncmd = 1, .workdir = "/nope"};

    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), UD_EINVAL);
    assert_string_equal(e.msg, "invalid working directory: /nope");
    o.workdir = "tmp";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), UD_EINVAL);
    o.workdir = "/bin/sh";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), UD_EINVAL);
    /* Through a container symlink and through a volume. */
    o.workdir = "/alice/";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), 0);
    assert_string_equal(s->cwd, "/alice");
    ud_run_spec_free(s);
    const char *vol[] = {fx_p(f, "host/data:/mnt/d")};
    o.volumes = vol;
    o.nvolumes = 1;
    o.workdir = "/mnt/d";
    assert_int_equal(fx_build(f, &o, NULL, NULL, &s, &e), 0);
    ud_run_spec_free(s);
    /* The image's WorkingDir must exist too. */
    o.workdir = NULL;
    assert_int_equal(fx_build(f, &o, NULL, "{\"config\":{\"WorkingDir\":\"/srv\"}}", &s, &e),
                     UD_EINVAL);
    /* No files generated by failed builds remain. */
    char *tmp = fx_p(f, "tmp");
    DIR *d = opendir(tmp);
    struct dirent *de;
    int count = 0;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            count++;
    closedir(d);
    assert_int_equal(count, 0);
}

static void
test_ports_misc(void **state)
{
    struct fx *f = *state;
    struct ud_run_spec *s = NULL;
    struct ud_error e = {0};
    char *a[] = {"sh", NULL};
    const char *p[] = {"8080:80", "127.0.0.1:2222:22/tcp", "[::1]:5353:53/udp"};
    const char *dev[] = {"/dev/null"};
    struct ud_run_opts o = {.cmd = a,
                            .ncmd = 1,
                            .publish = p,
                            .npublish = 3,
                            .publish_all = true,
                            .devices = dev,
                            .ndevices = 1,
                            .kernel = "6.1.0",
                            .cpuset = "0-1"};

    assert_int_equal(
        fx_build(f, &o, NULL,
                 "{\"config\":{\"Hostname\":\"a.b\",\"ExposedPorts\":{\"80/tcp\":{}}}}", &s, &e),
        0);
    assert_string_equal(s->exposed[0], "80/tcp");
    assert_null(s->exposed[1]);
    assert_int_equal(s->nports, 3);
    assert_int_equal(s->ports[0].host, 8080);
    assert_int_equal(s->ports[0].cont, 80);
    assert_null(s->ports[0].ip);
    assert_string_equal(s->ports[1].ip, "127.0.0.1");
    assert_int_equal(s->ports[1].host, 2222);
    assert_string_equal(s->ports[2].ip, "::1");
    assert_int_equal(s->ports[2].cont, 53);
    assert_true(s->publish_all);
    assert_string_equal(s->devices[0], "/dev/null");
    assert_string_equal(s->kernel, "6.1.0");
    assert_string_equal(s->cpuset, "0-1");
    assert_string_equal(s->hostname, "a.b");
    assert_string_equal(s->mode, "R1");
    assert_string_equal(s->names[1], "other");
    ud_run_spec_free(s);
    assert_int_equal(fx_build(f, &o, NULL, "{\"config\":{\"Hostname\":\"ab\"}}", &s, &e), 0);
    assert_null(s->hostname);
    assert_null(s->exposed[0]);
    ud_run_spec_free(s);

    const char *bad[] = {"80", "x:80", "70000:80", "0:80", "80:", ":80", "1:2:3:4x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ud_run_opts ob = {.cmd = a, .ncmd = 1, .publish = &bad[i], .npublish = 1};
        assert_int_equal(fx_build(f, &ob, NULL, NULL, &s, &e), UD_EINVAL);
        assert_non_null(strstr(e.msg, "invalid port mapping"));
    }
    /* Malformed metadata is an error, not a crash. */
    assert_int_equal(fx_build(f, &o, NULL, "{\"config\":", &s, &e), UD_EPARSE);
}

/* Every allocation failure is a clean error; the call succeeds once the
 * limit is past the last allocation. */
static void
test_alloc_fail(void **state)
{
    struct fx *f = *state;
    struct ud_run_spec *s = NULL;
    struct ud_error e = {0};
    char *a[] = {"env", "x", NULL};
    fx_write(fx_p(f, "host/envf2"), "K=v\nL\n", 0644);
    const char *ef[] = {fx_p(f, "host/envf2")};
    const char *ev[] = {"A=1", "FOO"};
    const char *vol[] = {fx_p(f, "host/data:/mnt/d"), fx_p(f, "host/file")};
    const char *p[] = {"1.2.3.4:80:8080"};
    struct ud_run_opts o = {.cmd = a,
                            .ncmd = 2,
                            .env = ev,
                            .nenv = 2,
                            .env_files = ef,
                            .nenv_files = 1,
                            .volumes = vol,
                            .nvolumes = 2,
                            .publish = p,
                            .npublish = 1,
                            .user = "alice"};
    int rc = -1;
    long n;
    ud_json_use_ud_alloc();
    /* The reference result, without failures. */
    assert_int_equal(fx_build(f, &o, NULL, CFG_EP, &s, &e), 0);
    size_t nenv = 0, nb = s->nbinds;
    while (s->env[nenv])
        nenv++;
    ud_run_spec_free(s);
    s = NULL;
    for (n = 1; n < 5000 && rc != 0; n++) {
        ud_alloc_fail_after(n);
        rc = fx_build(f, &o, NULL, CFG_EP, &s, &e);
        ud_alloc_fail_after(0);
        if (rc != 0)
            assert_int_equal(rc, UD_ENOMEM);
    }
    assert_int_equal(rc, 0);
    assert_true(n > 20);
    assert_string_equal(s->exe, "/bin/sh");
    assert_string_equal(s->argv[2], "env");
    assert_int_equal(s->nbinds, nb);
    size_t k = 0;
    while (s->env[k])
        k++;
    assert_int_equal(k, nenv);
    ud_run_spec_free(s);
    /* Nothing generated is left behind by the failed attempts. */
    DIR *d = opendir(fx_p(f, "tmp"));
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        assert_true(de->d_name[0] == '.');
    closedir(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_entrypoint, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_exe_lookup, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_env, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_user, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_volumes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_workdir, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ports_misc, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_alloc_fail, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
