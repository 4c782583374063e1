/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The credentials file, in upstream udocker's format so existing keystores
 * keep working: {"<registry URL>": {"auth": "<base64>", "email": ""}}.
 * Writes replace the file atomically (temporary + fsync + rename) with mode
 * 0600, after checking that nobody else owns or can read it.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reg_int.h"

#define KEYSTORE_MAX (1024 * 1024)

static void
ks_json_release(json_t **j)
{
    if (*j)
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(ks_json_release)))

static char *
dir_of(const char *path)
{
    char *copy = ud_strdup(path);
    if (!copy)
        return NULL;
    char *d = ud_strdup(dirname(copy));
    free(copy);
    return d;
}

/* Upstream's three checks: the file (if any) and its directory belong to
 * the caller and the file has no group or other permission bits. */
static int
check_perms(const char *path, bool *exists, struct ud_error *err)
{
    cleanup_free char *dir = dir_of(path);
    struct stat st;
    if (!dir)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (lstat(dir, &st) == 0 && st.st_uid != geteuid())
        return ud_error_set(err, UD_EPERM, 0, "keystore directory %s not owned by user", dir);
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT)
            return ud_error_set(err, UD_EIO, errno, "keystore %s", path);
        *exists = false;
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return ud_error_set(err, UD_EPERM, 0, "keystore %s is not a regular file", path);
    if (st.st_uid != geteuid())
        return ud_error_set(err, UD_EPERM, 0, "keystore %s not owned by user", path);
    if (st.st_mode & 077)
        return ud_error_set(err, UD_EPERM, 0,
                            "keystore %s has group or other permissions, expected 0600", path);
    *exists = true;
    return 0;
}

/* Load the keystore object; a missing or blank file is an empty object. */
static int
load(const char *path, bool exists, json_t **out, struct ud_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    if (exists) {
        int rc = ud_file_read(path, KEYSTORE_MAX, &data, &len, err);
        if (rc == UD_ENOENT)
            exists = false;
        else if (rc < 0)
            return rc;
    }
    size_t i = 0;
    while (exists && i < len && strchr(" \t\r\n", data[i]))
        i++;
    if (!exists || i == len) {
        *out = json_object();
        return *out ? 0 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    json_error_t jerr;
    json_t *j = json_loadb(data, len, 0, &jerr);
    if (!j && json_error_code(&jerr) == json_error_out_of_memory)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (!j)
        return ud_error_set(err, UD_EPARSE, 0, "keystore %s: %s", path, jerr.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return ud_error_set(err, UD_EPARSE, 0, "keystore %s: not a JSON object", path);
    }
    *out = j;
    return 0;
}

static int
save(const char *path, json_t *ks, struct ud_error *err)
{
    cleanup_free char *dir = dir_of(path);
    cleanup_free char *tmp = NULL;
    cleanup_free char *text = NULL;
    cleanup_close int fd = -1;
    if (!dir)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int rc = ud_mkdir_p(dir, 0700, err);
    if (rc < 0)
        return rc;
    /* Python's json.dump separators: ", " and ": " on one line. */
    text = json_dumps(ks, JSON_PRESERVE_ORDER);
    if (!text)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    rc = ud_tmpfile_beside(path, 0600, &tmp, &fd, err);
    if (rc < 0)
        return rc;
    size_t len = strlen(text), off = 0;
    if (fchmod(fd, 0600) != 0)
        rc = ud_error_set(err, UD_EIO, errno, "keystore %s", tmp);
    while (rc == 0 && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            rc = ud_error_set(err, ud_error_from_errno(errno), errno, "write %s", tmp);
        else
            off += (size_t)w;
    }
    if (rc == 0)
        rc = reg_file_commit(fd, tmp, path, err);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static const char *
strip_scheme(const char *url)
{
    if (ud_str_has_prefix(url, "https://"))
        return url + 8;
    if (ud_str_has_prefix(url, "http://"))
        return url + 7;
    return url;
}

/* The key to use for url: exact first, then without scheme. */
static const char *
find_key(json_t *ks, const char *url)
{
    if (json_object_get(ks, url))
        return url;
    const char *bare = strip_scheme(url);
    if (json_object_get(ks, bare))
        return bare;
    return NULL;
}

int
ud_reg_keystore_get(const char *path, const char *registry_url, char **auth_b64,
                    struct ud_error *err)
{
    cleanup_json json_t *ks = NULL;
    if (!path || !registry_url || !auth_b64)
        return ud_error_set(err, UD_EINVAL, 0, "keystore: bad argument");
    /* Reading does not apply the ownership checks, as upstream: a pull
     * must not fail because of a keystore it only consults. */
    int rc = load(path, ud_path_exists(path), &ks, err);
    if (rc < 0)
        return rc;
    const char *key = find_key(ks, registry_url);
    json_t *auth = key ? json_object_get(json_object_get(ks, key), "auth") : NULL;
    if (!json_is_string(auth) || json_string_length(auth) == 0)
        return ud_error_set(err, UD_ENOENT, 0, "no credentials for %s", registry_url);
    char *v = ud_strdup(json_string_value(auth));
    if (!v)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *auth_b64 = v;
    return 0;
}

int
ud_reg_keystore_set(const char *path, const char *registry_url, const char *auth_b64,
                    struct ud_error *err)
{
    cleanup_json json_t *ks = NULL;
    bool exists = false;
    if (!path || !registry_url || !*registry_url || !auth_b64)
        return ud_error_set(err, UD_EINVAL, 0, "keystore: bad argument");
    int rc = check_perms(path, &exists, err);
    if (rc == 0)
        rc = load(path, exists, &ks, err);
    if (rc < 0)
        return rc;
    json_t *entry = json_pack("{s:s, s:s}", "auth", auth_b64, "email", "");
    if (!entry || json_object_set_new(ks, registry_url, entry) != 0)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return save(path, ks, err);
}

int
ud_reg_keystore_delete(const char *path, const char *registry_url, struct ud_error *err)
{
    cleanup_json json_t *ks = NULL;
    bool exists = false;
    if (!path || !registry_url)
        return ud_error_set(err, UD_EINVAL, 0, "keystore: bad argument");
    int rc = check_perms(path, &exists, err);
    if (rc < 0)
        return rc;
    if (!exists)
        return ud_error_set(err, UD_ENOENT, 0, "no credentials for %s", registry_url);
    rc = load(path, exists, &ks, err);
    if (rc < 0)
        return rc;
    const char *key = find_key(ks, registry_url);
    if (!key)
        return ud_error_set(err, UD_ENOENT, 0, "no credentials for %s", registry_url);
    json_object_del(ks, key);
    return save(path, ks, err);
}

/* Overwrite the old content before unlinking, as upstream does. On
 * copy-on-write or journaling filesystems this is best effort only. */
static void
shred(const char *path)
{
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size <= KEYSTORE_MAX) {
        char blank[512];
        memset(blank, ' ', sizeof(blank));
        off_t left = st.st_size;
        while (left > 0) {
            size_t n = left > (off_t)sizeof(blank) ? sizeof(blank) : (size_t)left;
            ssize_t w = write(fd, blank, n);
            if (w <= 0)
                break;
            left -= w;
        }
        (void)fsync(fd);
    }
    close(fd);
}

int
ud_reg_keystore_delete_all(const char *path, struct ud_error *err)
{
    bool exists = false;
    if (!path)
        return ud_error_set(err, UD_EINVAL, 0, "keystore: bad argument");
    int rc = check_perms(path, &exists, err);
    if (rc < 0)
        return rc;
    if (!exists)
        return ud_error_set(err, UD_ENOENT, 0, "keystore %s does not exist", path);
    shred(path);
    if (unlink(path) != 0)
        return ud_error_set(err, UD_EIO, errno, "unlink %s", path);
    return ud_fsync_parent(path, err);
}
