/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image operations that change the repository: rmi with layer reference
 * counting, tag (a second name sharing the same layer files), and the
 * repos/ half of the crash cleanup.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

int store_image_begin_new(struct ud_store *s, const char *repo, const char *tag,
                          struct ud_store_image_txn **out, struct ud_error *err);

/* Layer files that only the tag directory dir references, as full paths.
 * Computed before anything is removed so the removal itself needs no
 * memory and cannot stop half way for lack of it. */
static int
layers_only_in(struct ud_store *s, const char *dir, char ***out, struct ud_error *err)
{
    cleanup_strv char **targets = NULL, **refs = NULL, **paths = NULL;
    int rc = store_dir_link_targets(dir, &targets, err);
    if (rc == 0)
        rc = store_collect_refs(s, dir, &refs, err);
    if (rc < 0)
        return rc;
    size_t nrefs = ud_strv_len(refs);
    paths = ud_calloc(1, sizeof(char *));
    if (!paths)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; targets && targets[i]; i++) {
        if (!store_plain_name_ok(targets[i]) || store_strv_has_sorted(refs, nrefs, targets[i]))
            continue;
        cleanup_free char *lp = ud_path_join(s->p.layersdir, targets[i]);
        if (!lp)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        if ((rc = ud_strv_push(&paths, lp, err)) < 0)
            return rc;
    }
    *out = ud_steal(&paths);
    return 0;
}

static int
unlink_layers(char *const *paths, bool force, struct ud_error *err)
{
    int rc = 0;
    for (size_t i = 0; paths && paths[i]; i++)
        if (unlink(paths[i]) < 0 && errno != ENOENT && !force && rc == 0)
            rc =
                ud_error_set(err, ud_error_from_errno(errno), errno, "removing layer %s", paths[i]);
    return rc;
}

/* The directory is also the parent of other repositories: remove only the
 * tag's own entries (files and links), TAG first. */
static int
remove_entries(const char *dir, bool force, struct ud_error *err)
{
    cleanup_dir DIR *d = opendir(dir);
    if (!d)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", dir);
    if (unlinkat(dirfd(d), "TAG", 0) < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "remove %s/TAG", dir);
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
            unlinkat(dirfd(d), de->d_name, 0) < 0 && !force && !rc)
            rc = ud_error_set(err, ud_error_from_errno(errno), errno, "remove %s/%s", dir,
                              de->d_name);
    }
    return rc;
}

static int
rm_locked(struct ud_store *s, const char *repo, const char *tag, bool force, struct ud_error *err)
{
    cleanup_free char *repodir = NULL, *td = NULL, *del = NULL;
    cleanup_strv char **layers = NULL;
    int rc = store_tag_dir(s, repo, tag, &repodir, &td, err);
    if (rc < 0)
        return rc;
    if (!store_is_tag_dir(td))
        return ud_error_set(err, UD_ENOENT, 0, "image not found: %s:%s", repo, tag);
    if (ud_store_image_is_protected(s, repo, tag))
        return ud_error_set(err, UD_EPERM, 0, "image repository is protected");
    if ((rc = layers_only_in(s, td, &layers, err)) < 0)
        return rc;
    if (store_dir_has_subdirs(td)) {
        rc = remove_entries(td, force, err);
        if (rc == 0 || force)
            rc = unlink_layers(layers, force, err);
        return rc;
    }
    /* Rename aside first so a killed rmi leaves a ".del" that cleanup
     * finishes, never a half tag that "images" still lists. */
    struct tmp_claim c = {NULL, NULL, -1, NULL};
    rc = store_tmp_name(repodir, ".", tag, ".del-", &del, err);
    if (rc == 0)
        rc = tmp_claim_take(s, del, &c, err);
    if (rc < 0)
        return rc;
    if (rename(td, del) < 0) {
        rc = ud_error_set(err, ud_error_from_errno(errno), errno, "rename %s", td);
    } else {
        if (store_rm_tree(del) < 0 && !force)
            rc = ud_error_set(err, UD_EIO, errno, "remove %s", del);
        int lrc = unlink_layers(layers, force, err);
        rc = rc ? rc : lrc;
    }
    tmp_claim_drop(&c);
    store_rmdir_parents(repodir, s->p.reposdir);
    return rc;
}

int
ud_store_image_rm(struct ud_store *s, const char *repo, const char *tag, bool force,
                  struct ud_error *err)
{
    int rc = ud_store_lock(s, true, err);
    if (rc < 0)
        return rc;
    rc = rm_locked(s, repo, tag, force, err);
    ud_store_unlock(s);
    return rc;
}

static int
copy_tag_entries(struct ud_store_image_txn *t, const char *src, struct ud_error *err)
{
    cleanup_dir DIR *d = opendir(src);
    if (!d)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", src);
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        const char *n = de->d_name;
        if (n[0] == '.' || !strcmp(n, "TAG") || !strcmp(n, "PROTECT") ||
            fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        cleanup_free char *sp = ud_path_join(src, n);
        cleanup_free char *dp = ud_path_join(ud_store_image_txn_dir(t), n);
        if (!sp || !dp)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        int rc = 0;
        if (S_ISLNK(st.st_mode)) {
            char buf[4096];
            ssize_t k = readlinkat(dirfd(d), n, buf, sizeof(buf) - 1);
            if (k < 0)
                return ud_error_set(err, UD_EIO, errno, "readlink %s", sp);
            buf[k] = '\0';
            const char *b = strrchr(buf, '/');
            rc = ud_store_image_link_as(t, n, b ? b + 1 : buf, err);
        } else if (S_ISREG(st.st_mode)) {
            rc = ud_file_copy(sp, dp, 0644, err);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
ud_store_image_tag(struct ud_store *s, const char *src_repo, const char *src_tag,
                   const char *dst_repo, const char *dst_tag, struct ud_error *err)
{
    cleanup_free char *src = NULL, *dst = NULL;
    int rc = store_tag_dir(s, dst_repo, dst_tag, NULL, &dst, err);
    if (rc < 0)
        return rc;
    if (ud_store_image_dir(s, src_repo, src_tag, &src, NULL) < 0)
        return ud_error_set(err, UD_ENOENT, 0, "source does not exist");
    if (ud_store_image_is_protected(s, src_repo, src_tag))
        return ud_error_set(err, UD_EPERM, 0, "source is protected");
    if (ud_path_exists(dst))
        return ud_error_set(err, UD_EEXIST, 0, "target already exists");
    struct ud_store_image_txn *t = NULL;
    rc = store_image_begin_new(s, dst_repo, dst_tag, &t, err);
    if (rc < 0)
        return rc;
    rc = copy_tag_entries(t, src, err);
    if (rc < 0) {
        ud_store_image_abort(t);
        return rc;
    }
    return ud_store_image_commit(t, err);
}
