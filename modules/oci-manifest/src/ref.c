/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references: split what the user typed into registry host, local
 * repos/ path, remote repository path and tag or digest, following upstream
 * udocker's rules (§3.1) plus host:port and localhost registries, and turn
 * a reference plus --registry/--index into the registry base URL.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ud/oci-manifest.h"

#define REF_SPEC_MAX (UD_OCI_NAME_MAX + 1 + UD_OCI_TAG_MAX + 1 + 7 + 128)

static bool
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Printable ASCII without space: whitespace and control characters never
 * belong in a name and would end up in paths and HTTP request lines. */
static bool
is_graph_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

/* A first component names a registry when it looks like a host: it has a
 * dot (upstream's rule), a port, or is "localhost". */
static bool
looks_like_host(const char *s, size_t n)
{
    if (memchr(s, '.', n) || memchr(s, ':', n))
        return true;
    return n == 9 && memcmp(s, "localhost", 9) == 0;
}

static int
check_host(const char *h, size_t n, struct ud_error *err)
{
    const char *colon = memchr(h, ':', n);
    size_t hlen = colon ? (size_t)(colon - h) : n;

    if (hlen == 0 || h[0] == '.' || h[0] == '-' || h[hlen - 1] == '.')
        return ud_error_set(err, UD_EINVAL, 0, "invalid registry host '%.*s'", (int)n, h);
    for (size_t i = 0; i < hlen; i++) {
        if (!is_alnum(h[i]) && h[i] != '.' && h[i] != '-')
            return ud_error_set(err, UD_EINVAL, 0, "invalid registry host '%.*s'", (int)n, h);
    }
    if (!colon)
        return 0;
    size_t plen = n - hlen - 1;
    unsigned long port = 0;
    if (plen == 0 || plen > 5)
        return ud_error_set(err, UD_EINVAL, 0, "invalid registry port in '%.*s'", (int)n, h);
    for (size_t i = 0; i < plen; i++) {
        char c = colon[1 + i];
        if (c < '0' || c > '9')
            return ud_error_set(err, UD_EINVAL, 0, "invalid registry port in '%.*s'", (int)n, h);
        port = port * 10 + (unsigned long)(c - '0');
    }
    if (port == 0 || port > 65535)
        return ud_error_set(err, UD_EINVAL, 0, "invalid registry port in '%.*s'", (int)n, h);
    return 0;
}

/* Tag grammar of the distribution spec: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
static int
check_tag(const char *t, size_t n, struct ud_error *err)
{
    if (n == 0)
        return ud_error_set(err, UD_EINVAL, 0, "empty tag");
    if (n > UD_OCI_TAG_MAX)
        return ud_error_set(err, UD_EINVAL, 0, "tag longer than %d characters", UD_OCI_TAG_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        bool ok = is_alnum(c) || c == '_' || (i > 0 && (c == '.' || c == '-'));
        if (!ok)
            return ud_error_set(err, UD_EINVAL, 0, "invalid tag '%.*s'", (int)n, t);
    }
    return 0;
}

/* Repository path: upstream's ^[a-zA-Z0-9][a-zA-Z0-9-_./:]+$ with ':' only
 * in the host, and no empty, "." or ".." components since the name becomes
 * a directory path under repos/. One character is enough, as for Docker
 * ("a", "library/a"); upstream's regex wanted two. host_len is 0 when
 * there is no host. */
static int
check_repo(const char *r, size_t n, size_t host_len, struct ud_error *err)
{
    if (n == 0)
        return ud_error_set(err, UD_EINVAL, 0, "empty image name");
    if (n > UD_OCI_NAME_MAX)
        return ud_error_set(err, UD_EINVAL, 0, "image name longer than %d characters",
                            UD_OCI_NAME_MAX);
    if (!is_alnum(r[0]))
        return ud_error_set(err, UD_EINVAL, 0, "image name must start with a letter or digit");
    size_t start = host_len ? host_len + 1 : 0;
    while (start <= n) {
        const char *c = r + start;
        const char *slash = memchr(c, '/', n - start);
        size_t clen = slash ? (size_t)(slash - c) : n - start;
        if (clen == 0 || (clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.'))
            return ud_error_set(err, UD_EINVAL, 0, "invalid path component in image name '%.*s'",
                                (int)n, r);
        for (size_t i = 0; i < clen; i++) {
            if (!is_alnum(c[i]) && c[i] != '-' && c[i] != '_' && c[i] != '.')
                return ud_error_set(err, UD_EINVAL, 0, "invalid character '%c' in image name",
                                    c[i]);
        }
        start += clen + 1;
    }
    return 0;
}

static bool
host_is_docker_hub(const char *host)
{
    return host == NULL || strcasestr(host, "docker.io") || strcasestr(host, "docker.com");
}

struct ref_parts {
    const char *name; /* start of the repository (with host) */
    size_t name_len;
    size_t host_len; /* 0: no host */
    const char *tag; /* explicit tag or NULL */
    size_t tag_len;
    const char *digest; /* after '@' or NULL */
};

static int
split_ref(const char *spec, struct ref_parts *p, struct ud_error *err)
{
    size_t len = strlen(spec);
    const char *at = strchr(spec, '@');

    memset(p, 0, sizeof(*p));
    if (at) {
        if (strchr(at + 1, '@'))
            return ud_error_set(err, UD_EINVAL, 0, "more than one '@' in image reference");
        if (at == spec)
            return ud_error_set(err, UD_EINVAL, 0, "missing image name before '@'");
        if (!ud_oci_digest_is_valid(at + 1))
            return ud_error_set(err, UD_EINVAL, 0,
                                "invalid digest '%s' (want sha256:<64 hex> or sha512:<128 hex>)",
                                at + 1);
        p->digest = at + 1;
        len = (size_t)(at - spec);
    }
    const char *slash = memchr(spec, '/', len);
    if (slash && looks_like_host(spec, (size_t)(slash - spec)))
        p->host_len = (size_t)(slash - spec);
    const char *last_slash = memrchr(spec, '/', len);
    const char *seg = last_slash ? last_slash + 1 : spec;
    const char *colon = memchr(seg, ':', len - (size_t)(seg - spec));
    p->name = spec;
    p->name_len = colon ? (size_t)(colon - spec) : len;
    if (colon) {
        p->tag = colon + 1;
        p->tag_len = len - p->name_len - 1;
    }
    return 0;
}

static int
validate_parts(const struct ref_parts *p, struct ud_error *err)
{
    int rc;

    if (p->host_len && (rc = check_host(p->name, p->host_len, err)) < 0)
        return rc;
    if ((rc = check_repo(p->name, p->name_len, p->host_len, err)) < 0)
        return rc;
    if (p->tag && (rc = check_tag(p->tag, p->tag_len, err)) < 0)
        return rc;
    return 0;
}

/* Remote path: the name without its host; Docker Hub puts single names
 * under "library/" (upstream leaves a bare "library" alone). */
static char *
make_remote(const struct ref_parts *p, bool hub)
{
    const char *r = p->host_len ? p->name + p->host_len + 1 : p->name;
    size_t n = p->name_len - (size_t)(r - p->name);

    if (hub && !memchr(r, '/', n) && !(n == 7 && memcmp(r, "library", 7) == 0))
        return ud_asprintf("library/%.*s", (int)n, r);
    return ud_strndup(r, n);
}

int
ud_oci_ref_parse(const char *spec, struct ud_image_ref *out, struct ud_error *err)
{
    cleanup_free char *host = NULL;
    cleanup_free char *local = NULL;
    cleanup_free char *remote = NULL;
    cleanup_free char *tag = NULL;
    struct ref_parts p;
    int rc;

    if (!spec || !spec[0])
        return ud_error_set(err, UD_EINVAL, 0, "empty image reference");
    size_t len = strnlen(spec, REF_SPEC_MAX + 1);
    if (len > REF_SPEC_MAX)
        return ud_error_set(err, UD_EINVAL, 0, "image reference too long");
    if (!is_graph_ascii(spec, len))
        return ud_error_set(err, UD_EINVAL, 0,
                            "image reference contains whitespace or control characters");
    if ((rc = split_ref(spec, &p, err)) < 0 || (rc = validate_parts(&p, err)) < 0)
        return rc;

    if (p.host_len && !(host = ud_strndup(p.name, p.host_len)))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    bool hub = host_is_docker_hub(host);
    local = ud_strndup(p.name, p.name_len);
    remote = make_remote(&p, hub);
    if (p.digest)
        tag = ud_strdup(p.digest);
    else if (p.tag)
        tag = ud_strndup(p.tag, p.tag_len);
    else
        tag = ud_strdup("latest");
    if (!local || !remote || !tag)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");

    out->registry_host = ud_steal(&host);
    out->local_repo = ud_steal(&local);
    out->remote_repo = ud_steal(&remote);
    out->tag = ud_steal(&tag);
    out->is_digest = p.digest != NULL;
    out->is_docker_hub = hub;
    return 0;
}

void
ud_oci_ref_fini(struct ud_image_ref *ref)
{
    if (!ref)
        return;
    free(ref->registry_host);
    free(ref->local_repo);
    free(ref->remote_repo);
    free(ref->tag);
    memset(ref, 0, sizeof(*ref));
}

int
ud_oci_ref_split(const char *spec, char **repo, char **tag, struct ud_error *err)
{
    struct ud_image_ref ref = {0};
    int rc = ud_oci_ref_parse(spec, &ref, err);

    if (rc < 0)
        return rc;
    *repo = ud_steal(&ref.local_repo);
    *tag = ud_steal(&ref.tag);
    ud_oci_ref_fini(&ref);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Registry URL                                                        */
/* ------------------------------------------------------------------ */

/* Normalise an option value: "https://" when no scheme, only http(s),
 * no trailing '/'. */
static int
normalise_url(const char *opt, char **out, struct ud_error *err)
{
    size_t n = strlen(opt);
    const char *sep = strstr(opt, "://");
    const char *rest = sep ? sep + 3 : opt;

    if (n > 2048 || !is_graph_ascii(opt, n))
        return ud_error_set(err, UD_EINVAL, 0, "invalid registry URL '%.64s'", opt);
    if (sep && !((sep - opt == 5 && strncasecmp(opt, "https", 5) == 0) ||
                 (sep - opt == 4 && strncasecmp(opt, "http", 4) == 0)))
        return ud_error_set(err, UD_EINVAL, 0, "registry URL '%s' must use http or https", opt);
    while (n > (size_t)(rest - opt) && opt[n - 1] == '/')
        n--;
    if (n == (size_t)(rest - opt) || *rest == '/')
        return ud_error_set(err, UD_EINVAL, 0, "registry URL '%s' has no host", opt);
    char *u = sep ? ud_strndup(opt, n) : ud_asprintf("https://%.*s", (int)n, opt);
    if (!u)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    /* Schemes are case-insensitive (RFC 3986 3.1); HTTP clients want them lower. */
    for (char *c = u; *c != ':'; c++)
        *c = (char)tolower((unsigned char)*c);
    *out = u;
    return 0;
}

/* Does the URL's authority (host[:port]) equal host, ignoring case? */
static bool
url_names_host(const char *url, const char *host)
{
    const char *sep = strstr(url, "://");
    const char *a = sep ? sep + 3 : url;
    size_t alen = strcspn(a, "/");
    return alen == strlen(host) && strncasecmp(a, host, alen) == 0;
}

int
ud_oci_ref_registry_url(const struct ud_image_ref *ref, const char *registry_opt, char **url_out,
                        struct ud_error *err)
{
    const char *host = ref ? ref->registry_host : NULL;
    bool have_opt = registry_opt && registry_opt[0];
    char *u;

    if (host) {
        if (have_opt && url_names_host(registry_opt, host))
            return normalise_url(registry_opt, url_out, err);
        if (strcasecmp(host, "docker.io") == 0 || strcasecmp(host, "index.docker.io") == 0)
            u = ud_strdup(UD_OCI_DOCKER_HUB_REGISTRY);
        else
            u = ud_asprintf("https://%s", host);
    } else if (have_opt) {
        return normalise_url(registry_opt, url_out, err);
    } else {
        u = ud_strdup(UD_OCI_DOCKER_HUB_REGISTRY);
    }
    if (!u)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    *url_out = u;
    return 0;
}
