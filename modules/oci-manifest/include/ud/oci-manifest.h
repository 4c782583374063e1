/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oci-manifest: image references (name -> registry, local repos/ path,
 * remote path, tag or digest), manifest media types, Docker schema 1/2 and
 * OCI manifests and indexes parsed into plain structs, platform names in
 * Docker spelling and index selection, image config platform, digests.
 * Pure parsing: no I/O, no network. All input is treated as untrusted.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ud/base.h>

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

#define UD_OCI_MANIFEST_MAX_BYTES (4u * 1024u * 1024u) /* manifest or index body */
#define UD_OCI_CONFIG_MAX_BYTES (16u * 1024u * 1024u)  /* image config blob */
#define UD_OCI_MAX_LAYERS 10000                        /* layers per manifest */
#define UD_OCI_MAX_INDEX_ENTRIES 10000                 /* entries per index */
#define UD_OCI_INDEX_MAX_DEPTH 4 /* index -> index nesting a caller should follow */
#define UD_OCI_NAME_MAX 255      /* local_repo length */
#define UD_OCI_TAG_MAX 128       /* tag length */

/* Default registry when the reference names none and no option is given. */
#define UD_OCI_DOCKER_HUB_REGISTRY "https://registry-1.docker.io"

/* ------------------------------------------------------------------ */
/* Image references                                                    */
/* ------------------------------------------------------------------ */

/* A parsed image reference. All strings are owned by the struct. */
struct ud_image_ref {
    char *registry_host; /* "quay.io", "127.0.0.1:5000", "docker.io"; NULL when
                            the name has no host component (Docker Hub) */
    char *local_repo;    /* the name as typed minus tag/digest: the repos/
                            path, e.g. "quay.io/org/img", "busybox",
                            "docker.io/python", "127.0.0.1:5000/lab/img" */
    char *remote_repo;   /* path at the registry: "library/busybox", "org/img" */
    char *tag;           /* "latest", "1.36" or "sha256:<hex>" for digests */
    bool is_digest;      /* tag is a digest ("name@sha256:...") */
    bool is_docker_hub;  /* no host, or the host contains docker.io/docker.com */
};

/* Parse an image reference as users type it ("busybox", "quay.io/org/img:1",
 * "127.0.0.1:5000/lab/img:tag", "img@sha256:<64 hex>", "img:tag@sha256:...").
 * The first component is a registry host when it contains '.' or ':' or is
 * "localhost", and a '/' follows it. No tag means "latest"; with a digest the
 * digest is the tag (an explicit tag beside it is dropped). On success *out is
 * filled (release with ud_oci_ref_fini); on failure *out is untouched.
 * Errors: UD_EINVAL (message names the problem), UD_ENOMEM. */
int ud_oci_ref_parse(const char *spec, struct ud_image_ref *out, struct ud_error *err) UD_WUR;

/* Free the strings of ref and zero it. NULL and zeroed structs are fine. */
void ud_oci_ref_fini(struct ud_image_ref *ref);
/* Parse spec as ud_oci_ref_parse does and give its local repository and
 * tag only (both owned by the caller; written only on success). Same
 * errors. */
int ud_oci_ref_split(const char *spec, char **repo, char **tag, struct ud_error *err) UD_WUR;

/* Registry base URL (no trailing '/') for ref. A host in the reference wins
 * ("https://<host>"; "docker.io" and "index.docker.io" map to
 * UD_OCI_DOCKER_HUB_REGISTRY), except that registry_opt is used as given when
 * it names that same host (so "--registry=http://localhost:5000" works for
 * "localhost:5000/img"). Otherwise registry_opt (the --registry/--index value,
 * "https://" prefixed when it has no scheme), else UD_OCI_DOCKER_HUB_REGISTRY.
 * registry_opt may be NULL or "". *url_out is the caller's to free.
 * Errors: UD_EINVAL (scheme other than http/https, bad characters), UD_ENOMEM. */
int ud_oci_ref_registry_url(const struct ud_image_ref *ref, const char *registry_opt,
                            char **url_out, struct ud_error *err) UD_WUR;

/* ------------------------------------------------------------------ */
/* Media types and manifest kinds                                      */
/* ------------------------------------------------------------------ */

#define UD_OCI_MT_DOCKER_V2 "application/vnd.docker.distribution.manifest.v2+json"
#define UD_OCI_MT_DOCKER_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define UD_OCI_MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define UD_OCI_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define UD_OCI_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define UD_OCI_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define UD_OCI_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define UD_OCI_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"

enum ud_oci_kind {
    UD_OCI_KIND_UNKNOWN = 0,
    UD_OCI_KIND_DOCKER_V2,    /* Docker image manifest schema 2 */
    UD_OCI_KIND_DOCKER_V1,    /* Docker schema 1, signed (+prettyjws) or not (+json) */
    UD_OCI_KIND_DOCKER_LIST,  /* Docker manifest list */
    UD_OCI_KIND_OCI_MANIFEST, /* OCI image manifest */
    UD_OCI_KIND_OCI_INDEX,    /* OCI image index */
};

/* The 6 Accept types of a manifest request, in upstream order:
 * docker v2, docker v1 prettyjws, application/json, docker list, OCI
 * manifest, OCI index. */
#define UD_OCI_ACCEPT_COUNT 6
extern const char *const ud_oci_accept_types[UD_OCI_ACCEPT_COUNT];

/* Kind of a media type or Content-Type value; parameters after ';' and
 * case are ignored. "application/json" and unknown types give
 * UD_OCI_KIND_UNKNOWN. NULL gives UD_OCI_KIND_UNKNOWN. */
enum ud_oci_kind ud_oci_kind_from_media_type(const char *media_type);

/* Kind of a manifest response: from content_type (may be NULL); when it is
 * missing, empty, "application/json" or "text/plain", from the body's
 * "mediaType", then its shape (schemaVersion 1 + fsLayers; "manifests";
 * "layers"/"config"). Errors: UD_EUNSUPP (a content type we do not handle, or
 * a body of no known shape), UD_EPARSE (body needed but not a JSON object),
 * UD_ETOOBIG (len > UD_OCI_MANIFEST_MAX_BYTES), UD_ENOMEM. */
int ud_oci_kind_detect(const char *content_type, const char *body, size_t len,
                       enum ud_oci_kind *out, struct ud_error *err) UD_WUR;

/* Canonical media type of a kind (schema 1: the +prettyjws one); "" for
 * UD_OCI_KIND_UNKNOWN. Static string. */
const char *ud_oci_kind_media_type(enum ud_oci_kind kind);
/* Short human name ("docker schema2 manifest", "OCI index"...). Static. */
const char *ud_oci_kind_name(enum ud_oci_kind kind);
bool ud_oci_kind_is_manifest(enum ud_oci_kind kind); /* DOCKER_V1/V2, OCI_MANIFEST */
bool ud_oci_kind_is_index(enum ud_oci_kind kind);    /* DOCKER_LIST, OCI_INDEX */

/* Layer compression from a layer media type. */
enum ud_oci_compression {
    UD_OCI_COMP_UNKNOWN = 0, /* not a layer type we know */
    UD_OCI_COMP_NONE,        /* plain tar */
    UD_OCI_COMP_GZIP,
    UD_OCI_COMP_ZSTD,
};
/* Known: application/vnd.docker.image.rootfs.diff.tar.gzip (and .foreign.,
 * and plain .tar), application/vnd.oci.image.layer.v1.tar[+gzip|+zstd] and
 * the .nondistributable. variants. Parameters and case are ignored. */
enum ud_oci_compression ud_oci_layer_compression(const char *media_type);

/* ------------------------------------------------------------------ */
/* Platforms                                                           */
/* ------------------------------------------------------------------ */

#define UD_OCI_PLATFORM_FIELD 32
#define UD_OCI_PLATFORM_STR_MAX (3 * UD_OCI_PLATFORM_FIELD) /* formatted, with NUL */

/* Docker naming: os "linux", arch "amd64"/"arm64"/"arm"/"386"/"ppc64le"...,
 * variant "" or "v5"/"v6"/"v7"/"v8". Fields are NUL-terminated. */
struct ud_platform {
    char os[UD_OCI_PLATFORM_FIELD];
    char arch[UD_OCI_PLATFORM_FIELD];
    char variant[UD_OCI_PLATFORM_FIELD];
};

/* Parse "os/arch[/variant]" (a lone "arch" means linux/arch). Lower-cased;
 * Docker aliases accepted: x86_64/x86-64 -> amd64, aarch64 -> arm64,
 * armhf -> arm/v7, armel -> arm/v6, i386/i686/x86 -> 386, armv7l -> arm/v7.
 * Errors: UD_EINVAL with the offending text. */
int ud_oci_platform_parse(const char *s, struct ud_platform *out, struct ud_error *err) UD_WUR;

/* Platform of a uname machine string ("x86_64" -> linux/amd64, "aarch64" ->
 * linux/arm64, "armv7l" -> linux/arm/v7, "i686" -> linux/386...). Unknown
 * machines keep their (lower-cased) name as arch. Errors: UD_EINVAL (empty
 * or too long). */
int ud_oci_platform_from_machine(const char *machine, struct ud_platform *out,
                                 struct ud_error *err) UD_WUR;

/* The host platform from uname(2) in Docker naming. arm64 gets no variant
 * (v8 is implied). Errors: UD_EIO (uname failed), UD_EINVAL. */
int ud_oci_platform_host(struct ud_platform *out, struct ud_error *err) UD_WUR;

/* Format as "os/arch" or "os/arch/variant" into out (never truncated: each
 * field is shorter than UD_OCI_PLATFORM_FIELD). */
void ud_oci_platform_format(const struct ud_platform *p, char out[UD_OCI_PLATFORM_STR_MAX]);

/* Does an image of platform have run on want? os and arch compare
 * case-insensitively after alias normalisation; "unknown" never matches;
 * a requested variant must be equal or absent in have; arm64 "" == "v8". */
bool ud_oci_platform_matches(const struct ud_platform *have, const struct ud_platform *want);

/* ------------------------------------------------------------------ */
/* Digests                                                             */
/* ------------------------------------------------------------------ */

struct ud_digest {
    int algo;                  /* UD_HASH_SHA256 or UD_HASH_SHA512 */
    char hex[UD_HASH_HEX_MAX]; /* lowercase, 64 or 128 characters */
};

/* Parse "sha256:<64 lowercase hex>" or "sha512:<128 lowercase hex>".
 * Errors: UD_EUNSUPP (well-formed "algo:hex" with another algorithm),
 * UD_EINVAL (anything else). */
int ud_oci_digest_parse(const char *s, struct ud_digest *out, struct ud_error *err) UD_WUR;
/* True when ud_oci_digest_parse would succeed. */
bool ud_oci_digest_is_valid(const char *s);
/* Both valid and equal (algorithm and hex). */
bool ud_oci_digest_equal(const char *a, const char *b);

/* ------------------------------------------------------------------ */
/* Manifests and indexes                                               */
/* ------------------------------------------------------------------ */

/* A content descriptor. Strings owned by the containing struct. */
struct ud_descriptor {
    char *media_type;            /* never NULL in a parsed result (schema 1 layers get
                                    the docker gzip layer type, which is what they are) */
    char *digest;                /* valid "sha256:..." or "sha512:..." */
    int64_t size;                /* bytes; -1 when unknown (schema 1 layers) */
    bool has_platform;           /* index entries: platform present and well formed */
    struct ud_platform platform; /* as given by the index (not normalised) */
};

/* A single-image manifest (schema 1, schema 2 or OCI). */
struct ud_manifest {
    enum ud_oci_kind kind;
    int schema_version;           /* 1 or 2 */
    bool has_config;              /* false for schema 1 */
    struct ud_descriptor config;  /* zeroed when !has_config */
    struct ud_descriptor *layers; /* extraction order, bottom layer first.
                                     schema 1: fsLayers reversed; consecutive
                                     duplicate blobSums (empty layers) are kept */
    size_t n_layers;
    char *v1_config; /* schema 1: history[0].v1Compatibility (the
                        image config); NULL otherwise or if absent */
};

/* Parse a manifest body of the given kind (UD_OCI_KIND_UNKNOWN: detect from
 * the body as ud_oci_kind_detect does). Checks schemaVersion, digests,
 * sizes (non-negative integers), layer media types and the caps.
 * On success *out is filled (release with ud_oci_manifest_fini).
 * Errors: UD_EPARSE (malformed JSON or structure, message says where),
 * UD_EUNSUPP (unknown layer media type, kind is an index), UD_ETOOBIG
 * (len or layer count over the caps), UD_ENOMEM. */
int ud_oci_manifest_parse(const char *json, size_t len, enum ud_oci_kind kind,
                          struct ud_manifest *out, struct ud_error *err) UD_WUR;
/* Free what m owns and zero it; NULL and zeroed structs are fine. */
void ud_oci_manifest_fini(struct ud_manifest *m);

/* Blobs to download, in upstream order: layer digests (schema 1: reversed
 * fsLayers) then the config digest; each digest once. *out is a
 * NULL-terminated vector for ud_strv_free. Errors: UD_ENOMEM. */
int ud_oci_manifest_blobs(const struct ud_manifest *m, char ***out, struct ud_error *err) UD_WUR;

/* A Docker manifest list or OCI index. */
struct ud_index {
    enum ud_oci_kind kind;
    struct ud_descriptor *manifests; /* in document order */
    size_t n_manifests;
};

/* Parse an index body (kind DOCKER_LIST, OCI_INDEX, or UNKNOWN to detect).
 * Entries need mediaType, digest and size; platform is optional (entries
 * without one are never selected). Errors: UD_EPARSE, UD_EUNSUPP (kind is a
 * manifest), UD_ETOOBIG, UD_ENOMEM. */
int ud_oci_index_parse(const char *json, size_t len, enum ud_oci_kind kind, struct ud_index *out,
                       struct ud_error *err) UD_WUR;
/* Free what idx owns and zero it; NULL and zeroed structs are fine. */
void ud_oci_index_fini(struct ud_index *idx);

/* Pick the entry for want: the first manifest or index entry whose os and
 * arch match (case-insensitive, aliases normalised); "unknown" os/arch
 * (attestations) never match. With a requested variant an exact variant
 * match is preferred, else the first matching entry without a variant.
 * arm64 without a variant matches "v8" or none. *out borrows from idx.
 * When the result is itself an index (ud_oci_descriptor_is_index), the
 * caller fetches and selects again, up to UD_OCI_INDEX_MAX_DEPTH.
 * Errors: UD_ENOTFOUND "no image found in manifest for platform (os/arch)". */
int ud_oci_index_select(const struct ud_index *idx, const struct ud_platform *want,
                        const struct ud_descriptor **out, struct ud_error *err) UD_WUR;

/* Media type of d names an index (docker list or OCI index). */
bool ud_oci_descriptor_is_index(const struct ud_descriptor *d);

/* ------------------------------------------------------------------ */
/* Image config                                                        */
/* ------------------------------------------------------------------ */

struct ud_image_config {
    struct ud_platform platform; /* "unknown" os/arch when missing or
                                    unusable; variant "" when missing */
    char *json;                  /* the raw config text, NUL-terminated */
    size_t len;
};

/* Parse an image config blob (docker/OCI config, or a schema 1
 * v1Compatibility string). Errors: UD_EPARSE (not a JSON object),
 * UD_ETOOBIG (over UD_OCI_CONFIG_MAX_BYTES), UD_ENOMEM. */
int ud_oci_config_parse(const char *json, size_t len, struct ud_image_config *out,
                        struct ud_error *err) UD_WUR;
/* Free what cfg owns and zero it; NULL and zeroed structs are fine. */
void ud_oci_config_fini(struct ud_image_config *cfg);
