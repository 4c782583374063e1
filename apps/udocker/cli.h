/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI's shared state and the command-line word model that every
 * cmd_<verb>.c uses. Options are consumed by the handler as it asks for
 * them; words nobody consumed become "Error: syntax error at: ..." (upstream
 * udocker's grammar, reference section 1.1).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "ud/base.h"

struct ud_conf;  /* conf.h: configuration (defaults, udocker.conf, env) */
struct ud_store; /* ud/layerstore.h */

/* The words after the command, with a consumed mark per word. */
struct ud_cmdline {
    char **words;   /* borrowed from argv */
    bool *consumed; /* one per word */
    size_t n;
    size_t first_pos; /* index of the first positional word (n if none) */
    /* Options that take a value and are declared before positionals are
     * located (run's -v= -e= ...), so "-v /tmp" skips its value. */
    const char *const *value_opts; /* NULL-terminated, e.g. {"-v=", NULL} */
    bool pos_fixed;                /* first_pos frozen once a positional was asked for */
};

/* Set up cl over words[0..n) (borrowed). Empty words before the first
 * positional are ignored (neither positional nor a syntax error); after
 * it they are positional. UD_ENOMEM on allocation. */
int ud_cmdline_init(struct ud_cmdline *cl, char **words, size_t n, struct ud_error *err) UD_WUR;
void ud_cmdline_fini(struct ud_cmdline *cl);
/* Declare options that take a value ("-v=", "--name=") so that their
 * separate-word values are not mistaken for the first positional, whatever
 * order the handler asks in. decls is NULL-terminated and must outlive cl. */
void ud_cmdline_declare(struct ud_cmdline *cl, const char *const *decls);

/* Everything a command handler may need. */
struct ud_cli {
    const char *prog;       /* argv[0] */
    const char *command;    /* the command word */
    struct ud_cmdline cl;   /* the words after the command */
    struct ud_conf *conf;   /* effective configuration */
    struct ud_store *store; /* opened lazily by ud_cli_store(); NULL before */
    bool insecure;          /* --insecure */
    bool allow_root;        /* --allow-root */
    const char *repo_opt;   /* --repo=DIR, or NULL */
};

/* A command handler returns the process exit status. */
typedef int (*ud_cmd_fn)(struct ud_cli *cli);

struct ud_cmd {
    const char *name;
    ud_cmd_fn fn;
    const char *help; /* the block printed by "udocker CMD --help" */
    bool needs_repo;  /* uses the repository: the handler opens it with
                         ud_cli_store() after its words parse */
};

/* General options: every argument before the first one that starts with
 * an ASCII letter (the command). Empty arguments are skipped. */
struct ud_general {
    bool help;          /* -h, --help */
    bool version;       /* -V, --version */
    bool insecure;      /* --insecure */
    bool allow_root;    /* --allow-root */
    int verbosity;      /* -1 when neither -D nor -q; else the last one's level */
    const char *repo;   /* --repo=DIR / --repo DIR */
    const char *config; /* --config=FILE / --config FILE */
    const char *bad;    /* first unrecognised general option, or NULL */
    int cmd_index;      /* argv index of the command, argc if none */
};
/* Classify argv (argv[0] is the program). Never fails: unknown options
 * land in g->bad. */
void ud_general_parse(int argc, char **argv, struct ud_general *g);

/* The command table (commands.c), NULL-name terminated, and lookup. */
extern const struct ud_cmd ud_commands[];
extern const char ud_general_help[];
const struct ud_cmd *ud_cmd_find(const char *name);

/* Option lookup: each marks the words it uses as consumed.
 * ud_cmdline_flag: true if the exact word appears before the first
 *   positional (e.g. "-f", "--rm").
 * ud_cmdline_opt: value of "--name=VALUE" or "--name VALUE" (the second
 *   form only when VALUE does not begin with '-'); decl is "--name=".
 *   Returns the last occurrence, or NULL. Borrowed from argv.
 * ud_cmdline_opt_all: every occurrence (for -v, -e, ...); caller frees the
 *   array (not the strings). */
bool ud_cmdline_flag(struct ud_cmdline *cl, const char *flag);
const char *ud_cmdline_opt(struct ud_cmdline *cl, const char *decl);
const char **ud_cmdline_opt_all(struct ud_cmdline *cl, const char *decl, size_t *count);
/* The i-th positional word (0-based): the words from first_pos on, in
 * order, counted whether consumed or not (so asking twice for 0 gives the
 * same word, like upstream's P1); marks it consumed; NULL if none. */
const char *ud_cmdline_pos(struct ud_cmdline *cl, size_t i);
/* All words from the i-th positional to the end, consumed (run's command).
 * The array is heap-allocated and NULL-terminated (free the array, not the
 * strings); NULL with *count 0 when there are none or on ENOMEM. */
char **ud_cmdline_rest(struct ud_cmdline *cl, size_t i, size_t *count);
/* True when some word is still unconsumed; prints
 * "Error: syntax error at: <words>" on stderr. */
bool ud_cmdline_leftover(struct ud_cmdline *cl);

/* Open the repository on first use (create the default one silently,
 * "Info: creating repo: DIR"); prints the error and returns NULL on failure. */
struct ud_store *ud_cli_store(struct ud_cli *cli);
/* Split an image argument into repository and tag (caller frees both), then
 * open the repository. Prints the error and returns NULL on failure, before
 * the repository is touched when the argument is malformed. */
struct ud_store *ud_cli_store_for_image(struct ud_cli *cli, const char *spec, char **repo,
                                        char **tag);
/* Extract the image repo:tag into a new container (create, run IMAGE);
 * id receives it. 0, or 1 after printing the error. */
int ud_cli_container_build(struct ud_store *s, const char *repo, const char *tag, char id[37]);

/* After a container was copied (clone, import --clone): a copy in an F
 * mode is set up again in that mode with force, so its paths name the
 * copy (reference: clone). A mode this build cannot set up is kept, with
 * a warning. 0, or 1 after printing. */
int ud_cli_clone_resetup(struct ud_store *s, const char *id);

/* Output helpers with upstream's prefixes and streams (reference 1.3):
 * ud_out: stdout at the given level; ud_err: "Error: ..." on stderr;
 * ud_warn: "Warning: ..." ; ud_info: "Info: ..." on stdout at INFO. */
void ud_out(int level, const char *fmt, ...) UD_PRINTF(2, 3);
void ud_err(const char *fmt, ...) UD_PRINTF(1, 2);
void ud_warn(const char *fmt, ...) UD_PRINTF(1, 2);
void ud_info(const char *fmt, ...) UD_PRINTF(1, 2);

/* Command handlers, one per cmd_<verb>.c. */
int cmd_help(struct ud_cli *cli);
int cmd_version(struct ud_cli *cli);
int cmd_showconf(struct ud_cli *cli);
int cmd_images(struct ud_cli *cli);
int cmd_ps(struct ud_cli *cli);
int cmd_create(struct ud_cli *cli);
int cmd_rm(struct ud_cli *cli);
int cmd_rmi(struct ud_cli *cli);
int cmd_inspect(struct ud_cli *cli);
int cmd_name(struct ud_cli *cli);
int cmd_rmname(struct ud_cli *cli);
int cmd_mkrepo(struct ud_cli *cli);
int cmd_verify(struct ud_cli *cli);
int cmd_protect(struct ud_cli *cli);
int cmd_unprotect(struct ud_cli *cli);
int cmd_clone(struct ud_cli *cli);
int cmd_pull(struct ud_cli *cli);
int cmd_login(struct ud_cli *cli);
int cmd_logout(struct ud_cli *cli);
int cmd_search(struct ud_cli *cli);
/* image transport (cmd_load.c, cmd_save.c, cmd_import.c, cmd_export.c, cmd_tag.c) */
int cmd_load(struct ud_cli *cli);
int cmd_save(struct ud_cli *cli);
int cmd_import(struct ud_cli *cli);
int cmd_export(struct ud_cli *cli);
int cmd_tag(struct ud_cli *cli);
int cmd_rename(struct ud_cli *cli);
int cmd_run(struct ud_cli *cli);
int cmd_setup(struct ud_cli *cli);
int cmd_manifest(struct ud_cli *cli);
