/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The flat layers/ directory: paths of layer files, presence checks with an
 * optional content hash (upstream skips a download whose local file already
 * matches its digest) and putting imported files in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

int
ud_store_layer_path(const struct ud_store *s, const char *filename, char **out,
                    struct ud_error *err)
{
    if (!store_plain_name_ok(filename))
        return ud_error_set(err, UD_EINVAL, 0, "invalid layer file name: %s",
                            filename ? filename : "(null)");
    char *p = ud_path_join(s->p.layersdir, filename);
    if (!p)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *out = p;
    return 0;
}

int
ud_store_blob_present(const struct ud_store *s, const char *digest, bool verify_hash, bool *present,
                      struct ud_error *err)
{
    const char *colon = digest ? strchr(digest, ':') : NULL;
    if (!colon || colon == digest || !colon[1] || !store_plain_name_ok(digest))
        return ud_error_set(err, UD_EINVAL, 0, "invalid digest: %s", digest ? digest : "(null)");
    cleanup_free char *p = NULL;
    int rc = ud_store_layer_path(s, digest, &p, err);
    if (rc < 0)
        return rc;
    struct stat st;
    if (stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
        *present = false;
        return 0;
    }
    if (!verify_hash) {
        *present = true;
        return 0;
    }
    char algo_name[16];
    size_t al = (size_t)(colon - digest);
    int algo;
    if (al >= sizeof(algo_name))
        return ud_error_set(err, UD_EUNSUPP, 0, "unsupported digest: %s", digest);
    memcpy(algo_name, digest, al);
    algo_name[al] = '\0';
    rc = ud_hash_algo_from_name(algo_name, &algo, err);
    if (rc < 0)
        return rc;
    char hex[UD_HASH_HEX_MAX];
    rc = ud_hash_file(p, algo, hex, err);
    if (rc < 0)
        return rc;
    *present = strcmp(hex, colon + 1) == 0;
    return 0;
}

int
ud_store_layer_put_file(struct ud_store *s, const char *src_path, const char *filename, bool move,
                        struct ud_error *err)
{
    cleanup_free char *dst = NULL;
    int rc = ud_store_layer_path(s, filename, &dst, err);
    if (rc < 0)
        return rc;
    if (move && rename(src_path, dst) == 0) {
        store_fsync_dir(s->p.layersdir);
        return 0;
    }
    rc = ud_file_copy(src_path, dst, 0644, err);
    if (rc == 0 && move)
        (void)unlink(src_path);
    return rc;
}
