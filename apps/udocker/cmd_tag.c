/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tag SRC DST: a second name for a local image (links to the same layer
 * files, nothing copied). rename SRC DST: a container name is renamed as
 * upstream does; otherwise SRC is an image, tagged as DST and then
 * untagged, so that a crash between the two leaves both names, never none.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "ud/layerstore.h"

struct pair {
    char *repo, *tag;
};

static void
pair_fini(struct pair *p)
{
    free(p->repo);
    free(p->tag);
}

static int
split(const char *spec, struct pair *p)
{
    struct ud_error err = {0};
    if (!spec || ud_imagespec_split(spec, &p->repo, &p->tag, &err)) {
        ud_err("must specify image:tag or repository/image:tag");
        return 1;
    }
    return 0;
}

/* 0, or 1 after printing upstream's message for the failure. */
static int
do_tag(struct ud_store *s, const struct pair *a, const struct pair *b)
{
    struct ud_error err = {0};
    if (!ud_store_image_tag(s, a->repo, a->tag, b->repo, b->tag, &err))
        return 0;
    if (err.code == UD_EEXIST)
        ud_err("target already exists");
    else if (err.code == UD_ENOENT)
        ud_err("source does not exist");
    else if (err.code == UD_EPERM)
        ud_err("source image is protected");
    else
        ud_err("tag: %s", err.msg);
    return 1;
}

int
cmd_tag(struct ud_cli *cli)
{
    const char *src = ud_cmdline_pos(&cli->cl, 0);
    const char *dst = ud_cmdline_pos(&cli->cl, 1);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    struct pair a = {0}, b = {0};
    int rc = split(src, &a) || split(dst, &b);
    struct ud_store *s = rc ? NULL : ud_cli_store(cli);
    rc = rc || !s || do_tag(s, &a, &b);
    pair_fini(&a);
    pair_fini(&b);
    return rc;
}

static int
rename_container(struct ud_store *s, const char *name, const char *new_name)
{
    struct ud_error err = {0};
    if (ud_store_name_rename(s, name, new_name, &err)) {
        ud_err("%s", err.msg);
        return 1;
    }
    return 0;
}

static int
rename_image(struct ud_store *s, const struct pair *a, const struct pair *b)
{
    struct ud_error err = {0};
    if (do_tag(s, a, b))
        return 1;
    if (ud_store_image_rm(s, a->repo, a->tag, false, &err)) {
        ud_err("rename: %s:%s was tagged %s:%s but not untagged: %s", a->repo, a->tag, b->repo,
               b->tag, err.msg);
        return 1;
    }
    return 0;
}

int
cmd_rename(struct ud_cli *cli)
{
    const char *src = ud_cmdline_pos(&cli->cl, 0);
    const char *dst = ud_cmdline_pos(&cli->cl, 1);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (!src || !dst) {
        ud_err("must specify a container name or an image and the new name");
        return 1;
    }
    struct ud_store *s = ud_cli_store(cli);
    if (!s)
        return 1;
    cleanup_free char *id = NULL;
    struct pair a = {0}, b = {0};
    struct ud_error err = {0};
    /* A container name first (upstream's rename), then an image. */
    bool is_container = ud_store_container_resolve(s, src, &id, NULL) == 0;
    bool is_image = !is_container && !ud_imagespec_split(src, &a.repo, &a.tag, &err) &&
                    ud_store_image_exists(s, a.repo, a.tag);
    int rc;
    if (is_image)
        rc = split(dst, &b) || rename_image(s, &a, &b);
    else
        rc = rename_container(s, src, dst);
    pair_fini(&a);
    pair_fini(&b);
    return rc;
}
