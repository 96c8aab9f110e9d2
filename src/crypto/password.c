/* Argon2id password hashing. */
#include "password.h"
#include "crypto.h"
#include "common/error.h"

#include <sodium.h>
#include <pthread.h>

int zg_password_hash(const char *pw, char out[ZG_PWHASH_LEN], struct zg_error *err)
{
    size_t n = strlen(pw);
    if (n < ZG_PASSWORD_MIN)
        return zg_error_set(err, ZG_EINVAL, "password", "must be at least %d characters",
                            ZG_PASSWORD_MIN);
    if (n > ZG_PASSWORD_MAX)
        return zg_error_set(err, ZG_EINVAL, "password", "must be at most %d characters",
                            ZG_PASSWORD_MAX);
    if (crypto_pwhash_str(out, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return zg_error_set(err, ZG_ENOMEM, "", "password hashing ran out of memory");
    return 0;
}

bool zg_password_verify(const char *stored, const char *pw)
{
    size_t n = strlen(pw);
    if (n > ZG_PASSWORD_MAX)
        return false;
    return crypto_pwhash_str_verify(stored, pw, n) == 0;
}

void zg_password_generate(char out[21])
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (int i = 0; i < 20; i++)
        out[i] = alphabet[zg_random_uniform((uint32_t)(sizeof(alphabet) - 1))];
    out[20] = '\0';
}

static char dummy[ZG_PWHASH_LEN];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    char pw[21];
    zg_password_generate(pw);
    if (zg_password_hash(pw, dummy, NULL) != 0)
        dummy[0] = '\0';
}

const char *zg_password_dummy_hash(void)
{
    pthread_once(&dummy_once, make_dummy);
    return dummy;
}
