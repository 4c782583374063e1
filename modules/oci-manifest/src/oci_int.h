/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private helpers shared inside the module: jansson access for the parsers
 * (capped loading, typed fields that reject embedded NULs and non-integer
 * sizes, descriptors) and platform matching for index selection.
 */
#ifndef UD_BUILDING_OCI_MANIFEST
#error "oci_int.h is private to the oci-manifest module"
#endif
#pragma once

#include <jansson.h>

#include "ud/oci-manifest.h"

/* Parse len bytes (at most max) into a JSON object. Duplicate keys are
 * rejected so no two readers can see different values. what names the
 * document in messages ("manifest"). */
int oci_json_load(const char *buf, size_t len, size_t max, const char *what, json_t **out,
                  struct ud_error *err);

/* A string member. Missing: *out = NULL, error only when required. */
int oci_json_str(json_t *obj, const char *key, bool required, const char *ctx, const char **out,
                 struct ud_error *err);

/* An integer member >= 0 (required). */
int oci_json_size(json_t *obj, const char *key, const char *ctx, int64_t *out,
                  struct ud_error *err);

/* An array member (required); *out borrowed. */
int oci_json_array(json_t *obj, const char *key, const char *ctx, json_t **out,
                   struct ud_error *err);

/* Fill d from a descriptor object: mediaType (required when
 * need_media_type), digest (valid), size (>= 0); platform when
 * with_platform. ctx is used in messages ("layer 3"). */
int oci_descriptor_parse(json_t *obj, bool need_media_type, bool with_platform, const char *ctx,
                         struct ud_descriptor *d, struct ud_error *err);
void oci_descriptor_fini(struct ud_descriptor *d);

/* Kind from a parsed document: its mediaType, else its shape. */
enum ud_oci_kind oci_kind_from_json(json_t *root, const char **declared);

/* n bytes of s fit a platform field and are made of [A-Za-z0-9._-]. */
bool oci_platform_chars_ok(const char *s, size_t n);

/* Copy s into a platform field when oci_platform_chars_ok says so. */
bool oci_platform_field_set(char field[UD_OCI_PLATFORM_FIELD], const char *s);

/* Load a manifest (want_index false) or index document: settle *kind
 * (UNKNOWN: from the body), refuse the other family and a body that
 * declares a different family, check schemaVersion. *out to json_decref. */
int oci_doc_load(const char *json, size_t len, enum ud_oci_kind *kind, bool want_index,
                 json_t **out, struct ud_error *err);

/* The out-of-memory error in one place. */
int oci_enomem(struct ud_error *err);

/* How well an index entry's platform fits want: 0 not at all, 1 os/arch
 * match but the entry has no variant while one was requested, 2 full match. */
int oci_platform_match_level(const struct ud_platform *have, const struct ud_platform *want);
