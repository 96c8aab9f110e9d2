/* Hashing, random bytes, encodings and authenticated encryption (libsodium). */
#ifndef ZG_CRYPTO_H
#define ZG_CRYPTO_H

#include "common/compat.h"

#define ZG_SHA256_LEN 32
#define ZG_SHA256_HEX 65 /* 64 hex digits + NUL */
#define ZG_KEY_LEN 32

/* Initialises libsodium and liboath; call once at start. Returns 0 or ZG_EINTERNAL. */
int zg_crypto_init(void) ZG_MUST_CHECK;

/* Fills buf with n cryptographically secure random bytes. */
void zg_random_bytes(void *buf, size_t n);

/* Uniform random integer in [0, upper). */
uint32_t zg_random_uniform(uint32_t upper);

/* SHA-256 of data into out[32]. */
void zg_sha256(const void *data, size_t n, unsigned char out[ZG_SHA256_LEN]);

/* SHA-256 as lowercase hex into out[65]. */
void zg_sha256_hex(const void *data, size_t n, char out[ZG_SHA256_HEX]);

/* Streaming SHA-256 (libcrypto, CPU SHA extensions when present) for files of any size.
 * begin returns NULL when out of memory; end writes lowercase hex (empty on failure) and
 * frees the context; free abandons one (NULL is fine). */
struct zg_sha256_ctx;
struct zg_sha256_ctx *zg_sha256_begin(void);
void zg_sha256_update(struct zg_sha256_ctx *c, const void *data, size_t n);
void zg_sha256_end(struct zg_sha256_ctx *c, char hex[ZG_SHA256_HEX]);
void zg_sha256_free(struct zg_sha256_ctx *c);

/* SHA-256 of a whole file, read in bounded chunks. Returns 0, ZG_ENOTFOUND, ZG_EIO, ZG_ENOMEM. */
struct zg_error;
int zg_sha256_file(const char *path, char hex[ZG_SHA256_HEX], struct zg_error *err) ZG_MUST_CHECK;

/* HMAC-SHA-256 of data under key into out[32]. */
void zg_hmac_sha256(const unsigned char *key, size_t keylen, const void *data, size_t n,
                    unsigned char out[ZG_SHA256_LEN]);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void zg_hex_encode(const unsigned char *in, size_t n, char *out);

/* Decodes 2n hex digits into out[n]. Returns 0 or ZG_EINVAL. */
int zg_hex_decode(const char *hex, unsigned char *out, size_t n) ZG_MUST_CHECK;

/* Constant-time comparison of n bytes; true when equal. */
bool zg_ct_equal(const void *a, const void *b, size_t n);

/* A random token of `nbytes` entropy as URL-safe base64 without padding into out
 * (needs 4*nbytes/3+2 bytes). */
void zg_random_token(size_t nbytes, char *out, size_t outsz);

/* Encrypts plaintext with XChaCha20-Poly1305 under key; output is hex(nonce||ciphertext),
 * malloc'd into *out (caller frees). Returns 0 or ZG_ENOMEM. */
int zg_seal_hex(const unsigned char key[ZG_KEY_LEN], const void *plain, size_t n, char **out)
    ZG_MUST_CHECK;

/* Reverses zg_seal_hex; *out is malloc'd and NUL-terminated, *outlen its length.
 * Returns 0, ZG_ECORRUPT when authentication fails, or ZG_ENOMEM. */
int zg_open_hex(const unsigned char key[ZG_KEY_LEN], const char *hex, char **out, size_t *outlen)
    ZG_MUST_CHECK;

/* Wipes n bytes (not optimised away). */
void zg_wipe(void *p, size_t n);

/* --- Shamir secret sharing over GF(2^8) (crypto/shamir.c) --------------------------------- */

#define ZG_SHAMIR_MAX_SHARES 255

/* Splits len bytes of secret into n shares of len bytes (share i, x = i + 1, at shares +
 * i * len) so that any k of them give it back and k - 1 reveal nothing. 2 ≤ k ≤ n ≤ 255.
 * Returns 0 or ZG_EINVAL. */
int zg_shamir_split(const unsigned char *secret, size_t len, int k, int n, unsigned char *shares)
    ZG_MUST_CHECK;

/* Recovers the secret from k shares: ys[i] (len bytes) taken at x = xs[i] (1..255, distinct).
 * With fewer than the threshold's shares the result is a wrong value, not an error: callers
 * check the result against a fingerprint. Returns 0 or ZG_EINVAL (x 0 or repeated). */
int zg_shamir_combine(const unsigned char *const *ys, const unsigned char *xs, int k, size_t len,
                      unsigned char *out) ZG_MUST_CHECK;

/* Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (exposed for tests). */
uint8_t zg_gf256_mul(uint8_t a, uint8_t b);

#endif
