/* ID generation and validation. The check symbol is Damm's algorithm over the quasigroup
 * x∘y = 2x + y in GF(32) (x^5 + x^2 + 1): it is totally anti-symmetric, so every single-symbol
 * substitution and every swap of two adjacent symbols is detected. */
#include "ids.h"
#include "common/error.h"
#include "crypto/crypto.h"

#include <ctype.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford base32 */

static unsigned gf32_mul2(unsigned x)
{
    x <<= 1;
    if (x & 32)
        x ^= 0x25; /* reduce by x^5 + x^2 + 1 */
    return x & 31;
}

unsigned zg_id_check(const unsigned char *vals, size_t n)
{
    unsigned interim = 0;
    for (size_t i = 0; i < n; i++)
        interim = gf32_mul2(interim) ^ vals[i];
    /* choose c so that interim∘c == 0: 2·interim + c = 0 → c = 2·interim */
    return gf32_mul2(interim);
}

static int sym_value(char c)
{
    c = (char)toupper((unsigned char)c);
    if (c == 'O')
        c = '0';
    if (c == 'I' || c == 'L')
        c = '1';
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

void zg_id_new(enum zg_id_kind kind, char out[ZG_ID_LEN])
{
    unsigned char v[9], rnd[8];
    zg_random_bytes(rnd, sizeof(rnd));
    v[0] = (unsigned char)sym_value((char)kind);
    for (int i = 0; i < 8; i++)
        v[i + 1] = rnd[i] & 31;
    unsigned c = zg_id_check(v, 9);
    char s[9];
    for (int i = 0; i < 8; i++)
        s[i] = alphabet[v[i + 1]];
    snprintf(out, ZG_ID_LEN, "ZG%c-%.4s-%.4s%c", (char)kind, s, s + 4, alphabet[c]);
}

int zg_id_parse(const char *text, enum zg_id_kind *kind, char canonical[ZG_ID_LEN],
                struct zg_error *err)
{
    char s[16];
    size_t n = 0;
    if (!text)
        return zg_error_set(err, ZG_EINVAL, "id", "is required");
    for (const char *p = text; *p; p++) {
        if (*p == '-' || *p == ' ')
            continue;
        if (n >= sizeof(s) - 1)
            return zg_error_set(err, ZG_EINVAL, "id", "is too long for a zengen ID");
        s[n++] = (char)toupper((unsigned char)*p);
    }
    s[n] = '\0';
    if (n != 12)
        return zg_error_set(err, ZG_EINVAL, "id",
                            "must look like ZGC-XXXX-XXXXX (12 symbols without hyphens)");
    if (s[0] != 'Z' || s[1] != 'G')
        return zg_error_set(err, ZG_EINVAL, "id", "must start with ZG");
    if (s[2] != 'P' && s[2] != 'C' && s[2] != 'S')
        return zg_error_set(err, ZG_EINVAL, "id",
                            "third letter must be P (participant), C (case) or S (specimen)");
    unsigned char v[10];
    v[0] = (unsigned char)sym_value(s[2]);
    for (int i = 0; i < 9; i++) {
        int x = sym_value(s[3 + i]);
        if (x < 0)
            return zg_error_set(err, ZG_EINVAL, "id", "contains a character that is not used in "
                                                      "zengen IDs");
        v[i + 1] = (unsigned char)x;
    }
    if (zg_id_check(v, 9) != v[9])
        return zg_error_set(err, ZG_EINVAL, "id",
                            "check character does not match: the ID has a typo");
    *kind = (enum zg_id_kind)s[2];
    char body[10];
    for (int i = 0; i < 9; i++)
        body[i] = alphabet[v[i + 1]];
    body[9] = '\0';
    snprintf(canonical, ZG_ID_LEN, "ZG%c-%.4s-%.5s", s[2], body, body + 4);
    return 0;
}
