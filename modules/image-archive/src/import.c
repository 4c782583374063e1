/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import: a flat root filesystem tarball (docker export, our export) as a
 * new single-layer image. Stored as v2 like a pull (layer blob named by
 * the hash of the file as given, a generated config, an OCI manifest), so
 * that verify checks its content and save needs no conversion; upstream
 * stores a v1 image with a random layer id.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive_int.h"

/* A source of bytes: > 0 bytes read, 0 at the end, < 0 an error code. */
typedef ssize_t (*chunk_fn)(void *ctx, unsigned char *buf, size_t n, struct ud_error *err);

static ssize_t
reader_chunk(void *ctx, unsigned char *buf, size_t n, struct ud_error *err)
{
    return ar_reader_raw(ctx, buf, n, err);
}

static ssize_t
fd_chunk(void *ctx, unsigned char *buf, size_t n, struct ud_error *err)
{
    ssize_t k;

    do {
        k = read(*(const int *)ctx, buf, n);
    } while (k < 0 && errno == EINTR);
    if (k < 0)
        return ud_error_set(err, UD_EIO, errno, "reading the tarball");
    return k;
}

/* sha256 of everything next gives, into hex; with out >= 0 the bytes are
 * also written there (out_name for messages). */
static int
hash_chunks(chunk_fn next, void *ctx, int out, const char *out_name, char hex[65],
            struct ud_error *err)
{
    struct ud_hash h = {0};
    unsigned char *buf = ud_malloc(AR_BUF_SIZE);
    int rc = buf ? ud_hash_init(&h, UD_HASH_SHA256, err)
                 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");

    while (rc == 0) {
        ssize_t k = next(ctx, buf, AR_BUF_SIZE, err);
        if (k <= 0) {
            rc = (int)k;
            break;
        }
        rc = ud_hash_update(&h, buf, (size_t)k, err);
        if (rc == 0 && out >= 0)
            rc = ar_write_all(out, buf, (size_t)k, out_name, err);
    }
    char o[UD_HASH_HEX_MAX];
    if (rc == 0 && (rc = ud_hash_final_hex(&h, o, err)) == 0)
        memcpy(hex, o, 65);
    ud_hash_fini(&h);
    free(buf);
    return rc;
}

int
ud_archive_diff_id(const char *path, char hex[65], struct ud_error *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, errno == ENOENT ? UD_ENOENT : UD_EIO, errno, "open %s", path);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    struct ar_reader r;
    int rc = ar_reader_open(&r, fd, err);
    if (rc < 0)
        return rc;
    rc = hash_chunks(reader_chunk, &r, -1, NULL, hex, err);
    ar_reader_close(&r);
    if (rc < 0)
        ud_error_prefix(err, "%s: ", path);
    return rc;
}

/* Docker's empty container config, as upstream's import writes it. */
static json_t *
empty_config(void)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:n, s:n, s:s, s:n, s:s, "
                     "s:n, s:n, s:n}",
                     "Hostname", "", "Domainname", "", "User", "", "AttachStdin", 0, "AttachStdout",
                     0, "AttachStderr", 0, "Tty", 0, "OpenStdin", 0, "StdinOnce", 0, "Env", "Cmd",
                     "Image", "", "Volumes", "WorkingDir", "", "Entrypoint", "OnBuild", "Labels");
}

int
ud_archive_import_config(const struct ud_platform *platform, const char *diff_id, uint64_t size,
                         char **json, size_t *len, struct ud_error *err)
{
    struct ud_platform host;
    if (!platform) {
        int rc = ud_oci_platform_host(&host, err);
        if (rc < 0)
            return rc;
        platform = &host;
    }
    char created[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S.000000000Z", gmtime_r(&now, &tm));
    json_t *ids = json_array();
    json_t *root =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:{s:s, s:o}, s:o, s:o}", "comment",
                  "created by udocker", "created", created, "architecture", platform->arch, "os",
                  platform->os, "size", (json_int_t)size, "rootfs", "type", "layers", "diff_ids",
                  json_incref(ids), "config", empty_config(), "container_config", empty_config());
    bool bad = !root || !ids || (diff_id && json_array_append_new(ids, json_string(diff_id)) < 0);
    if (!bad && platform->variant[0])
        bad = json_object_set_new(root, "variant", json_string(platform->variant)) < 0;
    char *s = bad ? NULL : json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ids);
    json_decref(root);
    if (!s)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *json = s;
    *len = strlen(s);
    return 0;
}

/* Copy fd into dir/import.tar while hashing it. */
static int
spool_fd(const char *dir, int fd, char **tmp, char hex[65], struct ud_error *err)
{
    *tmp = ud_path_join(dir, "import.tar");
    if (!*tmp)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    cleanup_close int out = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = out >= 0 ? 0 : ud_error_set(err, UD_EIO, errno, "creating %s", *tmp);
    if (rc < 0) {
        free(*tmp);
        *tmp = NULL;
        return rc;
    }
    rc = hash_chunks(fd_chunk, &fd, out, *tmp, hex, err);
    if (rc == 0 && fdatasync(out) < 0)
        rc = ud_error_set(err, UD_EIO, errno, "writing %s", *tmp);
    if (rc < 0) {
        (void)unlink(*tmp);
        free(*tmp);
        *tmp = NULL;
    }
    return rc;
}

/* The tarball must at least start like a tar archive. */
static int
check_tar(const char *path, struct ud_error *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, errno == ENOENT ? UD_ENOENT : UD_EIO, errno, "open %s", path);
    struct ar_reader r;
    int rc = ar_reader_open(&r, fd, err);
    if (rc < 0)
        return rc;
    struct ar_member *m = ud_malloc(sizeof(*m));
    rc = m ? ar_reader_next(&r, m, err) : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    free(m);
    ar_reader_close(&r);
    /* An unsafe first name is still a tar: extraction skips such members. */
    if (rc == UD_EPARSE || rc == UD_EUNSUPP)
        return ud_error_set(err, UD_EPARSE, 0, "not a tar archive: %s", path);
    return rc < 0 && rc != UD_EUNSAFE ? rc : 0;
}

struct layer_src {
    char hex[65];  /* sha256 of the file as given */
    char diff[65]; /* sha256 of its uncompressed content */
    uint64_t size;
    unsigned char head[8];
    size_t head_len;
};

static int
describe(const char *path, bool hashed, struct layer_src *l, struct ud_error *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return ud_error_set(err, errno == ENOENT ? UD_ENOENT : UD_EIO, errno, "open %s", path);
    if (!S_ISREG(st.st_mode))
        return ud_error_set(err, UD_EINVAL, 0, "not a regular file: %s", path);
    l->size = (uint64_t)st.st_size;
    ssize_t k = pread(fd, l->head, sizeof(l->head), 0);
    l->head_len = k > 0 ? (size_t)k : 0;
    int rc = check_tar(path, err);
    char hex[UD_HASH_HEX_MAX];
    if (rc == 0 && !hashed && (rc = ud_hash_file(path, UD_HASH_SHA256, hex, err)) == 0)
        memcpy(l->hex, hex, 65);
    if (rc < 0)
        return rc;
    if (ud_str_has_suffix(ar_layer_media_type(l->head, l->head_len), ".tar")) {
        memcpy(l->diff, l->hex, 65); /* plain tar: its own content */
        return 0;
    }
    return ud_archive_diff_id(path, l->diff, err);
}

/* Config blob and manifest for the layer; the config goes to layers/. */
static int
make_meta(struct ud_store *s, const struct layer_src *l, const struct ud_platform *platform,
          char cfg_digest[72], char **manifest, size_t *mlen, struct ud_error *err)
{
    cleanup_free char *cfg = NULL;
    cleanup_free char *path = NULL;
    size_t clen = 0;
    char diff_id[72], hex[65];
    snprintf(diff_id, sizeof(diff_id), "sha256:%s", l->diff);
    int rc = ud_archive_import_config(platform, diff_id, l->size, &cfg, &clen, err);
    if (rc == 0)
        rc = ud_sha256_hex(cfg, clen, hex, err);
    if (rc < 0)
        return rc;
    snprintf(cfg_digest, 72, "sha256:%s", hex);
    struct ar_blob cb = {.size = clen};
    struct ar_blob lb = {.size = l->size, .media_type = ar_layer_media_type(l->head, l->head_len)};
    memcpy(cb.digest, cfg_digest, 72);
    snprintf(lb.digest, sizeof(lb.digest), "sha256:%s", l->hex);
    rc = ar_manifest_build(&cb, &lb, 1, manifest, mlen, err);
    if (rc == 0)
        rc = ud_store_layer_path(s, cfg_digest, &path, err);
    if (rc == 0)
        rc = ud_file_write_atomic(path, cfg, clen, 0644, err);
    return rc;
}

int
ud_archive_import(struct ud_store *s, const char *path, int fd, const char *repo, const char *tag,
                  const struct ud_archive_import_opts *o, char layer_digest[72],
                  struct ud_error *err)
{
    static const struct ud_archive_import_opts none = {0};
    if (!o)
        o = &none;
    if (ud_store_image_exists(s, repo, tag))
        return ud_error_set(err, UD_EEXIST, 0, "tag already exists in repo: %s", tag);
    struct layer_src l = {0};
    cleanup_free char *spooled = NULL;
    cleanup_free char *manifest = NULL;
    size_t mlen = 0;
    char cfg_digest[72], ldigest[72];
    /* stdin is spooled into a claimed temporary of the repository, which
     * the next command's crash cleanup removes if this one is killed. */
    struct ud_store_container_txn *spool = NULL;
    int rc = path ? 0 : ud_store_container_begin(s, NULL, &spool, err);
    if (rc == 0 && !path)
        rc = spool_fd(ud_store_container_txn_dir(spool), fd, &spooled, l.hex, err);
    if (rc == 0)
        rc = describe(path ? path : spooled, !path, &l, err);
    snprintf(ldigest, sizeof(ldigest), "sha256:%s", l.hex);
    struct ud_store_image_txn *t = NULL;
    if (rc == 0)
        rc = ud_store_image_begin(s, repo, tag, &t, err);
    /* Link first: the links keep the new blobs from a concurrent rmi. */
    if (rc == 0)
        rc = ud_store_image_link_blob(t, ldigest, err);
    if (rc == 0)
        rc = make_meta(s, &l, o->platform, cfg_digest, &manifest, &mlen, err);
    if (rc == 0)
        rc = ud_store_image_link_blob(t, cfg_digest, err);
    if (rc == 0)
        rc = ud_store_image_put_manifest(t, manifest, mlen, err);
    if (rc == 0)
        rc = ud_store_layer_put_file(s, path ? path : spooled, ldigest, !path || o->move, err);
    if (rc == 0) {
        rc = ud_store_image_commit(t, err);
        t = NULL;
    }
    ud_store_image_abort(t);
    ud_store_container_abort(spool);
    if (rc == 0 && layer_digest)
        memcpy(layer_digest, ldigest, 72);
    return rc;
}
