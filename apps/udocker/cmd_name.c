/* SPDX-License-Identifier: Apache-2.0 */
/*
 * name ID NAME / rmname NAME: container names are relative links in
 * containers/ sharing one namespace with the ids (reference 2.4).
 */
#include "cli.h"
#include "ud/layerstore.h"

int
cmd_name(struct ud_cli *cli)
{
    const char *id = ud_cmdline_pos(&cli->cl, 0);
    const char *name = ud_cmdline_pos(&cli->cl, 1);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    struct ud_error err = {0};
    cleanup_free char *resolved = NULL;
    struct ud_store *s = id && name ? ud_cli_store(cli) : NULL;
    if (id && name && !s)
        return 1;
    if (!s || ud_store_container_resolve(s, id, &resolved, &err)) {
        ud_err("invalid container id or name");
        return 1;
    }
    if (ud_store_name_add(s, resolved, name, &err)) {
        if (err.code == UD_ENOENT)
            ud_err("invalid container id or name");
        else if (err.code == UD_EEXIST)
            ud_err("invalid container name: already exists: %s", name);
        else
            ud_err("invalid container name: %s", name);
        return 1;
    }
    return 0;
}

int
cmd_rmname(struct ud_cli *cli)
{
    const char *name = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (!name) {
        ud_err("invalid container id or name");
        return 1;
    }
    struct ud_error err = {0};
    struct ud_store *s = ud_cli_store(cli);
    if (!s)
        return 1;
    if (ud_store_name_rm(s, name, &err)) {
        ud_err("removing container name: %s", err.msg);
        return 1;
    }
    ud_out(UD_LOG_MSG, "Info: container name: %s removed.", name);
    return 0;
}
