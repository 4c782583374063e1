/* SPDX-License-Identifier: Apache-2.0 */
/*
 * showconf's "key = value" lines. Values print the way upstream's Python
 * prints them (True/False, None, ['a', 'b'], {'k': [...]}) so that output
 * compared by scripts stays familiar.
 */
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

/* Python repr of a string: single quotes unless it holds a ' and no ". */
static int
repr_str(struct ud_buf *b, const char *s, struct ud_error *err)
{
    char q = (strchr(s, '\'') && !strchr(s, '"')) ? '"' : '\'';
    int rc = ud_buf_append(b, &q, 1, err);
    for (const char *p = s; rc == 0 && *p; p++) {
        if (*p == q || *p == '\\')
            rc = ud_buf_append(b, "\\", 1, err);
        if (rc == 0)
            rc = ud_buf_append(b, p, 1, err);
    }
    if (rc == 0)
        rc = ud_buf_append(b, &q, 1, err);
    return rc;
}

static int
repr_strv(struct ud_buf *b, char *const *v, struct ud_error *err)
{
    int rc = ud_buf_append(b, "[", 1, err);
    for (size_t i = 0; rc == 0 && v && v[i]; i++) {
        if (i)
            rc = ud_buf_append(b, ", ", 2, err);
        if (rc == 0)
            rc = repr_str(b, v[i], err);
    }
    if (rc == 0)
        rc = ud_buf_append(b, "]", 1, err);
    return rc;
}

static int
repr_registries(struct ud_buf *b, const struct ud_conf *c, struct ud_error *err)
{
    int rc = ud_buf_append(b, "{", 1, err);
    for (size_t i = 0; rc == 0 && i < c->nregistries; i++) {
        const struct ud_conf_registry *r = &c->registries[i];
        char *v[3] = {r->registry_url, r->index_url, NULL};
        if (i)
            rc = ud_buf_append(b, ", ", 2, err);
        if (rc == 0)
            rc = repr_str(b, r->name, err);
        if (rc == 0)
            rc = ud_buf_append(b, ": ", 2, err);
        if (rc == 0)
            rc = repr_strv(b, v, err);
    }
    if (rc == 0)
        rc = ud_buf_append(b, "}", 1, err);
    return rc;
}

static int
format_value(struct ud_buf *b, const struct ud_conf *c, const struct ud_conf_key *k,
             struct ud_error *err)
{
    const char *base = (const char *)c + k->off;
    const char *s;
    switch (k->type) {
    case K_STR:
    case K_DIR:
    case K_RAW:
    case K_OPTSTR:
        s = *(char *const *)base;
        return ud_buf_appendf(b, err, "%s", s ? s : "None");
    case K_BOOL:
        return ud_buf_appendf(b, err, "%s", *(const bool *)base ? "True" : "False");
    case K_INT:
        return ud_buf_appendf(b, err, "%d", *(const int *)base);
    case K_LONG:
        return ud_buf_appendf(b, err, "%ld", *(const long *)base);
    case K_STRV:
        return repr_strv(b, *(char **const *)base, err);
    case K_REGISTRIES:
        return repr_registries(b, c, err);
    }
    return 0;
}

int
ud_conf_dump(const struct ud_conf *c, ud_conf_line_fn fn, void *ctx, struct ud_error *err)
{
    for (const struct ud_conf_key *k = ud_conf_keys; k->name; k++) {
        struct ud_buf b;
        ud_buf_init(&b, 1024 * 1024);
        int rc = ud_buf_appendf(&b, err, "%s = ", k->name);
        if (rc == 0)
            rc = format_value(&b, c, k, err);
        if (rc == 0)
            fn(b.data, ctx);
        ud_buf_fini(&b);
        if (rc)
            return rc;
    }
    return 0;
}
