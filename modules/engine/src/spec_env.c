/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The environment of the process (reference 6.4): -e, then the image Env,
 * then --env-file lines, then HOME; the fixed variables; PATH by uid; and
 * the allowed host variables (all of them with --hostenv) where absent.
 */
#include <string.h>

#include "engine_int.h"

#define ENVFILE_MAX (4u * 1024 * 1024)

/* Host variables passed when absent, and the ones never passed. */
static const char *const host_allowed[] = {"TERM", "PATH", "PROOT_TMP_DIR", NULL};
static const char *const host_denied[] = {"VTE_VERSION", NULL};

/* "K=V" sets K when not yet set; a bare "K" copies the host value. */
static int
env_add(char ***env, const char *item, size_t len, const struct ud_host_ident *h, bool check_key,
        struct ud_error *err)
{
    const char *eq = memchr(item, '=', len);
    size_t kl = eq ? (size_t)(eq - item) : len;
    cleanup_free char *k = ud_strndup(item, kl);
    cleanup_free char *v = NULL;

    if (k == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (kl == 0 || (check_key && !ud_env_key_ok(item, kl)))
        return 0;
    if (eq) {
        v = ud_strndup(eq + 1, len - kl - 1);
        if (v == NULL)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    } else {
        const char *hv = ud_env_get(h->environ, k);
        if (hv == NULL)
            return 0;
        if (!(v = ud_strdup(hv)))
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    return ud_env_set(env, k, v, false, err);
}

/* One --env-file: a K=V (or bare K) per line; no comments; invalid keys
 * skipped (reference 6.1). */
static int
env_file(char ***env, const char *path, const struct ud_host_ident *h, struct ud_error *err)
{
    cleanup_free char *text = NULL;
    size_t len = 0;
    int rc = ud_file_read(path, ENVFILE_MAX, &text, &len, err);

    if (rc != 0) {
        if (rc == UD_ENOMEM)
            return rc;
        return ud_error_set(err, rc == UD_ETOOBIG ? rc : UD_ENOENT, 0, "invalid env file: %s",
                            path);
    }
    for (const char *l = text; *l;) {
        const char *nl = strchrnul(l, '\n');
        const char *a = l, *b = nl;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
            b--;
        if (b > a && (rc = env_add(env, a, (size_t)(b - a), h, true, err)) != 0)
            return rc;
        l = *nl ? nl + 1 : nl;
    }
    return 0;
}

static bool
in_list(const char *const *l, const char *kv)
{
    size_t kl = strcspn(kv, "=");
    for (size_t i = 0; l[i]; i++)
        if (strlen(l[i]) == kl && strncmp(l[i], kv, kl) == 0)
            return true;
    return false;
}

/* container_names=a,b */
static int
names_var(char ***env, char *const *names, struct ud_error *err)
{
    struct ud_buf b;
    int rc = 0;

    ud_buf_init(&b, 0);
    for (size_t i = 0; names && names[i] && rc == 0; i++)
        rc = ud_buf_appendf(&b, err, "%s%s", i ? "," : "", names[i]);
    if (rc == 0)
        rc = ud_env_set(env, "container_names", b.data ? b.data : "", true, err);
    ud_buf_fini(&b);
    return rc;
}

static int
fixed_vars(struct ud_run_spec *s, const struct ud_host_ident *h, char ***env, struct ud_error *err)
{
    char ps1[32];
    int rc;

    snprintf(ps1, sizeof(ps1), s->uid == 0 ? "%.8s# " : "%.8s\\$ ", s->id);
    if ((rc = ud_env_set(env, "USER", s->user, true, err)) ||
        (rc = ud_env_set(env, "LOGNAME", s->user, true, err)) ||
        (rc = ud_env_set(env, "USERNAME", s->user, true, err)) ||
        (rc = ud_env_set(env, "PS1", ps1, true, err)) ||
        (rc = ud_env_set(env, "SHLVL", "0", true, err)) ||
        (rc = ud_env_set(env, "container_ruser", h->user ? h->user : "", true, err)) ||
        (rc = ud_env_set(env, "container_root", s->root, true, err)) ||
        (rc = ud_env_set(env, "container_uuid", s->id, true, err)) ||
        (rc = ud_env_set(env, "container_execmode", s->mode, true, err)))
        return rc;
    return names_var(env, s->names, err);
}

int
ud_spec_env(struct ud_run_spec *s, const struct ud_run_opts *o, const struct ud_host_ident *h,
            const struct ud_run_defaults *d, const struct ud_meta *m, struct ud_error *err)
{
    cleanup_strv char **env = ud_calloc(1, sizeof(char *));
    int rc;

    if (env == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < o->nenv; i++)
        if ((rc = env_add(&env, o->env[i], strlen(o->env[i]), h, false, err)) != 0)
            return rc;
    for (size_t i = 0; m->env && m->env[i]; i++)
        if ((rc = env_add(&env, m->env[i], strlen(m->env[i]), h, false, err)) != 0)
            return rc;
    for (size_t i = 0; i < o->nenv_files; i++)
        if ((rc = env_file(&env, o->env_files[i], h, err)) != 0)
            return rc;
    if ((rc = ud_env_set(&env, "HOME", s->home, false, err)) || (rc = fixed_vars(s, h, &env, err)))
        return rc;
    const char *path =
        s->uid == 0
            ? (d && d->root_path ? d->root_path : "/usr/sbin:/sbin:/usr/bin:/bin")
            : (d && d->user_path ? d->user_path : "/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin");
    if ((rc = ud_env_set(&env, "PATH", path, false, err)))
        return rc;
    for (size_t i = 0; h->environ && h->environ[i]; i++) {
        const char *kv = h->environ[i];
        size_t kl = strcspn(kv, "=");
        if (kv[kl] != '=' || kl == 0 || in_list(host_denied, kv))
            continue;
        if (!o->hostenv && !in_list(host_allowed, kv))
            continue;
        cleanup_free char *k = ud_strndup(kv, kl);
        if (k == NULL || (rc = ud_env_set(&env, k, kv + kl + 1, false, err)))
            return k ? rc : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    s->env = ud_steal(&env);
    return 0;
}
