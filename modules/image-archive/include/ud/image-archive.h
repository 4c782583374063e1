/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image-archive: images in and out of tarballs. Reads what `docker save`
 * (legacy and Docker 25+ layouts), skopeo (docker-archive:, oci-archive:)
 * and OCI image layouts hold, writes the Docker 25+ layout (an OCI layout
 * plus manifest.json and repositories), imports flat root filesystem
 * tarballs as images and writes directory trees as tarballs (export).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ud/base.h"
#include "ud/layerstore.h"
#include "ud/oci-manifest.h"

/* ------------------------------------------------------------------ */
/* Archive metadata parsers (pure: no I/O; all input untrusted)        */
/* ------------------------------------------------------------------ */

#define UD_ARCHIVE_META_MAX (16u * 1024u * 1024u) /* manifest.json, index.json... */

/* One entry of a docker-save manifest.json:
 * [{"Config": "x.json", "RepoTags": ["a:b"], "Layers": ["l/layer.tar"]}]. */
struct ud_archive_manifest_entry {
    char *config;     /* member name of the config JSON */
    char **repo_tags; /* NULL-terminated (may be empty) */
    char **layers;    /* NULL-terminated member names, bottom layer first */
};

/* Parse manifest.json. Errors: UD_EPARSE (message says where), UD_ETOOBIG,
 * UD_ENOMEM. Free with ud_archive_manifest_free. */
int ud_archive_manifest_parse(const char *json, size_t len, struct ud_archive_manifest_entry **out,
                              size_t *count, struct ud_error *err) UD_WUR;
void ud_archive_manifest_free(struct ud_archive_manifest_entry *v, size_t count);

/* One descriptor of an OCI layout's index.json, with the two naming
 * annotations docker and skopeo write. */
struct ud_archive_index_entry {
    struct ud_descriptor desc; /* media type, digest, size, platform */
    char *ref_name;            /* org.opencontainers.image.ref.name or NULL */
    char *image_name;          /* io.containerd.image.name or NULL */
};

/* Parse index.json (an OCI image index). Entries need mediaType, a valid
 * digest and a size. Errors: UD_EPARSE, UD_ETOOBIG, UD_ENOMEM. Free with
 * ud_archive_index_free. */
int ud_archive_index_parse(const char *json, size_t len, struct ud_archive_index_entry **out,
                           size_t *count, struct ud_error *err) UD_WUR;
void ud_archive_index_free(struct ud_archive_index_entry *v, size_t count);

/* One tag of a legacy "repositories" file: {"repo": {"tag": "<id>"}}. */
struct ud_archive_repo_tag {
    char *repo;
    char *tag;
    char *id; /* layer id (64 hex) */
};
int ud_archive_repositories_parse(const char *json, size_t len, struct ud_archive_repo_tag **out,
                                  size_t *count, struct ud_error *err) UD_WUR;
void ud_archive_repositories_free(struct ud_archive_repo_tag *v, size_t count);

/* Split a name found in an archive ("busybox:1.36", "docker.io/library/x:t",
 * "localhost:5000/a/b:t", "x@sha256:...") into the local repository name
 * and tag the way `docker load` shows it: "docker.io/library/" and
 * "docker.io/" are dropped (Docker's familiar names). A name without a tag
 * gets "latest". UD_EINVAL for names the store cannot hold. Caller frees. */
int ud_archive_name_split(const char *name, char **repo, char **tag, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* load                                                                */
/* ------------------------------------------------------------------ */

struct ud_archive_load_opts {
    /* NEWNAME: "repo" replaces the repository of every image; "repo:tag"
     * also the tag (then the archive must hold one image). NULL: names from
     * the archive; an image without one gets 16 random hex characters as
     * repository and "latest" as tag. */
    const char *new_name;
    /* Platform chosen from multi-platform entries; NULL: the host's. */
    const struct ud_platform *platform;
    /* Called once per image stored, in archive order. May be NULL. */
    void (*on_image)(void *ctx, const char *repo, const char *tag);
    void *ctx;
};

/* Read an archive from fd (plain, gzip or zstd tar; a pipe is fine: it is
 * read once, front to back) and store every image it names. Images with
 * digests (every layout but pre-1.10 docker save) are stored as v2, like a
 * pull: the archive's manifest when it has one (OCI layouts), else an OCI
 * manifest made from manifest.json; blobs are checked against their
 * digests (and uncompressed layers against the config's diff_ids). A
 * pre-1.10 archive (repositories and <id>/json only) is stored as v1.
 * All or nothing: every image is checked before the first is stored, and
 * nothing stays in the repository after an error. Errors: UD_EPARSE
 * (corrupt or truncated archive, bad JSON), UD_EUNSAFE (member name or
 * link escaping the archive), UD_ENOENT (a member the metadata names is
 * missing), UD_EDIGEST, UD_EEXIST ("repository and tag already exist: R T"),
 * UD_EUNSUPP, UD_EIO, UD_ENOSPC, UD_ENOMEM. */
int ud_archive_load(struct ud_store *s, int fd, const struct ud_archive_load_opts *o,
                    struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* save                                                                */
/* ------------------------------------------------------------------ */

struct ud_archive_image {
    const char *repo;
    const char *tag;
};

/* Write the images to fd as one tar in the Docker 25+ layout: oci-layout,
 * index.json, manifest.json, repositories, then blobs/sha256/<hex>, each
 * blob once. v2 images are written with their stored manifest and blobs
 * as they are (no recompression), so loading the archive gives the same
 * digests; v1 and schema 1 images get an OCI manifest and a config with
 * rootfs.diff_ids made on the way. Every blob is hashed while it is copied
 * and a mismatch stops the save (UD_EDIGEST). Errors: UD_ENOENT (no such
 * image or a missing layer), UD_EDIGEST, UD_EIO, UD_ENOSPC, UD_ENOMEM. */
int ud_archive_save(struct ud_store *s, const struct ud_archive_image *images, size_t count, int fd,
                    struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* import, export                                                      */
/* ------------------------------------------------------------------ */

/* The sha256 of the uncompressed content of a layer file (plain, gzip or
 * zstd tar): its diff_id. hex gets 64 characters + NUL. */
int ud_archive_diff_id(const char *path, char hex[65], struct ud_error *err) UD_WUR;

/* Image config JSON for an imported root filesystem (upstream's fields:
 * comment "created by udocker", created, architecture, os, variant, size,
 * rootfs.diff_ids, empty config and container_config). platform NULL: the
 * host. diff_id "sha256:<hex>" or NULL (no rootfs). Caller frees *json. */
int ud_archive_import_config(const struct ud_platform *platform, const char *diff_id, uint64_t size,
                             char **json, size_t *len, struct ud_error *err) UD_WUR;

struct ud_archive_import_opts {
    const struct ud_platform *platform; /* NULL: the host's */
    bool move;                          /* --mv: rename the tarball into layers/ */
};

/* import TARBALL REPO:TAG: store the tarball at path as the single layer
 * of a new v2 image (layer blob sha256:<hash of the file as given>, a
 * config from ud_archive_import_config, an OCI manifest). A path of NULL
 * reads fd instead (stdin), spooled into layers/ while it is hashed.
 * layer_digest (may be NULL) receives "sha256:<hex>" (72 bytes).
 * UD_EEXIST "tag already exists in repo: TAG", UD_EPARSE (not a tar). */
int ud_archive_import(struct ud_store *s, const char *path, int fd, const char *repo,
                      const char *tag, const struct ud_archive_import_opts *o,
                      char layer_digest[72], struct ud_error *err) UD_WUR;

/* Write the tree at dir to fd as a tar: members "./", "./name"...; regular
 * files, directories, symlinks, hard links (once per inode), FIFOs and
 * device nodes; owner 0:0 (the ids of an unprivileged extraction mean
 * nothing elsewhere), modes and mtimes kept; other filesystems' contents
 * skipped (like tar --one-file-system); long names in pax headers. A file
 * that cannot be read stops the export (UD_EIO). */
int ud_archive_tree_write(const char *dir, int fd, struct ud_error *err) UD_WUR;
