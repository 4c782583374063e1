/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect [-p] CONTAINER|IMAGE: the container's container.json or the
 * image config, re-printed with sorted keys and 4-space indentation (as
 * upstream's json.dumps); -p prints the container's ROOT path.
 */
#include "cli.h"
#include "output.h"
#include "ud/layerstore.h"

#define JSON_MAX (64u * 1024u * 1024u)

static int
print_json(const char *json, size_t len)
{
    struct ud_error err = {0};
    cleanup_free char *pretty = NULL;
    if (ud_json_pretty(json, len, &pretty, &err)) {
        ud_err("invalid json metadata: %s", err.msg);
        return 1;
    }
    ud_out(UD_LOG_MSG, "%s", pretty);
    return 0;
}

static int
inspect_container(struct ud_store *s, const char *id, bool print_dir)
{
    struct ud_error err = {0};
    if (print_dir) {
        cleanup_free char *dir = NULL;
        if (ud_store_container_dir(s, id, &dir, &err)) {
            ud_err("%s", err.msg);
            return 1;
        }
        ud_out(UD_LOG_MSG, "%s/ROOT", dir);
        return 0;
    }
    cleanup_free char *json = NULL;
    size_t len = 0;
    if (ud_store_container_file_read(s, id, "container.json", &json, &len, &err)) {
        ud_err("invalid container json metadata");
        return 1;
    }
    return print_json(json, len);
}

int
cmd_inspect(struct ud_cli *cli)
{
    bool print_dir = ud_cmdline_flag(&cli->cl, "-p");
    const char *arg = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (!arg) {
        ud_err("must specify container id or image:tag");
        return 1;
    }
    struct ud_store *s = ud_cli_store(cli);
    if (!s)
        return 1;
    cleanup_free char *id = NULL;
    if (ud_store_container_resolve(s, arg, &id, NULL) == 0)
        return inspect_container(s, id, print_dir);
    cleanup_free char *repo = NULL;
    cleanup_free char *tag = NULL;
    cleanup_free char *json = NULL;
    size_t len = 0;
    if (print_dir || ud_imagespec_split(arg, &repo, &tag, NULL) ||
        !ud_store_image_exists(s, repo, tag) ||
        ud_store_image_config(s, repo, tag, &json, &len, NULL)) {
        ud_err("image or container not found %s", arg);
        return 1;
    }
    return print_json(json, len);
}
