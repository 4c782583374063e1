/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Search (behaviour reference 3.7): the first of index v2, index v1,
 * registry v2, registry v1 that answers is used. Upstream decides the last
 * page with "count == page", which is wrong; here a page is the last when
 * it is empty, when v2 says there is no "next", when page * page_size
 * reaches "count", or when v1's page reaches "num_pages".
 */
#include <jansson.h>
#include <string.h>

#include "reg_int.h"

#define SEARCH_BODY_MAX (4 * 1024 * 1024)
#define SEARCH_RESULTS_MAX 1000

void
ud_reg_search_page_fini(struct ud_reg_search_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->results[i].name);
        free(p->results[i].description);
    }
    free(p->results);
    memset(p, 0, sizeof(*p));
}

static const char *
str_field(json_t *o, const char *a, const char *b)
{
    const char *v = json_string_value(json_object_get(o, a));
    if (!v && b)
        v = json_string_value(json_object_get(o, b));
    return v;
}

static int
parse_results(json_t *arr, struct ud_reg_search_page *out, struct ud_error *err)
{
    size_t n = json_array_size(arr);
    if (n > SEARCH_RESULTS_MAX)
        n = SEARCH_RESULTS_MAX;
    if (n == 0)
        return 0;
    out->results = ud_calloc(n, sizeof(*out->results));
    if (!out->results)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        const char *name = str_field(o, "repo_name", "name");
        const char *desc = str_field(o, "short_description", "description");
        if (!name)
            continue;
        struct ud_reg_search_result *r = &out->results[out->n];
        r->name = ud_strdup(name);
        r->description = ud_strdup(desc ? desc : "");
        json_t *stars = json_object_get(o, "star_count");
        r->stars = json_is_integer(stars) ? (int64_t)json_integer_value(stars) : 0;
        r->official = json_is_true(json_object_get(o, "is_official"));
        out->n++;
        if (!r->name || !r->description)
            return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    return 0;
}

/* Fill out from one endpoint's JSON; v2 tells whether it is the v2 API. */
static int
parse_page(const char *body, size_t len, bool v2, int page, int page_size,
           struct ud_reg_search_page *out, struct ud_error *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (!j)
        return ud_error_set(err, UD_EPARSE, 0, "search: %s", jerr.text);
    struct ud_reg_search_page p = {0};
    int rc = json_is_object(j) ? parse_results(json_object_get(j, "results"), &p, err)
                               : ud_error_set(err, UD_EPARSE, 0, "search: not a JSON object");
    if (rc == 0) {
        p.last = p.n == 0;
        if (v2) {
            json_t *next = json_object_get(j, "next");
            json_t *count = json_object_get(j, "count");
            if (next && !json_is_string(next))
                p.last = true;
            if (json_is_integer(count) && (json_int_t)page * page_size >= json_integer_value(count))
                p.last = true;
        } else {
            json_t *np = json_object_get(j, "num_pages");
            if (!json_is_integer(np) || page >= json_integer_value(np))
                p.last = true;
        }
    }
    json_decref(j);
    if (rc < 0) {
        ud_reg_search_page_fini(&p);
        return rc;
    }
    *out = p;
    return 0;
}

static char *
endpoint_url(const char *base, bool v2, const char *q, int page, int page_size)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (v2 && page > 1)
        return ud_asprintf("%.*s/v2/search/repositories?query=%s&page_size=%d&page=%d", (int)n,
                           base, q, page_size, page);
    if (v2)
        return ud_asprintf("%.*s/v2/search/repositories?query=%s&page_size=%d", (int)n, base, q,
                           page_size);
    return ud_asprintf("%.*s/v1/search?q=%s&n=%d&page=%d", (int)n, base, q, page_size, page);
}

/* Try one endpoint: 1 when it does not serve search (try the next). */
static int
try_endpoint(struct ud_reg_client *c, const char *base, bool v2, const char *q, int page,
             int page_size, struct ud_reg_search_page *out, struct ud_error *err)
{
    cleanup_free char *url = endpoint_url(base, v2, q, page, page_size);
    cleanup_free char *key = ud_asprintf("search:%s", base);
    if (!url || !key)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    struct reg_request req = {.url = url, .repo = key, .body_max = SEARCH_BODY_MAX};
    struct reg_response resp = {0};
    int rc = reg_http_get(c, &req, &resp, err);
    if (rc == UD_ENET) {
        ud_log(UD_LOG_DEBUG, "registry: search endpoint %s unreachable", url);
        return 1;
    }
    if (rc == 0 && resp.status == 200)
        rc = parse_page(resp.body, resp.len, v2, page, page_size, out, err);
    else if (rc == 0 && (resp.status == 401 || resp.status == 403))
        rc = ud_error_set(err, UD_EAUTH, 0, "search not authorized at %s", base);
    else if (rc == 0)
        rc = 1;
    reg_response_fini(&resp);
    return rc;
}

int
ud_reg_search(struct ud_reg_client *c, const char *index_url, const char *expr, int page,
              int page_size, struct ud_reg_search_page *out, struct ud_error *err)
{
    if (!c || !out)
        return ud_error_set(err, UD_EINVAL, 0, "search: bad argument");
    if (page < 1)
        page = 1;
    if (page_size <= 0)
        page_size = 25;
    if (page_size > 100)
        page_size = 100;
    cleanup_free char *q = reg_url_escape(expr && *expr ? expr : "*", false);
    if (!q)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    const char *bases[4] = {index_url, index_url, c->registry, c->registry};
    for (int i = 0; i < 4; i++) {
        if (!bases[i] || !*bases[i] || (i >= 2 && index_url && strcmp(index_url, c->registry) == 0))
            continue;
        int rc = try_endpoint(c, bases[i], i % 2 == 0, q, page, page_size, out, err);
        if (rc <= 0)
            return rc;
    }
    return ud_error_set(err, UD_ENOTFOUND, 0, "no search endpoint answered");
}
