/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a pull fetches: the manifest for a reference, resolved through an
 * index (possibly nested) to the one for the wanted platform, and the list
 * of its blobs with their destinations in layers/.
 */
#include <stdlib.h>
#include <string.h>

#include "image_pull.h"
#include "pull_int.h"
#include "ud/oci-manifest.h"

/* ------------------------------------------------------------------ */
/* Blob plan                                                           */
/* ------------------------------------------------------------------ */

void
ud_pull_plan_fini(struct ud_pull_plan *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->blobs[i].digest);
        free(p->blobs[i].dest_path);
    }
    free(p->blobs);
    memset(p, 0, sizeof(*p));
}

static int
plan_add(struct ud_pull_plan *p, const char *layersdir, const struct ud_descriptor *d,
         struct ud_error *err)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->blobs[i].digest, d->digest) == 0) {
            if (p->blobs[i].size < 0 && d->size >= 0)
                p->blobs[i].size = d->size;
            return 0;
        }
    }
    /* The digest becomes a file name in layers/ and in the tag directory. */
    if (d->digest == NULL || d->digest[0] == '\0' || strchr(d->digest, '/') != NULL ||
        d->digest[0] == '.')
        return ud_error_set(err, UD_EINVAL, 0, "invalid blob digest in manifest");
    struct ud_pull_blob b = {.size = d->size};
    b.digest = ud_strdup(d->digest);
    b.dest_path = ud_path_join(layersdir, d->digest);
    if (b.digest == NULL || b.dest_path == NULL) {
        free(b.digest);
        free(b.dest_path);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    p->blobs[p->n++] = b;
    if (b.size > 0)
        p->total_bytes += b.size;
    return 0;
}

int
ud_pull_plan_build(const struct ud_manifest *m, const char *layersdir, struct ud_pull_plan *out,
                   struct ud_error *err)
{
    struct ud_pull_plan p = {0};
    size_t cap = m->n_layers + (m->has_config ? 1 : 0);

    p.blobs = ud_calloc(cap ? cap : 1, sizeof(*p.blobs));
    if (p.blobs == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < m->n_layers; i++) {
        int rc = plan_add(&p, layersdir, &m->layers[i], err);
        if (rc < 0) {
            ud_pull_plan_fini(&p);
            return rc;
        }
    }
    if (m->has_config) {
        int rc = plan_add(&p, layersdir, &m->config, err);
        if (rc < 0) {
            ud_pull_plan_fini(&p);
            return rc;
        }
    }
    *out = p;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Manifest resolution                                                 */
/* ------------------------------------------------------------------ */

/* Turn a manifest GET failure into upstream's wording. */
static int
manifest_get_error(int rc, struct ud_error *err)
{
    if (rc == UD_EAUTH)
        return ud_error_set(err, rc, 0, "manifest not found or not authorized");
    if (rc != UD_ECANCELED)
        ud_error_prefix(err, "pulling manifest: ");
    return rc;
}

int
ud_pull_manifest_resolve(struct ud_reg_client *c, const char *remote, const char *reference,
                         const struct ud_platform *want, char **body_out, size_t *len_out,
                         struct ud_manifest *m_out, struct ud_error *err)
{
    return ud_pull_manifest_resolve_index(c, remote, reference, want, body_out, len_out, m_out,
                                          NULL, NULL, err);
}

/* One index level: select want's entry; its digest becomes *ref. */
static int
index_step(const char *body, size_t len, enum ud_oci_kind kind, const struct ud_platform *want,
           char **ref, struct ud_error *err)
{
    struct ud_index idx = {0};
    const struct ud_descriptor *d = NULL;
    int rc = ud_oci_index_parse(body, len, kind, &idx, err);
    if (rc < 0) {
        ud_error_prefix(err, "invalid manifest index: ");
        return rc;
    }
    rc = ud_oci_index_select(&idx, want, &d, err);
    if (rc == 0) {
        char *next = ud_strdup(d->digest);
        if (next == NULL) {
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        } else {
            free(*ref);
            *ref = next;
        }
    }
    ud_oci_index_fini(&idx);
    return rc;
}

/* GET the manifest for reference; when it is an index, pick want's entry
 * and GET that, following nested indexes a bounded number of times. On
 * success *body is the platform manifest as served (what "manifest"
 * stores) and *m its parsed form. */
int
ud_pull_manifest_resolve_index(struct ud_reg_client *c, const char *remote, const char *reference,
                               const struct ud_platform *want, char **body_out, size_t *len_out,
                               struct ud_manifest *m_out, char **index_out, size_t *index_len_out,
                               struct ud_error *err)
{
    cleanup_free char *ref = ud_strdup(reference);
    cleanup_free char *index = NULL;
    size_t index_len = 0;

    if (ref == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (int depth = 0; depth <= UD_OCI_INDEX_MAX_DEPTH; depth++) {
        cleanup_free char *body = NULL;
        cleanup_free char *ctype = NULL;
        size_t len = 0;
        enum ud_oci_kind kind = UD_OCI_KIND_UNKNOWN;

        int rc = ud_reg_manifest_get(c, remote, ref, &body, &len, &ctype, NULL, err);
        if (rc < 0)
            return manifest_get_error(rc, err);
        rc = ud_oci_kind_detect(ctype, body, len, &kind, err);
        if (rc == UD_ENOMEM)
            return rc;
        if (rc < 0 || kind == UD_OCI_KIND_UNKNOWN) {
            ud_log(UD_LOG_VERBOSE, "manifest of type '%s': %s", ctype ? ctype : "",
                   rc < 0 ? err->msg : "unknown kind");
            return ud_error_set(err, UD_EUNSUPP, 0, "no manifest for given image and platform");
        }
        if (ud_oci_kind_is_manifest(kind)) {
            struct ud_manifest m = {0};
            rc = ud_oci_manifest_parse(body, len, kind, &m, err);
            if (rc < 0) {
                ud_error_prefix(err, "invalid manifest: ");
                return rc;
            }
            *m_out = m;
            *len_out = len;
            *body_out = ud_steal(&body);
            if (index_out != NULL) {
                *index_out = ud_steal(&index);
                *index_len_out = index_len;
            }
            return 0;
        }
        rc = index_step(body, len, kind, want, &ref, err);
        if (rc < 0)
            return rc;
        free(index);
        index = ud_steal(&body);
        index_len = len;
    }
    return ud_error_set(err, UD_EUNSUPP, 0, "manifest index nested too deeply");
}
