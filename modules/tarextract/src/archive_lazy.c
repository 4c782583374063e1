/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libarchive opened on first use (UD_LAZY_LIBS). The module calls archive_*
 * as usual; these definitions, with libarchive's own prototypes, forward
 * each call to the real function found with dlsym(), so commands that never
 * apply a layer start without mapping libarchive and its compressors. See
 * docs/lazy-loading.md. A function used but missing here is a link error.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>

#include "archive_lazy.h"

/* Every libarchive function the module calls. */
#define ARCHIVE_FUNCS(X)                                                                           \
    X(archive_entry_filetype)                                                                      \
    X(archive_entry_hardlink)                                                                      \
    X(archive_entry_hardlink_utf8)                                                                 \
    X(archive_entry_mtime)                                                                         \
    X(archive_entry_mtime_is_set)                                                                  \
    X(archive_entry_mtime_nsec)                                                                    \
    X(archive_entry_pathname)                                                                      \
    X(archive_entry_pathname_utf8)                                                                 \
    X(archive_entry_perm)                                                                          \
    X(archive_entry_size)                                                                          \
    X(archive_entry_size_is_set)                                                                   \
    X(archive_entry_symlink)                                                                       \
    X(archive_entry_symlink_utf8)                                                                  \
    X(archive_errno)                                                                               \
    X(archive_error_string)                                                                        \
    X(archive_set_error)                                                                           \
    X(archive_read_new)                                                                            \
    X(archive_read_free)                                                                           \
    X(archive_read_support_format_tar)                                                             \
    X(archive_read_support_format_empty)                                                           \
    X(archive_read_support_filter_bzip2)                                                           \
    X(archive_read_support_filter_xz)                                                              \
    X(archive_read_set_read_callback)                                                              \
    X(archive_read_set_callback_data)                                                              \
    X(archive_read_open1)                                                                          \
    X(archive_read_next_header)                                                                    \
    X(archive_read_data_block)                                                                     \
    X(archive_read_data_skip)

static const char *const archive_sonames[] = {"libarchive.so.13", NULL};
static struct ud_lazylib archive_lib = {.sonames = archive_sonames};

/* One cached address per function, written once (atomically: two threads
 * may resolve the same name at the same time and store the same value). */
#define ARCHIVE_SLOT(n) static void *slot_##n;
ARCHIVE_FUNCS(ARCHIVE_SLOT)

static void *
archive_resolve(void **slot, const char *name)
{
    return ud_lazylib_sym_cached(&archive_lib, slot, name);
}

/* `real` gets the exact type of the function archive.h declares. POSIX
 * guarantees that dlsym()'s void * converts to a function pointer. */
#define REAL(n) __typeof__(n) *real = (__typeof__(n) *)archive_resolve(&slot_##n, #n)

int
tar_archive_load(struct ud_error *err)
{
    static const struct {
        void **slot;
        const char *name;
    } table[] = {
#define ARCHIVE_ENTRY(n) {&slot_##n, #n},
        ARCHIVE_FUNCS(ARCHIVE_ENTRY)};
    /* Resolve everything now, so an old libarchive lacking one function is
     * reported before extraction starts, not halfway through a layer. */
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (!archive_resolve(table[i].slot, table[i].name)) {
            const char *why = ud_lazylib_error(&archive_lib);
            return ud_error_set(err, UD_EUNSUPP, 0, "cannot load libarchive: %s",
                                why ? why : "unknown error");
        }
    return 0;
}

/* ---- entries: they exist only once the library is loaded, so the
 * fallbacks below are never reached in practice ---- */

mode_t
archive_entry_filetype(struct archive_entry *e)
{
    REAL(archive_entry_filetype);
    return real ? real(e) : 0;
}

const char *
archive_entry_hardlink(struct archive_entry *e)
{
    REAL(archive_entry_hardlink);
    return real ? real(e) : NULL;
}

const char *
archive_entry_hardlink_utf8(struct archive_entry *e)
{
    REAL(archive_entry_hardlink_utf8);
    return real ? real(e) : NULL;
}

time_t
archive_entry_mtime(struct archive_entry *e)
{
    REAL(archive_entry_mtime);
    return real ? real(e) : 0;
}

int
archive_entry_mtime_is_set(struct archive_entry *e)
{
    REAL(archive_entry_mtime_is_set);
    return real ? real(e) : 0;
}

long
archive_entry_mtime_nsec(struct archive_entry *e)
{
    REAL(archive_entry_mtime_nsec);
    return real ? real(e) : 0;
}

const char *
archive_entry_pathname(struct archive_entry *e)
{
    REAL(archive_entry_pathname);
    return real ? real(e) : NULL;
}

const char *
archive_entry_pathname_utf8(struct archive_entry *e)
{
    REAL(archive_entry_pathname_utf8);
    return real ? real(e) : NULL;
}

mode_t
archive_entry_perm(struct archive_entry *e)
{
    REAL(archive_entry_perm);
    return real ? real(e) : 0;
}

la_int64_t
archive_entry_size(struct archive_entry *e)
{
    REAL(archive_entry_size);
    return real ? real(e) : 0;
}

int
archive_entry_size_is_set(struct archive_entry *e)
{
    REAL(archive_entry_size_is_set);
    return real ? real(e) : 0;
}

const char *
archive_entry_symlink(struct archive_entry *e)
{
    REAL(archive_entry_symlink);
    return real ? real(e) : NULL;
}

const char *
archive_entry_symlink_utf8(struct archive_entry *e)
{
    REAL(archive_entry_symlink_utf8);
    return real ? real(e) : NULL;
}

/* ---- errors ---- */

int
archive_errno(struct archive *a)
{
    REAL(archive_errno);
    return real ? real(a) : 0;
}

const char *
archive_error_string(struct archive *a)
{
    REAL(archive_error_string);
    return real ? real(a) : "cannot load libarchive";
}

void
archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
    REAL(archive_set_error);
    if (!real)
        return;
    if (!fmt) { /* clears the error */
        real(a, err, NULL);
        return;
    }
    /* libarchive has no va_list variant: format here, hand over the text.
     * Its own messages are short; ours are capped the same way. */
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    real(a, err, "%s", msg);
}

/* ---- the reader ---- */

struct archive *
archive_read_new(void)
{
    REAL(archive_read_new);
    return real ? real() : NULL;
}

int
archive_read_free(struct archive *a)
{
    REAL(archive_read_free);
    return real ? real(a) : ARCHIVE_FATAL;
}

int
archive_read_support_format_tar(struct archive *a)
{
    REAL(archive_read_support_format_tar);
    return real ? real(a) : ARCHIVE_FATAL;
}

int
archive_read_support_format_empty(struct archive *a)
{
    REAL(archive_read_support_format_empty);
    return real ? real(a) : ARCHIVE_FATAL;
}

int
archive_read_support_filter_bzip2(struct archive *a)
{
    REAL(archive_read_support_filter_bzip2);
    return real ? real(a) : ARCHIVE_FATAL;
}

int
archive_read_support_filter_xz(struct archive *a)
{
    REAL(archive_read_support_filter_xz);
    return real ? real(a) : ARCHIVE_FATAL;
}

int
archive_read_set_read_callback(struct archive *a, archive_read_callback *cb)
{
    REAL(archive_read_set_read_callback);
    return real ? real(a, cb) : ARCHIVE_FATAL;
}

int
archive_read_set_callback_data(struct archive *a, void *data)
{
    REAL(archive_read_set_callback_data);
    return real ? real(a, data) : ARCHIVE_FATAL;
}

int
archive_read_open1(struct archive *a)
{
    REAL(archive_read_open1);
    return real ? real(a) : ARCHIVE_FATAL;
}

int
archive_read_next_header(struct archive *a, struct archive_entry **e)
{
    REAL(archive_read_next_header);
    return real ? real(a, e) : ARCHIVE_FATAL;
}

int
archive_read_data_block(struct archive *a, const void **buff, size_t *size, la_int64_t *offset)
{
    REAL(archive_read_data_block);
    return real ? real(a, buff, size, offset) : ARCHIVE_FATAL;
}

int
archive_read_data_skip(struct archive *a)
{
    REAL(archive_read_data_skip);
    return real ? real(a) : ARCHIVE_FATAL;
}
