// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: the Docker CLI config.json lookup on arbitrary bytes, for
 * a few registry URLs (Docker Hub, a host:port, a plain host), and the
 * no_proxy matcher on the same bytes taken as a list. Every returned
 * string is read so sanitizers see it.
 */
#include <stdlib.h>
#include <string.h>

#include <ud/registry-client.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
touch(const char *s)
{
    return s ? strlen(s) : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const urls[] = {"https://registry-1.docker.io", "http://127.0.0.1:5000",
                                       "https://quay.io"};
    size_t total = 0;
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        struct ud_reg_docker_auth a = {0};
        struct ud_error err;
        if (ud_reg_docker_config_lookup((const char *)data, size, urls[i], &a, &err) == 0) {
            total +=
                touch(a.auth_b64) + touch(a.identity_token) + touch(a.helper) + touch(a.server);
            ud_reg_docker_auth_fini(&a);
        }
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    total += ud_reg_no_proxy_match(s, "127.0.0.1") + ud_reg_no_proxy_match(s, "a.example.com");
    free(s);
    return total == (size_t)-1;
}
