/* SS-MIX2 (HL7 v2.5) → standard clinical model: one partial record per message, merged into
 * the case at the center. Only whitelisted items are copied; identifiers are then scrubbed
 * from whatever free text remains. Mapping table: docs/gateway.md. */
#include "gateway/gateway.h"
#include "gateway/hl7.h"
#include "clinical/clinical.h"
#include "common/arena.h"
#include "common/error.h"
#include "crypto/crypto.h"

#include <time.h>

/* "YYYYMMDD…" → "YYYY-MM-DD" when it is a real date; "" otherwise. */
static void hl7_date(const char *v, char out[11])
{
    out[0] = '\0';
    if (strlen(v) < 8)
        return;
    for (int i = 0; i < 8; i++)
        if (!(v[i] >= '0' && v[i] <= '9'))
            return;
    char d[11];
    snprintf(d, sizeof(d), "%.4s-%.2s-%.2s", v, v + 4, v + 6);
    if (zg_clinical_date_ok(d))
        memcpy(out, d, 11);
}

/* date + days → out ("" when date is empty or days out of range). */
static void add_days(const char *date, long days, char out[11])
{
    out[0] = '\0';
    if (!date[0] || days < 0 || days > 3660)
        return;
    struct tm tm = {0};
    tm.tm_year = (int)strtol(date, NULL, 10) - 1900;
    tm.tm_mon = (int)strtol(date + 5, NULL, 10) - 1;
    tm.tm_mday = (int)strtol(date + 8, NULL, 10) + (int)days;
    tm.tm_hour = 12;
    time_t t = timegm(&tm);
    struct tm r;
    if (!gmtime_r(&t, &r) || r.tm_year < 0 || r.tm_year > 8000)
        return;
    char d[32];
    snprintf(d, sizeof(d), "%04d-%02d-%02d", r.tm_year + 1900, r.tm_mon + 1, r.tm_mday);
    snprintf(out, 11, "%.10s", d);
}

/* HL7 ICD-10 "K297" / "C34.1" → "K29.7" / "C34.1" when well-formed; "" otherwise. */
static void icd10_norm(const char *v, char out[8])
{
    out[0] = '\0';
    char c[8];
    size_t n = 0;
    for (const char *p = v; *p && n < 6; p++)
        if (*p != '.')
            c[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    c[n] = '\0';
    if (n < 3 || n > 5 || strlen(v) > 7)
        return;
    char d[16];
    if (n == 3)
        snprintf(d, sizeof(d), "%s", c);
    else
        snprintf(d, sizeof(d), "%.3s.%s", c, c + 3);
    if (strlen(d) < 8 && zg_clinical_icd10_ok(d))
        memcpy(out, d, strlen(d) + 1);
}

static bool is_cancer_icd10(const char *icd)
{
    if (icd[0] == 'C')
        return true; /* C00–C97 malignant neoplasms */
    return icd[0] == 'D' && icd[1] == '0'; /* D00–D09 in situ */
}

/* A text value, or NULL when empty or too long for the model (2000 characters). */
static json_t *text_or_null(const char *s)
{
    if (!s || !*s || strlen(s) > 2000 * 4)
        return NULL;
    return json_string(s);
}

static json_t *obj_child(json_t *o, const char *k)
{
    json_t *c = json_object_get(o, k);
    if (!c) {
        c = json_object();
        json_object_set_new(o, k, c);
    }
    return c;
}

static json_t *arr_child(json_t *o, const char *k)
{
    json_t *c = json_object_get(o, k);
    if (!c) {
        c = json_array();
        json_object_set_new(o, k, c);
    }
    return c;
}

/* Item id from a prefix and an order/problem number: ≤ 64 characters. */
static json_t *item_id(const char *prefix, const char *num, size_t k)
{
    char id[65];
    if (num && *num)
        snprintf(id, sizeof(id), "%s-%.40s-%zu", prefix, num, k);
    else
        snprintf(id, sizeof(id), "%s-%zu", prefix, k);
    return json_string(id);
}

/* --- ADT: sex, birth year-month, death --------------------------------------------------- */
static void map_patient(const struct zg_hl7_msg *m, size_t pid, json_t *rec, int *unmapped)
{
    json_t *pat = json_object();
    const char *sex = zg_hl7_val(m, pid, 8, 1);
    const char *s = !strcmp(sex, "M")   ? "male"
                    : !strcmp(sex, "F") ? "female"
                    : !strcmp(sex, "O") ? "other"
                    : !strcmp(sex, "U") ? "unknown"
                                        : NULL;
    if (s)
        json_object_set_new(pat, "sex", json_string(s));
    char ym[8];
    if (!zg_gw_deid_birth(zg_hl7_val(m, pid, 7, 1), ym))
        json_object_set_new(pat, "birth_year_month", json_string(ym));
    if (json_object_size(pat))
        json_object_set_new(rec, "patient", pat);
    else
        json_decref(pat);
    if (!strcmp(zg_hl7_val(m, pid, 30, 1), "Y")) {
        json_t *course = obj_child(rec, "course");
        json_object_set_new(course, "vital_status", json_string("dead"));
        char d[11];
        hl7_date(zg_hl7_val(m, pid, 29, 1), d);
        if (d[0])
            json_object_set_new(course, "death_date", json_string(d));
    }
    /* vital signs, blood type and allergies of an ADT have no place in model 1.0 */
    for (size_t i = 0; i < zg_hl7_nsegments(m); i++) {
        const char *n = zg_hl7_segment_name(m, i);
        if (!strcmp(n, "OBX") || !strcmp(n, "AL1"))
            (*unmapped)++;
    }
}

/* --- PPR^ZD1: problems (PRB) → diagnosis (the main cancer) or comorbidities ---------------- */
static void map_problems(const struct zg_gw_mapping *map, const struct zg_hl7_msg *m, json_t *rec,
                         int *unmapped)
{
    size_t k = 0;
    for (long i = zg_hl7_find(m, "PRB", 0); i >= 0; i = zg_hl7_find(m, "PRB", (size_t)i + 1)) {
        size_t s = (size_t)i;
        k++;
        if (!strcmp(zg_hl7_val(m, s, 1, 1), "DE")) { /* deletions are not carried */
            (*unmapped)++;
            continue;
        }
        /* ICD-10: PRB-10 (SS-MIX2 puts it there, system I10) or PRB-3 when coded in I10 */
        char icd[8] = "";
        if (!strcmp(zg_hl7_val(m, s, 10, 3), "I10"))
            icd10_norm(zg_hl7_val(m, s, 10, 1), icd);
        if (!icd[0] && !strcmp(zg_hl7_val(m, s, 3, 3), "I10"))
            icd10_norm(zg_hl7_val(m, s, 3, 1), icd);
        if (!icd[0]) {
            (*unmapped)++; /* only a local or MEDIS code: no standard code to send */
            continue;
        }
        const char *name = zg_hl7_val(m, s, 3, 2);
        if (!*name)
            name = zg_hl7_val(m, s, 17, 0);
        char date[11];
        hl7_date(zg_hl7_val(m, s, 16, 1), date);
        if (!date[0])
            hl7_date(zg_hl7_val(m, s, 7, 1), date);
        bool main_dx = !strcmp(zg_hl7_val(m, s, 18, 1), "1");
        json_t *dx = json_object_get(rec, "diagnosis");
        if (is_cancer_icd10(icd) && (!dx || main_dx)) {
            dx = json_object();
            json_object_set_new(dx, "icd10", json_string(icd));
            const char *onc = zg_gw_mapping_oncotree(map, icd);
            if (onc)
                json_object_set_new(dx, "oncotree", json_string(onc));
            if (date[0])
                json_object_set_new(dx, "date", json_string(date));
            json_t *t = text_or_null(name);
            if (t)
                json_object_set_new(dx, "text", t);
            json_object_set_new(rec, "diagnosis", dx);
            continue;
        }
        json_t *item = json_object();
        json_object_set_new(item, "id", item_id("dx", zg_hl7_val(m, s, 4, 1), k));
        json_object_set_new(item, "icd10", json_string(icd));
        json_t *t = text_or_null(name);
        if (t)
            json_object_set_new(item, "text", t);
        json_array_append_new(arr_child(obj_child(rec, "background"), "comorbidities"), item);
    }
}

/* --- RDE^O11: prescriptions (ORC/RXE/TQ1) → drug therapies, for drugs the mapping lists --- */
static void map_prescriptions(const struct zg_gw_mapping *map, const struct zg_hl7_msg *m,
                              json_t *rec, int *unmapped)
{
    size_t nseg = zg_hl7_nsegments(m), k = 0;
    long orc = -1;
    for (size_t i = 0; i < nseg; i++) {
        const char *n = zg_hl7_segment_name(m, i);
        if (!strcmp(n, "ORC")) {
            orc = (long)i;
            continue;
        }
        if (strcmp(n, "RXE"))
            continue;
        k++;
        const char *code = zg_hl7_val(m, i, 2, 1), *local = zg_hl7_val(m, i, 2, 2),
                   *sys = zg_hl7_val(m, i, 2, 3);
        const json_t *std = zg_gw_mapping_drug(map, sys, code);
        if (!std) {
            (*unmapped)++;
            continue;
        }
        /* the timing (TQ1) that follows this RXE, before the next order */
        long tq1 = -1;
        for (size_t j = i + 1; j < nseg; j++) {
            const char *nj = zg_hl7_segment_name(m, j);
            if (!strcmp(nj, "RXE") || !strcmp(nj, "ORC"))
                break;
            if (!strcmp(nj, "TQ1")) {
                tq1 = (long)j;
                break;
            }
        }
        char start[11] = "", end[11] = "";
        if (tq1 >= 0)
            hl7_date(zg_hl7_val(m, (size_t)tq1, 7, 1), start);
        if (!start[0] && orc >= 0)
            hl7_date(zg_hl7_val(m, (size_t)orc, 9, 1), start);
        if (!start[0]) {
            (*unmapped)++; /* the model needs a start date */
            continue;
        }
        if (tq1 >= 0 && !strcmp(zg_hl7_val(m, (size_t)tq1, 6, 2), "d")) {
            long days = strtol(zg_hl7_val(m, (size_t)tq1, 6, 1), NULL, 10);
            if (days > 0)
                add_days(start, days - 1, end);
        }
        json_t *drug = json_deep_copy(std);
        json_t *t = text_or_null(local);
        if (t)
            json_object_set_new(drug, "text", t);
        json_t *item = json_object();
        json_object_set_new(item, "id",
                            item_id("rx", orc >= 0 ? zg_hl7_val(m, (size_t)orc, 2, 1) : "", k));
        json_object_set(item, "regimen", json_object_get(std, "name"));
        json_object_set_new(item, "drugs", json_pack("[o]", drug));
        json_object_set_new(item, "start_date", json_string(start));
        if (end[0])
            json_object_set_new(item, "end_date", json_string(end));
        if (tq1 >= 0) {
            json_t *how = text_or_null(zg_hl7_get(m, (size_t)tq1, 3, 0, 1, 2));
            if (how)
                json_object_set_new(item, "text", how);
        }
        json_array_append_new(arr_child(rec, "drug_therapies"), item);
    }
}

/* --- OUL/ORU results: the observations the model holds (ECOG, smoking) -------------------- */
static void map_results(const struct zg_hl7_msg *m, json_t *rec, int *unmapped)
{
    for (long i = zg_hl7_find(m, "OBX", 0); i >= 0; i = zg_hl7_find(m, "OBX", (size_t)i + 1)) {
        size_t s = (size_t)i;
        const char *code = zg_hl7_val(m, s, 3, 1), *sys = zg_hl7_val(m, s, 3, 3);
        bool loinc = !strcmp(sys, "LN") || !strcmp(sys, "LOINC");
        char date[11];
        hl7_date(zg_hl7_val(m, s, 14, 1), date);
        if (loinc && !strcmp(code, "89247-1")) { /* ECOG performance status */
            const char *v = zg_hl7_val(m, s, 5, 1);
            char *endp;
            long ps = strtol(v, &endp, 10);
            if (*v && !*endp && ps >= 0 && ps <= 4) {
                json_t *p = json_pack("{s:s,s:I}", "scale", "ECOG", "value", (json_int_t)ps);
                if (date[0])
                    json_object_set_new(p, "date", json_string(date));
                json_object_set_new(obj_child(rec, "diagnosis"), "performance_status", p);
                continue;
            }
        } else if (loinc && !strcmp(code, "72166-2")) { /* tobacco smoking status (SNOMED) */
            const char *v = zg_hl7_val(m, s, 5, 1);
            const char *st = !strcmp(v, "8517006")     ? "former"
                             : !strcmp(v, "266919005") ? "never"
                             : !strcmp(v, "77176002")  ? "current"
                             : !strcmp(v, "449868002") ? "current"
                             : !strcmp(v, "266927001") ? "unknown"
                                                       : NULL;
            if (st) {
                json_object_set_new(obj_child(rec, "background"), "smoking",
                                    json_pack("{s:s}", "status", st));
                continue;
            }
        }
        (*unmapped)++; /* laboratory values have no place in model 1.0 */
    }
}

void zg_gw_records_free(struct zg_gw_record *recs, size_t n)
{
    if (!recs)
        return;
    for (size_t i = 0; i < n; i++)
        json_decref(recs[i].record);
    free(recs);
}

static bool local_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

int zg_gw_convert_ssmix2(const struct zg_gw_mapping *map, const char *raw, size_t n,
                         struct zg_gw_record **recs, size_t *nrecs, const char **skip_reason,
                         struct zg_error *err)
{
    *recs = NULL;
    *nrecs = 0;
    *skip_reason = NULL;
    char *text = NULL;
    size_t tlen = 0;
    struct zg_arena *arena = NULL;
    json_t *rec = NULL;
    int rc = zg_hl7_decode(raw, n, &text, &tlen, err);
    if (rc)
        return rc;
    arena = zg_arena_new(tlen * 8 + (1u << 20));
    if (!arena) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    struct zg_hl7_msg *m;
    if ((rc = zg_hl7_parse(arena, text, tlen, &m, err)))
        goto out;
    const char *t1 = zg_hl7_val(m, 0, 9, 1), *t2 = zg_hl7_val(m, 0, 9, 2);
    const char *msgid = zg_hl7_val(m, 0, 10, 0);
    if (!*t1) {
        rc = zg_error_set(err, ZG_EINVAL, "MSH-9", "message type is missing");
        goto out;
    }
    if (!*msgid) {
        rc = zg_error_set(err, ZG_EINVAL, "MSH-10", "message control ID is missing");
        goto out;
    }
    enum { K_ADT, K_PPR, K_RDE, K_RES, K_NONE } kind = K_NONE;
    if (!strcmp(t1, "ADT"))
        kind = K_ADT;
    else if (!strcmp(t1, "PPR"))
        kind = K_PPR;
    else if (!strcmp(t1, "RDE") || !strcmp(t1, "OMP"))
        kind = K_RDE;
    else if (!strcmp(t1, "OUL") || !strcmp(t1, "ORU"))
        kind = K_RES;
    if (kind == K_NONE) {
        *skip_reason = "message type not carried by the gateway";
        goto out;
    }
    long pid = zg_hl7_find(m, "PID", 0);
    if (pid < 0) {
        rc = zg_error_set(err, ZG_EINVAL, "PID", "the message has no PID segment");
        goto out;
    }
    const char *local = zg_hl7_val(m, (size_t)pid, 3, 1);
    if (!*local)
        local = zg_hl7_val(m, (size_t)pid, 2, 1);
    if (!local_id_ok(local)) {
        rc = zg_error_set(err, ZG_EINVAL, "PID-3",
                          "patient ID must be 1–64 printable ASCII characters");
        goto out;
    }
    rec = json_object();
    int unmapped = 0;
    switch (kind) {
    case K_ADT: map_patient(m, (size_t)pid, rec, &unmapped); break;
    case K_PPR: map_problems(map, m, rec, &unmapped); break;
    case K_RDE: map_prescriptions(map, m, rec, &unmapped); break;
    case K_RES: map_results(m, rec, &unmapped); break;
    case K_NONE: break;
    }
    if (!json_object_size(rec)) {
        *skip_reason = kind == K_RDE ? "no drug of the message is in the mapping file's drug table"
                       : kind == K_RES ? "only laboratory values, which model 1.0 does not hold"
                       : kind == K_PPR ? "no problem with an ICD-10 code"
                                       : "no sex, birth date or death in the message";
        goto out;
    }
    struct zg_gw_idents ids = {0};
    zg_gw_idents_from_hl7(m, &ids);
    if (ids.overflow) {
        rc = zg_error_set(err, ZG_EINVAL, "PID",
                          "more than %zu patient identifiers (names, IDs, addresses, phones): "
                          "too many to de-identify safely",
                          ZG_ARRAY_LEN(ids.v));
        goto out;
    }
    if (zg_gw_deid_scrub(rec, &ids) < 0) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    json_t *errors = json_array();
    rc = zg_clinical_validate(rec, errors, err);
    json_decref(errors);
    if (rc)
        goto out; /* err names the pointer and why */
    struct zg_gw_record *r = calloc(1, sizeof(*r));
    if (!r) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    snprintf(r->kind, sizeof(r->kind), "%s",
             kind == K_ADT ? "patient" : kind == K_PPR ? "diagnosis"
             : kind == K_RDE ? "prescription" : "result");
    snprintf(r->local_id, sizeof(r->local_id), "%s", local);
    /* the key covers the message and what it became: a retry of the same conversion is the
     * same request; the same message converted differently (a corrected mapping file) is a
     * new one, which the merge applies over the earlier items (same item ids) */
    char *body = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    if (!body) {
        free(r);
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    unsigned char mh[ZG_SHA256_LEN * 2], kh[ZG_SHA256_LEN];
    zg_sha256(raw, n, mh);
    zg_sha256(body, strlen(body), mh + ZG_SHA256_LEN);
    free(body);
    zg_sha256(mh, sizeof(mh), kh);
    char h[ZG_SHA256_HEX];
    zg_hex_encode(kh, sizeof(kh), h);
    snprintf(r->idem_key, sizeof(r->idem_key), "ss2-%s", h);
    snprintf(r->source, sizeof(r->source), "%.20s^%.20s", t1, t2);
    snprintf(r->message_id, sizeof(r->message_id), "%.70s", msgid);
    r->unmapped = unmapped;
    r->record = rec;
    rec = NULL;
    *recs = r;
    *nrecs = 1;
out:
    json_decref(rec);
    zg_arena_free(arena);
    free(text);
    return rc;
}
