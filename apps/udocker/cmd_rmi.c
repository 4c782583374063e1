/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rmi [-f] IMAGE: delete a local tag; layer files go only when no other
 * tag links them. Containers are independent copies and are not checked.
 */
#include "cli.h"
#include "output.h"
#include "ud/layerstore.h"

int
cmd_rmi(struct ud_cli *cli)
{
    bool force = ud_cmdline_flag(&cli->cl, "-f");
    const char *spec = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    struct ud_error err = {0};
    cleanup_free char *repo = NULL;
    cleanup_free char *tag = NULL;
    struct ud_store *s = ud_cli_store_for_image(cli, spec, &repo, &tag);
    if (!s)
        return 1;
    if (!ud_store_image_exists(s, repo, tag)) {
        ud_err("image not found: %s:%s", repo, tag);
        return 1;
    }
    if (ud_store_image_is_protected(s, repo, tag)) {
        ud_err("image repository is protected");
        return 1;
    }
    ud_info("deleting image: %s", spec);
    if (ud_store_image_rm(s, repo, tag, force, &err)) {
        if (err.code == UD_EPERM)
            ud_err("image repository is protected");
        else
            ud_err("deleting image: %s", err.msg);
        return 1;
    }
    return 0;
}
