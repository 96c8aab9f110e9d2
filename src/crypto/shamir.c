/* Shamir's secret sharing over GF(2^8) (the AES field, x^8 + x^4 + x^3 + x + 1), byte by byte:
 * each byte of the secret is the constant term of a random polynomial of degree k-1, share x is
 * the polynomial's values at x. Any k shares give the secret back by Lagrange interpolation at
 * 0; fewer give no information about it. Field arithmetic is branch-free on secret data. */
#include "crypto.h"
#include "common/error.h"

static uint8_t gf_mul(uint8_t a, uint8_t b)
{
    uint8_t p = 0;
    for (int i = 0; i < 8; i++) {
        p ^= (uint8_t)(-(b & 1) & a);
        uint8_t hi = (uint8_t) - (a >> 7);
        a = (uint8_t)((uint8_t)(a << 1) ^ (hi & 0x1b));
        b >>= 1;
    }
    return p;
}

/* a^254 = a^-1 for a != 0 (the exponent is public: square-and-multiply is fine). */
static uint8_t gf_inv(uint8_t a)
{
    uint8_t r = 1, x = a;
    for (unsigned e = 254; e; e >>= 1) {
        if (e & 1)
            r = gf_mul(r, x);
        x = gf_mul(x, x);
    }
    return r;
}

uint8_t zg_gf256_mul(uint8_t a, uint8_t b)
{
    return gf_mul(a, b);
}

int zg_shamir_split(const unsigned char *secret, size_t len, int k, int n, unsigned char *shares)
{
    if (k < 2 || n < k || n > ZG_SHAMIR_MAX_SHARES || !len)
        return ZG_EINVAL;
    unsigned char coef[ZG_SHAMIR_MAX_SHARES];
    for (size_t j = 0; j < len; j++) {
        coef[0] = secret[j];
        zg_random_bytes(coef + 1, (size_t)(k - 1));
        for (int i = 0; i < n; i++) {
            uint8_t x = (uint8_t)(i + 1), y = 0;
            for (int c = k - 1; c >= 0; c--) /* Horner */
                y = (uint8_t)(gf_mul(y, x) ^ coef[c]);
            shares[(size_t)i * len + j] = y;
        }
    }
    zg_wipe(coef, sizeof(coef));
    return 0;
}

int zg_shamir_combine(const unsigned char *const *ys, const unsigned char *xs, int k, size_t len,
                      unsigned char *out)
{
    if (k < 1 || k > ZG_SHAMIR_MAX_SHARES)
        return ZG_EINVAL;
    uint8_t w[ZG_SHAMIR_MAX_SHARES];
    for (int i = 0; i < k; i++) {
        if (!xs[i])
            return ZG_EINVAL;
        /* Lagrange basis at 0: prod over m != i of x_m / (x_m - x_i); in GF(2^8) minus is xor */
        uint8_t num = 1, den = 1;
        for (int m = 0; m < k; m++) {
            if (m == i)
                continue;
            if (xs[m] == xs[i])
                return ZG_EINVAL; /* the same share twice */
            num = gf_mul(num, xs[m]);
            den = gf_mul(den, (uint8_t)(xs[m] ^ xs[i]));
        }
        w[i] = gf_mul(num, gf_inv(den));
    }
    for (size_t j = 0; j < len; j++) {
        uint8_t s = 0;
        for (int i = 0; i < k; i++)
            s ^= gf_mul(ys[i][j], w[i]);
        out[j] = s;
    }
    return 0;
}
