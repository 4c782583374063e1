/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What runs and where (reference 6.6): the --entrypoint cases, the image
 * Entrypoint and Cmd, the default command, argv[0] found in the container
 * through PATH, binds and symlinks before anything starts, and the
 * working directory, which must exist.
 */
#include <string.h>

#include "engine_int.h"

/* Python's repr of a list of strings, as upstream prints argv. */
static char *
list_repr(char *const *v)
{
    struct ud_buf b;
    int rc = 0;

    ud_buf_init(&b, 4096);
    rc = ud_buf_append(&b, "[", 1, NULL);
    for (size_t i = 0; rc == 0 && v && v[i]; i++)
        rc = ud_buf_appendf(&b, NULL, "%s'%s'", i ? ", " : "", v[i]);
    if (rc == 0)
        rc = ud_buf_append(&b, "]", 1, NULL);
    if (rc == 0)
        return ud_buf_steal(&b);
    /* Too long for a message: the first word is what matters. */
    ud_buf_fini(&b);
    return v && v[0] ? ud_asprintf("['%.200s', ...]", v[0]) : ud_strdup("[]");
}

static int
push_all(char ***dst, char *const *src, size_t n, struct ud_error *err)
{
    for (size_t i = 0; src && (n == (size_t)-1 ? src[i] != NULL : i < n); i++)
        if (ud_strv_push(dst, src[i], err) != 0)
            return UD_ENOMEM;
    return 0;
}

/* --entrypoint="a b": words split on spaces (empty words dropped). */
static int
push_split(char ***dst, const char *s, struct ud_error *err)
{
    while (*s) {
        s += strspn(s, " ");
        size_t n = strcspn(s, " ");
        if (n == 0)
            break;
        cleanup_free char *w = ud_strndup(s, n);
        if (w == NULL || ud_strv_push(dst, w, err) != 0)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        s += n;
    }
    return 0;
}

static bool
is_exec(const struct stat *st)
{
    return S_ISREG(st->st_mode) && (st->st_mode & 0111) != 0;
}

/* Container path of argv0 if it names an executable regular file. */
static int
try_exe(const struct ud_run_spec *s, const char *dir, const char *a0, char **out)
{
    cleanup_free char *j = dir ? ud_asprintf("%s/%s", dir, a0) : ud_strdup(a0);
    cleanup_free char *c = j ? ud_engine_path_clean(j) : NULL;
    struct stat st;
    int rc;

    if (c == NULL)
        return UD_ENOMEM;
    rc = ud_engine_resolve(s, c, NULL, &st);
    if (rc != 0)
        return rc;
    if (!is_exec(&st))
        return UD_ENOENT;
    *out = ud_steal(&c);
    return 0;
}

static int
find_exe(struct ud_run_spec *s, struct ud_error *err)
{
    const char *a0 = s->argv[0];
    const char *path = ud_env_get(s->env, "PATH");
    int rc = UD_ENOENT;

    if (a0[0] == '/')
        rc = try_exe(s, NULL, a0, &s->exe);
    else if (strchr(a0, '/') != NULL)
        rc = try_exe(s, s->cwd, a0, &s->exe);
    else if (a0[0] != '\0') {
        for (const char *p = path ? path : ""; *p && rc == UD_ENOENT;) {
            const char *e = strchrnul(p, ':');
            cleanup_free char *dir = ud_strndup(p, (size_t)(e - p));
            if (dir == NULL)
                return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
            /* An empty PATH entry means the working directory. */
            rc = try_exe(s, dir[0] == '/' ? dir : s->cwd, a0, &s->exe);
            p = *e ? e + 1 : e;
        }
    }
    if (rc == UD_ENOMEM)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc != 0) {
        cleanup_free char *r = list_repr(s->argv);
        return ud_error_set(err, UD_ENOENT, 0, "command not found or has no execute bit set: %s",
                            r ? r : a0);
    }
    return 0;
}

int
ud_spec_argv(struct ud_run_spec *s, const struct ud_run_opts *o, const struct ud_run_defaults *d,
             const struct ud_meta *m, struct ud_error *err)
{
    cleanup_strv char **argv = NULL;
    int rc = 0;

    if (o->entrypoint == NULL) {
        rc = push_all(&argv, m->entrypoint, (size_t)-1, err);
        if (rc == 0)
            rc = o->ncmd ? push_all(&argv, o->cmd, o->ncmd, err)
                         : push_all(&argv, m->cmd, (size_t)-1, err);
    } else {
        /* An explicit entrypoint, even "", drops the image Cmd too. */
        rc = push_split(&argv, o->entrypoint, err);
        if (rc == 0)
            rc = push_all(&argv, o->cmd, o->ncmd, err);
    }
    if (rc != 0)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (argv == NULL || argv[0] == NULL) {
        static const char *const bash_i[] = {"bash", "-i", NULL};
        const char *const *def = d && d->cmd && d->cmd[0] ? d->cmd : bash_i;
        if (push_all(&argv, (char *const *)def, (size_t)-1, err) != 0)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        cleanup_free char *r = list_repr(argv);
        ud_log(UD_LOG_WARN, "no command assuming: %s", r ? r : argv[0]);
    }
    s->argv = ud_steal(&argv);
    return find_exe(s, err);
}

int
ud_spec_cwd(struct ud_run_spec *s, const struct ud_run_opts *o, const struct ud_meta *m,
            struct ud_error *err)
{
    const char *w = o->workdir && o->workdir[0]   ? o->workdir
                    : m->workdir && m->workdir[0] ? m->workdir
                                                  : s->home;
    struct stat st;
    int rc;

    if (w == NULL || w[0] != '/')
        return ud_error_set(err, UD_EINVAL, 0, "invalid working directory: %s", w ? w : "");
    s->cwd = ud_engine_path_clean(w);
    if (s->cwd == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    rc = ud_engine_resolve(s, s->cwd, NULL, &st);
    if (rc == UD_ENOMEM)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc != 0 || !S_ISDIR(st.st_mode))
        return ud_error_set(err, UD_EINVAL, 0, "invalid working directory: %s", w);
    return 0;
}
