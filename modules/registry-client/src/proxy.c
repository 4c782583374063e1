/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which proxy a registry client uses, decided here rather than left to
 * libcurl's own reading of the environment, so that the rule is one
 * documented function, logged at -D and unit tested: an explicit proxy,
 * else the scheme's *_proxy variable, else all_proxy; no_proxy wins over
 * both for the registry's host (names, domain suffixes, IPs, IPv4 CIDR).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reg_int.h"

/* Host of url without brackets or port, lower-cased; NULL on ENOMEM. */
static char *
url_hostname(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *at = p + strcspn(p, "/?#");
    const char *cred = memchr(p, '@', (size_t)(at - p));
    if (cred)
        p = cred + 1;
    size_t n;
    if (*p == '[') {
        p++;
        n = strcspn(p, "]");
    } else {
        n = strcspn(p, ":/?#");
    }
    char *h = ud_strndup(p, n);
    for (char *q = h; q && *q; q++)
        *q = (char)tolower((unsigned char)*q);
    return h;
}

/* One no_proxy entry against host: "*", an exact name or IP, a domain
 * suffix ("example.com" and ".example.com" both cover a.example.com),
 * or an IPv4 CIDR block. A ":port" on the entry is ignored. */
static bool
entry_matches(const char *e, size_t elen, const char *host)
{
    char buf[256];
    if (elen == 0 || elen >= sizeof(buf))
        return false;
    memcpy(buf, e, elen);
    buf[elen] = '\0';
    if (strcmp(buf, "*") == 0)
        return true;
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        struct in_addr net, h;
        char *end = NULL;
        long bits = strtol(slash + 1, &end, 10);
        if (!end || *end || bits < 0 || bits > 32 || inet_pton(AF_INET, buf, &net) != 1 ||
            inet_pton(AF_INET, host, &h) != 1)
            return false;
        uint32_t mask = bits == 0 ? 0 : htonl(~0u << (32 - bits));
        return (net.s_addr & mask) == (h.s_addr & mask);
    }
    if (buf[0] != '[') {
        char *colon = strchr(buf, ':');
        if (colon && !strchr(colon + 1, ':'))
            *colon = '\0'; /* host:port; a bare IPv6 address keeps its colons */
    } else {
        char *close = strchr(buf, ']');
        if (close)
            *close = '\0';
        memmove(buf, buf + 1, strlen(buf));
    }
    const char *name = buf[0] == '.' ? buf + 1 : buf;
    size_t nl = strlen(name), hl = strlen(host);
    if (nl == 0)
        return false;
    if (strcasecmp(name, host) == 0)
        return true;
    return hl > nl && host[hl - nl - 1] == '.' && strcasecmp(host + hl - nl, name) == 0;
}

bool
ud_reg_no_proxy_match(const char *no_proxy, const char *host)
{
    if (!no_proxy || !host || !*host)
        return false;
    const char *p = no_proxy;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        size_t n = strcspn(p, ", \t");
        if (n && entry_matches(p, n, host))
            return true;
        p += n;
    }
    return false;
}

static const char *
env_first(ud_reg_getenv_fn getenv_fn, const char *a, const char *b)
{
    const char *v = a ? getenv_fn(a) : NULL;
    if (v && *v)
        return v;
    v = b ? getenv_fn(b) : NULL;
    return v && *v ? v : NULL;
}

int
ud_reg_proxy_select(const char *url, const char *explicit_proxy, ud_reg_getenv_fn getenv_fn,
                    char **out, const char **why, struct ud_error *err)
{
    const char *src = NULL, *proxy = NULL;
    if (!getenv_fn)
        getenv_fn = getenv;
    cleanup_free char *host = url ? url_hostname(url) : NULL;
    if (!host)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    const char *no_proxy = env_first(getenv_fn, "no_proxy", "NO_PROXY");
    if (explicit_proxy && *explicit_proxy) {
        proxy = explicit_proxy;
        src = "--httpproxy/http_proxy setting";
    } else if (ud_str_has_prefix(url, "https://")) {
        proxy = env_first(getenv_fn, "https_proxy", "HTTPS_PROXY");
        src = "https_proxy";
    } else {
        /* Upper-case HTTP_PROXY is ignored, as libcurl does: a CGI
         * environment sets it from a request header (httpoxy). */
        proxy = env_first(getenv_fn, "http_proxy", NULL);
        src = "http_proxy";
    }
    if (!proxy) {
        proxy = env_first(getenv_fn, "all_proxy", "ALL_PROXY");
        src = "all_proxy";
    }
    if (proxy && ud_reg_no_proxy_match(no_proxy, host)) {
        if (why)
            *why = "no_proxy";
        *out = NULL;
        return 0;
    }
    if (why)
        *why = proxy ? src : "no proxy configured";
    if (!proxy) {
        *out = NULL;
        return 0;
    }
    if (strpbrk(proxy, " \t\r\n"))
        return ud_error_set(err, UD_EINVAL, 0, "invalid proxy URL (from %s)", src);
    if (!(*out = ud_strdup(proxy)))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    return 0;
}
