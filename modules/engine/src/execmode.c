/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Execution modes of a container (reference 5.6): the execmode and
 * root.path bookkeeping, switching between the modes this build has, and
 * undoing what another udocker left behind: the FileBind copies of its R
 * modes and the host-absolute symlinks and saved ld.so of its F modes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"

static char *
cpath(const char *cdir, const char *name)
{
    return ud_path_join(cdir, name);
}

int
ud_execmode_get(const char *cdir, char mode[3], struct ud_error *err)
{
    cleanup_free char *p = cpath(cdir, "execmode");
    cleanup_free char *text = NULL;
    size_t len = 0;
    int rc;

    if (p == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    rc = ud_file_read(p, 64, &text, &len, err);
    if (rc == UD_ENOENT || (rc != 0 && err && err->sys_errno == ENOENT)) {
        ud_error_clear(err);
        mode[0] = '\0';
        return 0;
    }
    if (rc != 0)
        return rc;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\r'))
        text[--len] = '\0';
    if (!ud_execmode_valid(text))
        return ud_error_set(err, UD_EPARSE, 0, "invalid execution mode in %s: %.16s", p, text);
    memcpy(mode, text, 3);
    return 0;
}

int
ud_filebind_restore(const struct ud_engine_ctr *c, struct ud_error *err)
{
    cleanup_free char *orig = cpath(c->cdir, ".bind_orig_files");
    cleanup_free char *hostfiles = ud_path_join(c->root, ".bind_host_files");
    cleanup_dir DIR *d = NULL;
    struct dirent *e;
    int rc;

    if (orig == NULL || hostfiles == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    d = opendir(orig);
    if (d == NULL && errno != ENOENT)
        return ud_error_set(err, UD_EIO, errno, "open %s", orig);
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '#')
            continue;
        cleanup_free char *cont = NULL;
        rc = ud_engine_hash_decode(e->d_name, &cont);
        if (rc == UD_ENOMEM)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        if (rc != 0)
            continue;
        cleanup_free char *src = ud_path_join(orig, e->d_name);
        cleanup_free char *dst = ud_path_join(c->root, cont + 1);
        if (src == NULL || dst == NULL)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        /* The container file is a symlink into /.bind_host_files: the
         * original goes back over it in one rename. */
        if (rename(src, dst) != 0)
            return ud_error_set(err, UD_EIO, errno, "restore %s", dst);
    }
    if ((rc = ud_rm_rf(orig, err)) != 0)
        return rc;
    if (ud_path_is_dir(hostfiles) && !ud_path_is_symlink(hostfiles))
        return ud_rm_rf(hostfiles, err);
    return 0;
}
