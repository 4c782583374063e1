/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The binds of a run (reference 6.3): the default system binds of the
 * mode's family (dropped silently when missing on the host), --dri,
 * --bindhome and the user's -v volumes with --novol, validated; devices
 * and port maps (--publish).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"

static const char *const sys_p[] = {"/dev",           "/proc",        "/sys", "/etc/resolv.conf",
                                    "/etc/host.conf", "/lib/modules", NULL};
static const char *const sys_r[] = {"/etc/resolv.conf", "/etc/host.conf", NULL};
static const char *const sys_s[] = {"/etc/resolv.conf", "/etc/host.conf", "/lib/modules", NULL};

/* Bind host path p at the same container path if it exists on the host. */
static int
add_if_present(struct ud_run_spec *s, const char *p, unsigned flags, struct ud_error *err)
{
    struct stat st;
    cleanup_free char *c = ud_engine_path_clean(p);

    if (c == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (c[0] != '/' || strcmp(c, "/") == 0 || stat(c, &st) != 0)
        return 0;
    if (S_ISDIR(st.st_mode))
        flags |= UD_BIND_DIR;
    return ud_spec_bind_add(s, c, c, flags, err);
}

/* Is volume v (as typed) removed by a --novol? Matching is on the full
 * spec or its host part. */
static bool
novol_match(const struct ud_run_opts *o, const char *v, bool *used)
{
    size_t hl = strcspn(v, ":");

    for (size_t i = 0; i < o->nnovol; i++) {
        const char *n = o->novol[i];
        if (strcmp(n, v) == 0 || (strlen(n) == hl && strncmp(n, v, hl) == 0)) {
            used[i] = true;
            return true;
        }
    }
    return false;
}

/* One -v H[:C] volume: both absolute, H existing, C not "/". */
static int
add_volume(struct ud_run_spec *s, const char *v, struct ud_error *err)
{
    const char *colon = strchr(v, ':');
    cleanup_free char *h = colon ? ud_strndup(v, (size_t)(colon - v)) : ud_strdup(v);
    cleanup_free char *c = NULL;
    cleanup_free char *hc = NULL;
    struct stat st;

    if (h == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    c = ud_strdup(colon && colon[1] ? colon + 1 : h);
    if (c == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (h[0] != '/' || stat(h, &st) != 0)
        return ud_error_set(err, UD_EINVAL, 0, "invalid host volume path: %s", h);
    if (c[0] != '/')
        return ud_error_set(err, UD_EINVAL, 0, "invalid container volume path: %s", c);
    hc = ud_engine_path_clean(h);
    cleanup_free char *cc = ud_engine_path_clean(c);
    if (hc == NULL || cc == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (strcmp(cc, "/") == 0)
        return ud_error_set(err, UD_EINVAL, 0, "invalid container volume path: %s", c);
    return ud_spec_bind_add(s, hc, cc, UD_BIND_USER | (S_ISDIR(st.st_mode) ? UD_BIND_DIR : 0), err);
}

static int
user_volumes(struct ud_run_spec *s, const struct ud_run_opts *o, struct ud_error *err)
{
    cleanup_free bool *used = ud_calloc(o->nnovol + 1, sizeof(bool));
    int rc;

    if (used == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < o->nvolumes; i++) {
        if (novol_match(o, o->volumes[i], used))
            continue;
        if ((rc = add_volume(s, o->volumes[i], err)) != 0)
            return rc;
    }
    for (size_t i = 0; i < o->nnovol; i++)
        if (!used[i])
            ud_log(UD_LOG_WARN, "--novol %s not in volumes list", o->novol[i]);
    return 0;
}

int
ud_spec_binds(struct ud_run_spec *s, const struct ud_run_opts *o, const struct ud_host_ident *h,
              const struct ud_run_defaults *d, struct ud_error *err)
{
    const char *const *sys = sys_p;
    int rc;

    if (s->mode[0] == 'R')
        sys = sys_r;
    else if (s->mode[0] == 'S')
        sys = sys_s;
    else if (d != NULL && d->sysdirs != NULL)
        sys = d->sysdirs;
    for (size_t i = 0; !o->nosysdirs && sys[i]; i++)
        if ((rc = add_if_present(s, sys[i], UD_BIND_SYS, err)) != 0)
            return rc;
    for (size_t i = 0; o->dri && d != NULL && d->dri_list && d->dri_list[i]; i++)
        if ((rc = add_if_present(s, d->dri_list[i], UD_BIND_SYS, err)) != 0)
            return rc;
    if (o->bindhome && h->home != NULL && h->home[0] == '/')
        if ((rc = add_if_present(s, h->home, UD_BIND_USER, err)) != 0)
            return rc;
    if ((rc = user_volumes(s, o, err)) != 0)
        return rc;
    for (size_t i = 0; i < o->ndevices; i++)
        if (ud_strv_push(&s->devices, o->devices[i], err) != 0)
            return UD_ENOMEM;
    return 0;
}

/* A port number 1..65535. */
static bool
parse_port(const char *p, size_t n, uint16_t *out)
{
    unsigned long v = 0;

    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

/* [IP:]HOST:CONT, each port optionally suffixed "/tcp" or "/udp" (the
 * suffix is accepted and dropped: the port map is per number). */
static int
add_port(struct ud_run_spec *s, const char *spec, struct ud_error *err)
{
    cleanup_free char *t = ud_strdup(spec);
    char *parts[3] = {NULL, NULL, NULL};
    size_t np = 0;
    struct ud_port_map m = {0};

    if (t == NULL)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    char *slash = strchr(t, '/');
    if (slash && (strcmp(slash, "/tcp") == 0 || strcmp(slash, "/udp") == 0))
        *slash = '\0';
    /* The IP may be IPv6 in brackets: split from the right. */
    for (char *e = t + strlen(t); np < 3;) {
        char *c = NULL;
        for (char *q = e; q > t; q--)
            if (q[-1] == ':') {
                c = q - 1;
                break;
            }
        if (c == NULL || np == 2) {
            parts[np++] = t;
            break;
        }
        *c = '\0';
        parts[np++] = c + 1;
        e = c;
    }
    if (np < 2 || !parse_port(parts[0], strlen(parts[0]), &m.cont) ||
        !parse_port(parts[1], strlen(parts[1]), &m.host))
        return ud_error_set(err, UD_EINVAL, 0, "invalid port mapping: %s", spec);
    if (np == 3 && parts[2][0] != '\0') {
        size_t l = strlen(parts[2]);
        if (parts[2][0] == '[' && parts[2][l - 1] == ']')
            m.ip = ud_strndup(parts[2] + 1, l - 2);
        else
            m.ip = ud_strdup(parts[2]);
        if (m.ip == NULL)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    struct ud_port_map *v = ud_realloc(s->ports, (s->nports + 1) * sizeof(*v));
    if (v == NULL) {
        free(m.ip);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    s->ports = v;
    v[s->nports++] = m;
    return 0;
}

int
ud_spec_ports(struct ud_run_spec *s, const struct ud_run_opts *o, struct ud_error *err)
{
    int rc;

    for (size_t i = 0; i < o->npublish; i++)
        if ((rc = add_port(s, o->publish[i], err)) != 0)
            return rc;
    s->publish_all = o->publish_all;
    return 0;
}
