/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Byte-exact row formatting of the listing commands (reference 1.6), kept
 * free of I/O so that the unit tests can compare rows with upstream's:
 * ps columns, the Python list repr of container names, images lines.
 */
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>

#include "output.h"

/* One character of a Python str repr quoted with q: the quote and the
 * backslash escaped, control characters as \n \r \t or \xNN (names may
 * hold them, and a raw newline would split a ps row). */
static int
repr_char(struct ud_buf *b, char c, char q)
{
    unsigned char u = (unsigned char)c;
    if (c == q || c == '\\') {
        char e[2] = {'\\', c};
        return ud_buf_append(b, e, 2, NULL);
    }
    if (c == '\n')
        return ud_buf_append(b, "\\n", 2, NULL);
    if (c == '\r')
        return ud_buf_append(b, "\\r", 2, NULL);
    if (c == '\t')
        return ud_buf_append(b, "\\t", 2, NULL);
    if (u < 0x20 || u == 0x7f)
        return ud_buf_appendf(b, NULL, "\\x%02x", u);
    return ud_buf_append(b, &c, 1, NULL);
}

/* End a "[..." list being built in b (rc: the building so far): the text
 * (caller frees), or NULL when out of memory. */
static char *
close_list(struct ud_buf *b, int rc)
{
    if (rc == 0)
        rc = ud_buf_append(b, "]", 1, NULL);
    if (rc) {
        ud_buf_fini(b);
        return NULL;
    }
    return ud_buf_steal(b);
}

char *
ud_fmt_pylist(const char *const *v, bool empty_as_blank)
{
    struct ud_buf b;
    ud_buf_init(&b, 0);
    if (!v || !v[0])
        return ud_strdup(empty_as_blank ? "" : "[]");
    int rc = ud_buf_append(&b, "[", 1, NULL);
    for (size_t i = 0; rc == 0 && v[i]; i++) {
        /* Names cannot hold quotes or backslashes (name rules), but an
         * id or odd link might: escape like Python does. */
        char q = (strchr(v[i], '\'') && !strchr(v[i], '"')) ? '"' : '\'';
        rc = ud_buf_appendf(&b, NULL, "%s%c", i ? ", " : "", q);
        for (const char *p = v[i]; rc == 0 && *p; p++)
            rc = repr_char(&b, *p, q);
        if (rc == 0)
            rc = ud_buf_append(&b, &q, 1, NULL);
    }
    return close_list(&b, rc);
}

char *
ud_fmt_ps_header(const struct ud_ps_opts *o)
{
    return ud_asprintf("%-36.36s %c %c %s%s%s%-18s %-20s", "CONTAINER ID", 'P', 'M',
                       o->mode ? "MOD " : "", o->size ? "SIZE " : "",
                       o->platform ? "PLATFORM           " : "", "NAMES", "IMAGE");
}

char *
ud_fmt_ps_row(const struct ud_ps_opts *o, const struct ud_ps_row *r)
{
    char mode[8] = "", size[32] = "", plat[64] = "";
    if (o->mode)
        snprintf(mode, sizeof(mode), "%2.2s ", r->execmode ? r->execmode : "");
    if (o->size)
        snprintf(size, sizeof(size), "%5" PRId64 " ", r->size_mb);
    if (o->platform)
        snprintf(plat, sizeof(plat), "%-18.18s ", r->platform ? r->platform : "unknown/unknown");
    cleanup_free char *names = ud_fmt_pylist(r->names, true);
    if (!names)
        return NULL;
    return ud_asprintf("%-36.36s %c %c %s%s%s%-18s %-20s", r->id, r->is_protected ? 'P' : '.',
                       r->root_state, mode, size, plat, names, r->image ? r->image : "");
}

char *
ud_fmt_image_row(const char *repo, const char *tag, bool is_protected, const char *platform)
{
    char p = is_protected ? 'P' : '.';
    if (platform)
        return ud_asprintf("%-18.18s %c %s:%s", platform, p, repo, tag);
    return ud_asprintf("%s:%s    %c", repo, tag, p);
}

char *
ud_fmt_image_row_index(const char *repo, const char *tag, bool is_protected, const char *platform,
                       const char *const *index_platforms)
{
    cleanup_free char *row = ud_fmt_image_row(repo, tag, is_protected, platform);
    struct ud_buf b;
    if (!row)
        return NULL;
    ud_buf_init(&b, 0);
    int rc = ud_buf_appendf(&b, NULL, "%s  [index", row);
    for (size_t i = 0; rc == 0 && index_platforms && index_platforms[i]; i++)
        rc = ud_buf_appendf(&b, NULL, "%s%s", i ? " " : ": ", index_platforms[i]);
    return close_list(&b, rc);
}

char *
ud_fmt_image_blob(const char *name, uint64_t mib)
{
    return ud_asprintf("    /%s (%" PRIu64 " MB)", name, mib);
}
