/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The small JSON documents of image archives: docker-save manifest.json,
 * an OCI layout's index.json (with its naming annotations), the legacy
 * repositories file; image names as archives spell them; and the OCI
 * manifest made for images that come without one. All input untrusted.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "archive_int.h"

#define MAX_ENTRIES 10000

static json_t *
load_json(const char *json, size_t len, const char *what, struct ud_error *err)
{
    if (len > UD_ARCHIVE_META_MAX) {
        ud_error_set(err, UD_ETOOBIG, 0, "%s is too large", what);
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        ud_error_set(err, UD_EPARSE, 0, "%s: bad JSON: %s (line %d)", what, je.text, je.line);
    return root;
}

/* A JSON array of strings as a NULL-terminated vector (null: empty). */
static int
strv_from_json(json_t *a, const char *what, char ***out, struct ud_error *err)
{
    char **v = ud_calloc(1, sizeof(char *));
    if (!v)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (a && !json_is_null(a)) {
        if (!json_is_array(a) || json_array_size(a) > MAX_ENTRIES) {
            ud_strv_free(v);
            return ud_error_set(err, UD_EPARSE, 0, "%s is not an array of strings", what);
        }
        size_t i;
        json_t *s;
        json_array_foreach(a, i, s)
        {
            int rc = json_is_string(s)
                         ? ud_strv_push(&v, json_string_value(s), err)
                         : ud_error_set(err, UD_EPARSE, 0, "%s is not an array of strings", what);
            if (rc < 0) {
                ud_strv_free(v);
                return rc;
            }
        }
    }
    *out = v;
    return 0;
}

void
ud_archive_manifest_free(struct ud_archive_manifest_entry *v, size_t count)
{
    for (size_t i = 0; v && i < count; i++) {
        free(v[i].config);
        ud_strv_free(v[i].repo_tags);
        ud_strv_free(v[i].layers);
    }
    free(v);
}

int
ud_archive_manifest_parse(const char *json, size_t len, struct ud_archive_manifest_entry **out,
                          size_t *count, struct ud_error *err)
{
    json_t *root = load_json(json, len, "manifest.json", err);
    if (!root)
        return err ? err->code : UD_EPARSE;
    size_t n = json_is_array(root) ? json_array_size(root) : 0;
    if (!json_is_array(root) || n > MAX_ENTRIES) {
        json_decref(root);
        return ud_error_set(err, UD_EPARSE, 0, "manifest.json is not an array of images");
    }
    struct ud_archive_manifest_entry *v = ud_calloc(n ? n : 1, sizeof(*v));
    int rc = v ? 0 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *e = json_array_get(root, i);
        json_t *cfg = json_object_get(e, "Config");
        if (!json_is_object(e) || !json_is_string(cfg)) {
            rc = ud_error_set(err, UD_EPARSE, 0, "manifest.json entry %zu has no Config", i);
            break;
        }
        v[i].config = ud_strdup(json_string_value(cfg));
        if (!v[i].config)
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        if (rc == 0)
            rc = strv_from_json(json_object_get(e, "RepoTags"), "manifest.json RepoTags",
                                &v[i].repo_tags, err);
        if (rc == 0 && !json_is_array(json_object_get(e, "Layers")))
            rc = ud_error_set(err, UD_EPARSE, 0, "manifest.json entry %zu has no Layers", i);
        if (rc == 0)
            rc = strv_from_json(json_object_get(e, "Layers"), "manifest.json Layers", &v[i].layers,
                                err);
    }
    json_decref(root);
    if (rc < 0) {
        ud_archive_manifest_free(v, n);
        return rc;
    }
    *out = v;
    *count = n;
    return 0;
}

void
ud_archive_index_free(struct ud_archive_index_entry *v, size_t count)
{
    for (size_t i = 0; v && i < count; i++) {
        free(v[i].desc.media_type);
        free(v[i].desc.digest);
        free(v[i].ref_name);
        free(v[i].image_name);
    }
    free(v);
}

static bool
copy_platform_field(char dst[UD_OCI_PLATFORM_FIELD], json_t *s)
{
    if (!json_is_string(s))
        return false;
    const char *v = json_string_value(s);
    size_t l = strlen(v);
    if (l == 0 || l >= UD_OCI_PLATFORM_FIELD)
        return false;
    memcpy(dst, v, l + 1);
    return true;
}

static char *
annotation(json_t *ann, const char *key, bool *oom)
{
    json_t *s = json_object_get(ann, key);
    if (!json_is_string(s))
        return NULL;
    char *v = ud_strdup(json_string_value(s));
    if (!v)
        *oom = true;
    return v;
}

static int
index_entry(json_t *e, size_t i, struct ud_archive_index_entry *out, struct ud_error *err)
{
    json_t *mt = json_object_get(e, "mediaType");
    json_t *dg = json_object_get(e, "digest");
    json_t *sz = json_object_get(e, "size");
    if (!json_is_object(e) || !json_is_string(mt) || !json_is_string(dg) ||
        !ud_oci_digest_is_valid(json_string_value(dg)) || !json_is_integer(sz) ||
        json_integer_value(sz) < 0)
        return ud_error_set(err, UD_EPARSE, 0,
                            "index.json entry %zu needs mediaType, a valid digest and size", i);
    out->desc.media_type = ud_strdup(json_string_value(mt));
    out->desc.digest = ud_strdup(json_string_value(dg));
    out->desc.size = (int64_t)json_integer_value(sz);
    json_t *p = json_object_get(e, "platform");
    if (json_is_object(p)) {
        out->desc.has_platform =
            copy_platform_field(out->desc.platform.os, json_object_get(p, "os")) &&
            copy_platform_field(out->desc.platform.arch, json_object_get(p, "architecture"));
        if (!copy_platform_field(out->desc.platform.variant, json_object_get(p, "variant")))
            out->desc.platform.variant[0] = '\0';
    }
    bool oom = !out->desc.media_type || !out->desc.digest;
    json_t *ann = json_object_get(e, "annotations");
    out->ref_name = annotation(ann, "org.opencontainers.image.ref.name", &oom);
    out->image_name = annotation(ann, "io.containerd.image.name", &oom);
    return oom ? ud_error_set(err, UD_ENOMEM, 0, "out of memory") : 0;
}

int
ud_archive_index_parse(const char *json, size_t len, struct ud_archive_index_entry **out,
                       size_t *count, struct ud_error *err)
{
    json_t *root = load_json(json, len, "index.json", err);
    if (!root)
        return err ? err->code : UD_EPARSE;
    json_t *m = json_object_get(root, "manifests");
    size_t n = json_is_array(m) ? json_array_size(m) : 0;
    if (!json_is_object(root) || !json_is_array(m) || n > MAX_ENTRIES) {
        json_decref(root);
        return ud_error_set(err, UD_EPARSE, 0, "index.json has no manifests array");
    }
    struct ud_archive_index_entry *v = ud_calloc(n ? n : 1, sizeof(*v));
    int rc = v ? 0 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = index_entry(json_array_get(m, i), i, &v[i], err);
    json_decref(root);
    if (rc < 0) {
        ud_archive_index_free(v, n);
        return rc;
    }
    *out = v;
    *count = n;
    return 0;
}

void
ud_archive_repositories_free(struct ud_archive_repo_tag *v, size_t count)
{
    for (size_t i = 0; v && i < count; i++) {
        free(v[i].repo);
        free(v[i].tag);
        free(v[i].id);
    }
    free(v);
}

int
ud_archive_repositories_parse(const char *json, size_t len, struct ud_archive_repo_tag **out,
                              size_t *count, struct ud_error *err)
{
    json_t *root = load_json(json, len, "repositories", err);
    if (!root)
        return err ? err->code : UD_EPARSE;
    struct ud_archive_repo_tag *v = NULL;
    size_t n = 0;
    int rc =
        json_is_object(root) ? 0 : ud_error_set(err, UD_EPARSE, 0, "repositories is not an object");
    const char *repo;
    json_t *tags;
    json_object_foreach(json_is_object(root) ? root : NULL, repo, tags)
    {
        const char *tag;
        json_t *id;
        if (rc == 0 && !json_is_object(tags))
            rc = ud_error_set(err, UD_EPARSE, 0, "repositories: %s is not an object", repo);
        json_object_foreach(rc == 0 ? tags : NULL, tag, id)
        {
            if (rc < 0)
                break;
            if (!json_is_string(id) || n >= MAX_ENTRIES) {
                rc = ud_error_set(err, UD_EPARSE, 0, "repositories: bad entry %s:%s", repo, tag);
                break;
            }
            struct ud_archive_repo_tag *nv = ud_realloc(v, (n + 1) * sizeof(*v));
            if (!nv) {
                rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
                break;
            }
            v = nv;
            v[n] = (struct ud_archive_repo_tag){ud_strdup(repo), ud_strdup(tag),
                                                ud_strdup(json_string_value(id))};
            n++;
            if (!v[n - 1].repo || !v[n - 1].tag || !v[n - 1].id)
                rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        }
    }
    json_decref(root);
    if (rc < 0) {
        ud_archive_repositories_free(v, n);
        return rc;
    }
    *out = v;
    *count = n;
    return 0;
}

int
ud_archive_name_split(const char *name, char **repo, char **tag, struct ud_error *err)
{
    if (!name || !name[0])
        return ud_error_set(err, UD_EINVAL, 0, "empty image name");
    const char *n = name;
    if (ud_str_has_prefix(n, "docker.io/library/") && strchr(n + 18, '/') == NULL)
        n += 18;
    else if (ud_str_has_prefix(n, "docker.io/"))
        n += 10;
    int rc = ud_oci_ref_split(n, repo, tag, err);
    if (rc == UD_ENOMEM)
        return rc;
    if (rc < 0)
        return ud_error_set(err, UD_EINVAL, 0, "invalid image name in the archive: %.200s", name);
    return 0;
}

char *
ar_qualified_name(const char *repo)
{
    const char *slash = strchr(repo, '/');
    bool has_host = slash && (memchr(repo, '.', (size_t)(slash - repo)) ||
                              memchr(repo, ':', (size_t)(slash - repo)) ||
                              (slash - repo == 9 && !strncmp(repo, "localhost", 9)));
    if (has_host)
        return ud_strdup(repo);
    return ud_asprintf("docker.io/%s%s", slash ? "" : "library/", repo);
}

const char *
ar_layer_media_type(const void *head, size_t n)
{
    const unsigned char *h = head;
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
        return "application/vnd.oci.image.layer.v1.tar+gzip";
    if (n >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd)
        return "application/vnd.oci.image.layer.v1.tar+zstd";
    return "application/vnd.oci.image.layer.v1.tar";
}

static json_t *
descriptor_json(const char *media_type, const struct ar_blob *b)
{
    json_t *o = json_object();
    if (o && (json_object_set_new(o, "mediaType", json_string(media_type)) < 0 ||
              json_object_set_new(o, "digest", json_string(b->digest)) < 0 ||
              json_object_set_new(o, "size", json_integer((json_int_t)b->size)) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *
manifest_json(const struct ar_blob *config, const struct ar_blob *layers, size_t n)
{
    json_t *root = json_object();
    json_t *ls = json_array();
    if (!root || !ls || json_object_set_new(root, "schemaVersion", json_integer(2)) < 0 ||
        json_object_set_new(root, "mediaType", json_string(UD_OCI_MT_OCI_MANIFEST)) < 0 ||
        json_object_set_new(root, "config", descriptor_json(UD_OCI_MT_OCI_CONFIG, config)) < 0) {
        json_decref(ls);
        json_decref(root);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(ls, descriptor_json(layers[i].media_type, &layers[i])) < 0) {
            json_decref(ls);
            json_decref(root);
            return NULL;
        }
    }
    if (json_object_set_new(root, "layers", ls) < 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int
ar_manifest_build(const struct ar_blob *config, const struct ar_blob *layers, size_t n, char **json,
                  size_t *len, struct ud_error *err)
{
    json_t *root = manifest_json(config, layers, n);
    char *s = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!s)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *len = strlen(s);
    *json = s;
    return 0;
}
