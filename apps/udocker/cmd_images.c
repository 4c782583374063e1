/* SPDX-License-Identifier: Apache-2.0 */
/*
 * images [-l] [-p]: one line per local tag (reference 1.6). -l adds the
 * tag directory and each linked blob with its size in MiB, rounded up so
 * that a small layer does not show as "0 MB" (upstream truncates); -p
 * adds the platforms of the index a multi-platform image came from.
 */
#include "cli.h"
#include "output.h"
#include "ud/layerstore.h"

/* images -p: the row, with the platforms of the index the image was
 * pulled through when it kept one. A damaged index only loses the list. */
static char *
platform_row(struct ud_store *s, const struct ud_store_image *im)
{
    struct ud_error err = {0};
    cleanup_free char *platform = NULL;
    cleanup_strv char **idx = NULL;
    if (ud_store_image_platform(s, im->repo, im->tag, &platform, &err))
        platform = NULL;
    const char *p = platform ? platform : "unknown/unknown";
    if (ud_store_image_index_platforms(s, im->repo, im->tag, &idx, &err))
        ud_log(UD_LOG_VERBOSE, "%s", err.msg);
    if (!idx)
        return ud_fmt_image_row(im->repo, im->tag, im->is_protected, p);
    return ud_fmt_image_row_index(im->repo, im->tag, im->is_protected, p, (const char *const *)idx);
}

static void
print_long(struct ud_store *s, const struct ud_store_image *im)
{
    struct ud_error err = {0};
    cleanup_free char *dir = NULL;
    if (ud_store_image_dir(s, im->repo, im->tag, &dir, &err) == 0)
        ud_out(UD_LOG_MSG, " %s", dir);
    struct ud_store_blob_info *blobs = NULL;
    size_t n = 0;
    if (ud_store_image_blobs(s, im->repo, im->tag, &blobs, &n, &err)) {
        ud_warn("%s:%s: %s", im->repo, im->tag, err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *line =
            ud_fmt_image_blob(blobs[i].name, ud_store_mib_ceil(blobs[i].size));
        if (line)
            ud_out(UD_LOG_MSG, "%s", line);
    }
    ud_store_blob_info_free(blobs, n);
}

int
cmd_images(struct ud_cli *cli)
{
    bool longfmt = ud_cmdline_flag(&cli->cl, "-l");
    bool plat = ud_cmdline_flag(&cli->cl, "-p");
    (void)ud_cmdline_flag(&cli->cl, "--no-trunc"); /* accepted, ignored */
    (void)ud_cmdline_flag(&cli->cl, "--all");
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    struct ud_store *s = ud_cli_store(cli);
    if (!s)
        return 1;
    struct ud_error err = {0};
    struct ud_store_image *v = NULL;
    size_t n = 0;
    if (ud_store_image_list(s, &v, &n, &err)) {
        ud_err("listing images: %s", err.msg);
        return 1;
    }
    ud_out(UD_LOG_INFO, "REPOSITORY");
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *line =
            plat ? platform_row(s, &v[i])
                 : ud_fmt_image_row(v[i].repo, v[i].tag, v[i].is_protected, NULL);
        if (line)
            ud_out(UD_LOG_MSG, "%s", line);
        if (longfmt)
            print_long(s, &v[i]);
    }
    ud_store_image_list_free(v, n);
    return 0;
}
