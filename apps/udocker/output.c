/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the user sees, with upstream's streams and levels (reference 1.3):
 * results on stdout at MSG level (they survive -q), "Info:" lines on
 * stdout at INFO, warnings and errors on stderr. The log sink installed by
 * ud_output_install() routes the libraries' ud_log() lines the same way.
 */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"
#include "output.h"

void
ud_out(int level, const char *fmt, ...)
{
    if (!ud_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

/* stderr lines follow stdout ones in order when both go to a terminal or
 * the same file: flush stdout first. */
static void
err_line(const char *prefix, const char *fmt, va_list ap)
{
    fflush(stdout);
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void
ud_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_line("Error: ", fmt, ap);
    va_end(ap);
}

void
ud_warn(const char *fmt, ...)
{
    if (!ud_log_enabled(UD_LOG_WARN))
        return;
    va_list ap;
    va_start(ap, fmt);
    err_line("Warning: ", fmt, ap);
    va_end(ap);
}

void
ud_info(const char *fmt, ...)
{
    if (!ud_log_enabled(UD_LOG_INFO))
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("Info: ", stdout);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

/* Library log lines: errors and warnings on stderr with the usual prefix,
 * informational ones as "Info:" on stdout, verbose and debug lines on
 * stderr unprefixed (they are diagnostics, never results). */
static void
log_sink(int level, const char *line, void *ctx)
{
    (void)ctx;
    switch (level) {
    case UD_LOG_ERROR:
        fflush(stdout);
        fprintf(stderr, "Error: %s\n", line);
        break;
    case UD_LOG_WARN:
        fflush(stdout);
        fprintf(stderr, "Warning: %s\n", line);
        break;
    case UD_LOG_MSG:
        fprintf(stdout, "%s\n", line);
        break;
    case UD_LOG_INFO:
        fprintf(stdout, "Info: %s\n", line);
        break;
    default:
        fflush(stdout);
        fprintf(stderr, "%s\n", line);
        break;
    }
}

void
ud_output_install(int level)
{
    ud_log_set_level(level);
    ud_log_set_sink(log_sink, NULL);
}
