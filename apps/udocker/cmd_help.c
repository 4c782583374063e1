/* SPDX-License-Identifier: Apache-2.0 */
/* help [CMD]: the general help, or one command's help block. */
#include <stdio.h>

#include "cli.h"

int
cmd_help(struct ud_cli *cli)
{
    const char *topic = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (!topic) {
        fputs(ud_general_help, stdout);
        return 0;
    }
    const struct ud_cmd *cmd = ud_cmd_find(topic);
    if (!cmd) {
        ud_err("invalid command: %s", topic);
        return 1;
    }
    fputs(cmd->help, stdout);
    return 0;
}
