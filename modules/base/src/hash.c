/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sha256 and sha512 through OpenSSL's EVP interface: the digests that OCI
 * descriptors name ("sha256:<hex>", "sha512:<hex>").
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base_int.h"

#define HASH_CHUNK ((size_t)1 << 17) /* read size for whole-file digests */

int
ud_hash_algo_from_name(const char *name, int *algo, struct ud_error *err)
{
    if (strcmp(name, "sha256") == 0)
        *algo = UD_HASH_SHA256;
    else if (strcmp(name, "sha512") == 0)
        *algo = UD_HASH_SHA512;
    else
        return ud_error_set(err, UD_EUNSUPP, 0, "unsupported digest algorithm '%s'", name);
    return 0;
}

int
ud_hash_init(struct ud_hash *h, int algo, struct ud_error *err)
{
    if (algo != UD_HASH_SHA256 && algo != UD_HASH_SHA512)
        return ud_error_set(err, UD_EUNSUPP, 0, "unsupported digest algorithm");
    const EVP_MD *md = algo == UD_HASH_SHA512 ? EVP_sha512() : EVP_sha256();
#ifdef UD_LAZY_LIBS
    if (!md)
        return ud_error_set(err, UD_EUNSUPP, 0, "cannot load libcrypto: %s", base_crypto_error());
#endif
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    if (EVP_DigestInit_ex(ctx, md, NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return ud_error_set(err, UD_EIO, 0, "digest init failed");
    }
    h->ctx = ctx;
    h->algo = algo;
    return 0;
}

int
ud_hash_update(struct ud_hash *h, const void *p, size_t n, struct ud_error *err)
{
    if (EVP_DigestUpdate(h->ctx, p, n) != 1)
        return ud_error_set(err, UD_EIO, 0, "digest update failed");
    return 0;
}

int
ud_hash_final_hex(struct ud_hash *h, char *out, struct ud_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1)
        return ud_error_set(err, UD_EIO, 0, "digest final failed");
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * len] = '\0';
    return 0;
}

void
ud_hash_fini(struct ud_hash *h)
{
    if (h && h->ctx) {
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
    }
}

int
ud_hash_file(const char *path, int algo, char *out, struct ud_error *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ud_error_set(err, ud_error_from_errno(errno), errno, "open %s", path);
    /* On the heap, not in thread-local storage: base is also linked into the
     * preload library, where static TLS is carved out of every thread's
     * stack in the traced program. One allocation per file costs nothing. */
    cleanup_free char *chunk = ud_malloc(HASH_CHUNK);
    if (!chunk)
        return ud_error_set(err, UD_ENOMEM, ENOMEM, "out of memory");
    struct ud_hash h = {0};
    int rc = ud_hash_init(&h, algo, err);
    if (rc < 0)
        return rc;
    for (;;) {
        ssize_t n = read(fd, chunk, HASH_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ud_error_set(err, UD_EIO, errno, "read %s", path);
            break;
        }
        if (n == 0) {
            rc = ud_hash_final_hex(&h, out, err);
            break;
        }
        rc = ud_hash_update(&h, chunk, (size_t)n, err);
        if (rc < 0)
            break;
    }
    ud_hash_fini(&h);
    return rc;
}

int
ud_sha256_hex(const void *p, size_t n, char out[65], struct ud_error *err)
{
    struct ud_hash h = {0};
    int rc = ud_hash_init(&h, UD_HASH_SHA256, err);
    if (rc == 0)
        rc = ud_hash_update(&h, p, n, err);
    if (rc == 0)
        rc = ud_hash_final_hex(&h, out, err);
    ud_hash_fini(&h);
    return rc;
}
