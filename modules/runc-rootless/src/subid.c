/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /etc/subuid and /etc/subgid: "owner:start:count" lines, owner being a
 * user name or a numeric id (subuid(5)). And the id maps written to
 * /proc/PID/uid_map or given to newuidmap/newgidmap.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rr_int.h"

/* A decimal uint32 of field [p, end); false when empty, not all digits or
 * out of range. */
static bool
parse_u32(const char *p, const char *end, uint32_t *out)
{
    uint64_t v = 0;

    if (p == end || end - p > 10)
        return false;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool
owner_matches(const char *p, const char *end, const char *user, uint32_t id)
{
    size_t n = (size_t)(end - p);
    uint32_t v;

    if (user && user[0] && strlen(user) == n && memcmp(p, user, n) == 0)
        return true;
    return parse_u32(p, end, &v) && v == id;
}

/* Parse one line [p, end) into out when it grants a range to the owner. */
static bool
line_grants(const char *p, const char *end, const char *user, uint32_t id, struct ud_rr_subid *out)
{
    const char *c1 = memchr(p, ':', (size_t)(end - p));
    const char *c2;
    uint32_t start, count;

    if (!c1)
        return false;
    c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
    if (!c2 || !owner_matches(p, c1, user, id))
        return false;
    if (!parse_u32(c1 + 1, c2, &start) || !parse_u32(c2 + 1, end, &count))
        return false;
    /* An empty range or one running past the id space is unusable. */
    if (count == 0 || (uint64_t)start + count > (uint64_t)UINT32_MAX + 1)
        return false;
    out->start = start;
    out->count = count;
    return true;
}

int
ud_rr_subid_find(const char *text, size_t len, const char *user, uint32_t id,
                 struct ud_rr_subid *out, struct ud_error *err)
{
    const char *p = text, *end = text + len;

    while (text && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        struct ud_rr_subid r;

        /* Tolerate CRLF files and trailing blanks. */
        while (le > p && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
            le--;
        if (line_grants(p, le, user, id, &r)) {
            *out = r;
            return 0;
        }
        p = nl ? nl + 1 : end;
    }
    return ud_error_set(err, UD_ENOENT, 0, "no subordinate ids for %s",
                        user && user[0] ? user : "this user");
}

int
ud_rr_subid_lookup(const char *path, const char *user, uint32_t id, struct ud_rr_subid *out,
                   struct ud_error *err)
{
    cleanup_free char *text = NULL;
    size_t len = 0;
    int rc = ud_file_read(path, 1u << 20, &text, &len, err);

    if (rc < 0) {
        if (rc != UD_ENOENT)
            return rc;
        return ud_error_set(err, UD_ENOENT, 0, "no subordinate ids: %s is missing", path);
    }
    rc = ud_rr_subid_find(text, len, user, id, out, err);
    if (rc < 0)
        ud_error_prefix(err, "%s: ", path);
    return rc;
}

size_t
ud_rr_idmap_build(bool as_root, uint32_t host_id, const struct ud_rr_subid *sub,
                  struct ud_rr_idrange out[2])
{
    out[0].inside = as_root ? 0 : host_id;
    out[0].outside = host_id;
    out[0].count = 1;
    if (!as_root || !sub || sub->count == 0)
        return 1;
    /* Ids 1..count inside come from the range; a range holding the host id
     * itself would map it twice, which the kernel refuses: trim it. */
    uint32_t count = sub->count;
    if (count > UINT32_MAX - 1)
        count = UINT32_MAX - 1;
    if (host_id >= sub->start && host_id - sub->start < count)
        count = host_id - sub->start;
    if (count == 0)
        return 1;
    out[1].inside = 1;
    out[1].outside = sub->start;
    out[1].count = count;
    return 2;
}

int
ud_rr_idmap_format(const struct ud_rr_idrange *r, size_t n, char *buf, size_t size,
                   struct ud_error *err)
{
    size_t off = 0;

    if (size == 0)
        return ud_error_set(err, UD_ETOOBIG, 0, "id map buffer too small");
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int k =
            snprintf(buf + off, size - off, "%u %u %u\n", r[i].inside, r[i].outside, r[i].count);
        if (k < 0 || (size_t)k >= size - off)
            return ud_error_set(err, UD_ETOOBIG, 0, "id map buffer too small");
        off += (size_t)k;
    }
    return 0;
}
