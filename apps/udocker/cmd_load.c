/* SPDX-License-Identifier: Apache-2.0 */
/*
 * load [-i FILE | --input=FILE | -] [NEWNAME]: store the images of a
 * docker save, skopeo or OCI archive and print each repo:tag stored (a
 * result: it survives -q). The format work is image-archive's.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ud/image-archive.h"
#include "xfer_io.h"

static void
on_image(void *ctx, const char *repo, const char *tag)
{
    (void)ctx;
    ud_out(UD_LOG_MSG, "%s:%s", repo, tag);
}

int
cmd_load(struct ud_cli *cli)
{
    static const char *const decl[] = {"-i=", "--input=", "--platform=", NULL};
    ud_cmdline_declare(&cli->cl, decl);
    const char *input = ud_cmdline_opt(&cli->cl, "-i=");
    const char *input2 = ud_cmdline_opt(&cli->cl, "--input=");
    const char *platform = ud_cmdline_opt(&cli->cl, "--platform=");
    if (!input)
        input = input2;
    size_t p = 0;
    const char *first = ud_cmdline_pos(&cli->cl, 0);
    if (!input && first && !strcmp(first, "-"))
        input = ud_cmdline_pos(&cli->cl, p++);
    const char *new_name = ud_cmdline_pos(&cli->cl, p);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    struct ud_platform pf;
    struct ud_error err = {0};
    if (platform && ud_oci_platform_parse(platform, &pf, &err)) {
        ud_err("invalid platform: %s", platform);
        return 1;
    }
    int fd = xfer_in_open(input, "image archive");
    if (fd < 0)
        return 1;
    struct ud_store *s = ud_cli_store(cli);
    if (!s) {
        if (fd != STDIN_FILENO)
            close(fd);
        return 1;
    }
    struct ud_archive_load_opts o = {
        .new_name = new_name, .platform = platform ? &pf : NULL, .on_image = on_image};
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old);
    int rc = ud_archive_load(s, fd, &o, &err);
    sigaction(SIGXFSZ, &old, NULL);
    if (fd != STDIN_FILENO)
        close(fd);
    if (rc == UD_EEXIST) {
        ud_info("%s", err.msg);
        ud_err("load failed");
        return 1;
    }
    if (rc < 0) {
        ud_err("load failed: %s", err.msg);
        return 1;
    }
    return 0;
}
