/* SPDX-License-Identifier: Apache-2.0 */
/*
 * WWW-Authenticate parser (RFC 7235 section 4.1 and 2.1). Registries send
 * challenges with quoted scopes holding commas ("repository:a:pull,push"),
 * optional spaces around ',' and '=', mixed-case schemes and sometimes
 * several challenges in one value; a naive split on ',' breaks all of these.
 */
#include <ctype.h>
#include <string.h>

#include "reg_int.h"

#define HDR_MAX 8192
#define PARAMS_MAX 64
#define CHALLENGES_MAX 16

/* tchar from RFC 7230 3.2.6, plus '/' which token68 allows. */
static bool
is_tchar(int ch)
{
    if (isalnum(ch))
        return true;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~/", ch) != NULL;
}

static const char *
skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* p points at '=': true when only '='s then end or ',' follow (token68). */
static bool
is_token68_tail(const char *p)
{
    while (*p == '=')
        p++;
    p = skip_ows(p);
    return *p == '\0' || *p == ',';
}

static char *
dup_lower(const char *s, size_t n)
{
    char *d = ud_strndup(s, n);
    if (d)
        for (size_t i = 0; i < n; i++)
            d[i] = (char)tolower((unsigned char)d[i]);
    return d;
}

static void
challenge_fini(struct ud_reg_challenge *ch)
{
    for (size_t i = 0; i < ch->nparams; i++) {
        free(ch->params[i].key);
        free(ch->params[i].value);
    }
    free(ch->params);
    free(ch->scheme);
    free(ch->token68);
    memset(ch, 0, sizeof(*ch));
}

void
ud_reg_challenges_fini(struct ud_reg_challenges *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        challenge_fini(&c->items[i]);
    free(c->items);
    c->items = NULL;
    c->n = 0;
}

const char *
ud_reg_challenge_param(const struct ud_reg_challenge *ch, const char *key)
{
    if (!ch || !key)
        return NULL;
    for (size_t i = 0; i < ch->nparams; i++)
        if (strcasecmp(ch->params[i].key, key) == 0)
            return ch->params[i].value;
    return NULL;
}

/* Parse a quoted-string at p (at the opening quote) into *out. */
static int
parse_quoted(const char **pp, char **out, struct ud_error *err)
{
    const char *p = *pp + 1;
    size_t cap = strlen(p) + 1;
    char *v = ud_malloc(cap);
    size_t n = 0;
    if (!v)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (;;) {
        if (*p == '\0') {
            free(v);
            return ud_error_set(err, UD_EPARSE, 0, "WWW-Authenticate: unterminated quoted string");
        }
        if (*p == '"')
            break;
        if (*p == '\\' && p[1] != '\0')
            p++;
        v[n++] = *p++;
    }
    v[n] = '\0';
    *pp = p + 1;
    *out = v;
    return 0;
}

static int
add_param(struct ud_reg_challenge *ch, const char *k, size_t klen, char *value,
          struct ud_error *err)
{
    if (ch->nparams >= PARAMS_MAX) {
        free(value);
        return ud_error_set(err, UD_ETOOBIG, 0, "WWW-Authenticate: too many parameters");
    }
    struct ud_reg_auth_param *np = ud_realloc(ch->params, (ch->nparams + 1) * sizeof(*ch->params));
    if (!np) {
        free(value);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    ch->params = np;
    char *key = dup_lower(k, klen);
    if (!key) {
        free(value);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    ch->params[ch->nparams].key = key;
    ch->params[ch->nparams].value = value;
    ch->nparams++;
    return 0;
}

/* At p: '=' after key k. Parse OWS value (quoted or token), add it. */
static int
parse_param(const char **pp, struct ud_reg_challenge *ch, const char *k, size_t klen,
            struct ud_error *err)
{
    if (memchr(k, '/', klen))
        return ud_error_set(err, UD_EPARSE, 0, "WWW-Authenticate: bad parameter name");
    const char *p = skip_ows(*pp + 1);
    char *value = NULL;
    if (*p == '"') {
        int rc = parse_quoted(&p, &value, err);
        if (rc < 0)
            return rc;
    } else {
        /* Servers send unquoted values with ':' (scopes); accept anything
         * up to a delimiter rather than only RFC tchars. */
        const char *s = p;
        while (*p && (unsigned char)*p > ' ' && *p != ',' && *p != '"' && *p != 0x7f)
            p++;
        value = ud_strndup(s, (size_t)(p - s));
        if (!value)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    int rc = add_param(ch, k, klen, value, err);
    if (rc < 0)
        return rc;
    p = skip_ows(p);
    if (*p != '\0' && *p != ',')
        return ud_error_set(err, UD_EPARSE, 0, "WWW-Authenticate: junk after parameter value");
    *pp = p;
    return 0;
}

static int
new_challenge(struct ud_reg_challenges *cs, const char *s, size_t n, struct ud_error *err)
{
    if (memchr(s, '/', n) || memchr(s, '=', n))
        return ud_error_set(err, UD_EPARSE, 0, "WWW-Authenticate: bad scheme name");
    if (cs->n >= CHALLENGES_MAX)
        return ud_error_set(err, UD_ETOOBIG, 0, "WWW-Authenticate: too many challenges");
    struct ud_reg_challenge *ni = ud_realloc(cs->items, (cs->n + 1) * sizeof(*cs->items));
    if (!ni)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    cs->items = ni;
    memset(&ni[cs->n], 0, sizeof(ni[cs->n]));
    ni[cs->n].scheme = dup_lower(s, n);
    if (!ni[cs->n].scheme)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    cs->n++;
    return 0;
}

/* Right after a scheme: an optional token68 or the first auth-param. */
static int
parse_after_scheme(const char **pp, struct ud_reg_challenge *ch, struct ud_error *err)
{
    const char *p = skip_ows(*pp);
    if (*p == '\0' || *p == ',') {
        *pp = p;
        return 0;
    }
    if (p == *pp)
        return ud_error_set(err, UD_EPARSE, 0, "WWW-Authenticate: expected space after scheme");
    const char *t = p;
    while (is_tchar((unsigned char)*p))
        p++;
    size_t tlen = (size_t)(p - t);
    if (tlen == 0)
        return ud_error_set(err, UD_EPARSE, 0, "WWW-Authenticate: unexpected character");
    const char *q = skip_ows(p);
    if (*q == '=' && !is_token68_tail(q)) {
        *pp = q;
        return parse_param(pp, ch, t, tlen, err);
    }
    /* token68: the token plus its trailing '=' padding. */
    while (*p == '=')
        p++;
    ch->token68 = ud_strndup(t, (size_t)(p - t));
    if (!ch->token68)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    p = skip_ows(p);
    if (*p != '\0' && *p != ',')
        return ud_error_set(err, UD_EPARSE, 0, "WWW-Authenticate: junk after token68");
    *pp = p;
    return 0;
}

static int
parse_all(const char *hdr, struct ud_reg_challenges *cs, struct ud_error *err)
{
    const char *p = hdr;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        const char *t = p;
        while (is_tchar((unsigned char)*p))
            p++;
        size_t tlen = (size_t)(p - t);
        if (tlen == 0)
            return ud_error_set(err, UD_EPARSE, 0, "WWW-Authenticate: unexpected character");
        const char *q = skip_ows(p);
        int rc;
        if (*q == '=' && cs->n > 0 && !is_token68_tail(q)) {
            p = q;
            rc = parse_param(&p, &cs->items[cs->n - 1], t, tlen, err);
        } else {
            rc = new_challenge(cs, t, tlen, err);
            if (rc == 0)
                rc = parse_after_scheme(&p, &cs->items[cs->n - 1], err);
        }
        if (rc < 0)
            return rc;
    }
    if (cs->n == 0)
        return ud_error_set(err, UD_EPARSE, 0, "WWW-Authenticate: no challenge");
    return 0;
}

int
ud_reg_www_authenticate_parse(const char *hdr, struct ud_reg_challenges *out, struct ud_error *err)
{
    if (!hdr || !out)
        return ud_error_set(err, UD_EINVAL, 0, "WWW-Authenticate: no header");
    if (strlen(hdr) > HDR_MAX)
        return ud_error_set(err, UD_ETOOBIG, 0, "WWW-Authenticate: header too long");
    struct ud_reg_challenges cs = {0};
    int rc = parse_all(hdr, &cs, err);
    if (rc < 0) {
        ud_reg_challenges_fini(&cs);
        return rc;
    }
    *out = cs;
    return 0;
}
