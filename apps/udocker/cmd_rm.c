/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rm [-f] CONTAINER...: delete each container in turn; a failure is
 * reported and the next one is still handled, the exit status is 1 if
 * any failed.
 */
#include <stdlib.h>

#include "cli.h"
#include "ud/layerstore.h"

static int
rm_one(struct ud_store *s, const char *arg, bool force)
{
    struct ud_error err = {0};
    cleanup_free char *id = NULL;
    if (ud_store_container_resolve(s, arg, &id, &err)) {
        ud_err("invalid container id: %s", arg);
        return 1;
    }
    if (ud_store_container_is_protected(s, id)) {
        ud_err("container is protected");
        return 1;
    }
    ud_info("deleting container: %s", id);
    if (ud_store_container_rm(s, id, force, &err)) {
        if (err.code == UD_EPERM)
            ud_err("container is protected");
        else
            ud_err("deleting container: %s", err.msg);
        return 1;
    }
    return 0;
}

int
cmd_rm(struct ud_cli *cli)
{
    bool force = ud_cmdline_flag(&cli->cl, "-f");
    size_t n = 0;
    char **args = ud_cmdline_rest(&cli->cl, 0, &n);
    if (ud_cmdline_leftover(&cli->cl)) {
        free(args);
        return 1;
    }
    if (n == 0) {
        ud_err("must specify container id or name");
        return 1;
    }
    struct ud_store *s = ud_cli_store(cli);
    if (!s) {
        free(args);
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (rm_one(s, args[i], force))
            rc = 1;
    free(args);
    return rc;
}
