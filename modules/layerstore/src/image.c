/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading images: the tag list, format, layer files in extraction order,
 * the image config and its platform, the blob links for "images -l", and
 * protection. Stored manifests are read tolerantly with jansson (only the
 * digests are needed), so whatever upstream stored stays readable.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

static void
json_decref_p(json_t **j)
{
    if (*j)
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(json_decref_p)))

struct imglist {
    struct ud_store_image *v;
    size_t n, cap;
};

static int
list_push(struct imglist *l, const char *repo, const char *tag, bool prot, struct ud_error *err)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        struct ud_store_image *nv = ud_realloc(l->v, nc * sizeof(*nv));
        if (!nv)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        l->v = nv;
        l->cap = nc;
    }
    struct ud_store_image *e = &l->v[l->n];
    e->repo = ud_strdup(repo);
    e->tag = ud_strdup(tag);
    e->is_protected = prot;
    if (!e->repo || !e->tag) {
        free(e->repo);
        free(e->tag);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    l->n++;
    return 0;
}

/* What the listing needs from one directory of the repository tree, all
 * from a single read of it: is it a tag (a regular file TAG), is it
 * protected (an entry PROTECT), and its non-hidden subdirectories (a tag
 * directory may also be the parent of another repository: "a:b" next to
 * "a/b:c"). d_type answers the type questions, so nothing is stat'ed on
 * filesystems that fill it. */
struct dirscan {
    bool has_tag;
    bool has_protect;
    bool want_subs;
    struct ud_buf subs; /* names, each NUL-terminated */
};

static int
scan_entry(void *ctx, int dfd, const char *name, unsigned char type)
{
    struct dirscan *sc = ctx;
    (void)dfd;
    if (name[0] == '.' || type == DT_UNKNOWN)
        return 0;
    if (!strcmp(name, "PROTECT"))
        sc->has_protect = true;
    else if (!strcmp(name, "TAG") && type == DT_REG)
        sc->has_tag = true;
    if (type == DT_DIR && sc->want_subs && ud_buf_append(&sc->subs, name, strlen(name) + 1, NULL))
        return UD_ENOMEM;
    return 0;
}

struct listwalk {
    struct imglist *l;
    char *buf; /* getdents scratch, STORE_DIRBUF bytes, shared by all levels */
};

/* The directory "name" of dfd could not be opened for reading (no read
 * permission): it can still be a tag, as lstat would tell. */
static int
list_unreadable(struct listwalk *w, int dfd, const char *name, const char *repo,
                struct ud_error *err)
{
    char rel[600];
    struct stat st;
    if (!repo[0] || snprintf(rel, sizeof(rel), "%s/TAG", name) >= (int)sizeof(rel) ||
        fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
        return 0;
    snprintf(rel, sizeof(rel), "%s/PROTECT", name);
    bool prot = fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
    return list_push(w->l, repo, name, prot, err);
}

/* fd: the open directory "name", whose repository path below reposdir is
 * rel (repo: its parent's, "" at the top and for the top's children).
 * Takes fd. */
static int
list_walk(struct listwalk *w, int fd, const char *repo, const char *name, const char *rel,
          int depth, struct ud_error *err)
{
    struct dirscan sc = {.want_subs = depth <= STORE_REPOS_DEPTH_MAX};
    ud_buf_init(&sc.subs, 0);
    int rc = store_dir_each(fd, w->buf, STORE_DIRBUF, scan_entry, &sc);
    if (rc)
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc == 0 && repo[0] && sc.has_tag)
        rc = list_push(w->l, repo, name, sc.has_protect, err);
    for (size_t off = 0; rc == 0 && off < sc.subs.len; off += strlen(sc.subs.data + off) + 1) {
        const char *sub = sc.subs.data + off;
        cleanup_free char *subrel = rel[0] ? ud_path_join(rel, sub) : ud_strdup(sub);
        if (!subrel) {
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
            break;
        }
        int sfd = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd >= 0)
            rc = list_walk(w, sfd, rel, sub, subrel, depth + 1, err);
        else if (errno == EACCES)
            rc = list_unreadable(w, fd, sub, rel, err);
    }
    ud_buf_fini(&sc.subs);
    close(fd);
    return rc;
}

static int
cmp_image(const void *a, const void *b)
{
    const struct ud_store_image *x = a, *y = b;
    int c = strcmp(x->repo, y->repo);
    return c ? c : strcmp(x->tag, y->tag);
}

int
ud_store_image_list(const struct ud_store *s, struct ud_store_image **out, size_t *count,
                    struct ud_error *err)
{
    struct imglist l = {0};
    struct listwalk w = {&l, NULL};
    int rc = 0;
    int fd = open(s->p.reposdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 && !(w.buf = ud_malloc(STORE_DIRBUF))) {
        close(fd);
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    } else if (fd >= 0) {
        rc = list_walk(&w, fd, "", "", "", 0, err);
    }
    free(w.buf);
    if (rc < 0) {
        ud_store_image_list_free(l.v, l.n);
        return rc;
    }
    if (l.n)
        qsort(l.v, l.n, sizeof(*l.v), cmp_image);
    *out = l.v;
    *count = l.n;
    return 0;
}

void
ud_store_image_list_free(struct ud_store_image *v, size_t count)
{
    for (size_t i = 0; v && i < count; i++) {
        free(v[i].repo);
        free(v[i].tag);
    }
    free(v);
}

bool
ud_store_image_exists(const struct ud_store *s, const char *repo, const char *tag)
{
    cleanup_free char *td = NULL;
    if (store_tag_dir(s, repo, tag, NULL, &td, NULL) < 0)
        return false;
    return store_is_tag_dir(td);
}

int
ud_store_image_dir(const struct ud_store *s, const char *repo, const char *tag, char **out,
                   struct ud_error *err)
{
    cleanup_free char *td = NULL;
    int rc = store_tag_dir(s, repo, tag, NULL, &td, err);
    if (rc < 0)
        return rc;
    if (!store_is_tag_dir(td))
        return ud_error_set(err, UD_ENOENT, 0, "image not found: %s:%s", repo, tag);
    *out = ud_steal(&td);
    return 0;
}

int
ud_store_image_file_read(const struct ud_store *s, const char *repo, const char *tag,
                         const char *name, char **data, size_t *len, struct ud_error *err)
{
    cleanup_free char *td = NULL;
    if (!store_plain_name_ok(name))
        return ud_error_set(err, UD_EINVAL, 0, "invalid file name");
    int rc = ud_store_image_dir(s, repo, tag, &td, err);
    if (rc < 0)
        return rc;
    cleanup_free char *p = ud_path_join(td, name);
    if (!p)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return ud_file_read(p, STORE_FILE_MAX, data, len, err);
}

static int
load_json_file(const struct ud_store *s, const char *repo, const char *tag, const char *name,
               json_t **out, struct ud_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    int rc = ud_store_image_file_read(s, repo, tag, name, &data, &len, err);
    if (rc < 0)
        return rc;
    json_error_t je;
    json_t *j = json_loadb(data, len, 0, &je);
    if (!j)
        return ud_error_set(err, UD_EPARSE, 0, "%s:%s: bad JSON in %s: %s", repo, tag, name,
                            je.text);
    *out = j;
    return 0;
}

static bool
tag_has(const struct ud_store *s, const char *repo, const char *tag, const char *name)
{
    cleanup_free char *td = NULL;
    if (store_tag_dir(s, repo, tag, NULL, &td, NULL) < 0)
        return false;
    cleanup_free char *p = ud_path_join(td, name);
    return p && ud_path_exists(p);
}

int
ud_store_image_format(const struct ud_store *s, const char *repo, const char *tag,
                      enum ud_store_image_format *fmt, struct ud_error *err)
{
    cleanup_free char *td = NULL;
    int rc = ud_store_image_dir(s, repo, tag, &td, err);
    if (rc < 0)
        return rc;
    bool v1 = tag_has(s, repo, tag, "v1"), v2 = tag_has(s, repo, tag, "v2");
    if (v1 || (!v2 && tag_has(s, repo, tag, "ancestry"))) {
        *fmt = UD_STORE_IMAGE_V1;
        return 0;
    }
    cleanup_json json_t *m = NULL;
    rc = load_json_file(s, repo, tag, "manifest", &m, err);
    if (rc < 0)
        return rc;
    json_int_t sv = json_integer_value(json_object_get(m, "schemaVersion"));
    *fmt =
        (sv == 1 || json_object_get(m, "fsLayers")) ? UD_STORE_IMAGE_V2_SCHEMA1 : UD_STORE_IMAGE_V2;
    return 0;
}

/* Digests (or v1 file names) of the layers, bottom first. */
static int
layer_names(const struct ud_store *s, const char *repo, const char *tag, char ***out,
            struct ud_error *err)
{
    enum ud_store_image_format fmt;
    int rc = ud_store_image_format(s, repo, tag, &fmt, err);
    if (rc < 0)
        return rc;
    cleanup_json json_t *j = NULL;
    rc = load_json_file(s, repo, tag, fmt == UD_STORE_IMAGE_V1 ? "ancestry" : "manifest", &j, err);
    if (rc < 0)
        return rc;
    json_t *arr = fmt == UD_STORE_IMAGE_V1           ? j
                  : fmt == UD_STORE_IMAGE_V2_SCHEMA1 ? json_object_get(j, "fsLayers")
                                                     : json_object_get(j, "layers");
    const char *key = fmt == UD_STORE_IMAGE_V2_SCHEMA1 ? "blobSum" : "digest";
    if (!json_is_array(arr))
        return ud_error_set(err, UD_EPARSE, 0, "%s:%s: no layer list", repo, tag);
    size_t n = json_array_size(arr);
    cleanup_strv char **v = NULL;
    for (size_t i = 0; i < n; i++) {
        /* layers[] is bottom first; fsLayers and ancestry are top first. */
        json_t *e = json_array_get(arr, fmt == UD_STORE_IMAGE_V2 ? i : n - 1 - i);
        const char *d = fmt == UD_STORE_IMAGE_V1 ? json_string_value(e)
                                                 : json_string_value(json_object_get(e, key));
        if (!d || !store_plain_name_ok(d))
            return ud_error_set(err, UD_EPARSE, 0, "%s:%s: bad layer entry %zu", repo, tag, i);
        cleanup_free char *name =
            fmt == UD_STORE_IMAGE_V1 ? ud_asprintf("%s.layer", d) : ud_strdup(d);
        if (!name)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        rc = ud_strv_push(&v, name, err);
        if (rc < 0)
            return rc;
    }
    if (!v && !(v = ud_calloc(1, sizeof(char *))))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *out = ud_steal(&v);
    return 0;
}

int
ud_store_image_layers(const struct ud_store *s, const char *repo, const char *tag, char ***paths,
                      struct ud_error *err)
{
    cleanup_strv char **names = NULL;
    cleanup_free char *td = NULL;
    int rc = ud_store_image_dir(s, repo, tag, &td, err);
    if (rc == 0)
        rc = layer_names(s, repo, tag, &names, err);
    if (rc < 0)
        return rc;
    size_t n = ud_strv_len(names);
    for (size_t i = 0; i < n; i++) {
        char *p = ud_path_join(td, names[i]);
        if (!p)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        free(names[i]);
        names[i] = p;
        struct stat st;
        if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
            return ud_error_set(err, UD_ENOENT, 0, "image layer missing: %s", p);
    }
    *paths = ud_steal(&names);
    return 0;
}

static int
config_name(const struct ud_store *s, const char *repo, const char *tag,
            enum ud_store_image_format fmt, char **name, struct ud_error *err)
{
    if (fmt == UD_STORE_IMAGE_V1) {
        if (tag_has(s, repo, tag, "container.json")) {
            *name = ud_strdup("container.json");
        } else {
            cleanup_json json_t *a = NULL;
            int rc = load_json_file(s, repo, tag, "ancestry", &a, err);
            if (rc < 0)
                return rc;
            const char *top = json_string_value(json_array_get(a, 0));
            if (!top || !store_plain_name_ok(top))
                return ud_error_set(err, UD_EPARSE, 0, "%s:%s: empty ancestry", repo, tag);
            *name = ud_asprintf("%s.json", top);
        }
    } else {
        cleanup_json json_t *m = NULL;
        int rc = load_json_file(s, repo, tag, "manifest", &m, err);
        if (rc < 0)
            return rc;
        const char *d = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
        if (!d || !store_plain_name_ok(d))
            return ud_error_set(err, UD_EPARSE, 0, "%s:%s: manifest has no config", repo, tag);
        *name = ud_strdup(d);
    }
    return *name ? 0 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
}

int
ud_store_image_config(const struct ud_store *s, const char *repo, const char *tag, char **json,
                      size_t *len, struct ud_error *err)
{
    enum ud_store_image_format fmt;
    int rc = ud_store_image_format(s, repo, tag, &fmt, err);
    if (rc < 0)
        return rc;
    if (fmt == UD_STORE_IMAGE_V2_SCHEMA1) {
        cleanup_json json_t *m = NULL;
        rc = load_json_file(s, repo, tag, "manifest", &m, err);
        if (rc < 0)
            return rc;
        json_t *h =
            json_object_get(json_array_get(json_object_get(m, "history"), 0), "v1Compatibility");
        const char *c = json_string_value(h);
        if (!c)
            return ud_error_set(err, UD_EPARSE, 0, "%s:%s: no v1Compatibility", repo, tag);
        size_t n = json_string_length(h);
        char *out = ud_strndup(c, n);
        if (!out)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        *json = out;
        *len = strlen(out);
        return 0;
    }
    cleanup_free char *name = NULL;
    rc = config_name(s, repo, tag, fmt, &name, err);
    if (rc < 0)
        return rc;
    return ud_store_image_file_read(s, repo, tag, name, json, len, err);
}

int
ud_store_platform_from_config(const char *json, size_t len, char **out, struct ud_error *err)
{
    json_t *j = json ? json_loadb(json, len, 0, NULL) : NULL;
    const char *os = json_string_value(json_object_get(j, "os"));
    const char *ar = json_string_value(json_object_get(j, "architecture"));
    const char *va = json_string_value(json_object_get(j, "variant"));
    char *p = (va && va[0]) ? ud_asprintf("%s/%s/%s", os && os[0] ? os : "unknown",
                                          ar && ar[0] ? ar : "unknown", va)
                            : ud_asprintf("%s/%s", os && os[0] ? os : "unknown",
                                          ar && ar[0] ? ar : "unknown");
    if (j)
        json_decref(j);
    if (!p)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *out = p;
    return 0;
}

int
ud_store_image_platform(const struct ud_store *s, const char *repo, const char *tag, char **out,
                        struct ud_error *err)
{
    cleanup_free char *cfg = NULL;
    size_t len = 0;
    struct ud_error e = {0};
    int rc = ud_store_image_config(s, repo, tag, &cfg, &len, &e);
    if (rc == UD_ENOMEM || (rc < 0 && !ud_store_image_exists(s, repo, tag))) {
        if (err)
            *err = e;
        return rc;
    }
    return ud_store_platform_from_config(rc == 0 ? cfg : NULL, len, out, err);
}

uint64_t
ud_store_mib_ceil(uint64_t bytes)
{
    return bytes / (1024 * 1024) + (bytes % (1024 * 1024) ? 1 : 0);
}

static int
cmp_blob(const void *a, const void *b)
{
    return strcmp(((const struct ud_store_blob_info *)a)->name,
                  ((const struct ud_store_blob_info *)b)->name);
}

int
ud_store_image_blobs(const struct ud_store *s, const char *repo, const char *tag,
                     struct ud_store_blob_info **out, size_t *count, struct ud_error *err)
{
    cleanup_free char *td = NULL;
    int rc = ud_store_image_dir(s, repo, tag, &td, err);
    if (rc < 0)
        return rc;
    cleanup_dir DIR *d = opendir(td);
    if (!d)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", td);
    struct ud_store_blob_info *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (store_dirent_type(dirfd(d), de->d_name, de->d_type) != DT_LNK)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct ud_store_blob_info *nv = ud_realloc(v, nc * sizeof(*nv));
            if (!nv) {
                ud_store_blob_info_free(v, n);
                return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
            }
            v = nv, cap = nc;
        }
        bool ok = fstatat(dirfd(d), de->d_name, &st, 0) == 0;
        v[n].name = ud_strdup(de->d_name);
        v[n].size = ok ? (uint64_t)st.st_size : 0;
        v[n].present = ok;
        if (!v[n].name) {
            ud_store_blob_info_free(v, n);
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        }
        n++;
    }
    if (n)
        qsort(v, n, sizeof(*v), cmp_blob);
    *out = v;
    *count = n;
    return 0;
}

void
ud_store_blob_info_free(struct ud_store_blob_info *v, size_t count)
{
    for (size_t i = 0; v && i < count; i++)
        free(v[i].name);
    free(v);
}

bool
ud_store_image_is_protected(const struct ud_store *s, const char *repo, const char *tag)
{
    return ud_store_image_exists(s, repo, tag) && tag_has(s, repo, tag, "PROTECT");
}

/* Under the repository lock: rmi and a re-pull's commit read PROTECT
 * under it, so a marker written meanwhile would go with the replaced or
 * removed directory although protect reported success. */
static int
set_protect(struct ud_store *s, const char *repo, const char *tag, bool on, struct ud_error *err)
{
    cleanup_free char *td = NULL;
    int rc = ud_store_image_dir(s, repo, tag, &td, err);
    if (rc < 0)
        return rc;
    cleanup_free char *p = ud_path_join(td, "PROTECT");
    if (!p)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (on)
        return store_write_empty(p, err);
    if (unlink(p) < 0 && errno != ENOENT)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "remove %s", p);
    return 0;
}

static int
set_protect_locked(struct ud_store *s, const char *repo, const char *tag, bool on,
                   struct ud_error *err)
{
    int rc = ud_store_lock(s, true, err);
    if (rc < 0)
        return rc;
    rc = set_protect(s, repo, tag, on, err);
    ud_store_unlock(s);
    return rc;
}

int
ud_store_image_protect(struct ud_store *s, const char *repo, const char *tag, struct ud_error *err)
{
    return set_protect_locked(s, repo, tag, true, err);
}

int
ud_store_image_unprotect(struct ud_store *s, const char *repo, const char *tag,
                         struct ud_error *err)
{
    return set_protect_locked(s, repo, tag, false, err);
}
