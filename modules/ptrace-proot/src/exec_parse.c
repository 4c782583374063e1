/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsers of exec headers (exec_parse.h): the "#!" line and PT_INTERP.
 * Everything read is untrusted: offsets and counts are checked before use
 * and structures are copied out of the byte buffer (never cast in place,
 * the buffer need not be aligned).
 */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "exec_parse.h"

int
ud_exec_parse_shebang(const char *buf, size_t n, char *interp, char *arg)
{
    char line[UD_EXEC_HDR + 1];
    size_t len = n < UD_EXEC_HDR ? n : UD_EXEC_HDR;
    if (len < 2 || buf[0] != '#' || buf[1] != '!')
        return -ENOEXEC;
    memcpy(line, buf, len);
    line[len] = '\0';
    char *nl = strchr(line, '\n');
    if (nl != NULL)
        *nl = '\0';
    char *p = line + 2;
    while (*p == ' ' || *p == '\t')
        p++;
    char *end = p + strcspn(p, " \t");
    if (end == p)
        return -ENOEXEC;
    size_t ilen = (size_t)(end - p);
    memcpy(interp, p, ilen);
    interp[ilen] = '\0';
    p = end;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t alen = strlen(p);
    while (alen > 0 && (p[alen - 1] == ' ' || p[alen - 1] == '\t'))
        alen--;
    memcpy(arg, p, alen);
    arg[alen] = '\0';
    return 0;
}

/* Program header i: its type, offset and file size. */
static int
read_phdr(bool is64, uint64_t phoff, uint64_t phentsize, uint64_t i, ud_exec_reader rd, void *ctx,
          uint64_t *type, uint64_t *off, uint64_t *sz)
{
    size_t want = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    uint64_t at = phoff + i * phentsize; /* i < 256, phentsize < 64 Ki: no overflow past 2^63 */
    if (phoff > INT64_MAX / 2 || at > (uint64_t)INT64_MAX - want)
        return -ENOEXEC;
    union {
        Elf64_Phdr p64;
        Elf32_Phdr p32;
    } ph;
    memset(&ph, 0, sizeof(ph));
    if (rd(ctx, &ph, want, (off_t)at) != (ssize_t)want)
        return -ENOEXEC;
    *type = is64 ? ph.p64.p_type : ph.p32.p_type;
    *off = is64 ? ph.p64.p_offset : ph.p32.p_offset;
    *sz = is64 ? ph.p64.p_filesz : ph.p32.p_filesz;
    return 0;
}

int
ud_exec_parse_interp(const unsigned char *hdr, size_t n, ud_exec_reader rd, void *ctx, char *interp)
{
    interp[0] = '\0';
    if (n < sizeof(Elf32_Ehdr) || memcmp(hdr, ELFMAG, SELFMAG) != 0)
        return -ENOEXEC;
    bool is64 = hdr[EI_CLASS] == ELFCLASS64;
    uint64_t phoff, phnum, phentsize;
    if (is64) {
        Elf64_Ehdr e;
        if (n < sizeof(e))
            return -ENOEXEC;
        memcpy(&e, hdr, sizeof(e));
        phoff = e.e_phoff, phnum = e.e_phnum, phentsize = e.e_phentsize;
    } else {
        Elf32_Ehdr e;
        memcpy(&e, hdr, sizeof(e));
        phoff = e.e_phoff, phnum = e.e_phnum, phentsize = e.e_phentsize;
    }
    if (phnum > 256 || phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
        return -ENOEXEC;
    for (uint64_t i = 0; i < phnum; i++) {
        uint64_t type, off, sz;
        int r = read_phdr(is64, phoff, phentsize, i, rd, ctx, &type, &off, &sz);
        if (r < 0)
            return r;
        if (type != PT_INTERP)
            continue;
        if (sz < 2 || sz >= PATH_MAX || off > (uint64_t)INT64_MAX - sz)
            return -ENOEXEC;
        if (rd(ctx, interp, (size_t)sz, (off_t)off) != (ssize_t)sz) {
            interp[0] = '\0';
            return -ENOEXEC;
        }
        interp[sz] = '\0';
        if (interp[0] == '\0')
            return -ENOEXEC; /* the kernel would look up "" */
        return 0;
    }
    return 0;
}
