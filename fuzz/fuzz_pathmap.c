// SPDX-License-Identifier: Apache-2.0
/*
 * pathmap: arbitrary guest paths (and working directories) resolved over a
 * fixed tree with absolute, climbing and looping symlinks and binds. The
 * result must be canonical and lie under the root or a bind, map back to a
 * guest path that stays below "/", a cached answer must equal a fresh one,
 * and where a mount namespace is allowed the kernel itself (a helper
 * chroot()ed into the tree with the binds mounted) must find the same file
 * or fail the same way. Input: flags byte (bit 0 follow_last, bits 1-2 a
 * preset cwd, bit 3 cwd given in the input before a NUL), then the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UD_BUILDING_PTRACE_PROOT 1
#include "../modules/ptrace-proot/src/pathmap.h"

#include "ud/engine.h"

static char top[PATH_MAX / 2];
static char prefixes[4][PATH_MAX]; /* where results may lie */
static struct ud_pathmap *map;
static pid_t oracle_pid = -1;
static int oracle_req = -1, oracle_resp = -1;

/* What stat() or lstat() found: errno, or 0 with the file's identity. */
struct kres {
    int err;
    dev_t dev;
    ino_t ino;
};

static void oracle_stop(void);

static void
cleanup(void)
{
    struct ud_error err;
    oracle_stop();
    ud_pathmap_free(map);
    if (top[0] && ud_rm_rf(top, &err) != 0)
        fprintf(stderr, "fuzz_pathmap: %s\n", err.msg);
}

static void
at(const char *rel, char *buf, size_t n)
{
    if ((size_t)snprintf(buf, n, "%s/%s", top, rel) >= n)
        abort();
}

static void
build_tree(void)
{
    char tmpl[] = "/tmp/ud-fuzz-pathmap-XXXXXX", p[PATH_MAX];
    if (!mkdtemp(tmpl) || !realpath(tmpl, p) || strlen(p) >= sizeof(top))
        abort();
    memcpy(top, p, strlen(p) + 1);
    atexit(cleanup);
    static const char *const dirs[] = {
        "root", "root/usr", "root/usr/bin", "root/usr/lib", "root/usr/share", "root/usr/share/doc",
        "root/etc", "root/d", "root/d/e", "data", "data/x", "data/x/y",
        /* mount points for the kernel's side */
        "root/mnt", "root/mnt/b", "root/deep", "root/deep/v", "root/deep/v/w", "root/proc"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        at(dirs[i], p, sizeof(p));
        if (mkdir(p, 0755) != 0)
            abort();
    }
    static const char *const files[] = {"root/etc/passwd", "root/file", "root/usr/bin/sh",
                                        "data/x/f",        "hosts",     "root/etc/hosts"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        at(files[i], p, sizeof(p));
        FILE *f = fopen(p, "w");
        if (!f)
            abort();
        fclose(f);
    }
    static const char *const links[][2] = {
        {"usr/lib", "root/lib"},
        {"/usr/bin", "root/bin"},
        {"../../../..", "root/up"},
        {"/", "root/abs"},
        {"b", "root/a"},
        {"/a", "root/b"},
        {"self", "root/self"},
        {"../../..", "root/d/e/top"},
        {"file/", "root/tofile"},
        {"/mnt/b/x", "root/chain"},
        {"/proc/self/fd/0", "root/stdin"},
        {"/proc/self/root/usr", "root/pr"},
        {"..", "root/usr/dotdot"},
        {"../../../../..", "data/x/y/up"},
        {"/etc", "data/x/etc"},
        {"/deep/v/w/x", "root/deeplink"},
        {"/nonexistent/z", "root/dangling"},
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        at(links[i][1], p, sizeof(p));
        if (symlink(links[i][0], p) != 0)
            abort();
    }
    char data[PATH_MAX], hosts[PATH_MAX], root[PATH_MAX];
    at("data", data, sizeof(data));
    at("hosts", hosts, sizeof(hosts));
    at("root", root, sizeof(root));
    struct ud_bind binds[] = {
        {.host = (char *)"/proc", .cont = (char *)"/proc", .flags = UD_BIND_SYS},
        {.host = data, .cont = (char *)"/mnt/b", .flags = UD_BIND_USER},
        {.host = hosts, .cont = (char *)"/etc/hosts", .flags = UD_BIND_SYS},
        {.host = data, .cont = (char *)"/deep/v/w", .flags = UD_BIND_USER},
    };
    struct ud_error err;
    if (ud_pathmap_new(root, binds, 4, &map, &err) != 0)
        abort();
    memcpy(prefixes[0], root, strlen(root) + 1);
    memcpy(prefixes[1], data, strlen(data) + 1);
    memcpy(prefixes[2], hosts, strlen(hosts) + 1);
    memcpy(prefixes[3], "/proc", 6);
}

/* ------------------------------------------------------------------ */
/* The kernel's answer, from a helper chroot()ed into the same tree    */
/* ------------------------------------------------------------------ */

static bool
read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static bool
write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static bool
write_id_map(const char *file, unsigned id)
{
    char line[64];
    int len = snprintf(line, sizeof(line), "0 %u 1\n", id);
    int fd = open(file, O_WRONLY);
    bool ok = fd >= 0 && write(fd, line, (size_t)len) == len;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool
helper_enter(void)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (uid == 0) {
        if (unshare(CLONE_NEWNS) != 0)
            return false;
    } else {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
            return false;
        int fd = open("/proc/self/setgroups", O_WRONLY);
        if (fd >= 0) {
            if (write(fd, "deny", 4) != 4)
                return false;
            close(fd);
        }
        if (!write_id_map("/proc/self/uid_map", uid) || !write_id_map("/proc/self/gid_map", gid))
            return false;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return false;
    static const char *const mounts[][2] = {
        {"data", "root/mnt/b"}, {"data", "root/deep/v/w"}, {"hosts", "root/etc/hosts"}};
    char a[PATH_MAX], b[PATH_MAX];
    for (size_t i = 0; i < 3; i++) {
        at(mounts[i][0], a, sizeof(a));
        at(mounts[i][1], b, sizeof(b));
        if (mount(a, b, NULL, MS_BIND, NULL) != 0)
            return false;
    }
    at("root/proc", b, sizeof(b));
    if (mount("/proc", b, NULL, MS_BIND | MS_REC, NULL) != 0)
        return false;
    at("root", a, sizeof(a));
    return chroot(a) == 0 && chdir("/") == 0;
}

/* Requests: follow byte, cwd length, path length (size_t each), cwd, path.
 * Answer: struct kres, err -1 when the cwd can't be entered. */
static void
helper_loop(int rfd, int wfd)
{
    static char cwd[PATH_MAX], path[PATH_MAX];
    for (;;) {
        size_t hdr[3];
        if (!read_full(rfd, hdr, sizeof(hdr)) || hdr[1] >= PATH_MAX || hdr[2] >= PATH_MAX ||
            !read_full(rfd, cwd, hdr[1]) || !read_full(rfd, path, hdr[2]))
            _exit(0);
        cwd[hdr[1]] = '\0';
        path[hdr[2]] = '\0';
        struct kres k = {0};
        struct stat st;
        if (path[0] != '/' && chdir(cwd) != 0) {
            k.err = -1;
        } else if ((hdr[0] ? stat(path, &st) : lstat(path, &st)) != 0) {
            k.err = errno;
        } else {
            k.dev = st.st_dev;
            k.ino = st.st_ino;
        }
        if (!write_full(wfd, &k, sizeof(k)))
            _exit(0);
    }
}

static void
oracle_start(void)
{
    int req[2], resp[2];
    if (pipe(req) != 0 || pipe(resp) != 0)
        abort();
    oracle_pid = fork();
    if (oracle_pid < 0)
        abort();
    if (oracle_pid == 0) {
        close(req[1]);
        close(resp[0]);
        if (!helper_enter() || !write_full(resp[1], "", 1))
            _exit(3);
        helper_loop(req[0], resp[1]);
    }
    close(req[0]);
    close(resp[1]);
    oracle_req = req[1];
    oracle_resp = resp[0];
    /* A helper that could not enter the tree exits without its ready
     * byte: then there is simply no kernel to compare with. */
    char ready;
    signal(SIGPIPE, SIG_IGN);
    if (!read_full(oracle_resp, &ready, 1))
        oracle_stop();
}

static void
oracle_stop(void)
{
    if (oracle_pid <= 0)
        return;
    close(oracle_req);
    close(oracle_resp);
    waitpid(oracle_pid, NULL, 0);
    oracle_pid = -1;
}

/* false when there is no kernel to ask (no mount namespace here). */
static bool
oracle_ask(const char *cwd, const char *path, bool follow, struct kres *k)
{
    if (oracle_pid <= 0)
        return false;
    size_t hdr[3] = {follow, strlen(cwd), strlen(path)};
    if (!write_full(oracle_req, hdr, sizeof(hdr)) || !write_full(oracle_req, cwd, hdr[1]) ||
        !write_full(oracle_req, path, hdr[2]) || !read_full(oracle_resp, k, sizeof(*k)))
        abort(); /* the helper died under a path */
    return true;
    return true;
}

/* The kernel and the map must agree on what path names. */
static void
check_kernel(const char *cwd, const char *path, bool follow, int r, const char *out)
{
    struct kres k, ours = {0};
    /* /proc's magic links are the kernel's business; a host path longer
     * than the guest one may be too long where the guest's isn't. */
    if (strstr(path, "proc") || strstr(cwd, "proc") || r == -ENAMETOOLONG ||
        (path[0] != '/' && cwd[0] != '/') || /* the map wants an absolute cwd */
        (r == 0 && strncmp(out, "/proc", 5) == 0))
        return;
    if (!oracle_ask(cwd, path, follow, &k) || k.err == -1 || k.err == ENAMETOOLONG)
        return;
    struct stat st;
    if (r != 0) {
        ours.err = -r;
    } else if ((follow ? stat(out, &st) : lstat(out, &st)) != 0) {
        ours.err = errno;
    } else {
        ours.dev = st.st_dev;
        ours.ino = st.st_ino;
    }
    if (ours.err != k.err || ours.dev != k.dev || ours.ino != k.ino) {
        fprintf(stderr, "cwd %s path %s follow %d: kernel %d, ours %d (%s)\n", cwd, path, follow,
                k.err, ours.err, r == 0 ? out : "-");
        abort();
    }
}

static bool
under(const char *p, const char *pre)
{
    size_t n = strlen(pre);
    return strncmp(p, pre, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* No "//", no "." or ".." component; a single trailing "/" is allowed. */
static void
check_canonical(const char *p)
{
    if (p[0] != '/')
        abort();
    for (const char *s = p; *s; s++) {
        if (*s != '/')
            continue;
        if (s[1] == '/')
            abort();
        if (s[1] == '.' && (s[2] == '/' || s[2] == '\0'))
            abort();
        if (s[1] == '.' && s[2] == '.' && (s[3] == '/' || s[3] == '\0'))
            abort();
    }
}

static bool
expected_error(int r)
{
    return r == -ENOENT || r == -ENAMETOOLONG || r == -ELOOP || r == -ENOTDIR || r == -EINVAL;
}

static void
check_result(const char *out)
{
    check_canonical(out);
    bool ok = false;
    for (size_t i = 0; i < 4 && !ok; i++)
        ok = under(out, prefixes[i]);
    if (!ok)
        abort();
    static char guest[PATH_MAX];
    int r = ud_pathmap_to_guest(map, out, guest, sizeof(guest));
    if (r != 0)
        abort(); /* every result lies under the root or a bind */
    check_canonical(guest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const cwds[] = {"/", "/usr/share", "/mnt/b/x", "/proc/self"};
    static char in[3 * PATH_MAX], out1[PATH_MAX], out2[PATH_MAX];
    if (!map) {
        build_tree();
        oracle_start();
    }
    if (size < 1 || size >= sizeof(in))
        return 0;
    uint8_t flags = data[0];
    memcpy(in, data + 1, size - 1);
    in[size - 1] = '\0';
    const char *cwd = cwds[(flags >> 1) & 3];
    const char *path = in;
    if (flags & 8) {
        size_t n = strlen(in);
        if (n + 1 >= size - 1)
            return 0;
        cwd = in;
        path = in + n + 1;
    }
    bool follow = flags & 1;
    int r1 = ud_pathmap_to_host(map, cwd, path, follow, out1, sizeof(out1));
    ud_pathmap_invalidate(map, NULL);
    int r2 = ud_pathmap_to_host(map, cwd, path, follow, out2, sizeof(out2));
    if (r1 != r2 || (r1 == 0 && strcmp(out1, out2) != 0))
        abort(); /* the cache changed an answer */
    /* once more, warm */
    r1 = ud_pathmap_to_host(map, cwd, path, follow, out1, sizeof(out1));
    if (r1 != r2 || (r1 == 0 && strcmp(out1, out2) != 0))
        abort();
    if (r1 == 0)
        check_result(out1);
    else if (!expected_error(r1))
        abort();
    check_kernel(cwd, path, follow, r1, out1);
    return 0;
}
