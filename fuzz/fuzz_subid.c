// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the /etc/subuid parser and the id maps built from what it accepts.
 * A range found must be non-empty and inside the 32-bit id space, and the
 * map built from it must never hold the caller's id twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ud/runc-rootless.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
    if (!ok)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const users[] = {"alice", "1000", "", NULL};
    const char *text = (const char *)data;

    for (size_t u = 0; u < sizeof users / sizeof users[0]; u++) {
        struct ud_rr_subid r = {0};
        struct ud_error e = {0};
        int rc = ud_rr_subid_find(text, size, users[u], 1000, &r, &e);
        if (rc < 0) {
            check(rc == UD_ENOENT && e.msg[0]);
            continue;
        }
        check(r.count > 0 && (uint64_t)r.start + r.count <= (uint64_t)UINT32_MAX + 1);
        struct ud_rr_idrange m[2];
        size_t n = ud_rr_idmap_build(true, 1000, &r, m);
        check(n == 1 || n == 2);
        if (n == 2)
            check(1000 < m[1].outside || 1000 >= (uint64_t)m[1].outside + m[1].count);
        char buf[96];
        check(ud_rr_idmap_format(m, n, buf, sizeof buf, &e) == 0);
    }
    return 0;
}
