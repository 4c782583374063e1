/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON re-printing in the shape of Python's json.dumps(sort_keys=True,
 * indent=4): keys sorted, 4-space indent, ": " after keys, non-ASCII
 * escaped. Upstream's inspect prints that, and scripts compare it.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "ud/base.h"

/* Jansson writes "\u00E9", Python "\u00e9": lower the hex digits of every
 * \u escape, stepping over other escapes so "\\u" stays as it is. */
static void
lowercase_unicode_escapes(char *s)
{
    for (; *s; s++) {
        if (*s != '\\')
            continue;
        s++;
        if (*s == 'u') {
            for (int i = 1; i <= 4 && s[i]; i++)
                s[i] = (char)tolower((unsigned char)s[i]);
        } else if (*s == '\0') {
            break;
        }
    }
}

int
ud_json_pretty(const char *json, size_t len, char **out, struct ud_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (!root)
        return ud_error_set(err, UD_EPARSE, 0, "invalid JSON at line %d: %s", jerr.line, jerr.text);
    char *s = json_dumps(root, JSON_INDENT(4) | JSON_SORT_KEYS | JSON_ENSURE_ASCII |
                                   JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!s)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    /* json_dumps allocates with the jansson allocator; hand back a copy made
     * with ours so the caller can free() it whichever allocator is active. */
    char *copy = ud_strdup(s);
    free(s);
    if (!copy)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    lowercase_unicode_escapes(copy);
    *out = copy;
    return 0;
}
