/* SPDX-License-Identifier: Apache-2.0 */
/*
 * udocker search [-a] [--no-trunc] [--list-tags] [--index=URL]
 *                [--registry=URL] [--httpproxy=URL] EXPR
 * Pages of search results in upstream's columns (reference 1.6, 3.7), or
 * the tags of one repository with --list-tags. Text from the registry is
 * reduced to printable ASCII before it reaches the terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "image_pull.h"
#include "ud/oci-manifest.h"
#include "ud/registry-client.h"

#define SEARCH_MAX_PAGES 1000 /* -a on a huge index must end */

/* Terminal rows from /dev/tty, 24 when there is none (upstream runs
 * "stty size" on /dev/tty with the same default). */
static int
terminal_rows(void)
{
    struct winsize ws;
    int rows = 24;
    int fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);

    if (fd >= 0) {
        if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
            rows = ws.ws_row;
        close(fd);
    }
    return rows;
}

/* Copy s keeping printable ASCII only, up to the first line break. */
static char *
printable(const char *s)
{
    size_t n = s ? strcspn(s, "\r\n") : 0;
    char *out = ud_malloc(n + 1);
    size_t k = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f)
            out[k++] = s[i];
    out[k] = '\0';
    return out;
}

static void
print_row(const char *name, const char *official, const char *desc, const char *stars,
          bool no_trunc, int level)
{
    if (no_trunc)
        ud_out(level, "%-55s %8s %-70s %5s", name, official, desc, stars);
    else
        ud_out(level, "%-55.80s %8.8s %-70.70s %5.5s", name, official, desc, stars);
}

static void
print_results(const struct ud_reg_search_page *pg, bool no_trunc)
{
    for (size_t i = 0; i < pg->n; i++) {
        const struct ud_reg_search_result *r = &pg->results[i];
        cleanup_free char *name = printable(r->name);
        cleanup_free char *desc = printable(r->description);
        char stars[24];
        snprintf(stars, sizeof(stars), "%lld", (long long)r->stars);
        print_row(name ? name : "", r->official ? "[OK]" : "----", desc ? desc : "", stars,
                  no_trunc, UD_LOG_MSG);
    }
}

/* Between pages: false when the user wants to stop. */
static bool
ask_more(void)
{
    char line[64];

    fputs("[return or q to quit]", stdout);
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL)
        return false;
    return !(line[0] == 'q' || line[0] == 'Q' || line[0] == 'e' || line[0] == 'E');
}

/* Split "quay.io/foo:tag" into the registry host ("quay.io", or NULL) and
 * the search term ("foo"): the host selects the registry, tags mean
 * nothing to a search. */
static int
split_expr(const char *expr, char **host, char **term)
{
    const char *slash = strchr(expr, '/');
    const char *rest = expr;
    *host = NULL;
    if (slash != NULL) {
        size_t hl = (size_t)(slash - expr);
        if (memchr(expr, '.', hl) || memchr(expr, ':', hl) ||
            (hl == 9 && strncmp(expr, "localhost", 9) == 0)) {
            *host = ud_strndup(expr, hl);
            if (*host == NULL)
                return -1;
            rest = slash + 1;
        }
    }
    *term = ud_strndup(rest, strcspn(rest, ":@"));
    if (*term == NULL) {
        free(*host);
        *host = NULL;
        return -1;
    }
    return 0;
}

static int
open_client(struct ud_cli *cli, const char *host, const char *registry_opt, const char *index_opt,
            const char *proxy, struct ud_pull_site *site, struct ud_reg_client **client)
{
    struct ud_error e = {0};

    if (ud_pull_site_select(cli->conf, host, registry_opt, index_opt, site, &e) < 0 ||
        ud_pull_client_open(cli, site, proxy, NULL, NULL, NULL, client, &e) < 0) {
        ud_err("%s", e.msg);
        return -1;
    }
    return 0;
}

static int
list_tags(struct ud_cli *cli, const char *spec, const char *registry_opt, const char *index_opt,
          const char *proxy)
{
    struct ud_image_ref ref = {0};
    struct ud_pull_site site = {0};
    struct ud_reg_client *client = NULL;
    struct ud_error e = {0};
    char **tags = NULL;
    char *remote = NULL;
    int status = 1;

    if (spec == NULL || ud_oci_ref_parse(spec, &ref, &e) < 0) {
        ud_err("must specify image:tag or repository/image:tag");
        return 1;
    }
    if (open_client(cli, ref.registry_host, registry_opt, index_opt, proxy, &site, &client) < 0)
        goto out;
    if (ud_pull_remote_repo(cli->conf, &ref, &site, &remote, &e) < 0) {
        ud_err("%s", e.msg);
        goto out;
    }
    if (ud_reg_tags_list(client, remote, &tags, &e) < 0) {
        ud_err("listing tags: %s", e.msg);
        goto out;
    }
    for (size_t i = 0; tags[i] != NULL; i++) {
        cleanup_free char *t = printable(tags[i]);
        ud_out(UD_LOG_MSG, "%s", t ? t : "");
    }
    status = 0;
out:
    free(remote);
    ud_strv_free(tags);
    ud_reg_client_free(client);
    ud_pull_site_fini(&site);
    ud_oci_ref_fini(&ref);
    return status;
}

struct search_args {
    bool all;
    bool no_trunc;
    const char *registry_opt;
    const char *index_opt;
    const char *proxy;
};

static int
search(struct ud_cli *cli, const char *expr, const struct search_args *a)
{
    cleanup_free char *host = NULL;
    cleanup_free char *term = NULL;
    struct ud_pull_site site = {0};
    struct ud_reg_client *client = NULL;
    struct ud_error e = {0};
    int rows = terminal_rows() - 2;
    bool interactive = !a->all && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    int status = 1;

    if (rows < 1)
        rows = 1;
    if (split_expr(expr ? expr : "", &host, &term) < 0) {
        ud_err("out of memory");
        return 1;
    }
    if (open_client(cli, host, a->registry_opt, a->index_opt, a->proxy, &site, &client) < 0)
        goto out;
    for (int page = 1; page <= SEARCH_MAX_PAGES; page++) {
        struct ud_reg_search_page pg = {0};
        if (ud_reg_search(client, site.index_url, term, page, rows, &pg, &e) < 0) {
            if (page == 1) {
                ud_err("searching: %s", e.msg);
                goto out;
            }
            break;
        }
        if (page == 1)
            print_row("NAME", "OFFICIAL", "DESCRIPTION", "STARS", a->no_trunc, UD_LOG_INFO);
        print_results(&pg, a->no_trunc);
        bool last = pg.last || pg.n == 0;
        ud_reg_search_page_fini(&pg);
        /* Without a terminal to ask and without -a, one page is the
         * answer: a pipe must not walk the whole index. */
        if (last || (!a->all && !interactive) || (interactive && !ask_more()))
            break;
    }
    status = 0;
out:
    ud_reg_client_free(client);
    ud_pull_site_fini(&site);
    return status;
}

int
cmd_search(struct ud_cli *cli)
{
    static const char *const value_opts[] = {"--index=", "--registry=", "--httpproxy=", NULL};
    struct search_args a = {0};

    ud_cmdline_declare(&cli->cl, value_opts);
    a.all = ud_cmdline_flag(&cli->cl, "-a");
    a.no_trunc = ud_cmdline_flag(&cli->cl, "--no-trunc");
    bool tags = ud_cmdline_flag(&cli->cl, "--list-tags");
    a.index_opt = ud_cmdline_opt(&cli->cl, "--index=");
    a.registry_opt = ud_cmdline_opt(&cli->cl, "--registry=");
    a.proxy = ud_cmdline_opt(&cli->cl, "--httpproxy=");
    const char *expr = ud_cmdline_pos(&cli->cl, 0);
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (tags)
        return list_tags(cli, expr, a.registry_opt, a.index_opt, a.proxy);
    return search(cli, expr, &a);
}
