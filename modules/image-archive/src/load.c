/* SPDX-License-Identifier: Apache-2.0 */
/*
 * load: scan the archive once into a spool, plan every image, then store
 * them through layerstore image transactions. The spool is a temporary
 * container directory of the repository (claimed like any other, so the
 * crash cleanup of the next command removes what a killed load left);
 * spooled blobs are renamed into layers/, never copied.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "archive_int.h"

/* Put the member's content at layers/<filename>. */
static int
place(struct ud_store *s, struct ar_entry *e, const char *filename, struct ud_error *err)
{
    cleanup_free char *dst = NULL;
    int rc = ud_store_layer_path(s, filename, &dst, err);
    if (rc < 0)
        return rc;
    if (e->data)
        return ud_file_write_atomic(dst, e->data, (size_t)e->size, 0644, err);
    if (e->placed) /* already moved under another name by this load */
        return strcmp(e->spool, dst) == 0 ? 0 : ud_file_copy(e->spool, dst, 0644, err);
    rc = ud_store_layer_put_file(s, e->spool, filename, true, err);
    if (rc == 0) {
        free(e->spool);
        e->spool = ud_steal(&dst);
        e->placed = true;
    }
    return rc;
}

static int
txn_fill(struct ud_store_image_txn *t, const struct ar_plan_image *im, struct ud_error *err)
{
    int rc = im->v1 ? ud_store_image_put_ancestry(t, im->meta, im->meta_len, err)
                    : ud_store_image_put_manifest(t, im->meta, im->meta_len, err);
    for (size_t b = 0; rc == 0 && b < im->n_blobs; b++)
        rc = ud_store_image_link_blob(t, im->blobs[b].filename, err);
    return rc;
}

static int
store_all(struct ud_store *s, struct ar_plan *plan, const struct ud_archive_load_opts *o,
          struct ud_error *err)
{
    for (size_t i = 0; i < plan->n; i++)
        if (ud_store_image_exists(s, plan->v[i].repo, plan->v[i].tag))
            return ud_error_set(err, UD_EEXIST, 0, "repository and tag already exist %s %s",
                                plan->v[i].repo, plan->v[i].tag);
    struct ud_store_image_txn **t = ud_calloc(plan->n, sizeof(*t));
    if (!t)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    /* Every tag is begun and linked before any blob is placed: the links
     * keep the blobs from a concurrent rmi, and an abort takes back the
     * blobs nothing else uses. */
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < plan->n; i++) {
        rc = ud_store_image_begin(s, plan->v[i].repo, plan->v[i].tag, &t[i], err);
        if (rc == 0)
            rc = txn_fill(t[i], &plan->v[i], err);
        if (rc < 0)
            ud_error_prefix(err, "%s:%s: ", plan->v[i].repo, plan->v[i].tag);
    }
    for (size_t i = 0; rc == 0 && i < plan->n; i++)
        for (size_t b = 0; rc == 0 && b < plan->v[i].n_blobs; b++)
            rc = place(s, plan->v[i].blobs[b].e, plan->v[i].blobs[b].filename, err);
    size_t i = 0;
    for (; rc == 0 && i < plan->n; i++) {
        rc = ud_store_image_commit(t[i], err);
        t[i] = NULL;
        if (rc == 0 && o->on_image)
            o->on_image(o->ctx, plan->v[i].repo, plan->v[i].tag);
    }
    for (i = 0; i < plan->n; i++)
        ud_store_image_abort(t[i]);
    free(t);
    return rc;
}

int
ud_archive_load(struct ud_store *s, int fd, const struct ud_archive_load_opts *o,
                struct ud_error *err)
{
    static const struct ud_archive_load_opts none = {0};
    struct ud_store_container_txn *spool = NULL;
    if (!o)
        o = &none;
    int rc = ud_store_container_begin(s, NULL, &spool, err);
    if (rc < 0)
        return rc;
    struct ar_scan sc = {.spool_dir = ud_store_container_txn_dir(spool)};
    struct ar_plan plan = {0};
    rc = ar_scan_read(&sc, fd, err);
    if (rc == 0)
        rc = ar_plan_make(&sc, o, &plan, err);
    if (rc == 0)
        rc = store_all(s, &plan, o, err);
    ar_plan_fini(&plan);
    ar_scan_fini(&sc);
    ud_store_container_abort(spool);
    return rc;
}
