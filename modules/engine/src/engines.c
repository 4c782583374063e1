/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table of execution modes: which names are valid, the banner
 * character of each family, finding an engine by mode, and the automatic
 * choice of the fastest engine this host can run.
 */
#include <string.h>

#include "ud/engine.h"

char
ud_engine_banner_char(enum ud_engine_family f)
{
    switch (f) {
    case UD_ENGINE_P:
        return '*';
    case UD_ENGINE_F:
        return '#';
    case UD_ENGINE_R:
        return '%';
    case UD_ENGINE_S:
        return '/';
    }
    return '?';
}

bool
ud_execmode_valid(const char *mode)
{
    static const char *const modes[] = {"P1", "P2", "F1", "F2", "F3", "F4", "R1", "R2", "R3", "S1"};

    if (mode == NULL)
        return false;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(mode, modes[i]) == 0)
            return true;
    return false;
}

const struct ud_engine *
ud_engine_find(const struct ud_engine *const *engines, const char *mode)
{
    if (engines == NULL || mode == NULL)
        return NULL;
    for (size_t i = 0; engines[i] != NULL; i++)
        if (strcmp(engines[i]->mode, mode) == 0)
            return engines[i];
    return NULL;
}

/* Append "MODE: reason" to the joined reasons, truncating quietly: the
 * message is one line of at most sizeof(err->msg). */
static void
why_append(char *dst, size_t cap, const char *mode, const char *why)
{
    const char *parts[] = {strlen(dst) ? "; " : "", mode, ": ", why};
    size_t len = strlen(dst);

    for (size_t i = 0; i < 4; i++)
        for (const char *p = parts[i]; *p && len + 1 < cap; p++)
            dst[len++] = *p;
    dst[len] = '\0';
}

int
ud_engine_auto(const struct ud_engine *const *engines, const struct ud_hostcaps *caps,
               const struct ud_engine **out, struct ud_error *err)
{
    const struct ud_engine *best = NULL;
    char whys[sizeof(err->msg)] = "";
    struct ud_error e;

    for (size_t i = 0; engines != NULL && engines[i] != NULL; i++) {
        const struct ud_engine *en = engines[i];

        if (best != NULL && en->speed >= best->speed)
            continue;
        ud_error_clear(&e);
        if (en->probe != NULL && en->probe(caps, &e) != 0) {
            ud_log(UD_LOG_DEBUG, "execmode auto: %s does not work here: %s", en->mode, e.msg);
            why_append(whys, sizeof(whys), en->mode, e.msg[0] ? e.msg : "unavailable");
            continue;
        }
        best = en;
    }
    if (best == NULL) {
        if (whys[0] == '\0')
            return ud_error_set(err, UD_EUNSUPP, 0, "no execution engine in this build");
        return ud_error_set(err, UD_EUNSUPP, 0, "no execution mode works on this host: %s", whys);
    }
    ud_log(UD_LOG_DEBUG, "execmode auto: %s (%s), the fastest that works here", best->mode,
           best->summary ? best->summary : "");
    *out = best;
    return 0;
}
