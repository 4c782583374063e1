/* SPDX-License-Identifier: Apache-2.0 */
/*
 * R1 internals: the plan the parent prepares before clone() and the child
 * consumes (no allocation happens in the child), and the report a child
 * sends back through its close-on-exec pipe when it fails before exec.
 */
#pragma once
#ifndef UD_BUILDING_RUNC_ROOTLESS
#error "r1_int.h is private to the runc-rootless module"
#endif

#include "rr_int.h"

struct r1_plan {
    const struct ud_run_spec *spec;
    const struct rr_mount *mounts;
    size_t nmounts;
    char uid_map[96];
    char gid_map[96];
    bool write_maps; /* false when the parent ran newuidmap/newgidmap */
    bool pidns;
    bool affinity; /* set cpus before exec (--cpuset-cpus) */
    cpu_set_t cpus;
    bool utsns;
    int errfd;    /* write end of the report pipe (close-on-exec) */
    int syncfd;   /* read end: wait for the parent's maps; -1 when none */
    int statusfd; /* write end: the init reports the main wait status */
};

enum r1_report_kind {
    R1_SETUP = 1, /* a step before exec failed */
    R1_EXEC = 2,  /* execve failed */
};

struct r1_report {
    int kind;
    int err; /* errno */
    char msg[RR_MSG_MAX];
};

/* The cloned child: build the container and exec, or report and exit. */
__attribute__((noreturn)) void r1_child_main(const struct r1_plan *p);
