/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libarchive opened on first use (UD_LAZY_LIBS, see archive_lazy.c and
 * docs/lazy-loading.md): the check a reader makes before its first
 * libarchive call, so a missing library gets a clear message.
 */
#ifndef UD_BUILDING_TAREXTRACT
#error "archive_lazy.h is private to the tarextract module"
#endif
#pragma once

#include "ud/base.h"

/* 0 when libarchive and every function the module uses can be called;
 * else UD_EUNSUPP "cannot load libarchive: <why>". Linked normally,
 * always 0. */
#ifdef UD_LAZY_LIBS
int tar_archive_load(struct ud_error *err);
#else
static inline int
tar_archive_load(struct ud_error *err)
{
    (void)err;
    return 0;
}
#endif
