/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two parsers of exec.c that read untrusted file contents, apart so
 * they can be fuzzed: the "#!" line of a script and the PT_INTERP of an
 * ELF file. Both work on bytes; the ELF one reads the program headers
 * through a callback (they may lie anywhere in the file).
 */
#pragma once

#ifndef UD_BUILDING_PTRACE_PROOT
#error "exec_parse.h is private to the ptrace-proot module"
#endif

#include <stddef.h>
#include <sys/types.h>

/* What the kernel reads of a file to pick its binary format. */
#define UD_EXEC_HDR 256

/* Read n bytes at offset off into buf: the count read, or -1. */
typedef ssize_t (*ud_exec_reader)(void *ctx, void *buf, size_t n, off_t off);

/* "#!interp [arg]" in the first n bytes of a file (at most UD_EXEC_HDR are
 * looked at), as binfmt_script splits it: interp and arg (the rest of the
 * line, trimmed; "" when none) into buffers of UD_EXEC_HDR + 1 bytes.
 * 0, or -ENOEXEC when there is no "#!" or no interpreter. */
int ud_exec_parse_shebang(const char *buf, size_t n, char *interp, char *arg);

/* The PT_INTERP of the ELF file whose first n bytes are hdr, into
 * interp[PATH_MAX] ("" for a static program). 0, or -ENOEXEC for a
 * truncated or implausible file. */
int ud_exec_parse_interp(const unsigned char *hdr, size_t n, ud_exec_reader rd, void *ctx,
                         char *interp);
