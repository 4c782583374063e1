/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image verification (the "verify" command): structure per format, then
 * every layer link and content hash. The tar check needs the tarextract
 * module, which this layer cannot call, so the caller gets each layer path
 * through the callback and does it there.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

struct vctx {
    const struct ud_store *s;
    const char *tagdir;
    ud_store_verify_fn cb;
    void *ctx;
    struct ud_error *err;
    int first;    /* first failure code */
    char *config; /* config blob name, if any */
};

static void
vfail(struct vctx *v, int code, const char *name, const char *msg)
{
    if (v->cb)
        (void)v->cb(v->ctx, UD_STORE_VERIFY_FAIL, name, NULL, msg);
    if (!v->first)
        v->first = ud_error_set(v->err, code, 0, "%s: %s", name, msg);
}

static bool
is_known(const char *n)
{
    static const char *const k[] = {"TAG",      "v1",       "v2",   "PROTECT", "container.json",
                                    "manifest", "ancestry", "index"};
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (!strcmp(n, k[i]))
            return true;
    return n[0] == '.';
}

static bool
is_layer_name(const char *n)
{
    return strlen(n) >= 64 &&
           (ud_str_has_suffix(n, ".json") || ud_str_has_suffix(n, ".layer") || strchr(n, ':'));
}

static bool
check_hash(struct vctx *v, const char *name, const char *path)
{
    const char *colon = strchr(name, ':');
    char algo_name[16];
    size_t al = (size_t)(colon - name);
    int algo;
    char hex[UD_HASH_HEX_MAX];
    struct ud_error e = {0};
    if (al >= sizeof(algo_name)) {
        vfail(v, UD_EUNSUPP, name, "unsupported digest algorithm");
        return false;
    }
    memcpy(algo_name, name, al);
    algo_name[al] = '\0';
    if (ud_hash_algo_from_name(algo_name, &algo, &e) < 0) {
        vfail(v, UD_EUNSUPP, name, "unsupported digest algorithm");
        return false;
    }
    if (ud_hash_file(path, algo, hex, &e) < 0) {
        vfail(v, UD_EIO, name, e.msg);
        return false;
    }
    if (strcmp(hex, colon + 1) != 0) {
        vfail(v, UD_EDIGEST, name, "layer file checksum does not match its name");
        return false;
    }
    return true;
}

static void
check_layer(struct vctx *v, const char *name)
{
    cleanup_free char *p = ud_path_join(v->tagdir, name);
    struct stat st;
    if (!p) {
        vfail(v, UD_ENOMEM, name, "out of memory");
        return;
    }
    if (lstat(p, &st) < 0) {
        vfail(v, UD_ENOENT, name, "layer missing");
        return;
    }
    if (!S_ISLNK(st.st_mode)) {
        vfail(v, UD_EPARSE, name, "layer is not a symbolic link");
        return;
    }
    if (stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
        vfail(v, UD_ENOENT, name, "layer link target does not exist");
        return;
    }
    if (strchr(name, ':') && !check_hash(v, name, p))
        return;
    if (ud_str_has_suffix(name, ".json"))
        return;
    bool is_cfg = v->config && !strcmp(v->config, name);
    enum ud_store_verify_event ev = is_cfg ? UD_STORE_VERIFY_CONFIG : UD_STORE_VERIFY_LAYER;
    if (v->cb && v->cb(v->ctx, ev, name, p, NULL) != 0)
        vfail(v, UD_EPARSE, name, "layer is not a valid archive");
}

static void
check_listed(struct vctx *v, json_t *arr, const char *key, const char *what)
{
    size_t i;
    json_t *e;
    if (!json_is_array(arr)) {
        vfail(v, UD_EPARSE, what, "no layer list in manifest");
        return;
    }
    json_array_foreach(arr, i, e)
    {
        const char *d = json_string_value(json_object_get(e, key));
        cleanup_free char *p = d && store_plain_name_ok(d) ? ud_path_join(v->tagdir, d) : NULL;
        if (!d || !store_plain_name_ok(d))
            vfail(v, UD_EPARSE, what, "bad layer entry in manifest");
        else if (!p || !ud_path_exists(p))
            vfail(v, UD_ENOENT, d, "layer missing");
    }
}

static void
check_v1_chain(struct vctx *v, json_t *anc)
{
    const char *top = json_string_value(json_array_get(anc, 0));
    if (!top || !store_plain_name_ok(top)) {
        vfail(v, UD_EPARSE, "ancestry", "empty or invalid ancestry");
        return;
    }
    if (v->cb)
        (void)v->cb(v->ctx, UD_STORE_VERIFY_TOPLAYER, top, NULL, NULL);
    size_t n = json_array_size(anc), i = 0;
    cleanup_free char *cur = ud_strdup(top);
    while (cur && i <= n) {
        const char *want = json_string_value(json_array_get(anc, i));
        if (!want || strcmp(want, cur) != 0) {
            vfail(v, UD_EPARSE, "ancestry", "layer parent chain does not match ancestry");
            return;
        }
        cleanup_free char *jp = ud_asprintf("%s/%s.json", v->tagdir, cur);
        cleanup_free char *data = NULL;
        size_t len = 0;
        if (!jp || ud_file_read(jp, STORE_FILE_MAX, &data, &len, NULL) < 0) {
            vfail(v, UD_ENOENT, cur, "layer json missing");
            return;
        }
        json_t *j = json_loadb(data, len, 0, NULL);
        const char *parent = json_string_value(json_object_get(j, "parent"));
        free(cur);
        cur = parent && parent[0] ? ud_strdup(parent) : NULL;
        if (j)
            json_decref(j);
        i++;
    }
    if (i != n)
        vfail(v, UD_EPARSE, "ancestry", "layer parent chain does not match ancestry");
}

static void
check_structure(struct vctx *v, enum ud_store_image_format fmt, json_t *doc)
{
    if (fmt == UD_STORE_IMAGE_V1) {
        check_v1_chain(v, doc);
    } else if (fmt == UD_STORE_IMAGE_V2_SCHEMA1) {
        check_listed(v, json_object_get(doc, "fsLayers"), "blobSum", "manifest");
    } else {
        check_listed(v, json_object_get(doc, "layers"), "digest", "manifest");
        const char *c =
            json_string_value(json_object_get(json_object_get(doc, "config"), "digest"));
        if (!c || !store_plain_name_ok(c)) {
            vfail(v, UD_EPARSE, "manifest", "no config digest in manifest");
            return;
        }
        v->config = ud_strdup(c);
        cleanup_free char *p = ud_path_join(v->tagdir, c);
        if (!p || !ud_path_exists(p))
            vfail(v, UD_ENOENT, c, "config blob missing");
    }
}

static int
scan_dir(struct vctx *v)
{
    cleanup_dir DIR *d = opendir(v->tagdir);
    if (!d)
        return ud_error_set(v->err, ud_error_from_errno(errno), errno, "open %s", v->tagdir);
    cleanup_strv char **names = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || is_known(de->d_name))
            continue;
        if (!is_layer_name(de->d_name)) {
            cleanup_free char *m = ud_asprintf("unknown file in image: %s", de->d_name);
            if (v->cb && m)
                (void)v->cb(v->ctx, UD_STORE_VERIFY_WARN, de->d_name, NULL, m);
            continue;
        }
        int rc = ud_strv_push(&names, de->d_name, v->err);
        if (rc < 0)
            return rc;
    }
    /* The kept index (index_keep.c) is not part of the image: a bad one
     * only costs "images -p" its platform list. */
    cleanup_free char *ip = ud_path_join(v->tagdir, "index");
    if (ip && ud_path_exists(ip) && !store_index_valid(ip) && v->cb)
        (void)v->cb(v->ctx, UD_STORE_VERIFY_WARN, "index", NULL, "invalid index file in image");
    if (names)
        ud_strv_sort(names);
    for (size_t i = 0; names && names[i]; i++)
        check_layer(v, names[i]);
    return 0;
}

int
ud_store_image_verify(const struct ud_store *s, const char *repo, const char *tag,
                      ud_store_verify_fn cb, void *ctx, struct ud_error *err)
{
    cleanup_free char *td = NULL, *data = NULL;
    enum ud_store_image_format fmt;
    size_t len = 0;
    int rc = ud_store_image_dir(s, repo, tag, &td, err);
    if (rc == 0)
        rc = ud_store_image_format(s, repo, tag, &fmt, err);
    if (rc == 0)
        rc = ud_store_image_file_read(
            s, repo, tag, fmt == UD_STORE_IMAGE_V1 ? "ancestry" : "manifest", &data, &len, err);
    if (rc < 0)
        return rc;
    json_error_t je;
    json_t *doc = json_loadb(data, len, 0, &je);
    if (!doc)
        return ud_error_set(err, UD_EPARSE, 0, "%s:%s: bad JSON: %s", repo, tag, je.text);
    struct vctx v = {s, td, cb, ctx, err, 0, NULL};
    check_structure(&v, fmt, doc);
    json_decref(doc);
    rc = scan_dir(&v);
    free(v.config);
    if (rc < 0)
        return rc;
    return v.first;
}
