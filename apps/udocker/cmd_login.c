/* SPDX-License-Identifier: Apache-2.0 */
/*
 * udocker login [--username=U] [--password=P | --password-stdin] [--registry=URL]
 * udocker logout [-a] [--registry=URL]
 * Credentials go to the keystore (reference 3.4) as base64("user:pass")
 * under the registry URL. As upstream, login does not contact the
 * registry: a wrong password shows up at the next pull.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "image_pull.h"
#include "keystore_path.h"
#include "ud/registry-client.h"

#define LINE_MAX_BYTES 4096 /* a credential longer than this is not one */

/* Read one line from f without its line ending. NULL at EOF with nothing
 * read or on error. *ended (may be NULL) tells whether a newline ended it.
 * The caller wipes and frees it. */
static char *
read_line(FILE *f, bool *ended)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);

    if (ended != NULL)
        *ended = n > 0 && line[n - 1] == '\n';
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if ((size_t)n > LINE_MAX_BYTES) {
        explicit_bzero(line, (size_t)n);
        free(line);
        return NULL;
    }
    return line;
}

/* The terminal state to put back if the user interrupts the password
 * prompt: otherwise the shell is left without echo. */
static struct termios saved_tio;
static volatile sig_atomic_t tty_fd_for_signal = -1;

static void
restore_tty_and_die(int sig)
{
    if (tty_fd_for_signal >= 0)
        tcsetattr(tty_fd_for_signal, TCSAFLUSH, &saved_tio);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Show prompt on out and read a line from stdin. Unless a terminal echoed
 * the user's Enter, end the prompt's line here, so that whatever is printed
 * next (an "Error: " line) starts on a line of its own. */
static char *
prompt_stdin(FILE *out, const char *prompt)
{
    bool ended = false;
    char *line;

    fputs(prompt, out);
    fflush(out);
    line = read_line(stdin, &ended);
    if (!ended || !isatty(STDIN_FILENO)) {
        fputc('\n', out);
        fflush(out);
    }
    return line;
}

/* Prompt on the controlling terminal and read the answer there, with echo
 * (a user name). *no_tty is set when there is no terminal to ask on. */
static char *
read_tty_line(const char *prompt, bool *no_tty)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    bool ended = false;
    FILE *in;
    char *line;

    *no_tty = fd < 0 || !isatty(fd);
    if (*no_tty) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    in = fdopen(fd, "r");
    if (in == NULL) {
        close(fd);
        return NULL;
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        /* nothing sensible to do: still read */
    }
    line = read_line(in, &ended);
    if (!ended && write(fd, "\n", 1) < 0) {
        /* the newline is cosmetic */
    }
    fclose(in);
    return line;
}

/* Prompt on the controlling terminal and read without echo, like
 * getpass(3) (obsolete, hence not used). Without a terminal, prompt on
 * stderr and read stdin. */
static char *
read_password(const char *prompt)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    FILE *in = NULL;
    struct termios tio;
    struct sigaction sa, old_int, old_term;
    char *pw;

    if (fd < 0 || tcgetattr(fd, &saved_tio) < 0) {
        if (fd >= 0)
            close(fd);
        return prompt_stdin(stderr, prompt);
    }
    in = fdopen(fd, "r");
    if (in == NULL) {
        close(fd);
        return NULL;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = restore_tty_and_die;
    sigemptyset(&sa.sa_mask);
    tty_fd_for_signal = fd;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    tio = saved_tio;
    tio.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    if (write(fd, prompt, strlen(prompt)) < 0) {
        /* nothing sensible to do: still read */
    }
    tcsetattr(fd, TCSAFLUSH, &tio);
    pw = read_line(in, NULL);
    tcsetattr(fd, TCSAFLUSH, &saved_tio);
    if (write(fd, "\n", 1) < 0) {
        /* the newline is cosmetic */
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    tty_fd_for_signal = -1;
    fclose(in);
    return pw;
}

static void
wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Upstream's check: a password equal to its upper-case form may have been
 * typed with Caps Lock on. */
static bool
all_upper(const char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            return false;
    return true;
}

/* The keystore key: --registry (https:// assumed) or Docker Hub's URL. */
static int
registry_key(const struct ud_cli *cli, const char *registry_opt, char **out)
{
    struct ud_pull_site site = {0};
    struct ud_error e = {0};

    if (ud_pull_site_select(cli->conf, NULL, registry_opt, NULL, &site, &e) < 0) {
        ud_err("%s", e.msg);
        return -1;
    }
    *out = ud_steal(&site.registry_url);
    ud_pull_site_fini(&site);
    return 0;
}

static int
store_credentials(const struct ud_cli *cli, const char *url, const char *user, const char *pass)
{
    struct ud_error e = {0};
    cleanup_free char *path = NULL;
    char *pair = ud_asprintf("%s:%s", user, pass);
    char *b64 = NULL;
    int rc;

    if (pair == NULL) {
        ud_err("out of memory");
        return 1;
    }
    rc = ud_base64_encode(pair, strlen(pair), &b64, &e);
    wipe_free(pair);
    if (rc == 0)
        rc = ud_keystore_path_get(cli->conf, &path, &e);
    if (rc == 0)
        rc = ud_reg_keystore_set(path, url, b64, &e);
    wipe_free(b64);
    if (rc < 0) {
        ud_err("storing credentials: %s", e.msg);
        return 1;
    }
    return 0;
}

int
cmd_login(struct ud_cli *cli)
{
    static const char *const value_opts[] = {"--username=", "--password=", "--registry=", NULL};
    cleanup_free char *url = NULL;
    char *user = NULL;
    char *pass = NULL;
    int status = 1;

    ud_cmdline_declare(&cli->cl, value_opts);
    const char *user_opt = ud_cmdline_opt(&cli->cl, "--username=");
    const char *pass_opt = ud_cmdline_opt(&cli->cl, "--password=");
    bool pass_stdin = ud_cmdline_flag(&cli->cl, "--password-stdin");
    const char *registry_opt = ud_cmdline_opt(&cli->cl, "--registry=");
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (registry_key(cli, registry_opt, &url) < 0)
        return 1;

    if (user_opt != NULL && user_opt[0] != '\0') {
        user = ud_strdup(user_opt);
    } else if (!pass_stdin) {
        user = prompt_stdin(stdout, "username: ");
    } else {
        /* stdin carries the password: ask for the name on the terminal */
        bool no_tty = false;
        user = read_tty_line("username: ", &no_tty);
        if (no_tty) {
            ud_err("--password-stdin needs --username when there is no terminal to ask on");
            return 1;
        }
    }
    if (pass_opt != NULL && pass_opt[0] != '\0')
        pass = ud_strdup(pass_opt);
    else if (pass_stdin)
        pass = read_line(stdin, NULL);
    else
        pass = read_password("password: ");

    if (pass != NULL && pass[0] != '\0' && all_upper(pass))
        ud_out(UD_LOG_WARN, "Warning: password in uppercase Caps Lock ?");
    if (user == NULL || user[0] == '\0' || pass == NULL || pass[0] == '\0')
        ud_err("invalid credentials");
    else
        status = store_credentials(cli, url, user, pass);
    wipe_free(user);
    wipe_free(pass);
    return status;
}

int
cmd_logout(struct ud_cli *cli)
{
    static const char *const value_opts[] = {"--registry=", NULL};
    cleanup_free char *url = NULL;
    cleanup_free char *path = NULL;
    struct ud_error e = {0};
    int rc;

    ud_cmdline_declare(&cli->cl, value_opts);
    bool all = ud_cmdline_flag(&cli->cl, "-a");
    const char *registry_opt = ud_cmdline_opt(&cli->cl, "--registry=");
    if (ud_cmdline_leftover(&cli->cl))
        return 1;
    if (registry_key(cli, registry_opt, &url) < 0)
        return 1;
    rc = ud_keystore_path_get(cli->conf, &path, &e);
    if (rc == 0)
        rc = all ? ud_reg_keystore_delete_all(path, &e) : ud_reg_keystore_delete(path, url, &e);
    if (rc == UD_ENOENT) {
        ud_err("deleting credentials");
        return 1;
    }
    if (rc < 0) {
        ud_err("deleting credentials: %s", e.msg);
        return 1;
    }
    return 0;
}
