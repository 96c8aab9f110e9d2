/* libsodium-backed primitives. */
#include "crypto.h"
#include "common/error.h"

#include <sodium.h>
#include <liboath/oath.h>

int zg_crypto_init(void)
{
    if (sodium_init() < 0)
        return ZG_EINTERNAL;
    if (oath_init() != OATH_OK)
        return ZG_EINTERNAL;
    return 0;
}

void zg_random_bytes(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

uint32_t zg_random_uniform(uint32_t upper)
{
    return randombytes_uniform(upper);
}

void zg_sha256(const void *data, size_t n, unsigned char out[ZG_SHA256_LEN])
{
    crypto_hash_sha256(out, data, n);
}

void zg_sha256_hex(const void *data, size_t n, char out[ZG_SHA256_HEX])
{
    unsigned char h[ZG_SHA256_LEN];
    zg_sha256(data, n, h);
    zg_hex_encode(h, sizeof(h), out);
}

void zg_hmac_sha256(const unsigned char *key, size_t keylen, const void *data, size_t n,
                    unsigned char out[ZG_SHA256_LEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, data, n);
    crypto_auth_hmacsha256_final(&st, out);
}

void zg_hex_encode(const unsigned char *in, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, in, n);
}

int zg_hex_decode(const char *hex, unsigned char *out, size_t n)
{
    size_t got = 0;
    if (strlen(hex) != 2 * n)
        return ZG_EINVAL;
    if (sodium_hex2bin(out, n, hex, 2 * n, NULL, &got, NULL) != 0 || got != n)
        return ZG_EINVAL;
    return 0;
}

bool zg_ct_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

void zg_random_token(size_t nbytes, char *out, size_t outsz)
{
    unsigned char raw[64];
    if (nbytes > sizeof(raw))
        nbytes = sizeof(raw);
    randombytes_buf(raw, nbytes);
    sodium_bin2base64(out, outsz, raw, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

int zg_seal_hex(const unsigned char key[ZG_KEY_LEN], const void *plain, size_t n, char **out)
{
    size_t clen = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n +
                  crypto_aead_xchacha20poly1305_ietf_ABYTES;
    unsigned char *c = malloc(clen);
    char *hex = malloc(2 * clen + 1);
    if (!c || !hex) {
        free(c);
        free(hex);
        return ZG_ENOMEM;
    }
    unsigned char *nonce = c;
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long got = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(c + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                               &got, plain, n, NULL, 0, NULL, nonce, key);
    zg_hex_encode(c, clen, hex);
    free(c);
    *out = hex;
    return 0;
}

int zg_open_hex(const unsigned char key[ZG_KEY_LEN], const char *hex, char **out, size_t *outlen)
{
    size_t hl = strlen(hex);
    size_t min = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                 crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (hl % 2 || hl / 2 < min)
        return ZG_ECORRUPT;
    size_t clen = hl / 2;
    unsigned char *c = malloc(clen);
    char *p = malloc(clen + 1);
    if (!c || !p) {
        free(c);
        free(p);
        return ZG_ENOMEM;
    }
    int rc = ZG_ECORRUPT;
    unsigned long long plen = 0;
    if (zg_hex_decode(hex, c, clen) == 0 &&
        crypto_aead_xchacha20poly1305_ietf_decrypt(
            (unsigned char *)p, &plen, NULL, c + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            clen - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, 0, c, key) == 0) {
        p[plen] = '\0';
        *out = p;
        if (outlen)
            *outlen = (size_t)plen;
        p = NULL;
        rc = 0;
    }
    free(c);
    free(p);
    return rc;
}

void zg_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}
