/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Foreign architectures: an ELF program for another machine is run under
 * the host's QEMU user-mode emulator (Debian's qemu-user-static), found in
 * the host's PATH. exec.c asks here, with the ELF header it has already
 * read, whether the program is foreign and which qemu binary runs it.
 * binfmt_misc is never relied on: the kernel is never handed a foreign ELF.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptrace_int.h"

#ifndef EM_LOONGARCH
#define EM_LOONGARCH 258
#endif
#ifndef EM_ALPHA
#define EM_ALPHA 0x9026
#endif

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
/* i386 programs run natively (when the kernel has IA-32 emulation) but the
 * tracer only understands the 64-bit ABI, so qemu-i386 is preferred for
 * them; without it they are left to the kernel as before. */
#define HOST_COMPAT EM_386
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#define HOST_COMPAT EM_ARM
#else
#error "foreign-architecture support: unknown host machine"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

#define EF_MIPS_ABI2_FLAG 0x20u /* n32 */

/* e_machine (class, byte order; 0 = any) -> qemu's name for it. MIPS
 * entries also match on the n32 flag (a 32-bit ELF with EF_MIPS_ABI2). */
struct qarch {
    unsigned machine;
    unsigned char cls, data;
    const char *name;
    bool n32;
};

static const struct qarch qarchs[] = {
    {EM_X86_64, ELFCLASS64, 0, "x86_64", false},
    {EM_386, ELFCLASS32, 0, "i386", false},
    {EM_AARCH64, 0, ELFDATA2LSB, "aarch64", false},
    {EM_AARCH64, 0, ELFDATA2MSB, "aarch64_be", false},
    {EM_ARM, 0, ELFDATA2LSB, "arm", false},
    {EM_ARM, 0, ELFDATA2MSB, "armeb", false},
    {EM_PPC64, 0, ELFDATA2LSB, "ppc64le", false},
    {EM_PPC64, 0, ELFDATA2MSB, "ppc64", false},
    {EM_PPC, 0, 0, "ppc", false},
    {EM_S390, ELFCLASS64, 0, "s390x", false},
    {EM_RISCV, ELFCLASS64, 0, "riscv64", false},
    {EM_RISCV, ELFCLASS32, 0, "riscv32", false},
    {EM_MIPS, ELFCLASS64, ELFDATA2LSB, "mips64el", false},
    {EM_MIPS, ELFCLASS64, ELFDATA2MSB, "mips64", false},
    {EM_MIPS, ELFCLASS32, ELFDATA2LSB, "mipsn32el", true},
    {EM_MIPS, ELFCLASS32, ELFDATA2MSB, "mipsn32", true},
    {EM_MIPS, ELFCLASS32, ELFDATA2LSB, "mipsel", false},
    {EM_MIPS, ELFCLASS32, ELFDATA2MSB, "mips", false},
    {EM_LOONGARCH, ELFCLASS64, 0, "loongarch64", false},
    {EM_SPARCV9, 0, 0, "sparc64", false},
    {EM_SPARC32PLUS, 0, 0, "sparc32plus", false},
    {EM_SPARC, 0, 0, "sparc", false},
    {EM_ALPHA, 0, 0, "alpha", false},
    {EM_68K, 0, 0, "m68k", false},
    {EM_SH, 0, ELFDATA2LSB, "sh4", false},
    {EM_SH, 0, ELFDATA2MSB, "sh4eb", false},
    {EM_PARISC, 0, 0, "hppa", false},
    {EM_MICROBLAZE, 0, ELFDATA2LSB, "microblazeel", false},
    {EM_MICROBLAZE, 0, ELFDATA2MSB, "microblaze", false},
    {EM_XTENSA, 0, ELFDATA2LSB, "xtensa", false},
    {EM_XTENSA, 0, ELFDATA2MSB, "xtensaeb", false},
    {EM_OPENRISC, 0, 0, "or1k", false},
    {EM_CRIS, 0, 0, "cris", false},
    {164 /* EM_QDSP6 */, 0, 0, "hexagon", false},
};
#define NQARCH (sizeof(qarchs) / sizeof(qarchs[0]))

/* What PATH gave for each entry of qarchs, for the PATH below. One tracer
 * runs per process at a time (the engine's signal forwarding is global
 * too), and only the ptrace loop's thread handles exec, so a file-scope
 * cache is enough; it is dropped when PATH changes (between runs). */
static struct {
    char *path_env;
    bool looked[NQARCH];
    char *qemu[NQARCH]; /* host path, NULL when none */
} cache;

static uint32_t
rd(const unsigned char *p, int bytes, unsigned char data)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++) {
        int k = data == ELFDATA2LSB ? bytes - 1 - i : i;
        v = (v << 8) | p[k];
    }
    return v;
}

/* Index in qarchs of the header's machine, or -1. */
static int
machine_index(const unsigned char *hdr, size_t n)
{
    unsigned char cls = hdr[EI_CLASS], data = hdr[EI_DATA];
    unsigned machine = rd(hdr + 18, 2, data);
    /* e_flags: offset 36 in a 32-bit header. */
    bool n32 = machine == EM_MIPS && cls == ELFCLASS32 && n >= 40 &&
               (rd(hdr + 36, 4, data) & EF_MIPS_ABI2_FLAG) != 0;
    for (size_t i = 0; i < NQARCH; i++) {
        const struct qarch *q = &qarchs[i];
        if (q->machine == machine && (!q->cls || q->cls == cls) && (!q->data || q->data == data) &&
            q->n32 == n32)
            return (int)i;
    }
    return -1;
}

/* A regular executable file that is a static ELF for the host: a dynamic
 * qemu would have its own libraries opened through the tracer, that is
 * inside the container. */
static bool
usable_qemu(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || access(path, X_OK) < 0)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    Elf64_Ehdr e;
    bool ok = pread(fd, &e, sizeof(e), 0) == (ssize_t)sizeof(e) &&
              memcmp(e.e_ident, ELFMAG, SELFMAG) == 0 && e.e_ident[EI_CLASS] == ELFCLASS64 &&
              e.e_machine == HOST_MACHINE && e.e_phentsize >= sizeof(Elf64_Phdr) &&
              e.e_phnum <= 256;
    for (unsigned i = 0; ok && i < e.e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof(ph), (off_t)(e.e_phoff + (uint64_t)i * e.e_phentsize)) !=
                (ssize_t)sizeof(ph) ||
            ph.p_type == PT_INTERP)
            ok = false;
    }
    close(fd);
    return ok;
}

/* qemu-NAME-static, then qemu-NAME, in each absolute directory of PATH. */
static char *
search_path(const char *path_env, const char *name)
{
    static const char *const suffixes[] = {"-static", ""};
    char file[64], cand[PATH_MAX];
    for (size_t f = 0; f < 2; f++) {
        snprintf(file, sizeof(file), "qemu-%s%s", name, suffixes[f]);
        const char *p = path_env;
        while (*p != '\0') {
            size_t len = strcspn(p, ":");
            /* Relative entries (".", "") would name the container's files
             * from the tracee's cwd: not the host's qemu. */
            if (len > 0 && p[0] == '/' &&
                snprintf(cand, sizeof(cand), "%.*s/%s", (int)len, p, file) < (int)sizeof(cand) &&
                usable_qemu(cand))
                return ud_strdup(cand);
            p += len;
            if (*p == ':')
                p++;
        }
    }
    return NULL;
}

static void
cache_reset(const char *path_env)
{
    for (size_t i = 0; i < NQARCH; i++) {
        free(cache.qemu[i]);
        cache.qemu[i] = NULL;
        cache.looked[i] = false;
    }
    free(cache.path_env);
    cache.path_env = ud_strdup(path_env);
}

int
ud_qemu_for_elf(const unsigned char *hdr, size_t n, const char **qemu)
{
    *qemu = NULL;
    if (n < sizeof(Elf32_Ehdr) || memcmp(hdr, ELFMAG, SELFMAG) != 0 ||
        (hdr[EI_CLASS] != ELFCLASS32 && hdr[EI_CLASS] != ELFCLASS64) ||
        (hdr[EI_DATA] != ELFDATA2LSB && hdr[EI_DATA] != ELFDATA2MSB))
        return 0; /* not for us to judge: the kernel answers */
    unsigned machine = rd(hdr + 18, 2, hdr[EI_DATA]);
    unsigned type = rd(hdr + 16, 2, hdr[EI_DATA]);
    if ((machine == HOST_MACHINE && hdr[EI_DATA] == HOST_DATA) ||
        (type != ET_EXEC && type != ET_DYN))
        return 0; /* native (x32 and the like), or not a program: the kernel's business */
    bool compat = machine == HOST_COMPAT && hdr[EI_DATA] == HOST_DATA;
    int i = machine_index(hdr, n);
    if (i < 0)
        return compat ? 0 : -ENOEXEC;
    const char *path_env = getenv("PATH");
    if (path_env == NULL)
        path_env = "/bin:/usr/bin";
    if (cache.path_env == NULL || strcmp(cache.path_env, path_env) != 0)
        cache_reset(path_env);
    if (!cache.looked[i]) {
        cache.qemu[i] = search_path(path_env, qarchs[i].name);
        cache.looked[i] = true;
        if (cache.qemu[i] != NULL)
            ud_log(UD_LOG_DEBUG, "ptrace: %s programs run under %s", qarchs[i].name, cache.qemu[i]);
        else
            ud_log(UD_LOG_DEBUG,
                   "ptrace: %s program, and no static qemu-%s-static or qemu-%s in PATH",
                   qarchs[i].name, qarchs[i].name, qarchs[i].name);
    }
    *qemu = cache.qemu[i];
    if (*qemu == NULL)
        return compat ? 0 : -ENOEXEC;
    return 1;
}
