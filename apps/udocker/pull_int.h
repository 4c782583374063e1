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
