/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create [--name=NAME] [--force] IMAGE: extract the image's layers, bottom
 * first, into a new container and print its id (a result: it survives -q).
 * A member that cannot be applied is a warning and the create goes on
 * (upstream's exit 0 on tar errors); a fatal layer error (corrupt archive,
 * disk full) removes the half-made container and exits 1, where upstream
 * left it behind. The name is checked before anything is extracted.
 */
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "output.h"
#include "progress.h"
#include "ud/layerstore.h"
#include "ud/tarextract.h"

struct warn_ctx {
    const char *layer;
    unsigned long count;
};

static void
on_tar_warning(void *ctx, const char *msg)
{
    struct warn_ctx *w = ctx;
    w->count++;
    ud_warn("%s: %s", w->layer, msg);
}

static const char *
base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Apply every layer into root. 0, or 1 after printing the error (one
 * line: the container is removed, so its id would mean nothing). */
static int
extract_layers(char **layers, const char *root)
{
    size_t n = 0;
    while (layers[n])
        n++;
    struct ud_progress *pg = ud_progress_new("Extracting", n); /* progress.h */
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        ud_progress_item(pg, i, base_name(layers[i]),
                         stat(layers[i], &st) == 0 ? (int64_t)st.st_size : -1);
    }
    for (size_t i = 0; layers[i]; i++) {
        struct warn_ctx w = {.layer = base_name(layers[i])};
        struct ud_tar_options opts = {.warn = on_tar_warning, .warn_ctx = &w};
        struct ud_error err = {0};
        ud_progress_update(pg, i, 0);
        if (ud_tar_layer_apply(root, layers[i], &opts, NULL, &err)) {
            ud_progress_failed(pg, i);
            ud_progress_free(pg);
            ud_err("while extracting image layer: %s", err.msg);
            return 1;
        }
        ud_progress_done(pg, i, "Extracted");
    }
    ud_progress_free(pg);
    return 0;
}

/* Upstream's sanity check: a root with none of the usual top-level
 * directories is probably not what the user wanted. */
static bool
root_looks_sane(const char *root)
{
    static const char *const dirs[] = {"lib", "bin",  "etc",  "tmp",    "var",  "usr",  "sys",
                                       "dev", "data", "home", "system", "root", "proc", NULL};
    for (size_t i = 0; dirs[i]; i++) {
        cleanup_free char *p = ud_path_join(root, dirs[i]);
        if (p && ud_path_exists(p))
            return true;
    }
    return false;
}

/* Check the (valid) name before creating anything. A name already given
 * to another container moves with --force; an existing container id never. */
static int
check_name(struct ud_store *s, const char *name, bool force)
{
    cleanup_free char *owner = NULL;
    if (ud_store_container_resolve(s, name, &owner, NULL) == 0 &&
        (!force || strcmp(owner, name) == 0)) {
        ud_err("container name already exists");
        return 1;
    }
    return 0;
}

int
ud_cli_container_build(struct ud_store *s, const char *repo, const char *tag, char id[37])
{
    struct ud_error err = {0};
    cleanup_strv char **layers = NULL;
    cleanup_free char *config = NULL;
    size_t clen = 0;
    if (ud_store_image_layers(s, repo, tag, &layers, &err) ||
        ud_store_image_config(s, repo, tag, &config, &clen, &err)) {
        ud_err("create container: getting layers or json: %s", err.msg);
        return 1;
    }
    cleanup_free char *imagename = ud_asprintf("%s:%s", repo, tag);
    struct ud_store_container_txn *t = NULL;
    if (!imagename || ud_store_container_begin(s, imagename, &t, &err)) {
        ud_err("create container: setting up container: %s", imagename ? err.msg : "no memory");
        return 1;
    }
    if (ud_store_container_set_config(t, config, clen, &err)) {
        ud_err("create container: %s", err.msg);
        ud_store_container_abort(t);
        return 1;
    }
    if (extract_layers(layers, ud_store_container_txn_root(t))) {
        ud_store_container_abort(t);
        return 1;
    }
    if (ud_store_container_commit(t, id, &err)) {
        ud_err("create container: %s", err.msg);
        return 1;
    }
    return 0;
}

int
cmd_create(struct ud_cli *cli)
{
    static const char *const decl[] = {"--name=", NULL};
    ud_cmdline_declare(&cli->cl, decl);
    const char *name = ud_cmdline_opt(&cli->cl, "--name=");
    bool force = ud_cmdline_flag(&cli->cl, "--force");
    const char *spec = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    /* An invalid name is refused before the repository is opened, which
     * may create the default one. */
    if (name && !ud_store_name_is_valid(name)) {
        ud_err("invalid container name or wrong format");
        return 1;
    }
    struct ud_error err = {0};
    cleanup_free char *repo = NULL;
    cleanup_free char *tag = NULL;
    struct ud_store *s = ud_cli_store_for_image(cli, spec, &repo, &tag);
    if (!s)
        return 1;
    if (name && check_name(s, name, force))
        return 1;
    if (!ud_store_image_exists(s, repo, tag)) {
        ud_err("create container: imagerepo is invalid: %s:%s", repo, tag);
        return 1;
    }
    /* A file-size limit must fail the write (EFBIG, reported as a full
     * disk, the container removed) rather than kill the process half-way;
     * an interrupted create's temporary directory is removed by the next
     * command that opens the repository (layerstore cleanup). */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old);
    char id[37];
    int rc = ud_cli_container_build(s, repo, tag, id);
    sigaction(SIGXFSZ, &old, NULL);
    if (rc)
        return 1;
    ud_out(UD_LOG_MSG, "%s", id);
    cleanup_free char *dir = NULL;
    cleanup_free char *root = NULL;
    if (ud_store_container_dir(s, id, &dir, &err) == 0 && (root = ud_path_join(dir, "ROOT")) &&
        !root_looks_sane(root))
        ud_warn("check container content: %s", id);
    if (!name)
        return 0;
    if (force && ud_store_name_rm(s, name, &err) && err.code != UD_ENOENT) {
        ud_err("%s", err.msg);
        return 1;
    }
    if (ud_store_name_add(s, id, name, &err)) {
        ud_err("%s", err.msg);
        return 1;
    }
    return 0;
}
