/* TOTP on top of liboath. */
#include "totp.h"
#include "crypto.h"
#include "common/error.h"

#include <ctype.h>
#include <liboath/oath.h>

static int decode(const char *b32, char **raw, size_t *rawlen)
{
    *raw = NULL;
    if (oath_base32_decode(b32, strlen(b32), raw, rawlen) != OATH_OK)
        return ZG_EINVAL;
    if (*rawlen < 10) { /* shorter than 80 bits: not a secret we accept */
        zg_wipe(*raw, *rawlen);
        free(*raw);
        *raw = NULL;
        return ZG_EINVAL;
    }
    return 0;
}

void zg_totp_secret_new(char out[ZG_TOTP_SECRET_B32])
{
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned char raw[20];
    zg_random_bytes(raw, sizeof(raw));
    /* 160 bits = 32 base32 symbols exactly */
    for (int i = 0; i < 32; i++) {
        int bit = i * 5, byte = bit / 8, off = bit % 8;
        unsigned v = (unsigned)raw[byte] << 8 | (byte + 1 < 20 ? raw[byte + 1] : 0);
        out[i] = b32[(v >> (11 - off)) & 31];
    }
    out[32] = '\0';
    zg_wipe(raw, sizeof(raw));
}

int zg_totp_generate(const char *secret_b32, int64_t now, char out[7])
{
    char *raw = NULL;
    size_t rawlen = 0;
    if (decode(secret_b32, &raw, &rawlen))
        return ZG_EINVAL;
    int rc = oath_totp_generate(raw, rawlen, (time_t)now, ZG_TOTP_STEP, 0, 6, out);
    zg_wipe(raw, rawlen);
    free(raw);
    return rc == OATH_OK ? 0 : ZG_EINVAL;
}

int zg_totp_verify(const char *secret_b32, const char *code, int64_t now, unsigned window,
                   int64_t *step)
{
    if (!code || strlen(code) != 6)
        return ZG_EINVAL;
    for (int i = 0; i < 6; i++)
        if (!isdigit((unsigned char)code[i]))
            return ZG_EINVAL;
    char *raw = NULL;
    size_t rawlen = 0;
    if (decode(secret_b32, &raw, &rawlen))
        return ZG_EINVAL;
    uint64_t counter = 0;
    int pos = 0;
    int rc = oath_totp_validate4(raw, rawlen, (time_t)now, ZG_TOTP_STEP, 0, window, &pos,
                                 &counter, 0, code);
    zg_wipe(raw, rawlen);
    free(raw);
    if (rc < 0)
        return ZG_EAUTH;
    if (step)
        *step = (int64_t)counter;
    return 0;
}

char *zg_totp_uri(const char *issuer, const char *account, const char *secret_b32)
{
    /* issuer and account are restricted to URL-safe characters by their callers */
    size_t n = strlen(issuer) * 2 + strlen(account) + strlen(secret_b32) + 96;
    char *p = malloc(n);
    if (!p)
        return NULL;
    snprintf(p, n, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=30",
             issuer, account, secret_b32, issuer);
    return p;
}
