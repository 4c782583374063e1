/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jansson helpers for the parsers: load with a size cap and a clean error
 * line, typed member access, descriptor parsing and kind sniffing. Nothing
 * from jansson leaks through the public header.
 */
#include <stdlib.h>
#include <string.h>

#include "oci_int.h"

int
oci_enomem(struct ud_error *err)
{
    return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
}

/* jansson reports some allocation failures as syntax errors (a string
 * buffer that cannot grow ends the token) or with no text at all. Probe the
 * allocator: if it cannot give a few bytes either, memory is the cause. */
static bool
jansson_was_oom(const json_error_t *jerr)
{
    if (jerr->text[0] == '\0')
        return true;
    void *probe = ud_malloc(64);
    if (!probe)
        return true;
    free(probe);
    return false;
}

int
oci_json_load(const char *buf, size_t len, size_t max, const char *what, json_t **out,
              struct ud_error *err)
{
    json_error_t jerr;

    if (len > max)
        return ud_error_set(err, UD_ETOOBIG, 0, "%s is larger than %zu bytes", what, max);
    if (!buf || len == 0)
        return ud_error_set(err, UD_EPARSE, 0, "%s is empty", what);
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_out_of_memory || jansson_was_oom(&jerr))
            return oci_enomem(err);
        return ud_error_set(err, UD_EPARSE, 0, "%s is not valid JSON (line %d column %d: %s)", what,
                            jerr.line, jerr.column, jerr.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return ud_error_set(err, UD_EPARSE, 0, "%s is not a JSON object", what);
    }
    *out = root;
    return 0;
}

int
oci_json_str(json_t *obj, const char *key, bool required, const char *ctx, const char **out,
             struct ud_error *err)
{
    json_t *v = json_object_get(obj, key);

    if (!v) {
        if (required)
            return ud_error_set(err, UD_EPARSE, 0, "%s: missing \"%s\"", ctx, key);
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return ud_error_set(err, UD_EPARSE, 0, "%s: \"%s\" is not a string", ctx, key);
    const char *s = json_string_value(v);
    /* A \u0000 inside would silently shorten the C string. */
    if (strlen(s) != json_string_length(v))
        return ud_error_set(err, UD_EPARSE, 0, "%s: \"%s\" contains a NUL character", ctx, key);
    *out = s;
    return 0;
}

int
oci_json_size(json_t *obj, const char *key, const char *ctx, int64_t *out, struct ud_error *err)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return ud_error_set(err, UD_EPARSE, 0, "%s: missing \"%s\"", ctx, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return ud_error_set(err, UD_EPARSE, 0, "%s: \"%s\" is not a non-negative integer", ctx,
                            key);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int
oci_json_array(json_t *obj, const char *key, const char *ctx, json_t **out, struct ud_error *err)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return ud_error_set(err, UD_EPARSE, 0, "%s: missing \"%s\"", ctx, key);
    if (!json_is_array(v))
        return ud_error_set(err, UD_EPARSE, 0, "%s: \"%s\" is not an array", ctx, key);
    *out = v;
    return 0;
}

bool
oci_platform_chars_ok(const char *s, size_t n)
{
    if (n >= UD_OCI_PLATFORM_FIELD)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool
oci_platform_field_set(char field[UD_OCI_PLATFORM_FIELD], const char *s)
{
    size_t n = strlen(s);

    if (!oci_platform_chars_ok(s, n))
        return false;
    memcpy(field, s, n + 1);
    return true;
}

/* Platform of an index entry. A malformed platform is not an error: the
 * entry is simply never selected (has_platform stays false). */
static void
descriptor_platform(json_t *obj, struct ud_descriptor *d)
{
    json_t *p = json_object_get(obj, "platform");
    const char *os = NULL, *arch = NULL, *variant = NULL;

    if (!json_is_object(p))
        return;
    if (oci_json_str(p, "os", true, "", &os, NULL) < 0 ||
        oci_json_str(p, "architecture", true, "", &arch, NULL) < 0 ||
        oci_json_str(p, "variant", false, "", &variant, NULL) < 0)
        return;
    struct ud_platform pl = {0};
    if (!oci_platform_field_set(pl.os, os) || !oci_platform_field_set(pl.arch, arch))
        return;
    if (variant && !oci_platform_field_set(pl.variant, variant))
        return;
    d->platform = pl;
    d->has_platform = true;
}

static bool
media_type_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

int
oci_descriptor_parse(json_t *obj, bool need_media_type, bool with_platform, const char *ctx,
                     struct ud_descriptor *d, struct ud_error *err)
{
    const char *mt = NULL, *digest = NULL;
    int64_t size = 0;
    int rc;

    if (!json_is_object(obj))
        return ud_error_set(err, UD_EPARSE, 0, "%s is not an object", ctx);
    if ((rc = oci_json_str(obj, "mediaType", need_media_type, ctx, &mt, err)) < 0 ||
        (rc = oci_json_str(obj, "digest", true, ctx, &digest, err)) < 0 ||
        (rc = oci_json_size(obj, "size", ctx, &size, err)) < 0)
        return rc;
    if (mt && !media_type_ok(mt))
        return ud_error_set(err, UD_EPARSE, 0, "%s: invalid mediaType", ctx);
    if (!ud_oci_digest_is_valid(digest))
        return ud_error_set(err, UD_EPARSE, 0, "%s: invalid digest '%.80s'", ctx, digest);

    struct ud_descriptor nd = {.size = size};
    if (with_platform)
        descriptor_platform(obj, &nd);
    nd.digest = ud_strdup(digest);
    nd.media_type = ud_strdup(mt ? mt : "");
    if (!nd.digest || !nd.media_type) {
        oci_descriptor_fini(&nd);
        return oci_enomem(err);
    }
    *d = nd;
    return 0;
}

void
oci_descriptor_fini(struct ud_descriptor *d)
{
    if (!d)
        return;
    free(d->media_type);
    free(d->digest);
    memset(d, 0, sizeof(*d));
}

enum ud_oci_kind
oci_kind_from_json(json_t *root, const char **declared)
{
    json_t *mt = json_object_get(root, "mediaType");
    json_t *sv = json_object_get(root, "schemaVersion");

    *declared = NULL;
    if (json_is_string(mt)) {
        *declared = json_string_value(mt);
        return ud_oci_kind_from_media_type(*declared);
    }
    if (!json_is_integer(sv))
        return UD_OCI_KIND_UNKNOWN;
    if (json_integer_value(sv) == 1 && json_object_get(root, "fsLayers"))
        return UD_OCI_KIND_DOCKER_V1;
    if (json_integer_value(sv) != 2)
        return UD_OCI_KIND_UNKNOWN;
    if (json_object_get(root, "manifests"))
        return UD_OCI_KIND_OCI_INDEX;
    if (json_object_get(root, "layers") || json_object_get(root, "config"))
        return UD_OCI_KIND_OCI_MANIFEST;
    return UD_OCI_KIND_UNKNOWN;
}
