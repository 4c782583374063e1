/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest [--index=] [--registry=] [--httpproxy=] [--platform=os/arch[/variant]]
 *          inspect REPO/IMAGE[:TAG|@DIGEST]
 * Print the registry's manifest (or index) as sorted 4-space JSON, like
 * inspect (reference 1.6, 3.6). Without --platform an index is printed
 * as served; with it, the matching platform's manifest. On failure
 * upstream prints "{}" and exits 0; here the "{}" is kept for scripts
 * that parse the output, but an Error line says why and the exit is 1.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "image_pull.h"
#include "pull_int.h"
#include "ud/oci-manifest.h"

struct inspect_req {
    struct ud_image_ref ref;
    struct ud_pull_site site;
    char *remote;
    struct ud_reg_client *client;
};

static void
inspect_req_fini(struct inspect_req *r)
{
    ud_reg_client_free(r->client);
    ud_oci_ref_fini(&r->ref);
    ud_pull_site_fini(&r->site);
    free(r->remote);
}

/* The manifest body for spec: raw, or resolved to platform. */
static int
fetch(struct ud_cli *cli, struct inspect_req *r, const char *spec, const struct ud_pull_opts *o,
      char **body, size_t *len, struct ud_error *err)
{
    int rc = ud_oci_ref_parse(spec, &r->ref, err);
    if (rc < 0)
        return ud_error_set(err, rc, 0, "must specify image:tag or repository/image:tag");
    rc = ud_pull_site_select(cli->conf, r->ref.registry_host, o->registry_opt, o->index_opt,
                             &r->site, err);
    if (rc == 0)
        rc = ud_pull_remote_repo(cli->conf, &r->ref, &r->site, &r->remote, err);
    if (rc == 0)
        rc = ud_pull_client_open(cli, &r->site, o->http_proxy, NULL, NULL, NULL, &r->client, err);
    if (rc < 0)
        return rc;
    if (o->platform == NULL || o->platform[0] == '\0') {
        rc = ud_reg_manifest_get(r->client, r->remote, r->ref.tag, body, len, NULL, NULL, err);
        if (rc == UD_EAUTH)
            return ud_error_set(err, rc, 0, "manifest not found or not authorized");
        return rc;
    }
    struct ud_platform want;
    rc = ud_oci_platform_parse(o->platform, &want, err);
    if (rc < 0) {
        ud_error_prefix(err, "invalid platform: ");
        return rc;
    }
    struct ud_manifest m = {0};
    rc = ud_pull_manifest_resolve(r->client, r->remote, r->ref.tag, &want, body, len, &m, err);
    if (rc == 0)
        ud_oci_manifest_fini(&m);
    return rc;
}

int
cmd_manifest(struct ud_cli *cli)
{
    struct ud_pull_opts o = {0};

    ud_pull_opts_parse(&cli->cl, &o);
    const char *sub = ud_cmdline_pos(&cli->cl, 0);
    const char *spec = ud_cmdline_pos(&cli->cl, 1);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (sub == NULL || strcmp(sub, "inspect") != 0) {
        ud_err("manifest: unknown or missing subcommand (only \"inspect\")");
        return 1;
    }
    if (spec == NULL) {
        ud_err("must specify image:tag or repository/image:tag");
        return 1;
    }
    struct inspect_req r = {0};
    struct ud_error err = {0};
    cleanup_free char *body = NULL;
    cleanup_free char *pretty = NULL;
    size_t len = 0;
    int rc = fetch(cli, &r, spec, &o, &body, &len, &err);
    if (rc == 0)
        rc = ud_json_pretty(body, len, &pretty, &err);
    inspect_req_fini(&r);
    if (rc < 0) {
        ud_err("%s", err.msg);
        ud_out(UD_LOG_MSG, "{}");
        return 1;
    }
    ud_out(UD_LOG_MSG, "%s", pretty);
    return 0;
}
