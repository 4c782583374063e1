/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine: helpers shared by the module's source files (not public).
 */
#ifndef UD_BUILDING_ENGINE
#error "engine_int.h is private to the engine module"
#endif
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include "ud/engine.h"

/* A small integer from a /proc/sys file; -1 when missing or not a number. */
int ud_engine_read_sysctl(const char *path);
/* First executable prog in $PATH into out ("" when none). */
void ud_engine_find_in_path(const char *prog, char *out, size_t cap);
/* Docker's name of a uname machine ("x86_64" -> "amd64"). */
const char *ud_engine_docker_arch(const char *machine);

/* ---- The spec builder's pieces (spec*.c) ---- */

/* Image metadata the run uses (reference 4.2), all owned. */
struct ud_meta {
    char *user;
    char *workdir;
    char *hostname;
    char **entrypoint; /* NULL when the image has none */
    char **cmd;
    char **env;
    char **ports; /* ExposedPorts keys ("80/tcp") */
};
/* Parse container.json; an empty or NULL text gives an empty meta.
 * Errors: UD_EPARSE, UD_ENOMEM. */
int ud_meta_parse(const char *json, size_t len, struct ud_meta *m, struct ud_error *err);
void ud_meta_fini(struct ud_meta *m);

/* Decode upstream's '#' encoding of a container path ("#etc#x" ->
 * "/etc/x", used by .mountpoints and .bind_orig_files) into *out (caller
 * frees). UD_EINVAL when the result is not a path safe to join under ROOT
 * (relative, "/", "..", "//"); UD_ENOMEM. */
int ud_engine_hash_decode(const char *name, char **out);

/* Lexically clean an absolute or relative path ("//a/./b/../c/" ->
 * "/a/c"); ".." never climbs above "/". Caller frees; NULL on ENOMEM. */
char *ud_engine_path_clean(const char *p);

/* Resolve container path cpath (absolute, cleaned) through the spec's
 * binds and the container's symlinks, as the process inside would see it.
 * *host_out: the host path of the final object; both may be NULL.
 * Returns 0 (found), UD_ENOENT (a component is missing or a loop),
 * UD_ENOMEM. */
int ud_engine_resolve(const struct ud_run_spec *spec, const char *cpath, char **host_out,
                      struct stat *st_out);

/* Environment vector helpers: find "K=" in env; set (replace or append). */
const char *ud_env_get(char *const *env, const char *key);
int ud_env_set(char ***env, const char *key, const char *val, bool overwrite, struct ud_error *err);
/* A valid variable name for --env-file (no spaces, not starting with a
 * digit, no '='). */
bool ud_env_key_ok(const char *k, size_t len);

/* Append a bind (copies host and cont). */
int ud_spec_bind_add(struct ud_run_spec *s, const char *host, const char *cont, unsigned flags,
                     struct ud_error *err);
/* The bind whose container path is exactly cont, or NULL. */
struct ud_bind *ud_spec_bind_find(const struct ud_run_spec *s, const char *cont);

/* Steps of ud_run_spec_build, in order. */
int ud_spec_binds(struct ud_run_spec *s, const struct ud_run_opts *o, const struct ud_host_ident *h,
                  const struct ud_run_defaults *d, struct ud_error *err);
int ud_spec_user(struct ud_run_spec *s, const struct ud_run_opts *o, const struct ud_host_ident *h,
                 const struct ud_run_defaults *d, const struct ud_meta *m, struct ud_error *err);
int ud_spec_env(struct ud_run_spec *s, const struct ud_run_opts *o, const struct ud_host_ident *h,
                const struct ud_run_defaults *d, const struct ud_meta *m, struct ud_error *err);
int ud_spec_cwd(struct ud_run_spec *s, const struct ud_run_opts *o, const struct ud_meta *m,
                struct ud_error *err);
int ud_spec_argv(struct ud_run_spec *s, const struct ud_run_opts *o,
                 const struct ud_run_defaults *d, const struct ud_meta *m, struct ud_error *err);
int ud_spec_ports(struct ud_run_spec *s, const struct ud_run_opts *o, struct ud_error *err);
