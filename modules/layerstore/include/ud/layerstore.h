/* SPDX-License-Identifier: Apache-2.0 */
/*
 * layerstore: the local udocker repository on disk (images, tags, shared
 * layer files, containers, names, protection), laid out byte for byte like
 * upstream udocker 1.3 so that either implementation reads the other's
 * repository. Every change is atomic (temporary name + rename) and the
 * metadata changes of concurrent processes are serialised by a flock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ud/base.h"

/* ------------------------------------------------------------------ */
/* Repository                                                          */
/* ------------------------------------------------------------------ */

/* Directories of a repository. topdir is required; every other member may
 * be NULL, meaning "<topdir>/<bin|lib|doc|repos|layers|containers>" (the CLI
 * passes UDOCKER_BIN, _LIB, _DOC, _REPOS, _LAYERS, _CONTAINERS here). */
struct ud_store_paths {
    const char *topdir;
    const char *bindir;
    const char *libdir;
    const char *docdir;
    const char *reposdir;
    const char *layersdir;
    const char *containersdir;
};

struct ud_store; /* opaque handle */

/* True when repos, layers, containers, bin and lib all exist (upstream's
 * definition of "is a repository"). */
bool ud_store_is_repo(const struct ud_store_paths *paths);

/* Create the skeleton (topdir, bin, lib, doc, repos, layers, containers),
 * mode 0755 minus umask; existing directories are fine. UD_EIO on failure.
 * The "mkrepo DIR must not exist" rule is the CLI's. */
int ud_store_create(const struct ud_store_paths *paths, struct ud_error *err) UD_WUR;

/* Open an existing repository: UD_ENOENT "invalid udocker repository: DIR"
 * when ud_store_is_repo() is false. Runs the crash cleanup (best effort,
 * errors only logged at DEBUG) when it may have work: the size of the lock
 * file "<topdir>/.lock" counts the temporaries that may exist (1 + count;
 * empty = unknown), so the usual open (count 0) costs one lstat and takes
 * no lock. *out is freed with ud_store_free(). */
int ud_store_open(const struct ud_store_paths *paths, struct ud_store **out,
                  struct ud_error *err) UD_WUR;

/* ud_store_open with flags. UD_STORE_OPEN_NOWAIT: when the cleanup has
 * work but another command holds the repository lock, skip it instead of
 * waiting (for listings such as images and ps, which never show a
 * temporary anyway; the next open cleans up). */
#define UD_STORE_OPEN_NOWAIT 1u
int ud_store_open_flags(const struct ud_store_paths *paths, unsigned flags, struct ud_store **out,
                        struct ud_error *err) UD_WUR;
void ud_store_free(struct ud_store *s);

/* The effective directories (all absolute, all filled). Borrowed from s. */
const struct ud_store_paths *ud_store_get_paths(const struct ud_store *s);

/* Remove what crashed commands left behind: temporary tag and container
 * directories whose owner no longer holds their lock, half-deleted
 * containers, and tag directories that a crash left renamed aside during a
 * re-pull (they are put back). Safe to run at any time; always scans
 * (whatever the count) and sets the count to what is left. */
int ud_store_cleanup(struct ud_store *s, struct ud_error *err) UD_WUR;

/* Repository-wide lock (<topdir>/.lock, flock). Re-entrant within one
 * ud_store: every store function that changes metadata takes it itself, so
 * the CLI needs these only to make a sequence of its own changes atomic
 * (e.g. setup --execmode). UD_EIO if the lock file cannot be opened. */
int ud_store_lock(struct ud_store *s, bool exclusive, struct ud_error *err) UD_WUR;
void ud_store_unlock(struct ud_store *s);

/* ------------------------------------------------------------------ */
/* Layer files (layers/)                                               */
/* ------------------------------------------------------------------ */

/* "<layersdir>/<filename>". filename is a plain name ("sha256:<hex>",
 * "<id>.layer", "<id>.json"): UD_EINVAL for '/', "", "." or "..".
 * Caller frees *out. */
int ud_store_layer_path(const struct ud_store *s, const char *filename, char **out,
                        struct ud_error *err) UD_WUR;

/* Is layers/<digest> present? digest is "algo:hex". With verify_hash the
 * content is hashed (sha256/sha512) and a mismatch counts as absent (the
 * caller then downloads it again over the bad copy). *present is written
 * on success. UD_EINVAL for a bad digest, UD_EIO when hashing fails. */
int ud_store_blob_present(const struct ud_store *s, const char *digest, bool verify_hash,
                          bool *present, struct ud_error *err) UD_WUR;

/* Put a local file into layers/<filename> (import, load): rename when
 * move is true and the rename works (same filesystem), else an atomic copy.
 * An existing layers/<filename> is replaced. */
int ud_store_layer_put_file(struct ud_store *s, const char *src_path, const char *filename,
                            bool move, struct ud_error *err) UD_WUR;

/* Size in MiB rounded UP (only an empty file is 0): what "images -l" prints.
 * Upstream truncates and shows small layers as "0 MB"; we do not. */
uint64_t ud_store_mib_ceil(uint64_t bytes);

/* ------------------------------------------------------------------ */
/* Images (repos/<repo>/<tag>/)                                        */
/* ------------------------------------------------------------------ */

/* repo is the local repository name as typed, without the tag: it may hold
 * '/' and "host:port" ("quay.io/foo/bar", "localhost:5000/x"); tag may be a
 * digest ("sha256:<hex>"). Names with an empty component, a component that
 * starts with '.', more than 63 components, a leading '/' or a '/' in the
 * tag give UD_EINVAL. */

enum ud_store_image_format {
    UD_STORE_IMAGE_V1 = 1,         /* "v1" marker: ancestry, <id>.layer/.json */
    UD_STORE_IMAGE_V2_SCHEMA1 = 2, /* "v2" marker, manifest schemaVersion 1 */
    UD_STORE_IMAGE_V2 = 3,         /* "v2" marker, Docker schema 2 or OCI */
};

struct ud_store_image {
    char *repo;
    char *tag;
    bool is_protected; /* PROTECT file in the tag directory */
};

/* Every tag directory (a directory holding a regular file TAG) under
 * reposdir, sorted by "repo:tag" (upstream prints directory order).
 * Temporary directories of running or crashed commands are not listed. */
int ud_store_image_list(const struct ud_store *s, struct ud_store_image **out, size_t *count,
                        struct ud_error *err) UD_WUR;
void ud_store_image_list_free(struct ud_store_image *v, size_t count);

bool ud_store_image_exists(const struct ud_store *s, const char *repo, const char *tag);

/* Absolute tag directory "<reposdir>/<repo>/<tag>" (no realpath);
 * UD_ENOENT "image not found: repo:tag" if it is not a tag. Caller frees. */
int ud_store_image_dir(const struct ud_store *s, const char *repo, const char *tag, char **out,
                       struct ud_error *err) UD_WUR;

/* v1 / schema1 / schema2-or-OCI, from the marker and the manifest. */
int ud_store_image_format(const struct ud_store *s, const char *repo, const char *tag,
                          enum ud_store_image_format *fmt, struct ud_error *err) UD_WUR;

/* Read a regular file or link target of the tag directory ("manifest",
 * "ancestry", ...), capped at 64 MiB. Caller frees *data (NUL-terminated). */
int ud_store_image_file_read(const struct ud_store *s, const char *repo, const char *tag,
                             const char *name, char **data, size_t *len,
                             struct ud_error *err) UD_WUR;

/* Layer files for extraction, bottom layer first, as absolute paths through
 * the tag directory's links ("<tagdir>/sha256:..."): schema2/OCI
 * manifest.layers[] in order, schema1 fsLayers reversed, v1 ancestry
 * reversed. Every one must exist (UD_ENOENT "image layer missing: X").
 * *paths is NULL-terminated; free with ud_strv_free(). */
int ud_store_image_layers(const struct ud_store *s, const char *repo, const char *tag,
                          char ***paths, struct ud_error *err) UD_WUR;

/* Image config JSON text: v2 the file named by manifest.config.digest;
 * schema1 history[0].v1Compatibility (the string's content); v1
 * container.json if present, else <ancestry[0]>.json. Caller frees. */
int ud_store_image_config(const struct ud_store *s, const char *repo, const char *tag, char **json,
                          size_t *len, struct ud_error *err) UD_WUR;

/* "os/architecture[/variant]" from the image config, "unknown" for missing
 * parts, "unknown/unknown" when there is no readable config. Fails only on
 * UD_ENOENT (no such image) or UD_ENOMEM. Caller frees. */
int ud_store_image_platform(const struct ud_store *s, const char *repo, const char *tag, char **out,
                            struct ud_error *err) UD_WUR;

/* Platform string of a config JSON text (same rules); caller frees. */
int ud_store_platform_from_config(const char *json, size_t len, char **out,
                                  struct ud_error *err) UD_WUR;

/* The symlinks of a tag directory (layers and config) for "images -l", in
 * name order. size is the target's size (0 and present=false if missing). */
struct ud_store_blob_info {
    char *name;
    uint64_t size;
    bool present;
};
int ud_store_image_blobs(const struct ud_store *s, const char *repo, const char *tag,
                         struct ud_store_blob_info **out, size_t *count,
                         struct ud_error *err) UD_WUR;
void ud_store_blob_info_free(struct ud_store_blob_info *v, size_t count);

/* rmi: UD_EPERM "image repository is protected"; UD_ENOENT if no such tag.
 * Removes the tag's links; a layer file is deleted only when no symlink
 * anywhere under reposdir has its name; then the tag directory and the now
 * empty parent directories up to reposdir. force: errors removing layer
 * files are ignored. Exclusive lock held throughout. */
int ud_store_image_rm(struct ud_store *s, const char *repo, const char *tag, bool force,
                      struct ud_error *err) UD_WUR;

/* "tag SRC DST": UD_EEXIST "target already exists", UD_ENOENT "source does
 * not exist", UD_EPERM "source is protected". Links are recreated to the
 * same layer files, regular files copied, TAG rewritten. */
int ud_store_image_tag(struct ud_store *s, const char *src_repo, const char *src_tag,
                       const char *dst_repo, const char *dst_tag, struct ud_error *err) UD_WUR;

/* PROTECT marker of a tag directory, set or removed under the repository
 * lock (so it cannot race rmi or a re-pull's commit). UD_ENOENT if no such
 * tag; a lock or I/O error code otherwise. */
int ud_store_image_protect(struct ud_store *s, const char *repo, const char *tag,
                           struct ud_error *err) UD_WUR;
int ud_store_image_unprotect(struct ud_store *s, const char *repo, const char *tag,
                             struct ud_error *err) UD_WUR;
bool ud_store_image_is_protected(const struct ud_store *s, const char *repo, const char *tag);

/* ------------------------------------------------------------------ */
/* Writing an image atomically (pull, import, load, tag)               */
/* ------------------------------------------------------------------ */

/* The tag is built in "<reposdir>/<repo>/.<tag>.tmp-<rand>" and renamed into
 * place by commit (replacing an existing tag as a whole: a failed re-pull
 * leaves the old tag intact; upstream overwrites files in place). No lock is
 * held between begin and commit, so downloads run unlocked.
 *
 * Link every blob (ud_store_image_link_blob) as soon as the pull decides to
 * use it, before or after downloading it: the link may dangle until the
 * file arrives, and it is what keeps a concurrent rmi or abort from
 * deleting a blob this transaction needs. Blobs are written by the caller
 * to ud_store_layer_path() atomically (ud_tmpfile_beside + ud_file_commit). */
struct ud_store_image_txn;

int ud_store_image_begin(struct ud_store *s, const char *repo, const char *tag,
                         struct ud_store_image_txn **out, struct ud_error *err) UD_WUR;
/* Write "manifest" (bytes as given) and the empty "v2" marker. */
int ud_store_image_put_manifest(struct ud_store_image_txn *t, const char *json, size_t len,
                                struct ud_error *err) UD_WUR;
/* Write "ancestry" (bytes as given) and the empty "v1" marker. */
int ud_store_image_put_ancestry(struct ud_store_image_txn *t, const char *json, size_t len,
                                struct ud_error *err) UD_WUR;
/* Relative symlink <tagdir>/<filename> -> ../../<...>/layers/<filename>.
 * Linking the same name twice is fine. */
int ud_store_image_link_blob(struct ud_store_image_txn *t, const char *filename,
                             struct ud_error *err) UD_WUR;
/* Same with another link name (v1 "container.json" -> layers/<id>.json). */
int ud_store_image_link_as(struct ud_store_image_txn *t, const char *linkname, const char *filename,
                           struct ud_error *err) UD_WUR;
/* Absolute path of the temporary tag directory (borrowed). */
const char *ud_store_image_txn_dir(const struct ud_store_image_txn *t);
/* Check every link target exists (UD_ENOENT "missing blob: X"), write TAG,
 * carry PROTECT over from a replaced tag, rename into place, and delete the
 * layer files that only the replaced tag referenced. Always consumes t: on
 * failure it is aborted. */
int ud_store_image_commit(struct ud_store_image_txn *t, struct ud_error *err) UD_WUR;
/* Throw the transaction away: the temporary directory goes, and so does
 * every linked layer file that no other link under reposdir names (blobs
 * this pull downloaded for nobody else). NULL is a no-op. */
void ud_store_image_abort(struct ud_store_image_txn *t);

/* ------------------------------------------------------------------ */
/* Image verification (verify)                                          */
/* ------------------------------------------------------------------ */

enum ud_store_verify_event {
    UD_STORE_VERIFY_TOPLAYER, /* v1: name = top layer id ("finding top layer id") */
    UD_STORE_VERIFY_LAYER,    /* name: the file name in the tag directory
                                 ("sha256:<hex>" or "<id>.layer"; upstream prints
                                 "layer ok: <id>" without ".layer").
                                 A layer passed the link/hash checks: path is the
                                 file, so the caller can check it is a valid tar;
                                 a non-zero return marks it failed */
    UD_STORE_VERIFY_CONFIG,   /* the config blob passed its hash check */
    UD_STORE_VERIFY_WARN,     /* msg: "unknown file in image: NAME", or
                                 "invalid index file in image" (name "index") */
    UD_STORE_VERIFY_FAIL,     /* msg: what is wrong with name */
};
typedef int (*ud_store_verify_fn)(void *ctx, enum ud_store_verify_event ev, const char *name,
                                  const char *path, const char *msg);

/* Structure checks per format (v1: the parent chain of the layer JSONs must
 * equal ancestry; schema1: fsLayers[].blobSum present; schema2/OCI:
 * layers[].digest and config present), then each layer: a symlink whose
 * target exists and, for "algo:hex" names, whose sha256/sha512 matches.
 * Every problem is reported through cb (FAIL) and checking continues; the
 * return is 0 when all passed, else UD_EDIGEST/UD_ENOENT/UD_EPARSE with the
 * first problem in err. cb may be NULL. */
int ud_store_image_verify(const struct ud_store *s, const char *repo, const char *tag,
                          ud_store_verify_fn cb, void *ctx, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Containers (containers/<id>/)                                       */
/* ------------------------------------------------------------------ */

/* Creation: begin makes "<containersdir>/.tmp-<id>/ROOT" (the caller
 * extracts into it), set_config writes container.json, commit writes
 * imagerepo.name (no newline) and renames the directory to <id>.
 * imagerepo_name "repo:tag" ("IMPORTED:unknown" for import --tocontainer);
 * NULL means commit writes no imagerepo.name and keeps whatever the caller
 * put in the directory (import --clone unpacks a whole container dir into
 * ud_store_container_txn_dir()). UD_EINVAL for "" or a name with '\n'. */
struct ud_store_container_txn;

int ud_store_container_begin(struct ud_store *s, const char *imagerepo_name,
                             struct ud_store_container_txn **out, struct ud_error *err) UD_WUR;
/* Borrowed from t: the future id, the temporary directory, its ROOT. */
const char *ud_store_container_txn_id(const struct ud_store_container_txn *t);
const char *ud_store_container_txn_dir(const struct ud_store_container_txn *t);
const char *ud_store_container_txn_root(const struct ud_store_container_txn *t);
/* container.json = the image config bytes as given. */
int ud_store_container_set_config(struct ud_store_container_txn *t, const char *json, size_t len,
                                  struct ud_error *err) UD_WUR;
/* Commit; the id is copied to id (37 bytes). Always consumes t. */
int ud_store_container_commit(struct ud_store_container_txn *t, char id[37],
                              struct ud_error *err) UD_WUR;
void ud_store_container_abort(struct ud_store_container_txn *t); /* NULL: no-op */

/* Id of a container given by id or name: containers/<x> a symlink -> the
 * basename of its target; a directory -> x itself. UD_ENOENT "invalid
 * container id" otherwise. Caller frees *id. */
int ud_store_container_resolve(const struct ud_store *s, const char *id_or_name, char **id,
                               struct ud_error *err) UD_WUR;
/* "<containersdir>/<id>" after resolving (non-canonical). Caller frees. */
int ud_store_container_dir(const struct ud_store *s, const char *id_or_name, char **dir,
                           struct ud_error *err) UD_WUR;

struct ud_store_container {
    char *id;
    bool is_protected;
    char root_state; /* 'W' writable (access W_OK), 'R' read-only, 'N' ROOT missing
                        (or a dangling link), 'D' not a directory */
    char *execmode;  /* content of "execmode", NULL if absent */
    char **names;    /* NULL-terminated, sorted; every name link pointing here */
    char *imagerepo; /* content of "imagerepo.name", NULL if absent */
    char *platform;  /* from container.json, "unknown/unknown" fallback */
};
/* Every real directory in containersdir (name links and our temporary
 * directories skipped), sorted by id. */
int ud_store_container_list(const struct ud_store *s, struct ud_store_container **out,
                            size_t *count, struct ud_error *err) UD_WUR;
void ud_store_container_list_free(struct ud_store_container *v, size_t count);

/* Disk use of the container's ROOT in MiB like "du -s -m -x ROOT":
 * st_blocks*512 of every entry (hard links once), one filesystem, rounded
 * up. An error (ROOT missing) is what ps -s prints as -1. */
int ud_store_container_size_mb(const struct ud_store *s, const char *id_or_name, int64_t *mb,
                               struct ud_error *err) UD_WUR;

/* rm: UD_ENOENT "invalid container id", UD_EPERM "container is protected".
 * Removes every name link, renames the directory to a temporary name (so a
 * killed rm never leaves a half container that ps lists), then deletes it.
 * force first makes the tree owner-rw (and owner-x on directories). */
int ud_store_container_rm(struct ud_store *s, const char *id_or_name, bool force,
                          struct ud_error *err) UD_WUR;

/* PROTECT marker of a container, set or removed under the repository lock
 * (so it cannot race rm). UD_ENOENT "invalid container id"; a lock or I/O
 * error code otherwise. */
int ud_store_container_protect(struct ud_store *s, const char *id_or_name,
                               struct ud_error *err) UD_WUR;
int ud_store_container_unprotect(struct ud_store *s, const char *id_or_name,
                                 struct ud_error *err) UD_WUR;
bool ud_store_container_is_protected(const struct ud_store *s, const char *id_or_name);

/* Read / atomically write / remove a file of the container directory
 * ("execmode", "osenv.json", ...). read: UD_ENOENT if absent, 64 MiB cap,
 * caller frees. */
int ud_store_container_file_read(const struct ud_store *s, const char *id_or_name, const char *name,
                                 char **data, size_t *len, struct ud_error *err) UD_WUR;
int ud_store_container_file_write(struct ud_store *s, const char *id_or_name, const char *name,
                                  const void *data, size_t len, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Container names (relative symlinks containers/<name> -> <id>)       */
/* ------------------------------------------------------------------ */

/* Valid: non-empty, <= 2048 bytes, none of '/', '.', ' ', '[', ']'. */
bool ud_store_name_is_valid(const char *name);
/* name: UD_ENOENT "invalid container id or name" (unknown container),
 * UD_EINVAL "invalid container name", UD_EEXIST "container name already
 * exists" (name taken by a name or an id). */
int ud_store_name_add(struct ud_store *s, const char *id_or_name, const char *name,
                      struct ud_error *err) UD_WUR;
/* rmname: UD_ENOENT "container name not found" unless name is a name link. */
int ud_store_name_rm(struct ud_store *s, const char *name, struct ud_error *err) UD_WUR;
/* rename: UD_ENOENT "container does not exist", UD_EEXIST "new name already
 * exists", UD_EINVAL "invalid container name". The old link is restored if
 * creating the new one fails. */
int ud_store_name_rename(struct ud_store *s, const char *name, const char *new_name,
                         struct ud_error *err) UD_WUR;
/* Names pointing at a container (sorted, NULL-terminated; ud_strv_free). */
int ud_store_container_names(const struct ud_store *s, const char *id_or_name, char ***names,
                             struct ud_error *err) UD_WUR;

/* clone: copies the whole container directory (symlinks as links, hard links
 * within the tree kept, modes kept) to a new id, with imagerepo.name
 * "CLONING:inprogress" during the copy and the source's content after.
 * name may be NULL; if given and taken: UD_EEXIST "container name already
 * exists" before anything is copied. New id into id (37 bytes); it is
 * written as soon as the clone exists, so when only the naming fails the
 * caller still learns the id. F-mode re-setup of the clone is the caller's. */
int ud_store_container_clone(struct ud_store *s, const char *id_or_name, const char *name,
                             char id[37], struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Index of a multi-platform image (index_keep.c)                       */
/* ------------------------------------------------------------------ */

/* A pull that resolved the tag through an OCI index or a Docker manifest
 * list keeps the index it chose the platform manifest from as the regular
 * file "index" of the tag directory (upstream ignores it; its verify only
 * warns "unknown file in image: index"). Images without it are single
 * platform as far as the store knows. */

/* Write "index" (bytes as given) into the transaction, atomically.
 * UD_EINVAL "invalid image index" unless json is a JSON object with a
 * "manifests" array. */
int ud_store_image_put_index(struct ud_store_image_txn *t, const char *json, size_t len,
                             struct ud_error *err) UD_WUR;

/* The platforms the kept index offers, "os/architecture[/variant]" in
 * index order, each once; entries without os or architecture, and
 * attestations (platform unknown/unknown, or a "vnd.docker.reference.type"
 * annotation) are skipped. *platforms is NULL-terminated (possibly empty;
 * ud_strv_free), or NULL when the image has no index. UD_ENOENT if no such
 * image, UD_EPARSE "repo:tag: invalid index file", UD_EIO, UD_ENOMEM. */
int ud_store_image_index_platforms(const struct ud_store *s, const char *repo, const char *tag,
                                   char ***platforms, struct ud_error *err) UD_WUR;
