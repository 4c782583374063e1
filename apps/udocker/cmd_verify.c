/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify IMAGE: structure, links, digests and (beyond upstream, which
 * only tested gzip layers) a full read of every layer archive whatever its
 * compression. Messages follow reference 4.5; upstream's crash on
 * schema 2 images is not reproduced.
 */
#include "cli.h"
#include "output.h"
#include "ud/layerstore.h"
#include "ud/tarextract.h"

struct verify_ctx {
    unsigned failures;
};

static int
on_event(void *ctx, enum ud_store_verify_event ev, const char *name, const char *path,
         const char *msg)
{
    struct verify_ctx *v = ctx;
    struct ud_error err = {0};
    switch (ev) {
    case UD_STORE_VERIFY_TOPLAYER:
        ud_info("finding top layer id");
        break;
    case UD_STORE_VERIFY_LAYER:
        if (ud_tar_layer_check(path, NULL, &err)) {
            ud_err("layer tar verify failed: %s: %s", name, err.msg);
            v->failures++;
            return -1;
        }
        ud_info("layer ok: %s", name);
        break;
    case UD_STORE_VERIFY_CONFIG:
        /* The store has checked its digest; upstream lists it like a layer. */
        ud_info("layer ok: %s", name);
        break;
    case UD_STORE_VERIFY_WARN:
        ud_warn("%s", msg ? msg : name);
        break;
    case UD_STORE_VERIFY_FAIL:
        ud_err("%s", msg ? msg : name);
        v->failures++;
        break;
    }
    return 0;
}

int
cmd_verify(struct ud_cli *cli)
{
    const char *spec = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    struct ud_error err = {0};
    cleanup_free char *repo = NULL;
    cleanup_free char *tag = NULL;
    struct ud_store *s = ud_cli_store_for_image(cli, spec, &repo, &tag);
    if (!s)
        return 1;
    ud_info("verifying: %s:%s", repo, tag);
    if (!ud_store_image_exists(s, repo, tag)) {
        ud_err("selecting image and tag: %s:%s", repo, tag);
        ud_err("image verification failure");
        return 1;
    }
    ud_info("loading structure");
    ud_info("verifying layers");
    struct verify_ctx v = {0};
    int rc = ud_store_image_verify(s, repo, tag, on_event, &v, &err);
    if (rc || v.failures) {
        if (rc && v.failures == 0)
            ud_err("%s", err.msg);
        ud_err("image verification failure");
        return 1;
    }
    ud_info("image Ok");
    return 0;
}
