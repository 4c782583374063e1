/* SPDX-License-Identifier: Apache-2.0 */
/*
 * save [-o FILE | --output=FILE | -o -] IMAGE...: write images to one tar
 * in the Docker 25+ layout (docker load, skopeo and our load read it).
 * Without -o the archive goes to stdout, unless that is a terminal.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "ud/image-archive.h"
#include "xfer_io.h"

struct names {
    struct ud_archive_image *v;
    char **strs; /* owned repo and tag strings, NULL-terminated */
    size_t n;
};

static void
names_fini(struct names *nm)
{
    ud_strv_free(nm->strs);
    free(nm->v);
}

/* Parse every image argument (before the repository is opened). */
static int
parse_images(struct ud_cli *cli, size_t first, struct names *nm)
{
    struct ud_error err = {0};
    for (size_t i = first;; i++) {
        const char *spec = ud_cmdline_pos(&cli->cl, i);
        if (!spec)
            break;
        cleanup_free char *repo = NULL;
        cleanup_free char *tag = NULL;
        if (ud_imagespec_split(spec, &repo, &tag, &err) || ud_strv_push(&nm->strs, repo, &err) ||
            ud_strv_push(&nm->strs, tag, &err)) {
            ud_err("%s: %s", err.msg, spec);
            return 1;
        }
        nm->n++;
    }
    if (nm->n == 0) {
        ud_err("must specify image:tag or repository/image:tag");
        return 1;
    }
    nm->v = ud_calloc(nm->n, sizeof(*nm->v));
    if (!nm->v) {
        ud_err("out of memory");
        return 1;
    }
    for (size_t i = 0; i < nm->n; i++)
        nm->v[i] = (struct ud_archive_image){nm->strs[2 * i], nm->strs[2 * i + 1]};
    return 0;
}

int
cmd_save(struct ud_cli *cli)
{
    static const char *const decl[] = {"-o=", "--output=", NULL};
    ud_cmdline_declare(&cli->cl, decl);
    const char *out = ud_cmdline_opt(&cli->cl, "-o=");
    const char *out2 = ud_cmdline_opt(&cli->cl, "--output=");
    if (!out)
        out = out2;
    size_t first = 0;
    /* "-o -": the dash is a positional word of its own (reference 1.1). */
    if (!out && ud_cmdline_flag(&cli->cl, "-o")) {
        const char *dash = ud_cmdline_pos(&cli->cl, 0);
        if (!dash || strcmp(dash, "-") != 0) {
            ud_err("-o needs a file name or -");
            return 1;
        }
        out = "-";
        first = 1;
    }
    struct names nm = {0};
    int bad = parse_images(cli, first, &nm);
    if (ud_cmdline_leftover(&cli->cl) || bad) {
        names_fini(&nm);
        return 1;
    }
    struct ud_store *s = ud_cli_store(cli);
    struct xfer_out o;
    if (!s || xfer_out_open(out, &o)) {
        names_fini(&nm);
        return 1;
    }
    struct ud_error err = {0};
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old);
    int rc = ud_archive_save(s, nm.v, nm.n, o.fd, &err);
    sigaction(SIGXFSZ, &old, NULL);
    names_fini(&nm);
    if (rc < 0) {
        xfer_out_abort(&o);
        ud_err("saving: %s", err.msg);
        return 1;
    }
    return xfer_out_commit(&o);
}
