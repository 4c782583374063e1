/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export [-o FILE | --output=FILE | -] [--clone] CONTAINER: the
 * container's ROOT (or with --clone its whole directory, metadata and
 * execution mode included, for "import --clone") as a tar on FILE or
 * stdout. "export - CONTAINER" works (upstream took "-" for the id).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ud/image-archive.h"
#include "ud/layerstore.h"
#include "xfer_io.h"

/* Does a process of ours use the container? run takes no lock, so look
 * for a working directory, root or executable inside the container
 * directory (what P, F and R modes leave visible in /proc). Processes of
 * other users are not readable and go unseen. */
static long
process_inside(const char *dir)
{
    static const char *const links[] = {"cwd", "root", "exe"};
    cleanup_dir DIR *d = opendir("/proc");
    size_t dl = strlen(dir);
    struct dirent *de;
    long self = (long)getpid();
    while (d && (de = readdir(d))) {
        char *end = NULL;
        long pid = strtol(de->d_name, &end, 10);
        if (!end || *end || pid <= 0 || pid == self)
            continue;
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
            char p[64], target[4096];
            snprintf(p, sizeof(p), "/proc/%ld/%s", pid, links[i]);
            ssize_t n = readlink(p, target, sizeof(target) - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            if (!strncmp(target, dir, dl) && (target[dl] == '/' || target[dl] == '\0'))
                return pid;
        }
    }
    return 0;
}

int
cmd_export(struct ud_cli *cli)
{
    static const char *const decl[] = {"--output=", NULL};
    ud_cmdline_declare(&cli->cl, decl);
    const char *output = ud_cmdline_opt(&cli->cl, "--output=");
    bool clone = ud_cmdline_flag(&cli->cl, "--clone");
    bool o_flag = ud_cmdline_flag(&cli->cl, "-o");
    const char *p0 = ud_cmdline_pos(&cli->cl, 0);
    const char *file = NULL, *arg = NULL;
    if (o_flag || (!output && p0 && !strcmp(p0, "-"))) {
        file = p0; /* upstream: -o is a flag and the file the first positional */
        arg = ud_cmdline_pos(&cli->cl, 1);
    } else {
        file = output;
        arg = p0;
    }
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (!arg) {
        ud_err("must specify container id or name");
        return 1;
    }
    struct ud_store *s = ud_cli_store(cli);
    if (!s)
        return 1;
    struct ud_error err = {0};
    cleanup_free char *dir = NULL;
    if (ud_store_container_dir(s, arg, &dir, &err)) {
        ud_err("invalid container id: %s", arg);
        return 1;
    }
    cleanup_free char *root = ud_path_join(dir, "ROOT");
    if (!root || !ud_path_is_dir(root)) {
        ud_err("container has no ROOT directory: %s", arg);
        return 1;
    }
    long pid = process_inside(dir);
    if (pid) {
        ud_err("container is in use by process %ld: export it once it has stopped", pid);
        return 1;
    }
    struct xfer_out o;
    if (xfer_out_open(file, &o))
        return 1;
    if (!xfer_out_is_stdout(&o))
        ud_out(UD_LOG_MSG, "Info: exporting to file %s", file);
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old);
    int rc = ud_archive_tree_write(clone ? dir : root, o.fd, &err);
    sigaction(SIGXFSZ, &old, NULL);
    if (rc < 0) {
        xfer_out_abort(&o);
        ud_err("exporting: %s", err.msg);
        return 1;
    }
    return xfer_out_commit(&o);
}
