// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz image reference parsing and the registry URL choice. Whatever is
 * accepted must be usable as a repos/ path: non-empty, relative, no empty
 * or dot-dot components, and a non-empty tag.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ud/oci-manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
    if (!ok)
        abort();
}

static void
check_path(const char *p)
{
    check(p && p[0] && p[0] != '/');
    check(!strstr(p, "//") && !strstr(p, "/../") && !strstr(p, "/./"));
    check(strncmp(p, "../", 3) != 0 && strncmp(p, "./", 2) != 0);
    size_t n = strlen(p);
    check(p[n - 1] != '/');
    check(!(n >= 3 && strcmp(p + n - 3, "/..") == 0));
    for (size_t i = 0; i < n; i++)
        check((unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f && p[i] != '@');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ud_image_ref r;
    struct ud_error err = {0};
    char *url = NULL;

    if (size > 4096)
        return 0;
    char *spec = malloc(size + 1);
    if (!spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';

    if (ud_oci_ref_parse(spec, &r, &err) == 0) {
        check(r.tag && r.tag[0]);
        check_path(r.local_repo);
        check_path(r.remote_repo);
        check(strlen(r.local_repo) <= UD_OCI_NAME_MAX);
        check(r.is_digest == ud_oci_digest_is_valid(r.tag));
        check(!r.registry_host ||
              strncmp(r.local_repo, r.registry_host, strlen(r.registry_host)) == 0);
        check(r.registry_host || r.is_docker_hub);
        if (ud_oci_ref_registry_url(&r, NULL, &url, &err) == 0) {
            check(strncmp(url, "https://", 8) == 0);
            free(url);
        }
        url = NULL;
        if (ud_oci_ref_registry_url(&r, "http://mirror.example:5000/", &url, &err) == 0)
            free(url);
        ud_oci_ref_fini(&r);
    } else {
        check(err.code < 0 && err.msg[0] != '\0');
    }
    /* The spec as a registry option as well. */
    url = NULL;
    if (ud_oci_ref_registry_url(NULL, spec, &url, &err) == 0) {
        check(strncmp(url, "http", 4) == 0);
        free(url);
    }
    free(spec);
    return 0;
}
