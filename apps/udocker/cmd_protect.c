/* SPDX-License-Identifier: Apache-2.0 */
/*
 * protect / unprotect CONTAINER|IMAGE: the PROTECT marker that blocks rm,
 * rmi and other deletions. Container ids and names are tried first.
 */
#include "cli.h"
#include "output.h"
#include "ud/layerstore.h"

static int
set_protection(struct ud_cli *cli, bool on)
{
    const char *arg = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    const char *verb = on ? "protect" : "unprotect";
    if (!arg) {
        ud_err("must specify container id or image:tag");
        return 1;
    }
    struct ud_store *s = ud_cli_store(cli);
    if (!s)
        return 1;
    struct ud_error err = {0};
    cleanup_free char *id = NULL;
    if (ud_store_container_resolve(s, arg, &id, NULL) == 0) {
        int rc = on ? ud_store_container_protect(s, id, &err)
                    : ud_store_container_unprotect(s, id, &err);
        if (rc) {
            ud_err("%s container failed", verb);
            return 1;
        }
        return 0;
    }
    cleanup_free char *repo = NULL;
    cleanup_free char *tag = NULL;
    if (ud_imagespec_split(arg, &repo, &tag, &err) == 0 && ud_store_image_exists(s, repo, tag)) {
        int rc = on ? ud_store_image_protect(s, repo, tag, &err)
                    : ud_store_image_unprotect(s, repo, tag, &err);
        if (rc == 0)
            return 0;
    }
    ud_err("%s image failed", verb);
    return 1;
}

int
cmd_protect(struct ud_cli *cli)
{
    return set_protection(cli, true);
}

int
cmd_unprotect(struct ud_cli *cli)
{
    return set_protection(cli, false);
}
