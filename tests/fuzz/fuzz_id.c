/* Fuzzes zg_id_parse (src/ids/id.c): no crash on any text, and every accepted ID has a stable
 * canonical form that re-parses to itself, in every spelling the parser promises to accept,
 * while every single-symbol typo and adjacent swap of it is rejected (docs/ids.md). */
#include "fuzz.h"
#include "common/compat.h"
#include "common/error.h"
#include "ids/ids.h"

#include <ctype.h>

#define ID_MAX_INPUT 256 /* longer text is rejected after 15 symbols anyway */

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Canonical IDs look exactly like "ZGC-7K3M-9QX2R". */
static bool is_canonical_shape(const char *c)
{
    if (strlen(c) != ZG_ID_LEN - 1 || c[0] != 'Z' || c[1] != 'G' || c[3] != '-' || c[8] != '-')
        return false;
    if (c[2] != 'P' && c[2] != 'C' && c[2] != 'S')
        return false;
    for (int i = 4; i < 14; i++)
        if (i != 8 && !strchr(alphabet, c[i]))
            return false;
    return true;
}

static bool parses_to(const char *text, enum zg_id_kind kind, const char *canonical)
{
    enum zg_id_kind k2;
    char c2[ZG_ID_LEN];
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_id_parse(text, &k2, c2, &err) != 0)
        return false;
    return k2 == kind && !strcmp(c2, canonical);
}

static bool rejected(const char *text)
{
    enum zg_id_kind k2;
    char c2[ZG_ID_LEN];
    struct zg_error err;
    zg_error_clear(&err);
    int rc = zg_id_parse(text, &k2, c2, &err);
    if (rc == 0)
        return false;
    ZG_FUZZ_CHECK(rc == ZG_EINVAL && err.code == ZG_EINVAL && err.reason[0]);
    return true;
}

static void check_accepted(enum zg_id_kind kind, const char *canon)
{
    ZG_FUZZ_CHECK(is_canonical_shape(canon));
    ZG_FUZZ_CHECK((char)kind == canon[2]);

    /* the canonical form is a fixed point, also in lower case, without hyphens or spaced */
    ZG_FUZZ_CHECK(parses_to(canon, kind, canon));
    char v[64];
    size_t n = 0;
    for (const char *p = canon; *p; p++)
        if (*p != '-')
            v[n++] = (char)tolower((unsigned char)*p);
    v[n] = '\0';
    ZG_FUZZ_CHECK(parses_to(v, kind, canon));
    n = 0;
    for (const char *p = canon; *p; p++) {
        v[n++] = *p == '-' ? ' ' : *p;
        if (*p == '-')
            v[n++] = '-';
    }
    v[n] = '\0';
    ZG_FUZZ_CHECK(parses_to(v, kind, canon));

    /* symbols after the kind letter: positions 4..7 and 9..13 of the canonical form */
    static const int pos[9] = {4, 5, 6, 7, 9, 10, 11, 12, 13};
    char t[ZG_ID_LEN];
    for (int i = 0; i < 9; i++) {
        /* one wrong symbol (a typo) is always detected */
        for (const char *a = alphabet; *a; a++) {
            if (*a == canon[pos[i]])
                continue;
            memcpy(t, canon, ZG_ID_LEN);
            t[pos[i]] = *a;
            ZG_FUZZ_CHECK(rejected(t));
        }
        /* and so is a swap of two different adjacent symbols */
        if (i + 1 < 9 && canon[pos[i]] != canon[pos[i + 1]]) {
            memcpy(t, canon, ZG_ID_LEN);
            t[pos[i]] = canon[pos[i + 1]];
            t[pos[i + 1]] = canon[pos[i]];
            ZG_FUZZ_CHECK(rejected(t));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > ID_MAX_INPUT)
        return 0;
    char text[ID_MAX_INPUT + 1];
    memcpy(text, data, size);
    text[size] = '\0'; /* an embedded NUL simply ends the text, as in a C string from JSON */

    enum zg_id_kind kind = 0;
    char canon[ZG_ID_LEN];
    memset(canon, 0x55, sizeof(canon)); /* so that a missing terminator is noticed */
    struct zg_error err;
    zg_error_clear(&err);
    int rc = zg_id_parse(text, &kind, canon, &err);
    if (rc == 0) {
        check_accepted(kind, canon);
    } else {
        ZG_FUZZ_CHECK(rc == ZG_EINVAL);
        ZG_FUZZ_CHECK(err.code == ZG_EINVAL && !strcmp(err.field, "id") && err.reason[0]);
    }
    return 0;
}
