/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small pieces of the spec builder: lexical path cleaning, resolving a
 * container path through binds and container symlinks the way the process
 * inside will see it, environment vectors, binds, and the image metadata
 * of container.json (reference 4.2).
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"

char *
ud_engine_path_clean(const char *p)
{
    size_t n = strlen(p);
    char *out = ud_malloc(n + 2);
    size_t o = 0;
    bool abs = p[0] == '/';

    if (out == NULL)
        return NULL;
    if (abs)
        out[o++] = '/';
    for (const char *s = p; *s;) {
        while (*s == '/')
            s++;
        const char *e = strchrnul(s, '/');
        size_t len = (size_t)(e - s);
        if (len == 0)
            break;
        if (len == 1 && s[0] == '.') {
            /* skip */
        } else if (len == 2 && s[0] == '.' && s[1] == '.') {
            size_t floor = abs ? 1 : 0;
            while (o > floor && out[o - 1] != '/')
                o--;
            if (o > floor)
                o--;
        } else {
            if (o > (abs ? 1u : 0u))
                out[o++] = '/';
            memcpy(out + o, s, len);
            o += len;
        }
        s = e;
    }
    if (o == 0)
        out[o++] = abs ? '/' : '.';
    out[o] = '\0';
    return out;
}

/* The bind backing container path c: the longest bind prefix (the later
 * of equals, as it is mounted on top), or NULL for the container root. */
static const struct ud_bind *
bind_for(const struct ud_run_spec *s, const char *c, size_t *plen)
{
    const struct ud_bind *best = NULL;
    size_t bl = 0;

    for (size_t i = 0; i < s->nbinds; i++) {
        const char *b = s->binds[i].cont;
        size_t l = strlen(b);
        if (strncmp(c, b, l) == 0 && (c[l] == '\0' || c[l] == '/') && l >= bl) {
            best = &s->binds[i];
            bl = l;
        }
    }
    *plen = bl;
    return best;
}

char *
ud_run_spec_host_path(const struct ud_run_spec *spec, const char *cont_path)
{
    size_t l = 0;
    const struct ud_bind *b = bind_for(spec, cont_path, &l);

    if (b != NULL)
        return ud_asprintf("%s%s", b->host, cont_path + l);
    if (strcmp(cont_path, "/") == 0)
        return ud_strdup(spec->root);
    return ud_asprintf("%s%s", spec->root, cont_path);
}

/* Is c a proper ancestor of some bind's container path? */
static bool
is_bind_parent(const struct ud_run_spec *s, const char *c)
{
    size_t l = strlen(c);

    for (size_t i = 0; i < s->nbinds; i++)
        if (strncmp(s->binds[i].cont, c, l) == 0 && s->binds[i].cont[l] == '/')
            return true;
    return false;
}

/* Replace *todo by "<target>/<rest>" after a symlink. */
static int
splice_link(char **todo, const char *target, const char *rest)
{
    char *n = ud_asprintf("%s/%s", target, rest);

    if (n == NULL)
        return UD_ENOMEM;
    free(*todo);
    *todo = n;
    return 0;
}

int
ud_engine_resolve(const struct ud_run_spec *spec, const char *cpath, char **host_out,
                  struct stat *st_out)
{
    cleanup_free char *todo = ud_strdup(cpath);
    cleanup_free char *cur = ud_strdup("");
    char lnk[4096];
    struct stat st;
    int links = 0;
    size_t pos = 0;

    if (todo == NULL || cur == NULL)
        return UD_ENOMEM;
    for (;;) {
        while (todo[pos] == '/')
            pos++;
        if (todo[pos] == '\0')
            break;
        const char *s = todo + pos;
        size_t len = strcspn(s, "/");
        if (len == 1 && s[0] == '.') {
            pos += len;
            continue;
        }
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            char *sl = strrchr(cur, '/');
            if (sl)
                *sl = '\0';
            pos += len;
            continue;
        }
        cleanup_free char *next = ud_asprintf("%s/%.*s", cur, (int)len, s);
        if (next == NULL)
            return UD_ENOMEM;
        cleanup_free char *host = ud_run_spec_host_path(spec, next);
        if (host == NULL)
            return UD_ENOMEM;
        size_t bl = 0;
        const struct ud_bind *b = bind_for(spec, next, &bl);
        bool bind_point = b != NULL && next[bl] == '\0';
        /* A bind's source is resolved by mount on the host side. */
        if ((bind_point ? stat(host, &st) : lstat(host, &st)) != 0) {
            /* A missing parent of a bind target: the engine makes it. */
            if (!is_bind_parent(spec, next))
                return UD_ENOENT;
            memset(&st, 0, sizeof(st));
            st.st_mode = S_IFDIR | 0755;
        }
        pos += len;
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(host, lnk, sizeof(lnk) - 1);
            if (n <= 0 || ++links > 40)
                return UD_ENOENT;
            lnk[n] = '\0';
            if (lnk[0] == '/')
                cur[0] = '\0';
            if (splice_link(&todo, lnk, todo + pos) != 0)
                return UD_ENOMEM;
            pos = 0;
            continue;
        }
        free(cur);
        cur = ud_steal(&next);
    }
    cleanup_free char *host = ud_run_spec_host_path(spec, cur[0] ? cur : "/");
    if (host == NULL)
        return UD_ENOMEM;
    if (stat(host, &st) != 0) {
        if (!is_bind_parent(spec, cur))
            return UD_ENOENT;
        memset(&st, 0, sizeof(st));
        st.st_mode = S_IFDIR | 0755;
    }
    if (st_out)
        *st_out = st;
    if (host_out)
        *host_out = ud_steal(&host);
    return 0;
}

const char *
ud_env_get(char *const *env, const char *key)
{
    size_t kl = strlen(key);

    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], key, kl) == 0 && env[i][kl] == '=')
            return env[i] + kl + 1;
    return NULL;
}

int
ud_env_set(char ***env, const char *key, const char *val, bool overwrite, struct ud_error *err)
{
    size_t kl = strlen(key);
    char *kv;

    for (size_t i = 0; *env && (*env)[i]; i++) {
        if (strncmp((*env)[i], key, kl) != 0 || (*env)[i][kl] != '=')
            continue;
        if (!overwrite)
            return 0;
        kv = ud_asprintf("%s=%s", key, val);
        if (kv == NULL)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        free((*env)[i]);
        (*env)[i] = kv;
        return 0;
    }
    kv = ud_asprintf("%s=%s", key, val);
    if (kv == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    int rc = ud_strv_push(env, kv, err);
    free(kv);
    return rc;
}

bool
ud_env_key_ok(const char *k, size_t len)
{
    if (len == 0 || (k[0] >= '0' && k[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++)
        if (k[i] == ' ' || k[i] == '\t' || k[i] == '=' || k[i] == '\0')
            return false;
    return true;
}

int
ud_spec_bind_add(struct ud_run_spec *s, const char *host, const char *cont, unsigned flags,
                 struct ud_error *err)
{
    struct ud_bind *v = ud_realloc(s->binds, (s->nbinds + 1) * sizeof(*v));

    if (v == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    s->binds = v;
    v[s->nbinds].host = ud_strdup(host);
    v[s->nbinds].cont = ud_strdup(cont);
    v[s->nbinds].flags = flags;
    if (v[s->nbinds].host == NULL || v[s->nbinds].cont == NULL) {
        free(v[s->nbinds].host);
        free(v[s->nbinds].cont);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    s->nbinds++;
    return 0;
}

struct ud_bind *
ud_spec_bind_find(const struct ud_run_spec *s, const char *cont)
{
    for (size_t i = 0; i < s->nbinds; i++)
        if (strcmp(s->binds[i].cont, cont) == 0)
            return &s->binds[i];
    return NULL;
}

/* ---- container.json ---- */

/* Key K of the config object, then container_config, then the top level;
 * each tried as given and in lower case (reference 4.2). */
static json_t *
meta_get(json_t *root, const char *key)
{
    const char *objs[] = {"config", "container_config", NULL};
    char lower[32];
    size_t i;

    for (i = 0; key[i] && i + 1 < sizeof(lower); i++)
        lower[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
    lower[i] = '\0';
    for (size_t k = 0; k < 3; k++) {
        json_t *o = objs[k] ? json_object_get(root, objs[k]) : root;
        if (!json_is_object(o))
            continue;
        json_t *v = json_object_get(o, key);
        if (v == NULL || json_is_null(v))
            v = json_object_get(o, lower);
        if (v != NULL && !json_is_null(v))
            return v;
    }
    return NULL;
}

/* A list value: a JSON list of strings, or a string split on whitespace,
 * or an object's "k:v" items. *out NULL when absent. */
static int
meta_list(json_t *root, const char *key, char ***out, struct ud_error *err)
{
    json_t *v = meta_get(root, key);
    cleanup_strv char **l = NULL;

    *out = NULL;
    if (v == NULL)
        return 0;
    if (!(l = ud_calloc(1, sizeof(char *))))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        while (*s) {
            s += strspn(s, " \t\n");
            size_t n = strcspn(s, " \t\n");
            if (n == 0)
                break;
            cleanup_free char *w = ud_strndup(s, n);
            if (w == NULL || ud_strv_push(&l, w, err) != 0)
                return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
            s += n;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            const char *s = json_string_value(e);
            if (s != NULL && ud_strv_push(&l, s, err) != 0)
                return UD_ENOMEM;
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            if (ud_strv_push(&l, k, err) != 0)
                return UD_ENOMEM;
        }
    }
    *out = ud_steal(&l);
    return 0;
}

/* A string value; a list is joined with spaces. */
static int
meta_str(json_t *root, const char *key, char **out, struct ud_error *err)
{
    json_t *v = meta_get(root, key);
    struct ud_buf b;

    *out = NULL;
    if (v == NULL)
        return 0;
    if (json_is_string(v)) {
        if (!(*out = ud_strdup(json_string_value(v))))
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        return 0;
    }
    if (!json_is_array(v))
        return 0;
    ud_buf_init(&b, 0);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        if (s && ud_buf_appendf(&b, err, "%s%s", b.len ? " " : "", s) != 0) {
            ud_buf_fini(&b);
            return UD_ENOMEM;
        }
    }
    *out = ud_buf_steal(&b);
    return *out ? 0 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
}

int
ud_meta_parse(const char *json, size_t len, struct ud_meta *m, struct ud_error *err)
{
    json_error_t je;
    json_t *root;
    int rc;

    memset(m, 0, sizeof(*m));
    if (json == NULL || len == 0)
        return 0;
    root = json_loadb(json, len, 0, &je);
    if (root == NULL) {
        /* jansson reports some allocation failures as syntax errors (a
         * string it could not copy): a parse error while memory is
         * exhausted is reported as what it most likely is. */
        void *probe = ud_malloc(64);
        free(probe);
        if (json_error_code(&je) == json_error_out_of_memory || probe == NULL)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        return ud_error_set(err, UD_EPARSE, 0, "container metadata: %s", je.text);
    }
    if ((rc = meta_str(root, "User", &m->user, err)) == 0 &&
        (rc = meta_str(root, "WorkingDir", &m->workdir, err)) == 0 &&
        (rc = meta_str(root, "Hostname", &m->hostname, err)) == 0 &&
        (rc = meta_list(root, "Entrypoint", &m->entrypoint, err)) == 0 &&
        (rc = meta_list(root, "Cmd", &m->cmd, err)) == 0 &&
        (rc = meta_list(root, "Env", &m->env, err)) == 0)
        rc = meta_list(root, "ExposedPorts", &m->ports, err);
    json_decref(root);
    if (rc != 0) {
        ud_meta_fini(m);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    return 0;
}

void
ud_meta_fini(struct ud_meta *m)
{
    free(m->user);
    free(m->workdir);
    free(m->hostname);
    ud_strv_free(m->entrypoint);
    ud_strv_free(m->cmd);
    ud_strv_free(m->env);
    ud_strv_free(m->ports);
    memset(m, 0, sizeof(*m));
}
