/* Unit tests of src/ids: the pseudonymous ID format and its check character (every single
 * substitution and adjacent transposition is rejected), the participant/case/specimen
 * registry, and the linkage store that keeps hospital patient IDs out of zengen.db. */
#include "testutil.h"

#include "auth/auth.h"
#include "common/error.h"
#include "store/db.h"
#include "crypto/crypto.h"
#include "ids/ids.h"

#include <ctype.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int setup(void **state)
{
    (void)state;
    return zg_crypto_init() == 0 ? 0 : -1;
}

/* Value of a symbol under the documented reading rules, or -1. */
static int symval(char c)
{
    c = (char)toupper((unsigned char)c);
    if (c == 'O')
        c = '0';
    if (c == 'I' || c == 'L')
        c = '1';
    const char *p = strchr(alphabet, c);
    return c && p ? (int)(p - alphabet) : -1;
}

/* Removes hyphens: "ZGC-7K3M-9QX2R" → "ZGC7K3M9QX2R". */
static void compact(const char *id, char out[16])
{
    size_t n = 0;
    for (const char *p = id; *p && n < 15; p++)
        if (*p != '-')
            out[n++] = *p;
    out[n] = '\0';
}

/* Builds a valid ID of kind from an 8-symbol body, computing the check symbol. */
static void make_id(char kind, const char body[9], char out[ZG_ID_LEN])
{
    unsigned char v[9];
    v[0] = (unsigned char)symval(kind);
    for (int i = 0; i < 8; i++)
        v[i + 1] = (unsigned char)symval(body[i]);
    unsigned c = zg_id_check(v, 9);
    assert_true(c < 32);
    snprintf(out, ZG_ID_LEN, "ZG%c-%.4s-%.4s%c", kind, body, body + 4, alphabet[c]);
}

static void id_format(void **state)
{
    (void)state;
    static const char kinds[] = {ZG_ID_PARTICIPANT, ZG_ID_CASE, ZG_ID_SPECIMEN};
    char prev[ZG_ID_LEN] = "";
    for (int k = 0; k < 3; k++)
        for (int r = 0; r < 200; r++) {
            char id[ZG_ID_LEN];
            zg_id_new((enum zg_id_kind)kinds[k], id);
            assert_int_equal(strlen(id), 14);
            assert_int_equal(id[0], 'Z');
            assert_int_equal(id[1], 'G');
            assert_int_equal(id[2], kinds[k]);
            assert_int_equal(id[3], '-');
            assert_int_equal(id[8], '-');
            for (int i = 4; i < 14; i++)
                if (i != 8)
                    assert_non_null(strchr(alphabet, id[i]));
            enum zg_id_kind kind;
            char canon[ZG_ID_LEN];
            struct zg_error err;
            assert_int_equal(zg_id_parse(id, &kind, canon, &err), 0);
            assert_int_equal(kind, kinds[k]);
            assert_string_equal(canon, id);
            assert_string_not_equal(id, prev);
            memcpy(prev, id, sizeof(prev));
        }
}

static void id_parse_lenient_reading(void **state)
{
    (void)state;
    char id[ZG_ID_LEN], canon[ZG_ID_LEN];
    enum zg_id_kind kind;
    struct zg_error err;
    /* an ID whose body contains 0 and 1, so that O/I/L readings can be checked */
    make_id('C', "01A10B0K", id);
    assert_int_equal(zg_id_parse(id, &kind, canon, &err), 0);
    assert_string_equal(canon, id);

    char variant[64];
    /* lowercase */
    for (size_t i = 0; i <= strlen(id); i++)
        variant[i] = (char)tolower((unsigned char)id[i]);
    assert_int_equal(zg_id_parse(variant, &kind, canon, &err), 0);
    assert_string_equal(canon, id);
    assert_int_equal(kind, ZG_ID_CASE);
    /* missing hyphens */
    char c[16];
    compact(id, c);
    assert_int_equal(zg_id_parse(c, &kind, canon, &err), 0);
    assert_string_equal(canon, id);
    /* spaces instead of hyphens, and misplaced hyphens */
    snprintf(variant, sizeof(variant), "%.3s %.4s %.5s", c, c + 3, c + 7);
    assert_int_equal(zg_id_parse(variant, &kind, canon, &err), 0);
    assert_string_equal(canon, id);
    snprintf(variant, sizeof(variant), "%.2s-%.5s--%.5s", c, c + 2, c + 7);
    assert_int_equal(zg_id_parse(variant, &kind, canon, &err), 0);
    assert_string_equal(canon, id);
    /* O read as 0, I and L read as 1 (upper and lower case) */
    snprintf(variant, sizeof(variant), "%s", id);
    for (char *p = variant + 4; *p; p++) {
        if (*p == '0')
            *p = 'O';
        else if (*p == '1')
            *p = (p - variant) % 2 ? 'I' : 'l';
    }
    assert_non_null(strchr(variant, 'O'));
    assert_int_equal(zg_id_parse(variant, &kind, canon, &err), 0);
    assert_string_equal(canon, id);
    for (char *p = variant; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    assert_int_equal(zg_id_parse(variant, &kind, canon, &err), 0);
    assert_string_equal(canon, id);
}

static void id_parse_rejects_malformed(void **state)
{
    (void)state;
    char id[ZG_ID_LEN], canon[ZG_ID_LEN], v[64];
    enum zg_id_kind kind;
    struct zg_error err;
    zg_id_new(ZG_ID_SPECIMEN, id);
    char c[16];
    compact(id, c);
    zg_error_clear(&err);
    assert_int_equal(zg_id_parse(NULL, &kind, canon, &err), ZG_EINVAL);
    assert_int_equal(zg_id_parse("", &kind, canon, &err), ZG_EINVAL);
    assert_true(err.reason[0] != '\0');
    snprintf(v, sizeof(v), "%.11s", c); /* too short */
    assert_int_equal(zg_id_parse(v, &kind, canon, &err), ZG_EINVAL);
    snprintf(v, sizeof(v), "%s0", c); /* too long */
    assert_int_equal(zg_id_parse(v, &kind, canon, &err), ZG_EINVAL);
    snprintf(v, sizeof(v), "%s00000000000000000000", c); /* much too long */
    assert_int_equal(zg_id_parse(v, &kind, canon, &err), ZG_EINVAL);
    snprintf(v, sizeof(v), "XG%s", c + 2); /* prefix */
    assert_int_equal(zg_id_parse(v, &kind, canon, &err), ZG_EINVAL);
    snprintf(v, sizeof(v), "ZGX%s", c + 3); /* kind */
    assert_int_equal(zg_id_parse(v, &kind, canon, &err), ZG_EINVAL);
    snprintf(v, sizeof(v), "%.5sU%s", c, c + 6); /* U is not a symbol */
    assert_int_equal(zg_id_parse(v, &kind, canon, &err), ZG_EINVAL);
    snprintf(v, sizeof(v), "%.5s*%s", c, c + 6);
    assert_int_equal(zg_id_parse(v, &kind, canon, &err), ZG_EINVAL);
    snprintf(v, sizeof(v), "%.5s\xc3%s", c, c + 6); /* a non-ASCII byte */
    assert_int_equal(zg_id_parse(v, &kind, canon, &err), ZG_EINVAL);
}

/* The check character's promise: any single-symbol substitution and any swap of two adjacent
 * different symbols is detected. Brute force over many random IDs of each kind. */
static void id_check_detects_every_typo(void **state)
{
    (void)state;
    static const char subs[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static const char kinds[] = {ZG_ID_PARTICIPANT, ZG_ID_CASE, ZG_ID_SPECIMEN};
    long tried_sub = 0, tried_swap = 0;
    for (int r = 0; r < 600; r++) {
        char id[ZG_ID_LEN], c[16], v[16], canon[ZG_ID_LEN];
        enum zg_id_kind kind;
        struct zg_error err;
        zg_id_new((enum zg_id_kind)kinds[r % 3], id);
        compact(id, c);
        assert_int_equal(strlen(c), 12);
        for (int i = 0; i < 12; i++) {
            for (const char *s = subs; *s; s++) {
                if (symval(*s) == symval(c[i]))
                    continue; /* same symbol (or an accepted reading of it) */
                memcpy(v, c, sizeof(v));
                v[i] = *s;
                tried_sub++;
                if (zg_id_parse(v, &kind, canon, &err) == 0)
                    fail_msg("substitution not detected: %s -> %s (parsed as %s)", c, v, canon);
            }
        }
        for (int i = 0; i + 1 < 12; i++) {
            if (c[i] == c[i + 1])
                continue; /* swapping equal symbols is not a typo */
            memcpy(v, c, sizeof(v));
            v[i] = c[i + 1];
            v[i + 1] = c[i];
            tried_swap++;
            if (zg_id_parse(v, &kind, canon, &err) == 0)
                fail_msg("transposition not detected: %s -> %s", c, v);
        }
    }
    assert_true(tried_sub > 600L * 12 * 30);
    assert_true(tried_swap > 600L * 9);
}

/* Exhaustive over adjacent pairs: for every prefix state and every pair of distinct symbol
 * values, swapping them changes the check result (total anti-symmetry of the quasigroup). */
static void id_check_pairs_exhaustive(void **state)
{
    (void)state;
    for (unsigned a = 0; a < 32; a++)
        for (unsigned b = 0; b < 32; b++) {
            if (a == b)
                continue;
            for (unsigned pre = 0; pre < 32; pre++) {
                unsigned char x[4] = {(unsigned char)pre, (unsigned char)a, (unsigned char)b, 7};
                unsigned char y[4] = {(unsigned char)pre, (unsigned char)b, (unsigned char)a, 7};
                assert_int_not_equal(zg_id_check(x, 4), zg_id_check(y, 4));
                /* substitution at the same place is also seen */
                unsigned char z[4] = {(unsigned char)pre, (unsigned char)a, 7, 7};
                unsigned char w[4] = {(unsigned char)pre, (unsigned char)b, 7, 7};
                assert_int_not_equal(zg_id_check(z, 4), zg_id_check(w, 4));
            }
        }
}

static void id_kind_change_detected(void **state)
{
    (void)state;
    int changed = 0;
    for (int r = 0; r < 500; r++) {
        char id[ZG_ID_LEN], v[ZG_ID_LEN], canon[ZG_ID_LEN];
        enum zg_id_kind kind;
        struct zg_error err;
        zg_id_new(ZG_ID_CASE, id);
        memcpy(v, id, sizeof(v));
        v[2] = 'P';
        assert_int_not_equal(zg_id_parse(v, &kind, canon, &err), 0);
        assert_non_null(strstr(err.reason, "check"));
        v[2] = 'S';
        assert_int_not_equal(zg_id_parse(v, &kind, canon, &err), 0);
        zg_id_new(ZG_ID_PARTICIPANT, id);
        memcpy(v, id, sizeof(v));
        v[2] = 'C';
        assert_int_not_equal(zg_id_parse(v, &kind, canon, &err), 0);
        changed++;
    }
    assert_int_equal(changed, 500);
}

/* --- registry and linkage on a real data directory -------------------------------------- */

struct reg {
    struct zg_testdir t;
    sqlite3 *db, *link;
    int64_t org1, org2;
};

static int reg_setup(void **state)
{
    struct reg *r = calloc(1, sizeof(*r));
    zg_test_datadir_setup(&r->t);
    r->db = zg_test_connect(&r->t, ZG_DB_MAIN);
    r->link = zg_test_connect(&r->t, ZG_DB_LINKAGE);
    struct zg_error err;
    if (zg_org_add(r->db, "Kanto University Hospital", "hospital", &r->org1, &err) ||
        zg_org_add(r->db, "Kansai Cancer Center", "hospital", &r->org2, &err))
        fail_msg("zg_org_add: %s", err.reason);
    *state = r;
    return 0;
}

static int reg_teardown(void **state)
{
    struct reg *r = *state;
    zg_db_close(r->db);
    zg_db_close(r->link);
    zg_test_datadir_teardown(&r->t);
    free(r);
    return 0;
}

static void registry_cases_and_specimens(void **state)
{
    struct reg *r = *state;
    struct zg_error err;
    zg_error_clear(&err);
    char c1[ZG_ID_LEN], p1[ZG_ID_LEN], c2[ZG_ID_LEN], p2[ZG_ID_LEN], c3[ZG_ID_LEN];
    enum zg_id_kind kind;
    char canon[ZG_ID_LEN];

    assert_int_equal(zg_case_add(r->db, r->org1, NULL, 0, c1, p1, &err), 0);
    assert_int_equal(zg_id_parse(c1, &kind, canon, &err), 0);
    assert_int_equal(kind, ZG_ID_CASE);
    assert_int_equal(zg_id_parse(p1, &kind, canon, &err), 0);
    assert_int_equal(kind, ZG_ID_PARTICIPANT);

    /* a second case of the same participant (given in a sloppy spelling) */
    char sloppy[32];
    compact(p1, sloppy);
    for (char *p = sloppy; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    assert_int_equal(zg_case_add(r->db, r->org1, sloppy, 0, c2, p2, &err), 0);
    assert_string_equal(p2, p1);
    assert_string_not_equal(c2, c1);

    /* a participant id with a typo, a case id given as participant, an unknown participant */
    char typo[ZG_ID_LEN];
    memcpy(typo, p1, sizeof(typo));
    typo[5] = typo[5] == 'A' ? 'B' : 'A';
    assert_int_equal(zg_case_add(r->db, r->org1, typo, 0, c3, NULL, &err), ZG_EINVAL);
    assert_string_equal(err.field, "/participant_id");
    assert_int_equal(zg_case_add(r->db, r->org1, c1, 0, c3, NULL, &err), ZG_EINVAL);
    char unknown[ZG_ID_LEN];
    zg_id_new(ZG_ID_PARTICIPANT, unknown);
    assert_int_equal(zg_case_add(r->db, r->org1, unknown, 0, c3, NULL, &err), ZG_ENOTFOUND);

    /* another organisation's case */
    assert_int_equal(zg_case_add(r->db, r->org2, NULL, 0, c3, NULL, &err), 0);
    int64_t org = 0;
    assert_int_equal(zg_case_org(r->db, c3, &org, &err), 0);
    assert_int_equal(org, r->org2);
    assert_int_equal(zg_case_org(r->db, unknown, &org, &err), ZG_ENOTFOUND);

    /* specimens */
    char s1[ZG_ID_LEN], s2[ZG_ID_LEN];
    assert_int_equal(zg_specimen_add(r->db, c1, "tumour-tissue", s1, &err), 0);
    assert_int_equal(zg_id_parse(s1, &kind, canon, &err), 0);
    assert_int_equal(kind, ZG_ID_SPECIMEN);
    assert_int_equal(zg_specimen_add(r->db, c1, "normal-blood", s2, &err), 0);
    assert_int_equal(zg_specimen_add(r->db, c1, "tumor", s2, &err), ZG_EINVAL);
    assert_int_equal(zg_specimen_add(r->db, c1, NULL, s2, &err), ZG_EINVAL);
    assert_int_equal(zg_specimen_add(r->db, unknown, "plasma", s2, &err), ZG_ENOTFOUND);

    /* reading: org restriction never reveals another org's case */
    json_t *j = zg_case_get(r->db, c1, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "participant_id")), p1);
    assert_int_equal(json_array_size(json_object_get(j, "specimens")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "org"), "id")),
                     r->org1);
    json_decref(j);
    assert_non_null(j = zg_case_get(r->db, c1, r->org1, &err));
    json_decref(j);
    assert_null(zg_case_get(r->db, c1, r->org2, &err));
    assert_int_equal(err.code, ZG_ENOTFOUND);
    assert_null(zg_case_get(r->db, unknown, 0, &err));

    json_t *l = zg_case_list(r->db, r->org1, "", 100, &err);
    assert_non_null(l);
    assert_int_equal(json_array_size(json_object_get(l, "cases")), 2);
    json_decref(l);
    l = zg_case_list(r->db, r->org2, "", 100, &err);
    assert_int_equal(json_array_size(json_object_get(l, "cases")), 1);
    json_decref(l);
    /* keyset paging: pages of one visit every case exactly once */
    int seen = 0;
    char after[ZG_ID_LEN] = "";
    for (;;) {
        l = zg_case_list(r->db, 0, after, 1, &err);
        assert_non_null(l);
        json_t *cases = json_object_get(l, "cases");
        seen += (int)json_array_size(cases);
        json_t *next = json_object_get(l, "next_after");
        if (json_is_null(next)) {
            json_decref(l);
            break;
        }
        snprintf(after, sizeof(after), "%s", json_string_value(next));
        json_decref(l);
        assert_true(seen <= 3);
    }
    assert_int_equal(seen, 3);

    json_t *st = zg_stats_overview(r->db, &err);
    assert_non_null(st);
    assert_int_equal(json_integer_value(json_object_get(st, "cases")), 3);
    assert_int_equal(json_integer_value(json_object_get(st, "participants")), 2);
    assert_int_equal(json_integer_value(json_object_get(st, "specimens")), 2);
    assert_int_equal(json_integer_value(json_object_get(st, "orgs")), 2);
    json_decref(st);
}

#define LOCAL_ID "MRN-77312-KANTO"

static void scan_db_files(const char *path, const char *needle, bool *found)
{
    static const char *const sfx[] = {"", "-wal", "-journal"};
    for (size_t i = 0; i < ZG_ARRAY_LEN(sfx); i++) {
        char p[512];
        snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        size_t n = 0;
        char *b = zg_test_slurp(p, &n);
        if (b && zg_test_memmem(b, n, needle, strlen(needle)))
            *found = true;
        free(b);
    }
}

static void linkage_resolve(void **state)
{
    struct reg *r = *state;
    struct zg_error err;
    zg_error_clear(&err);
    char pa[ZG_ID_LEN], pb[ZG_ID_LEN], pc[ZG_ID_LEN], pd[ZG_ID_LEN];
    bool created = false;

    assert_int_equal(zg_linkage_resolve(&r->t.dd, r->link, r->db, r->org1,
                                        "Kanto University Hospital", LOCAL_ID, NULL, true, pa,
                                        &created, &err),
                     0);
    assert_true(created);
    enum zg_id_kind kind;
    char canon[ZG_ID_LEN];
    assert_int_equal(zg_id_parse(pa, &kind, canon, &err), 0);
    assert_int_equal(kind, ZG_ID_PARTICIPANT);

    /* the same local ID twice → the same participant, not created again */
    assert_int_equal(zg_linkage_resolve(&r->t.dd, r->link, r->db, r->org1,
                                        "Kanto University Hospital", LOCAL_ID, NULL, true, pb,
                                        &created, &err),
                     0);
    assert_false(created);
    assert_string_equal(pb, pa);
    /* …also when only looking up */
    assert_int_equal(zg_linkage_resolve(&r->t.dd, r->link, r->db, r->org1,
                                        "Kanto University Hospital", LOCAL_ID, NULL, false, pb,
                                        &created, &err),
                     0);
    assert_string_equal(pb, pa);
    assert_false(created);

    /* the same local ID at another organisation is another person */
    assert_int_equal(zg_linkage_resolve(&r->t.dd, r->link, r->db, r->org2,
                                        "Kansai Cancer Center", LOCAL_ID, NULL, true, pc,
                                        &created, &err),
                     0);
    assert_true(created);
    assert_string_not_equal(pc, pa);

    /* unknown local ID without create */
    assert_int_equal(zg_linkage_resolve(&r->t.dd, r->link, r->db, r->org1,
                                        "Kanto University Hospital", "MRN-NOBODY", NULL, false,
                                        pd, &created, &err),
                     ZG_ENOTFOUND);
    assert_false(created);

    /* invalid local IDs */
    char longid[70];
    memset(longid, 'x', 65);
    longid[65] = '\0';
    const char *bad[] = {"", "has space", "tab\there", longid, NULL};
    for (size_t i = 0; i < ZG_ARRAY_LEN(bad); i++)
        assert_int_equal(zg_linkage_resolve(&r->t.dd, r->link, r->db, r->org1,
                                            "Kanto University Hospital", bad[i], NULL, true, pd,
                                            &created, &err),
                         ZG_EINVAL);
    longid[64] = '\0'; /* 64 characters is allowed */
    assert_int_equal(zg_linkage_resolve(&r->t.dd, r->link, r->db, r->org1,
                                        "Kanto University Hospital", longid, "other-project",
                                        true, pd, &created, &err),
                     0);

    /* the participant exists in the registry and can get cases */
    char c[ZG_ID_LEN], p[ZG_ID_LEN];
    assert_int_equal(zg_case_add(r->db, r->org1, pa, 0, c, p, &err), 0);
    assert_string_equal(p, pa);

    /* the cross-project linkage hash: stable, org-specific, not the plain ID */
    char h1[65], h2[65], h3[65];
    zg_linkage_hash(&r->t.dd, "Kanto University Hospital", LOCAL_ID, h1);
    zg_linkage_hash(&r->t.dd, "Kanto University Hospital", LOCAL_ID, h2);
    zg_linkage_hash(&r->t.dd, "Kansai Cancer Center", LOCAL_ID, h3);
    assert_int_equal(strlen(h1), 64);
    assert_string_equal(h1, h2);
    assert_string_not_equal(h1, h3);

    /* the local patient ID never reaches zengen.db, and linkage.db holds it only encrypted */
    zg_db_close(r->db);
    zg_db_close(r->link);
    r->db = r->link = NULL;
    char path[512];
    bool found = false;
    zg_datadir_file(&r->t.dd, "zengen.db", path, sizeof(path));
    scan_db_files(path, LOCAL_ID, &found);
    assert_false(found);
    scan_db_files(path, longid, &found);
    assert_false(found);
    zg_datadir_file(&r->t.dd, "linkage.db", path, sizeof(path));
    size_t n = 0;
    char *b = zg_test_slurp(path, &n);
    assert_non_null(b);
    assert_true(n > 0);
    free(b);
    scan_db_files(path, LOCAL_ID, &found);
    assert_false(found);
    scan_db_files(path, longid, &found);
    assert_false(found);
    /* the scan itself works: the participant ID is in both files */
    zg_datadir_file(&r->t.dd, "linkage.db", path, sizeof(path));
    scan_db_files(path, pa, &found);
    assert_true(found);
    r->db = zg_test_connect(&r->t, ZG_DB_MAIN);
    r->link = zg_test_connect(&r->t, ZG_DB_LINKAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(id_format),
        cmocka_unit_test(id_parse_lenient_reading),
        cmocka_unit_test(id_parse_rejects_malformed),
        cmocka_unit_test(id_check_detects_every_typo),
        cmocka_unit_test(id_check_pairs_exhaustive),
        cmocka_unit_test(id_kind_change_detected),
        cmocka_unit_test_setup_teardown(registry_cases_and_specimens, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(linkage_resolve, reg_setup, reg_teardown),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
