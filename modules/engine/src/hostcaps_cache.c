/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host capability probe cached in the repository (hostcaps.json): one
 * probe per kernel, user and udocker version, so a run does not fork the
 * probe children every time. Rewritten atomically; a bad cache is reprobed.
 */
#include <jansson.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "engine_int.h"

/* Bumped when the fields or their meaning change. */
#define CACHE_FORMAT 1

static void
get_str(json_t *o, const char *k, char *dst, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, k));
    snprintf(dst, cap, "%s", s ? s : "");
}

static bool
get_bool(json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

/* Parse the cache; false when it is unusable or stale. */
static bool
cache_load(const char *text, size_t len, const char *kernel, uid_t uid, struct ud_hostcaps *c)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    bool ok = false;

    if (!json_is_object(o))
        goto out;
    if (json_integer_value(json_object_get(o, "format")) != CACHE_FORMAT ||
        !json_is_integer(json_object_get(o, "uid")) ||
        json_integer_value(json_object_get(o, "uid")) != (json_int_t)uid)
        goto out;
    const char *k = json_string_value(json_object_get(o, "kernel"));
    const char *v = json_string_value(json_object_get(o, "version"));
    if (!k || !v || strcmp(k, kernel) != 0 || strcmp(v, UD_ENGINE_VERSION) != 0)
        goto out;
    memset(c, 0, sizeof(*c));
    c->uid = uid;
    get_str(o, "kernel", c->kernel, sizeof(c->kernel));
    get_str(o, "arch", c->arch, sizeof(c->arch));
    c->userns = get_bool(o, "userns");
    get_str(o, "userns_why", c->userns_why, sizeof(c->userns_why));
    c->pidns = get_bool(o, "pidns");
    c->subids = get_bool(o, "subids");
    c->seccomp = get_bool(o, "seccomp");
    c->seccomp_notif = get_bool(o, "seccomp_notif");
    c->ptrace = get_bool(o, "ptrace");
    get_str(o, "ptrace_why", c->ptrace_why, sizeof(c->ptrace_why));
    c->yama_scope = (int)json_integer_value(json_object_get(o, "yama_scope"));
    get_str(o, "runc", c->runc, sizeof(c->runc));
    get_str(o, "crun", c->crun, sizeof(c->crun));
    get_str(o, "apptainer", c->apptainer, sizeof(c->apptainer));
    ok = true;
out:
    json_decref(o);
    return ok;
}

static char *
cache_format(const struct ud_hostcaps *c)
{
    json_t *o =
        json_pack("{s:i,s:s,s:s,s:s,s:I,s:b,s:s,s:b,s:b,s:b,s:b,s:b,s:s,s:i,s:s,s:s,s:s}", "format",
                  CACHE_FORMAT, "version", UD_ENGINE_VERSION, "kernel", c->kernel, "arch", c->arch,
                  "uid", (json_int_t)c->uid, "userns", c->userns, "userns_why", c->userns_why,
                  "pidns", c->pidns, "subids", c->subids, "seccomp", c->seccomp, "seccomp_notif",
                  c->seccomp_notif, "ptrace", c->ptrace, "ptrace_why", c->ptrace_why, "yama_scope",
                  c->yama_scope, "runc", c->runc, "crun", c->crun, "apptainer", c->apptainer);
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

    json_decref(o);
    return s;
}

int
ud_hostcaps_get(const char *cache_file, struct ud_hostcaps *out, struct ud_error *err)
{
    struct utsname u;
    struct ud_hostcaps c;
    cleanup_free char *text = NULL;
    size_t len = 0;
    char *s;
    int rc;

    if (uname(&u) != 0)
        memset(&u, 0, sizeof(u));
    if (cache_file != NULL && ud_file_read(cache_file, 64 * 1024, &text, &len, NULL) == 0 &&
        cache_load(text, len, u.release, getuid(), &c)) {
        *out = c;
        return 0;
    }
    ud_hostcaps_probe(&c);
    if (cache_file != NULL) {
        s = cache_format(&c);
        if (s == NULL)
            return ud_error_set(err, UD_ENOMEM, 0, "host capabilities: out of memory");
        rc = ud_file_write_atomic(cache_file, s, strlen(s), 0644, err);
        free(s);
        /* A read-only repository still runs; the probe is only slower. */
        if (rc != 0)
            ud_log(UD_LOG_DEBUG, "cannot cache host capabilities in %s: %s", cache_file,
                   err ? err->msg : "");
        ud_error_clear(err);
    }
    *out = c;
    return 0;
}
