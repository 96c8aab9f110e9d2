/* RFC 6238 TOTP (HMAC-SHA-1, 30-second steps, 6 digits — what authenticator apps use), via liboath. */
#ifndef ZG_TOTP_H
#define ZG_TOTP_H

#include "common/compat.h"

#define ZG_TOTP_SECRET_B32 33 /* 20-byte secret as 32 base32 chars + NUL */
#define ZG_TOTP_STEP 30

/* Creates a new random secret as unpadded RFC 4648 base32 into out. */
void zg_totp_secret_new(char out[ZG_TOTP_SECRET_B32]);

/* Computes the 6-digit code for secret at time `now` (seconds) into out[7].
 * Returns 0 or ZG_EINVAL for a malformed secret. */
int zg_totp_generate(const char *secret_b32, int64_t now, char out[7]) ZG_MUST_CHECK;

/* Checks code against secret at `now`, accepting `window` steps either side.
 * On success returns 0 and the matching time step in *step (callers reject steps already used:
 * replay protection). Returns ZG_EAUTH when no step matches, ZG_EINVAL when the code is not
 * 6 digits or the secret is malformed. */
int zg_totp_verify(const char *secret_b32, const char *code, int64_t now, unsigned window,
                   int64_t *step) ZG_MUST_CHECK;

/* otpauth:// URI for authenticator apps, into a malloc'd string (caller frees); NULL on ENOMEM. */
char *zg_totp_uri(const char *issuer, const char *account, const char *secret_b32);

#endif
