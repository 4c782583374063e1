/* SPDX-License-Identifier: Apache-2.0 */
/*
 * version (also -V, --version): upstream's three lines. This
 * implementation needs no tools tarball; the tarball lines stay for
 * scripts that parse them and say so.
 */
#include "cli.h"
#include "conf.h"

int
cmd_version(struct ud_cli *cli)
{
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    const struct ud_conf *c = cli->conf;
    ud_out(UD_LOG_MSG, "version: %s", UD_VERSION);
    if (c && c->tarball && c->tarball[0])
        ud_out(UD_LOG_MSG, "tarball: %s", c->tarball);
    else
        ud_out(UD_LOG_MSG,
               "tarball: none (no tools tarball: everything is built from this source tree)");
    ud_out(UD_LOG_MSG, "tarball_release: %s",
           c && c->tarball_release ? c->tarball_release : UD_VERSION);
    return 0;
}
