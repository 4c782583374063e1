/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the CLI: what "run" and "setup" share. The engine table, the
 * choice of a container's execution mode (its execmode file, the
 * configured defaults, or the automatic choice from the host probe).
 */
#pragma once

#include <stdbool.h>

#include "cli.h"
#include "ud/engine.h"

/* NULL-terminated, fastest first (engines.c). */
extern const struct ud_engine *const ud_cli_engines[];

/* The mode a container runs in when its cdir has no execmode file (cdir
 * may be NULL: --location): UDOCKER_DEFAULT_EXECUTION_MODE /
 * override_default_execution_mode, else default_execution_modes[arch]
 * when the configuration changed it from upstream's table, else "auto".
 * Writes "auto" or a two-letter mode into mode[5]. */
void ud_cli_default_execmode(const struct ud_cli *cli, char mode[5]);
/* The same, with "auto" replaced by the mode the automatic choice takes on
 * this host (from the cached probe), or "--" when no engine works. */
void ud_cli_default_execmode_resolved(const struct ud_cli *cli, char mode[5]);

/* The automatic choice: the host probe (cached in <topdir>/hostcaps.json)
 * and the fastest engine that works on it (logged at DEBUG). Prints
 * nothing; err says why none works. */
int ud_cli_auto_engine(const struct ud_cli *cli, struct ud_hostcaps *caps,
                       const struct ud_engine **out, struct ud_error *err);

/* The engine to run a container with: its recorded mode, else the
 * default; "auto" probes the host (cached in <topdir>/hostcaps.json) and
 * takes the fastest engine that works, saying which and why at DEBUG.
 * *caps receives the probe. Prints the error and returns the exit status
 * (1: no engine) on failure, 0 on success. */
int ud_cli_engine_pick(const struct ud_cli *cli, const char *cdir, bool *recorded,
                       const struct ud_engine **out, struct ud_hostcaps *caps);
