/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Atomic image writes. A tag is assembled in a hidden sibling directory
 * ".<tag>.tmp-<rand>" (claimed by a flock on its ".lock" file so cleanup
 * knows it is alive) and swapped into place under the repository lock. The
 * layer links use relative targets computed from the final tag directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

struct ud_store_image_txn {
    struct ud_store *s;
    char *repo;
    char *tag;
    char *repodir;
    char *tagdir;
    struct tmp_claim claim; /* claim.path: the temporary tag directory */
    bool no_replace;        /* "tag" command: fail if the target appeared */
};

static void
txn_free(struct ud_store_image_txn *t)
{
    if (!t)
        return;
    if (t->claim.path)
        store_own_del(t->s, t->claim.path);
    tmp_claim_drop(&t->claim);
    free(t->repo);
    free(t->tag);
    free(t->repodir);
    free(t->tagdir);
    free(t);
}

static int
txn_start(struct ud_store_image_txn *t, struct ud_error *err)
{
    cleanup_free char *tmp = NULL;
    int rc = ud_mkdir_p(t->repodir, 0755, err);
    if (rc == 0)
        rc = store_tmp_name(t->repodir, ".", t->tag, ".tmp-", &tmp, err);
    if (rc == 0)
        rc = tmp_claim_take(t->s, tmp, &t->claim, err);
    if (rc == 0 && mkdir(tmp, 0755) < 0)
        rc = ud_error_set(err, ud_error_from_errno(errno), errno, "create %s", tmp);
    if (rc == 0 && (rc = store_own_add(t->s, tmp, err)) < 0)
        (void)rmdir(tmp);
    if (rc < 0) {
        if (t->claim.path)
            store_own_del(t->s, t->claim.path);
        tmp_claim_drop(&t->claim);
        store_rmdir_parents(t->repodir, t->s->p.reposdir);
    }
    return rc;
}

int
ud_store_image_begin(struct ud_store *s, const char *repo, const char *tag,
                     struct ud_store_image_txn **out, struct ud_error *err)
{
    struct ud_store_image_txn *t = ud_calloc(1, sizeof(*t));
    if (!t)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    t->s = s;
    t->claim.fd = -1;
    int rc = store_tag_dir(s, repo, tag, &t->repodir, &t->tagdir, err);
    if (rc == 0 && (!(t->repo = ud_strdup(repo)) || !(t->tag = ud_strdup(tag))))
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc == 0)
        rc = ud_store_lock(s, true, err);
    if (rc < 0) {
        txn_free(t);
        return rc;
    }
    /* Creating the directory and its claim under the repository lock means
     * cleanup (which also holds it) never sees a temporary without a lock. */
    rc = txn_start(t, err);
    ud_store_unlock(s);
    if (rc < 0) {
        txn_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

const char *
ud_store_image_txn_dir(const struct ud_store_image_txn *t)
{
    return t->claim.path;
}

static int
put_file(struct ud_store_image_txn *t, const char *name, const char *data, size_t len,
         struct ud_error *err)
{
    cleanup_free char *p = ud_path_join(t->claim.path, name);
    if (!p)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return ud_file_write_atomic(p, data, len, 0644, err);
}

static void
drop_file(struct ud_store_image_txn *t, const char *name)
{
    char *p = ud_path_join(t->claim.path, name);
    if (p)
        (void)unlink(p);
    free(p);
}

int
ud_store_image_put_manifest(struct ud_store_image_txn *t, const char *json, size_t len,
                            struct ud_error *err)
{
    int rc = put_file(t, "manifest", json, len, err);
    if (rc == 0)
        rc = put_file(t, "v2", "", 0, err);
    if (rc == 0)
        drop_file(t, "v1");
    return rc;
}

int
ud_store_image_put_ancestry(struct ud_store_image_txn *t, const char *json, size_t len,
                            struct ud_error *err)
{
    int rc = put_file(t, "ancestry", json, len, err);
    if (rc == 0)
        rc = put_file(t, "v1", "", 0, err);
    if (rc == 0)
        drop_file(t, "v2");
    return rc;
}

static bool
reserved_name(const char *n)
{
    static const char *const r[] = {"TAG", "v1", "v2", "manifest", "ancestry", "PROTECT", "index"};
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
        if (strcmp(n, r[i]) == 0)
            return true;
    return n[0] == '.';
}

int
ud_store_image_link_as(struct ud_store_image_txn *t, const char *linkname, const char *filename,
                       struct ud_error *err)
{
    if (!store_plain_name_ok(linkname) || reserved_name(linkname) || !store_plain_name_ok(filename))
        return ud_error_set(err, UD_EINVAL, 0, "invalid layer name: %s",
                            linkname ? linkname : "(null)");
    cleanup_free char *target = ud_path_join(t->s->p.layersdir, filename);
    cleanup_free char *rel = NULL;
    cleanup_free char *tmpl = NULL;
    cleanup_free char *final = ud_path_join(t->claim.path, linkname);
    if (!target || !final)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int rc = ud_path_relative(t->tagdir, target, &rel, err);
    if (rc == 0)
        rc = store_tmp_name(t->claim.path, ".", linkname, ".lnk-", &tmpl, err);
    if (rc < 0)
        return rc;
    if (symlink(rel, tmpl) < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "symlink %s", tmpl);
    if (rename(tmpl, final) < 0) {
        int e = errno;
        (void)unlink(tmpl);
        return ud_error_set(err, ud_error_from_errno(e), e, "rename %s", final);
    }
    return 0;
}

int
ud_store_image_link_blob(struct ud_store_image_txn *t, const char *filename, struct ud_error *err)
{
    return ud_store_image_link_as(t, filename, filename, err);
}

/* Every link in the temporary directory must reach its file now. */
static int
check_links(const char *dir, struct ud_error *err)
{
    cleanup_dir DIR *d = opendir(dir);
    if (!d)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
            return ud_error_set(err, UD_ENOENT, 0, "missing blob: %s", de->d_name);
    }
    return 0;
}

static int
write_tag_file(struct ud_store_image_txn *t, struct ud_error *err)
{
    /* Upstream: "<reposdir>/<repo>:<tag>" with no trailing newline. */
    cleanup_free char *content = ud_asprintf("%s:%s", t->repodir, t->tag);
    if (!content)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return put_file(t, "TAG", content, strlen(content), err);
}

/* Drop the replaced tag directory and the layers only it referenced. */
static void
discard_old(struct ud_store *s, const char *olddir)
{
    cleanup_strv char **targets = NULL;
    struct ud_error e = {0};
    if (store_dir_link_targets(olddir, &targets, &e) < 0)
        ud_log(UD_LOG_DEBUG, "replacing tag: %s", e.msg);
    if (ud_rm_rf(olddir, &e) < 0 || store_gc_layers(s, targets, true, &e) < 0)
        ud_log(UD_LOG_DEBUG, "replacing tag: %s", e.msg);
}

/* Move the new files one by one into an existing directory that is also a
 * parent of other repositories (image "a:b" next to "a/b:c"), then drop the
 * links the new tag no longer has. */
static int
merge_into(struct ud_store_image_txn *t, struct ud_error *err)
{
    const char *tmp = t->claim.path;
    cleanup_strv char **stale = NULL;
    {
        cleanup_dir DIR *od = opendir(t->tagdir);
        struct dirent *de;
        while (od && (de = readdir(od))) {
            struct stat st;
            if (fstatat(dirfd(od), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                !S_ISLNK(st.st_mode))
                continue;
            cleanup_free char *np = ud_path_join(tmp, de->d_name);
            if (!np)
                return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
            if (!ud_path_exists(np)) {
                int rc = ud_strv_push(&stale, de->d_name, err);
                if (rc < 0)
                    return rc;
            }
        }
    }
    /* A kept index the new tag does not have would describe another image. */
    cleanup_free char *new_index = ud_path_join(tmp, "index");
    cleanup_free char *old_index = ud_path_join(t->tagdir, "index");
    if (!new_index || !old_index)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    bool drop_index = !ud_path_exists(new_index);
    cleanup_dir DIR *d = opendir(tmp);
    if (!d)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", tmp);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "TAG"))
            continue;
        cleanup_free char *dst = ud_path_join(t->tagdir, de->d_name);
        if (!dst)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        if (renameat(dirfd(d), de->d_name, AT_FDCWD, dst) < 0)
            return ud_error_set(err, ud_error_from_errno(errno), errno, "rename %s", dst);
    }
    /* TAG last: the directory counts as a tag only once it is complete. */
    cleanup_free char *tagf = ud_path_join(tmp, "TAG");
    cleanup_free char *tagd = ud_path_join(t->tagdir, "TAG");
    if (!tagf || !tagd)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rename(tagf, tagd) < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "rename %s", tagd);
    if (drop_index)
        (void)unlink(old_index);
    for (size_t i = 0; stale && stale[i]; i++) {
        cleanup_free char *lp = ud_path_join(t->tagdir, stale[i]);
        if (lp)
            (void)unlink(lp);
    }
    (void)rmdir(tmp);
    return store_gc_layers(t->s, stale, true, err);
}

static int
swap_into_place(struct ud_store_image_txn *t, struct ud_error *err)
{
    const char *tmp = t->claim.path;
    if (rename(tmp, t->tagdir) == 0)
        return 0; /* no previous tag (or an empty directory) */
    if (errno != EEXIST && errno != ENOTEMPTY)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "rename %s", t->tagdir);
    if (t->no_replace)
        return ud_error_set(err, UD_EEXIST, 0, "target already exists");
    if (!ud_path_is_dir(t->tagdir) || ud_path_is_symlink(t->tagdir))
        return ud_error_set(err, UD_EEXIST, 0, "not a tag directory: %s", t->tagdir);
    if (store_dir_has_subdirs(t->tagdir))
        return merge_into(t, err);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, t->tagdir, RENAME_EXCHANGE) == 0) {
        discard_old(t->s, tmp); /* tmp now holds the replaced tag */
        return 0;
    }
    /* No RENAME_EXCHANGE (NFS, old kernels): two renames; a crash between
     * them leaves ".<tag>.old-*" that cleanup renames back. */
    cleanup_free char *old = NULL;
    struct tmp_claim oc = {NULL, NULL, -1, NULL};
    int rc = store_tmp_name(t->repodir, ".", t->tag, ".old-", &old, err);
    if (rc == 0)
        rc = tmp_claim_take(t->s, old, &oc, err);
    if (rc < 0)
        return rc;
    if (rename(t->tagdir, old) < 0) {
        rc = ud_error_set(err, ud_error_from_errno(errno), errno, "rename %s", t->tagdir);
    } else if (rename(tmp, t->tagdir) < 0) {
        rc = ud_error_set(err, ud_error_from_errno(errno), errno, "rename %s", t->tagdir);
        (void)rename(old, t->tagdir);
    } else {
        discard_old(t->s, old);
    }
    tmp_claim_drop(&oc);
    return rc;
}

static int
commit_locked(struct ud_store_image_txn *t, struct ud_error *err)
{
    if (t->no_replace && ud_path_exists(t->tagdir))
        return ud_error_set(err, UD_EEXIST, 0, "target already exists");
    if (store_is_tag_dir(t->tagdir) && ud_store_image_is_protected(t->s, t->repo, t->tag)) {
        int rc = put_file(t, "PROTECT", "", 0, err);
        if (rc < 0)
            return rc;
    }
    int rc = write_tag_file(t, err);
    if (rc == 0)
        rc = swap_into_place(t, err);
    if (rc == 0)
        store_fsync_dir(t->repodir);
    return rc;
}

int
ud_store_image_commit(struct ud_store_image_txn *t, struct ud_error *err)
{
    int rc = check_links(t->claim.path, err);
    if (rc == 0)
        rc = ud_store_lock(t->s, true, err);
    if (rc < 0) {
        ud_store_image_abort(t);
        return rc;
    }
    struct ud_store *s = t->s;
    rc = commit_locked(t, err);
    if (rc < 0) {
        ud_store_image_abort(t); /* re-enters the lock */
        ud_store_unlock(s);
        return rc;
    }
    /* The directory was renamed: nothing of ours is left at claim.path. */
    txn_free(t);
    ud_store_unlock(s);
    return 0;
}

void
ud_store_image_abort(struct ud_store_image_txn *t)
{
    if (!t)
        return;
    struct ud_error e = {0};
    bool locked = ud_store_lock(t->s, true, &e) == 0;
    cleanup_strv char **targets = NULL;
    if (ud_path_exists(t->claim.path)) {
        /* Remove the directory even when listing its links failed: an
         * orphan layer is harmless, a leftover temporary is not. */
        if (store_dir_link_targets(t->claim.path, &targets, &e) < 0)
            ud_log(UD_LOG_DEBUG, "abort: %s", e.msg);
        if (ud_rm_rf(t->claim.path, &e) < 0 && store_rm_tree(t->claim.path) < 0)
            ud_log(UD_LOG_DEBUG, "abort: %s", e.msg);
    }
    /* Only under the lock: a concurrent pull's links must be seen. */
    if (locked && store_gc_layers(t->s, targets, true, &e) < 0)
        ud_log(UD_LOG_DEBUG, "abort: %s", e.msg);
    struct ud_store *s = t->s;
    cleanup_free char *repodir = ud_steal(&t->repodir);
    txn_free(t); /* drops the claim: its lock file leaves repodir */
    if (repodir)
        store_rmdir_parents(repodir, s->p.reposdir);
    if (locked)
        ud_store_unlock(s);
}

/* Used by ud_store_image_tag(): a txn that refuses to replace. */
int store_image_begin_new(struct ud_store *s, const char *repo, const char *tag,
                          struct ud_store_image_txn **out, struct ud_error *err);
int
store_image_begin_new(struct ud_store *s, const char *repo, const char *tag,
                      struct ud_store_image_txn **out, struct ud_error *err)
{
    int rc = ud_store_image_begin(s, repo, tag, out, err);
    if (rc == 0)
        (*out)->no_replace = true;
    return rc;
}
