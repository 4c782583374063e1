/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ptrace engine's path map over a real tree: a container root with
 * absolute, relative, looping and dangling symlinks, binds of directories
 * and files (and of /proc), missing components, trailing slashes and long
 * paths; host-to-guest translation; the prefix cache measured with the
 * syscall counters, and its invalidation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UD_BUILDING_PTRACE_PROOT 1
#include "../../modules/ptrace-proot/src/pathmap.h"

#include "ud/engine.h"

struct fx {
    char top[PATH_MAX / 2]; /* realpath of the temp dir */
    char root[PATH_MAX];    /* top/root: the container root */
    char data[PATH_MAX];    /* top/data: bound at /mnt/data and /hostfs/x */
    char hfile[PATH_MAX];
    char out[PATH_MAX];
    char want[PATH_MAX * 2];
    struct ud_pathmap *m;
};

static void
mk(struct fx *f, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof(p), "%s/%s", f->top, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void
touch(struct fx *f, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof(p), "%s/%s", f->top, rel);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fclose(fp);
}

static void
ln(struct fx *f, const char *target, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof(p), "%s/%s", f->top, rel);
    assert_int_equal(symlink(target, p), 0);
}

static int
map_new(struct fx *f)
{
    char missing[PATH_MAX * 2], missing2[PATH_MAX * 2];
    snprintf(missing, sizeof(missing), "%s/no-such-sys", f->top);
    snprintf(missing2, sizeof(missing2), "%s/no-such-user", f->top);
    struct ud_bind binds[] = {
        {.host = (char *)"/proc", .cont = (char *)"/proc", .flags = UD_BIND_SYS | UD_BIND_DIR},
        {.host = missing, .cont = (char *)"/sysmissing", .flags = UD_BIND_SYS},
        {.host = f->data, .cont = (char *)"/mnt/data", .flags = UD_BIND_USER | UD_BIND_DIR},
        {.host = f->hfile, .cont = (char *)"/etc/hostname", .flags = UD_BIND_SYS},
        {.host = f->data, .cont = (char *)"//hostfs/./x/", .flags = UD_BIND_USER | UD_BIND_DIR},
        {.host = missing2, .cont = (char *)"/usermissing", .flags = UD_BIND_USER},
    };
    struct ud_error err = {0};
    return ud_pathmap_new(f->root, binds, sizeof(binds) / sizeof(binds[0]), &f->m, &err);
}

static int
fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char tmpl[] = "/tmp/ud-pathmap-XXXXXX";
    char real[PATH_MAX];
    if (!f || !mkdtemp(tmpl) || !realpath(tmpl, real) || strlen(real) >= sizeof(f->top))
        return -1;
    memcpy(f->top, real, strlen(real) + 1);
    snprintf(f->root, sizeof(f->root), "%s/root", f->top);
    snprintf(f->data, sizeof(f->data), "%s/data", f->top);
    snprintf(f->hfile, sizeof(f->hfile), "%s/hostname", f->top);
    const char *dirs[] = {"root",
                          "root/usr",
                          "root/usr/share",
                          "root/usr/share/doc",
                          "root/usr/share/doc/foo",
                          "root/usr/lib",
                          "root/usr/bin",
                          "root/etc",
                          "root/d",
                          "root/d/e",
                          "data",
                          "data/sub"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        mk(f, dirs[i]);
    const char *files[] = {"root/usr/share/doc/foo/bar",
                           "root/usr/lib/libc.so",
                           "root/usr/bin/ls",
                           "root/etc/passwd",
                           "root/file",
                           "data/sub/f",
                           "hostname"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        touch(f, files[i]);
    ln(f, "usr/lib", "root/lib");
    ln(f, "/usr/bin", "root/bin");
    ln(f, "/etc", "root/abs_etc");
    ln(f, "../../../..", "root/up");
    ln(f, "loop2", "root/loop1");
    ln(f, "/loop1", "root/loop2");
    ln(f, "/mnt/data/sub", "root/chain");
    ln(f, "/nonexistent", "root/dangling");
    ln(f, "/proc/self/fd/0", "root/stdin");
    ln(f, "../..", "root/d/e/toup");
    ln(f, "file/", "root/tofile");
    ln(f, "/etc", "data/back");
    ln(f, "../../etc", "data/rel");
    /* k0 -> k1 -> ... -> k40 -> /usr: 40 links from k1, 41 from k0 */
    for (int i = 0; i <= 40; i++) {
        char t[16], l[32];
        snprintf(t, sizeof(t), i == 40 ? "/usr" : "k%d", i + 1);
        snprintf(l, sizeof(l), "root/k%d", i);
        ln(f, t, l);
    }
    if (map_new(f) != 0)
        return -1;
    *state = f;
    return 0;
}

static int
fx_teardown(void **state)
{
    struct fx *f = *state;
    ud_pathmap_free(f->m);
    struct ud_error err;
    if (ud_rm_rf(f->top, &err) != 0)
        fprintf(stderr, "cleanup %s: %s\n", f->top, err.msg);
    free(f);
    return 0;
}

/* to_host must succeed with base + suffix (base "R" is the root, "D" the
 * data dir, "" nothing). */
static void
host_is(struct fx *f, const char *cwd, const char *path, bool follow, char base, const char *suffix)
{
    const char *b = base == 'R' ? f->root : base == 'D' ? f->data : "";
    snprintf(f->want, sizeof(f->want), "%s%s", b, suffix);
    int r = ud_pathmap_to_host(f->m, cwd, path, follow, f->out, sizeof(f->out));
    if (r != 0)
        fail_msg("%s (follow %d): error %d, want %s", path, follow, r, f->want);
    if (strcmp(f->out, f->want) != 0)
        fail_msg("%s (follow %d): %s, want %s", path, follow, f->out, f->want);
}

static void
host_err(struct fx *f, const char *cwd, const char *path, bool follow, int want)
{
    int r = ud_pathmap_to_host(f->m, cwd, path, follow, f->out, sizeof(f->out));
    if (r != want)
        fail_msg("%s (follow %d): %d, want %d", path ? path : "(null)", follow, r, want);
}

static void
test_plain_paths(void **state)
{
    struct fx *f = *state;
    host_is(f, NULL, "/", true, 'R', "");
    host_is(f, NULL, "/usr/share/doc/foo/bar", true, 'R', "/usr/share/doc/foo/bar");
    host_is(f, NULL, "//usr/./share//doc/", false, 'R', "/usr/share/doc");
    host_is(f, NULL, "/usr/share/..", false, 'R', "/usr");
    host_is(f, NULL, "/../../etc/./passwd", false, 'R', "/etc/passwd");
    host_is(f, "/usr/share", "doc/foo", false, 'R', "/usr/share/doc/foo");
    host_is(f, "/usr/share", "../lib/libc.so", true, 'R', "/usr/lib/libc.so");
    host_is(f, "/usr/share", ".", false, 'R', "/usr/share");
    host_is(f, "/", "..", false, 'R', "");
    host_is(f, "/usr//share/", "./doc//foo/./", true, 'R', "/usr/share/doc/foo");
    host_err(f, NULL, "", true, -ENOENT);
    host_err(f, "/usr", "", false, -ENOENT);
    host_err(f, NULL, "usr", true, -EINVAL);
    host_err(f, "usr", "x", true, -EINVAL);
    host_err(f, NULL, NULL, true, -EINVAL);
}

static void
test_symlinks(void **state)
{
    struct fx *f = *state;
    host_is(f, NULL, "/lib/libc.so", false, 'R', "/usr/lib/libc.so");
    host_is(f, NULL, "/lib", true, 'R', "/usr/lib");
    host_is(f, NULL, "/lib", false, 'R', "/lib");
    host_is(f, NULL, "/lib/", false, 'R', "/usr/lib");
    host_is(f, NULL, "/lib/.", false, 'R', "/usr/lib");
    host_is(f, NULL, "/bin/ls", true, 'R', "/usr/bin/ls");
    host_is(f, NULL, "/abs_etc/passwd", true, 'R', "/etc/passwd");
    /* ".." after a symlink is not lexical: /lib/.. is /usr */
    host_is(f, NULL, "/lib/../bin", false, 'R', "/usr/bin");
    /* relative links climbing above the guest "/" stop there */
    host_is(f, NULL, "/up/etc/passwd", true, 'R', "/etc/passwd");
    host_is(f, NULL, "/d/e/toup/usr", false, 'R', "/usr");
    host_is(f, "/d/e", "toup/lib/libc.so", false, 'R', "/usr/lib/libc.so");
    host_is(f, NULL, "/dangling", true, 'R', "/nonexistent");
    host_is(f, NULL, "/dangling", false, 'R', "/dangling");
    host_is(f, NULL, "/dangling/x", true, 'R', "/nonexistent/x");
    host_is(f, NULL, "/k1", true, 'R', "/usr");
    host_err(f, NULL, "/k0", true, -ELOOP);
    host_is(f, NULL, "/k0", false, 'R', "/k0");
    /* the cached prefix "/k1" carries its 40 links: one more is too many */
    host_is(f, NULL, "/k1/lib/libc.so", true, 'R', "/usr/lib/libc.so");
    host_err(f, NULL, "/k1/../lib/libc.so", true, -ELOOP);
    host_is(f, NULL, "/k2/../lib/libc.so", true, 'R', "/usr/lib/libc.so");
    host_err(f, NULL, "/loop1", true, -ELOOP);
    host_is(f, NULL, "/loop1", false, 'R', "/loop1");
    host_err(f, NULL, "/loop1/x", false, -ELOOP);
    /* "tofile" -> "file/": the target's slash demands a directory */
    host_err(f, NULL, "/tofile", true, -ENOTDIR);
    host_is(f, NULL, "/tofile", false, 'R', "/tofile");
}

static void
test_binds(void **state)
{
    struct fx *f = *state;
    host_is(f, NULL, "/mnt/data", false, 'D', "");
    host_is(f, NULL, "/mnt/data/sub/f", true, 'D', "/sub/f");
    host_is(f, NULL, "/chain", true, 'D', "/sub");
    host_is(f, NULL, "/chain/f", false, 'D', "/sub/f");
    /* symlinks inside a bind resolve in the guest */
    host_is(f, NULL, "/mnt/data/back/passwd", true, 'R', "/etc/passwd");
    host_is(f, NULL, "/mnt/data/rel", true, 'R', "/etc");
    host_is(f, NULL, "/mnt/data/..", false, 'R', "/mnt");
    host_is(f, "/mnt/data/sub", "../../../usr", false, 'R', "/usr");
    /* a file bind */
    host_is(f, NULL, "/etc/hostname", true, 0, f->hfile);
    host_err(f, NULL, "/etc/hostname/x", true, -ENOTDIR);
    host_err(f, NULL, "/etc/hostname/", false, -ENOTDIR);
    /* a bind below a directory the root lacks */
    host_is(f, NULL, "/hostfs", true, 'R', "/hostfs");
    host_is(f, NULL, "/hostfs/x/sub/f", true, 'D', "/sub/f");
    host_is(f, NULL, "/hostfs/y", true, 'R', "/hostfs/y");
    /* a missing system bind is dropped, a missing user bind kept */
    host_is(f, NULL, "/sysmissing/a", true, 'R', "/sysmissing/a");
    char p[PATH_MAX * 2];
    snprintf(p, sizeof(p), "%s/no-such-user/a/b", f->top);
    host_is(f, NULL, "/usermissing/a/b", true, 0, p);
}

static void
test_proc(void **state)
{
    struct fx *f = *state;
    host_is(f, NULL, "/proc/self/root", true, 'R', "");
    host_is(f, NULL, "/proc/self/root/etc/passwd", true, 'R', "/etc/passwd");
    host_is(f, NULL, "/proc/1/root/usr", false, 'R', "/usr");
    host_is(f, NULL, "/proc/thread-self/root/..", false, 'R', "");
    host_is(f, NULL, "/proc/self/root", false, 0, "/proc/self/root");
    host_is(f, NULL, "/proc/self/fd/0", true, 0, "/proc/self/fd/0");
    host_is(f, NULL, "/proc/self/cwd/a/b", true, 0, "/proc/self/cwd/a/b");
    host_is(f, NULL, "/proc/self/fd/", true, 0, "/proc/self/fd/");
    host_is(f, NULL, "/proc/12x/root/usr", true, 0, "/proc/12x/root/usr");
    host_is(f, NULL, "/stdin", true, 0, "/proc/self/fd/0");
    host_is(f, "/proc/self", "exe", false, 0, "/proc/self/exe");
}

static void
test_missing(void **state)
{
    struct fx *f = *state;
    host_is(f, NULL, "/nope", true, 'R', "/nope");
    host_is(f, NULL, "/nope/a/b", false, 'R', "/nope/a/b");
    host_err(f, NULL, "/nope/a/../b", false, -ENOENT);
    host_is(f, NULL, "/usr/nope/", true, 'R', "/usr/nope/");
    host_is(f, NULL, "/usr/nope/", false, 'R', "/usr/nope/");
    host_err(f, NULL, "/nope/../etc", true, -ENOENT);
    host_err(f, NULL, "/nope/.", true, -ENOENT);
    host_err(f, NULL, "/nope/..", false, -ENOENT);
    host_err(f, NULL, "/file/x", false, -ENOTDIR);
    host_err(f, NULL, "/file/", false, -ENOTDIR);
    host_err(f, NULL, "/file/..", false, -ENOTDIR);
    host_is(f, NULL, "/file", true, 'R', "/file");
}

static void
test_long_paths(void **state)
{
    struct fx *f = *state;
    char *p = calloc(1, PATH_MAX * 2);
    char *cwd = calloc(1, PATH_MAX * 2);
    assert_non_null(p);
    assert_non_null(cwd);
    /* a guest path the kernel refuses */
    memset(p, 'a', PATH_MAX);
    p[0] = '/';
    p[PATH_MAX] = '\0';
    host_err(f, NULL, p, true, -ENAMETOOLONG);
    /* a component longer than NAME_MAX */
    memset(p, 'b', NAME_MAX + 2);
    p[0] = '/';
    p[NAME_MAX + 2] = '\0';
    host_err(f, NULL, p, false, -ENAMETOOLONG);
    /* accepted as guest path, too long once under the root */
    size_t n = 0;
    while (n < PATH_MAX - 1) {
        p[n++] = '/';
        size_t k = PATH_MAX - 1 - n < 100 ? PATH_MAX - 1 - n : 100;
        memset(p + n, 'c', k);
        n += k;
    }
    p[n] = '\0';
    host_err(f, NULL, p, false, -ENAMETOOLONG);
    /* a long path that resolves to a short one */
    n = 0;
    while (n + 8 < PATH_MAX - 10) {
        memcpy(p + n, "doc/../", 7);
        n += 7;
    }
    memcpy(p + n, "doc", 4);
    host_is(f, "/usr/share", p, true, 'R', "/usr/share/doc");
    /* cwd and path each acceptable, their join resolving to a short path */
    memcpy(cwd, "/usr/share", 10);
    n = 10;
    while (n + 7 < PATH_MAX - 10) {
        memcpy(cwd + n, "/doc/..", 7);
        n += 7;
    }
    cwd[n] = '\0';
    host_is(f, cwd, p, true, 'R', "/usr/share/doc");
    /* out too small */
    assert_int_equal(ud_pathmap_to_host(f->m, NULL, "/usr/share", true, f->out, 4), -ENAMETOOLONG);
    free(p);
    free(cwd);
}

static void
guest_is(struct fx *f, const char *host, const char *want)
{
    int r = ud_pathmap_to_guest(f->m, host, f->out, sizeof(f->out));
    if (r != 0 || strcmp(f->out, want) != 0)
        fail_msg("to_guest %s: %d %s, want %s", host, r, r == 0 ? f->out : "", want);
}

static void
test_to_guest(void **state)
{
    struct fx *f = *state;
    char p[PATH_MAX * 2];
    guest_is(f, f->root, "/");
    snprintf(p, sizeof(p), "%s/usr/bin/", f->root);
    guest_is(f, p, "/usr/bin");
    snprintf(p, sizeof(p), "%s/../root/./etc//passwd", f->root);
    guest_is(f, p, "/etc/passwd");
    /* the later of two binds of one host directory */
    snprintf(p, sizeof(p), "%s/sub/f", f->data);
    guest_is(f, p, "/hostfs/x/sub/f");
    guest_is(f, f->hfile, "/etc/hostname");
    guest_is(f, "/proc/1/fd/3", "/proc/1/fd/3");
    guest_is(f, "/proc", "/proc");
    assert_int_equal(ud_pathmap_to_guest(f->m, "/nowhere/x", f->out, sizeof(f->out)), -ENOENT);
    snprintf(p, sizeof(p), "%s/../x", f->root);
    assert_int_equal(ud_pathmap_to_guest(f->m, p, f->out, sizeof(f->out)), -ENOENT);
    snprintf(p, sizeof(p), "%sx", f->root); /* a sibling sharing the prefix */
    assert_int_equal(ud_pathmap_to_guest(f->m, p, f->out, sizeof(f->out)), -ENOENT);
    assert_int_equal(ud_pathmap_to_guest(f->m, "rel", f->out, sizeof(f->out)), -EINVAL);
    snprintf(p, sizeof(p), "%s/usr", f->root);
    assert_int_equal(ud_pathmap_to_guest(f->m, p, f->out, 4), -ENAMETOOLONG);
}

/* A root inside a bound directory ($HOME bound, container under it). */
static void
test_to_guest_root_in_bind(void **state)
{
    struct fx *f = *state;
    struct ud_bind b = {.host = f->top, .cont = (char *)"/home/u", .flags = UD_BIND_USER};
    struct ud_pathmap *m = NULL;
    struct ud_error err = {0};
    assert_int_equal(ud_pathmap_new(f->root, &b, 1, &m, &err), 0);
    char p[PATH_MAX * 2];
    snprintf(p, sizeof(p), "%s/usr", f->root);
    assert_int_equal(ud_pathmap_to_guest(m, p, f->out, sizeof(f->out)), 0);
    assert_string_equal(f->out, "/usr");
    snprintf(p, sizeof(p), "%s/data/sub", f->top);
    assert_int_equal(ud_pathmap_to_guest(m, p, f->out, sizeof(f->out)), 0);
    assert_string_equal(f->out, "/home/u/data/sub");
    /* and the way in: the bind reaches the root from inside */
    assert_int_equal(ud_pathmap_to_host(m, NULL, "/home/u/root/lib", true, f->out, sizeof(f->out)),
                     0);
    snprintf(p, sizeof(p), "%s/usr/lib", f->root);
    assert_string_equal(f->out, p);
    ud_pathmap_free(m);
}

static struct ud_pathmap_stats
stats(struct fx *f)
{
    struct ud_pathmap_stats s;
    ud_pathmap_stats_get(f->m, &s);
    ud_pathmap_stats_reset(f->m);
    return s;
}

static void
test_cache_syscalls(void **state)
{
    struct fx *f = *state;
    host_is(f, NULL, "/usr/share/doc/foo/bar", true, 'R', "/usr/share/doc/foo/bar");
    struct ud_pathmap_stats s = stats(f);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.lstats, 5);
    assert_true(s.entries >= 4);
    /* warm: one probe, one lstat for the followed final, none unfollowed */
    host_is(f, NULL, "/usr/share/doc/foo/bar", true, 'R', "/usr/share/doc/foo/bar");
    s = stats(f);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.lstats, 1);
    assert_int_equal(s.readlinks, 0);
    host_is(f, NULL, "/usr/share/doc/foo/bar", false, 'R', "/usr/share/doc/foo/bar");
    host_is(f, "/usr/share/doc/foo", "bar", false, 'R', "/usr/share/doc/foo/bar");
    host_is(f, "/usr/share/doc", "foo/new", false, 'R', "/usr/share/doc/foo/new");
    host_is(f, NULL, "/usr/share/doc/foo", true, 'R', "/usr/share/doc/foo");
    s = stats(f);
    assert_int_equal(s.hits, 4);
    assert_int_equal(s.lstats + s.readlinks, 0);
    /* through a symlinked prefix: the lexical prefix is cached too */
    host_is(f, NULL, "/lib/libc.so", true, 'R', "/usr/lib/libc.so");
    s = stats(f);
    assert_int_equal(s.readlinks, 1);
    host_is(f, NULL, "/lib/libc.so", true, 'R', "/usr/lib/libc.so");
    host_is(f, NULL, "/lib/../bin", false, 'R', "/usr/bin");
    s = stats(f);
    assert_int_equal(s.readlinks, 0);
    assert_int_equal(s.lstats, 1); /* libc.so; "/lib" is cached, so is /usr */
    host_is(f, NULL, "/lib/../bin", false, 'R', "/usr/bin");
    s = stats(f);
    assert_int_equal(s.lstats + s.readlinks, 0);
    /* nothing is cached inside /proc */
    host_is(f, NULL, "/proc/self/fd/0", true, 0, "/proc/self/fd/0");
    host_is(f, NULL, "/proc/self/fd/0", true, 0, "/proc/self/fd/0");
    s = stats(f);
    assert_int_equal(s.lstats + s.readlinks, 0);
    assert_int_equal(s.inserts, 0);
}

static void
rename_in(struct fx *f, const char *from, const char *to)
{
    char a[PATH_MAX * 2], b[PATH_MAX * 2];
    snprintf(a, sizeof(a), "%s/%s", f->root, from);
    snprintf(b, sizeof(b), "%s/%s", f->root, to);
    assert_int_equal(rename(a, b), 0);
    ud_pathmap_invalidate(f->m, a);
    ud_pathmap_invalidate(f->m, b);
}

static void
test_invalidate_rename(void **state)
{
    struct fx *f = *state;
    host_is(f, NULL, "/lib/libc.so", true, 'R', "/usr/lib/libc.so");
    host_is(f, NULL, "/d/e", true, 'R', "/d/e");
    /* unrelated changes keep the cache */
    stats(f);
    char p[PATH_MAX * 2];
    snprintf(p, sizeof(p), "%s/usr/bin/ls", f->root);
    ud_pathmap_invalidate(f->m, p);
    snprintf(p, sizeof(p), "%s/usr/new", f->root);
    ud_pathmap_invalidate(f->m, p);
    assert_int_equal(stats(f).flushes, 0);
    /* the directory a symlink leads to moves, and the link is replaced */
    rename_in(f, "usr/lib", "usr/lib64");
    host_is(f, NULL, "/lib/libc.so", true, 'R', "/usr/lib/libc.so");
    snprintf(p, sizeof(p), "%s/usr/lib", f->root);
    host_is(f, NULL, "/lib/libc.so/", true, 'R', "/usr/lib/libc.so/");
    assert_int_equal(symlink("lib64", p), 0);
    ud_pathmap_invalidate(f->m, p);
    host_is(f, NULL, "/lib/libc.so", true, 'R', "/usr/lib64/libc.so");
    assert_true(stats(f).flushes >= 1);
    /* a directory on a cached prefix renamed away */
    rename_in(f, "d", "d2");
    host_is(f, NULL, "/d2/e", true, 'R', "/d2/e");
    host_is(f, NULL, "/d/e", true, 'R', "/d/e");
    host_err(f, NULL, "/d/e/.", true, -ENOENT);
}

static void
test_invalidate_dir_to_symlink(void **state)
{
    struct fx *f = *state;
    char p[PATH_MAX * 2];
    host_is(f, NULL, "/d/e/x", true, 'R', "/d/e/x");
    snprintf(p, sizeof(p), "%s/d", f->root);
    struct ud_error err;
    assert_int_equal(ud_rm_rf(p, &err), 0);
    assert_int_equal(symlink("usr/share", p), 0);
    /* a change made behind the map's back is not seen (documented) */
    host_is(f, NULL, "/d/e/x", true, 'R', "/d/e/x");
    /* through the API it is */
    ud_pathmap_invalidate(f->m, p);
    host_is(f, NULL, "/d/e/x", true, 'R', "/usr/share/e/x");
    host_is(f, NULL, "/d/doc/foo", true, 'R', "/usr/share/doc/foo");
    ud_pathmap_invalidate(f->m, NULL);
    struct ud_pathmap_stats s = stats(f);
    assert_int_equal(s.entries, 0);
}

/* ------------------------------------------------------------------ */
/* Against the kernel: the same tree chroot()ed with real bind mounts   */
/* ------------------------------------------------------------------ */

struct kres {
    int err; /* errno, or 0 with dev/ino */
    dev_t dev;
    ino_t ino;
};

#define NTOK 24
static const char *const toks[NTOK] = {"usr",   "lib",      "..",       ".",    "up",   "abs_etc",
                                       "loop1", "chain",    "mnt",      "data", "back", "rel",
                                       "file",  "tofile",   "nope",     "d",    "e",    "toup",
                                       "etc",   "hostname", "dangling", "sub",  "bin",  "passwd"};

static const char *const diff_extra[] = {
    "/k1",
    "/k0",
    "/k1/lib/libc.so",
    "/k1/../lib/libc.so",
    "/k0/..",
    "/k1/..",
    "/k2/../lib/",
    "/k1/./",
    "/k40/bin/ls",
    "/k0/bin/ls",
    "/chain/../rel/passwd",
    "/mnt/data/rel/../bin",
    "/up/mnt/data/../../lib/libc.so",
};
#define NEXTRA (sizeof(diff_extra) / sizeof(diff_extra[0]))

/* Path number i of the list: the extras, then three tokens (".", a token,
 * stands in for shorter paths), with a final "/" on odd numbers. */
static void
diff_path(size_t i, char *buf, size_t n)
{
    if (i < NEXTRA) {
        snprintf(buf, n, "%s", diff_extra[i]);
        return;
    }
    i -= NEXTRA;
    size_t slash = i % 2, k = i / 2;
    size_t o = 0;
    for (size_t j = 0; j < 3; j++) {
        o += (size_t)snprintf(buf + o, n - o, "/%s", toks[k % NTOK]);
        k /= NTOK;
    }
    if (slash)
        snprintf(buf + o, n - o, "/");
}

static void
kres_of(int r, const struct stat *st, struct kres *k)
{
    k->err = r == 0 ? 0 : errno;
    k->dev = r == 0 ? st->st_dev : 0;
    k->ino = r == 0 ? st->st_ino : 0;
}

static int
enter_userns(void)
{
    if (geteuid() == 0)
        return unshare(CLONE_NEWNS);
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return -1;
    char map[64];
    int fd = open("/proc/self/setgroups", O_WRONLY);
    if (fd >= 0) {
        if (write(fd, "deny", 4) != 4) {
            close(fd);
            return -1;
        }
        close(fd);
    }
    const char *files[] = {"/proc/self/uid_map", "/proc/self/gid_map"};
    unsigned ids[] = {uid, gid};
    for (int i = 0; i < 2; i++) {
        int len = snprintf(map, sizeof(map), "0 %u 1\n", ids[i]);
        fd = open(files[i], O_WRONLY);
        if (fd < 0 || write(fd, map, (size_t)len) != len) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    return 0;
}

/* In a child: mount the binds, chroot and stat every path both ways. */
static int
kernel_side(struct fx *f, struct kres *res, size_t npaths)
{
    char a[PATH_MAX * 2], b[PATH_MAX * 2];
    if (enter_userns() != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return 2;
    snprintf(a, sizeof(a), "%s/mnt/data", f->root);
    snprintf(b, sizeof(b), "%s/etc/hostname", f->root);
    if (mount(f->data, a, NULL, MS_BIND, NULL) != 0 || mount(f->hfile, b, NULL, MS_BIND, NULL))
        return 2;
    if (chroot(f->root) != 0 || chdir("/") != 0)
        return 2;
    for (size_t i = 0; i < npaths; i++) {
        char p[256];
        struct stat st;
        diff_path(i, p, sizeof(p));
        kres_of(stat(p, &st), &st, &res[2 * i]);
        kres_of(lstat(p, &st), &st, &res[2 * i + 1]);
    }
    return 0;
}

static void
test_kernel_differential(void **state)
{
    struct fx *f = *state;
    char p[PATH_MAX * 2];
    snprintf(p, sizeof(p), "%s/mnt", f->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/mnt/data", f->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/etc/hostname", f->root);
    close(open(p, O_CREAT | O_WRONLY, 0644));
    ud_pathmap_free(f->m);
    f->m = NULL;
    struct ud_bind binds[] = {
        {.host = f->data, .cont = (char *)"/mnt/data", .flags = UD_BIND_USER},
        {.host = f->hfile, .cont = (char *)"/etc/hostname", .flags = UD_BIND_SYS},
    };
    struct ud_error err;
    assert_int_equal(ud_pathmap_new(f->root, binds, 2, &f->m, &err), 0);

    size_t npaths = NEXTRA + 2 * NTOK * NTOK * NTOK;
    size_t sz = 2 * npaths * sizeof(struct kres);
    struct kres *res = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(res != MAP_FAILED);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(kernel_side(f, res, npaths));
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        munmap(res, sz);
        print_message("SKIP: no mount namespace for the kernel comparison\n");
        skip();
    }
    size_t checked = 0;
    for (size_t i = 0; i < npaths; i++) {
        char gp[256];
        diff_path(i, gp, sizeof(gp));
        for (int nofollow = 0; nofollow < 2; nofollow++) {
            const struct kres *k = &res[2 * i + nofollow];
            struct kres ours = {0};
            struct stat st;
            int r = ud_pathmap_to_host(f->m, NULL, gp, !nofollow, f->out, sizeof(f->out));
            if (r != 0)
                ours.err = -r;
            else
                kres_of(nofollow ? lstat(f->out, &st) : stat(f->out, &st), &st, &ours);
            if (ours.err != k->err || ours.dev != k->dev || ours.ino != k->ino)
                fail_msg("%s (follow %d): kernel %s, ours %s (%s)", gp, !nofollow,
                         k->err ? strerror(k->err) : "found",
                         ours.err ? strerror(ours.err) : "found", r == 0 ? f->out : "no path");
            checked++;
        }
    }
    munmap(res, sz);
    assert_int_equal(checked, 2 * npaths);
}

/* Every allocation of ud_pathmap_new may fail: an error, nothing leaked
 * (ASan), and eventually success. Failed cache inserts change no answer. */
static void
test_alloc_fail(void **state)
{
    struct fx *f = *state;
    ud_pathmap_free(f->m);
    f->m = NULL;
    int r = -1;
    long failures = 0;
    for (long n = 1; n < 1000 && r != 0; n++) {
        ud_alloc_fail_after(n);
        r = map_new(f);
        ud_alloc_fail_after(0);
        if (r != 0) {
            assert_int_equal(r, UD_ENOMEM);
            assert_null(f->m);
            failures++;
        }
    }
    assert_int_equal(r, 0);
    assert_true(failures >= 6); /* the map, root, binds array, a bind's two strings */
    for (long n = 1; n < 20; n++) {
        ud_pathmap_invalidate(f->m, NULL);
        ud_alloc_fail_after(n);
        host_is(f, NULL, "/lib/libc.so", true, 'R', "/usr/lib/libc.so");
        host_is(f, NULL, "/chain/f", true, 'D', "/sub/f");
        host_is(f, NULL, "/lib/libc.so", true, 'R', "/usr/lib/libc.so");
        ud_alloc_fail_after(0);
    }
}

static void
test_new_errors(void **state)
{
    struct fx *f = *state;
    struct ud_pathmap *m = NULL;
    struct ud_error err = {0};
    assert_int_equal(ud_pathmap_new("relative", NULL, 0, &m, &err), UD_EINVAL);
    char p[PATH_MAX * 2];
    snprintf(p, sizeof(p), "%s/nothing", f->top);
    assert_int_equal(ud_pathmap_new(p, NULL, 0, &m, &err), UD_ENOENT);
    snprintf(p, sizeof(p), "%s/root/file", f->top);
    assert_int_equal(ud_pathmap_new(p, NULL, 0, &m, &err), UD_ENOENT);
    struct ud_bind b = {.host = f->data, .cont = (char *)"/./", .flags = 0};
    assert_int_equal(ud_pathmap_new(f->root, &b, 1, &m, &err), UD_EINVAL);
    assert_non_null(strstr(err.msg, "container path"));
    b.cont = (char *)"/x";
    b.host = (char *)"rel";
    assert_int_equal(ud_pathmap_new(f->root, &b, 1, &m, &err), UD_EINVAL);
    assert_null(m);
    ud_pathmap_free(NULL);
}

/* The host "/" as the root: no doubled slash. */
static void
test_root_is_slash(void **state)
{
    struct ud_pathmap *m = NULL;
    struct ud_error err = {0};
    char out[PATH_MAX];
    assert_int_equal(ud_pathmap_new("/", NULL, 0, &m, &err), 0);
    assert_int_equal(ud_pathmap_to_host(m, NULL, "/", true, out, sizeof(out)), 0);
    assert_string_equal(out, "/");
    assert_int_equal(ud_pathmap_to_host(m, "/", "nonexistent-x/y", true, out, sizeof(out)), 0);
    assert_string_equal(out, "/nonexistent-x/y");
    assert_int_equal(ud_pathmap_to_guest(m, "/usr/bin", out, sizeof(out)), 0);
    assert_string_equal(out, "/usr/bin");
    ud_pathmap_free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_paths, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_symlinks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_binds, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_proc, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_missing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_long_paths, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_to_guest, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_to_guest_root_in_bind, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cache_syscalls, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_invalidate_rename, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_invalidate_dir_to_symlink, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_differential, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_alloc_fail, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_new_errors, fx_setup, fx_teardown),
        cmocka_unit_test(test_root_is_slash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
