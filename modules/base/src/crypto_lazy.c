/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcrypto opened on first use (UD_LAZY_LIBS), like libcurl and libarchive
 * (docs/lazy-loading.md): relocating libcrypto was most of what was left of
 * the start-up time of local commands, which hash nothing. These
 * definitions carry <openssl/evp.h>'s prototypes and forward each call to
 * the real function. A function used but missing here is a link error.
 */
#include <openssl/evp.h>

#include "base_int.h"

static const char *const crypto_sonames[] = {"libcrypto.so.3", "libcrypto.so.1.1", NULL};
static struct ud_lazylib crypto_lib = {.sonames = crypto_sonames};

static void *
crypto_resolve(void **slot, const char *name)
{
    return ud_lazylib_sym_cached(&crypto_lib, slot, name);
}

/* `real` gets the exact type evp.h declares; POSIX lets dlsym()'s void *
 * convert to a function pointer. */
#define REAL(n)                                                                                    \
    static void *slot_##n;                                                                         \
    __typeof__(n) *real = (__typeof__(n) *)crypto_resolve(&slot_##n, #n)

const char *
base_crypto_error(void)
{
    const char *why = ud_lazylib_error(&crypto_lib);
    return why ? why : "unknown error";
}

const EVP_MD *
EVP_sha256(void)
{
    REAL(EVP_sha256);
    return real ? real() : NULL;
}

const EVP_MD *
EVP_sha512(void)
{
    REAL(EVP_sha512);
    return real ? real() : NULL;
}

EVP_MD_CTX *
EVP_MD_CTX_new(void)
{
    REAL(EVP_MD_CTX_new);
    return real ? real() : NULL;
}

void
EVP_MD_CTX_free(EVP_MD_CTX *ctx)
{
    /* Without libcrypto no context was ever made. */
    REAL(EVP_MD_CTX_free);
    if (real)
        real(ctx);
}

int
EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl)
{
    REAL(EVP_DigestInit_ex);
    return real ? real(ctx, type, impl) : 0;
}

int
EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt)
{
    REAL(EVP_DigestUpdate);
    return real ? real(ctx, d, cnt) : 0;
}

int
EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s)
{
    REAL(EVP_DigestFinal_ex);
    return real ? real(ctx, md, s) : 0;
}
