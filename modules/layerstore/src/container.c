/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Containers: atomic creation in a hidden ".tmp-<id>" directory, lookup by
 * id or name, the ps listing, du-like size, protection, metadata files and
 * removal through a rename to ".del-..." so a killed rm never leaves a half
 * container that ps would list.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

struct ud_store_container_txn {
    struct ud_store *s;
    char id[37];
    char *imagerepo;
    char *root;
    struct tmp_claim claim; /* claim.path: containers/.tmp-<id> */
};

int store_container_begin_raw(struct ud_store *s, const char *imagerepo,
                              struct ud_store_container_txn **out, struct ud_error *err);

static void
ctxn_free(struct ud_store_container_txn *t)
{
    if (!t)
        return;
    if (t->claim.path)
        store_own_del(t->s, t->claim.path);
    tmp_claim_drop(&t->claim);
    free(t->imagerepo);
    free(t->root);
    free(t);
}

static int
ctxn_start(struct ud_store_container_txn *t, struct ud_error *err)
{
    cleanup_free char *tmp = ud_asprintf("%s/.tmp-%s", t->s->p.containersdir, t->id);
    if (!tmp || !(t->root = ud_path_join(tmp, "ROOT")))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int rc = tmp_claim_take(t->s, tmp, &t->claim, err);
    if (rc < 0)
        return rc;
    if (mkdir(tmp, 0755) < 0) {
        rc = ud_error_set(err, ud_error_from_errno(errno), errno, "create %s", tmp);
    } else if (mkdir(t->root, 0755) < 0) {
        rc = ud_error_set(err, ud_error_from_errno(errno), errno, "create %s", t->root);
        (void)rmdir(tmp);
    } else if ((rc = store_own_add(t->s, tmp, err)) < 0) {
        (void)rmdir(t->root);
        (void)rmdir(tmp);
    }
    if (rc < 0)
        tmp_claim_drop(&t->claim);
    return rc;
}

int
store_container_begin_raw(struct ud_store *s, const char *imagerepo,
                          struct ud_store_container_txn **out, struct ud_error *err)
{
    struct ud_store_container_txn *t = ud_calloc(1, sizeof(*t));
    if (!t)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    t->s = s;
    t->claim.fd = -1;
    int rc = ud_uuid_generate(t->id, err);
    if (rc == 0 && imagerepo && !(t->imagerepo = ud_strdup(imagerepo)))
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc == 0)
        rc = ud_store_lock(s, true, err);
    if (rc < 0) {
        ctxn_free(t);
        return rc;
    }
    rc = ctxn_start(t, err);
    ud_store_unlock(s);
    if (rc < 0) {
        ctxn_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int
ud_store_container_begin(struct ud_store *s, const char *imagerepo_name,
                         struct ud_store_container_txn **out, struct ud_error *err)
{
    if (imagerepo_name && (!imagerepo_name[0] || strchr(imagerepo_name, '\n')))
        return ud_error_set(err, UD_EINVAL, 0, "invalid image name");
    return store_container_begin_raw(s, imagerepo_name, out, err);
}

const char *
ud_store_container_txn_id(const struct ud_store_container_txn *t)
{
    return t->id;
}

const char *
ud_store_container_txn_dir(const struct ud_store_container_txn *t)
{
    return t->claim.path;
}

const char *
ud_store_container_txn_root(const struct ud_store_container_txn *t)
{
    return t->root;
}

static int
ctxn_put(struct ud_store_container_txn *t, const char *name, const void *data, size_t len,
         struct ud_error *err)
{
    cleanup_free char *p = ud_path_join(t->claim.path, name);
    if (!p)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return ud_file_write_atomic(p, data, len, 0644, err);
}

int
ud_store_container_set_config(struct ud_store_container_txn *t, const char *json, size_t len,
                              struct ud_error *err)
{
    return ctxn_put(t, "container.json", json, len, err);
}

int
ud_store_container_commit(struct ud_store_container_txn *t, char id[37], struct ud_error *err)
{
    cleanup_free char *final = ud_path_join(t->s->p.containersdir, t->id);
    if (!final) {
        ud_store_container_abort(t);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    /* NULL imagerepo (import --clone): keep what the caller unpacked. */
    int rc =
        t->imagerepo ? ctxn_put(t, "imagerepo.name", t->imagerepo, strlen(t->imagerepo), err) : 0;
    if (rc == 0)
        rc = ud_store_lock(t->s, true, err);
    if (rc < 0) {
        ud_store_container_abort(t);
        return rc;
    }
    if (ud_path_exists(final))
        rc = ud_error_set(err, UD_EEXIST, 0, "container id already exists: %s", t->id);
    else if (rename(t->claim.path, final) < 0)
        rc = ud_error_set(err, ud_error_from_errno(errno), errno, "rename %s", final);
    else
        store_fsync_dir(t->s->p.containersdir);
    ud_store_unlock(t->s);
    if (rc < 0) {
        ud_store_container_abort(t);
        return rc;
    }
    memcpy(id, t->id, 37);
    ctxn_free(t);
    return 0;
}

void
ud_store_container_abort(struct ud_store_container_txn *t)
{
    if (!t)
        return;
    struct ud_error e = {0};
    if (ud_rm_rf(t->claim.path, &e) < 0 && store_rm_tree(t->claim.path) < 0)
        ud_log(UD_LOG_DEBUG, "abort container: %s", e.msg);
    ctxn_free(t);
}

/* ---- lookup ---- */

static bool
lookup_name_ok(const char *x)
{
    return store_plain_name_ok(x) && x[0] != '.';
}

int
ud_store_container_resolve(const struct ud_store *s, const char *id_or_name, char **id,
                           struct ud_error *err)
{
    if (!id_or_name || !lookup_name_ok(id_or_name))
        return ud_error_set(err, UD_ENOENT, 0, "invalid container id");
    cleanup_free char *p = ud_path_join(s->p.containersdir, id_or_name);
    if (!p)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    struct stat st;
    if (lstat(p, &st) < 0)
        return ud_error_set(err, UD_ENOENT, 0, "invalid container id");
    cleanup_free char *res = NULL;
    if (S_ISDIR(st.st_mode)) {
        res = ud_strdup(id_or_name);
    } else if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        const char *b = store_link_base_at(AT_FDCWD, p, buf, sizeof(buf));
        if (!b || !lookup_name_ok(b))
            return ud_error_set(err, UD_ENOENT, 0, "invalid container id");
        cleanup_free char *tp = ud_path_join(s->p.containersdir, b);
        if (!tp)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        if (lstat(tp, &st) < 0 || !S_ISDIR(st.st_mode))
            return ud_error_set(err, UD_ENOENT, 0, "invalid container id");
        res = ud_strdup(b);
    } else {
        return ud_error_set(err, UD_ENOENT, 0, "invalid container id");
    }
    if (!res)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *id = ud_steal(&res);
    return 0;
}

int
ud_store_container_dir(const struct ud_store *s, const char *id_or_name, char **dir,
                       struct ud_error *err)
{
    cleanup_free char *id = NULL;
    int rc = ud_store_container_resolve(s, id_or_name, &id, err);
    if (rc < 0)
        return rc;
    char *d = ud_path_join(s->p.containersdir, id);
    if (!d)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *dir = d;
    return 0;
}

static int
cdir_file(const struct ud_store *s, const char *id_or_name, const char *name, char **out,
          struct ud_error *err)
{
    cleanup_free char *d = NULL;
    if (!store_plain_name_ok(name))
        return ud_error_set(err, UD_EINVAL, 0, "invalid file name");
    int rc = ud_store_container_dir(s, id_or_name, &d, err);
    if (rc < 0)
        return rc;
    if (!(*out = ud_path_join(d, name)))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return 0;
}

int
ud_store_container_file_read(const struct ud_store *s, const char *id_or_name, const char *name,
                             char **data, size_t *len, struct ud_error *err)
{
    cleanup_free char *p = NULL;
    int rc = cdir_file(s, id_or_name, name, &p, err);
    if (rc < 0)
        return rc;
    return ud_file_read(p, STORE_FILE_MAX, data, len, err);
}

int
ud_store_container_file_write(struct ud_store *s, const char *id_or_name, const char *name,
                              const void *data, size_t len, struct ud_error *err)
{
    cleanup_free char *p = NULL;
    int rc = cdir_file(s, id_or_name, name, &p, err);
    if (rc < 0)
        return rc;
    return ud_file_write_atomic(p, data, len, 0644, err);
}

bool
ud_store_container_is_protected(const struct ud_store *s, const char *id_or_name)
{
    cleanup_free char *p = NULL;
    return cdir_file(s, id_or_name, "PROTECT", &p, NULL) == 0 && ud_path_exists(p);
}

/* Under the repository lock, as rm reads PROTECT under it: a marker
 * written between rm's check and its rename would be deleted with the
 * container although protect reported success. */
static int
set_protect(struct ud_store *s, const char *id_or_name, bool on, struct ud_error *err)
{
    cleanup_free char *p = NULL;
    int rc = ud_store_lock(s, true, err);
    if (rc < 0)
        return rc;
    rc = cdir_file(s, id_or_name, "PROTECT", &p, err);
    if (rc == 0 && on)
        rc = store_write_empty(p, err);
    else if (rc == 0 && unlink(p) < 0 && errno != ENOENT)
        rc = ud_error_set(err, ud_error_from_errno(errno), errno, "remove %s", p);
    ud_store_unlock(s);
    return rc;
}

int
ud_store_container_protect(struct ud_store *s, const char *id_or_name, struct ud_error *err)
{
    return set_protect(s, id_or_name, true, err);
}

int
ud_store_container_unprotect(struct ud_store *s, const char *id_or_name, struct ud_error *err)
{
    return set_protect(s, id_or_name, false, err);
}
