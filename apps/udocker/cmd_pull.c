/* SPDX-License-Identifier: Apache-2.0 */
/*
 * udocker pull [--index=URL] [--registry=URL] [--httpproxy=URL]
 *              [--platform=os/arch[/variant]] REPO/IMAGE[:TAG|@DIGEST]
 * The work is in image_pull.c, shared with "run --pull".
 */
#include "cli.h"
#include "image_pull.h"

int
cmd_pull(struct ud_cli *cli)
{
    struct ud_pull_opts o = {0};

    ud_pull_opts_parse(&cli->cl, &o);
    const char *spec = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    return ud_image_pull(cli, spec, &o);
}
