/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Media types: the Accept list of a manifest request, Content-Type to
 * manifest kind (with the JSON fallback for registries that answer
 * application/json), layer media type to compression, and digests as the
 * image spec writes them ("algorithm:encoded").
 */
#include <string.h>
#include <strings.h>

#include "oci_int.h"

const char *const ud_oci_accept_types[UD_OCI_ACCEPT_COUNT] = {
    UD_OCI_MT_DOCKER_V2,   UD_OCI_MT_DOCKER_V1_SIGNED, "application/json",
    UD_OCI_MT_DOCKER_LIST, UD_OCI_MT_OCI_MANIFEST,     UD_OCI_MT_OCI_INDEX,
};

/* Compare the type/subtype part of a header value (before ';', without
 * surrounding blanks) with a media type, ignoring case (RFC 9110 8.3.1). */
static bool
mt_is(const char *value, const char *mt)
{
    if (!value)
        return false;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strcspn(value, ";");
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    return n == strlen(mt) && strncasecmp(value, mt, n) == 0;
}

static bool
mt_is_empty(const char *value)
{
    if (!value)
        return true;
    while (*value == ' ' || *value == '\t')
        value++;
    return *value == '\0' || *value == ';';
}

enum ud_oci_kind
ud_oci_kind_from_media_type(const char *media_type)
{
    static const struct {
        const char *mt;
        enum ud_oci_kind kind;
    } table[] = {
        {UD_OCI_MT_DOCKER_V2, UD_OCI_KIND_DOCKER_V2},
        {UD_OCI_MT_DOCKER_V1_SIGNED, UD_OCI_KIND_DOCKER_V1},
        {UD_OCI_MT_DOCKER_V1, UD_OCI_KIND_DOCKER_V1},
        {UD_OCI_MT_DOCKER_LIST, UD_OCI_KIND_DOCKER_LIST},
        {UD_OCI_MT_OCI_MANIFEST, UD_OCI_KIND_OCI_MANIFEST},
        {UD_OCI_MT_OCI_INDEX, UD_OCI_KIND_OCI_INDEX},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (mt_is(media_type, table[i].mt))
            return table[i].kind;
    }
    return UD_OCI_KIND_UNKNOWN;
}

const char *
ud_oci_kind_media_type(enum ud_oci_kind kind)
{
    switch (kind) {
    case UD_OCI_KIND_DOCKER_V2:
        return UD_OCI_MT_DOCKER_V2;
    case UD_OCI_KIND_DOCKER_V1:
        return UD_OCI_MT_DOCKER_V1_SIGNED;
    case UD_OCI_KIND_DOCKER_LIST:
        return UD_OCI_MT_DOCKER_LIST;
    case UD_OCI_KIND_OCI_MANIFEST:
        return UD_OCI_MT_OCI_MANIFEST;
    case UD_OCI_KIND_OCI_INDEX:
        return UD_OCI_MT_OCI_INDEX;
    case UD_OCI_KIND_UNKNOWN:
        break;
    }
    return "";
}

const char *
ud_oci_kind_name(enum ud_oci_kind kind)
{
    switch (kind) {
    case UD_OCI_KIND_DOCKER_V2:
        return "docker schema2 manifest";
    case UD_OCI_KIND_DOCKER_V1:
        return "docker schema1 manifest";
    case UD_OCI_KIND_DOCKER_LIST:
        return "docker manifest list";
    case UD_OCI_KIND_OCI_MANIFEST:
        return "OCI manifest";
    case UD_OCI_KIND_OCI_INDEX:
        return "OCI index";
    case UD_OCI_KIND_UNKNOWN:
        break;
    }
    return "unknown manifest type";
}

bool
ud_oci_kind_is_manifest(enum ud_oci_kind kind)
{
    return kind == UD_OCI_KIND_DOCKER_V2 || kind == UD_OCI_KIND_DOCKER_V1 ||
           kind == UD_OCI_KIND_OCI_MANIFEST;
}

bool
ud_oci_kind_is_index(enum ud_oci_kind kind)
{
    return kind == UD_OCI_KIND_DOCKER_LIST || kind == UD_OCI_KIND_OCI_INDEX;
}

int
ud_oci_kind_detect(const char *content_type, const char *body, size_t len, enum ud_oci_kind *out,
                   struct ud_error *err)
{
    enum ud_oci_kind k = ud_oci_kind_from_media_type(content_type);
    json_t *root = NULL;
    const char *declared = NULL;
    int rc;

    if (k != UD_OCI_KIND_UNKNOWN) {
        *out = k;
        return 0;
    }
    /* Old registries and some mirrors serve manifests as plain JSON. */
    if (!mt_is_empty(content_type) && !mt_is(content_type, "application/json") &&
        !mt_is(content_type, "text/plain"))
        return ud_error_set(err, UD_EUNSUPP, 0, "unsupported manifest media type '%.100s'",
                            content_type);
    if ((rc = oci_json_load(body, len, UD_OCI_MANIFEST_MAX_BYTES, "manifest", &root, err)) < 0)
        return rc;
    k = oci_kind_from_json(root, &declared);
    if (k == UD_OCI_KIND_UNKNOWN) {
        if (declared)
            rc = ud_error_set(err, UD_EUNSUPP, 0, "unsupported manifest media type '%.100s'",
                              declared);
        else
            rc = ud_error_set(err, UD_EUNSUPP, 0, "manifest of unknown format");
        json_decref(root);
        return rc;
    }
    json_decref(root);
    *out = k;
    return 0;
}

enum ud_oci_compression
ud_oci_layer_compression(const char *media_type)
{
    static const struct {
        const char *mt;
        enum ud_oci_compression comp;
    } table[] = {
        {"application/vnd.docker.image.rootfs.diff.tar.gzip", UD_OCI_COMP_GZIP},
        {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", UD_OCI_COMP_GZIP},
        {"application/vnd.docker.image.rootfs.diff.tar", UD_OCI_COMP_NONE},
        {"application/vnd.oci.image.layer.v1.tar", UD_OCI_COMP_NONE},
        {"application/vnd.oci.image.layer.v1.tar+gzip", UD_OCI_COMP_GZIP},
        {"application/vnd.oci.image.layer.v1.tar+zstd", UD_OCI_COMP_ZSTD},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar", UD_OCI_COMP_NONE},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", UD_OCI_COMP_GZIP},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", UD_OCI_COMP_ZSTD},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (mt_is(media_type, table[i].mt))
            return table[i].comp;
    }
    return UD_OCI_COMP_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* Digests                                                             */
/* ------------------------------------------------------------------ */

/*
 * Digests as the OCI image spec writes them ("algorithm:encoded"). Only the
 * two registered algorithms with lowercase hex are accepted: anything else
 * could not be verified and must not become a file name under layers/.
 */

static bool
is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* Algorithm component grammar from the image spec: [a-z0-9]+([+._-][a-z0-9]+)*
 * simplified to the characters it allows; used only to tell "unsupported"
 * from "malformed" in messages. */
static bool
is_algo_name(const char *s, size_t n)
{
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '.' ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int
digest_check(const char *s, int *algo, const char **hex, struct ud_error *err)
{
    if (!s)
        return ud_error_set(err, UD_EINVAL, 0, "missing digest");
    const char *colon = strchr(s, ':');
    if (!colon)
        return ud_error_set(err, UD_EINVAL, 0, "malformed digest '%.80s'", s);
    size_t alen = (size_t)(colon - s);
    size_t hlen = strnlen(colon + 1, 130);
    int a = 0;
    if (alen == 6 && memcmp(s, "sha256", 6) == 0 && hlen == 64)
        a = UD_HASH_SHA256;
    else if (alen == 6 && memcmp(s, "sha512", 6) == 0 && hlen == 128)
        a = UD_HASH_SHA512;
    if (a && is_lower_hex(colon + 1, hlen)) {
        *algo = a;
        *hex = colon + 1;
        return 0;
    }
    if (is_algo_name(s, alen) &&
        !(alen == 6 && (memcmp(s, "sha256", 6) == 0 || memcmp(s, "sha512", 6) == 0)))
        return ud_error_set(err, UD_EUNSUPP, 0, "unsupported digest algorithm '%.*s'",
                            (int)(alen > 32 ? 32 : alen), s);
    return ud_error_set(err, UD_EINVAL, 0, "malformed digest '%.80s'", s);
}

int
ud_oci_digest_parse(const char *s, struct ud_digest *out, struct ud_error *err)
{
    int algo = 0;
    const char *hex = NULL;
    int rc = digest_check(s, &algo, &hex, err);
    if (rc < 0)
        return rc;
    out->algo = algo;
    size_t n = strlen(hex);
    memcpy(out->hex, hex, n + 1);
    return 0;
}

bool
ud_oci_digest_is_valid(const char *s)
{
    int algo;
    const char *hex;
    return digest_check(s, &algo, &hex, NULL) == 0;
}

bool
ud_oci_digest_equal(const char *a, const char *b)
{
    return ud_oci_digest_is_valid(a) && ud_oci_digest_is_valid(b) && strcmp(a, b) == 0;
}
