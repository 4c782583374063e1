/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the CLI: output set-up and the pure formatting functions of
 * the listing commands (ps, images, showconf), kept apart from the
 * handlers so the unit tests can check rows byte for byte.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ud/base.h"

/* Set the verbosity and route library log lines through the CLI's
 * streams. */
void ud_output_install(int level);

/* Columns of "ps" (reference 1.6). */
struct ud_ps_opts {
    bool mode;     /* -m: MOD column */
    bool size;     /* -s: SIZE column */
    bool platform; /* -p: PLATFORM column */
};

struct ud_ps_row {
    const char *id;
    bool is_protected;
    char root_state;          /* W R N D */
    const char *execmode;     /* NULL: blank */
    int64_t size_mb;          /* -1 on error */
    const char *platform;     /* NULL: unknown/unknown */
    const char *const *names; /* NULL-terminated, may be NULL */
    const char *image;        /* NULL: "" */
};

/* Header and row lines without the trailing newline; caller frees. */
char *ud_fmt_ps_header(const struct ud_ps_opts *o);
char *ud_fmt_ps_row(const struct ud_ps_opts *o, const struct ud_ps_row *r);
/* Python list repr of names: "['c1']", "['a', 'b']", "" when none. */
char *ud_fmt_pylist(const char *const *v, bool empty_as_blank);

/* "images" lines: "repo:tag    P" or, with -p, "<platform:18> P repo:tag". */
char *ud_fmt_image_row(const char *repo, const char *tag, bool is_protected,
                       const char *platform /* NULL without -p */);
/* "images -p" row of an image pulled through an index: the row above, then
 * "  [index: <platform> ...]" with what the index offers ("  [index]" when
 * it names none). */
char *ud_fmt_image_row_index(const char *repo, const char *tag, bool is_protected,
                             const char *platform, const char *const *index_platforms);
/* "images -l" blob line: "    /<name> (<N> MB)". */
char *ud_fmt_image_blob(const char *name, uint64_t mib);

/* Parse "repo[:tag]" the way local commands accept image names (first
 * colon after the last '/' splits the tag; digests "repo@sha256:..." give
 * tag "sha256:..."). Both out strings are the caller's. Prints nothing;
 * UD_EINVAL for an empty or malformed spec. */
int ud_imagespec_split(const char *spec, char **repo, char **tag, struct ud_error *err) UD_WUR;
