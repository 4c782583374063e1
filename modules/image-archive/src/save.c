/* SPDX-License-Identifier: Apache-2.0 */
/*
 * save: images to one tar in the Docker 25+ layout, which docker (any
 * version: it reads manifest.json), skopeo (docker-archive: and
 * oci-archive:) and OCI tools all read. The metadata goes first so that a
 * streaming reader knows every blob before it arrives; blobs follow, each
 * once, copied as stored (no recompression) and hashed on the way.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive_int.h"

struct sblob {
    char digest[72];
    uint64_t size;
    char *path; /* layer file, or NULL when mem holds the content */
    char *mem;
    const char *media_type;
};

struct simg {
    const char *repo, *tag;
    char *manifest;
    size_t mlen;
    char mdigest[72];
    const char *mtype;
    struct sblob config;
    struct sblob *layers;
    size_t n_layers;
};

static void
simg_fini(struct simg *im)
{
    free(im->manifest);
    free(im->config.path);
    free(im->config.mem);
    for (size_t i = 0; i < im->n_layers; i++)
        free(im->layers[i].path);
    free(im->layers);
}

static int
blob_from_store(struct ud_store *s, const struct ud_descriptor *d, struct sblob *b,
                struct ud_error *err)
{
    if (!ud_str_has_prefix(d->digest, "sha256:"))
        return ud_error_set(err, UD_EUNSUPP, 0, "cannot save a %s blob", d->digest);
    snprintf(b->digest, sizeof(b->digest), "%s", d->digest);
    b->media_type = d->media_type;
    int rc = ud_store_layer_path(s, d->digest, &b->path, err);
    struct stat st;
    if (rc == 0 && stat(b->path, &st) < 0)
        rc = ud_error_set(err, UD_ENOENT, 0, "image layer missing: %s", d->digest);
    if (rc == 0)
        b->size = (uint64_t)st.st_size;
    return rc;
}

/* A v2 image: its stored manifest and blobs, as they are. */
static int
load_v2(struct ud_store *s, struct simg *im, struct ud_error *err)
{
    struct ud_manifest m = {0};
    int rc =
        ud_store_image_file_read(s, im->repo, im->tag, "manifest", &im->manifest, &im->mlen, err);
    char hex[65];
    if (rc == 0)
        rc = ud_oci_manifest_parse(im->manifest, im->mlen, UD_OCI_KIND_UNKNOWN, &m, err);
    if (rc == 0 && (rc = ud_sha256_hex(im->manifest, im->mlen, hex, err)) == 0) {
        snprintf(im->mdigest, sizeof(im->mdigest), "sha256:%s", hex);
        im->mtype = ud_oci_kind_media_type(m.kind);
        rc = blob_from_store(s, &m.config, &im->config, err);
    }
    if (rc == 0 && !(im->layers = ud_calloc(m.n_layers ? m.n_layers : 1, sizeof(*im->layers))))
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; rc == 0 && i < m.n_layers; i++, im->n_layers++)
        rc = blob_from_store(s, &m.layers[i], &im->layers[i], err);
    /* media types point into m: keep only the static ones */
    im->config.media_type = UD_OCI_MT_OCI_CONFIG;
    for (size_t i = 0; i < im->n_layers; i++)
        im->layers[i].media_type = NULL;
    ud_oci_manifest_fini(&m);
    return rc;
}

/* The config of a v1 or schema 1 image with rootfs.diff_ids set. */
static int
config_with_diff_ids(const char *cfg, size_t len, char **diff_ids, size_t n, char **out,
                     struct ud_error *err)
{
    json_t *root = json_loadb(cfg, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return ud_error_set(err, UD_EPARSE, 0, "image config is not a JSON object");
    }
    json_t *ids = json_array();
    json_t *rootfs = json_object();
    int bad = !ids || !rootfs;
    for (size_t i = 0; !bad && i < n; i++)
        bad = json_array_append_new(ids, json_string(diff_ids[i])) < 0;
    bad = bad || json_object_set_new(rootfs, "type", json_string("layers")) < 0 ||
          json_object_set(rootfs, "diff_ids", ids) < 0 ||
          json_object_set(root, "rootfs", rootfs) < 0;
    json_object_del(root, "id");
    json_object_del(root, "parent");
    char *s = bad ? NULL : json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(ids);
    json_decref(rootfs);
    json_decref(root);
    if (!s)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *out = s;
    return 0;
}

static int
hash_layer(const char *path, struct sblob *b, char **diff_id, struct ud_error *err)
{
    char hex[UD_HASH_HEX_MAX], dhex[65];
    unsigned char head[8] = {0};
    struct stat st;
    int rc = ud_hash_file(path, UD_HASH_SHA256, hex, err);
    if (rc == 0 && stat(path, &st) < 0)
        rc = ud_error_set(err, UD_EIO, 0, "stat %s", path);
    if (rc == 0)
        rc = ud_archive_diff_id(path, dhex, err);
    if (rc < 0)
        return rc;
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof(head), f) : 0;
    if (f)
        fclose(f);
    snprintf(b->digest, sizeof(b->digest), "sha256:%.64s", hex);
    b->size = (uint64_t)st.st_size;
    b->media_type = ar_layer_media_type(head, got);
    b->path = ud_strdup(path);
    *diff_id = ud_asprintf("sha256:%s", dhex);
    if (!b->path || !*diff_id)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return 0;
}

/* A v1 or schema 1 image: hash its layers and make config and manifest. */
static int
load_synth(struct ud_store *s, struct simg *im, struct ud_error *err)
{
    cleanup_strv char **paths = NULL;
    cleanup_strv char **diff_ids = NULL;
    cleanup_free char *cfg = NULL;
    size_t clen = 0;
    int rc = ud_store_image_layers(s, im->repo, im->tag, &paths, err);
    if (rc == 0)
        rc = ud_store_image_config(s, im->repo, im->tag, &cfg, &clen, err);
    size_t n = rc == 0 ? ud_strv_len(paths) : 0;
    diff_ids = rc == 0 ? ud_calloc(n + 1, sizeof(char *)) : NULL;
    im->layers = rc == 0 ? ud_calloc(n ? n : 1, sizeof(*im->layers)) : NULL;
    if (rc == 0 && (!diff_ids || !im->layers))
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++, im->n_layers++)
        rc = hash_layer(paths[i], &im->layers[i], &diff_ids[i], err);
    char hex[65];
    if (rc == 0)
        rc = config_with_diff_ids(cfg, clen, diff_ids, n, &im->config.mem, err);
    if (rc == 0) {
        im->config.size = strlen(im->config.mem);
        rc = ud_sha256_hex(im->config.mem, im->config.size, hex, err);
    }
    if (rc < 0)
        return rc;
    snprintf(im->config.digest, sizeof(im->config.digest), "sha256:%s", hex);
    struct ar_blob cb = {.size = im->config.size};
    cleanup_free struct ar_blob *lb = ud_calloc(n ? n : 1, sizeof(*lb));
    if (!lb)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    memcpy(cb.digest, im->config.digest, sizeof(cb.digest));
    for (size_t i = 0; i < n; i++) {
        memcpy(lb[i].digest, im->layers[i].digest, sizeof(lb[i].digest));
        lb[i].size = im->layers[i].size;
        lb[i].media_type = im->layers[i].media_type;
    }
    rc = ar_manifest_build(&cb, lb, n, &im->manifest, &im->mlen, err);
    if (rc == 0 && (rc = ud_sha256_hex(im->manifest, im->mlen, hex, err)) == 0)
        snprintf(im->mdigest, sizeof(im->mdigest), "sha256:%s", hex);
    im->mtype = UD_OCI_MT_OCI_MANIFEST;
    return rc;
}

static int
simg_load(struct ud_store *s, struct simg *im, struct ud_error *err)
{
    enum ud_store_image_format fmt;
    int rc = ud_store_image_format(s, im->repo, im->tag, &fmt, err);
    if (rc < 0)
        return rc;
    rc = fmt == UD_STORE_IMAGE_V2 ? load_v2(s, im, err) : load_synth(s, im, err);
    if (rc < 0)
        ud_error_prefix(err, "%s:%s: ", im->repo, im->tag);
    return rc;
}

static bool
is_digest_tag(const char *tag)
{
    return ud_str_has_prefix(tag, "sha256:") || ud_str_has_prefix(tag, "sha512:");
}

/* index.json: one entry per name, with docker's and OCI's name annotations. */
static json_t *
index_json(const struct simg *v, size_t n)
{
    json_t *ms = json_array();
    json_t *root = json_pack("{s:i, s:s}", "schemaVersion", 2, "mediaType", UD_OCI_MT_OCI_INDEX);
    if (!ms || !root || json_object_set(root, "manifests", ms) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *q = ar_qualified_name(v[i].repo);
        bool dg = is_digest_tag(v[i].tag);
        cleanup_free char *full = q ? ud_asprintf("%s%s%s", q, dg ? "@" : ":", v[i].tag) : NULL;
        json_t *ann = full ? json_pack("{s:s}", "io.containerd.image.name", full) : NULL;
        if (ann && !dg &&
            json_object_set_new(ann, "org.opencontainers.image.ref.name", json_string(v[i].tag)))
            json_decref(ann), ann = NULL;
        json_t *e = ann ? json_pack("{s:s, s:s, s:I, s:o}", "mediaType", v[i].mtype, "digest",
                                    v[i].mdigest, "size", (json_int_t)v[i].mlen, "annotations", ann)
                        : NULL;
        if (!e || json_array_append_new(ms, e) < 0)
            goto fail;
    }
    json_decref(ms);
    return root;
fail:
    json_decref(ms);
    json_decref(root);
    return NULL;
}

static json_t *
blob_names(const struct simg *im)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < im->n_layers; i++) {
        cleanup_free char *p = ud_asprintf("blobs/sha256/%s", im->layers[i].digest + 7);
        if (!p || json_array_append_new(a, json_string(p)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* manifest.json (one entry per distinct manifest) and repositories. */
static int
legacy_json(const struct simg *v, size_t n, json_t **mj_out, json_t **repos_out)
{
    json_t *mj = json_array();
    json_t *repos = json_object();
    bool bad = !mj || !repos;
    for (size_t i = 0; !bad && i < n; i++) {
        json_t *entry = NULL;
        size_t idx;
        json_t *it;
        cleanup_free char *cfg = ud_asprintf("blobs/sha256/%s", v[i].config.digest + 7);
        json_array_foreach(mj, idx, it)
        {
            if (cfg && !strcmp(json_string_value(json_object_get(it, "Config")), cfg))
                entry = it;
        }
        if (!entry) {
            entry = cfg ? json_pack("{s:s, s:[], s:o}", "Config", cfg, "RepoTags", "Layers",
                                    blob_names(&v[i]))
                        : NULL;
            bad = !entry || json_array_append_new(mj, entry) < 0;
        }
        if (bad || is_digest_tag(v[i].tag))
            continue;
        cleanup_free char *rt = ud_asprintf("%s:%s", v[i].repo, v[i].tag);
        bad = !rt || json_array_append_new(json_object_get(entry, "RepoTags"), json_string(rt)) < 0;
        if (bad || v[i].n_layers == 0)
            continue;
        json_t *r = json_object_get(repos, v[i].repo);
        if (!r && (bad = json_object_set_new(repos, v[i].repo, (r = json_object())) < 0))
            continue;
        bad = json_object_set_new(r, v[i].tag,
                                  json_string(v[i].layers[v[i].n_layers - 1].digest + 7)) < 0;
    }
    if (bad) {
        json_decref(mj);
        json_decref(repos);
        return -1;
    }
    *mj_out = mj;
    *repos_out = repos;
    return 0;
}

static int
write_json(struct ar_writer *w, const char *name, json_t *doc, struct ud_error *err)
{
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (!s)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int rc = ar_writer_file_mem(w, name, s, strlen(s), err);
    free(s);
    return rc;
}

static int
write_meta(struct ar_writer *w, const struct simg *v, size_t n, struct ud_error *err)
{
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    json_t *idx = index_json(v, n);
    json_t *mj = NULL, *repos = NULL;
    int rc = ar_writer_file_mem(w, "oci-layout", layout, sizeof(layout) - 1, err);
    if (rc == 0 && legacy_json(v, n, &mj, &repos) < 0)
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc == 0)
        rc = write_json(w, "index.json", idx, err);
    if (rc == 0)
        rc = write_json(w, "manifest.json", mj, err);
    if (rc == 0)
        rc = write_json(w, "repositories", repos, err);
    json_decref(idx);
    json_decref(mj);
    json_decref(repos);
    return rc;
}

/* Each digest once, whichever image names it first. */
static bool
seen(char ***done, const char *digest, int *rc, struct ud_error *err)
{
    for (size_t i = 0; *done && (*done)[i]; i++)
        if (!strcmp((*done)[i], digest))
            return true;
    *rc = ud_strv_push(done, digest, err);
    return false;
}

static int
write_blob(struct ar_writer *w, const struct sblob *b, struct ud_error *err)
{
    char name[96];
    snprintf(name, sizeof(name), "blobs/sha256/%s", b->digest + 7);
    if (b->mem)
        return ar_writer_file_mem(w, name, b->mem, (size_t)b->size, err);
    return ar_writer_file_path(w, name, b->path, b->size, b->digest + 7, err);
}

static int
write_blobs(struct ar_writer *w, const struct simg *v, size_t n, struct ud_error *err)
{
    cleanup_strv char **done = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char name[96];
        snprintf(name, sizeof(name), "blobs/sha256/%s", v[i].mdigest + 7);
        if (!seen(&done, v[i].mdigest, &rc, err) && rc == 0)
            rc = ar_writer_file_mem(w, name, v[i].manifest, v[i].mlen, err);
        if (rc == 0 && !seen(&done, v[i].config.digest, &rc, err) && rc == 0)
            rc = write_blob(w, &v[i].config, err);
        for (size_t l = 0; rc == 0 && l < v[i].n_layers; l++)
            if (!seen(&done, v[i].layers[l].digest, &rc, err) && rc == 0)
                rc = write_blob(w, &v[i].layers[l], err);
    }
    return rc;
}

int
ud_archive_save(struct ud_store *s, const struct ud_archive_image *images, size_t count, int fd,
                struct ud_error *err)
{
    if (count == 0)
        return ud_error_set(err, UD_EINVAL, 0, "no image to save");
    struct simg *v = ud_calloc(count, sizeof(*v));
    if (!v)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        v[i].repo = images[i].repo;
        v[i].tag = images[i].tag;
        if (!ud_store_image_exists(s, v[i].repo, v[i].tag))
            rc = ud_error_set(err, UD_ENOENT, 0, "image not found: %s:%s", v[i].repo, v[i].tag);
        else
            rc = simg_load(s, &v[i], err);
    }
    struct ar_writer w = {0};
    if (rc == 0)
        rc = ar_writer_open(&w, fd, err);
    if (rc == 0)
        rc = write_meta(&w, v, count, err);
    if (rc == 0)
        rc = write_blobs(&w, v, count, err);
    if (rc == 0)
        rc = ar_writer_finish(&w, err);
    ar_writer_close(&w);
    for (size_t i = 0; i < count; i++)
        simg_fini(&v[i]);
    free(v);
    return rc;
}
