/* SPDX-License-Identifier: Apache-2.0 */
/*
 * setup [--execmode=XY|auto] [--force] [--purge] C (reference 1.6 and
 * 5.6): with no option, print the container's mode; --purge removes the
 * mountpoints udocker made and the FileBind leftovers; --execmode switches
 * the mode under the repository lock. Only the modes whose engines are in
 * this build can be chosen; "auto" takes the fastest that works here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "output.h"
#include "run_int.h"
#include "ud/layerstore.h"

/* The mode the container runs in, as "setup C" prints it. */
static int
show(struct ud_cli *cli, const char *cdir)
{
    const struct ud_engine *e = NULL;
    struct ud_hostcaps caps;
    bool recorded = false;
    char mode[5] = "";
    cleanup_free char *nv = ud_path_join(cdir, "nvidia");

    /* Print what a run would use; a mode that cannot run here is still
     * the container's mode. */
    char m3[3] = "";
    struct ud_error err = {0};
    if (ud_execmode_get(cdir, m3, &err) == 0 && m3[0])
        memcpy(mode, m3, 3);
    else {
        ud_cli_default_execmode(cli, mode);
        if (strcmp(mode, "auto") == 0 && ud_cli_engine_pick(cli, cdir, &recorded, &e, &caps) == 0)
            snprintf(mode, sizeof(mode), "%s", e->mode);
    }
    ud_out(UD_LOG_MSG, "execmode: %s", mode);
    ud_out(UD_LOG_MSG, "nvidiamode: %s", nv && ud_path_exists(nv) ? "True" : "False");
    return 0;
}

/* --execmode: XY or auto. */
static int
switch_mode(struct ud_cli *cli, struct ud_store *s, const struct ud_engine_ctr *c, const char *want,
            bool force)
{
    struct ud_error err = {0};
    char mode[4];
    int rc;

    snprintf(mode, sizeof(mode), "%.3s", want);
    for (char *p = mode; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    if (strcasecmp(want, "auto") == 0) {
        const struct ud_engine *e;
        struct ud_hostcaps caps;
        if (ud_cli_auto_engine(cli, &caps, &e, &err) != 0) {
            ud_err("%s", err.msg);
            return 1;
        }
        snprintf(mode, sizeof(mode), "%s", e->mode);
    } else if (strlen(want) != 2 || !ud_execmode_valid(mode)) {
        ud_err("invalid execmode: %s", want);
        return 1;
    }
    if (ud_store_container_is_protected(s, c->id)) {
        ud_err("container is protected");
        return 1;
    }
    if (ud_store_lock(s, true, &err) != 0) {
        ud_err("%s", err.msg);
        return 1;
    }
    rc = ud_execmode_set(ud_cli_engines, c, mode, force, &err);
    ud_store_unlock(s);
    if (rc != 0) {
        if (rc == UD_EUNSUPP && strstr(err.msg, "not available") != NULL)
            ud_err("%s", err.msg);
        else
            ud_err("container setup failed: %s", err.msg);
        return 1;
    }
    return 0;
}

int
ud_cli_clone_resetup(struct ud_store *s, const char *id)
{
    struct ud_error err = {0};
    cleanup_free char *cdir = NULL;
    cleanup_free char *root = NULL;
    char mode[3] = "";

    if (ud_store_container_dir(s, id, &cdir, &err) != 0 || ud_execmode_get(cdir, mode, &err) != 0 ||
        mode[0] != 'F')
        return 0; /* nothing to redo; a run reports a bad execmode file */
    if (!(root = ud_path_join(cdir, "ROOT"))) {
        ud_err("out of memory");
        return 1;
    }
    struct ud_engine_ctr c = {.id = id, .cdir = cdir, .root = root};
    int rc = ud_store_lock(s, true, &err);
    if (rc == 0) {
        rc = ud_execmode_set(ud_cli_engines, &c, mode, true, &err);
        ud_store_unlock(s);
    }
    /* Without the F engines (this build) the copy keeps the mode it had;
     * switching it later undoes the links into the source's ROOT. */
    if (rc != 0)
        ud_warn("container %s kept execution mode %s: %s", id, mode, err.msg);
    return 0;
}

int
cmd_setup(struct ud_cli *cli)
{
    static const char *const decl[] = {"--execmode=", NULL};
    ud_cmdline_declare(&cli->cl, decl);
    const char *execmode = ud_cmdline_opt(&cli->cl, "--execmode=");
    bool force = ud_cmdline_flag(&cli->cl, "--force");
    bool purge = ud_cmdline_flag(&cli->cl, "--purge");
    bool fixperm = ud_cmdline_flag(&cli->cl, "--fixperm");
    bool nvidia = ud_cmdline_flag(&cli->cl, "--nvidia");
    const char *target = ud_cmdline_pos(&cli->cl, 0);
    struct ud_error err = {0};
    cleanup_free char *id = NULL;
    cleanup_free char *cdir = NULL;
    cleanup_free char *root = NULL;

    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (target == NULL) {
        ud_err("invalid container id");
        return 1;
    }
    struct ud_store *s = ud_cli_store(cli);
    if (s == NULL)
        return 1;
    if (ud_store_container_resolve(s, target, &id, &err) != 0 ||
        ud_store_container_dir(s, id, &cdir, &err) != 0) {
        ud_err("%s", err.msg);
        return 1;
    }
    if (!(root = ud_path_join(cdir, "ROOT"))) {
        ud_err("out of memory");
        return 1;
    }
    struct ud_engine_ctr c = {.id = id, .cdir = cdir, .root = root};
    if (fixperm || nvidia) {
        ud_err("%s is not available in this build", fixperm ? "--fixperm" : "--nvidia");
        return 1;
    }
    if (!purge && !execmode)
        return show(cli, cdir);
    if (purge) {
        int rc = ud_store_lock(s, true, &err);
        if (rc == 0) {
            rc = ud_execmode_purge(&c, &err);
            ud_store_unlock(s);
        }
        if (rc != 0) {
            ud_err("purge: %s", err.msg);
            return 1;
        }
    }
    return execmode ? switch_mode(cli, s, &c, execmode, force) : 0;
}
