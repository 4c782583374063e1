/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Single-image manifests: Docker schema 2 and OCI (config + layers) and
 * Docker schema 1 (fsLayers top layer first, history[].v1Compatibility).
 * Everything is checked before use: digests become file names under
 * layers/, sizes bound downloads, layer media types pick the decompressor.
 * Also image config blobs: their platform and raw text.
 */
#include <stdlib.h>
#include <string.h>

#include "oci_int.h"

#define SCHEMA1_LAYER_MT "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Kinds that share a document structure; a body must not declare a kind
 * of another family than the one it was served as. */
static int
kind_family(enum ud_oci_kind k)
{
    switch (k) {
    case UD_OCI_KIND_DOCKER_V2:
    case UD_OCI_KIND_OCI_MANIFEST:
        return 1;
    case UD_OCI_KIND_DOCKER_V1:
        return 2;
    case UD_OCI_KIND_DOCKER_LIST:
    case UD_OCI_KIND_OCI_INDEX:
        return 3;
    case UD_OCI_KIND_UNKNOWN:
        break;
    }
    return 0;
}

/* Shared by manifest and index parsing: load, settle the kind, check
 * schemaVersion. want_index picks which family is acceptable. */
int
oci_doc_load(const char *json, size_t len, enum ud_oci_kind *kind, bool want_index, json_t **out,
             struct ud_error *err)
{
    const char *what = want_index ? "index" : "manifest";
    const char *declared = NULL;
    json_t *root = NULL;
    int rc;

    bool ok_kind = want_index ? ud_oci_kind_is_index(*kind) : ud_oci_kind_is_manifest(*kind);
    if (*kind != UD_OCI_KIND_UNKNOWN && !ok_kind)
        return ud_error_set(err, UD_EUNSUPP, 0, "a %s is not a %s", ud_oci_kind_name(*kind),
                            want_index ? "manifest list or index" : "single-image manifest");
    if ((rc = oci_json_load(json, len, UD_OCI_MANIFEST_MAX_BYTES, what, &root, err)) < 0)
        return rc;
    enum ud_oci_kind found = oci_kind_from_json(root, &declared);
    enum ud_oci_kind k = *kind != UD_OCI_KIND_UNKNOWN ? *kind : found;
    if (*kind == UD_OCI_KIND_UNKNOWN &&
        !(want_index ? ud_oci_kind_is_index(k) : ud_oci_kind_is_manifest(k))) {
        rc = ud_error_set(err, UD_EUNSUPP, 0, "%s is a %s", what, ud_oci_kind_name(k));
        goto fail;
    }
    if (found != UD_OCI_KIND_UNKNOWN && kind_family(found) != kind_family(k)) {
        rc = ud_error_set(err, UD_EPARSE, 0, "%s served as %s declares mediaType %.80s", what,
                          ud_oci_kind_name(k), declared ? declared : ud_oci_kind_name(found));
        goto fail;
    }
    json_t *sv = json_object_get(root, "schemaVersion");
    json_int_t want_sv = k == UD_OCI_KIND_DOCKER_V1 ? 1 : 2;
    if (!json_is_integer(sv) || json_integer_value(sv) != want_sv) {
        rc = ud_error_set(err, UD_EPARSE, 0, "%s: schemaVersion is not %d", what, (int)want_sv);
        goto fail;
    }
    *kind = k;
    *out = root;
    return 0;
fail:
    json_decref(root);
    return rc;
}

static void
layers_free(struct ud_descriptor *layers, size_t n)
{
    for (size_t i = 0; layers && i < n; i++)
        oci_descriptor_fini(&layers[i]);
    free(layers);
}

static int
parse_layer(json_t *obj, size_t i, struct ud_descriptor *d, struct ud_error *err)
{
    char ctx[48];
    int rc;

    snprintf(ctx, sizeof(ctx), "manifest layer %zu", i);
    if ((rc = oci_descriptor_parse(obj, true, false, ctx, d, err)) < 0)
        return rc;
    if (ud_oci_layer_compression(d->media_type) == UD_OCI_COMP_UNKNOWN) {
        rc = ud_error_set(err, UD_EUNSUPP, 0, "%s has unsupported media type '%.100s'", ctx,
                          d->media_type);
        oci_descriptor_fini(d);
        return rc;
    }
    return 0;
}

static int
parse_v2(json_t *root, struct ud_manifest *m, struct ud_error *err)
{
    json_t *layers = NULL;
    int rc;

    json_t *cfg = json_object_get(root, "config");
    if (!cfg)
        return ud_error_set(err, UD_EPARSE, 0, "manifest: missing \"config\"");
    if ((rc = oci_json_array(root, "layers", "manifest", &layers, err)) < 0)
        return rc;
    size_t n = json_array_size(layers);
    if (n > UD_OCI_MAX_LAYERS)
        return ud_error_set(err, UD_ETOOBIG, 0, "manifest has more than %d layers",
                            UD_OCI_MAX_LAYERS);
    if ((rc = oci_descriptor_parse(cfg, false, false, "manifest config", &m->config, err)) < 0)
        return rc;
    m->has_config = true;
    m->layers = ud_calloc(n ? n : 1, sizeof(*m->layers));
    if (!m->layers)
        return oci_enomem(err);
    m->n_layers = n; /* slots start zeroed, so fini is safe at any point */
    for (size_t i = 0; i < n; i++) {
        if ((rc = parse_layer(json_array_get(layers, i), i, &m->layers[i], err)) < 0)
            return rc;
    }
    return 0;
}

/* history[0].v1Compatibility is the image config of the top layer. */
static int
parse_v1_history(json_t *root, struct ud_manifest *m, struct ud_error *err)
{
    json_t *hist = json_object_get(root, "history");
    const char *v1 = NULL;
    int rc;

    if (!hist)
        return 0;
    if (!json_is_array(hist))
        return ud_error_set(err, UD_EPARSE, 0, "manifest: \"history\" is not an array");
    if (json_array_size(hist) == 0)
        return 0;
    json_t *h0 = json_array_get(hist, 0);
    if (!json_is_object(h0))
        return ud_error_set(err, UD_EPARSE, 0, "manifest history 0 is not an object");
    if ((rc = oci_json_str(h0, "v1Compatibility", false, "manifest history 0", &v1, err)) < 0)
        return rc;
    if (v1 && !(m->v1_config = ud_strdup(v1)))
        return oci_enomem(err);
    return 0;
}

static int
parse_v1(json_t *root, struct ud_manifest *m, struct ud_error *err)
{
    json_t *fs = NULL;
    char ctx[48];
    const char *sum = NULL;
    int rc;

    if ((rc = oci_json_array(root, "fsLayers", "manifest", &fs, err)) < 0)
        return rc;
    size_t n = json_array_size(fs);
    if (n == 0)
        return ud_error_set(err, UD_EPARSE, 0, "manifest: \"fsLayers\" is empty");
    if (n > UD_OCI_MAX_LAYERS)
        return ud_error_set(err, UD_ETOOBIG, 0, "manifest has more than %d layers",
                            UD_OCI_MAX_LAYERS);
    m->layers = ud_calloc(n, sizeof(*m->layers));
    if (!m->layers)
        return oci_enomem(err);
    m->n_layers = n; /* slots start zeroed, so fini is safe at any point */
    /* fsLayers lists the top layer first; we store bottom first. Repeated
     * blobSums (empty layers) are kept so indexes stay aligned with history. */
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(fs, i);
        snprintf(ctx, sizeof(ctx), "manifest fsLayers %zu", i);
        if (!json_is_object(e))
            return ud_error_set(err, UD_EPARSE, 0, "%s is not an object", ctx);
        if ((rc = oci_json_str(e, "blobSum", true, ctx, &sum, err)) < 0)
            return rc;
        if (!ud_oci_digest_is_valid(sum))
            return ud_error_set(err, UD_EPARSE, 0, "%s: invalid digest '%.80s'", ctx, sum);
        struct ud_descriptor *d = &m->layers[n - 1 - i];
        d->size = -1;
        d->digest = ud_strdup(sum);
        d->media_type = ud_strdup(SCHEMA1_LAYER_MT);
        if (!d->digest || !d->media_type)
            return oci_enomem(err);
    }
    return parse_v1_history(root, m, err);
}

int
ud_oci_manifest_parse(const char *json, size_t len, enum ud_oci_kind kind, struct ud_manifest *out,
                      struct ud_error *err)
{
    json_t *root = NULL;
    struct ud_manifest m = {0};
    int rc;

    if ((rc = oci_doc_load(json, len, &kind, false, &root, err)) < 0)
        return rc;
    m.kind = kind;
    m.schema_version = kind == UD_OCI_KIND_DOCKER_V1 ? 1 : 2;
    rc = kind == UD_OCI_KIND_DOCKER_V1 ? parse_v1(root, &m, err) : parse_v2(root, &m, err);
    json_decref(root);
    if (rc < 0) {
        ud_oci_manifest_fini(&m);
        return rc;
    }
    *out = m;
    return 0;
}

void
ud_oci_manifest_fini(struct ud_manifest *m)
{
    if (!m)
        return;
    oci_descriptor_fini(&m->config);
    layers_free(m->layers, m->n_layers);
    free(m->v1_config);
    memset(m, 0, sizeof(*m));
}

static int
push_unique(char ***v, const char *digest, struct ud_error *err)
{
    for (size_t i = 0; *v && (*v)[i]; i++) {
        if (strcmp((*v)[i], digest) == 0)
            return 0;
    }
    return ud_strv_push(v, digest, err);
}

int
ud_oci_manifest_blobs(const struct ud_manifest *m, char ***out, struct ud_error *err)
{
    cleanup_strv char **v = ud_calloc(1, sizeof(char *));
    int rc;

    if (!v)
        return oci_enomem(err);
    for (size_t i = 0; i < m->n_layers; i++) {
        if ((rc = push_unique(&v, m->layers[i].digest, err)) < 0)
            return rc;
    }
    if (m->has_config && (rc = push_unique(&v, m->config.digest, err)) < 0)
        return rc;
    *out = ud_steal(&v);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Image config                                                        */
/* ------------------------------------------------------------------ */

/*
 * Image config blobs (and schema 1 v1Compatibility, which has the same
 * top-level fields): the platform the image was built for, with "unknown"
 * for what is missing as upstream reports it, plus the raw text.
 */

static void
field_or(char field[UD_OCI_PLATFORM_FIELD], json_t *root, const char *key, const char *dflt)
{
    const char *s = NULL;

    if (oci_json_str(root, key, false, "", &s, NULL) == 0 && s && s[0] &&
        oci_platform_field_set(field, s))
        return;
    memcpy(field, dflt, strlen(dflt) + 1);
}

int
ud_oci_config_parse(const char *json, size_t len, struct ud_image_config *out, struct ud_error *err)
{
    json_t *root = NULL;
    struct ud_image_config c = {0};
    int rc;

    if ((rc = oci_json_load(json, len, UD_OCI_CONFIG_MAX_BYTES, "image config", &root, err)) < 0)
        return rc;
    field_or(c.platform.os, root, "os", "unknown");
    field_or(c.platform.arch, root, "architecture", "unknown");
    field_or(c.platform.variant, root, "variant", "");
    json_decref(root);
    c.json = ud_malloc(len + 1);
    if (!c.json)
        return oci_enomem(err);
    memcpy(c.json, json, len);
    c.json[len] = '\0';
    c.len = len;
    *out = c;
    return 0;
}

void
ud_oci_config_fini(struct ud_image_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->json);
    memset(cfg, 0, sizeof(*cfg));
}
