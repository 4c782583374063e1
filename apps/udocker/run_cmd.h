/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to "run": the parsed request and its steps (cmd_run.c,
 * run_create.c, run_banner.c).
 */
#pragma once

#include <stdbool.h>

#include "cli.h"
#include "ud/engine.h"

enum ud_pull_policy { UD_PULL_MISSING, UD_PULL_NEVER, UD_PULL_ALWAYS, UD_PULL_REUSE };

struct ud_run_req {
    struct ud_run_opts o; /* what the spec builder reads */
    const char *target;   /* container id or name, or image; NULL with --location */
    const char *name;     /* --name */
    bool rm, nobanner;
    enum ud_pull_policy pull;
    const char *platform, *index, *registry, *httpproxy;
    /* Owned arrays behind o's borrowed ones. */
    const char **vols, **novol, **env, **envf, **pub, **dev;
    char **cmd;
};

/* Make a container for "run IMAGE", pulling per r->pull; id receives it.
 * Returns 0, or the exit status after printing the error. */
int ud_run_from_image(struct ud_cli *cli, const struct ud_run_req *r, char id[37]);

/* The banner of reference 6.4 as one string (caller frees). */
char *ud_run_banner(const char *id, char c, const char *argv0);
