/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run [options] <container-id-or-name | image> [command ...] (reference
 * section 6): the target resolved (or made from an image), the engine
 * chosen, the run spec built once, the banner, the command executed with
 * signals forwarded, and its exit status returned exactly (128+N for a
 * signal). Preparation failures exit 2, a missing command 127, a missing
 * or unusable engine 1.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "output.h"
#include "run_cmd.h"
#include "run_int.h"
#include "ud/layerstore.h"

/* Options that take a value: their separate-word values are not the
 * target ("-v /x busybox"). */
static const char *const value_opts[] = {"-v=",
                                         "--volume=",
                                         "-e=",
                                         "--env=",
                                         "--env-file=",
                                         "-u=",
                                         "--user=",
                                         "-w=",
                                         "--workdir=",
                                         "--entrypoint=",
                                         "--name=",
                                         "--novol=",
                                         "-p=",
                                         "--publish=",
                                         "--device=",
                                         "--cpuset-cpus=",
                                         "--kernel=",
                                         "--location=",
                                         "--platform=",
                                         "--index=",
                                         "--registry=",
                                         "--httpproxy=",
                                         "--dns=",
                                         "--dns-search=",
                                         "--volumes-from=",
                                         "--hostname=",
                                         NULL};

static const char *const ignored_flags[] = {"-i", "-t", "-a", "--interactive", "--tty", NULL};
static const char *const ignored_opts[] = {
    "--dns=", "--dns-search=", "--volumes-from=", "--hostname=", NULL};

/* Every value of two spellings of a list option (-v and --volume), in
 * one array (caller frees); NULL when out of memory. */
static const char **
opt_all2(struct ud_cmdline *cl, const char *a, const char *b, size_t *n)
{
    size_t na = 0, nb = 0;
    const char **x = ud_cmdline_opt_all(cl, a, &na);
    const char **y = ud_cmdline_opt_all(cl, b, &nb);
    const char **v = ud_calloc(na + nb + 1, sizeof(*v));

    if (v != NULL) {
        for (size_t i = 0; i < na; i++)
            v[i] = x[i];
        for (size_t i = 0; i < nb; i++)
            v[na + i] = y[i];
        *n = na + nb;
    }
    free(x);
    free(y);
    return v;
}

/* The last of two single-value spellings, by position on the line. */
static const char *
opt2(struct ud_cmdline *cl, const char *a, const char *b)
{
    const char *x = ud_cmdline_opt(cl, a);
    const char *y = ud_cmdline_opt(cl, b);
    if (x == NULL || y == NULL)
        return x ? x : y;
    return x > y ? x : y; /* argv strings lie in order in memory */
}

static bool
is_bare_value_opt(const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; value_opts[i]; i++)
        if (strlen(value_opts[i]) == wl + 1 && strncmp(value_opts[i], w, wl) == 0)
            return true;
    return false;
}

/* --pull, --pull=V or "--pull V" for V one of the policies; a bare --pull
 * followed by anything else is the default (reference 6.2). */
static int
parse_pull(struct ud_cmdline *cl, enum ud_pull_policy *out)
{
    static const char *const names[] = {"missing", "never", "always", "reuse", NULL};
    const char *v = NULL;

    /* Called before any other option is looked up, so a policy word is
     * consumed before it could be taken for the target. */
    for (size_t i = 0; i < cl->n; i++) {
        const char *w = cl->words[i];
        if (cl->consumed[i] || w[0] == '\0')
            continue;
        if (w[0] != '-' || w[1] == '\0')
            break;
        if (is_bare_value_opt(w)) {
            if (i + 1 < cl->n && cl->words[i + 1][0] != '-')
                i++;
            continue;
        }
        if (strncmp(w, "--pull=", 7) == 0) {
            v = w + 7;
            cl->consumed[i] = true;
        } else if (strcmp(w, "--pull") == 0) {
            cl->consumed[i] = true;
            v = "";
            for (size_t k = 0; i + 1 < cl->n && names[k]; k++)
                if (strcmp(cl->words[i + 1], names[k]) == 0) {
                    v = cl->words[++i];
                    cl->consumed[i] = true;
                }
        }
    }
    if (v == NULL || v[0] == '\0')
        return 0;
    for (size_t k = 0; names[k]; k++)
        if (strcmp(v, names[k]) == 0) {
            *out = (enum ud_pull_policy)k;
            return 0;
        }
    ud_err("invalid value for --pull: %s", v);
    return 1;
}

static bool
flag_any(struct ud_cmdline *cl, const char *a, const char *b, const char *c)
{
    bool x = ud_cmdline_flag(cl, a);
    bool y = b ? ud_cmdline_flag(cl, b) : false;
    bool z = c ? ud_cmdline_flag(cl, c) : false;
    return x || y || z;
}

static int
parse_lists(struct ud_cmdline *cl, struct ud_run_req *r)
{
    struct ud_run_opts *o = &r->o;

    o->volumes = r->vols = opt_all2(cl, "-v=", "--volume=", &o->nvolumes);
    o->env = r->env = opt_all2(cl, "-e=", "--env=", &o->nenv);
    o->publish = r->pub = opt_all2(cl, "-p=", "--publish=", &o->npublish);
    o->novol = r->novol = ud_cmdline_opt_all(cl, "--novol=", &o->nnovol);
    o->env_files = r->envf = ud_cmdline_opt_all(cl, "--env-file=", &o->nenv_files);
    o->devices = r->dev = ud_cmdline_opt_all(cl, "--device=", &o->ndevices);
    if (!r->vols || !r->env || !r->pub) {
        ud_err("out of memory");
        return 1;
    }
    return 0;
}

/* Single-value options and flags: where each goes in the request. */
struct req_field {
    const char *name;
    size_t off;
};
#define REQ_AT(r, off, type) ((type *)(void *)((char *)(r) + (off)))
#define REQ_OFF(member) offsetof(struct ud_run_req, member)

static const struct req_field str_opts[] = {
    {"--entrypoint=", REQ_OFF(o.entrypoint)},
    {"--kernel=", REQ_OFF(o.kernel)},
    {"--cpuset-cpus=", REQ_OFF(o.cpuset)},
    {"--location=", REQ_OFF(o.location)},
    {"--name=", REQ_OFF(name)},
    {"--platform=", REQ_OFF(platform)},
    {"--index=", REQ_OFF(index)},
    {"--registry=", REQ_OFF(registry)},
    {"--httpproxy=", REQ_OFF(httpproxy)},
};
static const struct req_field flag_opts[] = {
    {"--hostauth", REQ_OFF(o.hostauth)},
    {"--containerauth", REQ_OFF(o.containerauth)},
    {"--nosysdirs", REQ_OFF(o.nosysdirs)},
    {"--hostenv", REQ_OFF(o.hostenv)},
    {"--bindhome", REQ_OFF(o.bindhome)},
    {"--nometa", REQ_OFF(o.nometa)},
    {"--dri", REQ_OFF(o.dri)},
    {"--rm", REQ_OFF(rm)},
    {"--nobanner", REQ_OFF(nobanner)},
};

static int
parse_req(struct ud_cmdline *cl, struct ud_run_req *r)
{
    struct ud_run_opts *o = &r->o;

    ud_cmdline_declare(cl, value_opts);
    if (parse_pull(cl, &r->pull) != 0 || parse_lists(cl, r) != 0)
        return 1;
    o->user = opt2(cl, "-u=", "--user=");
    o->workdir = opt2(cl, "-w=", "--workdir=");
    for (size_t i = 0; i < sizeof str_opts / sizeof str_opts[0]; i++)
        *REQ_AT(r, str_opts[i].off, const char *) = ud_cmdline_opt(cl, str_opts[i].name);
    for (size_t i = 0; ignored_opts[i]; i++)
        free(ud_cmdline_opt_all(cl, ignored_opts[i], NULL));
    for (size_t i = 0; ignored_flags[i]; i++)
        ud_cmdline_flag(cl, ignored_flags[i]);
    for (size_t i = 0; i < sizeof flag_opts / sizeof flag_opts[0]; i++)
        *REQ_AT(r, flag_opts[i].off, bool) = ud_cmdline_flag(cl, flag_opts[i].name);
    o->publish_all = flag_any(cl, "-P", "--publish-all", "--netcoop");
    /* With --location there is no target: every positional word is the
     * command. Otherwise the words after the target are, verbatim. */
    size_t n = 0;
    if (o->location == NULL) {
        r->target = ud_cmdline_pos(cl, 0);
        r->cmd = ud_cmdline_rest(cl, 1, &n);
    } else {
        r->cmd = ud_cmdline_rest(cl, 0, &n);
    }
    o->cmd = r->cmd;
    o->ncmd = n;
    return 0;
}

static void
req_fini(struct ud_run_req *r)
{
    free(r->vols);
    free(r->novol);
    free(r->env);
    free(r->envf);
    free(r->pub);
    free(r->dev);
    free(r->cmd);
}

/* --name for an existing container: a name already on this container is
 * fine (upstream refused it unless --pull=reuse); on another one it is an
 * error. */
static int
name_existing(struct ud_store *s, const char *id, const char *name)
{
    struct ud_error err = {0};
    cleanup_free char *owner = NULL;

    if (ud_store_container_resolve(s, name, &owner, NULL) == 0) {
        if (strcmp(owner, id) == 0)
            return 0;
        ud_err("container name already exists");
        return 1;
    }
    if (ud_store_name_add(s, id, name, &err) != 0) {
        ud_err("%s", err.msg);
        return 1;
    }
    return 0;
}

/* The container to run: an id or a name, or a new one from an image.
 * *created tells the caller to remove it when the run fails before the
 * command starts. */
static int
resolve_target(struct ud_cli *cli, const struct ud_run_req *r, char **id, bool *created)
{
    struct ud_store *s;
    char nid[37];
    int rc;

    *created = false;
    if (r->target == NULL || r->target[0] == '\0') {
        ud_err("must specify container_id or image");
        return 2;
    }
    if (r->name && !ud_store_name_is_valid(r->name)) {
        ud_err("invalid container name or wrong format");
        return 1;
    }
    if ((s = ud_cli_store(cli)) == NULL)
        return 1;
    if (r->pull == UD_PULL_REUSE && r->name &&
        ud_store_container_resolve(s, r->name, id, NULL) == 0)
        return 0;
    if (ud_store_container_resolve(s, r->target, id, NULL) == 0)
        return r->name ? name_existing(s, *id, r->name) : 0;
    if (r->name && ud_store_container_resolve(s, r->name, id, NULL) == 0) {
        free(*id);
        *id = NULL;
        ud_err("container name already exists");
        return 1;
    }
    if ((rc = ud_run_from_image(cli, r, nid)) != 0)
        return rc;
    *created = true;
    if (!(*id = ud_strdup(nid))) {
        ud_err("out of memory");
        return 1;
    }
    if (r->name) {
        struct ud_error err = {0};
        if (ud_store_name_add(s, nid, r->name, &err) != 0) {
            ud_err("%s", err.msg);
            return 1;
        }
    }
    return 0;
}

/* Exit status for a failure of the spec builder or the engine start. */
static int
fail_status(const struct ud_error *err, bool started)
{
    if (err->code == UD_ENOENT && strstr(err->msg, "command not found") != NULL)
        return 127;
    if (err->code == UD_EPERM && strstr(err->msg, "cannot execute") != NULL)
        return 126;
    return started ? 1 : 2;
}

struct run_ctx {
    struct ud_cli *cli;
    struct ud_run_req *r;
    const char *id; /* "" for --location */
    char *cdir;     /* NULL for --location */
    char *root;
    char **names;
    const struct ud_engine *engine;
    struct ud_hostcaps caps;
};

static int
build_spec(struct run_ctx *x, struct ud_run_spec **spec)
{
    const struct ud_conf *c = x->cli->conf;
    struct ud_host_ident host;
    struct ud_error err = {0};
    cleanup_free char *json = NULL;
    size_t jlen = 0;
    int rc;

    if (x->cdir && !x->r->o.nometa) {
        cleanup_free char *p = ud_path_join(x->cdir, "container.json");
        if (p == NULL || ud_file_read(p, 16u << 20, &json, &jlen, NULL) != 0)
            jlen = 0;
    }
    if (ud_host_ident_current(&host, &err) != 0) {
        ud_err("%s", err.msg);
        return 1;
    }
    struct ud_run_defaults d = {.sysdirs = (const char *const *)c->sysdirs_list,
                                .root_path = c->root_path,
                                .user_path = c->user_path,
                                .tmpdir = c->tmpdir,
                                .cmd = (const char *const *)c->cmd};
    static const char *const dri[] = {"/usr/lib64/dri", "/lib64/dri", "/usr/lib/dri", "/lib/dri",
                                      NULL};
    d.dri_list = dri;
    rc = ud_run_spec_build(&x->r->o, &host, &d, x->id, x->cdir, x->root, x->names, x->engine->mode,
                           json, jlen, spec, &err);
    ud_host_ident_fini(&host);
    if (rc != 0) {
        ud_err("%s", err.msg);
        return fail_status(&err, false);
    }
    return 0;
}

/* Find the container's directory and root, its names, and its engine;
 * prepare the container for the engine the first time it is used. */
static int
locate(struct run_ctx *x)
{
    struct ud_error err = {0};
    char real[4096];
    bool recorded = false;

    if (x->r->o.location) {
        if (realpath(x->r->o.location, real) == NULL || !ud_path_is_dir(real)) {
            ud_err("invalid location: %s", x->r->o.location);
            return 2;
        }
        x->root = ud_strdup(real);
    } else {
        struct ud_store *s = ud_cli_store(x->cli);
        if (ud_store_container_dir(s, x->id, &x->cdir, &err) != 0) {
            ud_err("%s", err.msg);
            return 2;
        }
        cleanup_free char *r = ud_path_join(x->cdir, "ROOT");
        if (r == NULL || realpath(r, real) == NULL) {
            ud_err("container root is missing: %s", x->id);
            return 2;
        }
        x->root = ud_strdup(real);
        if (ud_store_container_names(s, x->id, &x->names, &err) != 0)
            x->names = NULL;
    }
    if (x->root == NULL) {
        ud_err("out of memory");
        return 1;
    }
    if (ud_cli_engine_pick(x->cli, x->cdir, &recorded, &x->engine, &x->caps) != 0)
        return 1;
    if (x->cdir && !recorded && x->engine->prepare) {
        struct ud_engine_ctr c = {.id = x->id, .cdir = x->cdir, .root = x->root};
        if (ud_execmode_set(ud_cli_engines, &c, x->engine->mode, false, &err) != 0) {
            ud_err("container setup failed: %s", err.msg);
            return 2;
        }
    }
    return 0;
}

/* Reference 5.7: ports the image exposes; privileged ones not remapped
 * to a free port by -p cannot be bound by a normal user (not fatal). */
static void
warn_ports(const struct ud_run_spec *spec)
{
    bool priv = false;

    if (spec->exposed == NULL || spec->exposed[0] == NULL)
        return;
    for (size_t i = 0; spec->exposed[i]; i++) {
        long port = strtol(spec->exposed[i], NULL, 10);
        bool remapped = false;
        for (size_t k = 0; k < spec->nports; k++)
            if (spec->ports[k].cont == port && spec->ports[k].host >= 1024)
                remapped = true;
        if (port > 0 && port < 1024 && !remapped)
            priv = true;
    }
    if (priv && getuid() != 0)
        ud_err("this container exposes privileged TCP/IP ports");
    ud_warn("this container exposes TCP/IP ports");
}

/* Reference 5.1, 5.7: a container for another architecture. P modes run
 * its programs under the host's qemu-<arch>-static (the engine finds it
 * in PATH); say so before the run when there is none. Other modes only
 * warn that the architectures differ. */
static void
warn_arch(const struct run_ctx *x)
{
    static const char *const qnames[][2] = {
        {"amd64", "x86_64"},        {"386", "i386"},
        {"arm64", "aarch64"},       {"arm", "arm"},
        {"ppc64le", "ppc64le"},     {"ppc64", "ppc64"},
        {"s390x", "s390x"},         {"riscv64", "riscv64"},
        {"mips64le", "mips64el"},   {"mipsle", "mipsel"},
        {"loong64", "loongarch64"},
    };
    cleanup_free char *json = NULL, *plat = NULL,
                      *p = x->cdir ? ud_path_join(x->cdir, "container.json") : NULL;
    size_t len = 0;
    if (p == NULL || ud_file_read(p, 16u << 20, &json, &len, NULL) != 0 ||
        ud_store_platform_from_config(json, len, &plat, NULL) != 0)
        return;
    const char *arch = strchr(plat, '/');
    arch = arch ? arch + 1 : plat;
    size_t alen = strcspn(arch, "/");
    if (strncmp(arch, "unknown", alen) == 0 || x->caps.arch[0] == '\0' ||
        (strlen(x->caps.arch) == alen && strncmp(arch, x->caps.arch, alen) == 0))
        return;
    if (x->engine->family != UD_ENGINE_P) {
        ud_warn("this container is for %.*s, not for the host's %s", (int)alen, arch, x->caps.arch);
        return;
    }
    const char *q = NULL;
    for (size_t i = 0; i < sizeof(qnames) / sizeof(qnames[0]); i++)
        if (strlen(qnames[i][0]) == alen && strncmp(arch, qnames[i][0], alen) == 0)
            q = qnames[i][1];
    const char *d = getenv("PATH");
    char cand[4096];
    while (q != NULL && d != NULL && *d != '\0') {
        size_t n = strcspn(d, ":");
        for (int s = 0; s < 2 && d[0] == '/'; s++) {
            int w = snprintf(cand, sizeof(cand), "%.*s/qemu-%s%s", (int)n, d, q,
                             s == 0 ? "-static" : "");
            if (w > 0 && (size_t)w < sizeof(cand) && access(cand, X_OK) == 0)
                return;
        }
        d += n + (d[n] == ':');
    }
    ud_warn("this container is for %.*s, the host is %s, and qemu-%s-static is not in PATH "
            "(qemu-user-static): its programs cannot run",
            (int)alen, arch, x->caps.arch, q ? q : "<arch>");
}

/* Run the command; *started says whether it ran (its status is then
 * the return value). */
static int
execute(struct run_ctx *x, bool *started)
{
    struct ud_run_spec *spec = NULL;
    struct ud_error err = {0};
    int st = 0, rc;

    if ((rc = build_spec(x, &spec)) != 0)
        return rc;
    warn_ports(spec);
    warn_arch(x);
    if (!x->r->nobanner && ud_log_enabled(UD_LOG_INFO)) {
        cleanup_free char *b =
            ud_run_banner(x->id, ud_engine_banner_char(x->engine->family), spec->argv[0]);
        if (b)
            ud_out(UD_LOG_INFO, "%s", b);
    }
    ud_log(UD_LOG_DEBUG, "run: mode %s, executable %s, cwd %s, user %s (%u:%u)", x->engine->mode,
           spec->exe, spec->cwd, spec->user, (unsigned)spec->uid, (unsigned)spec->gid);
    fflush(stdout);
    fflush(stderr);
    rc = x->engine->exec(spec, &x->caps, &st, &err);
    ud_run_spec_free(spec);
    if (rc != 0) {
        ud_err("%s", err.msg);
        return fail_status(&err, true);
    }
    *started = true;
    return ud_engine_exit_code(st);
}

int
cmd_run(struct ud_cli *cli)
{
    struct ud_run_req r = {0};
    struct run_ctx x = {.cli = cli, .r = &r, .id = ""};
    cleanup_free char *id = NULL;
    bool created = false;
    int rc;

    if (parse_req(&cli->cl, &r) != 0 || ud_cmdline_leftover(&cli->cl)) {
        req_fini(&r);
        return 1;
    }
    if (r.o.location == NULL) {
        rc = resolve_target(cli, &r, &id, &created);
        if (rc != 0) {
            req_fini(&r);
            return rc;
        }
        x.id = id;
    }
    bool started = false;
    rc = locate(&x);
    if (rc == 0)
        rc = execute(&x, &started);
    /* A container this run made for a command that never started is not
     * left behind (upstream kept it); one that ran stays unless --rm. */
    if (created && !started)
        r.rm = true;
    if (r.rm && x.cdir) {
        struct ud_store *s = ud_cli_store(cli);
        struct ud_error err = {0};
        if (ud_store_container_is_protected(s, x.id))
            ud_warn("container is protected, not removed: %s", x.id);
        else if (ud_store_container_rm(s, x.id, true, &err) != 0)
            ud_warn("removing container %s: %s", x.id, err.msg);
    }
    free(x.cdir);
    free(x.root);
    ud_strv_free(x.names);
    req_fini(&r);
    return rc;
}
