/* SPDX-License-Identifier: Apache-2.0 */
/* showconf: the effective configuration between two rules of 80 dashes. */
#include <string.h>

#include "cli.h"
#include "conf.h"

static void
print_line(const char *line, void *ctx)
{
    (void)ctx;
    ud_out(UD_LOG_MSG, "%s", line);
}

int
cmd_showconf(struct ud_cli *cli)
{
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    char rule[81];
    memset(rule, '-', 80);
    rule[80] = '\0';
    ud_out(UD_LOG_MSG, "%s", rule);
    ud_out(UD_LOG_MSG, "\t%s", "Configuration options");
    struct ud_error err = {0};
    int rc = ud_conf_dump(cli->conf, print_line, NULL, &err);
    ud_out(UD_LOG_MSG, "%s", rule);
    if (rc) {
        ud_err("showconf: %s", err.msg);
        return 1;
    }
    return 0;
}
