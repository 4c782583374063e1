/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which execution mode a container runs in (reference 5.0, plus "auto"):
 * the execmode file, the configured defaults, or the fastest engine the
 * host can run, from a probe cached in the repository.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "conf.h"
#include "output.h"
#include "run_int.h"

/* Upstream's table; left as it is, this build chooses by probing. */
static const char upstream_table[] =
    "{'x86_64':'P1','x86':'P1','arm64':'P1','arm':'P2','ppc64le':'R1','DEFAULT':'R1'}";

/* Compare ignoring blanks and the kind of quotes. */
static bool
same_table(const char *a, const char *b)
{
    for (;;) {
        while (*a == ' ' || *a == '\t' || *a == '\n')
            a++;
        while (*b == ' ' || *b == '\t' || *b == '\n')
            b++;
        if (*a == '\0' || *b == '\0')
            return *a == *b;
        char x = *a == '"' ? '\'' : *a, y = *b == '"' ? '\'' : *b;
        if (x != y)
            return false;
        a++;
        b++;
    }
}

/* Upstream's names of the host machine for the table's keys. */
static const char *
table_arch(void)
{
    static struct utsname u;
    if (uname(&u) != 0)
        return "DEFAULT";
    const char *m = u.machine;
    if (!strcmp(m, "x86_64"))
        return "x86_64";
    if (m[0] == 'i' && strstr(m, "86"))
        return "x86";
    if (!strcmp(m, "aarch64") || !strcmp(m, "arm64"))
        return "arm64";
    if (!strncmp(m, "arm", 3))
        return "arm";
    return m;
}

/* Value of 'key' in a Python-dict text, into out[3]; false if absent. */
static bool
table_get(const char *t, const char *key, char out[5])
{
    size_t kl = strlen(key);
    for (const char *p = t; (p = strstr(p, key)) != NULL; p++) {
        if (p == t || (p[-1] != '\'' && p[-1] != '"') || (p[kl] != '\'' && p[kl] != '"'))
            continue;
        const char *v = p + kl + 1;
        v += strspn(v, " \t:");
        if (*v != '\'' && *v != '"')
            continue;
        v++;
        size_t n = strcspn(v, "'\"");
        if (n == 0 || n > 4)
            return false;
        memcpy(out, v, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

void
ud_cli_default_execmode(const struct ud_cli *cli, char mode[5])
{
    const struct ud_conf *c = cli->conf;
    const char *o = c->override_default_execution_mode;

    snprintf(mode, 5, "auto");
    if (o && o[0]) {
        if (strcasecmp(o, "auto") == 0)
            return;
        snprintf(mode, 5, "%.4s", o);
        for (char *p = mode; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        return;
    }
    const char *t = c->default_execution_modes;
    if (t == NULL || same_table(t, upstream_table))
        return;
    if (!table_get(t, table_arch(), mode) && !table_get(t, "DEFAULT", mode))
        snprintf(mode, 5, "auto");
}

/* The host probe, cached in <topdir>/hostcaps.json. */
static int
host_caps(const struct ud_cli *cli, struct ud_hostcaps *caps, struct ud_error *err)
{
    cleanup_free char *cache = ud_path_join(cli->conf->topdir, "hostcaps.json");

    if (cache == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "probing the host: out of memory");
    int rc = ud_hostcaps_get(cache, caps, err);
    if (rc != 0)
        ud_error_prefix(err, "probing the host: ");
    return rc;
}

int
ud_cli_auto_engine(const struct ud_cli *cli, struct ud_hostcaps *caps, const struct ud_engine **out,
                   struct ud_error *err)
{
    int rc = host_caps(cli, caps, err);
    if (rc != 0)
        return rc;
    rc = ud_engine_auto(ud_cli_engines, caps, out, err);
    if (rc == 0)
        ud_log(UD_LOG_DEBUG, "execmode auto: chose %s: %s", (*out)->mode,
               (*out)->summary ? (*out)->summary : "");
    return rc;
}

static int
pick_auto(const struct ud_cli *cli, const struct ud_engine **out, struct ud_hostcaps *caps)
{
    struct ud_error err = {0};

    if (ud_cli_auto_engine(cli, caps, out, &err) != 0) {
        ud_err("%s", err.msg);
        return 1;
    }
    return 0;
}

void
ud_cli_default_execmode_resolved(const struct ud_cli *cli, char mode[5])
{
    ud_cli_default_execmode(cli, mode);
    if (strcmp(mode, "auto") != 0)
        return;
    struct ud_error err = {0};
    struct ud_hostcaps caps;
    const struct ud_engine *e = NULL;
    if (ud_cli_auto_engine(cli, &caps, &e, &err) == 0)
        snprintf(mode, 5, "%s", e->mode);
    else
        snprintf(mode, 5, "--");
}

int
ud_cli_engine_pick(const struct ud_cli *cli, const char *cdir, bool *recorded,
                   const struct ud_engine **out, struct ud_hostcaps *caps)
{
    struct ud_error err = {0};
    char mode[5] = "";

    *recorded = false;
    if (cdir != NULL) {
        char m3[3] = "";
        if (ud_execmode_get(cdir, m3, &err) != 0) {
            ud_err("%s", err.msg);
            return 1;
        }
        memcpy(mode, m3, 3);
        *recorded = mode[0] != '\0';
    }
    if (mode[0] == '\0')
        ud_cli_default_execmode(cli, mode);
    if (strcmp(mode, "auto") == 0)
        return pick_auto(cli, out, caps);
    if (!ud_execmode_valid(mode)) {
        ud_err("invalid execution mode: %s", mode);
        return 1;
    }
    const struct ud_engine *e = ud_engine_find(ud_cli_engines, mode);
    if (e == NULL) {
        ud_err("execution mode %s is not available in this build", mode);
        return 1;
    }
    if (host_caps(cli, caps, &err) != 0) {
        ud_err("%s", err.msg);
        return 1;
    }
    if (e->probe != NULL && e->probe(caps, &err) != 0) {
        ud_err("execution mode %s does not work on this host: %s", mode, err.msg);
        return 1;
    }
    *out = e;
    return 0;
}
