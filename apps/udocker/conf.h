/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI's configuration: built-in defaults, then udocker.conf files
 * (/etc, ~/.udocker, $topdir, --config), then UDOCKER_* environment
 * variables, then general command-line options (reference section 2.7).
 * Values are typed: booleans, integers and strings are parsed and checked
 * when read, never interpolated.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "ud/base.h"

/* One entry of the docker_registries map: the name typed by users
 * ("docker.io", "quay.io") and the URLs to use for it. */
struct ud_conf_registry {
    char *name;         /* "docker.io" */
    char *registry_url; /* "https://registry-1.docker.io" */
    char *index_url;    /* "https://hub.docker.com", or NULL */
};

/* Every string field is heap-owned by the struct (ud_conf_fini frees it)
 * and non-NULL after ud_conf_load unless documented as "or NULL". */
struct ud_conf {
    /* Repository directories. topdir: --repo > UDOCKER_DIR > config >
     * ~/.udocker. The subdirectories default to topdir/<name> unless set
     * explicitly by config key or UDOCKER_BIN/_LIB/... */
    char *topdir;
    char *bindir;
    char *libdir;
    char *docdir;
    char *reposdir;
    char *layersdir;
    char *containersdir;
    char *homedir;  /* always $HOME/.udocker */
    char *keystore; /* as configured ("keystore"); relative to homedir
                       unless absolute (UDOCKER_KEYSTORE) */
    char *tmpdir;   /* UDOCKER_TMP > config > $TMPDIR > /tmp */

    int verbose_level; /* 0..5, enum ud_log_level; -D/-q applied by main */

    /* Network. */
    char *dockerio_index_url;            /* https://hub.docker.com */
    char *dockerio_registry_url;         /* https://registry-1.docker.io */
    char *http_proxy;                    /* "" = none (curl then honours env) */
    bool http_insecure;                  /* --insecure or http_insecure = true */
    long timeout;                        /* seconds, requests (12) */
    long download_timeout;               /* seconds, blob downloads (1800) */
    long ctimeout;                       /* seconds, connect (6) */
    char *http_agent;                    /* "" = library default */
    long max_download_connections;       /* parallel blob transfers (12); UDOCKER_MAX_CONNECTIONS */
    char *ca_bundle;                     /* ca_bundle / UDOCKER_CA_BUNDLE; "" = system default */
    char **registry_mirrors;             /* registry_mirrors / UDOCKER_REGISTRY_MIRRORS: URL
                                            (Docker Hub) or host=URL entries, or NULL */
    struct ud_conf_registry *registries; /* docker_registries map */
    size_t nregistries;

    /* Tools and execution (printed by showconf and version; the C
     * implementation builds its engines from source and needs no tools
     * tarball). */
    char *tarball;         /* UDOCKER_TARBALL; "" by default */
    char *tarball_release; /* minimum tools release; the project version */
    bool autoinstall;      /* accepted for compatibility; no effect */
    long installretry;
    char *override_default_execution_mode; /* UDOCKER_DEFAULT_EXECUTION_MODE */
    char *default_execution_modes;         /* Python-dict text, as printed */
    char **cmd;                            /* default command: bash -i */
    char **sysdirs_list;                   /* default binds */
    char *root_path;
    char *user_path;
    char *fakechroot_so;   /* or NULL */
    char *fakechroot_libc; /* or NULL */
    char *use_proot_executable;
    char *use_runc_executable;
    char *use_singularity_executable;
    char *use_patchelf_executable;
    char *use_curl_executable;

    /* Private: which directories were set explicitly (bit per subdir), so
     * that a later topdir change (--repo) re-derives only the others. */
    unsigned explicit_dirs;
};

/* Fill conf with defaults, then apply the configuration files that exist
 * (/etc/udocker.conf, ~/.udocker/udocker.conf, $topdir/udocker.conf when
 * topdir differs, then config_file_opt when non-NULL, which must exist),
 * then the UDOCKER_* environment. A bad file line or value (unknown
 * boolean, non-number for an integer key) is UD_EINVAL with
 * "FILE:LINE: ..." in err. On error conf is left finalised (empty). */
int ud_conf_load(struct ud_conf *conf, const char *config_file_opt, struct ud_error *err) UD_WUR;

/* Free everything ud_conf_load allocated; safe on a zeroed struct. */
void ud_conf_fini(struct ud_conf *conf);

/* Change topdir (--repo=DIR) and re-derive the subdirectories that were
 * not set explicitly. dir is made absolute. */
int ud_conf_set_topdir(struct ud_conf *conf, const char *dir, struct ud_error *err) UD_WUR;

/* The last layer of precedence, the general command-line options:
 * verbosity (-D/-q; < 0 leaves the configured level), --insecure (true
 * forces it on) and --repo=DIR (NULL keeps topdir; see
 * ud_conf_set_topdir). */
int ud_conf_apply_cli(struct ud_conf *conf, int verbosity, bool insecure, const char *repo,
                      struct ud_error *err) UD_WUR;

/* Set one key from text, typed as the key demands ("true"/"no"/"1"...,
 * integers). Used by the file reader and by tests. UD_EINVAL for a bad
 * value; unknown keys are ignored (upstream has many keys this
 * implementation does not use) and reported through *known = false. */
int ud_conf_set(struct ud_conf *conf, const char *key, const char *value, bool *known,
                struct ud_error *err) UD_WUR;

/* Parse a boolean the way the config files accept it: true/false,
 * yes/no, on/off, 1/0 (case-insensitive). */
int ud_conf_parse_bool(const char *s, bool *out, struct ud_error *err) UD_WUR;

/* The registry entry for name ("docker.io"), or NULL. Borrowed. */
const struct ud_conf_registry *ud_conf_registry_find(const struct ud_conf *conf, const char *name);

/* Print every key as "key = value" lines (showconf) through fn. */
typedef void (*ud_conf_line_fn)(const char *line, void *ctx);
int ud_conf_dump(const struct ud_conf *conf, ud_conf_line_fn fn, void *ctx,
                 struct ud_error *err) UD_WUR;
