/* SPDX-License-Identifier: Apache-2.0 */
/*
 * udocker entry point: the root check, the general options, the
 * configuration, then one command from the table in commands.c. Words the
 * command did not consume are a syntax error (reference 1.1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "output.h"
#include "ud/layerstore.h"

static bool
wants_help(struct ud_cmdline *cl)
{
    bool h = ud_cmdline_flag(cl, "--help");
    return ud_cmdline_flag(cl, "-h") || h;
}

/* --repo=DIR must already be a repository (upstream refuses to create one
 * there; mkrepo is the way). conf already points at it. */
static int
check_repo_opt(const struct ud_conf *conf, const char *repo)
{
    struct ud_store_paths p = {conf->topdir,   conf->bindir,    conf->libdir,       conf->docdir,
                               conf->reposdir, conf->layersdir, conf->containersdir};
    if (!ud_store_is_repo(&p)) {
        ud_err("invalid udocker repository: %s", repo);
        return 1;
    }
    return 0;
}

static int
run_command(struct ud_cli *cli, const struct ud_cmd *cmd, char **words, size_t n)
{
    struct ud_error err = {0};
    if (ud_cmdline_init(&cli->cl, words, n, &err)) {
        ud_err("%s", err.msg);
        return 1;
    }
    int rc;
    if (wants_help(&cli->cl)) {
        fputs(cmd->help, stdout);
        rc = 0;
    } else {
        /* Handlers open the repository themselves (ud_cli_store) once
         * their words parse, so a syntax error creates nothing. */
        rc = cmd->fn(cli);
        if (rc == 0 && ud_cmdline_leftover(&cli->cl))
            rc = 1;
    }
    ud_cmdline_fini(&cli->cl);
    return rc;
}

static int
dispatch(struct ud_cli *cli, const struct ud_general *g, int argc, char **argv)
{
    if (g->version)
        return cmd_version(cli); /* cli->cl is empty: nothing to consume */
    const struct ud_cmd *cmd = ud_cmd_find(argv[g->cmd_index]);
    if (!cmd) {
        ud_err("invalid command: %s", argv[g->cmd_index]);
        return 1;
    }
    cli->command = cmd->name;
    return run_command(cli, cmd, argv + g->cmd_index + 1, (size_t)(argc - g->cmd_index - 1));
}

/* Results (a container id, a listing) that could not be written must not
 * end in a success: a script would go on without them (a full disk, a
 * closed pipe with SIGPIPE ignored). */
static int
finish_stdout(int rc)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (rc == 0) {
            ud_err("writing to standard output: %s", errno ? strerror(errno) : "write error");
            rc = 1;
        }
    }
    return rc;
}

int
main(int argc, char **argv)
{
    struct ud_general g;
    ud_general_parse(argc, argv, &g);
    ud_output_install(UD_LOG_INFO);
    /* Checked first, even before --help (upstream does the same). */
    if (geteuid() == 0 && !g.allow_root) {
        ud_err("do not run as root !");
        return 1;
    }
    if (g.bad) {
        ud_err("syntax error at: %s", g.bad);
        return 1;
    }
    if (g.help || g.cmd_index >= argc) {
        if (!g.version) {
            fputs(ud_general_help, stdout);
            return finish_stdout(0);
        }
    }
    ud_json_use_ud_alloc();

    struct ud_conf conf;
    struct ud_error err = {0};
    if (ud_conf_load(&conf, g.config, &err)) {
        ud_err("configuration: %s", err.msg);
        return 1;
    }
    if (ud_conf_apply_cli(&conf, g.verbosity, g.insecure, g.repo, &err)) {
        ud_err("invalid udocker repository: %s: %s", g.repo, err.msg);
        ud_conf_fini(&conf);
        return 1;
    }
    ud_output_install(conf.verbose_level);

    struct ud_cli cli = {.prog = argv[0],
                         .conf = &conf,
                         .insecure = conf.http_insecure,
                         .allow_root = g.allow_root,
                         .repo_opt = g.repo};
    int rc = 0;
    if (g.repo)
        rc = check_repo_opt(&conf, g.repo);
    if (rc == 0)
        rc = dispatch(&cli, &g, argc, argv);
    if (cli.store)
        ud_store_free(cli.store);
    ud_conf_fini(&conf);
    return finish_stdout(rc);
}
