// SPDX-License-Identifier: Apache-2.0
/*
 * exec_header: a file's first bytes as the tracer's exec handling reads
 * them. Input starting with "#!" goes to the script-line parser, anything
 * else to the ELF PT_INTERP reader (the program headers read from the
 * input itself, as from the file). Checks: no crash or overread (ASan),
 * an interpreter without blanks or newlines, an argument without blanks
 * at either end, and a PT_INTERP string that lies in the input.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define UD_BUILDING_PTRACE_PROOT 1
#include "../modules/ptrace-proot/src/exec_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
    const uint8_t *p;
    size_t n;
};

static ssize_t
mem_read(void *ctx, void *buf, size_t n, off_t off)
{
    const struct mem *m = ctx;
    if (off < 0 || (uint64_t)off >= m->n)
        return 0;
    size_t avail = m->n - (size_t)off;
    size_t k = n < avail ? n : avail;
    memcpy(buf, m->p + off, k);
    return (ssize_t)k;
}

static void
check_shebang(const uint8_t *data, size_t size)
{
    char interp[UD_EXEC_HDR + 1], arg[UD_EXEC_HDR + 1];
    if (ud_exec_parse_shebang((const char *)data, size, interp, arg) < 0)
        return;
    size_t il = strlen(interp), al = strlen(arg);
    if (il == 0 || strpbrk(interp, " \t\n") != NULL || strchr(arg, '\n') != NULL)
        abort();
    if (al > 0 && (arg[0] == ' ' || arg[0] == '\t' || arg[al - 1] == ' ' || arg[al - 1] == '\t'))
        abort();
    if (il + al + 2 > UD_EXEC_HDR || memmem(data, size, interp, il) == NULL)
        abort();
}

static void
check_elf(const uint8_t *data, size_t size)
{
    struct mem m = {data, size};
    char *interp = malloc(PATH_MAX);
    size_t hn = size < UD_EXEC_HDR ? size : UD_EXEC_HDR;
    if (interp == NULL)
        return;
    /* The header as the tracer has it: a copy, not the input itself. */
    unsigned char *hdr = malloc(hn ? hn : 1);
    if (hdr == NULL) {
        free(interp);
        return;
    }
    memcpy(hdr, data, hn);
    int r = ud_exec_parse_interp(hdr, hn, mem_read, &m, interp);
    if (r == 0 && interp[0] != '\0') {
        size_t il = strlen(interp);
        if (il >= PATH_MAX || memmem(data, size, interp, il) == NULL)
            abort();
    }
    if (r < 0 && r != -ENOEXEC)
        abort();
    free(hdr);
    free(interp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 2 && data[0] == '#' && data[1] == '!')
        check_shebang(data, size);
    else
        check_elf(data, size);
    return 0;
}
