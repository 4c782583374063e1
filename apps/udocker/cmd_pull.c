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
    static const char *const value_opts[] = {
        "--index=", "--registry=", "--httpproxy=", "--platform=", NULL};
    struct ud_pull_opts o = {0};

    ud_cmdline_declare(&cli->cl, value_opts);
    o.index_opt = ud_cmdline_opt(&cli->cl, "--index=");
    o.registry_opt = ud_cmdline_opt(&cli->cl, "--registry=");
    o.http_proxy = ud_cmdline_opt(&cli->cl, "--httpproxy=");
    o.platform = ud_cmdline_opt(&cli->cl, "--platform=");
    const char *spec = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    return ud_image_pull(cli, spec, &o);
}
