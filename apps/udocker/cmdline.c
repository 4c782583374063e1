/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command word model (reference 1.1): options are recognised only
 * before the first positional word, "--opt value" takes the next word only
 * when it does not start with '-', "-" alone is positional, and every word
 * nobody consumed is a syntax error.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int
ud_cmdline_init(struct ud_cmdline *cl, char **words, size_t n, struct ud_error *err)
{
    memset(cl, 0, sizeof(*cl));
    bool *consumed = ud_calloc(n ? n : 1, sizeof(bool));
    if (!consumed)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    cl->words = words;
    cl->consumed = consumed;
    cl->n = n;
    cl->first_pos = n;
    return 0;
}

void
ud_cmdline_fini(struct ud_cmdline *cl)
{
    free(cl->consumed);
    cl->consumed = NULL;
    cl->n = 0;
}

void
ud_cmdline_declare(struct ud_cmdline *cl, const char *const *decls)
{
    cl->value_opts = decls;
}

/* An option-looking word: starts with '-' and is not "-" alone. */
static bool
is_option_word(const char *w)
{
    return w[0] == '-' && w[1] != '\0';
}

/* Does word w name the declared value option decl ("--name=") without a
 * value attached ("--name")? */
static bool
is_bare_value_opt(const char *w, const char *decl)
{
    size_t dl = strlen(decl);
    if (dl < 2 || decl[dl - 1] != '=')
        return false;
    return strlen(w) == dl - 1 && strncmp(w, decl, dl - 1) == 0;
}

static bool
declared_value_opt(const struct ud_cmdline *cl, const char *w)
{
    if (!cl->value_opts)
        return false;
    for (size_t i = 0; cl->value_opts[i]; i++)
        if (is_bare_value_opt(w, cl->value_opts[i]))
            return true;
    return false;
}

/* Locate the first positional: the first word that is neither consumed,
 * nor option-looking, nor the separate value of a declared option. Empty
 * words are skipped here (upstream drops them) but kept after it, where
 * they may be meaningful arguments of a container command. */
static size_t
find_first_pos(struct ud_cmdline *cl)
{
    if (cl->pos_fixed)
        return cl->first_pos;
    size_t i = 0;
    while (i < cl->n) {
        const char *w = cl->words[i];
        if (cl->consumed[i] || w[0] == '\0') {
            i++;
            continue;
        }
        if (!is_option_word(w))
            break;
        if (declared_value_opt(cl, w) && i + 1 < cl->n && !is_option_word(cl->words[i + 1]) &&
            cl->words[i + 1][0] != '\0')
            i += 2;
        else
            i++;
    }
    cl->first_pos = i;
    return i;
}

bool
ud_cmdline_flag(struct ud_cmdline *cl, const char *flag)
{
    size_t end = find_first_pos(cl);
    bool found = false;
    for (size_t i = 0; i < end; i++) {
        if (!cl->consumed[i] && strcmp(cl->words[i], flag) == 0) {
            cl->consumed[i] = true;
            found = true;
        }
    }
    return found;
}

/* Collect the values of decl ("--name=") before the first positional,
 * consuming the words. cb receives each value in order. */
static void
scan_opt(struct ud_cmdline *cl, const char *decl, void (*cb)(void *, const char *), void *ctx)
{
    size_t dl = strlen(decl);
    bool takes_value = dl > 1 && decl[dl - 1] == '=';
    size_t end = find_first_pos(cl);
    for (size_t i = 0; i < end && i < cl->n; i++) {
        const char *w = cl->words[i];
        if (cl->consumed[i])
            continue;
        if (!takes_value) {
            if (strcmp(w, decl) == 0) {
                cl->consumed[i] = true;
                cb(ctx, w);
            }
            continue;
        }
        if (strncmp(w, decl, dl) == 0) {
            cl->consumed[i] = true;
            cb(ctx, w + dl);
        } else if (is_bare_value_opt(w, decl) && i + 1 < cl->n && !cl->consumed[i + 1] &&
                   cl->words[i + 1][0] != '-') {
            /* "--name value": the value may be the word that looked like
             * the first positional; locate it again afterwards. */
            cl->consumed[i] = true;
            cl->consumed[i + 1] = true;
            cb(ctx, cl->words[i + 1]);
            i++;
            if (!cl->pos_fixed)
                end = find_first_pos(cl);
        }
    }
}

static void
keep_last(void *ctx, const char *v)
{
    *(const char **)ctx = v;
}

const char *
ud_cmdline_opt(struct ud_cmdline *cl, const char *decl)
{
    const char *last = NULL;
    scan_opt(cl, decl, keep_last, &last);
    return last;
}

struct collect {
    const char **v;
    size_t n;
    bool oom;
};

static void
collect_one(void *ctx, const char *val)
{
    struct collect *c = ctx;
    if (c->oom)
        return;
    const char **nv = ud_realloc(c->v, (c->n + 2) * sizeof(*nv));
    if (!nv) {
        c->oom = true;
        return;
    }
    c->v = nv;
    c->v[c->n++] = val;
    c->v[c->n] = NULL;
}

const char **
ud_cmdline_opt_all(struct ud_cmdline *cl, const char *decl, size_t *count)
{
    struct collect c = {0};
    scan_opt(cl, decl, collect_one, &c);
    if (c.oom) {
        free(c.v);
        c.v = NULL;
        c.n = 0;
    }
    if (count)
        *count = c.n;
    return c.v;
}

const char *
ud_cmdline_pos(struct ud_cmdline *cl, size_t i)
{
    size_t start = find_first_pos(cl);
    cl->pos_fixed = true;
    if (start + i >= cl->n)
        return NULL;
    cl->consumed[start + i] = true;
    return cl->words[start + i];
}

char **
ud_cmdline_rest(struct ud_cmdline *cl, size_t i, size_t *count)
{
    size_t start = find_first_pos(cl);
    cl->pos_fixed = true;
    *count = 0;
    if (start + i >= cl->n)
        return NULL;
    size_t k = cl->n - (start + i);
    char **v = ud_calloc(k + 1, sizeof(char *));
    if (!v)
        return NULL;
    for (size_t j = 0; j < k; j++) {
        v[j] = cl->words[start + i + j];
        cl->consumed[start + i + j] = true;
    }
    *count = k;
    return v;
}

bool
ud_cmdline_leftover(struct ud_cmdline *cl)
{
    bool any = false;
    for (size_t i = 0; i < cl->n; i++) {
        if (cl->consumed[i] || (cl->words[i][0] == '\0' && !cl->pos_fixed))
            continue;
        if (cl->words[i][0] == '\0' && i < cl->first_pos)
            continue;
        if (!any)
            fputs("Error: syntax error at:", stderr);
        fprintf(stderr, " %s", cl->words[i]);
        any = true;
    }
    if (any)
        fputc('\n', stderr);
    return any;
}

static bool
is_ascii_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* "--name=VALUE" or "--name VALUE" (value not starting with '-'). Returns
 * the value or NULL; *i advances past a separate value. */
static const char *
general_value(int argc, char **argv, int *i, const char *name)
{
    size_t nl = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, nl) != 0)
        return NULL;
    if (a[nl] == '=')
        return a + nl + 1;
    if (a[nl] != '\0')
        return NULL;
    if (*i + 1 < argc && argv[*i + 1][0] != '-' && !is_ascii_letter(argv[*i + 1][0]) &&
        argv[*i + 1][0] != '\0') {
        (*i)++;
        return argv[*i];
    }
    return NULL;
}

static void
general_one(int argc, char **argv, int *i, struct ud_general *g)
{
    const char *a = argv[*i];
    const char *v;
    if (!strcmp(a, "-h") || !strcmp(a, "--help"))
        g->help = true;
    else if (!strcmp(a, "-V") || !strcmp(a, "--version"))
        g->version = true;
    else if (!strcmp(a, "-D") || !strcmp(a, "--debug"))
        g->verbosity = UD_LOG_DEBUG;
    else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
        g->verbosity = UD_LOG_MSG;
    else if (!strcmp(a, "--insecure"))
        g->insecure = true;
    else if (!strcmp(a, "--allow-root"))
        g->allow_root = true;
    else if ((v = general_value(argc, argv, i, "--repo")) != NULL)
        g->repo = v;
    else if ((v = general_value(argc, argv, i, "--config")) != NULL)
        g->config = v;
    else if (!g->bad)
        g->bad = a;
}

void
ud_general_parse(int argc, char **argv, struct ud_general *g)
{
    memset(g, 0, sizeof(*g));
    g->verbosity = -1;
    g->cmd_index = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '\0')
            continue;
        if (is_ascii_letter(a[0])) {
            g->cmd_index = i;
            return;
        }
        general_one(argc, argv, &i, g);
    }
}
