/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening the repository for a command: --repo=DIR must already be one;
 * otherwise the configured topdir (UDOCKER_DIR or ~/.udocker) is created
 * silently on first use, as upstream does ("Info: creating repo: DIR").
 */
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "output.h"
#include "ud/layerstore.h"

static void
conf_paths(const struct ud_conf *c, struct ud_store_paths *p)
{
    p->topdir = c->topdir;
    p->bindir = c->bindir;
    p->libdir = c->libdir;
    p->docdir = c->docdir;
    p->reposdir = c->reposdir;
    p->layersdir = c->layersdir;
    p->containersdir = c->containersdir;
}

/* Listings never show a temporary, so they do not wait for another
 * command's lock just to run the crash cleanup (the next open does it). */
static unsigned
open_flags(const struct ud_cli *cli)
{
    static const char *const listing[] = {"images", "ps"};
    for (size_t i = 0; cli->command && i < sizeof(listing) / sizeof(listing[0]); i++)
        if (strcmp(cli->command, listing[i]) == 0)
            return UD_STORE_OPEN_NOWAIT;
    return 0;
}

struct ud_store *
ud_cli_store(struct ud_cli *cli)
{
    if (cli->store)
        return cli->store;
    struct ud_store_paths p;
    struct ud_error err = {0};
    conf_paths(cli->conf, &p);
    unsigned flags = open_flags(cli);
    /* Open first: an existing repository (the usual case) is then checked
     * once, not twice. UD_ENOENT means "not a repository". */
    int rc = ud_store_open_flags(&p, flags, &cli->store, &err);
    if (rc == UD_ENOENT && !cli->repo_opt) {
        ud_info("creating repo: %s", p.topdir);
        if (ud_store_create(&p, &err)) {
            ud_err("creating repo: %s", err.msg);
            return NULL;
        }
        err = (struct ud_error){0};
        rc = ud_store_open_flags(&p, flags, &cli->store, &err);
    }
    if (rc) {
        if (err.code == UD_ENOENT)
            ud_err("invalid udocker repository: %s", cli->repo_opt ? cli->repo_opt : p.topdir);
        else
            ud_err("%s", err.msg);
        return NULL;
    }
    return cli->store;
}

struct ud_store *
ud_cli_store_for_image(struct ud_cli *cli, const char *spec, char **repo, char **tag)
{
    struct ud_error err = {0};
    cleanup_free char *r = NULL;
    cleanup_free char *t = NULL;
    if (ud_imagespec_split(spec, &r, &t, &err)) {
        ud_err("%s", err.msg);
        return NULL;
    }
    struct ud_store *s = ud_cli_store(cli);
    if (!s)
        return NULL;
    *repo = ud_steal(&r);
    *tag = ud_steal(&t);
    return s;
}
