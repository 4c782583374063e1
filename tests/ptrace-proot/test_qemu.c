// SPDX-License-Identifier: Apache-2.0
/*
 * Foreign-architecture programs under P1/P2 through the host's QEMU user
 * mode (modules/ptrace-proot/src/qemu.c): the choice of qemu binary from
 * synthetic ELF headers and fake PATH directories; a hand-made aarch64
 * program (no network needed); and, when the integration test has cached
 * Debian's arm64 busybox, a whole arm64 busybox root run as uid 65534.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UD_BUILDING_PTRACE_PROOT 1
#include "../../modules/ptrace-proot/src/ptrace_int.h"

#include "ud/ptrace-proot.h"

#include "ptest_root.h"

static const struct ptest_mode p1n = {&ud_engine_p1, true};
static const struct ptest_mode p1 = {&ud_engine_p1, false};
static const struct ptest_mode p2 = {&ud_engine_p2, false};

static struct ud_bind g_sys_binds[] = {
    {"/proc", "/proc", UD_BIND_DIR | UD_BIND_SYS},
    {"/dev", "/dev", UD_BIND_DIR | UD_BIND_SYS},
};

static struct ptest_root g_root; /* only dir and root are used */
static char g_why[256];          /* why the engine tests are skipped */
static bool g_busybox;           /* the arm64 busybox is in the root */
static char g_bb_why[512];
static char g_saved_path[4096];
static struct ptest_result g_res;

/* ---- synthetic headers ---- */

static void
elf_header(unsigned char *h, unsigned char cls, unsigned char data, unsigned machine,
           uint32_t flags)
{
    memset(h, 0, 64);
    memcpy(h, ELFMAG, SELFMAG);
    h[EI_CLASS] = cls;
    h[EI_DATA] = data;
    h[EI_VERSION] = EV_CURRENT;
    bool le = data == ELFDATA2LSB;
    h[le ? 16 : 17] = ET_EXEC;
    h[le ? 18 : 19] = (unsigned char)(machine & 0xff);
    h[le ? 19 : 18] = (unsigned char)(machine >> 8);
    for (int i = 0; i < 4; i++)
        h[36 + (le ? i : 3 - i)] = (unsigned char)(flags >> (8 * i)); /* 32-bit e_flags */
}

static char g_tmp[256];

static void
make_file(const char *dir, const char *name, const char *src, mode_t mode)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_int_equal(ud_file_copy(src, p, mode, NULL), 0);
}

static int
tmp_setup(void **state)
{
    (void)state;
    snprintf(g_tmp, sizeof(g_tmp), "/tmp/udqemu.XXXXXX");
    if (mkdtemp(g_tmp) == NULL)
        return -1;
    char d[PATH_MAX + 8];
    for (int i = 0; i < 3; i++) {
        snprintf(d, sizeof(d), "%s/d%d", g_tmp, i);
        if (mkdir(d, 0755) < 0)
            return -1;
    }
    const char *p = getenv("PATH");
    snprintf(g_saved_path, sizeof(g_saved_path), "%s", p != NULL ? p : "/usr/bin:/bin");
    return 0;
}

static int
tmp_teardown(void **state)
{
    (void)state;
    setenv("PATH", g_saved_path, 1);
    return ud_rm_rf(g_tmp, NULL) < 0 ? -1 : 0;
}

static void set_path(const char *fmt, ...) UD_PRINTF(1, 2);

static void
set_path(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    setenv("PATH", buf, 1);
}

/* The host's own machine and i386 without qemu-i386 run natively. */
static void
test_native(void **state)
{
    (void)state;
    unsigned char h[64];
    const char *q = (const char *)1;
    set_path("%s/d0", g_tmp);
    elf_header(h, ELFCLASS64, ELFDATA2LSB, EM_X86_64, 0);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), 0);
    assert_null(q);
    elf_header(h, ELFCLASS32, ELFDATA2LSB, EM_386, 0);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), 0);
    /* Not ELF, or a broken identification: for the kernel to refuse. */
    memcpy(h, "\177ELX", 4);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), 0);
    elf_header(h, 7, ELFDATA2LSB, EM_AARCH64, 0);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), 0);
    elf_header(h, ELFCLASS64, ELFDATA2LSB, EM_AARCH64, 0);
    assert_int_equal(ud_qemu_for_elf(h, 20, &q), 0); /* truncated */
    h[16] = ET_REL;                                  /* an object file: the kernel refuses it */
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), 0);
}

/* Foreign without a qemu: ENOEXEC, as the kernel without binfmt_misc. */
static void
test_missing(void **state)
{
    (void)state;
    unsigned char h[64];
    const char *q = NULL;
    set_path("%s/d0:%s/d1", g_tmp, g_tmp);
    elf_header(h, ELFCLASS64, ELFDATA2LSB, EM_AARCH64, 0);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), -ENOEXEC);
    assert_null(q);
    elf_header(h, ELFCLASS64, ELFDATA2LSB, 0x7777, 0); /* no such machine */
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), -ENOEXEC);
}

/* qemu-NAME-static first, then qemu-NAME; only static host ELF files that
 * can be executed; relative PATH entries ignored; PATH order kept; the
 * cache follows PATH. */
static void
test_choice(void **state)
{
    (void)state;
    unsigned char h[64];
    const char *q = NULL;
    char want[PATH_MAX + 64];

    /* A dynamic program as qemu-aarch64-static is refused (its libraries
     * would be opened inside the container); not executable either. */
    make_file(g_tmp, "d0/qemu-aarch64-static", PTEST_DYN, 0755);
    make_file(g_tmp, "d0/qemu-riscv64-static", PTEST_STATIC, 0644);
    set_path("%s/d0", g_tmp);
    elf_header(h, ELFCLASS64, ELFDATA2LSB, EM_AARCH64, 0);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), -ENOEXEC);
    elf_header(h, ELFCLASS64, ELFDATA2LSB, EM_RISCV, 0);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), -ENOEXEC);

    /* A static one in a later directory; "." and "" never count. */
    make_file(g_tmp, "d1/qemu-aarch64", PTEST_STATIC, 0755);
    assert_int_equal(chdir(g_tmp), 0);
    make_file(g_tmp, "qemu-aarch64-static", PTEST_STATIC, 0755);
    set_path(".::d1:%s/d0:%s/d1", g_tmp, g_tmp);
    elf_header(h, ELFCLASS64, ELFDATA2LSB, EM_AARCH64, 0);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), 1);
    snprintf(want, sizeof(want), "%s/d1/qemu-aarch64", g_tmp);
    assert_string_equal(q, want);
    assert_int_equal(chdir("/"), 0);

    /* -static wins over the plain name, even in a later directory. */
    make_file(g_tmp, "d2/qemu-aarch64-static", PTEST_STATIC, 0755);
    set_path("%s/d1:%s/d2", g_tmp, g_tmp);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), 1);
    snprintf(want, sizeof(want), "%s/d2/qemu-aarch64-static", g_tmp);
    assert_string_equal(q, want);

    /* Byte order and class pick the name. */
    make_file(g_tmp, "d2/qemu-aarch64_be-static", PTEST_STATIC, 0755);
    elf_header(h, ELFCLASS64, ELFDATA2MSB, EM_AARCH64, 0);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), 1);
    snprintf(want, sizeof(want), "%s/d2/qemu-aarch64_be-static", g_tmp);
    assert_string_equal(q, want);
    make_file(g_tmp, "d2/qemu-mipsn32el-static", PTEST_STATIC, 0755);
    elf_header(h, ELFCLASS32, ELFDATA2LSB, EM_MIPS, 0x20);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), 1);
    snprintf(want, sizeof(want), "%s/d2/qemu-mipsn32el-static", g_tmp);
    assert_string_equal(q, want);
    elf_header(h, ELFCLASS32, ELFDATA2LSB, EM_MIPS, 0);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), -ENOEXEC); /* no qemu-mipsel */

    /* i386 prefers qemu-i386 when there is one. */
    make_file(g_tmp, "d2/qemu-i386-static", PTEST_STATIC, 0755);
    elf_header(h, ELFCLASS32, ELFDATA2LSB, EM_386, 0);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), 1);
    snprintf(want, sizeof(want), "%s/d2/qemu-i386-static", g_tmp);
    assert_string_equal(q, want);

    /* A new PATH is searched again. */
    set_path("%s/d0", g_tmp);
    elf_header(h, ELFCLASS64, ELFDATA2LSB, EM_AARCH64, 0);
    assert_int_equal(ud_qemu_for_elf(h, sizeof(h), &q), -ENOEXEC);
}

/* ---- runs under the engines ---- */

#define NEED_QEMU()                                                                                \
    do {                                                                                           \
        if (g_why[0] != '\0') {                                                                    \
            print_message("SKIP: %s\n", g_why);                                                    \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

#define NEED_BUSYBOX()                                                                             \
    do {                                                                                           \
        NEED_QEMU();                                                                               \
        if (!g_busybox) {                                                                          \
            print_message("SKIP: %s\n", g_bb_why);                                                 \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* A static aarch64 program, assembled by hand: write(1, "hi arm64\n", 9);
 * exit(7). One PT_LOAD of the whole file at 0x400000. */
static bool
write_tiny_arm64(const char *path)
{
    static const uint32_t code[] = {
        0xd2800020, /* mov x0, #1 */
        0x100000e1, /* adr x1, msg (+28) */
        0xd2800122, /* mov x2, #9 */
        0xd2800808, /* mov x8, #64 (write) */
        0xd4000001, /* svc #0 */
        0xd28000e0, /* mov x0, #7 */
        0xd2800ba8, /* mov x8, #93 (exit) */
        0xd4000001, /* svc #0 */
    };
    static const char msg[] = "hi arm64\n";
    unsigned char img[256];
    size_t code_off = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
    size_t total = code_off + sizeof(code) + sizeof(msg) - 1;
    memset(img, 0, sizeof(img));
    Elf64_Ehdr *e = (Elf64_Ehdr *)img;
    memcpy(e->e_ident, ELFMAG, SELFMAG);
    e->e_ident[EI_CLASS] = ELFCLASS64;
    e->e_ident[EI_DATA] = ELFDATA2LSB;
    e->e_ident[EI_VERSION] = EV_CURRENT;
    e->e_type = ET_EXEC;
    e->e_machine = EM_AARCH64;
    e->e_version = EV_CURRENT;
    e->e_entry = 0x400000 + code_off;
    e->e_phoff = sizeof(Elf64_Ehdr);
    e->e_ehsize = sizeof(Elf64_Ehdr);
    e->e_phentsize = sizeof(Elf64_Phdr);
    e->e_phnum = 1;
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));
    ph->p_type = PT_LOAD;
    ph->p_flags = PF_R | PF_X;
    ph->p_vaddr = ph->p_paddr = 0x400000;
    ph->p_filesz = ph->p_memsz = total;
    ph->p_align = 0x1000;
    memcpy(img + code_off, code, sizeof(code));
    memcpy(img + code_off + sizeof(code), msg, sizeof(msg) - 1);
    return ud_file_write_atomic(path, img, total, 0755, NULL) == 0;
}

static bool
root_put(const char *rel, const char *text, mode_t mode)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", g_root.root, rel);
    return ud_file_write_atomic(p, text, strlen(text), mode, NULL) == 0;
}

static bool
root_mkdir(const char *rel, mode_t mode)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", g_root.root, rel);
    return mkdir(p, 0755) == 0 && chmod(p, mode) == 0;
}

/* The arm64 busybox the integration test caches (test_p1_foreign.sh). */
static void
add_busybox(void)
{
    const char *bb = getenv("UD_TEST_ARM64_BUSYBOX");
    if (bb == NULL)
        bb = QEMU_BUSYBOX;
    if (access(bb, R_OK) != 0) {
        snprintf(g_bb_why, sizeof(g_bb_why),
                 "no arm64 busybox at %s (integration.p1_foreign fetches it from Debian; "
                 "or set UD_TEST_ARM64_BUSYBOX)",
                 bb);
        return;
    }
    static const char *const applets[] = {"sh", "ls", "uname", "echo",     "cat",  "touch",
                                          "rm", "id", "test",  "readlink", "true", "mkdir"};
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/bin/busybox", g_root.root);
    if (ud_file_copy(bb, p, 0755, NULL) < 0) {
        snprintf(g_bb_why, sizeof(g_bb_why), "cannot copy %s", bb);
        return;
    }
    for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
        snprintf(p, sizeof(p), "%s/bin/%s", g_root.root, applets[i]);
        if (symlink("busybox", p) < 0) {
            snprintf(g_bb_why, sizeof(g_bb_why), "symlink bin/%s: %s", applets[i], strerror(errno));
            return;
        }
    }
    g_busybox = root_put("s.sh", "#!/bin/sh\necho \"script $0 $*\"\nexit 4\n", 0755);
}

static int
run_setup(void **state)
{
    (void)state;
    unsigned char h[64];
    const char *q = NULL;
    memset(&g_root, 0, sizeof(g_root));
    elf_header(h, ELFCLASS64, ELFDATA2LSB, EM_AARCH64, 0);
    if (ud_qemu_for_elf(h, sizeof(h), &q) != 1) {
        snprintf(g_why, sizeof(g_why), "no static qemu-aarch64-static in PATH (qemu-user-static)");
        return 0;
    }
    if (!ptest_can_ptrace(g_why, sizeof(g_why)))
        return 0;
    snprintf(g_root.dir, sizeof(g_root.dir), "/tmp/udqemu-root.XXXXXX");
    if (mkdtemp(g_root.dir) == NULL || chmod(g_root.dir, 0755) < 0)
        return -1;
    snprintf(g_root.root, sizeof(g_root.root), "%s/ROOT", g_root.dir);
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/tiny", g_root.root);
    if (mkdir(g_root.root, 0755) < 0 || !root_mkdir("bin", 0755) || !root_mkdir("tmp", 01777) ||
        !root_mkdir("proc", 0755) || !root_mkdir("dev", 0755) || !write_tiny_arm64(p))
        return -1;
    snprintf(p, sizeof(p), "%s/native", g_root.root);
    if (ud_file_copy(PTEST_STATIC, p, 0755, NULL) < 0)
        return -1;
    add_busybox();
    return 0;
}

static int
run_teardown(void **state)
{
    (void)state;
    if (g_root.dir[0] != '\0' && ud_rm_rf(g_root.dir, NULL) < 0)
        return -1;
    return 0;
}

static void
run(const struct ptest_mode *m, const char *cwd, const char *const *argv, int want_exit)
{
    ptest_run(m, &g_root, cwd, g_sys_binds, 2, NULL, argv, &g_res);
    if (g_res.rc != 0 || !WIFEXITED(g_res.wstatus) || WEXITSTATUS(g_res.wstatus) != want_exit)
        print_message("rc=%d err=%s wstatus=0x%x output:\n%s\n", g_res.rc, g_res.err, g_res.wstatus,
                      g_res.out);
    assert_int_equal(g_res.rc, 0);
    assert_true(WIFEXITED(g_res.wstatus));
    assert_int_equal(WEXITSTATUS(g_res.wstatus), want_exit);
}

static void
sh(const struct ptest_mode *m, const char *script, int want_exit)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    run(m, "/", argv, want_exit);
}

/* The hand-made program: by absolute and relative path, exit status. */
static void
test_tiny(void **state)
{
    NEED_QEMU();
    const char *abs[] = {"/tiny", NULL};
    run(*state, "/", abs, 7);
    assert_string_equal(g_res.out, "hi arm64\n");
    const char *rel[] = {"./tiny", "with", "args", NULL};
    run(*state, "/", rel, 7);
    assert_string_equal(g_res.out, "hi arm64\n");
}

/* Without a qemu the exec fails with ENOEXEC (the first process reports
 * it and exits 126), whatever binfmt_misc may hold. */
static void
test_tiny_no_qemu(void **state)
{
    NEED_QEMU();
    const char *abs[] = {"/tiny", NULL};
    set_path("/nonexistent-ud-qemu");
    run(*state, "/", abs, 126);
    setenv("PATH", g_saved_path, 1);
    assert_non_null(strstr(g_res.out, "Exec format error"));
}

static void
test_uname(void **state)
{
    NEED_BUSYBOX();
    const char *argv[] = {"/bin/uname", "-m", NULL};
    run(*state, "/", argv, 0);
    assert_string_equal(g_res.out, "aarch64\n");
    /* PATH lookup and a relative path from the cwd. */
    const char *rel[] = {"./uname", "-m", NULL};
    run(*state, "/bin", rel, 0);
    assert_string_equal(g_res.out, "aarch64\n");
}

/* argv[0] kept (busybox picks the applet by it), exit status, a script,
 * pipes and children (each exec of a foreign program is wrapped again),
 * a native program from a foreign shell and back. */
static void
test_shell(void **state)
{
    NEED_BUSYBOX();
    sh(*state, "echo hi; exit 3", 3);
    assert_string_equal(g_res.out, "hi\n");
    sh(*state, "/s.sh a b; echo $?", 0);
    assert_string_equal(g_res.out, "script /s.sh a b\n4\n");
    sh(*state, "for i in 1 2 3; do uname -m; done | cat; /tiny; echo $?", 0);
    assert_string_equal(g_res.out, "aarch64\naarch64\naarch64\nhi arm64\n7\n");
    sh(*state, "/native argv0; /native exe; readlink /proc/self/exe", 0);
    assert_string_equal(g_res.out, "/native\n/native\n/bin/busybox\n");
    /* qemu ends the same way as the guest: by the signal. */
    const char *argv[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
    ptest_run(*state, &g_root, "/", g_sys_binds, 2, NULL, argv, &g_res);
    assert_int_equal(g_res.rc, 0);
    assert_true(WIFSIGNALED(g_res.wstatus));
    assert_int_equal(WTERMSIG(g_res.wstatus), SIGTERM);
}

/* Files: created in the root as the user, ls / shows the root. */
static void
test_files(void **state)
{
    NEED_BUSYBOX();
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/tmp/made", g_root.root);
    unlink(p);
    sh(*state, "echo made >/tmp/made; mkdir -p /tmp/dd; cat /tmp/made; id -u", 0);
    assert_string_equal(g_res.out, "made\n0\n");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    if (getuid() == 0)
        assert_int_equal(st.st_uid, 65534);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(ud_file_read(p, 100, &data, &len, NULL), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "made\n", 5);
    free(data);
    snprintf(p, sizeof(p), "%s/tmp/dd", g_root.root);
    assert_int_equal(rmdir(p), 0);

    char expect[1024] = "";
    struct dirent **names;
    int n = scandir(g_root.root, &names, NULL, alphasort);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            size_t l = strlen(expect);
            snprintf(expect + l, sizeof(expect) - l, "%s\n", names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
    sh(*state, "ls -1 /", 0);
    assert_string_equal(g_res.out, expect);
}

#define MODES(fn)                                                                                  \
    cmocka_unit_test_prestate(fn, (void *)&p1n), cmocka_unit_test_prestate(fn, (void *)&p1),       \
        cmocka_unit_test_prestate(fn, (void *)&p2)

int
main(void)
{
    const struct CMUnitTest choice[] = {
        cmocka_unit_test(test_native),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_choice),
    };
    const struct CMUnitTest runs[] = {
        MODES(test_tiny),  MODES(test_tiny_no_qemu), MODES(test_uname),
        MODES(test_shell), MODES(test_files),
    };
    int r = cmocka_run_group_tests_name("qemu choice", choice, tmp_setup, tmp_teardown);
    return r + cmocka_run_group_tests_name("qemu runs", runs, run_setup, run_teardown);
}
