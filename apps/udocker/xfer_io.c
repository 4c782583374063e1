/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tarball streams of load, save, import and export: stdin and stdout only
 * when they are not a terminal (a tarball on a terminal is never what the
 * user meant), files written under a temporary name and linked into place
 * only when complete, so an interrupted save never leaves a half archive
 * under the name asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "xfer_io.h"

/* The temporary being written, removed if a signal ends the command. */
static char *volatile pending_tmp;

static void
on_signal(int sig)
{
    char *t = pending_tmp;
    if (t)
        (void)unlink(t);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
catch_signals(bool on)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], on ? on_signal : SIG_DFL);
}

bool
xfer_out_is_stdout(const struct xfer_out *o)
{
    return o->tmp == NULL;
}

int
xfer_out_open(const char *path, struct xfer_out *o)
{
    memset(o, 0, sizeof(*o));
    o->fd = -1;
    if (!path || !strcmp(path, "-")) {
        if (isatty(STDOUT_FILENO)) {
            ud_err("refusing to write a tarball to a terminal: use -o FILE or a redirection");
            return 1;
        }
        o->fd = STDOUT_FILENO;
        return 0;
    }
    if (ud_path_exists(path)) {
        ud_err("output file already exists: %s", path);
        return 1;
    }
    struct ud_error err = {0};
    if (ud_tmpfile_beside(path, 0644, &o->tmp, &o->fd, &err)) {
        ud_err("%s", err.msg);
        return 1;
    }
    o->final = path;
    pending_tmp = o->tmp;
    catch_signals(true);
    return 0;
}

void
xfer_out_abort(struct xfer_out *o)
{
    if (o->tmp) {
        catch_signals(false);
        pending_tmp = NULL;
        close(o->fd);
        (void)unlink(o->tmp);
        free(o->tmp);
    }
    o->tmp = NULL;
    o->fd = -1;
}

int
xfer_out_commit(struct xfer_out *o)
{
    if (!o->tmp)
        return 0;
    int rc = 0;
    if (fdatasync(o->fd) < 0) {
        ud_err("writing %s: %s", o->final, strerror(errno));
        rc = 1;
    } else if (link(o->tmp, o->final) < 0) {
        if (errno == EEXIST)
            ud_err("output file already exists: %s", o->final);
        else
            ud_err("creating %s: %s", o->final, strerror(errno));
        rc = 1;
    }
    xfer_out_abort(o);
    return rc;
}

int
xfer_in_open(const char *path, const char *what)
{
    if (!path || !strcmp(path, "-")) {
        if (isatty(STDIN_FILENO)) {
            ud_err("no %s given and standard input is a terminal", what);
            return -1;
        }
        return STDIN_FILENO;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        ud_err("%s: %s: %s", what, path, strerror(errno));
    return fd;
}
