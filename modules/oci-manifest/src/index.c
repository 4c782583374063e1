/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Platforms in Docker naming (linux/amd64, linux/arm/v7): parsing what the
 * user types for --platform, the host platform from uname(2), and the
 * comparison used for index selection. Registries spell architectures the
 * Go way (GOARCH), while uname and users often use the kernel's names.
 * Then Docker manifest lists and OCI indexes and the choice of an entry:
 * unlike upstream, an entry without a variant does not end the search when
 * a variant was asked for; it is kept as a fallback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "oci_int.h"

struct arch_alias {
    const char *name;
    const char *arch;
    const char *variant; /* implied variant, "" for none */
};

/* Kernel/distribution names to GOARCH (+ variant). armv8l is a 32-bit
 * process on a 64-bit ARM kernel, which runs arm/v7 images. */
static const struct arch_alias aliases[] = {
    {"x86_64", "amd64", ""},
    {"x86-64", "amd64", ""},
    {"x64", "amd64", ""},
    {"aarch64", "arm64", ""},
    {"armhf", "arm", "v7"},
    {"armel", "arm", "v6"},
    {"armv7l", "arm", "v7"},
    {"armv7", "arm", "v7"},
    {"armv8l", "arm", "v7"},
    {"armv6l", "arm", "v6"},
    {"armv6", "arm", "v6"},
    {"armv5l", "arm", "v5"},
    {"armv5tel", "arm", "v5"},
    {"armv5tejl", "arm", "v5"},
    {"i386", "386", ""},
    {"i486", "386", ""},
    {"i586", "386", ""},
    {"i686", "386", ""},
    {"x86", "386", ""},
    {"ppc64el", "ppc64le", ""},
    {"powerpc64le", "ppc64le", ""},
    {"mips64el", "mips64le", ""},
    {"loongarch64", "loong64", ""},
};

static bool
valid_component(const char *s, size_t n)
{
    return n > 0 && oci_platform_chars_ok(s, n);
}

/* Copy n bytes (known to fit) lower-cased. */
static void
copy_lower(char field[UD_OCI_PLATFORM_FIELD], const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        field[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    field[n] = '\0';
}

/* Normalise a lower-case arch in place; fill the implied variant when the
 * variant is still empty. Also "arm"/"arm64" variants "7" -> "v7". */
static void
normalise(struct ud_platform *p)
{
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (strcmp(p->arch, aliases[i].name) == 0) {
            memcpy(p->arch, aliases[i].arch, strlen(aliases[i].arch) + 1);
            if (!p->variant[0])
                memcpy(p->variant, aliases[i].variant, strlen(aliases[i].variant) + 1);
            break;
        }
    }
    bool arm = strcmp(p->arch, "arm") == 0 || strcmp(p->arch, "arm64") == 0;
    size_t vn = strlen(p->variant);
    if (arm && vn > 0 && vn + 1 < UD_OCI_PLATFORM_FIELD && p->variant[0] >= '0' &&
        p->variant[0] <= '9') {
        memmove(p->variant + 1, p->variant, vn + 1);
        p->variant[0] = 'v';
    }
}

int
ud_oci_platform_parse(const char *s, struct ud_platform *out, struct ud_error *err)
{
    const char *part[3] = {0};
    size_t len[3] = {0};
    size_t np = 0;
    struct ud_platform p = {0};

    if (!s || !s[0])
        return ud_error_set(err, UD_EINVAL, 0, "empty platform");
    for (const char *c = s;;) {
        const char *slash = strchr(c, '/');
        if (np == 3)
            return ud_error_set(err, UD_EINVAL, 0,
                                "invalid platform '%.64s' (want os/arch[/variant])", s);
        part[np] = c;
        len[np] = slash ? (size_t)(slash - c) : strlen(c);
        np++;
        if (!slash)
            break;
        c = slash + 1;
    }
    for (size_t i = 0; i < np; i++) {
        if (!valid_component(part[i], len[i]))
            return ud_error_set(err, UD_EINVAL, 0,
                                "invalid platform '%.64s' (want os/arch[/variant])", s);
    }
    if (np == 1) {
        memcpy(p.os, "linux", 6);
        copy_lower(p.arch, part[0], len[0]);
    } else {
        copy_lower(p.os, part[0], len[0]);
        copy_lower(p.arch, part[1], len[1]);
        if (np == 3)
            copy_lower(p.variant, part[2], len[2]);
    }
    normalise(&p);
    *out = p;
    return 0;
}

int
ud_oci_platform_from_machine(const char *machine, struct ud_platform *out, struct ud_error *err)
{
    struct ud_platform p = {0};
    size_t n = machine ? strlen(machine) : 0;

    if (!valid_component(machine ? machine : "", n))
        return ud_error_set(err, UD_EINVAL, 0, "invalid machine name '%.64s'",
                            machine ? machine : "");
    memcpy(p.os, "linux", 6);
    copy_lower(p.arch, machine, n);
    normalise(&p);
    *out = p;
    return 0;
}

int
ud_oci_platform_host(struct ud_platform *out, struct ud_error *err)
{
    struct utsname u;
    struct ud_platform p;
    int rc;

    if (uname(&u) < 0)
        return ud_error_set(err, UD_EIO, errno, "uname");
    if ((rc = ud_oci_platform_from_machine(u.machine, &p, err)) < 0)
        return rc;
    size_t n = strlen(u.sysname);
    if (valid_component(u.sysname, n))
        copy_lower(p.os, u.sysname, n);
    *out = p;
    return 0;
}

void
ud_oci_platform_format(const struct ud_platform *p, char out[UD_OCI_PLATFORM_STR_MAX])
{
    if (p->variant[0])
        snprintf(out, UD_OCI_PLATFORM_STR_MAX, "%.31s/%.31s/%.31s", p->os, p->arch, p->variant);
    else
        snprintf(out, UD_OCI_PLATFORM_STR_MAX, "%.31s/%.31s", p->os, p->arch);
}

/* Lower-cased and alias-normalised copy; arm64 without variant is v8. */
static void
canonical(const struct ud_platform *in, struct ud_platform *out)
{
    memset(out, 0, sizeof(*out));
    copy_lower(out->os, in->os, strnlen(in->os, UD_OCI_PLATFORM_FIELD - 1));
    copy_lower(out->arch, in->arch, strnlen(in->arch, UD_OCI_PLATFORM_FIELD - 1));
    copy_lower(out->variant, in->variant, strnlen(in->variant, UD_OCI_PLATFORM_FIELD - 1));
    normalise(out);
    if (strcmp(out->arch, "arm64") == 0 && !out->variant[0])
        memcpy(out->variant, "v8", 3);
}

int
oci_platform_match_level(const struct ud_platform *have, const struct ud_platform *want)
{
    struct ud_platform h, w;

    canonical(have, &h);
    canonical(want, &w);
    /* Attestation manifests in buildx indexes carry unknown/unknown. */
    if (!h.os[0] || !h.arch[0] || strcmp(h.os, "unknown") == 0 || strcmp(h.arch, "unknown") == 0)
        return 0;
    if (strcmp(h.os, w.os) != 0 || strcmp(h.arch, w.arch) != 0)
        return 0;
    if (!w.variant[0] || strcmp(h.variant, w.variant) == 0)
        return 2;
    return h.variant[0] ? 0 : 1;
}

bool
ud_oci_platform_matches(const struct ud_platform *have, const struct ud_platform *want)
{
    return oci_platform_match_level(have, want) > 0;
}

/* ------------------------------------------------------------------ */
/* Indexes                                                             */
/* ------------------------------------------------------------------ */

/*
 * Docker manifest lists and OCI indexes, and the choice of the entry for a
 * platform. Unlike upstream, an entry without a variant does not end the
 * search when a variant was asked for: it is kept as a fallback.
 */

int
ud_oci_index_parse(const char *json, size_t len, enum ud_oci_kind kind, struct ud_index *out,
                   struct ud_error *err)
{
    json_t *root = NULL, *arr = NULL;
    struct ud_index idx = {0};
    char ctx[48];
    int rc;

    if ((rc = oci_doc_load(json, len, &kind, true, &root, err)) < 0)
        return rc;
    idx.kind = kind;
    if ((rc = oci_json_array(root, "manifests", "index", &arr, err)) < 0)
        goto out;
    size_t n = json_array_size(arr);
    if (n > UD_OCI_MAX_INDEX_ENTRIES) {
        rc = ud_error_set(err, UD_ETOOBIG, 0, "index has more than %d entries",
                          UD_OCI_MAX_INDEX_ENTRIES);
        goto out;
    }
    idx.manifests = ud_calloc(n ? n : 1, sizeof(*idx.manifests));
    if (!idx.manifests) {
        rc = oci_enomem(err);
        goto out;
    }
    idx.n_manifests = n; /* zeroed slots: fini is safe part way through */
    for (size_t i = 0; i < n; i++) {
        snprintf(ctx, sizeof(ctx), "index entry %zu", i);
        rc = oci_descriptor_parse(json_array_get(arr, i), true, true, ctx, &idx.manifests[i], err);
        if (rc < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(root);
    if (rc < 0) {
        ud_oci_index_fini(&idx);
        return rc;
    }
    *out = idx;
    return 0;
}

void
ud_oci_index_fini(struct ud_index *idx)
{
    if (!idx)
        return;
    for (size_t i = 0; idx->manifests && i < idx->n_manifests; i++)
        oci_descriptor_fini(&idx->manifests[i]);
    free(idx->manifests);
    memset(idx, 0, sizeof(*idx));
}

bool
ud_oci_descriptor_is_index(const struct ud_descriptor *d)
{
    return d && ud_oci_kind_is_index(ud_oci_kind_from_media_type(d->media_type));
}

/* Only entries that point at something we can pull further are candidates:
 * image manifests or nested indexes, with a usable platform. */
static bool
is_candidate(const struct ud_descriptor *d)
{
    enum ud_oci_kind k = ud_oci_kind_from_media_type(d->media_type);
    return d->has_platform && (ud_oci_kind_is_manifest(k) || ud_oci_kind_is_index(k));
}

int
ud_oci_index_select(const struct ud_index *idx, const struct ud_platform *want,
                    const struct ud_descriptor **out, struct ud_error *err)
{
    const struct ud_descriptor *fallback = NULL;
    char pbuf[UD_OCI_PLATFORM_STR_MAX];

    for (size_t i = 0; idx && want && i < idx->n_manifests; i++) {
        const struct ud_descriptor *d = &idx->manifests[i];
        if (!is_candidate(d))
            continue;
        int level = oci_platform_match_level(&d->platform, want);
        if (level == 2) {
            *out = d;
            return 0;
        }
        if (level == 1 && !fallback)
            fallback = d;
    }
    if (fallback) {
        *out = fallback;
        return 0;
    }
    if (want)
        ud_oci_platform_format(want, pbuf);
    else
        pbuf[0] = '\0';
    return ud_error_set(err, UD_ENOTFOUND, 0, "no image found in manifest for platform (%s)", pbuf);
}
