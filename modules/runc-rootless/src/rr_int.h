/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runc-rootless internals shared between the R1 parent, the R1 child, the
 * mountpoint code and the OCI driver.
 */
#pragma once
#ifndef UD_BUILDING_RUNC_ROOTLESS
#error "rr_int.h is private to the runc-rootless module"
#endif

#include <stdbool.h>
#include <sched.h>
#include <stddef.h>
#include <sys/types.h>

#include "ud/runc-rootless.h"

/* One prepared bind for a child: every path ready to hand to mount(2). */
struct rr_mount {
    char *src;    /* host path */
    char *cont;   /* resolved container path (no symlinks) */
    char *target; /* ROOT + cont */
    bool dir;
    bool ro;
    bool create; /* under /dev: the child makes the mountpoint on its tmpfs */
};

/* Resolve every bind of spec (skipping the system binds of /dev, /proc and
 * /sys, which the engine provides itself, and system binds missing on the
 * host), create missing mountpoints and record them. *out has *n entries;
 * free with rr_mounts_free. Also used for --device (host == cont). */
int rr_mounts_prepare(const struct ud_run_spec *spec, struct rr_mount **out, size_t *n,
                      struct ud_error *err);
void rr_mounts_free(struct rr_mount *m, size_t n);

/* ud_rr_path_resolve with more answers: *mode is the type found (0 when
 * missing) and *via_bind whether the path lies in an earlier bind. */
int rr_resolve(const char *root, const struct ud_bind *binds, size_t nbinds, const char *cpath,
               char **out, bool *exists, mode_t *mode, bool *via_bind, struct ud_error *err);

/* Parse a --cpuset-cpus list ("0-3,6") into *out. UD_EINVAL "invalid
 * cpuset: X" for anything else (empty items, reversed ranges, CPUs beyond
 * CPU_SETSIZE). */
int rr_cpuset_parse(const char *list, cpu_set_t *out, struct ud_error *err);

/* The errno-free reason line written by a child before exec. */
#define RR_MSG_MAX 240

/* Exit code of a program that could not be found or executed. */
#define RR_EXIT_NOTFOUND 127
#define RR_EXIT_NOEXEC 126
