/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a scanned archive holds, decided before anything is stored: an OCI
 * layout (index.json; Docker 25+ save, skopeo oci-archive, OCI tools), a
 * docker-save manifest.json (docker before 25, skopeo docker-archive) or a
 * pre-1.10 docker save (repositories and <id>/json only). Every blob is
 * checked against its digest and every name against the store's rules
 * here, so that storing cannot fail half-way for a reason in the archive.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "archive_int.h"

#define MAX_V1_CHAIN 1000

struct img_src {
    bool v1;
    char *meta;
    size_t meta_len;
    struct ar_plan_blob *blobs;
    size_t n;
};

struct planner {
    struct ar_scan *sc;
    struct ar_plan *plan;
    struct ud_archive_manifest_entry *mj; /* manifest.json, or NULL */
    size_t n_mj;
    char *nn_repo, *nn_tag; /* from new_name */
    struct ud_platform want;
};

static void
src_fini(struct img_src *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->blobs[i].filename);
    free(s->blobs);
    free(s->meta);
    memset(s, 0, sizeof(*s));
}

static void
image_fini(struct ar_plan_image *im)
{
    free(im->repo);
    free(im->tag);
    for (size_t i = 0; i < im->n_blobs; i++)
        free(im->blobs[i].filename);
    free(im->blobs);
    free(im->meta);
}

void
ar_plan_fini(struct ar_plan *p)
{
    for (size_t i = 0; p->v && i < p->n; i++)
        image_fini(&p->v[i]);
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

static int
src_add(struct img_src *s, const char *filename, struct ar_entry *e, struct ud_error *err)
{
    struct ar_plan_blob *nv = ud_realloc(s->blobs, (s->n + 1) * sizeof(*nv));
    if (!nv)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    s->blobs = nv;
    s->blobs[s->n].filename = ud_strdup(filename);
    s->blobs[s->n].e = e;
    if (!s->blobs[s->n].filename)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    s->n++;
    return 0;
}

/* Docker's tag grammar, or a digest (a tag directory "sha256:<hex>"). */
static bool
tag_is_valid(const char *tag)
{
    if (ud_oci_digest_is_valid(tag))
        return true;
    size_t n = strlen(tag);
    if (n == 0 || n > 128 || tag[0] == '.' || tag[0] == '-')
        return false;
    return strspn(tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* One stored image under repo:tag (NEWNAME applied; a name seen before
 * is stored once). */
static int
emit(struct planner *pl, const struct img_src *s, const char *repo, const char *tag,
     struct ud_error *err)
{
    char rnd[17];
    if (pl->nn_repo)
        repo = pl->nn_repo;
    if (pl->nn_tag)
        tag = pl->nn_tag;
    if (!repo) {
        int rc = ud_random_hex(rnd, 16, err);
        if (rc < 0)
            return rc;
        repo = rnd;
    }
    if (!tag)
        tag = "latest";
    if (!tag_is_valid(tag))
        return ud_error_set(err, UD_EINVAL, 0, "invalid tag in the archive: %.100s", tag);
    for (size_t i = 0; i < pl->plan->n; i++) {
        const struct ar_plan_image *o = &pl->plan->v[i];
        if (strcmp(o->repo, repo) != 0 || strcmp(o->tag, tag) != 0)
            continue;
        if (o->meta_len == s->meta_len && !memcmp(o->meta, s->meta, s->meta_len))
            return 0; /* the same image named twice */
        return ud_error_set(err, UD_EINVAL, 0, "two images of the archive would be %.100s:%.100s",
                            repo, tag);
    }
    struct ar_plan_image *nv = ud_realloc(pl->plan->v, (pl->plan->n + 1) * sizeof(*nv));
    if (!nv)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    pl->plan->v = nv;
    struct ar_plan_image *im = &nv[pl->plan->n++];
    memset(im, 0, sizeof(*im));
    im->v1 = s->v1;
    im->repo = ud_strdup(repo);
    im->tag = ud_strdup(tag);
    im->meta = ud_malloc(s->meta_len + 1);
    im->blobs = ud_calloc(s->n ? s->n : 1, sizeof(*im->blobs));
    if (!im->repo || !im->tag || !im->meta || !im->blobs)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    memcpy(im->meta, s->meta, s->meta_len + 1);
    im->meta_len = s->meta_len;
    for (size_t i = 0; i < s->n; i++, im->n_blobs++) {
        im->blobs[i].e = s->blobs[i].e;
        im->blobs[i].filename = ud_strdup(s->blobs[i].filename);
        if (!im->blobs[i].filename)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    return 0;
}

/* emit under a name as the archive spells it. */
static int
emit_named(struct planner *pl, const struct img_src *s, const char *name, struct ud_error *err)
{
    cleanup_free char *repo = NULL;
    cleanup_free char *tag = NULL;
    int rc = ud_archive_name_split(name, &repo, &tag, err);
    return rc < 0 ? rc : emit(pl, s, repo, tag, err);
}

/* The member holding blob digest, checked against the digest and size. */
static int
blob_entry(struct planner *pl, const char *digest, int64_t size, struct ar_entry **out,
           struct ud_error *err)
{
    if (!ud_str_has_prefix(digest, "sha256:"))
        return ud_error_set(err, UD_EUNSUPP, 0, "unsupported digest algorithm: %.100s", digest);
    char name[96];
    snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
    struct ar_entry *e = NULL;
    int rc = ar_scan_find(pl->sc, name, &e, err);
    if (rc < 0)
        return rc;
    if (strcmp(e->sha256, digest + 7) != 0)
        return ud_error_set(err, UD_EDIGEST, 0, "blob %.100s does not match its digest", digest);
    if (size >= 0 && (uint64_t)size != e->size)
        return ud_error_set(err, UD_EDIGEST, 0, "blob %.100s has the wrong size", digest);
    *out = e;
    return 0;
}

/* An image manifest (or an index, resolved to the wanted platform). */
static int
oci_resolve(struct planner *pl, const struct ud_descriptor *d, int depth, struct img_src *s,
            struct ud_error *err)
{
    struct ar_entry *e = NULL;
    cleanup_free char *data = NULL;
    size_t len = 0;
    if (depth > UD_OCI_INDEX_MAX_DEPTH)
        return ud_error_set(err, UD_EUNSUPP, 0, "image indexes nested too deep");
    int rc = blob_entry(pl, d->digest, d->size, &e, err);
    if (rc == 0)
        rc = ar_entry_read(e, UD_OCI_MANIFEST_MAX_BYTES, &data, &len, err);
    if (rc < 0)
        return rc;
    if (ud_oci_descriptor_is_index(d)) {
        struct ud_index idx = {0};
        const struct ud_descriptor *sel = NULL;
        rc = ud_oci_index_parse(data, len, UD_OCI_KIND_UNKNOWN, &idx, err);
        if (rc == 0)
            rc = ud_oci_index_select(&idx, &pl->want, &sel, err);
        if (rc == 0)
            rc = oci_resolve(pl, sel, depth + 1, s, err);
        ud_oci_index_fini(&idx);
        return rc;
    }
    struct ud_manifest m = {0};
    rc = ud_oci_manifest_parse(data, len, ud_oci_kind_from_media_type(d->media_type), &m, err);
    if (rc == 0 && !m.has_config)
        rc = ud_error_set(err, UD_EUNSUPP, 0, "schema 1 manifests cannot be loaded");
    struct ar_entry *be = NULL;
    if (rc == 0 && (rc = blob_entry(pl, m.config.digest, m.config.size, &be, err)) == 0)
        rc = src_add(s, m.config.digest, be, err);
    for (size_t i = 0; rc == 0 && i < m.n_layers; i++)
        if ((rc = blob_entry(pl, m.layers[i].digest, m.layers[i].size, &be, err)) == 0)
            rc = src_add(s, m.layers[i].digest, be, err);
    ud_oci_manifest_fini(&m);
    if (rc == 0) {
        s->meta = ud_steal(&data);
        s->meta_len = len;
    }
    return rc;
}

/* The manifest.json entry whose Config is the blob of digest. */
static const struct ud_archive_manifest_entry *
mj_for_config(struct planner *pl, const char *digest)
{
    for (size_t i = 0; i < pl->n_mj; i++) {
        char name[AR_NAME_MAX];
        snprintf(name, sizeof(name), "%s", pl->mj[i].config);
        if (ar_name_normalise(name) && ud_str_has_prefix(name, "blobs/sha256/") &&
            ud_str_has_prefix(digest, "sha256:") && !strcmp(name + 13, digest + 7))
            return &pl->mj[i];
    }
    return NULL;
}

static int
oci_entry(struct planner *pl, const struct ud_archive_index_entry *ie, struct ud_error *err)
{
    struct img_src s = {0};
    int rc = oci_resolve(pl, &ie->desc, 0, &s, err);
    const struct ud_archive_manifest_entry *mj =
        rc == 0 ? mj_for_config(pl, s.blobs[0].filename) : NULL;
    if (rc < 0) {
        /* fall through to the cleanup */
    } else if (mj && mj->repo_tags[0]) {
        for (size_t i = 0; rc == 0 && mj->repo_tags[i]; i++)
            rc = emit_named(pl, &s, mj->repo_tags[i], err);
    } else if (ie->image_name) {
        rc = emit_named(pl, &s, ie->image_name, err);
    } else if (ie->ref_name && strpbrk(ie->ref_name, ":/")) {
        rc = emit_named(pl, &s, ie->ref_name, err);
    } else {
        rc = emit(pl, &s, NULL, ie->ref_name, err);
    }
    src_fini(&s);
    return rc;
}

static int
plan_oci(struct planner *pl, struct ar_entry *index, struct ud_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    struct ud_archive_index_entry *v = NULL;
    size_t n = 0;
    int rc = ar_entry_read(index, UD_ARCHIVE_META_MAX, &data, &len, err);
    if (rc == 0)
        rc = ud_archive_index_parse(data, len, &v, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = oci_entry(pl, &v[i], err);
    ud_archive_index_free(v, n);
    return rc;
}

/* rootfs.diff_ids of a config (NULL when it has none). */
static int
config_diff_ids(const char *json, size_t len, char ***out, struct ud_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return ud_error_set(err, UD_EPARSE, 0, "image config is not a JSON object");
    }
    json_t *ids = json_object_get(json_object_get(root, "rootfs"), "diff_ids");
    char **v = NULL;
    size_t i;
    json_t *d;
    int rc = 0;
    json_array_foreach(json_is_array(ids) ? ids : NULL, i, d)
    {
        rc = json_is_string(d) ? ud_strv_push(&v, json_string_value(d), err)
                               : ud_error_set(err, UD_EPARSE, 0, "bad diff_ids in image config");
        if (rc < 0)
            break;
    }
    json_decref(root);
    if (rc < 0) {
        ud_strv_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

/* A docker-save manifest.json entry: an OCI manifest is made for it. */
static int
legacy_src(struct planner *pl, const struct ud_archive_manifest_entry *me, struct img_src *s,
           struct ud_error *err)
{
    struct ar_entry *ce = NULL;
    cleanup_free char *cfg = NULL;
    size_t clen = 0;
    cleanup_strv char **diff_ids = NULL;
    int rc = ar_scan_find(pl->sc, me->config, &ce, err);
    if (rc == 0)
        rc = ar_entry_read(ce, UD_OCI_CONFIG_MAX_BYTES, &cfg, &clen, err);
    if (rc == 0)
        rc = config_diff_ids(cfg, clen, &diff_ids, err);
    size_t nl = ud_strv_len(me->layers);
    if (rc == 0 && diff_ids && ud_strv_len(diff_ids) != nl)
        rc = ud_error_set(err, UD_EPARSE, 0, "image config lists %zu layers, manifest.json %zu",
                          ud_strv_len(diff_ids), nl);
    cleanup_free struct ar_blob *lb = ud_calloc(nl ? nl : 1, sizeof(*lb));
    struct ar_blob cb = {.size = ce ? ce->size : 0};
    if (rc == 0 && !lb)
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc == 0) {
        snprintf(cb.digest, sizeof(cb.digest), "sha256:%s", ce->sha256);
        rc = src_add(s, cb.digest, ce, err);
    }
    for (size_t i = 0; rc == 0 && i < nl; i++) {
        struct ar_entry *le = NULL;
        if ((rc = ar_scan_find(pl->sc, me->layers[i], &le, err)) < 0)
            break;
        snprintf(lb[i].digest, sizeof(lb[i].digest), "sha256:%s", le->sha256);
        lb[i].size = le->size;
        lb[i].media_type = ar_layer_media_type(le->head, le->size < 8 ? (size_t)le->size : 8);
        /* Docker checks uncompressed layers against the config too. */
        if (diff_ids && ud_str_has_suffix(lb[i].media_type, ".tar") &&
            strcmp(diff_ids[i], lb[i].digest) != 0)
            rc = ud_error_set(err, UD_EDIGEST, 0, "layer %.200s does not match the image config",
                              me->layers[i]);
        if (rc == 0)
            rc = src_add(s, lb[i].digest, le, err);
    }
    if (rc == 0)
        rc = ar_manifest_build(&cb, lb, nl, &s->meta, &s->meta_len, err);
    return rc;
}

static int
plan_legacy(struct planner *pl, struct ud_error *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < pl->n_mj; i++) {
        struct img_src s = {0};
        rc = legacy_src(pl, &pl->mj[i], &s, err);
        if (rc == 0 && !pl->mj[i].repo_tags[0])
            rc = emit(pl, &s, NULL, NULL, err);
        for (size_t t = 0; rc == 0 && pl->mj[i].repo_tags[t]; t++)
            rc = emit_named(pl, &s, pl->mj[i].repo_tags[t], err);
        src_fini(&s);
    }
    return rc;
}

static bool
is_layer_id(const char *id)
{
    return strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64;
}

/* Pre-1.10 docker save: follow the parent chain from the top layer. */
static int
v1_src(struct planner *pl, const char *top, struct img_src *s, struct ud_error *err)
{
    json_t *anc = json_array();
    cleanup_free char *cur = ud_strdup(top);
    int rc = anc && cur ? 0 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (int depth = 0; rc == 0 && cur; depth++) {
        char name[96];
        struct ar_entry *je = NULL, *le = NULL;
        cleanup_free char *js = NULL;
        size_t jl = 0;
        if (!is_layer_id(cur) || depth >= MAX_V1_CHAIN) {
            rc = ud_error_set(err, UD_EPARSE, 0, "bad layer id or chain in the archive");
            break;
        }
        snprintf(name, sizeof(name), "%s/json", cur);
        if ((rc = ar_scan_find(pl->sc, name, &je, err)) < 0)
            break;
        snprintf(name, sizeof(name), "%s/layer.tar", cur);
        if ((rc = ar_scan_find(pl->sc, name, &le, err)) < 0)
            break;
        snprintf(name, sizeof(name), "%s.json", cur);
        if ((rc = src_add(s, name, je, err)) < 0)
            break;
        snprintf(name, sizeof(name), "%s.layer", cur);
        if ((rc = src_add(s, name, le, err)) < 0 ||
            (rc = ar_entry_read(je, UD_OCI_CONFIG_MAX_BYTES, &js, &jl, err)) < 0)
            break;
        if (json_array_append_new(anc, json_string(cur)) < 0) {
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
            break;
        }
        json_t *lj = json_loadb(js, jl, 0, NULL);
        json_t *parent = json_object_get(lj, "parent");
        free(cur);
        cur = json_is_string(parent) ? ud_strdup(json_string_value(parent)) : NULL;
        json_decref(lj);
    }
    if (rc == 0) {
        s->v1 = true;
        s->meta = json_dumps(anc, JSON_COMPACT);
        s->meta_len = s->meta ? strlen(s->meta) : 0;
        if (!s->meta)
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    json_decref(anc);
    return rc;
}

static int
plan_v1(struct planner *pl, struct ar_entry *repos, struct ud_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    struct ud_archive_repo_tag *v = NULL;
    size_t n = 0;
    int rc = ar_entry_read(repos, UD_ARCHIVE_META_MAX, &data, &len, err);
    if (rc == 0)
        rc = ud_archive_repositories_parse(data, len, &v, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct img_src s = {0};
        cleanup_free char *name = ud_asprintf("%s:%s", v[i].repo, v[i].tag);
        rc = name ? v1_src(pl, v[i].id, &s, err) : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        if (rc == 0)
            rc = emit_named(pl, &s, name, err);
        src_fini(&s);
    }
    ud_archive_repositories_free(v, n);
    return rc;
}

static int
read_mj(struct planner *pl, struct ar_entry *e, struct ud_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    int rc = ar_entry_read(e, UD_ARCHIVE_META_MAX, &data, &len, err);
    return rc < 0 ? rc : ud_archive_manifest_parse(data, len, &pl->mj, &pl->n_mj, err);
}

static int
plan_setup(struct planner *pl, const struct ud_archive_load_opts *o, struct ud_error *err)
{
    int rc = o->platform ? (pl->want = *o->platform, 0) : ud_oci_platform_host(&pl->want, err);
    if (rc < 0 || !o->new_name)
        return rc;
    /* NEWNAME is checked like any image name; its tag counts only when
     * one was given. */
    const char *slash = strrchr(o->new_name, '/');
    bool has_tag = strchr(slash ? slash : o->new_name, ':') || strchr(o->new_name, '@');
    rc = ud_archive_name_split(o->new_name, &pl->nn_repo, &pl->nn_tag, err);
    if (rc == 0 && !has_tag) {
        free(pl->nn_tag);
        pl->nn_tag = NULL;
    }
    return rc;
}

static int
plan_dispatch(struct planner *pl, struct ud_error *err)
{
    struct ar_entry *index = NULL, *mj = NULL, *repos = NULL;
    struct ud_error ignore;
    if (ar_scan_find(pl->sc, "index.json", &index, &ignore) < 0)
        index = NULL;
    if (ar_scan_find(pl->sc, "manifest.json", &mj, &ignore) < 0)
        mj = NULL;
    if (ar_scan_find(pl->sc, "repositories", &repos, &ignore) < 0)
        repos = NULL;
    int rc = mj ? read_mj(pl, mj, err) : 0;
    if (rc < 0)
        return rc;
    if (index)
        return plan_oci(pl, index, err);
    if (mj)
        return plan_legacy(pl, err);
    if (repos)
        return plan_v1(pl, repos, err);
    return ud_error_set(err, UD_EPARSE, 0,
                        "not an image archive: no index.json, manifest.json or repositories");
}

int
ar_plan_make(struct ar_scan *sc, const struct ud_archive_load_opts *o, struct ar_plan *out,
             struct ud_error *err)
{
    struct ar_plan plan = {0};
    struct planner pl = {.sc = sc, .plan = &plan};
    int rc = plan_setup(&pl, o, err);
    if (rc == 0)
        rc = plan_dispatch(&pl, err);
    if (rc == 0 && plan.n == 0)
        rc = ud_error_set(err, UD_ENOENT, 0, "the archive holds no image");
    if (rc == 0 && pl.nn_tag && plan.n > 1)
        rc = ud_error_set(err, UD_EINVAL, 0,
                          "a new name with a tag needs an archive of one image (it has %zu)",
                          plan.n);
    ud_archive_manifest_free(pl.mj, pl.n_mj);
    free(pl.nn_repo);
    free(pl.nn_tag);
    if (rc < 0) {
        ar_plan_fini(&plan);
        return rc;
    }
    *out = plan;
    return 0;
}
