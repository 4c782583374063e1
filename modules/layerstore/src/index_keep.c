/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The index of a multi-platform image. A pull that went through an OCI
 * index or a Docker manifest list keeps that index as the regular file
 * "index" of the tag directory, so that "images -p" can say which
 * platforms the image offers. Upstream never reads the file.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define INDEX_FILE "index"

static void
json_decref_p(json_t **j)
{
    if (*j)
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(json_decref_p)))

/* An index is a JSON object with a "manifests" array: enough to refuse a
 * manifest or garbage given by mistake, without the oci-manifest module
 * (this layer reads what it stored tolerantly, see docs/layerstore.md). */
static json_t *
index_load(const char *json, size_t len)
{
    json_t *j = json_loadb(json, len, 0, NULL);
    if (j && !json_is_array(json_object_get(j, "manifests"))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int
ud_store_image_put_index(struct ud_store_image_txn *t, const char *json, size_t len,
                         struct ud_error *err)
{
    if (!json)
        return ud_error_set(err, UD_EINVAL, 0, "invalid image index");
    json_t *j = index_load(json, len);
    if (!j)
        return ud_error_set(err, UD_EINVAL, 0, "invalid image index");
    json_decref(j);
    cleanup_free char *p = ud_path_join(ud_store_image_txn_dir(t), INDEX_FILE);
    if (!p)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return ud_file_write_atomic(p, json, len, 0644, err);
}

/* A field of the platform object, "" when absent or not a string. */
static const char *
pfield(json_t *plat, const char *key)
{
    const char *v = json_string_value(json_object_get(plat, key));
    return v ? v : "";
}

/* Attestations (BuildKit's provenance and SBOM manifests) are listed with
 * the platform unknown/unknown and an annotation naming their type. */
static bool
is_attestation(json_t *entry, const char *os, const char *arch)
{
    json_t *ann = json_object_get(entry, "annotations");
    if (json_object_get(ann, "vnd.docker.reference.type"))
        return true;
    return !strcmp(os, "unknown") && !strcmp(arch, "unknown");
}

static int
add_entry(json_t *entry, char ***v, struct ud_error *err)
{
    json_t *plat = json_object_get(entry, "platform");
    const char *os = pfield(plat, "os"), *arch = pfield(plat, "architecture");
    const char *var = pfield(plat, "variant");
    if (!os[0] || !arch[0] || is_attestation(entry, os, arch))
        return 0;
    cleanup_free char *s =
        var[0] ? ud_asprintf("%s/%s/%s", os, arch, var) : ud_asprintf("%s/%s", os, arch);
    if (!s)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    /* Blanks or controls would break the one-line listing. */
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c == 0x7f)
            return 0;
    for (size_t i = 0; *v && (*v)[i]; i++)
        if (!strcmp((*v)[i], s))
            return 0; /* e.g. one entry per Windows os.version */
    return ud_strv_push(v, s, err);
}

int
ud_store_image_index_platforms(const struct ud_store *s, const char *repo, const char *tag,
                               char ***platforms, struct ud_error *err)
{
    cleanup_free char *td = NULL, *path = NULL, *data = NULL;
    size_t len = 0;
    int rc = ud_store_image_dir(s, repo, tag, &td, err);
    if (rc < 0)
        return rc;
    if (!(path = ud_path_join(td, INDEX_FILE)))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (!ud_path_exists(path)) {
        *platforms = NULL;
        return 0;
    }
    if ((rc = ud_file_read(path, STORE_FILE_MAX, &data, &len, err)) < 0)
        return rc;
    cleanup_json json_t *j = index_load(data, len);
    if (!j)
        return ud_error_set(err, UD_EPARSE, 0, "%s:%s: invalid index file", repo, tag);
    cleanup_strv char **v = ud_calloc(1, sizeof(char *));
    if (!v)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "manifests"), i, e)
    {
        if ((rc = add_entry(e, &v, err)) < 0)
            return rc;
    }
    *platforms = ud_steal(&v);
    return 0;
}

bool
store_index_valid(const char *path)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    if (ud_file_read(path, STORE_FILE_MAX, &data, &len, NULL) < 0)
        return false;
    json_t *j = index_load(data, len);
    if (j)
        json_decref(j);
    return j != NULL;
}
