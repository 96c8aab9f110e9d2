/* Unit tests of src/gateway: the HL7 v2 parser (separators from MSH, repetitions, components,
 * escapes, bounds), ISO-2022-JP decoding (a kanji whose bytes are '|' or '^' must not split a
 * field), de-identification (identifiers and phone-shaped text scrubbed, codes and dates
 * kept), SS-MIX2 conversion of the real examples, the mapping file and CSV conversion. */
#include "testutil.h"

#include "common/arena.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "gateway/gateway.h"
#include "gateway/hl7.h"

#include <unistd.h>

#define EXAMPLES ZG_DOCS_DIR "/../../shared/data/hl7v2/ssmix2-examples/"
#define EXTRA ZG_DOCS_DIR "/../tests/data/ssmix2-extra/"

static int setup(void **state)
{
    (void)state;
    return zg_crypto_init() == 0 ? 0 : -1;
}

static struct zg_hl7_msg *parse(struct zg_arena *a, const char *text, int want)
{
    struct zg_hl7_msg *m = NULL;
    struct zg_error err = {0};
    int rc = zg_hl7_parse(a, text, strlen(text), &m, &err);
    if (rc != want)
        fail_msg("parse returned %d (%s: %s), wanted %d", rc, err.field, err.reason, want);
    return m;
}

static void test_parse_fields(void **state)
{
    (void)state;
    struct zg_arena *a = zg_arena_new(0);
    const char *msg = "MSH|^~\\&|HIS|FAC|GW|RCV|20240101||ADT^A08^ADT_A01|CTL1|P|2.5\r"
                      "PID|1||ID1^^^^PI~ID2^^^^MR||Family^Given&Sub^^^^^L||19700102|F\r\n"
                      "\n"
                      "OBX|1|NM|X^Name^LN||42\r";
    struct zg_hl7_msg *m = parse(a, msg, 0);
    assert_int_equal(zg_hl7_nsegments(m), 3);
    assert_string_equal(zg_hl7_segment_name(m, 2), "OBX");
    assert_string_equal(zg_hl7_val(m, 0, 1, 0), "|");          /* MSH-1 is the separator */
    assert_string_equal(zg_hl7_val(m, 0, 2, 0), "^~\\&");      /* MSH-2 literally */
    assert_string_equal(zg_hl7_val(m, 0, 3, 0), "HIS");
    assert_string_equal(zg_hl7_val(m, 0, 9, 2), "A08");
    assert_string_equal(zg_hl7_val(m, 0, 10, 0), "CTL1");
    long pid = zg_hl7_find(m, "PID", 0);
    assert_int_equal(pid, 1);
    assert_int_equal(zg_hl7_nreps(m, 1, 3), 2);
    assert_string_equal(zg_hl7_get(m, 1, 3, 1, 1, 0), "ID2");
    assert_string_equal(zg_hl7_get(m, 1, 3, 1, 5, 0), "MR");
    assert_string_equal(zg_hl7_get(m, 1, 5, 0, 2, 1), "Given");
    assert_string_equal(zg_hl7_get(m, 1, 5, 0, 2, 2), "Sub");
    assert_string_equal(zg_hl7_get(m, 1, 5, 0, 2, 0), "Given&Sub");
    assert_string_equal(zg_hl7_val(m, 1, 99, 1), "");          /* absent field */
    assert_string_equal(zg_hl7_get(m, 1, 3, 5, 1, 1), "");     /* absent repetition */
    assert_int_equal(zg_hl7_find(m, "ZZZ", 0), -1);
    zg_arena_free(a);
}

static void test_parse_custom_separators(void **state)
{
    (void)state;
    struct zg_arena *a = zg_arena_new(0);
    /* separators are whatever MSH says: field '#', component '$', repetition '%', escape
     * '*', subcomponent '@' */
    struct zg_hl7_msg *m = parse(a, "MSH#$%*@#A#B\rPID#1##X$Y%Z$W#a|b^c\r", 0);
    assert_string_equal(zg_hl7_get(m, 1, 3, 0, 2, 0), "Y");
    assert_string_equal(zg_hl7_get(m, 1, 3, 1, 1, 0), "Z");
    assert_string_equal(zg_hl7_val(m, 1, 4, 0), "a|b^c");
    zg_arena_free(a);
}

static void test_escapes(void **state)
{
    (void)state;
    struct zg_arena *a = zg_arena_new(0);
    struct zg_hl7_msg *m = parse(
        a, "MSH|^~\\&|X\rNTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X41\\g\\.br\\h\\H\\i\\N\\|\"\"\r", 0);
    assert_string_equal(zg_hl7_val(m, 1, 3, 0), "a|b^c&d~e\\fAg\nhi");
    assert_string_equal(zg_hl7_val(m, 1, 4, 0), ""); /* explicit null */
    /* an escaped separator does not split */
    assert_string_equal(zg_hl7_val(m, 1, 3, 1), "a|b^c&d~e\\fAg\nhi");
    struct zg_error err = {0};
    struct zg_hl7_msg *bad;
    const char *b1 = "MSH|^~\\&|X\rPID|1||\\Q\\\r";
    assert_int_equal(zg_hl7_parse(a, b1, strlen(b1), &bad, &err), ZG_EINVAL);
    assert_string_equal(err.field, "PID-3");
    assert_non_null(strstr(err.reason, "escape"));
    const char *b2 = "MSH|^~\\&|X\rPID|1||ab\\F\r", *b3 = "MSH|^~\\&|X\rPID|1||\\X4\\\r";
    assert_int_equal(zg_hl7_parse(a, b2, strlen(b2), &bad, &err), ZG_EINVAL);
    assert_int_equal(zg_hl7_parse(a, b3, strlen(b3), &bad, &err), ZG_EINVAL);
    /* a hex escape may not smuggle control characters or broken UTF-8 */
    m = parse(a, "MSH|^~\\&|X\rPID|1||\\X01\\|\\XC3\\\r", 0);
    assert_string_equal(zg_hl7_val(m, 1, 3, 0), "");
    assert_string_equal(zg_hl7_val(m, 1, 4, 0), "");
    zg_arena_free(a);
}

static void test_parse_refuses(void **state)
{
    (void)state;
    struct zg_arena *a = zg_arena_new(0);
    struct zg_hl7_msg *m;
    struct zg_error err = {0};
    const char *bad[] = {
        "PID|1||X\r",                                /* no MSH */
        "MSH|^^\\&|X\rPID|1\r",                     /* separators not distinct */
        "MSH|^~\\|X\rPID|1\r",                      /* only 3 encoding characters */
        "MSH|^~\\&|X\rpid|1\r",                     /* lower-case segment name */
        "MSH|^~\\&|X\rPID1\r",                      /* name not followed by separator */
        "MSH|^~\\&|X\rPID|1\rMSH|^~\\&|Y\r",         /* two messages in one file */
        "MSH|A~\\&|X\rPID|1\r",                     /* letter as separator */
    };
    for (size_t i = 0; i < ZG_ARRAY_LEN(bad); i++) {
        zg_error_clear(&err);
        int rc = zg_hl7_parse(a, bad[i], strlen(bad[i]), &m, &err);
        if (rc != ZG_EINVAL)
            fail_msg("case %zu: parse returned %d", i, rc);
        assert_true(err.reason[0] != '\0');
    }
    /* bounds: too many fields in one segment */
    char *big = malloc(20 + ZG_HL7_MAX_FIELDS * 2 + 10);
    size_t n = (size_t)snprintf(big, 40, "MSH|^~\\&|X\rPID");
    for (int i = 0; i < ZG_HL7_MAX_FIELDS + 1; i++)
        big[n++] = '|', big[n++] = 'a';
    big[n] = '\0';
    assert_int_equal(zg_hl7_parse(a, big, n, &m, &err), ZG_ETOOBIG);
    free(big);
    /* too many repetitions */
    char reps[2000];
    n = (size_t)snprintf(reps, sizeof(reps), "MSH|^~\\&|X\rPID|");
    for (int i = 0; i < ZG_HL7_MAX_REPS + 1; i++)
        reps[n++] = '~';
    reps[n] = '\0';
    assert_int_equal(zg_hl7_parse(a, reps, n, &m, &err), ZG_ETOOBIG);
    zg_arena_free(a);
}

static void test_decode_iso2022jp(void **state)
{
    (void)state;
    /* 緯 is JIS 0x305E ('^' as second byte) and 淫 is 0x307C ('|'): decoding must come
     * before splitting, so the name stays one component of one field */
    const char raw[] = "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|1|P|2.5||||||~ISO IR87\r"
                       "PID|1||P1^^^^PI||\x1b$B0^0|\x1b(B^X\r\x1c\r";
    char *t = NULL;
    size_t tn;
    struct zg_error err = {0};
    assert_int_equal(zg_hl7_decode(raw, sizeof(raw) - 1, &t, &tn, &err), 0);
    struct zg_arena *a = zg_arena_new(0);
    struct zg_hl7_msg *m = parse(a, t, 0);
    assert_string_equal(zg_hl7_val(m, 1, 5, 1), "\xe7\xb7\xaf\xe6\xb7\xab"); /* 緯淫 */
    assert_string_equal(zg_hl7_val(m, 1, 5, 2), "X");
    zg_arena_free(a);
    free(t);
    /* an 8-bit byte, and a message that ends inside a double-byte character */
    const char bad1[] = "MSH|^~\\&|A|B|C|D|1||ADT^A08|1|P|2.5||||||~ISO IR87\rPID|1||\x1b$B\xb0\xa1\x1b(B\r";
    assert_int_equal(zg_hl7_decode(bad1, sizeof(bad1) - 1, &t, &tn, &err), ZG_EINVAL);
    assert_string_equal(err.field, "MSH-18");
    assert_non_null(strstr(err.reason, "offset"));
    const char bad2[] = "MSH|^~\\&|A|B|C|D|1||ADT^A08|1|P|2.5||||||~ISO IR87\rPID|1||\x1b$B0";
    assert_int_equal(zg_hl7_decode(bad2, sizeof(bad2) - 1, &t, &tn, &err), ZG_EINVAL);
    /* UTF-8 declared: accepted when valid, refused when not */
    const char u1[] = "MSH|^~\\&|A|B|C|D|1||ADT^A08|1|P|2.5||||||UNICODE UTF-8\rPID|1||\xe6\x82\xa3\r";
    assert_int_equal(zg_hl7_decode(u1, sizeof(u1) - 1, &t, &tn, &err), 0);
    free(t);
    const char u2[] = "MSH|^~\\&|A|B|C|D|1||ADT^A08|1|P|2.5||||||UNICODE UTF-8\rPID|1||\xe6\x82\r";
    assert_int_equal(zg_hl7_decode(u2, sizeof(u2) - 1, &t, &tn, &err), ZG_EINVAL);
    const char u3[] = "MSH|^~\\&|A|B|C|D|1||ADT^A08|1|P|2.5||||||KLINGON\rPID|1\r";
    assert_int_equal(zg_hl7_decode(u3, sizeof(u3) - 1, &t, &tn, &err), ZG_EINVAL);
    assert_non_null(strstr(err.reason, "unsupported"));
}

static char *slurp_example(const char *name, size_t *n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s", EXAMPLES, name);
    char *s = zg_test_slurp(path, n);
    if (!s)
        fail_msg("cannot read %s", path);
    return s;
}

static void test_real_examples_decode(void **state)
{
    (void)state;
    size_t n;
    char *raw = slurp_example("9999013_-_ADT-00_999999999999999_20111220224447339_-_1", &n);
    char *t;
    size_t tn;
    struct zg_error err = {0};
    assert_int_equal(zg_hl7_decode(raw, n, &t, &tn, &err), 0);
    struct zg_arena *a = zg_arena_new(0);
    struct zg_hl7_msg *m = parse(a, t, 0);
    long pid = zg_hl7_find(m, "PID", 0);
    assert_true(pid > 0);
    assert_string_equal(zg_hl7_get(m, (size_t)pid, 5, 0, 1, 1), "患者");
    assert_string_equal(zg_hl7_get(m, (size_t)pid, 5, 1, 2, 1), "タロウ");
    assert_string_equal(zg_hl7_get(m, (size_t)pid, 13, 1, 12, 1), "03-5999-9999");
    assert_string_equal(zg_hl7_get(m, (size_t)pid, 11, 0, 8, 1), "静岡県静岡市登呂１−３−５");

    /* the identifiers of that patient, and their scrubbing from free text */
    struct zg_gw_idents ids = {0};
    zg_gw_idents_from_hl7(m, &ids);
    const char *must[] = {"患者", "太郎", "カンジャ", "タロウ", "9999013", "19480405", "1948-04-05",
                          "静岡県静岡市登呂１−３−５", "054-000-0000", "03-3599-9993", "422-8033",
                          "鹿ノ門商事株式会社"};
    for (size_t i = 0; i < ZG_ARRAY_LEN(must); i++) {
        bool found = false;
        for (size_t k = 0; k < ids.n; k++)
            found |= !strcmp(ids.v[k], must[i]);
        if (!found)
            fail_msg("identifier %s not collected", must[i]);
    }
    json_t *doc = json_pack("{s:s,s:[s,s],s:s,s:s,s:s}", "text",
                            "患者太郎さん（9999013）は静岡県静岡市登呂１−３−５在住、TEL 054-000-0000",
                            "list", "カンジャ", "胃炎", "order", "A99999013B", "code", "C34.1",
                            "date", "2011-09-15");
    int nrep = zg_gw_deid_scrub(doc, &ids);
    assert_true(nrep >= 5);
    char *out = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    assert_null(strstr(out, "患者"));
    assert_null(strstr(out, "太郎"));
    assert_null(strstr(out, "静岡"));
    assert_null(strstr(out, "054-000"));
    assert_null(strstr(out, "9999013）"));
    assert_null(strstr(out, "カンジャ"));
    assert_non_null(strstr(out, "胃炎"));          /* clinical text stays */
    assert_non_null(strstr(out, "A99999013B"));    /* an ID inside another token stays */
    assert_non_null(strstr(out, "\"C34.1\""));
    assert_non_null(strstr(out, "\"2011-09-15\""));
    free(out);
    json_decref(doc);
    zg_arena_free(a);
    free(t);
    free(raw);
}

static void test_deid_helpers(void **state)
{
    (void)state;
    char ym[8];
    assert_int_equal(zg_gw_deid_birth("19480405", ym), 0);
    assert_string_equal(ym, "1948-04");
    assert_int_equal(zg_gw_deid_birth("194804", ym), 0);
    assert_int_equal(zg_gw_deid_birth("19481305", ym), ZG_EINVAL);
    assert_int_equal(zg_gw_deid_birth("1948", ym), ZG_EINVAL);
    assert_int_equal(zg_gw_deid_birth("", ym), ZG_EINVAL);
    assert_true(zg_gw_looks_like_phone("TEL 054-000-0000"));
    assert_true(zg_gw_looks_like_phone("〒422-8033"));
    assert_true(zg_gw_looks_like_phone("携帯09012345678"));
    assert_true(zg_gw_looks_like_phone("03-3599-9993"));
    assert_false(zg_gw_looks_like_phone("2011-09-15"));
    assert_false(zg_gw_looks_like_phone("C34.1 8140/3"));
    assert_false(zg_gw_looks_like_phone("000000011000185"));
    assert_false(zg_gw_looks_like_phone("20054174"));
    struct zg_gw_idents ids = {0};
    zg_gw_idents_add(&ids, "L");   /* codes too short to be identifiers */
    zg_gw_idents_add(&ids, "PI");
    zg_gw_idents_add(&ids, "仁");  /* one kanji would erase it from every text */
    assert_int_equal(ids.n, 0);
    zg_gw_idents_add(&ids, "試験");
    zg_gw_idents_add(&ids, "試験");
    assert_int_equal(ids.n, 1);
}

static void convert_example(const char *name, const struct zg_gw_mapping *map,
                            struct zg_gw_record **recs, size_t *nrecs, const char **skip)
{
    size_t n;
    char *raw = slurp_example(name, &n);
    struct zg_error err = {0};
    int rc = zg_gw_convert_ssmix2(map, raw, n, recs, nrecs, skip, &err);
    if (rc)
        fail_msg("%s: %s: %s", name, err.field, err.reason);
    free(raw);
}

static void test_convert_examples(void **state)
{
    (void)state;
    struct zg_gw_record *r;
    size_t n;
    const char *skip;
    convert_example("9999013_-_PPR-01_999999999999999_20111209163030000_01_1", NULL, &r, &n, &skip);
    assert_int_equal(n, 1);
    char *s = json_dumps(r[0].record, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"background\":{\"comorbidities\":[{\"icd10\":\"K29.7\",\"id\":"
                           "\"dx-123456789012345-1\",\"text\":\"胃炎\"}]}}");
    free(s);
    assert_string_equal(r[0].local_id, "1234567890");
    assert_string_equal(r[0].source, "PPR^ZD1");
    assert_string_equal(r[0].message_id, "201112091630305");
    assert_int_equal(strncmp(r[0].idem_key, "ss2-", 4), 0);
    assert_int_equal(strlen(r[0].idem_key), 68);
    char key1[80];
    snprintf(key1, sizeof(key1), "%s", r[0].idem_key);
    zg_gw_records_free(r, n);
    /* the key is derived from the message: the same file gives the same key */
    convert_example("9999013_-_PPR-01_999999999999999_20111209163030000_01_1", NULL, &r, &n, &skip);
    assert_string_equal(r[0].idem_key, key1);
    zg_gw_records_free(r, n);

    convert_example("9999013_-_ADT-00_999999999999999_20111220224447339_-_1", NULL, &r, &n, &skip);
    assert_int_equal(n, 1);
    s = json_dumps(r[0].record, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"patient\":{\"birth_year_month\":\"1948-04\",\"sex\":\"male\"}}");
    free(s);
    assert_int_equal(r[0].unmapped, 4); /* height, weight, blood type, allergy */
    zg_gw_records_free(r, n);

    /* prescriptions need a drug mapping; without one nothing is sent */
    convert_example("9999013_20110701_OMP-01_000000011000185_20110701224603984_01_1", NULL, &r, &n,
                    &skip);
    assert_int_equal(n, 0);
    assert_non_null(skip);
    assert_string_equal(skip, "no drug of the message is in the mapping file's drug table");
    convert_example("9999013_20111220_OML-11_000000011000354_20111220103059000_01_1", NULL, &r, &n,
                    &skip);
    assert_int_equal(n, 0);
    assert_string_equal(skip, "only laboratory values, which model 1.0 does not hold");
    assert_true(zg_gw_ssmix2_name_ok("999/901/9999013/-/ADT-00/9999013_-_ADT-00_999999999999999_20111220224447339_-_1"));
    assert_false(zg_gw_ssmix2_name_ok("LICENSE"));
    assert_false(zg_gw_ssmix2_name_ok("a_b_c.txt"));
    assert_true(zg_gw_ssmix2_withdrawn("x/1_-_ADT-00_9_2011_-_0"));
    assert_false(zg_gw_ssmix2_withdrawn("x/1_-_ADT-00_9_2011_-_1"));
    struct zg_gw_mapping *map;
    struct zg_error err = {0};
    assert_int_equal(zg_gw_mapping_load(EXTRA "mapping.json", &map, &err), 0);
    convert_example("9999013_20110701_OMP-01_000000011000185_20110701224603984_01_1", map, &r, &n,
                    &skip);
    assert_int_equal(n, 1);
    json_t *rx = json_object_get(r[0].record, "drug_therapies");
    assert_int_equal(json_array_size(rx), 3);
    json_t *first = json_array_get(rx, 0);
    assert_string_equal(json_string_value(json_object_get(first, "start_date")), "2011-07-01");
    assert_string_equal(json_string_value(json_object_get(first, "end_date")), "2011-07-05");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(first, "drugs"), 0), "text")),
                        "ダーゼン錠（５mg)");
    assert_string_equal(json_string_value(json_object_get(first, "text")), "内服・経口・１日３回朝昼夕食後");
    s = json_dumps(r[0].record, JSON_COMPACT);
    assert_null(strstr(s, "入力者"));
    assert_null(strstr(s, "登呂"));
    free(s);
    zg_gw_records_free(r, n);
    zg_gw_mapping_free(map);
}

static void test_mapping_errors(void **state)
{
    (void)state;
    char dir[256];
    zg_test_mkdtemp(dir);
    char path[300];
    snprintf(path, sizeof(path), "%s/m.json", dir);
    struct {
        const char *json, *field;
    } cases[] = {
        {"{\"mapping_version\":2}", "/mapping_version"},
        {"{\"mapping_version\":1,\"extra\":1}", "/"},
        {"{\"mapping_version\":1,\"csv\":[{\"name\":\"a\",\"files\":\"*.csv\",\"patient_id\":\"ID\","
         "\"fields\":[{\"column\":\"X\",\"to\":\"diagnosis\"}]}]}", "/csv/0/fields/0/to"},
        {"{\"mapping_version\":1,\"csv\":[{\"name\":\"a\",\"files\":\"*.csv\",\"patient_id\":\"ID\","
         "\"fields\":[{\"column\":\"X\",\"to\":\"/case_id\"}]}]}", "/csv/0/fields/0/to"},
        {"{\"mapping_version\":1,\"csv\":[{\"name\":\"a\",\"files\":\"*.csv\","
         "\"fields\":[{\"column\":\"X\",\"to\":\"/a\"}]}]}", "/csv/0/patient_id"},
        {"{\"mapping_version\":1,\"csv\":[{\"name\":\"a\",\"files\":\"*.csv\",\"patient_id\":\"ID\","
         "\"fields\":[{\"column\":\"X\",\"to\":\"/a\",\"format\":\"kanji\"}]}]}", "/csv/0/fields/0/format"},
    };
    for (size_t i = 0; i < ZG_ARRAY_LEN(cases); i++) {
        FILE *f = fopen(path, "w");
        fputs(cases[i].json, f);
        fclose(f);
        struct zg_gw_mapping *m = NULL;
        struct zg_error err = {0};
        assert_int_equal(zg_gw_mapping_load(path, &m, &err), ZG_EINVAL);
        if (strcmp(err.field, cases[i].field))
            fail_msg("case %zu: field %s, wanted %s (%s)", i, err.field, cases[i].field, err.reason);
        assert_null(m);
    }
    zg_test_rmtree(dir);
}

static void test_csv(void **state)
{
    (void)state;
    char dir[256];
    zg_test_mkdtemp(dir);
    char path[300];
    snprintf(path, sizeof(path), "%s/m.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"mapping_version\":1,\"oncotree\":{},\"csv\":[{\"name\":\"registry\",\"files\":\"reg_*.csv\","
          "\"patient_id\":\"患者ID\",\"identifiers\":[\"氏名\"],\"fields\":["
          "{\"column\":\"ICD10\",\"to\":\"/diagnosis/icd10\",\"format\":\"icd10\"},"
          "{\"column\":\"診断日\",\"to\":\"/diagnosis/date\",\"format\":\"date\"},"
          "{\"column\":\"所見\",\"to\":\"/diagnosis/text\"},"
          "{\"column\":\"性別\",\"to\":\"/patient/sex\",\"map\":{\"1\":\"male\",\"2\":\"female\"}},"
          "{\"column\":\"生年月日\",\"to\":\"/patient/birth_year_month\",\"format\":\"birth\"},"
          "{\"column\":\"薬剤\",\"to\":\"/drug_therapies/0/drugs/0/name\"},"
          "{\"column\":\"開始日\",\"to\":\"/drug_therapies/0/start_date\",\"format\":\"date\"},"
          "{\"column\":\"オーダ\",\"to\":\"/drug_therapies/0/id\"},"
          "{\"value\":8,\"to\":\"/diagnosis/tnm/edition\"},"
          "{\"column\":\"Stage\",\"to\":\"/diagnosis/tnm/stage\"}]}]}",
          f);
    fclose(f);
    struct zg_gw_mapping *m;
    struct zg_error err = {0};
    assert_int_equal(zg_gw_mapping_load(path, &m, &err), 0);
    assert_true(zg_gw_mapping_matches(m, "reg_2026.csv"));
    assert_false(zg_gw_mapping_matches(m, "other.csv"));
    const char *csv = "\xEF\xBB\xBF患者ID,氏名,ICD10,診断日,所見,性別,生年月日,薬剤,開始日,オーダ,Stage\r\n"
                      "H001,試験花子,C341,2026/4/1,\"試験花子様、右上葉に腫瘤, TEL 03-1234-5678\",2,1961-05-20,osimertinib,20260415,O1,IIB\r\n"
                      "H002,見本太郎,C16.9,2026-03-02,,1,19550101,,,,IV\n";
    struct zg_gw_record *r;
    size_t n;
    assert_int_equal(zg_gw_convert_csv(m, "reg_2026.csv", csv, strlen(csv), &r, &n, &err), 0);
    assert_int_equal(n, 2);
    char *s = json_dumps(r[0].record, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(
        s, "{\"diagnosis\":{\"date\":\"2026-04-01\",\"icd10\":\"C34.1\",\"text\":\"***様、右上葉に腫瘤, TEL ***\","
           "\"tnm\":{\"edition\":8,\"stage\":\"IIB\"}},\"drug_therapies\":[{\"drugs\":[{\"name\":\"osimertinib\"}],"
           "\"id\":\"O1\",\"start_date\":\"2026-04-15\"}],\"patient\":{\"birth_year_month\":\"1961-05\",\"sex\":\"female\"}}");
    free(s);
    assert_string_equal(r[0].local_id, "H001");
    assert_int_equal(strncmp(r[0].idem_key, "csv-", 4), 0);
    assert_string_not_equal(r[0].idem_key, r[1].idem_key);
    zg_gw_records_free(r, n);
    /* one bad row fails the whole file, naming the row */
    const char *bad = "患者ID,氏名,ICD10,診断日,所見,性別,生年月日,薬剤,開始日,オーダ,Stage\n"
                      "H001,a,C34.1,2026-04-01,,1,1961-05-20,,,,IIB\n"
                      "H002,b,C34.1,2026-02-30,,1,1961-05-20,,,,IIB\n";
    assert_int_equal(zg_gw_convert_csv(m, "reg_x.csv", bad, strlen(bad), &r, &n, &err), ZG_EINVAL);
    assert_string_equal(err.field, "row 3");
    assert_non_null(strstr(err.reason, "診断日"));
    const char *badsex = "患者ID,氏名,ICD10,診断日,所見,性別,生年月日,薬剤,開始日,オーダ,Stage\n"
                         "H001,a,C34.1,2026-04-01,,9,1961-05-20,,,,IIB\n";
    assert_int_equal(zg_gw_convert_csv(m, "reg_x.csv", badsex, strlen(badsex), &r, &n, &err), ZG_EINVAL);
    assert_non_null(strstr(err.reason, "map"));
    const char *ragged = "患者ID,氏名\nH1\n";
    assert_int_equal(zg_gw_convert_csv(m, "reg_x.csv", ragged, strlen(ragged), &r, &n, &err), ZG_EINVAL);
    zg_gw_mapping_free(m);
    zg_test_rmtree(dir);
}

static void test_state_queue(void **state)
{
    (void)state;
    char dir[256];
    zg_test_mkdtemp(dir);
    char sdir[300];
    snprintf(sdir, sizeof(sdir), "%s/state", dir);
    struct zg_gw_state *st;
    struct zg_error err = {0};
    assert_int_equal(zg_gw_state_open(sdir, &st, &err), 0);
    struct zg_gw_record rec = {.kind = "patient", .local_id = "LOCAL-777", .idem_key = "ss2-abc",
                               .source = "ADT^A08", .message_id = "M1"};
    rec.record = json_pack("{s:{s:s}}", "patient", "sex", "male");
    bool seen;
    assert_int_equal(zg_gw_file_seen(st, "ssmix2", "a/b/LOCAL-777_x", 10, 5, &seen, &err), 0);
    assert_false(seen);
    assert_int_equal(zg_gw_enqueue(st, "ssmix2", "a/b/LOCAL-777_x", 10, 5, "queued", &rec, 1, &err), 0);
    /* the same message again (another file) is not queued twice */
    assert_int_equal(zg_gw_enqueue(st, "ssmix2", "a/b/LOCAL-777_y", 10, 5, "queued", &rec, 1, &err), 0);
    assert_int_equal(zg_gw_file_seen(st, "ssmix2", "a/b/LOCAL-777_x", 10, 5, &seen, &err), 0);
    assert_true(seen);
    assert_int_equal(zg_gw_file_seen(st, "ssmix2", "a/b/LOCAL-777_x", 11, 5, &seen, &err), 0);
    assert_false(seen); /* rewritten file: handled again */
    json_t *j = zg_gw_status(st, &err);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "queue"), "pending")), 1);
    json_decref(j);
    /* a center that does not answer: the item stays pending and backs off */
    struct zg_gw_center c = {"http://127.0.0.1:9", "zgt_x", 5, NULL};
    int sent, rejected;
    bool blocked;
    assert_int_equal(zg_gw_push_due(st, &c, 10, &sent, &rejected, &blocked, &err), 0);
    assert_int_equal(sent, 0);
    assert_true(blocked);
    j = zg_gw_status(st, &err);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "queue"), "pending")), 1);
    assert_true(json_integer_value(json_object_get(j, "next_retry_at")) > 0);
    assert_non_null(strstr(json_string_value(json_object_get(j, "last_error")), "network"));
    json_decref(j);
    zg_gw_state_close(st);
    /* nothing identifying in clear on disk */
    char dbp[400];
    snprintf(dbp, sizeof(dbp), "%s/gateway.db", sdir);
    size_t n;
    char *db = zg_test_slurp(dbp, &n);
    assert_non_null(db);
    assert_false(zg_test_memmem(db, n, "LOCAL-777", 9));
    free(db);
    json_decref(rec.record);
    zg_test_rmtree(dir);
}

static void test_backoff(void **state)
{
    (void)state;
    for (int i = 0; i < 50; i++) {
        int64_t d0 = zg_gw_backoff(0, 1, 300), d3 = zg_gw_backoff(3, 1, 300);
        int64_t d20 = zg_gw_backoff(20, 1, 300);
        assert_true(d0 >= 1 && d0 <= 2);
        assert_true(d3 >= 6 && d3 <= 10);
        assert_true(d20 >= 240 && d20 <= 360);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_custom_separators),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_decode_iso2022jp),
        cmocka_unit_test(test_real_examples_decode),
        cmocka_unit_test(test_deid_helpers),
        cmocka_unit_test(test_convert_examples),
        cmocka_unit_test(test_mapping_errors),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_state_queue),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
