/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The start banner of "run" (reference 6.4): byte for byte what upstream
 * prints, since scripts and tests match it. Upstream prints its pieces
 * with Python's print(), which puts a space between them: hence the
 * leading and trailing blanks of each line.
 */
#include <string.h>

#include "run_cmd.h"

char *
ud_run_banner(const char *id, char c, const char *argv0)
{
    char stars[79], blank[75], mid[75];
    const char *b = strrchr(argv0, '/');
    size_t tl;

    memset(stars, c, 78);
    stars[78] = '\0';
    memset(blank, ' ', 74);
    blank[74] = '\0';
    /* Python's str.center(74): with an odd margin the extra blank goes
     * right when the width is even. */
    cleanup_free char *title = ud_asprintf("STARTING %s", id);
    if (title == NULL)
        return NULL;
    tl = strlen(title);
    if (tl >= 74) {
        snprintf(mid, sizeof(mid), "%.74s", title);
    } else {
        size_t left = (74 - tl) / 2;
        memset(mid, ' ', 74);
        memcpy(mid + left, title, tl);
        mid[74] = '\0';
    }
    return ud_asprintf(" \n %s \n %c %s %c \n %c %s %c \n %c %s %c \n %s \n executing: %s", stars,
                       c, blank, c, c, mid, c, c, blank, c, stars, b ? b + 1 : argv0);
}
