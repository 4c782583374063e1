/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the pull code (image_pull.c, pull_plan.c, pull_site.c): the
 * pieces that are not part of image_pull.h's interface.
 */
#pragma once

#include <stddef.h>

#include "ud/base.h"
#include "ud/oci-manifest.h"
#include "ud/registry-client.h"

struct ud_cli;
struct ud_conf;
struct ud_image_ref;
struct ud_pull_site;

/* GET the manifest for reference from remote at c; when it is an index,
 * pick want's entry and GET that, following nested indexes at most
 * UD_OCI_INDEX_MAX_DEPTH times. On success *body_out is the platform
 * manifest as served (what the repository stores, *len_out bytes, the
 * caller's) and *m_out its parsed form. A 401/403 reads "manifest not
 * found or not authorized"; other failures are prefixed "pulling manifest:".
 * Errors: those of ud_reg_manifest_get, UD_EUNSUPP (no manifest for the
 * platform, unknown kind, nesting too deep), UD_EPARSE, UD_ENOMEM. */
int ud_pull_manifest_resolve(struct ud_reg_client *c, const char *remote, const char *reference,
                             const struct ud_platform *want, char **body_out, size_t *len_out,
                             struct ud_manifest *m_out, struct ud_error *err) UD_WUR;
/* ud_pull_manifest_resolve, and also the index the platform manifest was
 * chosen from (the innermost one when indexes nest) into *index_out
 * (*index_len_out bytes, the caller's), or NULL when reference named a
 * manifest directly. index_out may be NULL. */
int ud_pull_manifest_resolve_index(struct ud_reg_client *c, const char *remote,
                                   const char *reference, const struct ud_platform *want,
                                   char **body_out, size_t *len_out, struct ud_manifest *m_out,
                                   char **index_out, size_t *index_len_out,
                                   struct ud_error *err) UD_WUR;

/* A registry client for url (a site or a mirror) with the CLI's network
 * settings and the credentials stored for url, or else for also_url
 * (may be NULL): the keystore first, then the Docker CLI's config.json.
 * attempts 0 is the client's default. Errors from ud_reg_client_new. */
int ud_pull_client_open_url(const struct ud_cli *cli, const char *url, const char *also_url,
                            const char *proxy, int attempts, ud_reg_progress_fn progress,
                            void *progress_ctx, const volatile int *cancel,
                            struct ud_reg_client **out, struct ud_error *err) UD_WUR;

/* The mirrors to try before site for ref, in order (registry_mirrors /
 * UDOCKER_REGISTRY_MIRRORS; entries are separated by blanks or commas).
 * A bare URL mirrors Docker Hub; "host=URL" mirrors the registry host
 * (a Docker Hub name means Docker Hub). URLs without a scheme get
 * https://. *out is a NULL-terminated vector (possibly empty) the caller
 * frees with ud_strv_free. Errors: UD_EINVAL (a bad URL), UD_ENOMEM. */
int ud_pull_mirrors_for(const struct ud_conf *conf, const struct ud_image_ref *ref,
                        const struct ud_pull_site *site, char ***out, struct ud_error *err) UD_WUR;
