/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to conf.c and conf_parse.c: the key table and the value and
 * file parsers (INI "[DEFAULT]" sections, Python-style lists and dicts).
 */
#pragma once

#include "conf.h"

enum ud_conf_ktype {
    K_STR,        /* string, "" allowed */
    K_OPTSTR,     /* string or unset (NULL; "" and "None" unset it) */
    K_DIR,        /* directory, made absolute */
    K_BOOL,       /* true/false yes/no on/off 1/0 */
    K_INT,        /* verbosity 0..5 */
    K_LONG,       /* non-negative integer */
    K_STRV,       /* list: "['a', 'b']", "('a',)", or words */
    K_REGISTRIES, /* {"name": ["registry url", "index url"], ...} */
    K_RAW,        /* text kept as written (printed by showconf) */
};

struct ud_conf_key {
    const char *name;
    enum ud_conf_ktype type;
    size_t off;
    const char *env; /* UDOCKER_* variable, or NULL */
    unsigned dirbit; /* explicit_dirs bit for subdirectories */
};

extern const struct ud_conf_key ud_conf_keys[];

const struct ud_conf_key *ud_conf_key_find(const char *name);
int ud_conf_parse_list(const char *s, char ***out, struct ud_error *err) UD_WUR;
int ud_conf_parse_registries(const char *s, struct ud_conf_registry **out, size_t *n,
                             struct ud_error *err) UD_WUR;
void ud_conf_registries_free(struct ud_conf_registry *r, size_t n);
/* Parse the text of a config file named path (for messages) into c. */
int ud_conf_parse_text(struct ud_conf *c, const char *path, const char *text,
                       struct ud_error *err) UD_WUR;
