/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --cpuset-cpus=LIST ("0-3,6"): upstream prefixes numactl or taskset; the
 * R engines set the affinity themselves before exec, which needs no tool
 * and is inherited by everything the command starts.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "rr_int.h"

/* A CPU number at *p (advanced past it); false when none or too big. */
static bool
cpu_number(const char **p, unsigned *out)
{
    unsigned v = 0;
    const char *s = *p;

    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (unsigned)(*s - '0');
        if (v >= CPU_SETSIZE)
            return false;
    }
    *p = s;
    *out = v;
    return true;
}

int
rr_cpuset_parse(const char *list, cpu_set_t *out, struct ud_error *err)
{
    const char *p = list;
    cpu_set_t set;

    CPU_ZERO(&set);
    while (p && *p) {
        unsigned a, b;
        if (!cpu_number(&p, &a))
            break;
        b = a;
        if (*p == '-' && (p++, !cpu_number(&p, &b)))
            break;
        if (b < a)
            break;
        for (unsigned c = a; c <= b; c++)
            CPU_SET(c, &set);
        if (*p == '\0') {
            *out = set;
            return 0;
        }
        if (*p != ',')
            break;
        p++;
    }
    return ud_error_set(err, UD_EINVAL, 0, "invalid cpuset: %s", list ? list : "");
}
