/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pulling an image from a v2 registry into the local repository (reference
 * 3.1 and 3.5): registry selection, manifest and index resolution to one
 * platform, one concurrent download of every missing blob, and an atomic
 * tag write. Shared by "pull", "search" (registry selection, client set-up)
 * and "run --pull".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "ud/base.h"
#include "ud/registry-client.h"

struct ud_conf;
struct ud_manifest;

/* Where to send requests for one image or one search. */
struct ud_pull_site {
    char *registry_url; /* base URL without trailing '/', e.g. "https://quay.io" */
    char *index_url;    /* search index base URL, or NULL (search the registry) */
    bool scheme_given;  /* false when "https://" was assumed for a bare host:
                           with --insecure the client then falls back to
                           plain http when TLS cannot be spoken */
};

/* Free the strings of s and zero it (NULL and zeroed are fine). */
void ud_pull_site_fini(struct ud_pull_site *s);

/* Select the registry (reference 3.1, with host:port accepted in names):
 * - host (the registry component of the image name or search term, NULL
 *   when there is none) wins over the options, except that an option naming
 *   that same host is used as given (so "--registry=http://h:5000" with
 *   "h:5000/img" keeps plain http); a host listed in conf's
 *   docker_registries uses those URLs; Docker Hub's names (docker.io,
 *   index.docker.io, registry-1.docker.io) use conf's Docker Hub URLs;
 *   any other host is "https://<host>" (scheme_given false);
 * - else registry_opt and/or index_opt ("https://" prefixed when they have
 *   no scheme); given only --index, it serves as the registry too;
 * - else conf's dockerio_registry_url and dockerio_index_url.
 * index_url is left NULL when it would equal registry_url (the search then
 * asks the registry's own endpoints once).
 * --insecure (see ud_pull_client_open): TLS is not verified and, for a
 * registry reached through a bare host name, plain http is used when the
 * server does not speak TLS.
 * conf may be NULL (built-in Docker Hub URLs). out is written on success.
 * Errors: UD_EINVAL (empty host, a scheme other than http/https, spaces
 * or control characters), UD_ENOMEM. */
int ud_pull_site_select(const struct ud_conf *conf, const char *host, const char *registry_opt,
                        const char *index_opt, struct ud_pull_site *out,
                        struct ud_error *err) UD_WUR;

struct ud_image_ref;

/* The repository path at the registry for ref: the name without its
 * registry host, with "library/" added to a single-component name only
 * when the selected registry is Docker Hub (its configured URL, or a host
 * naming docker.io/docker.com), so "--registry=http://h:5000 busybox" asks
 * h:5000 for "busybox". *out is the caller's. Errors: UD_EINVAL, UD_ENOMEM. */
int ud_pull_remote_repo(const struct ud_conf *conf, const struct ud_image_ref *ref,
                        const struct ud_pull_site *site, char **out, struct ud_error *err) UD_WUR;

/* One blob to fetch, in download order (layers bottom first, then config). */
struct ud_pull_blob {
    char *digest;    /* "sha256:<hex>" */
    int64_t size;    /* from the manifest, -1 when unknown (schema 1) */
    char *dest_path; /* <layersdir>/<digest> */
};

struct ud_pull_plan {
    struct ud_pull_blob *blobs;
    size_t n;
    int64_t total_bytes; /* sum of known sizes */
};

/* The blobs of manifest m (layers in extraction order, then the config
 * blob when the manifest has one; schema 1 has none: its config is
 * history[0].v1Compatibility), each digest once, with destination paths
 * under layersdir. out is written on success; release with
 * ud_pull_plan_fini. Errors: UD_EINVAL (a digest that is not a plain file
 * name), UD_ENOMEM. */
int ud_pull_plan_build(const struct ud_manifest *m, const char *layersdir, struct ud_pull_plan *out,
                       struct ud_error *err) UD_WUR;
void ud_pull_plan_fini(struct ud_pull_plan *p);

/* Open a registry client for site with the CLI's network settings
 * (conf timeouts, CA bundle, connection count, user agent, --insecure),
 * proxy (NULL: conf's http_proxy; "" none) and the credentials stored in
 * the keystore for site->registry_url. With cli->insecure and a bare host
 * (!scheme_given) it probes https first and switches to http when TLS
 * fails, as Docker does for insecure registries. progress may be NULL.
 * *out is the caller's (ud_reg_client_free). Errors from ud_reg_client_new. */
int ud_pull_client_open(const struct ud_cli *cli, const struct ud_pull_site *site,
                        const char *proxy, ud_reg_progress_fn progress, void *progress_ctx,
                        const volatile int *cancel, struct ud_reg_client **out,
                        struct ud_error *err) UD_WUR;

/* Options of one pull (all may be NULL). */
struct ud_pull_opts {
    const char *registry_opt; /* --registry= */
    const char *index_opt;    /* --index= */
    const char *http_proxy;   /* --httpproxy=; NULL: conf's http_proxy */
    const char *platform;     /* --platform=os/arch[/variant]; NULL: host */
};

/* Declare and read the four options above on cl (pull, manifest). */
void ud_pull_opts_parse(struct ud_cmdline *cl, struct ud_pull_opts *o);

/* Pull spec ("busybox", "quay.io/org/img:tag", "127.0.0.1:5000/lab/img:1",
 * "img@sha256:...") into cli's repository, printing what upstream prints:
 * "Info: downloading layer <digest>" per blob (INFO), a status line on a
 * terminal, and on failure a specific "Error: ..." line followed by
 * "Error: no files downloaded". A failed pull of a new tag leaves nothing
 * behind; a failed re-pull leaves the old tag as it was. Returns the exit
 * status: 0 or 1. */
int ud_image_pull(struct ud_cli *cli, const char *spec, const struct ud_pull_opts *opts);
