/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keystore location. Upstream keeps credentials in ~/.udocker/keystore
 * whatever UDOCKER_DIR says; UDOCKER_KEYSTORE may name another file.
 */
#include "keystore_path.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

int
ud_keystore_path_build(const char *udocker_home, const char *setting, char **out,
                       struct ud_error *err)
{
    char *path = NULL;

    if (setting == NULL || setting[0] == '\0')
        setting = "keystore";
    if (setting[0] == '/') {
        path = ud_strdup(setting);
    } else {
        if (udocker_home == NULL || udocker_home[0] == '\0')
            return ud_error_set(err, UD_EINVAL, 0, "cannot locate the keystore: no home directory");
        size_t hl = strlen(udocker_home);
        while (hl > 1 && udocker_home[hl - 1] == '/')
            hl--;
        path = ud_asprintf("%.*s/%s", (int)hl, udocker_home, setting);
    }
    if (path == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *out = path;
    return 0;
}

int
ud_keystore_path_get(const struct ud_conf *conf, char **out, struct ud_error *err)
{
    if (conf != NULL && conf->homedir != NULL && conf->homedir[0] != '\0')
        return ud_keystore_path_build(conf->homedir, conf->keystore, out, err);

    const char *setting = conf != NULL ? conf->keystore : getenv("UDOCKER_KEYSTORE");
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0') {
        /* No $HOME (batch systems sometimes clear it): ask the password
         * database, as Python's os.path.expanduser does. */
        struct passwd *pw = getpwuid(geteuid());
        home = pw != NULL ? pw->pw_dir : NULL;
    }
    if (home == NULL || home[0] == '\0')
        return ud_keystore_path_build(NULL, setting, out, err);
    char *udhome = ud_asprintf("%s/.udocker", home);
    if (udhome == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int rc = ud_keystore_path_build(udhome, setting, out, err);
    free(udhome);
    return rc;
}

int
ud_docker_config_path_get(char **out, struct ud_error *err)
{
    const char *dir = getenv("DOCKER_CONFIG");
    char *path;
    if (dir != NULL && dir[0] != '\0') {
        path = ud_path_join(dir, "config.json");
    } else {
        const char *home = getenv("HOME");
        if (home == NULL || home[0] == '\0') {
            struct passwd *pw = getpwuid(geteuid());
            home = pw != NULL ? pw->pw_dir : NULL;
        }
        if (home == NULL || home[0] == '\0')
            return ud_error_set(err, UD_EINVAL, 0, "no home directory for .docker/config.json");
        path = ud_asprintf("%s/.docker/config.json", home);
    }
    if (path == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *out = path;
    return 0;
}
