/* Unit tests of src/common: the bounded buffer (zg_buf), the arena, error detail helpers and
 * RFC 3339 clock formatting. */
#include "testutil.h"

#include "common/arena.h"
#include "common/buf.h"
#include "common/jsonw.h"
#include <jansson.h>
#include "common/clock.h"
#include "common/error.h"

/* --- zg_buf ---------------------------------------------------------------------------- */

static void buf_empty_is_nul_terminated(void **state)
{
    (void)state;
    struct zg_buf b;
    zg_buf_init(&b, 0);
    assert_non_null(b.p);
    assert_string_equal(b.p, "");
    assert_int_equal(b.len, 0);
    zg_buf_reset(&b);
    assert_string_equal(b.p, "");
    zg_buf_release(&b);
    assert_non_null(b.p);
    assert_string_equal(b.p, "");
}

static void buf_grows_and_stays_terminated(void **state)
{
    (void)state;
    struct zg_buf b;
    zg_buf_init(&b, 0);
    /* grow well past any initial capacity, checking the terminator after every append */
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(zg_buf_add(&b, "abc", 3), 0);
        assert_int_equal(b.len, (size_t)(i + 1) * 3);
        assert_int_equal(b.p[b.len], '\0');
        assert_true(b.cap > b.len);
    }
    assert_int_equal(strlen(b.p), 15000);
    assert_memory_equal(b.p + 14997, "abc", 3);
    assert_int_equal(zg_buf_adds(&b, "-tail"), 0);
    assert_int_equal(zg_buf_addf(&b, "/%d/%s", 42, "x"), 0);
    assert_string_equal(b.p + 15000, "-tail/42/x");
    /* binary data with an embedded NUL */
    zg_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    assert_int_equal(zg_buf_add(&b, "a\0b", 3), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.p, "a\0b\0", 4);
    zg_buf_release(&b);
}

static void buf_max_bound(void **state)
{
    (void)state;
    struct zg_buf b;
    zg_buf_init(&b, 10);
    assert_int_equal(zg_buf_add(&b, "0123456789", 10), 0); /* exactly max is fine */
    assert_string_equal(b.p, "0123456789");
    assert_int_equal(zg_buf_add(&b, "x", 1), ZG_ETOOBIG);
    /* a failed append leaves the contents unchanged and terminated */
    assert_int_equal(b.len, 10);
    assert_string_equal(b.p, "0123456789");
    assert_int_equal(zg_buf_adds(&b, "yy"), ZG_ETOOBIG);
    assert_int_equal(zg_buf_addf(&b, "%d", 7), ZG_ETOOBIG);
    assert_string_equal(b.p, "0123456789");
    zg_buf_release(&b);

    zg_buf_init(&b, 10);
    assert_int_equal(zg_buf_add(&b, "0123456789A", 11), ZG_ETOOBIG);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    assert_int_equal(zg_buf_addf(&b, "%s", "0123456789AB"), ZG_ETOOBIG);
    assert_string_equal(b.p, "");
    /* a huge size must not wrap around the bound check */
    assert_int_equal(zg_buf_add(&b, "", SIZE_MAX), ZG_ETOOBIG);
    assert_int_equal(zg_buf_add(&b, "12345", 5), 0);
    assert_int_equal(zg_buf_add(&b, "", SIZE_MAX - 2), ZG_ETOOBIG);
    assert_string_equal(b.p, "12345");
    /* release keeps the bound */
    zg_buf_release(&b);
    assert_int_equal(b.max, 10);
    assert_int_equal(zg_buf_add(&b, "0123456789A", 11), ZG_ETOOBIG);
    zg_buf_release(&b);

    /* default bound is 16 MiB */
    zg_buf_init(&b, 0);
    assert_int_equal(b.max, (size_t)16 << 20);
    zg_buf_release(&b);
}

static void buf_detach(void **state)
{
    (void)state;
    struct zg_buf b;
    size_t len = 99;
    zg_buf_init(&b, 64);
    /* detaching an empty buffer still gives freeable memory */
    char *e = zg_buf_detach(&b, &len);
    assert_non_null(e);
    assert_string_equal(e, "");
    assert_int_equal(len, 0);
    free(e);

    assert_int_equal(zg_buf_addf(&b, "hello %s", "world"), 0);
    char *p = zg_buf_detach(&b, &len);
    assert_non_null(p);
    assert_string_equal(p, "hello world");
    assert_int_equal(len, 11);
    /* the buffer is re-initialised: empty, with the same max, and independent of p */
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    assert_int_equal(b.max, 64);
    assert_true(b.p != p);
    assert_int_equal(zg_buf_adds(&b, "again"), 0);
    assert_string_equal(p, "hello world");
    assert_string_equal(b.p, "again");
    free(p);
    zg_buf_release(&b);
}

/* --- zg_arena -------------------------------------------------------------------------- */

static void arena_alignment_and_zeroing(void **state)
{
    (void)state;
    struct zg_arena *a = zg_arena_new(0);
    assert_non_null(a);
    for (size_t n = 1; n < 200; n += 7) {
        unsigned char *p = zg_arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(p[i], 0);
        memset(p, 0xAB, n); /* the whole allocation is writable */
    }
    /* a large allocation (bigger than a block) is usable and aligned too */
    unsigned char *big = zg_arena_alloc(a, 100000);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % _Alignof(max_align_t), 0);
    memset(big, 1, 100000);
    /* small allocations after the big one still work and do not overlap it */
    char *s = zg_arena_alloc(a, 16);
    assert_non_null(s);
    assert_true((unsigned char *)s + 16 <= big || (unsigned char *)s >= big + 100000);
    assert_true(zg_arena_used(a) >= 100000);
    zg_arena_free(a);
    zg_arena_free(NULL);
}

static void arena_limit(void **state)
{
    (void)state;
    struct zg_arena *a = zg_arena_new(1024);
    assert_non_null(a);
    assert_non_null(zg_arena_alloc(a, 512));
    assert_non_null(zg_arena_alloc(a, 256));
    assert_null(zg_arena_alloc(a, 1024)); /* would exceed the limit */
    assert_true(zg_arena_used(a) <= 1024);
    size_t used = zg_arena_used(a);
    assert_null(zg_arena_alloc(a, SIZE_MAX)); /* no wrap-around */
    assert_null(zg_arena_alloc(a, SIZE_MAX - 8));
    assert_int_equal(zg_arena_used(a), used);
    /* strings are refused too rather than truncated */
    char longs[2048];
    memset(longs, 'x', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    assert_null(zg_arena_strdup(a, longs));
    assert_null(zg_arena_printf(a, "%s", longs));
    /* but small requests that fit still succeed */
    assert_non_null(zg_arena_strdup(a, "ok"));
    zg_arena_free(a);
}

static void arena_strings(void **state)
{
    (void)state;
    struct zg_arena *a = zg_arena_new(0);
    char src[] = "participant";
    char *d = zg_arena_strdup(a, src);
    assert_non_null(d);
    assert_string_equal(d, "participant");
    src[0] = 'X'; /* a copy, not an alias */
    assert_string_equal(d, "participant");
    assert_null(zg_arena_strdup(a, NULL));
    char *nd = zg_arena_strndup(a, "abcdef", 3);
    assert_string_equal(nd, "abc");
    char *f = zg_arena_printf(a, "%s-%04d-%c", "ZG", 7, 'Q');
    assert_string_equal(f, "ZG-0007-Q");
    char *e = zg_arena_printf(a, "%s", "");
    assert_non_null(e);
    assert_string_equal(e, "");
    zg_arena_free(a);
}

/* --- errors ---------------------------------------------------------------------------- */

static void error_set_and_clear(void **state)
{
    (void)state;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.field, "");
    assert_string_equal(err.reason, "");
    int rc = zg_error_set(&err, ZG_EINVAL, "login", "must be %d to %d characters", 3, 63);
    assert_int_equal(rc, ZG_EINVAL);
    assert_int_equal(err.code, ZG_EINVAL);
    assert_string_equal(err.field, "login");
    assert_string_equal(err.reason, "must be 3 to 63 characters");
    /* NULL err still returns the code */
    assert_int_equal(zg_error_set(NULL, ZG_ENOTFOUND, "x", "y"), ZG_ENOTFOUND);
    zg_error_clear(NULL);
    /* NULL field becomes "" */
    assert_int_equal(zg_error_set(&err, ZG_EIO, NULL, "disk"), ZG_EIO);
    assert_string_equal(err.field, "");
    /* very long reasons are truncated, never overflow */
    char longr[1000];
    memset(longr, 'r', sizeof(longr) - 1);
    longr[sizeof(longr) - 1] = '\0';
    zg_error_set(&err, ZG_EINVAL, longr, "%s", longr);
    assert_int_equal(strlen(err.field), sizeof(err.field) - 1);
    assert_int_equal(strlen(err.reason), sizeof(err.reason) - 1);
    assert_string_equal(zg_err_name(ZG_EINVAL), "invalid input");
    assert_string_equal(zg_err_name(ZG_ELOCKED), "locked");
    zg_error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.reason, "");
}

static void error_pointerize(void **state)
{
    (void)state;
    struct zg_error err;
    zg_error_set(&err, ZG_EINVAL, "login", "bad");
    zg_error_pointerize(&err);
    assert_string_equal(err.field, "/login");
    zg_error_pointerize(&err); /* idempotent */
    assert_string_equal(err.field, "/login");
    zg_error_set(&err, ZG_EINVAL, "/a/b", "bad");
    zg_error_pointerize(&err);
    assert_string_equal(err.field, "/a/b");
    zg_error_set(&err, ZG_EINVAL, "", "bad");
    zg_error_pointerize(&err);
    assert_string_equal(err.field, "");
    zg_error_pointerize(NULL);
    /* a field that fills the whole buffer stays terminated and starts with '/' */
    char longf[200];
    memset(longf, 'f', sizeof(longf) - 1);
    longf[sizeof(longf) - 1] = '\0';
    zg_error_set(&err, ZG_EINVAL, longf, "bad");
    zg_error_pointerize(&err);
    assert_int_equal(err.field[0], '/');
    assert_true(strlen(err.field) < sizeof(err.field));
    assert_int_equal(err.field[1], 'f');
}

/* --- clock ----------------------------------------------------------------------------- */

static void clock_format(void **state)
{
    (void)state;
    char out[32];
    zg_clock_format(0, out, sizeof(out));
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    zg_clock_format(1234567890123, out, sizeof(out));
    assert_string_equal(out, "2009-02-13T23:31:30.123Z");
    zg_clock_format(951782400007, out, sizeof(out)); /* leap day 2000 */
    assert_string_equal(out, "2000-02-29T00:00:00.007Z");
    zg_clock_format(1798761599999, out, sizeof(out));
    assert_string_equal(out, "2026-12-31T23:59:59.999Z");
    assert_int_equal(strlen(out), 24);
    /* a small buffer is truncated but terminated */
    char small[8];
    zg_clock_format(0, small, sizeof(small));
    assert_string_equal(small, "1970-01");
}

static void clock_now_is_sane(void **state)
{
    (void)state;
    int64_t ms = zg_clock_now_ms();
    int64_t s = zg_clock_now();
    assert_true(ms > 1700000000000LL); /* after 2023 */
    assert_true(s >= ms / 1000 && s <= ms / 1000 + 2);
    int64_t m1 = zg_clock_mono_us();
    int64_t m2 = zg_clock_mono_us();
    assert_true(m2 >= m1);
}

/* jsonw: output always parses back (jansson) to the same string; invalid UTF-8 → U+FFFD */
static void jsonw_escapes_and_repairs(void **state)
{
    (void)state;
    static const char *cases[] = {"plain", "quote\" back\\ slash", "ctl\x01\x1f\n\t",
                                  "日本語 テキスト", "emoji \xf0\x9f\x98\x80", ""};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct zg_buf b;
        zg_buf_init(&b, 0);
        assert_int_equal(zg_jsonw_str(&b, cases[i]), 0);
        json_error_t je;
        json_t *j = json_loadb(b.p, b.len, JSON_DECODE_ANY, &je);
        assert_non_null(j);
        assert_string_equal(json_string_value(j), cases[i]);
        json_decref(j);
        zg_buf_release(&b);
    }
    /* invalid UTF-8: a lone continuation byte, an overlong form, a surrogate, a truncated seq */
    static const char *bad[] = {"a\x80" "b", "\xc0\xafx", "\xed\xa0\x80", "end\xe6\x97"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct zg_buf b;
        zg_buf_init(&b, 0);
        assert_int_equal(zg_jsonw_str(&b, bad[i]), 0);
        json_error_t je;
        json_t *j = json_loadb(b.p, b.len, JSON_DECODE_ANY, &je);
        assert_non_null(j); /* always valid JSON */
        assert_non_null(strstr(json_string_value(j), "\xef\xbf\xbd"));
        json_decref(j);
        zg_buf_release(&b);
    }
    /* objects built with kv helpers, and the bound */
    struct zg_buf b;
    zg_buf_init(&b, 0);
    bool first = true;
    assert_int_equal(zg_buf_add(&b, "{", 1), 0);
    assert_int_equal(zg_jsonw_kv_str(&b, &first, "a", "x"), 0);
    assert_int_equal(zg_jsonw_kv_int(&b, &first, "n", -42), 0);
    assert_int_equal(zg_jsonw_kv_str(&b, &first, "z", NULL), 0);
    assert_int_equal(zg_buf_add(&b, "}", 1), 0);
    assert_string_equal(b.p, "{\"a\":\"x\",\"n\":-42,\"z\":null}");
    zg_buf_release(&b);
    zg_buf_init(&b, 8);
    assert_int_equal(zg_jsonw_str(&b, "longer than eight"), ZG_ETOOBIG);
    zg_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_empty_is_nul_terminated),
        cmocka_unit_test(buf_grows_and_stays_terminated),
        cmocka_unit_test(buf_max_bound),
        cmocka_unit_test(buf_detach),
        cmocka_unit_test(arena_alignment_and_zeroing),
        cmocka_unit_test(arena_limit),
        cmocka_unit_test(arena_strings),
        cmocka_unit_test(error_set_and_clear),
        cmocka_unit_test(error_pointerize),
        cmocka_unit_test(clock_format),
        cmocka_unit_test(clock_now_is_sane),
        cmocka_unit_test(jsonw_escapes_and_repairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
