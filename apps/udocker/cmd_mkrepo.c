/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mkrepo DIR: create a repository skeleton in a directory that does not
 * exist yet (use it later with --repo=DIR or UDOCKER_DIR=DIR).
 */
#include "cli.h"
#include "ud/layerstore.h"

int
cmd_mkrepo(struct ud_cli *cli)
{
    const char *dir = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (!dir || !dir[0]) {
        ud_err("must specify the repository directory");
        return 1;
    }
    if (ud_path_exists(dir)) {
        ud_err("localrepo directory already exists: %s", dir);
        return 1;
    }
    struct ud_error err = {0};
    cleanup_free char *abs = NULL;
    if (ud_path_absolute(dir, &abs, &err)) {
        ud_err("localrepo creation failure: %s: %s", dir, err.msg);
        return 1;
    }
    struct ud_store_paths p = {.topdir = abs};
    if (ud_store_create(&p, &err)) {
        ud_err("localrepo creation failure: %s: %s", dir, err.msg);
        return 1;
    }
    return 0;
}
