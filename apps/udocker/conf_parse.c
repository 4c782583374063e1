/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsers behind conf.c: the udocker.conf INI text, list values written
 * the Python way ("['bash', '-i']") or as plain words, the
 * docker_registries map, and the showconf dump (Python-style reprs, so the
 * output looks like upstream's).
 */
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#include "conf_int.h"

const struct ud_conf_key *
ud_conf_key_find(const char *name)
{
    for (const struct ud_conf_key *k = ud_conf_keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* One quoted item starting at *p (a quote char); backslash escapes the
 * next character. Advances *p past the closing quote. */
static int
parse_quoted(const char **p, char **out, struct ud_error *err)
{
    char q = **p;
    const char *s = *p + 1;
    struct ud_buf b;
    ud_buf_init(&b, 64 * 1024);
    while (*s && *s != q) {
        if (*s == '\\' && s[1])
            s++;
        if (ud_buf_append(&b, s, 1, err)) {
            ud_buf_fini(&b);
            return err ? err->code : UD_ENOMEM;
        }
        s++;
    }
    if (*s != q) {
        ud_buf_fini(&b);
        return ud_error_set(err, UD_EINVAL, 0, "unterminated quote");
    }
    char *r = b.data ? ud_buf_steal(&b) : ud_strdup("");
    ud_buf_fini(&b);
    if (!r)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *p = s + 1;
    *out = r;
    return 0;
}

static const char *
skip_ws(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

/* "[...]" or "(...)" with quoted or bare items separated by commas,
 * starting at *p; advances *p past the closing bracket. */
static int
parse_bracketed(const char **p, char ***out, struct ud_error *err)
{
    const char *s = *p;
    char close = *s == '[' ? ']' : ')';
    cleanup_strv char **v = ud_calloc(1, sizeof(char *));
    if (!v)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    s = skip_ws(s + 1);
    while (*s && *s != close) {
        cleanup_free char *item = NULL;
        if (*s == '\'' || *s == '"') {
            int rc = parse_quoted(&s, &item, err);
            if (rc)
                return rc;
        } else {
            const char *e = s;
            while (*e && *e != ',' && *e != close)
                e++;
            const char *t = e;
            while (t > s && isspace((unsigned char)t[-1]))
                t--;
            item = ud_strndup(s, (size_t)(t - s));
            if (!item)
                return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
            s = e;
        }
        int rc = ud_strv_push(&v, item, err);
        if (rc)
            return rc;
        s = skip_ws(s);
        if (*s == ',')
            s = skip_ws(s + 1);
        else if (*s != close)
            return ud_error_set(err, UD_EINVAL, 0, "invalid list: expected ',' or '%c'", close);
    }
    if (*s != close)
        return ud_error_set(err, UD_EINVAL, 0, "invalid list: missing '%c'", close);
    *p = s + 1;
    *out = ud_steal(&v);
    return 0;
}

int
ud_conf_parse_list(const char *s, char ***out, struct ud_error *err)
{
    s = skip_ws(s);
    if (*s == '[' || *s == '(') {
        cleanup_strv char **v = NULL;
        int rc = parse_bracketed(&s, &v, err);
        if (rc)
            return rc;
        if (*skip_ws(s) != '\0')
            return ud_error_set(err, UD_EINVAL, 0, "invalid list: text after the list");
        *out = ud_steal(&v);
        return 0;
    }
    cleanup_strv char **v = ud_calloc(1, sizeof(char *));
    if (!v)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    while (*s) {
        const char *e = s;
        while (*e && !isspace((unsigned char)*e))
            e++;
        cleanup_free char *w = ud_strndup(s, (size_t)(e - s));
        if (!w)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        int rc = ud_strv_push(&v, w, err);
        if (rc)
            return rc;
        s = skip_ws(e);
    }
    *out = ud_steal(&v);
    return 0;
}

void
ud_conf_registries_free(struct ud_conf_registry *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        free(r[i].name);
        free(r[i].registry_url);
        free(r[i].index_url);
    }
    free(r);
}

/* One "name": [registry, index] entry; the value may also be a single
 * quoted URL. */
static int
parse_registry_entry(const char **p, struct ud_conf_registry *r, struct ud_error *err)
{
    const char *s = *p;
    cleanup_free char *name = NULL;
    cleanup_strv char **urls = NULL;
    if (*s != '\'' && *s != '"')
        return ud_error_set(err, UD_EINVAL, 0, "invalid registry map: expected a quoted name");
    int rc = parse_quoted(&s, &name, err);
    if (rc)
        return rc;
    s = skip_ws(s);
    if (*s != ':')
        return ud_error_set(err, UD_EINVAL, 0, "invalid registry map: expected ':'");
    s = skip_ws(s + 1);
    if (*s == '[' || *s == '(') {
        rc = parse_bracketed(&s, &urls, err);
    } else if (*s == '\'' || *s == '"') {
        cleanup_free char *u = NULL;
        rc = parse_quoted(&s, &u, err);
        if (rc == 0 && !(urls = ud_calloc(1, sizeof(char *))))
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        if (rc == 0)
            rc = ud_strv_push(&urls, u, err);
    } else {
        rc = ud_error_set(err, UD_EINVAL, 0, "invalid registry map: %s: expected a list", name);
    }
    if (rc)
        return rc;
    size_t n = ud_strv_len(urls);
    if (n < 1 || n > 2 || !urls[0][0] || !strstr(urls[0], "://"))
        return ud_error_set(err, UD_EINVAL, 0,
                            "registry %s: expected [\"registry url\", "
                            "\"index url\"]",
                            name);
    r->name = ud_steal(&name);
    r->registry_url = urls[0];
    r->index_url = n == 2 ? urls[1] : NULL;
    urls[0] = NULL; /* ownership moved; free the rest */
    if (n == 2)
        urls[1] = NULL;
    *p = s;
    return 0;
}

int
ud_conf_parse_registries(const char *s, struct ud_conf_registry **out, size_t *n,
                         struct ud_error *err)
{
    struct ud_conf_registry *r = NULL;
    size_t cnt = 0;
    int rc = 0;
    s = skip_ws(s);
    if (*s != '{')
        return ud_error_set(err, UD_EINVAL, 0,
                            "invalid registry map (expected "
                            "{'name': ['registry url', 'index url']})");
    s = skip_ws(s + 1);
    while (rc == 0 && *s && *s != '}') {
        struct ud_conf_registry *nr = ud_realloc(r, (cnt + 1) * sizeof(*r));
        if (!nr) {
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
            break;
        }
        r = nr;
        memset(&r[cnt], 0, sizeof(r[cnt]));
        rc = parse_registry_entry(&s, &r[cnt], err);
        if (rc)
            break;
        cnt++;
        s = skip_ws(s);
        if (*s == ',')
            s = skip_ws(s + 1);
        else if (*s != '}')
            rc = ud_error_set(err, UD_EINVAL, 0, "invalid registry map: expected ',' or '}'");
    }
    if (rc == 0 && (*s != '}' || *skip_ws(s + 1) != '\0'))
        rc = ud_error_set(err, UD_EINVAL, 0, "invalid registry map: missing '}'");
    if (rc) {
        ud_conf_registries_free(r, cnt);
        return rc;
    }
    *out = r;
    *n = cnt;
    return 0;
}

/* Remove one pair of matching surrounding quotes from a scalar value. */
static void
unquote(char *v)
{
    size_t l = strlen(v);
    if (l >= 2 && (v[0] == '"' || v[0] == '\'') && v[l - 1] == v[0]) {
        memmove(v, v + 1, l - 2);
        v[l - 2] = '\0';
    }
}

static char *
trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int
apply_pair(struct ud_conf *c, const char *path, int lineno, char *key, char *val,
           struct ud_error *err)
{
    for (char *p = key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    const struct ud_conf_key *k = ud_conf_key_find(key);
    if (!k) {
        ud_log(UD_LOG_DEBUG, "%s:%d: ignoring unknown key %s", path, lineno, key);
        return 0;
    }
    if (k->type != K_STRV && k->type != K_REGISTRIES && k->type != K_RAW)
        unquote(val);
    int rc = ud_conf_set(c, key, val, NULL, err);
    if (rc)
        ud_error_prefix(err, "%s:%d: ", path, lineno);
    return rc;
}

struct pending {
    char *key;
    struct ud_buf val;
    int line;
};

static int
flush_pending(struct ud_conf *c, const char *path, struct pending *p, struct ud_error *err)
{
    if (!p->key)
        return 0;
    char *v = p->val.data ? p->val.data : "";
    int rc = apply_pair(c, path, p->line, p->key, trim(v), err);
    free(p->key);
    p->key = NULL;
    ud_buf_fini(&p->val);
    return rc;
}

/* One line of the file; continuation lines (indented) extend the value. */
static int
parse_line(struct ud_conf *c, const char *path, int lineno, char *line, bool *in_default,
           struct pending *p, struct ud_error *err)
{
    bool indented = line[0] == ' ' || line[0] == '\t';
    char *t = trim(line);
    if (*t == '\0' || *t == '#' || *t == ';')
        return 0;
    if (indented && p->key) {
        if (ud_buf_append(&p->val, " ", 1, err) || ud_buf_append(&p->val, t, strlen(t), err))
            return err ? err->code : UD_ENOMEM;
        return 0;
    }
    int rc = flush_pending(c, path, p, err);
    if (rc)
        return rc;
    if (*t == '[') {
        char *e = strchr(t, ']');
        if (!e || e[1] != '\0')
            return ud_error_set(err, UD_EINVAL, 0, "%s:%d: invalid section header", path, lineno);
        *e = '\0';
        *in_default = strcmp(t + 1, "DEFAULT") == 0;
        return 0;
    }
    char *sep = strpbrk(t, "=:");
    if (!sep || sep == t)
        return ud_error_set(err, UD_EINVAL, 0, "%s:%d: expected 'key = value'", path, lineno);
    if (!*in_default)
        return 0; /* upstream reads only [DEFAULT] */
    *sep = '\0';
    p->key = ud_strdup(trim(t));
    p->line = lineno;
    ud_buf_init(&p->val, 64 * 1024);
    char *v = trim(sep + 1);
    if (!p->key || ud_buf_append(&p->val, v, strlen(v), err))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return 0;
}

int
ud_conf_parse_text(struct ud_conf *c, const char *path, const char *text, struct ud_error *err)
{
    cleanup_free char *copy = ud_strdup(text);
    if (!copy)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    /* Keys before any section header are taken as [DEFAULT]. */
    bool in_default = true;
    struct pending p = {0};
    int lineno = 0, rc = 0;
    char *save = NULL;
    for (char *line = copy; line && rc == 0; line = save) {
        save = strchr(line, '\n');
        if (save)
            *save++ = '\0';
        lineno++;
        rc = parse_line(c, path, lineno, line, &in_default, &p, err);
    }
    if (rc == 0)
        rc = flush_pending(c, path, &p, err);
    free(p.key);
    ud_buf_fini(&p.val);
    return rc;
}
