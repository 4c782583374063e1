/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl opened on first use (UD_LAZY_LIBS). The module calls curl_* as
 * usual; these definitions, with curl.h's own prototypes, forward each call
 * to the real function found with dlsym(). Local commands then start
 * without mapping libcurl and its forty dependencies. See
 * docs/lazy-loading.md. A function used but missing here is a link error.
 */
/* The type-checking macros would rename the calls below; we forward
 * exactly what the caller passed, so the plain prototypes are wanted. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>

#include "reg_int.h"

/* Every libcurl function the module calls. */
#define CURL_FUNCS(X)                                                                              \
    X(curl_global_init)                                                                            \
    X(curl_global_cleanup)                                                                         \
    X(curl_free)                                                                                   \
    X(curl_getdate)                                                                                \
    X(curl_easy_init)                                                                              \
    X(curl_easy_setopt)                                                                            \
    X(curl_easy_perform)                                                                           \
    X(curl_easy_getinfo)                                                                           \
    X(curl_easy_reset)                                                                             \
    X(curl_easy_cleanup)                                                                           \
    X(curl_easy_strerror)                                                                          \
    X(curl_multi_init)                                                                             \
    X(curl_multi_setopt)                                                                           \
    X(curl_multi_add_handle)                                                                       \
    X(curl_multi_remove_handle)                                                                    \
    X(curl_multi_perform)                                                                          \
    X(curl_multi_poll)                                                                             \
    X(curl_multi_info_read)                                                                        \
    X(curl_multi_cleanup)                                                                          \
    X(curl_share_init)                                                                             \
    X(curl_share_setopt)                                                                           \
    X(curl_share_cleanup)                                                                          \
    X(curl_slist_append)                                                                           \
    X(curl_slist_free_all)                                                                         \
    X(curl_url)                                                                                    \
    X(curl_url_set)                                                                                \
    X(curl_url_get)                                                                                \
    X(curl_url_cleanup)                                                                            \
    X(curl_url_strerror)

static const char *const curl_sonames[] = {"libcurl.so.4", "libcurl-gnutls.so.4", NULL};
static struct ud_lazylib curl_lib = {.sonames = curl_sonames};

/* One cached address per function, written once (atomically: two threads
 * may resolve the same name at the same time and store the same value). */
#define CURL_SLOT(n) static void *slot_##n;
CURL_FUNCS(CURL_SLOT)

static void *
curl_resolve(void **slot, const char *name)
{
    return ud_lazylib_sym_cached(&curl_lib, slot, name);
}

/* `real` gets the exact type of the function curl.h declares. POSIX
 * guarantees that dlsym()'s void * converts to a function pointer. */
#define REAL(n) __typeof__(n) *real = (__typeof__(n) *)curl_resolve(&slot_##n, #n)

/* A callback passed through setopt is read as this generic type and handed
 * on unchanged; libcurl then reads it as the callback type the option
 * names. Without a per-option table the exact type is unknown here; every
 * ABI we build for (and libcurl's own varargs) gives all function pointers
 * one representation. */
typedef void (*lazy_fn)(void);

int
reg_curl_load(struct ud_error *err)
{
    static const struct {
        void **slot;
        const char *name;
    } table[] = {
#define CURL_ENTRY(n) {&slot_##n, #n},
        CURL_FUNCS(CURL_ENTRY)};
    /* Resolve everything now, so an old libcurl lacking one function is
     * reported here and not as a strange failure halfway through a pull. */
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (!curl_resolve(table[i].slot, table[i].name)) {
            const char *why = ud_lazylib_error(&curl_lib);
            return ud_error_set(err, UD_EUNSUPP, 0, "cannot load libcurl: %s",
                                why ? why : "unknown error");
        }
    return 0;
}

/* ---- global, memory, dates ---- */

CURLcode
curl_global_init(long flags)
{
    REAL(curl_global_init);
    return real ? real(flags) : CURLE_FAILED_INIT;
}

void
curl_global_cleanup(void)
{
    REAL(curl_global_cleanup);
    if (real)
        real();
}

void
curl_free(void *p)
{
    /* Without libcurl nothing was ever allocated by it. */
    REAL(curl_free);
    if (real)
        real(p);
}

time_t
curl_getdate(const char *p, const time_t *unused)
{
    REAL(curl_getdate);
    return real ? real(p, unused) : (time_t)-1;
}

/* ---- easy interface ---- */

CURL *
curl_easy_init(void)
{
    REAL(curl_easy_init);
    return real ? real() : NULL;
}

CURLcode
curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    REAL(curl_easy_setopt);
    if (!real)
        return CURLE_FAILED_INIT;
    /* The option number's range says the type of its one argument. */
    CURLcode rc;
    va_list ap;
    va_start(ap, option);
    if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = real(curl, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_FUNCTIONPOINT)
        rc = real(curl, option, va_arg(ap, void *));
    else if (option < CURLOPTTYPE_OFF_T)
        rc = real(curl, option, va_arg(ap, lazy_fn));
#ifdef CURLOPTTYPE_BLOB
    else if (option < CURLOPTTYPE_BLOB)
        rc = real(curl, option, va_arg(ap, curl_off_t));
    else if (option < CURLOPTTYPE_BLOB + 10000)
        rc = real(curl, option, va_arg(ap, struct curl_blob *));
#else
    else if (option < CURLOPTTYPE_OFF_T + 10000)
        rc = real(curl, option, va_arg(ap, curl_off_t));
#endif
    else
        rc = CURLE_UNKNOWN_OPTION;
    va_end(ap);
    return rc;
}

CURLcode
curl_easy_perform(CURL *curl)
{
    REAL(curl_easy_perform);
    return real ? real(curl) : CURLE_FAILED_INIT;
}

CURLcode
curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    REAL(curl_easy_getinfo);
    if (!real)
        return CURLE_FAILED_INIT;
    /* Always one pointer; its type follows the info's type bits. */
    CURLcode rc;
    va_list ap;
    va_start(ap, info);
    switch ((int)info & CURLINFO_TYPEMASK) {
    case CURLINFO_STRING:
        rc = real(curl, info, va_arg(ap, char **));
        break;
    case CURLINFO_LONG:
        rc = real(curl, info, va_arg(ap, long *));
        break;
    case CURLINFO_DOUBLE:
        rc = real(curl, info, va_arg(ap, double *));
        break;
    case CURLINFO_SLIST: /* also CURLINFO_PTR: lists, certinfo, TLS session */
        rc = real(curl, info, va_arg(ap, void *));
        break;
    case CURLINFO_SOCKET:
        rc = real(curl, info, va_arg(ap, curl_socket_t *));
        break;
    case CURLINFO_OFF_T:
        rc = real(curl, info, va_arg(ap, curl_off_t *));
        break;
    default:
        rc = CURLE_UNKNOWN_OPTION;
        break;
    }
    va_end(ap);
    return rc;
}

void
curl_easy_reset(CURL *curl)
{
    REAL(curl_easy_reset);
    if (real)
        real(curl);
}

void
curl_easy_cleanup(CURL *curl)
{
    REAL(curl_easy_cleanup);
    if (real)
        real(curl);
}

const char *
curl_easy_strerror(CURLcode code)
{
    REAL(curl_easy_strerror);
    return real ? real(code) : "cannot load libcurl";
}

/* ---- multi interface ---- */

CURLM *
curl_multi_init(void)
{
    REAL(curl_multi_init);
    return real ? real() : NULL;
}

CURLMcode
curl_multi_setopt(CURLM *multi, CURLMoption option, ...)
{
    REAL(curl_multi_setopt);
    if (!real)
        return CURLM_INTERNAL_ERROR;
    CURLMcode rc;
    va_list ap;
    va_start(ap, option);
    if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = real(multi, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_FUNCTIONPOINT)
        rc = real(multi, option, va_arg(ap, void *));
    else if (option < CURLOPTTYPE_OFF_T)
        rc = real(multi, option, va_arg(ap, lazy_fn));
    else if (option < CURLOPTTYPE_OFF_T + 10000)
        rc = real(multi, option, va_arg(ap, curl_off_t));
    else
        rc = CURLM_UNKNOWN_OPTION;
    va_end(ap);
    return rc;
}

CURLMcode
curl_multi_add_handle(CURLM *multi, CURL *curl)
{
    REAL(curl_multi_add_handle);
    return real ? real(multi, curl) : CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_remove_handle(CURLM *multi, CURL *curl)
{
    REAL(curl_multi_remove_handle);
    return real ? real(multi, curl) : CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_perform(CURLM *multi, int *running)
{
    REAL(curl_multi_perform);
    return real ? real(multi, running) : CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_poll(CURLM *multi, struct curl_waitfd extra_fds[], unsigned int extra_nfds,
                int timeout_ms, int *ret)
{
    REAL(curl_multi_poll);
    return real ? real(multi, extra_fds, extra_nfds, timeout_ms, ret) : CURLM_INTERNAL_ERROR;
}

CURLMsg *
curl_multi_info_read(CURLM *multi, int *msgs_in_queue)
{
    REAL(curl_multi_info_read);
    return real ? real(multi, msgs_in_queue) : NULL;
}

CURLMcode
curl_multi_cleanup(CURLM *multi)
{
    REAL(curl_multi_cleanup);
    return real ? real(multi) : CURLM_INTERNAL_ERROR;
}

/* ---- share interface ---- */

CURLSH *
curl_share_init(void)
{
    REAL(curl_share_init);
    return real ? real() : NULL;
}

CURLSHcode
curl_share_setopt(CURLSH *share, CURLSHoption option, ...)
{
    REAL(curl_share_setopt);
    if (!real)
        return CURLSHE_INVALID;
    /* Share options are a plain enum, not typed ranges: libcurl reads the
     * lock data kinds as int, the lock callbacks and the user pointer. */
    CURLSHcode rc;
    va_list ap;
    va_start(ap, option);
    switch (option) {
    case CURLSHOPT_SHARE:
    case CURLSHOPT_UNSHARE:
        rc = real(share, option, va_arg(ap, int));
        break;
    case CURLSHOPT_LOCKFUNC:
    case CURLSHOPT_UNLOCKFUNC:
        rc = real(share, option, va_arg(ap, lazy_fn));
        break;
    case CURLSHOPT_USERDATA:
        rc = real(share, option, va_arg(ap, void *));
        break;
    default:
        rc = CURLSHE_BAD_OPTION;
        break;
    }
    va_end(ap);
    return rc;
}

CURLSHcode
curl_share_cleanup(CURLSH *share)
{
    REAL(curl_share_cleanup);
    return real ? real(share) : CURLSHE_INVALID;
}

/* ---- string lists and URLs ---- */

struct curl_slist *
curl_slist_append(struct curl_slist *list, const char *s)
{
    REAL(curl_slist_append);
    return real ? real(list, s) : NULL;
}

void
curl_slist_free_all(struct curl_slist *list)
{
    REAL(curl_slist_free_all);
    if (real)
        real(list);
}

CURLU *
curl_url(void)
{
    REAL(curl_url);
    return real ? real() : NULL;
}

CURLUcode
curl_url_set(CURLU *u, CURLUPart what, const char *part, unsigned int flags)
{
    REAL(curl_url_set);
    return real ? real(u, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

CURLUcode
curl_url_get(CURLU *u, CURLUPart what, char **part, unsigned int flags)
{
    REAL(curl_url_get);
    return real ? real(u, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

void
curl_url_cleanup(CURLU *u)
{
    REAL(curl_url_cleanup);
    if (real)
        real(u);
}

const char *
curl_url_strerror(CURLUcode code)
{
    REAL(curl_url_strerror);
    return real ? real(code) : "cannot load libcurl";
}
