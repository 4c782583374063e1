/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The run spec, built once from the command line, the image config and the
 * container's metadata and consumed by every engine. The steps run in the
 * order their inputs need: binds (the user lookup reads through them),
 * user, environment (PATH decides the executable), working directory,
 * argv and the executable, ports.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"

extern char **environ;

static int
copy_names(struct ud_run_spec *s, char *const *names, struct ud_error *err)
{
    s->names = ud_calloc(1, sizeof(char *));
    if (s->names == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; names && names[i]; i++)
        if (ud_strv_push(&s->names, names[i], err) != 0)
            return UD_ENOMEM;
    return 0;
}

static int
spec_base(struct ud_run_spec *s, const struct ud_run_opts *o, const char *id, const char *cdir,
          const char *root, char *const *names, const char mode[3], const struct ud_meta *m,
          struct ud_error *err)
{
    memcpy(s->mode, mode, 2);
    s->mode[2] = '\0';
    s->id = ud_strdup(id ? id : "");
    s->root = ud_strdup(root);
    s->cdir = cdir ? ud_strdup(cdir) : NULL;
    s->kernel = o->kernel ? ud_strdup(o->kernel) : NULL;
    s->cpuset = o->cpuset ? ud_strdup(o->cpuset) : NULL;
    s->hostname = m->hostname && strchr(m->hostname, '.') ? ud_strdup(m->hostname) : NULL;
    if (!s->id || !s->root || (cdir && !s->cdir) || (o->kernel && !s->kernel) ||
        (o->cpuset && !s->cpuset) || (m->hostname && strchr(m->hostname, '.') && !s->hostname))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    s->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    s->debug = ud_log_enabled(UD_LOG_DEBUG) ? 1 : 0;
    return copy_names(s, names, err);
}

int
ud_run_spec_build(const struct ud_run_opts *opts, const struct ud_host_ident *host,
                  const struct ud_run_defaults *defs, const char *id, const char *cdir,
                  const char *root, char *const *names, const char mode[3], const char *config_json,
                  size_t config_len, struct ud_run_spec **out, struct ud_error *err)
{
    struct ud_meta m;
    struct ud_run_spec *s;
    bool nometa = opts->nometa || opts->location != NULL;
    int rc;

    if (root == NULL || root[0] != '/')
        return ud_error_set(err, UD_EINVAL, 0, "invalid container root: %s", root ? root : "");
    rc = ud_meta_parse(nometa ? NULL : config_json, nometa ? 0 : config_len, &m, err);
    if (rc != 0)
        return rc;
    s = ud_calloc(1, sizeof(*s));
    if (s == NULL) {
        ud_meta_fini(&m);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    if ((rc = spec_base(s, opts, id, cdir, root, names, mode, &m, err)) == 0 &&
        (rc = ud_spec_binds(s, opts, host, defs, err)) == 0 &&
        (rc = ud_spec_user(s, opts, host, defs, &m, err)) == 0 &&
        (rc = ud_spec_env(s, opts, host, defs, &m, err)) == 0 &&
        (rc = ud_spec_cwd(s, opts, &m, err)) == 0 &&
        (rc = ud_spec_argv(s, opts, defs, &m, err)) == 0)
        rc = ud_spec_ports(s, opts, err);
    if (rc == 0) {
        s->exposed = m.ports ? m.ports : ud_calloc(1, sizeof(char *));
        m.ports = NULL;
        if (s->exposed == NULL)
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    ud_meta_fini(&m);
    if (rc != 0) {
        ud_run_spec_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void
ud_run_spec_free(struct ud_run_spec *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nbinds; i++) {
        if (s->binds[i].flags & UD_BIND_GENERATED)
            unlink(s->binds[i].host);
        free(s->binds[i].host);
        free(s->binds[i].cont);
    }
    free(s->binds);
    for (size_t i = 0; i < s->nports; i++)
        free(s->ports[i].ip);
    free(s->ports);
    free(s->id);
    free(s->root);
    free(s->cdir);
    ud_strv_free(s->names);
    free(s->hostname);
    ud_strv_free(s->argv);
    free(s->exe);
    ud_strv_free(s->env);
    free(s->cwd);
    free(s->user);
    free(s->home);
    free(s->shell);
    ud_strv_free(s->devices);
    free(s->kernel);
    free(s->cpuset);
    ud_strv_free(s->exposed);
    free(s);
}

int
ud_host_ident_current(struct ud_host_ident *out, struct ud_error *err)
{
    struct ud_host_ident h = {0};
    struct passwd *pw;
    cleanup_free gid_t *groups = NULL;
    int n;

    h.uid = getuid();
    h.gid = getgid();
    /* getpwuid may read NSS modules; $USER and $HOME are what the user
     * set and what upstream uses, so ask NSS only when they are missing. */
    const char *u = getenv("USER");
    const char *home = getenv("HOME");
    char *ustr = NULL, *hstr = NULL;
    if (u == NULL || u[0] == '\0' || home == NULL || home[0] == '\0') {
        pw = getpwuid(h.uid);
        if (u == NULL || u[0] == '\0')
            u = pw ? pw->pw_name : "";
        if (home == NULL || home[0] == '\0')
            home = pw ? pw->pw_dir : "/";
    }
    ustr = ud_strdup(u);
    hstr = ud_strdup(home);
    n = getgroups(0, NULL);
    groups = ud_calloc(n > 0 ? (size_t)n : 1, sizeof(gid_t));
    if (!ustr || !hstr || !groups) {
        free(ustr);
        free(hstr);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    if (n > 0)
        n = getgroups(n, groups);
    h.user = ustr;
    h.home = hstr;
    h.groups = ud_steal(&groups);
    h.ngroups = n > 0 ? (size_t)n : 0;
    h.environ = environ;
    h.passwd_file = "/etc/passwd";
    h.group_file = "/etc/group";
    *out = h;
    return 0;
}

void
ud_host_ident_fini(struct ud_host_ident *h)
{
    if (h == NULL)
        return;
    free((char *)h->user);
    free((char *)h->home);
    free((gid_t *)h->groups);
    memset(h, 0, sizeof(*h));
}
