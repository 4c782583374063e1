/* SPDX-License-Identifier: Apache-2.0 */
/* A fake container root and host identity for the spec builder tests. */
#pragma once

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

#include "ud/engine.h"

struct fx {
    char dir[64];   /* the temporary directory */
    char root[96];  /* dir/ROOT */
    char hostd[96]; /* dir/host: host-side files for volumes */
    char hpw[128];  /* host passwd and group files */
    char hgr[128];
    struct ud_host_ident h;
    gid_t groups[2];
    char *envv[8];
    struct ud_run_defaults d;
};

static inline void
fx_write(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static inline char *
fx_p(const struct fx *f, const char *rel)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", f->dir, rel);
    return buf[k];
}

static inline void
fx_mkdir(const struct fx *f, const char *rel)
{
    struct ud_error e = {0};
    assert_int_equal(ud_mkdir_p(fx_p(f, rel), 0755, &e), 0);
}

static inline int
fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/udspec-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof(f->root), "%s/ROOT", f->dir);
    snprintf(f->hostd, sizeof(f->hostd), "%s/host", f->dir);
    const char *dirs[] = {"ROOT/bin", "ROOT/usr/bin", "ROOT/etc",   "ROOT/root", "ROOT/home/alice",
                          "ROOT/tmp", "ROOT/opt",     "host/tools", "host/data", "tmp"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        fx_mkdir(f, dirs[i]);
    fx_write(fx_p(f, "ROOT/bin/sh"), "#!\n", 0755);
    fx_write(fx_p(f, "ROOT/bin/noexec"), "x\n", 0644);
    assert_int_equal(symlink("sh", fx_p(f, "ROOT/bin/true")), 0);
    /* An absolute link: resolved in the container, not on the host. */
    assert_int_equal(symlink("/bin/sh", fx_p(f, "ROOT/usr/bin/env")), 0);
    assert_int_equal(symlink("/home/alice", fx_p(f, "ROOT/alice")), 0);
    fx_write(fx_p(f, "ROOT/etc/passwd"),
             "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice A:/home/alice:/bin/ash\n",
             0644);
    fx_write(fx_p(f, "ROOT/etc/group"), "root:x:0:\nalice:x:1000:\n", 0644);
    fx_write(fx_p(f, "host/tools/run"), "#!\n", 0755);
    fx_write(fx_p(f, "host/file"), "data\n", 0644);
    snprintf(f->hpw, sizeof(f->hpw), "%s/host/passwd", f->dir);
    snprintf(f->hgr, sizeof(f->hgr), "%s/host/group", f->dir);
    fx_write(f->hpw, "root:x:0:0:root:/root:/bin/bash\nhu:x:4242:4343:Host U:/home/hu:/bin/bash\n",
             0644);
    fx_write(f->hgr, "root:x:0:\nhg:x:4343:\nextra:x:50:\n", 0644);
    f->groups[0] = 4343;
    f->groups[1] = 50;
    f->envv[0] = "TERM=xterm";
    f->envv[1] = "PATH=/host/bin";
    f->envv[2] = "FOO=bar";
    f->envv[3] = "VTE_VERSION=1";
    f->envv[4] = "HOSTONLY=h";
    f->envv[5] = NULL;
    f->h = (struct ud_host_ident){.uid = 4242,
                                  .gid = 4343,
                                  .user = "hu",
                                  .home = "/home/hu",
                                  .groups = f->groups,
                                  .ngroups = 2,
                                  .environ = f->envv,
                                  .passwd_file = f->hpw,
                                  .group_file = f->hgr};
    f->d.tmpdir = strdup(fx_p(f, "tmp"));
    *state = f;
    return 0;
}

static inline int
fx_teardown(void **state)
{
    struct fx *f = *state;
    struct ud_error e = {0};
    assert_int_equal(ud_rm_rf(f->dir, &e), 0);
    free((char *)f->d.tmpdir);
    free(f);
    return 0;
}

/* Build with opts; mode "R1"; config JSON text (may be NULL). */
static inline int
fx_build(struct fx *f, const struct ud_run_opts *o, const char *mode, const char *json,
         struct ud_run_spec **out, struct ud_error *e)
{
    char *names[] = {"box", "other", NULL};
    return ud_run_spec_build(o, &f->h, &f->d, "0123456789abcdef-id", f->dir, f->root, names,
                             mode ? mode : "R1", json, json ? strlen(json) : 0, out, e);
}

static inline const char *
fx_env(const struct ud_run_spec *s, const char *k)
{
    size_t kl = strlen(k);
    for (size_t i = 0; s->env[i]; i++)
        if (strncmp(s->env[i], k, kl) == 0 && s->env[i][kl] == '=')
            return s->env[i] + kl + 1;
    return NULL;
}

static inline size_t
fx_argc(const struct ud_run_spec *s)
{
    size_t n = 0;
    while (s->argv[n])
        n++;
    return n;
}
