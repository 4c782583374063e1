/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import [--mv] [--platform=P] TARBALL|- REPO:TAG: a flat root filesystem
 * tarball as a new image. --tocontainer [--name=N] [REPO:TAG]: straight
 * into a new container (prints only its id). --clone [--name=N]: a
 * container exported with "export --clone" back into a new container.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"
#include "ud/image-archive.h"
#include "ud/tarextract.h"
#include "xfer_io.h"

struct imp {
    const char *tarball; /* NULL or "-": stdin */
    const char *image;   /* REPO:TAG or NULL */
    const char *name;
    const char *platform_opt;
    struct ud_platform platform;
    bool has_platform, move, tocontainer, clone;
};

static void
on_tar_warning(void *ctx, const char *msg)
{
    (void)ctx;
    ud_warn("%s", msg);
}

/* stdin has to become a file for the layer extraction. */
static int
spool_stdin(const char *dir, char **path)
{
    *path = ud_path_join(dir, ".import.tar");
    cleanup_close int fd = *path ? open(*path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    if (fd < 0) {
        ud_err("importing: %s", strerror(errno));
        return 1;
    }
    char buf[1 << 16];
    for (;;) {
        ssize_t k = read(STDIN_FILENO, buf, sizeof(buf));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            ud_err("importing: reading standard input: %s", strerror(errno));
            return 1;
        }
        if (k == 0)
            return 0;
        if (write(fd, buf, (size_t)k) != k) {
            ud_err("importing: writing %s: %s", *path, strerror(errno));
            return 1;
        }
    }
}

/* Unpack the tarball into dir: ROOT for --tocontainer, the container
 * directory for --clone. 0 or 1 after printing. */
static int
unpack(const struct imp *im, const char *txn_dir, const char *dest)
{
    cleanup_free char *spooled = NULL;
    if (!im->tarball || !strcmp(im->tarball, "-")) {
        if (isatty(STDIN_FILENO)) {
            ud_err("no tarball given and standard input is a terminal");
            return 1;
        }
        if (spool_stdin(txn_dir, &spooled)) {
            if (spooled)
                (void)unlink(spooled);
            return 1;
        }
    }
    struct ud_tar_options opts = {.warn = on_tar_warning};
    struct ud_error err = {0};
    int rc = ud_tar_layer_apply(dest, spooled ? spooled : im->tarball, &opts, NULL, &err);
    if (spooled)
        (void)unlink(spooled);
    if (rc < 0) {
        ud_err("importing: %s", err.msg);
        return 1;
    }
    return 0;
}

static int
to_container(struct ud_store *s, const struct imp *im)
{
    struct ud_error err = {0};
    struct ud_store_container_txn *t = NULL;
    const char *label = im->clone ? NULL : im->image ? im->image : "IMPORTED:unknown";
    if (ud_store_container_begin(s, label, &t, &err)) {
        ud_err("importing: %s", err.msg);
        return 1;
    }
    cleanup_free char *cfg = NULL;
    size_t clen = 0;
    if (!im->clone && (ud_archive_import_config(im->has_platform ? &im->platform : NULL, NULL, 0,
                                                &cfg, &clen, &err) ||
                       ud_store_container_set_config(t, cfg, clen, &err))) {
        ud_err("importing: %s", err.msg);
        ud_store_container_abort(t);
        return 1;
    }
    const char *dest = im->clone ? ud_store_container_txn_dir(t) : ud_store_container_txn_root(t);
    if (unpack(im, ud_store_container_txn_dir(t), dest)) {
        ud_store_container_abort(t);
        return 1;
    }
    char id[37];
    if (ud_store_container_commit(t, id, &err)) {
        ud_err("importing: %s", err.msg);
        return 1;
    }
    /* A clone is re-set up as "clone" does it. */
    if (im->clone && ud_cli_clone_resetup(s, id))
        return 1;
    ud_out(UD_LOG_MSG, "%s", id);
    if (im->name && ud_store_name_add(s, id, im->name, &err)) {
        ud_err("%s", err.msg);
        return 1;
    }
    return 0;
}

static int
to_image(struct ud_store *s, const struct imp *im, const char *repo, const char *tag)
{
    bool use_stdin = !im->tarball || !strcmp(im->tarball, "-");
    if (use_stdin && isatty(STDIN_FILENO)) {
        ud_err("no tarball given and standard input is a terminal");
        return 1;
    }
    struct ud_archive_import_opts o = {.platform = im->has_platform ? &im->platform : NULL,
                                       .move = im->move};
    struct ud_error err = {0};
    char digest[72];
    int rc = ud_archive_import(s, use_stdin ? NULL : im->tarball, STDIN_FILENO, repo, tag, &o,
                               digest, &err);
    if (rc == UD_EEXIST) {
        ud_info("%s", err.msg);
        ud_err("importing");
        return 1;
    }
    if (rc < 0) {
        ud_err("importing: %s", err.msg);
        return 1;
    }
    ud_info("added layer %s", digest + 7);
    return 0;
}

static int
check_args(struct ud_store **s, struct ud_cli *cli, struct imp *im)
{
    struct ud_error err = {0};
    if (im->platform_opt) {
        if (ud_oci_platform_parse(im->platform_opt, &im->platform, &err)) {
            ud_err("invalid platform: %s", im->platform_opt);
            return 1;
        }
        im->has_platform = true;
    }
    if (im->name && !ud_store_name_is_valid(im->name)) {
        ud_err("invalid container name or wrong format");
        return 1;
    }
    if (!im->tocontainer && !im->clone && !im->image) {
        ud_err("must specify tarball and image:tag or repository/image:tag");
        return 1;
    }
    *s = ud_cli_store(cli);
    if (!*s)
        return 1;
    cleanup_free char *owner = NULL;
    if (im->name && ud_store_container_resolve(*s, im->name, &owner, NULL) == 0) {
        ud_err("container name already exists");
        return 1;
    }
    return 0;
}

int
cmd_import(struct ud_cli *cli)
{
    static const char *const decl[] = {"--name=", "--platform=", NULL};
    ud_cmdline_declare(&cli->cl, decl);
    struct imp im = {0};
    im.name = ud_cmdline_opt(&cli->cl, "--name=");
    im.platform_opt = ud_cmdline_opt(&cli->cl, "--platform=");
    im.move = ud_cmdline_flag(&cli->cl, "--mv");
    im.tocontainer = ud_cmdline_flag(&cli->cl, "--tocontainer");
    im.clone = ud_cmdline_flag(&cli->cl, "--clone");
    im.tarball = ud_cmdline_pos(&cli->cl, 0);
    im.image = im.clone ? NULL : ud_cmdline_pos(&cli->cl, 1);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (!im.tarball) {
        ud_err("must specify tarball or - for standard input");
        return 1;
    }
    cleanup_free char *repo = NULL;
    cleanup_free char *tag = NULL;
    struct ud_error err = {0};
    if (im.image && ud_imagespec_split(im.image, &repo, &tag, &err)) {
        ud_err("%s", err.msg);
        return 1;
    }
    struct ud_store *s = NULL;
    if (check_args(&s, cli, &im))
        return 1;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old);
    int rc = im.tocontainer || im.clone ? to_container(s, &im) : to_image(s, &im, repo, tag);
    sigaction(SIGXFSZ, &old, NULL);
    return rc;
}
