/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials left by "docker login": the Docker CLI's config.json
 * ("auths" entries with auth or identitytoken, "credsStore" and
 * "credHelpers") and the docker-credential-<name> helper protocol, run
 * with a time limit so a hanging helper cannot hang a pull.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reg_int.h"

#define DOCKERCFG_MAX (1024 * 1024)
#define HELPER_OUT_MAX (64 * 1024)
#define HUB_SERVER "https://index.docker.io/v1/"

extern char **environ;

void
ud_reg_docker_auth_fini(struct ud_reg_docker_auth *a)
{
    if (!a)
        return;
    free(a->auth_b64);
    free(a->identity_token);
    free(a->helper);
    free(a->server);
    memset(a, 0, sizeof(*a));
}

/* "host[:port]" of a config key or registry URL, lower-cased, with the
 * Docker Hub aliases folded into "index.docker.io". Writes into buf. */
static bool
server_host(const char *s, char *buf, size_t cap)
{
    static const char *const hub[] = {"docker.io", "index.docker.io", "registry-1.docker.io",
                                      "registry.hub.docker.com"};
    const char *p = strstr(s, "://");
    p = p ? p + 3 : s;
    size_t n = strcspn(p, "/?#");
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)p[i]);
    buf[n] = '\0';
    for (size_t i = 0; i < sizeof(hub) / sizeof(hub[0]); i++) {
        size_t hl = strlen(hub[i]);
        if (strcmp(buf, hub[i]) == 0 ||
            (strncmp(buf, hub[i], hl) == 0 && !strcmp(buf + hl, ":443"))) {
            if (cap <= strlen("index.docker.io"))
                return false;
            memcpy(buf, "index.docker.io", sizeof("index.docker.io"));
            break;
        }
    }
    return true;
}

static int
dup_str(json_t *v, char **out, struct ud_error *err)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return ud_error_set(err, UD_EPARSE, 0, "docker config: a credential field is not a string");
    const char *s = json_string_value(v);
    if (!*s)
        return 0;
    if (strpbrk(s, "\r\n"))
        return ud_error_set(err, UD_EPARSE, 0, "docker config: line break in a credential");
    *out = ud_strdup(s);
    return *out ? 0 : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
}

/* The auths entry for host (first match in file order). */
static int
find_auths(json_t *root, const char *host, struct ud_reg_docker_auth *a, struct ud_error *err)
{
    json_t *auths = json_object_get(root, "auths");
    const char *key;
    json_t *v;
    char kh[512];
    if (!auths || json_is_null(auths))
        return 0;
    if (!json_is_object(auths))
        return ud_error_set(err, UD_EPARSE, 0, "docker config: \"auths\" is not an object");
    json_object_foreach(auths, key, v)
    {
        if (!server_host(key, kh, sizeof(kh)) || strcmp(kh, host) != 0)
            continue;
        if (!json_is_object(v))
            return ud_error_set(err, UD_EPARSE, 0, "docker config: auths entry is not an object");
        int rc = dup_str(json_object_get(v, "auth"), &a->auth_b64, err);
        if (rc == 0)
            rc = dup_str(json_object_get(v, "identitytoken"), &a->identity_token, err);
        if (rc == 0 && !(a->server = ud_strdup(key)))
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        return rc;
    }
    return 0;
}

static int
find_helper(json_t *root, const char *host, struct ud_reg_docker_auth *a, struct ud_error *err)
{
    json_t *helpers = json_object_get(root, "credHelpers");
    const char *key;
    json_t *v;
    char kh[512];
    if (helpers && !json_is_null(helpers) && !json_is_object(helpers))
        return ud_error_set(err, UD_EPARSE, 0, "docker config: \"credHelpers\" is not an object");
    if (helpers && json_is_object(helpers)) {
        json_object_foreach(helpers, key, v)
        {
            if (server_host(key, kh, sizeof(kh)) && strcmp(kh, host) == 0)
                return dup_str(v, &a->helper, err);
        }
    }
    return dup_str(json_object_get(root, "credsStore"), &a->helper, err);
}

int
ud_reg_docker_config_lookup(const char *json, size_t len, const char *registry_url,
                            struct ud_reg_docker_auth *out, struct ud_error *err)
{
    struct ud_reg_docker_auth a = {0};
    char host[512];
    json_error_t jerr;
    if (!json || !registry_url || !server_host(registry_url, host, sizeof(host)))
        return ud_error_set(err, UD_EINVAL, 0, "docker config: bad registry URL");
    if (len > DOCKERCFG_MAX)
        return ud_error_set(err, UD_ETOOBIG, 0, "docker config larger than %d bytes",
                            DOCKERCFG_MAX);
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return ud_error_set(err, UD_EPARSE, 0, "docker config: invalid JSON at line %d: %s",
                            jerr.line, jerr.text);
    int rc = json_is_object(root)
                 ? 0
                 : ud_error_set(err, UD_EPARSE, 0, "docker config: top level is not an object");
    if (rc == 0)
        rc = find_auths(root, host, &a, err);
    if (rc == 0)
        rc = find_helper(root, host, &a, err);
    json_decref(root);
    if (rc == 0 && !a.server) {
        const char *srv = strcmp(host, "index.docker.io") == 0 ? HUB_SERVER : host;
        if (!(a.server = ud_strdup(srv)))
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    }
    if (rc == 0 && !a.auth_b64 && !a.identity_token && !a.helper)
        rc = ud_error_set(err, UD_ENOENT, 0, "docker config: no credentials for %s", host);
    if (rc < 0) {
        ud_reg_docker_auth_fini(&a);
        return rc;
    }
    *out = a;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Credential helpers                                                  */
/* ------------------------------------------------------------------ */

static bool
helper_name_ok(const char *h)
{
    if (!h || !*h || strlen(h) > 64)
        return false;
    for (const char *p = h; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            return false;
    return h[0] != '.' && h[0] != '-';
}

static long
ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Write server to the helper's stdin without dying of SIGPIPE when it has
 * already exited: block the signal, and consume it if it was raised. */
static void
feed_stdin(int fd, const char *server)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    size_t n = strlen(server);
    ssize_t w = write(fd, server, n);
    if (w == (ssize_t)n)
        (void)!write(fd, "\n", 1);
    if (w < 0 && errno == EPIPE) {
        const struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Read the helper's stdout until EOF or the deadline. 1 on timeout. */
static int
read_output(int fd, const struct timespec *t0, long timeout_ms, struct ud_buf *out,
            struct ud_error *err)
{
    char chunk[4096];
    for (;;) {
        long left = timeout_ms - ms_since(t0);
        if (left <= 0)
            return 1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        if (ud_buf_append(out, chunk, (size_t)r, NULL) < 0)
            return ud_error_set(err, UD_EPARSE, 0, "credential helper answer too long");
    }
}

/* Spawn the helper in its own process group with stdin/stdout piped and
 * stderr to /dev/null. */
static int
spawn_helper(const char *prog, pid_t *pid, int *in_fd, int *out_fd, struct ud_error *err)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        int e = errno;
        if (in[0] >= 0) {
            close(in[0]);
            close(in[1]);
        }
        return ud_error_set(err, UD_EIO, e, "credential helper: pipe");
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&at, 0);
    char *argv[] = {(char *)prog, (char *)"get", NULL};
    int rc = posix_spawnp(pid, prog, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        if (rc == ENOENT)
            return ud_error_set(err, UD_ENOENT, rc, "%s not found in PATH", prog);
        return ud_error_set(err, UD_EREMOTE, rc, "cannot run %s", prog);
    }
    *in_fd = in[1];
    *out_fd = out[0];
    return 0;
}

/* {"Username": ..., "Secret": ...} into auth_b64 or identity_token. */
static int
parse_answer(const char *prog, const char *body, size_t len, char **auth_b64, char **identity,
             struct ud_error *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    const char *user = j ? json_string_value(json_object_get(j, "Username")) : NULL;
    const char *secret = j ? json_string_value(json_object_get(j, "Secret")) : NULL;
    int rc = 0;
    if (!user || !secret || !*secret || strpbrk(user, "\r\n") || strpbrk(secret, "\r\n")) {
        rc = ud_error_set(err, UD_EPARSE, 0, "%s: unreadable answer", prog);
    } else if (strcmp(user, "<token>") == 0) {
        if (!(*identity = ud_strdup(secret)))
            rc = ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    } else {
        cleanup_free char *pair = ud_asprintf("%s:%s", user, secret);
        rc = pair ? ud_base64_encode(pair, strlen(pair), auth_b64, err)
                  : ud_error_set(err, UD_ENOMEM, 0, "out of memory");
        if (pair)
            explicit_bzero(pair, strlen(pair));
    }
    json_decref(j);
    return rc;
}

int
ud_reg_cred_helper_get(const char *helper, const char *server, long timeout_ms, char **auth_b64,
                       char **identity_token, struct ud_error *err)
{
    if (!helper_name_ok(helper))
        return ud_error_set(err, UD_EINVAL, 0, "invalid credential helper name");
    if (!server || strpbrk(server, "\r\n"))
        return ud_error_set(err, UD_EINVAL, 0, "invalid credential server");
    cleanup_free char *prog = ud_asprintf("docker-credential-%s", helper);
    if (!prog)
        return ud_error_set(err, UD_ENOMEM, 0, "out of memory");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = -1;
    int in_fd = -1, out_fd = -1;
    int rc = spawn_helper(prog, &pid, &in_fd, &out_fd, err);
    if (rc < 0)
        return rc;
    feed_stdin(in_fd, server);
    close(in_fd);
    struct ud_buf out;
    ud_buf_init(&out, HELPER_OUT_MAX);
    int r = read_output(out_fd, &t0, timeout_ms > 0 ? timeout_ms : 10000, &out, err);
    close(out_fd);
    int status = 0;
    if (r != 0)
        kill(-pid, SIGKILL); /* timed out or babbling: the whole group */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (r == 1)
        rc = ud_error_set(err, UD_ENET, 0, "%s timed out", prog);
    else if (r < 0)
        rc = r;
    else if (WIFSIGNALED(status))
        rc = ud_error_set(err, UD_EREMOTE, 0, "%s killed by signal %d", prog, WTERMSIG(status));
    else if (WEXITSTATUS(status) == 127)
        rc = ud_error_set(err, UD_ENOENT, 0, "%s could not be run", prog);
    else if (WEXITSTATUS(status) != 0)
        rc = ud_error_set(err, UD_ENOENT, 0, "%s has no credentials for %s", prog, server);
    else
        rc = parse_answer(prog, out.data ? out.data : "", out.len, auth_b64, identity_token, err);
    if (out.data)
        explicit_bzero(out.data, out.len);
    ud_buf_fini(&out);
    return rc;
}

int
ud_reg_docker_credentials(const char *config_path, const char *registry_url, long helper_timeout_ms,
                          char **auth_b64, char **identity_token, struct ud_error *err)
{
    cleanup_free char *text = NULL;
    size_t len = 0;
    struct ud_reg_docker_auth a = {0};
    int rc = ud_file_read(config_path, DOCKERCFG_MAX, &text, &len, err);
    if (rc < 0)
        return rc;
    rc = ud_reg_docker_config_lookup(text, len, registry_url, &a, err);
    if (rc < 0) {
        ud_error_prefix(err, "%s: ", config_path);
        return rc;
    }
    if (a.helper) {
        struct ud_error he = {0};
        char *ab = NULL, *it = NULL;
        int hr = ud_reg_cred_helper_get(a.helper, a.server, helper_timeout_ms, &ab, &it, &he);
        if (hr == 0) {
            ud_reg_docker_auth_fini(&a);
            *auth_b64 = ab;
            *identity_token = it;
            return 0;
        }
        ud_log(UD_LOG_DEBUG, "credential helper %s for %s: %s", a.helper, a.server, he.msg);
    }
    if (a.identity_token) {
        *identity_token = ud_steal(&a.identity_token);
        *auth_b64 = NULL;
    } else if (a.auth_b64) {
        *auth_b64 = ud_steal(&a.auth_b64);
        *identity_token = NULL;
    } else {
        rc =
            ud_error_set(err, UD_ENOENT, 0, "%s: no credentials for %s", config_path, registry_url);
    }
    ud_reg_docker_auth_fini(&a);
    return rc;
}
