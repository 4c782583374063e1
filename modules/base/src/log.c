/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process-wide log sink and level. This is one of the two pieces of
 * global state the project allows; libraries log through it and never
 * print directly.
 */
#include <stdio.h>

#include "ud/base.h"

static int log_level = UD_LOG_INFO;
static ud_log_sink_fn log_sink;
static void *log_sink_ctx;

void
ud_log_set_level(int level)
{
    log_level = level;
}

int
ud_log_get_level(void)
{
    return log_level;
}

bool
ud_log_enabled(int level)
{
    return level <= log_level;
}

void
ud_log_set_sink(ud_log_sink_fn fn, void *ctx)
{
    log_sink = fn;
    log_sink_ctx = ctx;
}

void
ud_logv(int level, const char *fmt, va_list ap)
{
    if (!ud_log_enabled(level))
        return;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    if (log_sink)
        log_sink(level, line, log_sink_ctx);
    else
        fprintf(stderr, "%s\n", line);
}

void
ud_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ud_logv(level, fmt, ap);
    va_end(ap);
}
