/* Password hashing with Argon2id (libsodium crypto_pwhash) and password policy. */
#ifndef ZG_PASSWORD_H
#define ZG_PASSWORD_H

#include "common/compat.h"

#define ZG_PWHASH_LEN 128 /* crypto_pwhash_STRBYTES */
#define ZG_PASSWORD_MIN 12
#define ZG_PASSWORD_MAX 256

struct zg_error;

/* Hashes pw into out (encoded Argon2id string with salt and parameters).
 * Returns 0, ZG_EINVAL (policy: length) with err, or ZG_ENOMEM. */
int zg_password_hash(const char *pw, char out[ZG_PWHASH_LEN], struct zg_error *err) ZG_MUST_CHECK;

/* True when pw matches the stored hash. Takes constant time for a given hash. */
bool zg_password_verify(const char *stored, const char *pw);

/* Generates a random password of 20 characters from an unambiguous alphabet into out[21]. */
void zg_password_generate(char out[21]);

/* A hash of a random password that never verifies — used to spend equal time on unknown logins. */
const char *zg_password_dummy_hash(void);

#endif
