/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration loading: defaults, udocker.conf files, UDOCKER_* variables
 * (reference 2.7). Unlike upstream, values are typed and checked (a
 * boolean "False" is false) and never interpolated ("%(x)s" is literal).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"

#define CONF_FILE_MAX (1024 * 1024)

/* Bits of ud_conf.explicit_dirs. */
enum { DIR_BIN = 1, DIR_LIB = 2, DIR_DOC = 4, DIR_REPOS = 8, DIR_LAYERS = 16, DIR_CONT = 32 };

#define OFF(f) offsetof(struct ud_conf, f)

/* The keys this implementation knows, in showconf order. */
const struct ud_conf_key ud_conf_keys[] = {
    {"verbose_level", K_INT, OFF(verbose_level), "UDOCKER_LOGLEVEL", 0},
    {"topdir", K_DIR, OFF(topdir), "UDOCKER_DIR", 0},
    {"bindir", K_DIR, OFF(bindir), "UDOCKER_BIN", DIR_BIN},
    {"libdir", K_DIR, OFF(libdir), "UDOCKER_LIB", DIR_LIB},
    {"docdir", K_DIR, OFF(docdir), "UDOCKER_DOC", DIR_DOC},
    {"reposdir", K_DIR, OFF(reposdir), "UDOCKER_REPOS", DIR_REPOS},
    {"layersdir", K_DIR, OFF(layersdir), "UDOCKER_LAYERS", DIR_LAYERS},
    {"containersdir", K_DIR, OFF(containersdir), "UDOCKER_CONTAINERS", DIR_CONT},
    {"homedir", K_DIR, OFF(homedir), NULL, 0},
    {"keystore", K_STR, OFF(keystore), "UDOCKER_KEYSTORE", 0},
    {"tmpdir", K_DIR, OFF(tmpdir), "UDOCKER_TMP", 0},
    {"tarball", K_STR, OFF(tarball), "UDOCKER_TARBALL", 0},
    {"tarball_release", K_STR, OFF(tarball_release), NULL, 0},
    {"autoinstall", K_BOOL, OFF(autoinstall), NULL, 0},
    {"installretry", K_LONG, OFF(installretry), NULL, 0},
    {"dockerio_index_url", K_STR, OFF(dockerio_index_url), "UDOCKER_INDEX", 0},
    {"dockerio_registry_url", K_STR, OFF(dockerio_registry_url), "UDOCKER_REGISTRY", 0},
    {"docker_registries", K_REGISTRIES, OFF(registries), NULL, 0},
    {"http_proxy", K_STR, OFF(http_proxy), NULL, 0},
    {"http_insecure", K_BOOL, OFF(http_insecure), NULL, 0},
    {"http_agent", K_STR, OFF(http_agent), NULL, 0},
    {"timeout", K_LONG, OFF(timeout), NULL, 0},
    {"download_timeout", K_LONG, OFF(download_timeout), NULL, 0},
    {"ctimeout", K_LONG, OFF(ctimeout), NULL, 0},
    {"max_download_connections", K_LONG, OFF(max_download_connections), "UDOCKER_MAX_CONNECTIONS",
     0},
    {"ca_bundle", K_STR, OFF(ca_bundle), "UDOCKER_CA_BUNDLE", 0},
    {"registry_mirrors", K_STRV, OFF(registry_mirrors), "UDOCKER_REGISTRY_MIRRORS", 0},
    {"override_default_execution_mode", K_STR, OFF(override_default_execution_mode),
     "UDOCKER_DEFAULT_EXECUTION_MODE", 0},
    {"default_execution_modes", K_RAW, OFF(default_execution_modes), NULL, 0},
    {"cmd", K_STRV, OFF(cmd), NULL, 0},
    {"sysdirs_list", K_STRV, OFF(sysdirs_list), NULL, 0},
    {"root_path", K_STR, OFF(root_path), NULL, 0},
    {"user_path", K_STR, OFF(user_path), NULL, 0},
    {"fakechroot_so", K_OPTSTR, OFF(fakechroot_so), "UDOCKER_FAKECHROOT_SO", 0},
    {"fakechroot_libc", K_OPTSTR, OFF(fakechroot_libc), "UDOCKER_FAKECHROOT_LIBC", 0},
    {"use_proot_executable", K_STR, OFF(use_proot_executable), "UDOCKER_USE_PROOT_EXECUTABLE", 0},
    {"use_runc_executable", K_STR, OFF(use_runc_executable), "UDOCKER_USE_RUNC_EXECUTABLE", 0},
    {"use_singularity_executable", K_STR, OFF(use_singularity_executable),
     "UDOCKER_USE_SINGULARITY_EXECUTABLE", 0},
    {"use_patchelf_executable", K_STR, OFF(use_patchelf_executable),
     "UDOCKER_USE_PATCHELF_EXECUTABLE", 0},
    {"use_curl_executable", K_STR, OFF(use_curl_executable), "UDOCKER_USE_CURL_EXECUTABLE", 0},
    {NULL, 0, 0, NULL, 0},
};

static char **
field_str(struct ud_conf *c, const struct ud_conf_key *k)
{
    return (char **)((char *)c + k->off);
}

void
ud_conf_fini(struct ud_conf *c)
{
    if (!c)
        return;
    for (const struct ud_conf_key *k = ud_conf_keys; k->name; k++) {
        if (k->type == K_STR || k->type == K_DIR || k->type == K_OPTSTR || k->type == K_RAW)
            free(*field_str(c, k));
        else if (k->type == K_STRV)
            ud_strv_free(*(char ***)((char *)c + k->off));
    }
    ud_conf_registries_free(c->registries, c->nregistries);
    memset(c, 0, sizeof(*c));
}

static int
set_str(char **field, const char *v, struct ud_error *err)
{
    char *d = NULL;
    if (v) {
        d = ud_strdup(v);
        if (!d)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    free(*field);
    *field = d;
    return 0;
}

int
ud_conf_parse_bool(const char *s, bool *out, struct ud_error *err)
{
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};
    for (size_t i = 0; yes[i]; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return ud_error_set(err, UD_EINVAL, 0, "invalid boolean: '%s'", s);
}

static int
parse_long(const char *s, long min, long max, long *out, struct ud_error *err)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        return ud_error_set(err, UD_EINVAL, 0, "invalid number: '%s'", s);
    *out = v;
    return 0;
}

/* Home directory: $HOME, else the password database. */
static const char *
home_dir(void)
{
    const char *h = getenv("HOME");
    if (h && h[0] == '/')
        return h;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : "/";
}

/* A directory value: "~" and "~/x" expand to the home directory and a
 * relative path is made absolute against the current directory. */
static int
set_dir(char **field, const char *v, struct ud_error *err)
{
    char *exp = NULL;
    if (v[0] == '\0')
        return ud_error_set(err, UD_EINVAL, 0, "empty directory");
    if (v[0] == '~' && (v[1] == '/' || v[1] == '\0'))
        exp = ud_asprintf("%s%s", home_dir(), v + 1);
    else
        exp = ud_strdup(v);
    if (!exp)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    char *abs = NULL;
    int rc = ud_path_absolute(exp, &abs, err);
    free(exp);
    if (rc)
        return rc;
    free(*field);
    *field = abs;
    return 0;
}

int
ud_conf_set(struct ud_conf *c, const char *key, const char *value, bool *known,
            struct ud_error *err)
{
    const struct ud_conf_key *k = ud_conf_key_find(key);
    if (known)
        *known = k != NULL;
    if (!k)
        return 0;
    int rc = 0;
    long lv = 0;
    bool bv = false;
    switch (k->type) {
    case K_STR:
    case K_RAW:
        rc = set_str(field_str(c, k), value, err);
        break;
    case K_OPTSTR:
        rc = set_str(field_str(c, k), (value[0] && strcmp(value, "None")) ? value : NULL, err);
        break;
    case K_DIR:
        rc = set_dir(field_str(c, k), value, err);
        if (rc == 0)
            c->explicit_dirs |= k->dirbit;
        break;
    case K_BOOL:
        rc = ud_conf_parse_bool(value, &bv, err);
        if (rc == 0)
            *(bool *)((char *)c + k->off) = bv;
        break;
    case K_INT:
        rc = parse_long(value, UD_LOG_ERROR, UD_LOG_DEBUG, &lv, err);
        if (rc == 0)
            *(int *)((char *)c + k->off) = (int)lv;
        break;
    case K_LONG:
        rc = parse_long(value, 0, LONG_MAX, &lv, err);
        if (rc == 0)
            *(long *)((char *)c + k->off) = lv;
        break;
    case K_STRV: {
        char **v = NULL;
        rc = ud_conf_parse_list(value, &v, err);
        if (rc == 0) {
            char ***f = (char ***)((char *)c + k->off);
            ud_strv_free(*f);
            *f = v;
        }
        break;
    }
    case K_REGISTRIES: {
        struct ud_conf_registry *r = NULL;
        size_t n = 0;
        rc = ud_conf_parse_registries(value, &r, &n, err);
        if (rc == 0) {
            ud_conf_registries_free(c->registries, c->nregistries);
            c->registries = r;
            c->nregistries = n;
        }
        break;
    }
    }
    if (rc)
        ud_error_prefix(err, "%s: ", key);
    return rc;
}

/* Derive <topdir>/<sub> for every directory not set explicitly. */
static int
derive_dirs(struct ud_conf *c, struct ud_error *err)
{
    static const struct {
        unsigned bit;
        size_t off;
        const char *sub;
    } d[] = {
        {DIR_BIN, OFF(bindir), "bin"},          {DIR_LIB, OFF(libdir), "lib"},
        {DIR_DOC, OFF(docdir), "doc"},          {DIR_REPOS, OFF(reposdir), "repos"},
        {DIR_LAYERS, OFF(layersdir), "layers"}, {DIR_CONT, OFF(containersdir), "containers"},
    };
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        if (c->explicit_dirs & d[i].bit)
            continue;
        char *p = ud_path_join(c->topdir, d[i].sub);
        if (!p)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        char **f = (char **)((char *)c + d[i].off);
        free(*f);
        *f = p;
    }
    return 0;
}

int
ud_conf_set_topdir(struct ud_conf *c, const char *dir, struct ud_error *err)
{
    int rc = set_dir(&c->topdir, dir, err);
    if (rc)
        return rc;
    return derive_dirs(c, err);
}

int
ud_conf_apply_cli(struct ud_conf *c, int verbosity, bool insecure, const char *repo,
                  struct ud_error *err)
{
    if (verbosity >= UD_LOG_ERROR && verbosity <= UD_LOG_DEBUG)
        c->verbose_level = verbosity;
    if (insecure)
        c->http_insecure = true;
    return repo ? ud_conf_set_topdir(c, repo, err) : 0;
}

const struct ud_conf_registry *
ud_conf_registry_find(const struct ud_conf *c, const char *name)
{
    for (size_t i = 0; i < c->nregistries; i++)
        if (strcmp(c->registries[i].name, name) == 0)
            return &c->registries[i];
    return NULL;
}

/* Defaults (reference 2.7), with two additions: max_download_connections
 * and ca_bundle. tarball is empty: engines are built from this tree. */
static int
set_defaults(struct ud_conf *c, struct ud_error *err)
{
    static const struct {
        const char *k, *v;
    } defs[] = {
        {"keystore", "keystore"},
        {"tarball", ""},
        {"tarball_release", UD_VERSION},
        {"dockerio_index_url", "https://hub.docker.com"},
        {"dockerio_registry_url", "https://registry-1.docker.io"},
        {"docker_registries",
         "{\"docker.io\": [\"https://registry-1.docker.io\", \"https://hub.docker.com\"]}"},
        {"http_proxy", ""},
        {"http_agent", ""},
        {"ca_bundle", ""},
        {"override_default_execution_mode", ""},
        {"default_execution_modes", "{'x86_64': 'P1', 'x86': 'P1', 'arm64': 'P1', "
                                    "'arm': 'P2', 'ppc64le': 'R1', 'DEFAULT': 'R1'}"},
        {"cmd", "['bash', '-i']"},
        {"sysdirs_list", "['/dev', '/proc', '/sys', '/etc/resolv.conf', '/etc/host.conf', "
                         "'/lib/modules']"},
        {"root_path", "/usr/sbin:/sbin:/usr/bin:/bin"},
        {"user_path", "/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"},
        {"use_proot_executable", "UDOCKER"},
        {"use_runc_executable", ""},
        {"use_singularity_executable", ""},
        {"use_patchelf_executable", "UDOCKER"},
        {"use_curl_executable", ""},
    };
    memset(c, 0, sizeof(*c));
    c->verbose_level = UD_LOG_INFO;
    c->autoinstall = true;
    c->installretry = 3;
    c->timeout = 12;
    c->download_timeout = 1800;
    c->ctimeout = 6;
    c->max_download_connections = 12;
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        int rc = ud_conf_set(c, defs[i].k, defs[i].v, NULL, err);
        if (rc)
            return rc;
    }
    const char *home = home_dir();
    c->homedir = ud_path_join(home, ".udocker");
    c->topdir = ud_strdup(c->homedir ? c->homedir : "");
    const char *t = getenv("TMPDIR");
    c->tmpdir = ud_strdup(t && t[0] == '/' ? t : "/tmp");
    if (!c->homedir || !c->topdir || !c->tmpdir)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return derive_dirs(c, err);
}

/* Apply the UDOCKER_* variables that are set (an empty value counts for
 * strings, as upstream: UDOCKER_TARBALL="" disables the tarball). */
static int
apply_env(struct ud_conf *c, struct ud_error *err)
{
    for (const struct ud_conf_key *k = ud_conf_keys; k->name; k++) {
        if (!k->env)
            continue;
        const char *v = getenv(k->env);
        if (!v || (v[0] == '\0' && k->type != K_STR))
            continue;
        int rc = ud_conf_set(c, k->name, v, NULL, err);
        if (rc) {
            ud_error_prefix(err, "%s: ", k->env);
            return rc;
        }
    }
    return 0;
}

/* Read one config file. A missing optional file costs a single failed
 * open() (no separate existence test), a present one is read through the
 * same descriptor. */
static int
apply_file(struct ud_conf *c, const char *path, bool required, struct ud_error *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (!required && (errno == ENOENT || errno == ENOTDIR || errno == EACCES))
            return 0;
        return ud_error_set(err, ud_error_from_errno(errno), errno, "config file %s", path);
    }
    cleanup_free char *text = NULL;
    int rc = ud_file_read_fd(fd, path, CONF_FILE_MAX, &text, NULL, err);
    if (rc)
        return rc;
    return ud_conf_parse_text(c, path, text, err);
}

int
ud_conf_load(struct ud_conf *c, const char *config_file_opt, struct ud_error *err)
{
    int rc = set_defaults(c, err);
    if (rc == 0)
        rc = apply_file(c, "/etc/udocker.conf", false, err);
    cleanup_free char *home_conf = ud_path_join(c->homedir ? c->homedir : "/", "udocker.conf");
    if (rc == 0 && !home_conf)
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc == 0)
        rc = apply_file(c, home_conf, false, err);
    if (rc == 0) {
        /* The repository's own file: UDOCKER_DIR decides which repository
         * this is even though the variable is applied (again) below. */
        const char *envdir = getenv("UDOCKER_DIR");
        cleanup_free char *top = NULL;
        if (envdir && envdir[0])
            rc = set_dir(&top, envdir, err);
        else if (!(top = ud_strdup(c->topdir)))
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        cleanup_free char *top_conf = rc == 0 ? ud_path_join(top, "udocker.conf") : NULL;
        if (rc == 0 && !top_conf)
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        if (rc == 0 && strcmp(top_conf, home_conf) != 0)
            rc = apply_file(c, top_conf, false, err);
    }
    if (rc == 0 && config_file_opt)
        rc = apply_file(c, config_file_opt, true, err);
    if (rc == 0)
        rc = apply_env(c, err);
    if (rc == 0)
        rc = derive_dirs(c, err);
    if (rc)
        ud_conf_fini(c);
    return rc;
}
