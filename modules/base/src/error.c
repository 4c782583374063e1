/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Caller-owned error reports. Setting or prefixing an error never
 * allocates, so it works after an allocation failure too.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ud/base.h"

int
ud_error_set(struct ud_error *err, int code, int sys_errno, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->sys_errno = sys_errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        err->msg[0] = '\0';
    if (sys_errno != 0) {
        size_t len = strnlen(err->msg, sizeof err->msg);
        char ebuf[128];
        const char *es = strerror_r(sys_errno, ebuf, sizeof ebuf);
        snprintf(err->msg + len, sizeof err->msg - len, ": %s", es);
    }
    return code;
}

void
ud_error_prefix(struct ud_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[sizeof err->msg];
    char old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    /* Truncation is the intent: the message stays one bounded line. */
    size_t plen = strnlen(prefix, sizeof err->msg - 1);
    memcpy(err->msg, prefix, plen);
    size_t olen = strnlen(old, sizeof err->msg - 1 - plen);
    memcpy(err->msg + plen, old, olen);
    err->msg[plen + olen] = '\0';
}

void
ud_error_clear(struct ud_error *err)
{
    if (!err)
        return;
    err->code = UD_OK;
    err->sys_errno = 0;
    err->msg[0] = '\0';
}

int
ud_error_from_errno(int e)
{
    switch (e) {
    case 0:
        return UD_OK;
    case ENOMEM:
        return UD_ENOMEM;
    case ENOENT:
    case ENOTDIR:
        return UD_ENOENT;
    case EEXIST:
    case ENOTEMPTY:
        return UD_EEXIST;
    case EPERM:
    case EACCES:
    case EROFS:
        return UD_EPERM;
    case ENOSPC:
    case EFBIG:
    case EDQUOT:
        return UD_ENOSPC;
    case EWOULDBLOCK:
        return UD_EBUSY;
    case EINTR:
        return UD_ECANCELED;
    case EINVAL:
    case ENAMETOOLONG:
        return UD_EINVAL;
    case ELOOP:
    case EXDEV:
        return UD_EUNSAFE;
    default:
        return UD_EIO;
    }
}

const char *
ud_error_name(int code)
{
    static const char *const names[] = {
        "UD_OK",        "UD_EINVAL",  "UD_ENOMEM",  "UD_EIO",       "UD_ENOENT",
        "UD_EEXIST",    "UD_EPERM",   "UD_EPARSE",  "UD_ENET",      "UD_EAUTH",
        "UD_ENOTFOUND", "UD_EREMOTE", "UD_EDIGEST", "UD_EBUSY",     "UD_ENOSPC",
        "UD_EUNSUPP",   "UD_ETOOBIG", "UD_EUNSAFE", "UD_ECANCELED",
    };
    int idx = -code;
    if (idx < 0 || (size_t)idx >= sizeof names / sizeof names[0])
        return "UD_E?";
    return names[idx];
}
