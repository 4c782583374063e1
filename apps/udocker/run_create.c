/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "run IMAGE": the container made from a local image, pulling it first
 * when --pull asks for it (reference 6.2, without upstream's second
 * container for --pull=always).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "image_pull.h"
#include "run_cmd.h"
#include "ud/layerstore.h"

int
ud_run_from_image(struct ud_cli *cli, const struct ud_run_req *r, char id[37])
{
    cleanup_free char *repo = NULL;
    cleanup_free char *tag = NULL;
    struct ud_store *s = ud_cli_store_for_image(cli, r->target, &repo, &tag);
    bool have;

    if (s == NULL)
        return 1;
    have = ud_store_image_exists(s, repo, tag);
    if (r->pull == UD_PULL_ALWAYS || (!have && r->pull != UD_PULL_NEVER)) {
        struct ud_pull_opts po = {.registry_opt = r->registry,
                                  .index_opt = r->index,
                                  .http_proxy = r->httpproxy,
                                  .platform = r->platform};
        if (ud_image_pull(cli, r->target, &po) != 0 && !have)
            return 1;
        have = ud_store_image_exists(s, repo, tag);
    }
    if (!have) {
        ud_err("image or container not available");
        return r->pull == UD_PULL_NEVER ? 2 : 1;
    }
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old);
    int rc = ud_cli_container_build(s, repo, tag, id);
    sigaction(SIGXFSZ, &old, NULL);
    return rc;
}
