// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: WWW-Authenticate parsing of arbitrary bytes. The input is
 * made NUL-terminated (headers reach the parser as C strings); every
 * parsed challenge is walked so sanitizers see each string.
 */
#include <stdlib.h>
#include <string.h>

#include <ud/registry-client.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct ud_reg_challenges cs;
    struct ud_error err;
    if (ud_reg_www_authenticate_parse(s, &cs, &err) == 0) {
        size_t total = 0;
        for (size_t i = 0; i < cs.n; i++) {
            total += strlen(cs.items[i].scheme);
            for (size_t k = 0; k < cs.items[i].nparams; k++)
                total += strlen(cs.items[i].params[k].key) + strlen(cs.items[i].params[k].value);
            if (cs.items[i].token68)
                total += strlen(cs.items[i].token68);
            (void)ud_reg_challenge_param(&cs.items[i], "realm");
        }
        if (total > size)
            abort(); /* parsed text can never exceed the input */
        ud_reg_challenges_fini(&cs);
    }
    free(s);
    return 0;
}
