/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ps [-m] [-s] [-p]: one line per container (reference 1.6). The header
 * and rows are results: they print even with -q.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "output.h"
#include "run_int.h"
#include "ud/layerstore.h"

int
cmd_ps(struct ud_cli *cli)
{
    struct ud_ps_opts o = {
        .mode = ud_cmdline_flag(&cli->cl, "-m"),
        .size = ud_cmdline_flag(&cli->cl, "-s"),
        .platform = ud_cmdline_flag(&cli->cl, "-p"),
    };
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    struct ud_store *s = ud_cli_store(cli);
    if (!s)
        return 1;
    struct ud_error err = {0};
    struct ud_store_container *v = NULL;
    size_t n = 0;
    if (ud_store_container_list(s, &v, &n, &err)) {
        ud_err("listing containers: %s", err.msg);
        return 1;
    }
    cleanup_free char *hdr = ud_fmt_ps_header(&o);
    if (hdr)
        ud_out(UD_LOG_MSG, "%s", hdr);
    /* A container without an execmode file runs in the default mode, the
     * automatic choice resolved for this host unless one is configured. */
    char defmode[5] = "";
    if (o.mode)
        ud_cli_default_execmode_resolved(cli, defmode);
    for (size_t i = 0; i < n; i++) {
        struct ud_ps_row r = {
            .id = v[i].id,
            .is_protected = v[i].is_protected,
            .root_state = v[i].root_state,
            .execmode = v[i].execmode ? v[i].execmode : defmode,
            .size_mb = -1,
            .platform = v[i].platform,
            .names = (const char *const *)v[i].names,
            .image = v[i].imagerepo,
        };
        if (o.size && ud_store_container_size_mb(s, v[i].id, &r.size_mb, &err))
            r.size_mb = -1;
        cleanup_free char *line = ud_fmt_ps_row(&o, &r);
        if (line)
            ud_out(UD_LOG_MSG, "%s", line);
    }
    ud_store_container_list_free(v, n);
    return 0;
}
