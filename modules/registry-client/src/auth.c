/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Answering registry challenges (distribution token spec): Bearer gets a
 * token from the realm, sending stored Basic credentials if any; Basic sends
 * the stored credentials directly. The resulting header is cached per
 * repository so blob requests reuse it.
 */
#include <jansson.h>
#include <string.h>

#include "reg_int.h"

#define TOKEN_BODY_MAX (1024 * 1024)

const char *
reg_token_get(struct ud_reg_client *c, const char *repo)
{
    if (!repo)
        repo = "";
    for (struct reg_token *t = c->tokens; t; t = t->next)
        if (strcmp(t->repo, repo) == 0)
            return t->authz;
    return NULL;
}

void
reg_tokens_free(struct ud_reg_client *c)
{
    while (c->tokens) {
        struct reg_token *t = c->tokens;
        c->tokens = t->next;
        free(t->repo);
        free(t->authz);
        free(t);
    }
}

/* Takes ownership of authz. */
static int
token_put(struct ud_reg_client *c, const char *repo, char *authz, struct ud_error *err)
{
    if (!repo)
        repo = "";
    for (struct reg_token *t = c->tokens; t; t = t->next) {
        if (strcmp(t->repo, repo) == 0) {
            free(t->authz);
            t->authz = authz;
            c->token_gen++;
            return 0;
        }
    }
    struct reg_token *t = ud_calloc(1, sizeof(*t));
    if (!t || !(t->repo = ud_strdup(repo))) {
        free(t);
        free(authz);
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    t->authz = authz;
    t->next = c->tokens;
    c->tokens = t;
    c->token_gen++;
    return 0;
}

/* realm?k=v&... with every parameter except realm and error, values
 * percent-encoded (a scope such as "repository:a/b:pull,push" holds ':',
 * '/' and ',' which must survive the round trip). */
static int
token_url(const struct ud_reg_challenge *ch, const char *realm, char **out, struct ud_error *err)
{
    struct ud_buf b;
    ud_buf_init(&b, 16384);
    int rc = ud_buf_append(&b, realm, strlen(realm), err);
    char sep = strchr(realm, '?') ? '&' : '?';
    for (size_t i = 0; rc == 0 && i < ch->nparams; i++) {
        const char *k = ch->params[i].key;
        if (strcmp(k, "realm") == 0 || strcmp(k, "error") == 0 ||
            strcmp(k, "error_description") == 0)
            continue;
        char *ek = reg_url_escape(k, false), *ev = reg_url_escape(ch->params[i].value, false);
        if (!ek || !ev)
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        else
            rc = ud_buf_appendf(&b, err, "%c%s=%s", sep, ek, ev);
        free(ek);
        free(ev);
        sep = '&';
    }
    if (rc == 0 && !(*out = ud_buf_steal(&b)))
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    ud_buf_fini(&b);
    return rc;
}

/* Pull "token" (or OAuth2's "access_token") out of the realm's answer. */
static int
token_from_json(const char *body, size_t len, char **out, struct ud_error *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (!j)
        return ud_error_set(err, UD_EAUTH, 0, "token endpoint answered invalid JSON: %s",
                            jerr.text);
    const char *tok = json_string_value(json_object_get(j, "token"));
    if (!tok || !*tok)
        tok = json_string_value(json_object_get(j, "access_token"));
    int rc = 0;
    if (!tok || !*tok || strpbrk(tok, "\r\n"))
        rc = ud_error_set(err, UD_EAUTH, 0, "token endpoint answered without a token");
    else if (!(*out = ud_asprintf("Authorization: Bearer %s", tok)))
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    json_decref(j);
    return rc;
}

/* OAuth2 refresh (Docker's identitytoken): POST to the realm with
 * grant_type=refresh_token and the challenge's service and scope. */
static int
refresh_form(struct ud_reg_client *c, const struct ud_reg_challenge *ch, char **out,
             struct ud_error *err)
{
    struct ud_buf b;
    int rc = 0;
    ud_buf_init(&b, 65536);
    const char *keys[] = {"service", "scope"};
    cleanup_free char *tok = reg_url_escape(c->identity_token, false);
    if (!tok)
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    else
        rc = ud_buf_appendf(&b, err, "grant_type=refresh_token&client_id=udocker&refresh_token=%s",
                            tok);
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        const char *v = ud_reg_challenge_param(ch, keys[i]);
        if (!v)
            continue;
        char *ev = reg_url_escape(v, false);
        rc = ev ? ud_buf_appendf(&b, err, "&%s=%s", keys[i], ev)
                : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        free(ev);
    }
    if (rc == 0 && !(*out = ud_buf_steal(&b)))
        rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    ud_buf_fini(&b);
    return rc;
}

static int
bearer(struct ud_reg_client *c, const char *repo, const struct ud_reg_challenge *ch,
       struct ud_error *err)
{
    const char *realm = ud_reg_challenge_param(ch, "realm");
    const char *error = ud_reg_challenge_param(ch, "error");
    cleanup_free char *url = NULL;
    cleanup_free char *basic = NULL;
    cleanup_free char *authz = NULL;
    if (error && strcmp(error, "insufficient_scope") == 0)
        return ud_error_set(err, UD_EAUTH, 0, "not authorized: insufficient scope");
    if (!realm || !*realm)
        return ud_error_set(err, UD_EAUTH, 0, "bearer challenge without realm");
    if (!ud_str_has_prefix(realm, "https://") && !ud_str_has_prefix(realm, "http://"))
        return ud_error_set(err, UD_EAUTH, 0, "bearer realm is not an http(s) URL");
    cleanup_free char *form = NULL;
    int rc = c->identity_token ? refresh_form(c, ch, &form, err) : token_url(ch, realm, &url, err);
    if (rc < 0)
        return rc;
    if (form && !(url = ud_strdup(realm)))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (!form && c->auth_b64 && !(basic = ud_asprintf("Authorization: Basic %s", c->auth_b64)))
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    struct reg_request req = {.url = url,
                              .repo = repo,
                              .body_max = TOKEN_BODY_MAX,
                              .no_auth = true,
                              .authz = basic,
                              .post_form = form};
    struct reg_response resp = {0};
    ud_log(UD_LOG_DEBUG, "registry: token request %.200s", url);
    rc = reg_http_get(c, &req, &resp, err);
    if (rc == 0 && (resp.status == 401 || resp.status == 403))
        rc = ud_error_set(err, UD_EAUTH, 0, "%s (token endpoint HTTP %ld)",
                          c->auth_b64 || form ? "authentication failed" : "not authorized",
                          resp.status);
    else if (rc == 0 && resp.status != 200)
        rc = ud_error_set(err, UD_EAUTH, 0, "token endpoint answered HTTP %ld", resp.status);
    if (rc == 0)
        rc = token_from_json(resp.body, resp.len, &authz, err);
    reg_response_fini(&resp);
    if (rc < 0)
        return rc;
    return token_put(c, repo, ud_steal(&authz), err);
}

int
reg_auth_negotiate(struct ud_reg_client *c, const char *repo, const char *www_auth,
                   struct ud_error *err)
{
    struct ud_reg_challenges cs = {0};
    struct ud_error perr = {0};
    int rc = ud_reg_www_authenticate_parse(www_auth, &cs, &perr);
    if (rc == UD_ENOMEM)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    if (rc < 0)
        return ud_error_set(err, UD_EAUTH, 0, "unreadable authentication challenge: %s", perr.msg);
    const struct ud_reg_challenge *bear = NULL, *basic = NULL;
    for (size_t i = 0; i < cs.n; i++) {
        if (!bear && strcmp(cs.items[i].scheme, "bearer") == 0)
            bear = &cs.items[i];
        if (!basic && strcmp(cs.items[i].scheme, "basic") == 0)
            basic = &cs.items[i];
    }
    if (bear) {
        rc = bearer(c, repo, bear, err);
    } else if (basic && c->auth_b64) {
        char *h = ud_asprintf("Authorization: Basic %s", c->auth_b64);
        rc = h ? token_put(c, repo, h, err) : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    } else if (basic) {
        rc = ud_error_set(err, UD_EAUTH, 0, "registry requires credentials (use login)");
    } else {
        rc = ud_error_set(err, UD_EAUTH, 0, "unsupported authentication scheme %s",
                          cs.items[0].scheme);
    }
    ud_reg_challenges_fini(&cs);
    return rc;
}
