// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz manifest handling as a pull does it. The first byte picks the
 * Content-Type the body is served with; the rest is the body, fed to kind
 * detection, the manifest, index and config parsers and index selection.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ud/oci-manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
    NULL,
    "application/json",
    UD_OCI_MT_DOCKER_V2,
    UD_OCI_MT_DOCKER_V1_SIGNED,
    UD_OCI_MT_DOCKER_V1,
    UD_OCI_MT_DOCKER_LIST,
    UD_OCI_MT_OCI_MANIFEST,
    UD_OCI_MT_OCI_INDEX,
    "text/plain; charset=utf-8",
    "text/html",
};

static void
check(bool ok)
{
    if (!ok)
        abort();
}

static void
check_descriptor(const struct ud_descriptor *d, bool layer)
{
    check(d->media_type != NULL);
    check(ud_oci_digest_is_valid(d->digest));
    check(d->size >= -1);
    if (layer)
        check(ud_oci_layer_compression(d->media_type) != UD_OCI_COMP_UNKNOWN);
}

static void
try_manifest(const char *body, size_t len, enum ud_oci_kind kind)
{
    struct ud_manifest m;
    char **blobs = NULL;

    if (ud_oci_manifest_parse(body, len, kind, &m, NULL) != 0)
        return;
    check(ud_oci_kind_is_manifest(m.kind));
    check(m.n_layers <= UD_OCI_MAX_LAYERS);
    check(m.has_config == (m.kind != UD_OCI_KIND_DOCKER_V1));
    if (m.has_config)
        check_descriptor(&m.config, false);
    for (size_t i = 0; i < m.n_layers; i++)
        check_descriptor(&m.layers[i], true);
    if (ud_oci_manifest_blobs(&m, &blobs, NULL) == 0) {
        check(ud_strv_len(blobs) <= m.n_layers + 1);
        ud_strv_free(blobs);
    }
    if (m.v1_config) {
        struct ud_image_config c;
        if (ud_oci_config_parse(m.v1_config, strlen(m.v1_config), &c, NULL) == 0)
            ud_oci_config_fini(&c);
    }
    ud_oci_manifest_fini(&m);
}

static void
try_index(const char *body, size_t len, enum ud_oci_kind kind)
{
    static const char *const wants[] = {"linux/amd64", "linux/arm/v7", "linux/arm64", "linux/arm",
                                        "windows/amd64"};
    struct ud_index idx;
    struct ud_platform p;
    const struct ud_descriptor *d;

    if (ud_oci_index_parse(body, len, kind, &idx, NULL) != 0)
        return;
    check(ud_oci_kind_is_index(idx.kind));
    for (size_t i = 0; i < idx.n_manifests; i++)
        check_descriptor(&idx.manifests[i], false);
    for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
        check(ud_oci_platform_parse(wants[i], &p, NULL) == 0);
        if (ud_oci_index_select(&idx, &p, &d, NULL) == 0) {
            check(d >= idx.manifests && d < idx.manifests + idx.n_manifests);
            check(d->has_platform && ud_oci_platform_matches(&d->platform, &p));
        }
    }
    if (ud_oci_platform_host(&p, NULL) == 0 && ud_oci_index_select(&idx, &p, &d, NULL) == 0)
        check(d->has_platform);
    ud_oci_index_fini(&idx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum ud_oci_kind kind = UD_OCI_KIND_UNKNOWN;
    struct ud_image_config cfg;
    struct ud_platform p;

    if (size < 1)
        return 0;
    const char *ct = content_types[data[0] % (sizeof(content_types) / sizeof(content_types[0]))];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    if (ud_oci_kind_detect(ct, body, len, &kind, NULL) == 0) {
        check(kind != UD_OCI_KIND_UNKNOWN);
        if (ud_oci_kind_is_manifest(kind))
            try_manifest(body, len, kind);
        else
            try_index(body, len, kind);
    }
    try_manifest(body, len, UD_OCI_KIND_UNKNOWN);
    try_index(body, len, UD_OCI_KIND_UNKNOWN);
    if (ud_oci_config_parse(body, len, &cfg, NULL) == 0) {
        check(cfg.len == len && cfg.platform.os[0] && cfg.platform.arch[0]);
        ud_oci_config_fini(&cfg);
    }
    /* Short bodies double as --platform strings. */
    if (len < 100) {
        char s[100];
        memcpy(s, body, len);
        s[len] = '\0';
        if (ud_oci_platform_parse(s, &p, NULL) == 0)
            check(p.os[0] && p.arch[0]);
    }
    return 0;
}
