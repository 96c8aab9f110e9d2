/* Unit tests of src/crypto: RFC 6238 TOTP vectors and verification window, Argon2id password
 * hashing and policy, sealed (AEAD) secrets with tamper detection, SHA-256/HMAC vectors,
 * hex and random helpers. */
#include "testutil.h"

#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "crypto/totp.h"

#include <ctype.h>

/* "12345678901234567890" (the RFC 6238 SHA-1 seed) in base32 */
#define RFC_SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static int setup(void **state)
{
    (void)state;
    return zg_crypto_init() == 0 ? 0 : -1;
}

/* --- TOTP ------------------------------------------------------------------------------ */

static void totp_rfc6238_vectors(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        const char *code;
    } v[] = {
        {59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
        {1234567890, "005924"}, {2000000000, "279037"},
    };
    for (size_t i = 0; i < ZG_ARRAY_LEN(v); i++) {
        char out[7] = "";
        assert_int_equal(zg_totp_generate(RFC_SECRET, v[i].t, out), 0);
        assert_string_equal(out, v[i].code);
        int64_t step = -1;
        assert_int_equal(zg_totp_verify(RFC_SECRET, v[i].code, v[i].t, 0, &step), 0);
        assert_int_equal(step, v[i].t / 30);
    }
}

static void totp_window_and_step(void **state)
{
    (void)state;
    const int64_t t = 1111111111; /* step 37037037 */
    const int64_t s = t / 30;
    int64_t step = 0;
    /* the code of step s is accepted one step early and one step late with window 1 */
    assert_int_equal(zg_totp_verify(RFC_SECRET, "050471", t + 30, 1, &step), 0);
    assert_int_equal(step, s);
    step = 0;
    assert_int_equal(zg_totp_verify(RFC_SECRET, "050471", t - 30, 1, &step), 0);
    assert_int_equal(step, s);
    /* …but not two steps away, nor one step away with window 0 */
    assert_int_equal(zg_totp_verify(RFC_SECRET, "050471", t + 60, 1, &step), ZG_EAUTH);
    assert_int_equal(zg_totp_verify(RFC_SECRET, "050471", t - 60, 1, &step), ZG_EAUTH);
    assert_int_equal(zg_totp_verify(RFC_SECRET, "050471", t + 30, 0, &step), ZG_EAUTH);
    /* the returned step is the one of the matching code, not of `now` */
    char next[7];
    assert_int_equal(zg_totp_generate(RFC_SECRET, t + 30, next), 0);
    assert_int_equal(zg_totp_verify(RFC_SECRET, next, t, 1, &step), 0);
    assert_int_equal(step, s + 1);
    /* NULL step pointer is allowed */
    assert_int_equal(zg_totp_verify(RFC_SECRET, "050471", t, 1, NULL), 0);
}

static void totp_bad_codes(void **state)
{
    (void)state;
    const int64_t t = 1111111111;
    int64_t step = 0;
    assert_int_equal(zg_totp_verify(RFC_SECRET, "050472", t, 1, &step), ZG_EAUTH);
    assert_int_equal(zg_totp_verify(RFC_SECRET, "000000", t, 1, &step), ZG_EAUTH);
    assert_int_equal(zg_totp_verify(RFC_SECRET, "05047", t, 1, &step), ZG_EINVAL);
    assert_int_equal(zg_totp_verify(RFC_SECRET, "0504711", t, 1, &step), ZG_EINVAL);
    assert_int_equal(zg_totp_verify(RFC_SECRET, "05047a", t, 1, &step), ZG_EINVAL);
    assert_int_equal(zg_totp_verify(RFC_SECRET, " 50471", t, 1, &step), ZG_EINVAL);
    assert_int_equal(zg_totp_verify(RFC_SECRET, "", t, 1, &step), ZG_EINVAL);
    assert_int_equal(zg_totp_verify(RFC_SECRET, NULL, t, 1, &step), ZG_EINVAL);
    /* a malformed or too short secret */
    char out[7];
    assert_int_equal(zg_totp_generate("!!!not-base32!!!", t, out), ZG_EINVAL);
    assert_int_equal(zg_totp_generate("GEZA", t, out), ZG_EINVAL);
    assert_int_equal(zg_totp_verify("!!!not-base32!!!", "050471", t, 1, &step), ZG_EINVAL);
    /* the right code for another secret does not verify */
    char other[ZG_TOTP_SECRET_B32];
    zg_totp_secret_new(other);
    assert_int_equal(zg_totp_generate(other, t, out), 0);
    if (strcmp(out, "050471") != 0)
        assert_int_equal(zg_totp_verify(RFC_SECRET, out, t, 0, &step), ZG_EAUTH);
}

static void totp_secret_new(void **state)
{
    (void)state;
    char a[ZG_TOTP_SECRET_B32], b[ZG_TOTP_SECRET_B32];
    zg_totp_secret_new(a);
    zg_totp_secret_new(b);
    assert_int_equal(strlen(a), 32);
    assert_string_not_equal(a, b);
    for (int i = 0; i < 32; i++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", a[i]));
    /* a new secret round-trips: the code it generates verifies */
    char code[7];
    int64_t step = 0;
    assert_int_equal(zg_totp_generate(a, 1700000000, code), 0);
    assert_int_equal(strlen(code), 6);
    assert_int_equal(zg_totp_verify(a, code, 1700000000, 1, &step), 0);
    assert_int_equal(step, 1700000000 / 30);
    char *uri = zg_totp_uri("zengen", "alice", a);
    assert_non_null(uri);
    assert_non_null(strstr(uri, "otpauth://totp/zengen:alice?"));
    assert_non_null(strstr(uri, a));
    assert_non_null(strstr(uri, "issuer=zengen"));
    free(uri);
}

/* --- passwords ------------------------------------------------------------------------- */

static void password_hash_verify(void **state)
{
    (void)state;
    char h1[ZG_PWHASH_LEN], h2[ZG_PWHASH_LEN];
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_password_hash("correct horse battery", h1, &err), 0);
    assert_int_equal(zg_password_hash("correct horse battery", h2, &err), 0);
    assert_non_null(strstr(h1, "$argon2id$"));
    assert_string_not_equal(h1, h2); /* salted */
    assert_true(zg_password_verify(h1, "correct horse battery"));
    assert_true(zg_password_verify(h2, "correct horse battery"));
    assert_false(zg_password_verify(h1, "correct horse batterY"));
    assert_false(zg_password_verify(h1, "correct horse battery "));
    assert_false(zg_password_verify(h1, ""));
    assert_false(zg_password_verify("", "correct horse battery"));
    assert_false(zg_password_verify("garbage", "correct horse battery"));
}

static void password_policy(void **state)
{
    (void)state;
    char h[ZG_PWHASH_LEN];
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_password_hash("elevenchars", h, &err), ZG_EINVAL); /* 11 */
    assert_string_equal(err.field, "password");
    assert_non_null(strstr(err.reason, "12"));
    assert_int_equal(zg_password_hash("", h, &err), ZG_EINVAL);
    assert_int_equal(zg_password_hash("twelve chars", h, &err), 0); /* 12 */
    assert_true(zg_password_verify(h, "twelve chars"));
    char longpw[ZG_PASSWORD_MAX + 2];
    memset(longpw, 'p', sizeof(longpw) - 1);
    longpw[sizeof(longpw) - 1] = '\0'; /* 257 characters */
    assert_int_equal(zg_password_hash(longpw, h, &err), ZG_EINVAL);
    longpw[ZG_PASSWORD_MAX] = '\0'; /* 256 is allowed */
    assert_int_equal(zg_password_hash(longpw, h, &err), 0);
    assert_true(zg_password_verify(h, longpw));
}

static void password_generate_and_dummy(void **state)
{
    (void)state;
    char a[21], b[21];
    zg_password_generate(a);
    zg_password_generate(b);
    assert_int_equal(strlen(a), 20);
    assert_string_not_equal(a, b);
    for (int k = 0; k < 50; k++) {
        zg_password_generate(a);
        for (int i = 0; i < 20; i++) {
            assert_true(isalnum((unsigned char)a[i]));
            assert_null(strchr("0O1lIo", a[i])); /* unambiguous alphabet */
        }
    }
    const char *d = zg_password_dummy_hash();
    assert_non_null(d);
    assert_true(strlen(d) > 20);
    assert_false(zg_password_verify(d, a));
    assert_false(zg_password_verify(d, "correct horse battery"));
}

/* --- sealed secrets -------------------------------------------------------------------- */

static void seal_open_roundtrip(void **state)
{
    (void)state;
    unsigned char key[ZG_KEY_LEN], key2[ZG_KEY_LEN];
    zg_random_bytes(key, sizeof(key));
    zg_random_bytes(key2, sizeof(key2));
    const char *plain = "MRN-00012345";
    char *s1 = NULL, *s2 = NULL, *out = NULL;
    size_t outlen = 0;
    assert_int_equal(zg_seal_hex(key, plain, strlen(plain), &s1), 0);
    assert_int_equal(zg_seal_hex(key, plain, strlen(plain), &s2), 0);
    assert_string_not_equal(s1, s2); /* random nonce */
    assert_null(strstr(s1, plain));
    for (const char *p = s1; *p; p++)
        assert_non_null(strchr("0123456789abcdef", *p));
    assert_int_equal(zg_open_hex(key, s1, &out, &outlen), 0);
    assert_int_equal(outlen, strlen(plain));
    assert_string_equal(out, plain);
    free(out);
    out = NULL;
    assert_int_equal(zg_open_hex(key2, s1, &out, &outlen), ZG_ECORRUPT);
    assert_null(out);
    /* empty plaintext */
    char *se = NULL;
    assert_int_equal(zg_seal_hex(key, "", 0, &se), 0);
    assert_int_equal(zg_open_hex(key, se, &out, &outlen), 0);
    assert_int_equal(outlen, 0);
    assert_string_equal(out, "");
    free(out);
    free(se);
    free(s1);
    free(s2);
}

static void seal_tamper_detected(void **state)
{
    (void)state;
    unsigned char key[ZG_KEY_LEN];
    zg_random_bytes(key, sizeof(key));
    const char *plain = "a secret TOTP seed";
    char *s = NULL, *out = NULL;
    size_t outlen = 0;
    assert_int_equal(zg_seal_hex(key, plain, strlen(plain), &s), 0);
    size_t n = strlen(s);
    /* flipping any single hex digit (nonce, ciphertext or tag) is detected */
    for (size_t i = 0; i < n; i++) {
        char orig = s[i];
        s[i] = orig == '0' ? '1' : '0';
        out = NULL;
        int rc = zg_open_hex(key, s, &out, &outlen);
        if (rc != ZG_ECORRUPT)
            fail_msg("flipping hex digit %zu was not detected (rc=%d)", i, rc);
        assert_null(out);
        s[i] = orig;
    }
    /* truncation, odd length, garbage and empty input */
    char *t = strdup(s);
    t[n - 2] = '\0';
    assert_int_equal(zg_open_hex(key, t, &out, &outlen), ZG_ECORRUPT);
    t[n - 3] = '\0';
    assert_int_equal(zg_open_hex(key, t, &out, &outlen), ZG_ECORRUPT);
    free(t);
    t = strdup(s);
    t[5] = 'g';
    assert_int_equal(zg_open_hex(key, t, &out, &outlen), ZG_ECORRUPT);
    free(t);
    assert_int_equal(zg_open_hex(key, "", &out, &outlen), ZG_ECORRUPT);
    assert_int_equal(zg_open_hex(key, "00", &out, &outlen), ZG_ECORRUPT);
    /* the untouched text still opens */
    assert_int_equal(zg_open_hex(key, s, &out, &outlen), 0);
    assert_string_equal(out, plain);
    free(out);
    free(s);
}

/* --- hashing and helpers --------------------------------------------------------------- */

static void sha256_vectors(void **state)
{
    (void)state;
    char hex[ZG_SHA256_HEX];
    zg_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    zg_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    zg_sha256_hex(m, strlen(m), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    unsigned char raw[ZG_SHA256_LEN];
    zg_sha256("abc", 3, raw);
    assert_int_equal(raw[0], 0xba);
    assert_int_equal(raw[31], 0xad);
}

static void hmac_vectors(void **state)
{
    (void)state;
    unsigned char mac[ZG_SHA256_LEN];
    char hex[ZG_SHA256_HEX];
    /* RFC 4231 test case 2 */
    const char *data = "what do ya want for nothing?";
    zg_hmac_sha256((const unsigned char *)"Jefe", 4, data, strlen(data), mac);
    zg_hex_encode(mac, sizeof(mac), hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 4231 test case 1: key = 20 bytes of 0x0b, data "Hi There" */
    unsigned char k[20];
    memset(k, 0x0b, sizeof(k));
    zg_hmac_sha256(k, sizeof(k), "Hi There", 8, mac);
    zg_hex_encode(mac, sizeof(mac), hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* RFC 4231 test case 6: a key longer than the block size (131 bytes of 0xaa) */
    unsigned char lk[131];
    memset(lk, 0xaa, sizeof(lk));
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    zg_hmac_sha256(lk, sizeof(lk), d6, strlen(d6), mac);
    zg_hex_encode(mac, sizeof(mac), hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void hex_and_compare(void **state)
{
    (void)state;
    const unsigned char in[] = {0x00, 0x01, 0xab, 0xff};
    char hex[9];
    zg_hex_encode(in, sizeof(in), hex);
    assert_string_equal(hex, "0001abff");
    unsigned char out[4];
    assert_int_equal(zg_hex_decode("0001abff", out, 4), 0);
    assert_memory_equal(out, in, 4);
    assert_int_equal(zg_hex_decode("0001abf", out, 4), ZG_EINVAL);   /* short */
    assert_int_equal(zg_hex_decode("0001abff00", out, 4), ZG_EINVAL); /* long */
    assert_int_equal(zg_hex_decode("0001abzz", out, 4), ZG_EINVAL);   /* not hex */
    assert_true(zg_ct_equal("abcd", "abcd", 4));
    assert_false(zg_ct_equal("abcd", "abce", 4));
}

static void random_helpers(void **state)
{
    (void)state;
    char t1[64], t2[64];
    zg_random_token(32, t1, sizeof(t1));
    zg_random_token(32, t2, sizeof(t2));
    assert_int_equal(strlen(t1), 43); /* 32 bytes in unpadded base64url */
    assert_string_not_equal(t1, t2);
    for (const char *p = t1; *p; p++)
        assert_true(isalnum((unsigned char)*p) || *p == '-' || *p == '_');
    int seen[7] = {0};
    for (int i = 0; i < 2000; i++) {
        uint32_t r = zg_random_uniform(7);
        assert_true(r < 7);
        seen[r]++;
    }
    for (int i = 0; i < 7; i++)
        assert_true(seen[i] > 0);
    unsigned char z[16] = {0}, zero[16] = {0};
    zg_random_bytes(z, sizeof(z));
    assert_false(zg_ct_equal(z, zero, sizeof(z)));
    zg_wipe(z, sizeof(z));
    assert_memory_equal(z, zero, sizeof(z));
}

/* GF(2^8) as AES uses it: FIPS-197 §4.2 gives {57}·{83} = {c1} and {57}·{13} = {fe}. */
static void gf256_known_products(void **state)
{
    (void)state;
    assert_int_equal(zg_gf256_mul(0x57, 0x83), 0xc1);
    assert_int_equal(zg_gf256_mul(0x57, 0x13), 0xfe);
    assert_int_equal(zg_gf256_mul(0x53, 0xca), 0x01); /* inverses (FIPS-197 §4.2.1 example) */
    for (int a = 0; a < 256; a++) {
        assert_int_equal(zg_gf256_mul((uint8_t)a, 1), a);
        assert_int_equal(zg_gf256_mul((uint8_t)a, 0), 0);
    }
}

/* Every k-subset of the n shares gives the secret back; k-1 shares do not; a repeated or zero
 * x is refused. */
static void shamir_any_k_of_n(void **state)
{
    (void)state;
    enum { LEN = 96, N = 6, K = 3 };
    unsigned char secret[LEN], shares[N * LEN], out[LEN];
    zg_random_bytes(secret, sizeof(secret));
    assert_int_equal(zg_shamir_split(secret, LEN, K, N, shares), 0);
    int subsets = 0;
    for (int a = 0; a < N; a++)
        for (int b = a + 1; b < N; b++)
            for (int c = b + 1; c < N; c++) {
                const unsigned char *ys[K] = {shares + a * LEN, shares + c * LEN, shares + b * LEN};
                unsigned char xs[K] = {(unsigned char)(a + 1), (unsigned char)(c + 1),
                                       (unsigned char)(b + 1)};
                assert_int_equal(zg_shamir_combine(ys, xs, K, LEN, out), 0);
                assert_memory_equal(out, secret, LEN);
                subsets++;
            }
    assert_int_equal(subsets, 20);
    /* two of three: a value, but not the secret (a wrong one with probability 1 - 2^-768) */
    const unsigned char *two[2] = {shares, shares + LEN};
    unsigned char x2[2] = {1, 2};
    assert_int_equal(zg_shamir_combine(two, x2, 2, LEN, out), 0);
    assert_memory_not_equal(out, secret, LEN);
    /* no share on its own equals the secret */
    for (int i = 0; i < N; i++)
        assert_memory_not_equal(shares + i * LEN, secret, LEN);
    const unsigned char *dup[K] = {shares, shares, shares + LEN};
    unsigned char xd[K] = {1, 1, 2};
    assert_int_equal(zg_shamir_combine(dup, xd, K, LEN, out), ZG_EINVAL);
    unsigned char x0[K] = {0, 1, 2};
    assert_int_equal(zg_shamir_combine(dup, x0, K, LEN, out), ZG_EINVAL);
    assert_int_equal(zg_shamir_split(secret, LEN, 1, 3, shares), ZG_EINVAL);
    assert_int_equal(zg_shamir_split(secret, LEN, 4, 3, shares), ZG_EINVAL);
    /* two splits of the same secret differ (random coefficients) */
    unsigned char again[N * LEN];
    assert_int_equal(zg_shamir_split(secret, LEN, K, N, again), 0);
    assert_memory_not_equal(again, shares, sizeof(shares));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gf256_known_products),
        cmocka_unit_test(shamir_any_k_of_n),
        cmocka_unit_test(totp_rfc6238_vectors),
        cmocka_unit_test(totp_window_and_step),
        cmocka_unit_test(totp_bad_codes),
        cmocka_unit_test(totp_secret_new),
        cmocka_unit_test(password_hash_verify),
        cmocka_unit_test(password_policy),
        cmocka_unit_test(password_generate_and_dummy),
        cmocka_unit_test(seal_open_roundtrip),
        cmocka_unit_test(seal_tamper_detected),
        cmocka_unit_test(sha256_vectors),
        cmocka_unit_test(hmac_vectors),
        cmocka_unit_test(hex_and_compare),
        cmocka_unit_test(random_helpers),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
