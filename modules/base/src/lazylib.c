/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared libraries opened on first use. Linking libcurl or libarchive as
 * NEEDED makes every start of the tool map some forty objects; commands that
 * never touch the network or a layer should not pay for that. A module keeps
 * one static struct ud_lazylib per library and asks it for symbols.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ud/base.h"

enum { LAZY_UNTRIED = 0, LAZY_LOADED = 1, LAZY_FAILED = 2 };

/* One lock for every library: loading is rare and happens at most once
 * per library, so contention does not matter; it keeps the struct plain
 * and statically initialisable. */
static pthread_mutex_t lazy_lock = PTHREAD_MUTEX_INITIALIZER;

/* Try each soname in turn; keep the first dlerror() text for the report,
 * since the first name is the one expected to exist. */
static void
lazy_open(struct ud_lazylib *lib)
{
    char first[sizeof(lib->errmsg)] = "";
    void *h = NULL;
    for (const char *const *n = lib->sonames; n && *n && !h; n++) {
        h = dlopen(*n, RTLD_NOW | RTLD_LOCAL);
        if (!h && !first[0]) {
            const char *e = dlerror();
            snprintf(first, sizeof(first), "%s", e ? e : *n);
        }
    }
    if (!h) {
        if (!first[0])
            snprintf(first, sizeof(first), "no library name given");
        memcpy(lib->errmsg, first, sizeof(lib->errmsg));
        __atomic_store_n(&lib->state, LAZY_FAILED, __ATOMIC_RELEASE);
        return;
    }
    lib->handle = h;
    lib->errmsg[0] = '\0';
    __atomic_store_n(&lib->state, LAZY_LOADED, __ATOMIC_RELEASE);
}

int
ud_lazylib_load(struct ud_lazylib *lib)
{
    int st = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);
    if (st == LAZY_UNTRIED) {
        pthread_mutex_lock(&lazy_lock);
        if (__atomic_load_n(&lib->state, __ATOMIC_ACQUIRE) == LAZY_UNTRIED)
            lazy_open(lib);
        pthread_mutex_unlock(&lazy_lock);
        st = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);
    }
    return st == LAZY_LOADED ? 0 : -1;
}

void *
ud_lazylib_sym(struct ud_lazylib *lib, const char *name)
{
    if (ud_lazylib_load(lib) < 0)
        return NULL;
    /* dlerror() state is per thread; clear it so a NULL answer is ours. */
    pthread_mutex_lock(&lazy_lock);
    dlerror();
    void *p = dlsym(lib->handle, name);
    if (!p) {
        const char *e = dlerror();
        snprintf(lib->errmsg, sizeof(lib->errmsg), "%s: %s", lib->sonames[0],
                 e ? e : "symbol is NULL");
    }
    pthread_mutex_unlock(&lazy_lock);
    return p;
}

void *
ud_lazylib_sym_cached(struct ud_lazylib *lib, void **slot, const char *name)
{
    void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!p) {
        p = ud_lazylib_sym(lib, name);
        if (p)
            __atomic_store_n(slot, p, __ATOMIC_RELEASE);
    }
    return p;
}

const char *
ud_lazylib_error(struct ud_lazylib *lib)
{
    /* The text lives in lib. A failed load is final, so its message never
     * changes; only a later missing symbol overwrites it (under the lock). */
    if (__atomic_load_n(&lib->state, __ATOMIC_ACQUIRE) == LAZY_UNTRIED)
        return NULL;
    return lib->errmsg[0] ? lib->errmsg : NULL;
}
