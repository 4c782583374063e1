/* SPDX-License-Identifier: Apache-2.0 */
/*
 * String predicates, NULL-terminated string vectors and the cleanup
 * functions behind the cleanup_* attributes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ud/base.h"

void
ud_freep(void *p)
{
    free(*(void **)p);
}

void
ud_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void
ud_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
    *f = NULL;
}

void
ud_closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
    *d = NULL;
}

void
ud_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

void
ud_strvp(char ***v)
{
    ud_strv_free(*v);
    *v = NULL;
}

bool
ud_str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
ud_str_has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

size_t
ud_strv_len(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

int
ud_strv_push(char ***v, const char *s, struct ud_error *err)
{
    size_t n = ud_strv_len(*v);
    char *copy = ud_strdup(s);
    if (!copy)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    char **nv = ud_realloc(*v, (n + 2) * sizeof *nv);
    if (!nv) {
        free(copy);
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    }
    nv[n] = copy;
    nv[n + 1] = NULL;
    *v = nv;
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void
ud_strv_sort(char **v)
{
    qsort(v, ud_strv_len(v), sizeof *v, cmp_str);
}
