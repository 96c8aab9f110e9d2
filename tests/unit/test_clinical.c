/* Unit tests of src/clinical: the validator (schema and semantic checks, native patterns equal
 * to their regular expressions), merging, synthetic records, the FHIR mapping both ways, and
 * storage (etags, idempotency, all-or-nothing bundles, append-only history). */
#include "testutil.h"

#include "auth/auth.h"
#include "clinical/clinical.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "ids/ids.h"
#include "store/db.h"

#include <regex.h>

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad test JSON: %s", je.text);
    return j;
}

static json_t *good(void)
{
    char id[ZG_ID_LEN];
    zg_id_new(ZG_ID_CASE, id);
    return zg_clinical_synth_record(3, id);
}

/* Validates r; returns the pointer of the first error ("" when valid). */
static const char *first_error(json_t *r, char out[128])
{
    struct zg_error err;
    zg_error_clear(&err);
    json_t *errors = json_array();
    int rc = zg_clinical_validate(r, errors, &err);
    snprintf(out, 128, "%s", rc ? err.field : "");
    if (rc)
        assert_true(json_array_size(errors) >= 1);
    else
        assert_int_equal(json_array_size(errors), 0);
    json_decref(errors);
    return out;
}

static void validator_schema(void **state)
{
    (void)state;
    char p[128];
    json_t *r = good();
    assert_string_equal(first_error(r, p), "");
    static const struct {
        const char *path, *member, *json, *pointer;
    } cases[] = {
        {"diagnosis", "oncotree", "\"NOPE\"", "/diagnosis/oncotree"},
        {"diagnosis", "oncotree", "\"luad\"", "/diagnosis/oncotree"},
        {"diagnosis", "icd10", "\"C341\"", "/diagnosis/icd10"},
        {"diagnosis", "icdo3_morphology", "\"8140/4\"", "/diagnosis/icdo3_morphology"},
        {"diagnosis", "icdo3_topography", "\"D34.1\"", "/diagnosis/icdo3_topography"},
        {"diagnosis", "date", "\"2026-02-30\"", "/diagnosis/date"},
        {"diagnosis", "date", "20260101", "/diagnosis/date"},
        {"diagnosis", "unknown_member", "1", "/diagnosis/unknown_member"},
        {"patient", "sex", "\"F\"", "/patient/sex"},
        {"patient", "birth_year_month", "\"1961-05-03\"", "/patient/birth_year_month"},
        {"consent", "status", "null", ""},
        {"course", "vital_status", "\"deceased\"", "/course/vital_status"},
    };
    for (size_t i = 0; i < ZG_ARRAY_LEN(cases); i++) {
        json_t *c = json_deep_copy(r);
        json_t *o = json_object_get(c, cases[i].path);
        json_object_set_new(o, cases[i].member, load(cases[i].json));
        if (!strcmp(cases[i].json, "null"))
            json_object_del(o, cases[i].member); /* an absent optional member is fine */
        assert_string_equal(first_error(c, p), cases[i].pointer);
        json_decref(c);
    }
    /* arrays: item pointers, required members, free text without a code */
    json_t *c = json_deep_copy(r);
    json_array_append_new(json_object_get(c, "drug_therapies"),
                          load("{\"drugs\":[{\"text\":\"抗がん剤\"}],\"start_date\":\"2026-01-01\"}"));
    size_t n = json_array_size(json_object_get(c, "drug_therapies")) - 1;
    char want[64];
    snprintf(want, sizeof(want), "/drug_therapies/%zu/drugs/0", n);
    assert_string_equal(first_error(c, p), want);
    json_decref(c);
    c = json_deep_copy(r);
    json_object_set_new(c, "adverse_events", load("[{\"term\":\"Nausea\",\"grade\":2,\"date\":\"2026-01-01\"}]"));
    assert_string_equal(first_error(c, p), "/adverse_events/0/grade");
    json_decref(c);
    c = load("{\"surgeries\":[{\"date\":\"2026-01-01\"}]}");
    assert_string_equal(first_error(c, p), "/surgeries/0/procedure");
    json_decref(c);
    c = load("[]");
    assert_string_equal(first_error(c, p), "");
    json_decref(c);
    json_decref(r);
}

static void validator_semantics(void **state)
{
    (void)state;
    char p[128];
    static const struct {
        const char *json, *pointer;
    } cases[] = {
        {"{\"diagnosis\":{\"tnm\":{\"edition\":8,\"m\":\"M1a\",\"stage\":\"IIIA\"}}}",
         "/diagnosis/tnm/stage"},
        {"{\"diagnosis\":{\"performance_status\":{\"scale\":\"ECOG\",\"value\":5}}}",
         "/diagnosis/performance_status/value"},
        {"{\"diagnosis\":{\"performance_status\":{\"scale\":\"KPS\",\"value\":75}}}",
         "/diagnosis/performance_status/value"},
        {"{\"course\":{\"vital_status\":\"alive\",\"death_date\":\"2026-01-01\"}}",
         "/course/death_date"},
        {"{\"diagnosis\":{\"date\":\"2026-03-01\"},\"course\":{\"last_followup_date\":\"2026-02-01\"}}",
         "/course/last_followup_date"},
        {"{\"drug_therapies\":[{\"drugs\":[{\"name\":\"s-1\"}],\"start_date\":\"2026-03-01\","
         "\"end_date\":\"2026-02-01\"}]}",
         "/drug_therapies/0/end_date"},
        {"{\"drug_therapies\":[{\"id\":\"a\",\"drugs\":[{\"name\":\"s-1\"}],\"start_date\":\"2026-03-01\"},"
         "{\"id\":\"a\",\"drugs\":[{\"hot9\":\"103835401\"}],\"start_date\":\"2026-03-01\"}]}",
         "/drug_therapies/1/id"},
        {"{\"patient\":{\"birth_year_month\":\"1990-05\"},\"diagnosis\":{\"date\":\"1990-04-30\"}}",
         "/diagnosis/date"},
    };
    for (size_t i = 0; i < ZG_ARRAY_LEN(cases); i++) {
        json_t *c = load(cases[i].json);
        assert_string_equal(first_error(c, p), cases[i].pointer);
        json_decref(c);
    }
}

static void native_patterns_match_regex(void **state)
{
    (void)state;
    static const char *const patterns[] = {
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",       "^[A-Z][0-9]{2}([.][0-9A-Z]{1,2})?$",
        "^C[0-9]{2}([.][0-9])?$",             "^[89][0-9]{3}/[012369]$",
        "^[A-Z0-9_/-]{2,16}$",                "^[a-z0-9][a-z0-9 ()/+-]{1,99}$"};
    static const char *const inputs[] = {
        "", "2026-01-01", "2026-1-01", "20260101", "2026-01-011", "C34", "C34.1", "C34.12",
        "C34.", "c34.1", "C3.1", "E11.9", "Z99.AB", "C34.123", "8140/3", "8140/4", "9999/9",
        "7140/3", "8140/33", "LUAD", "MDS/MPN", "HCL-V", "A", "ABCDEFGHIJKLMNOPQ", "luad",
        "osimertinib", "s-1", "5-fluorouracil", "nab-paclitaxel", "Osimertinib", "-x", "x",
        "trastuzumab deruxtecan", "a(b)/c+d", "drug.name", "C00.0", "C99.9 ", " C34"};
    for (size_t i = 0; i < ZG_ARRAY_LEN(patterns); i++) {
        regex_t re;
        assert_int_equal(regcomp(&re, patterns[i], REG_EXTENDED | REG_NOSUB), 0);
        for (size_t j = 0; j < ZG_ARRAY_LEN(inputs); j++) {
            bool native = false;
            assert_true(zg_clinical_pattern_native(patterns[i], inputs[j], &native));
            bool rx = regexec(&re, inputs[j], 0, NULL, 0) == 0;
            if (rx != native)
                fail_msg("pattern %s on \"%s\": regex %d, native %d", patterns[i], inputs[j], rx,
                         native);
        }
        regfree(&re);
    }
    bool m;
    assert_false(zg_clinical_pattern_native("^x$", "x", &m));
    assert_true(zg_clinical_date_ok("2024-02-29"));
    assert_false(zg_clinical_date_ok("2023-02-29"));
    assert_false(zg_clinical_date_ok("1899-12-31"));
    const char *name = NULL;
    assert_true(zg_oncotree_lookup("LUAD", &name, NULL));
    assert_string_equal(name, "Lung Adenocarcinoma");
    assert_true(zg_oncotree_lookup("MDS/MPN", NULL, NULL));
    assert_false(zg_oncotree_lookup("LUADX", NULL, NULL));
}

static void merge_rules(void **state)
{
    (void)state;
    json_t *a = load("{\"patient\":{\"sex\":\"male\",\"birth_year_month\":\"1950-01\"},"
                     "\"drug_therapies\":[{\"id\":\"1\",\"line\":1},{\"line\":2}],\"course\":{\"vital_status\":\"alive\"}}");
    json_t *p = load("{\"patient\":{\"sex\":\"female\"},\"drug_therapies\":[{\"id\":\"1\",\"line\":3},"
                     "{\"line\":2},{\"line\":4}],\"course\":null}");
    json_t *m = zg_clinical_merge(a, p);
    json_t *want = load("{\"patient\":{\"sex\":\"female\",\"birth_year_month\":\"1950-01\"},"
                        "\"drug_therapies\":[{\"id\":\"1\",\"line\":3},{\"line\":2},{\"line\":4}]}");
    assert_true(json_equal(m, want));
    /* the inputs are untouched */
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "patient"), "sex")),
                        "male");
    json_decref(a);
    json_decref(p);
    json_decref(m);
    json_decref(want);
}

static void synthetic_records_are_valid_and_round_trip(void **state)
{
    (void)state;
    int complete = 0;
    char id[ZG_ID_LEN];
    zg_id_new(ZG_ID_CASE, id);
    for (uint64_t seed = 1; seed <= 400; seed++) {
        json_t *r = zg_clinical_synth_record(seed, id);
        json_t *errors = json_array();
        struct zg_error err;
        if (zg_clinical_validate(r, errors, &err)) {
            char *e = json_dumps(errors, 0);
            fail_msg("seed %llu invalid: %s", (unsigned long long)seed, e);
        }
        json_decref(errors);
        json_t *c = zg_clinical_completeness(r);
        complete += json_is_true(json_object_get(c, "complete"));
        json_decref(c);
        json_t *b = zg_clinical_to_fhir(r, &err), *recs = NULL, *rep = json_object();
        assert_non_null(b);
        assert_int_equal(zg_clinical_from_fhir(b, &recs, rep, &err), 0);
        json_t *back = json_object_get(json_array_get(recs, 0), "record");
        json_object_set_new(back, "model_version", json_string(ZG_CLINICAL_MODEL_VERSION));
        if (!json_equal(back, r)) {
            char *x = json_dumps(r, JSON_SORT_KEYS), *y = json_dumps(back, JSON_SORT_KEYS);
            fail_msg("seed %llu round trip differs:\n%s\n%s", (unsigned long long)seed, x, y);
        }
        assert_int_equal(json_array_size(json_object_get(rep, "unmapped")), 0);
        json_decref(b);
        json_decref(recs);
        json_decref(rep);
        json_decref(r);
    }
    /* realistic: most records are complete, some are not */
    assert_true(complete > 250 && complete < 400);
}

struct store {
    struct zg_testdir t;
    sqlite3 *db;
    int64_t org1, org2;
    char c1[ZG_ID_LEN], c2[ZG_ID_LEN];
};

static int store_setup(void **state)
{
    if (zg_crypto_init())
        return -1;
    struct store *s = calloc(1, sizeof(*s));
    zg_test_datadir_setup(&s->t);
    s->db = zg_test_connect(&s->t, ZG_DB_MAIN);
    struct zg_error err;
    if (zg_org_add(s->db, "H1", "hospital", &s->org1, &err) ||
        zg_org_add(s->db, "H2", "hospital", &s->org2, &err) ||
        zg_case_add(s->db, s->org1, NULL, 0, s->c1, NULL, &err) ||
        zg_case_add(s->db, s->org1, NULL, 0, s->c2, NULL, &err))
        fail_msg("setup: %s", err.reason);
    *state = s;
    return 0;
}

static int store_teardown(void **state)
{
    struct store *s = *state;
    zg_db_close(s->db);
    zg_test_datadir_teardown(&s->t);
    free(s);
    return 0;
}

static int64_t count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void storage(void **state)
{
    struct store *s = *state;
    struct zg_clinical_actor h1 = {1, "h1", s->org1, s->org1}, h2 = {2, "h2", s->org2, s->org2};
    struct zg_clinical_result res;
    struct zg_error err;
    bool replayed;
    json_t *r = zg_clinical_synth_record(7, s->c1);
    struct zg_clinical_push p = {.case_id = s->c1, .record = r, .source_system = "test",
                                 .source_message_id = "m1"};
    assert_int_equal(zg_clinical_push_one(s->db, &h1, &p, "k1", &res, &replayed, NULL, &err), 0);
    assert_true(res.created);
    assert_int_equal(res.version, 1);
    char etag1[48];
    snprintf(etag1, sizeof(etag1), "%s", res.etag);
    /* retry: same result, nothing new */
    assert_int_equal(zg_clinical_push_one(s->db, &h1, &p, "k1", &res, &replayed, NULL, &err), 0);
    assert_true(replayed);
    assert_string_equal(res.etag, etag1);
    /* same key, other request */
    struct zg_clinical_push p2 = p;
    p2.merge = true;
    assert_int_equal(zg_clinical_push_one(s->db, &h1, &p2, "k1", &res, &replayed, NULL, &err),
                     ZG_ECONFLICT);
    /* another organisation cannot see or write the case */
    assert_int_equal(zg_clinical_push_one(s->db, &h2, &p, NULL, &res, &replayed, NULL, &err),
                     ZG_ENOTFOUND);
    assert_null(zg_clinical_get(s->db, s->c1, s->org2, &err));
    /* stale etag */
    json_t *r2 = zg_clinical_synth_record(8, s->c1);
    struct zg_clinical_push p3 = {.case_id = s->c1, .record = r2, .source_system = "test",
                                  .if_match = "v0-0000000000000000"};
    assert_int_equal(zg_clinical_push_one(s->db, &h1, &p3, NULL, &res, &replayed, NULL, &err),
                     ZG_ECONFLICT);
    assert_string_equal(err.field, "if-match");
    p3.if_match = etag1;
    assert_int_equal(zg_clinical_push_one(s->db, &h1, &p3, NULL, &res, &replayed, NULL, &err), 0);
    assert_int_equal(res.version, 2);
    /* an invalid record is refused and recorded as a rejection, nothing written */
    json_t *bad = load("{\"diagnosis\":{\"oncotree\":\"XXXX\"}}");
    struct zg_clinical_push p4 = {.case_id = s->c1, .record = bad, .source_system = "test"};
    json_t *errors = json_array();
    assert_int_equal(zg_clinical_push_one(s->db, &h1, &p4, NULL, &res, &replayed, errors, &err),
                     ZG_EINVAL);
    assert_string_equal(err.field, "/diagnosis/oncotree");
    assert_int_equal(count(s->db, "SELECT count(*) FROM clinical_versions"), 2);
    assert_int_equal(count(s->db, "SELECT count(*) FROM clinical_rejections"), 1);
    /* a bundle with one bad entry writes nothing */
    json_t *r_c2 = json_copy(r);
    json_object_del(r_c2, "case_id");
    json_t *b = json_pack("{s:s,s:[{s:s,s:o},{s:s,s:O}]}", "source_system", "bulk", "entries",
                          "case_id", s->c2, "record", r_c2, "case_id", s->c1, "record", bad);
    json_t *results = NULL;
    json_array_clear(errors);
    assert_int_equal(zg_clinical_push_bundle(s->db, &h1, b, &results, &replayed, errors, &err),
                     ZG_EINVAL);
    assert_string_equal(err.field, "/entries/1/record/diagnosis/oncotree");
    assert_null(zg_clinical_get(s->db, s->c2, 0, &err));
    assert_int_equal(count(s->db, "SELECT count(*) FROM clinical_versions"), 2);
    /* history is append-only */
    assert_int_not_equal(sqlite3_exec(s->db, "UPDATE clinical_versions SET doc='{}'", NULL, NULL,
                                      NULL),
                         SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(s->db, "DELETE FROM clinical_versions", NULL, NULL, NULL),
                         SQLITE_OK);
    json_t *h = zg_clinical_history(s->db, s->c1, s->org1, &err);
    assert_int_equal(json_array_size(json_object_get(h, "versions")), 2);
    json_decref(h);
    /* search terms follow the current version */
    struct zg_clinical_query q = {.complete = -1, .limit = 10};
    const char *drug = json_string_value(json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(r2, "drug_therapies"), 0),
                                       "drugs"),
                       0),
        "name"));
    if (drug) {
        q.drug = drug;
        json_t *found = zg_clinical_search(s->db, &q, &err);
        assert_int_equal(json_array_size(json_object_get(found, "cases")), 1);
        json_decref(found);
    }
    /* counts: small cells and small totals suppressed under k */
    json_t *cnt = zg_clinical_counts(s->db, "oncotree", 5, 0, &err);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(cnt, "counts"), 0), "n")),
                        "<5");
    assert_null(json_object_get(cnt, "total"));
    json_decref(cnt);
    cnt = zg_clinical_counts(s->db, "oncotree", 0, 0, &err);
    assert_int_equal(json_integer_value(json_object_get(cnt, "total")), 1);
    json_decref(cnt);
    assert_null(zg_clinical_counts(s->db, "name", 0, 0, &err));
    assert_int_equal(err.code, ZG_EINVAL);
    json_decref(b);
    json_decref(errors);
    json_decref(bad);
    json_decref(r);
    json_decref(r2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validator_schema),
        cmocka_unit_test(validator_semantics),
        cmocka_unit_test(native_patterns_match_regex),
        cmocka_unit_test(merge_rules),
        cmocka_unit_test(synthetic_records_are_valid_and_round_trip),
        cmocka_unit_test_setup_teardown(storage, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
