/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the credentials keystore lives (reference 3.4): ~/.udocker/keystore,
 * or UDOCKER_KEYSTORE when it is an absolute path. The keystore sits under
 * the home directory, never under UDOCKER_DIR, so one login serves every
 * repository a user has.
 */
#pragma once

#include "ud/base.h"

struct ud_conf;

/* Pure form: setting is the configured "keystore" value (UDOCKER_KEYSTORE;
 * NULL or "" means "keystore"). An absolute setting is used as given; a
 * relative one is taken under udocker_home ("$HOME/.udocker"), which must
 * then be non-empty. *out is the caller's to free. UD_EINVAL when no home
 * is known, UD_ENOMEM on allocation. */
int ud_keystore_path_build(const char *udocker_home, const char *setting, char **out,
                           struct ud_error *err) UD_WUR;

/* The keystore path for this process: conf->keystore under conf->homedir
 * when conf is given; without conf, UDOCKER_KEYSTORE under $HOME/.udocker
 * ($HOME, else the password database). */
int ud_keystore_path_get(const struct ud_conf *conf, char **out, struct ud_error *err) UD_WUR;

/* The Docker CLI's config file: $DOCKER_CONFIG/config.json, else
 * $HOME/.docker/config.json (home from the password database when $HOME
 * is unset). *out is the caller's. UD_EINVAL when no home is known. */
int ud_docker_config_path_get(char **out, struct ud_error *err) UD_WUR;
