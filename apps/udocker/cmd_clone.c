/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clone [--name=NAME] CONTAINER: copy a whole container directory to a new
 * id and print the new id (a result: it survives -q). A copy in an F mode
 * is set up again in that mode.
 */
#include "cli.h"
#include "ud/layerstore.h"

int
cmd_clone(struct ud_cli *cli)
{
    static const char *const decl[] = {"--name=", NULL};
    ud_cmdline_declare(&cli->cl, decl);
    const char *name = ud_cmdline_opt(&cli->cl, "--name=");
    const char *arg = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    /* Bad input is refused before the repository is opened: opening may
     * create the default one. */
    if (!arg) {
        ud_err("must specify container id or name");
        return 1;
    }
    if (name && !ud_store_name_is_valid(name)) {
        ud_err("invalid container name or wrong format");
        return 1;
    }
    struct ud_store *s = ud_cli_store(cli);
    if (!s)
        return 1;
    struct ud_error err = {0};
    cleanup_free char *src = NULL;
    if (ud_store_container_resolve(s, arg, &src, &err)) {
        ud_err("invalid container id: %s", arg);
        return 1;
    }
    char id[37];
    if (ud_store_container_clone(s, src, name, id, &err)) {
        if (err.code == UD_EEXIST)
            ud_err("container name already exists");
        else
            ud_err("cloning: %s", err.msg);
        return 1;
    }
    if (ud_cli_clone_resetup(s, id))
        return 1;
    ud_out(UD_LOG_MSG, "%s", id);
    return 0;
}
