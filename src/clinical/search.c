/* Completeness (which required items a record holds), search by cancer type, stage, drug,
 * response and vital status, counts by group with small-cell suppression, and the timeline. */
#include "clinical.h"
#include "common/error.h"
#include "store/db.h"

/* The required items of a clinically complete record (docs/clinical-model.md). */
static const char *const required_items[] = {
    "/consent/status",         "/patient/sex",          "/patient/birth_year_month",
    "/specimens",              "/background/smoking/status", "/diagnosis/oncotree",
    "/diagnosis/icd10",        "/diagnosis/date",       "/diagnosis/tnm/stage",
    "/diagnosis/performance_status", "/drug_therapies", "/course/last_followup_date",
    "/course/vital_status",
};

/* A record's consent status as the bit of enum zg_consent (policy/policy.h): the filter that
 * the consent obligation of the policy decision point becomes in SQL (?1 = the allowed mask,
 * 0 = no restriction; r = clinical_records, v = its current version). */
#define CONSENT_JOIN " JOIN clinical_versions v ON v.case_id = r.case_id AND v.version = r.version"
#define CONSENT_OK_AT(p)                                                                      \
    " (" p " = 0 OR ((" p " >> (CASE json_extract(v.doc, '$.consent.status')"                \
    " WHEN 'consented' THEN 1 WHEN 'partially-consented' THEN 2 WHEN 'pending' THEN 3"        \
    " WHEN 'withdrawn' THEN 4 ELSE 0 END)) & 1) = 1)"
#define CONSENT_OK CONSENT_OK_AT("?1")

static json_t *at_pointer(json_t *r, const char *ptr)
{
    char tok[64];
    const char *p = ptr;
    json_t *x = r;
    while (x && *p == '/') {
        p++;
        size_t n = strcspn(p, "/");
        if (n >= sizeof(tok))
            return NULL;
        memcpy(tok, p, n);
        tok[n] = '\0';
        x = json_object_get(x, tok);
        p += n;
    }
    return x;
}

bool zg_clinical_is_complete(json_t *record)
{
    for (size_t i = 0; i < ZG_ARRAY_LEN(required_items); i++) {
        json_t *x = at_pointer(record, required_items[i]);
        if (!x || json_is_null(x) || (json_is_array(x) && !strcmp(required_items[i], "/specimens") &&
                                      json_array_size(x) == 0))
            return false;
    }
    const char *vital =
        json_string_value(json_object_get(json_object_get(record, "course"), "vital_status"));
    return !(vital && !strcmp(vital, "dead") && !at_pointer(record, "/course/death_date"));
}

json_t *zg_clinical_completeness(json_t *record)
{
    json_t *present = json_array(), *missing = json_array();
    for (size_t i = 0; i < ZG_ARRAY_LEN(required_items); i++) {
        json_t *x = at_pointer(record, required_items[i]);
        bool ok = x && !json_is_null(x);
        if (ok && !strcmp(required_items[i], "/specimens"))
            ok = json_array_size(x) > 0;
        json_array_append_new(ok ? present : missing, json_string(required_items[i]));
    }
    const char *vital =
        json_string_value(json_object_get(json_object_get(record, "course"), "vital_status"));
    if (vital && !strcmp(vital, "dead"))
        json_array_append_new(at_pointer(record, "/course/death_date") ? present : missing,
                              json_string("/course/death_date"));
    return json_pack("{s:b,s:o,s:o}", "complete", json_array_size(missing) == 0, "present",
                     present, "missing", missing);
}

json_t *zg_clinical_completeness_by_org(sqlite3 *db, int64_t org_scope, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "SELECT o.id, o.name, c.id, v.doc FROM cases c JOIN orgs o ON o.id = c.org_id"
        " LEFT JOIN clinical_records r ON r.case_id = c.id"
        " LEFT JOIN clinical_versions v ON v.case_id = r.case_id AND v.version = r.version"
        " WHERE (?1 = 0 OR c.org_id = ?1) ORDER BY o.id, c.id",
        err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, org_scope);
    json_t *orgs = json_array(), *cur = NULL;
    int64_t cur_id = -1;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t oid = sqlite3_column_int64(st, 0);
        if (oid != cur_id) {
            cur = json_pack("{s:{s:I,s:s},s:i,s:i,s:i,s:{}}", "org", "id", (json_int_t)oid,
                            "name", zg_db_text(st, 1), "cases", 0, "with_record", 0, "complete",
                            0, "missing_by_item");
            json_array_append_new(orgs, cur);
            cur_id = oid;
        }
        json_object_set_new(cur, "cases",
                            json_integer(json_integer_value(json_object_get(cur, "cases")) + 1));
        if (sqlite3_column_type(st, 3) == SQLITE_NULL)
            continue;
        json_t *doc = json_loads(zg_db_text(st, 3), 0, NULL);
        json_t *c = zg_clinical_completeness(doc);
        json_decref(doc);
        json_object_set_new(
            cur, "with_record",
            json_integer(json_integer_value(json_object_get(cur, "with_record")) + 1));
        if (json_is_true(json_object_get(c, "complete")))
            json_object_set_new(
                cur, "complete",
                json_integer(json_integer_value(json_object_get(cur, "complete")) + 1));
        json_t *mbi = json_object_get(cur, "missing_by_item");
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(c, "missing"), i, m)
        {
            const char *k = json_string_value(m);
            json_object_set_new(mbi, k,
                                json_integer(json_integer_value(json_object_get(mbi, k)) + 1));
        }
        json_decref(c);
    }
    zg_db_release(st);
    if (src != SQLITE_DONE) {
        json_decref(orgs);
        zg_db_fail(db, src, err);
        return NULL;
    }
    return json_pack("{s:o}", "orgs", orgs);
}

static json_t *terms_of(sqlite3 *db, const char *case_id, const char *kind, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db, "SELECT value FROM clinical_terms WHERE case_id=? AND kind=? ORDER BY value", err);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    json_t *a = json_array();
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(a, json_string(zg_db_text(st, 0)));
    zg_db_release(st);
    return a;
}

json_t *zg_clinical_search(sqlite3 *db, const struct zg_clinical_query *q, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "SELECT r.case_id, o.name, r.oncotree, r.stage, r.vital_status, r.complete, r.updated_at"
        " FROM clinical_records r JOIN cases c ON c.id = r.case_id JOIN orgs o ON o.id = c.org_id"
        CONSENT_JOIN " WHERE" CONSENT_OK_AT("?10") " AND (?1 IS NULL OR r.oncotree = ?1) AND (?2 IS NULL OR r.stage = ?2 OR"
        "  (length(?2) <= 4 AND r.stage LIKE ?2 || '%' AND substr(r.stage, length(?2) + 1, 1)"
        "   NOT IN ('I','V')))"
        " AND (?3 IS NULL OR r.vital_status = ?3) AND (?4 < 0 OR r.complete = ?4)"
        " AND (?5 = 0 OR c.org_id = ?5) AND r.case_id > ?6"
        " AND (?7 IS NULL OR EXISTS (SELECT 1 FROM clinical_terms t WHERE t.kind = 'drug'"
        "  AND t.value = lower(?7) AND t.case_id = r.case_id))"
        " AND (?8 IS NULL OR EXISTS (SELECT 1 FROM clinical_terms t WHERE t.kind = 'response'"
        "  AND t.value = ?8 AND t.case_id = r.case_id))"
        " ORDER BY r.case_id LIMIT ?9",
        err);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, q->oncotree, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, q->stage, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, q->vital_status, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, q->complete);
    sqlite3_bind_int64(st, 5, q->org_scope);
    sqlite3_bind_text(st, 6, q->after ? q->after : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, q->drug, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, q->response, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, q->limit + 1);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)q->consent_mask);
    json_t *cases = json_array();
    int src, n = 0;
    char last[32] = "";
    bool more = false;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == q->limit) {
            more = true;
            break;
        }
        const char *onc = sqlite3_column_type(st, 2) == SQLITE_NULL ? NULL : zg_db_text(st, 2);
        const char *name = NULL;
        if (onc)
            zg_oncotree_lookup(onc, &name, NULL);
        json_t *c = json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:b,s:I}", "case_id",
                              zg_db_text(st, 0), "org", zg_db_text(st, 1), "oncotree", onc,
                              "cancer_type", name,
                              "stage",
                              sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL : zg_db_text(st, 3),
                              "vital_status",
                              sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : zg_db_text(st, 4),
                              "complete", sqlite3_column_int(st, 5) != 0, "updated_at",
                              (json_int_t)sqlite3_column_int64(st, 6));
        snprintf(last, sizeof(last), "%s", zg_db_text(st, 0));
        json_array_append_new(cases, c);
        n++;
    }
    zg_db_release(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        json_decref(cases);
        zg_db_fail(db, src, err);
        return NULL;
    }
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "case_id"));
        json_t *d = terms_of(db, id, "drug", err), *r = terms_of(db, id, "response", err);
        json_object_set_new(c, "drugs", d ? d : json_array());
        json_object_set_new(c, "responses", r ? r : json_array());
    }
    return json_pack("{s:o,s:o}", "cases", cases, "next_after",
                     more ? json_string(last) : json_null());
}


json_t *zg_clinical_counts(sqlite3 *db, const char *by, int k_min, uint32_t consent_mask,
                           struct zg_error *err)
{
    const char *sql;
    if (!strcmp(by, "oncotree"))
        sql = "SELECT r.oncotree, count(*) FROM clinical_records r" CONSENT_JOIN
              " WHERE r.oncotree IS NOT NULL AND" CONSENT_OK " GROUP BY r.oncotree ORDER BY 2 DESC, 1";
    else if (!strcmp(by, "stage"))
        sql = "SELECT r.stage, count(*) FROM clinical_records r" CONSENT_JOIN
              " WHERE r.stage IS NOT NULL AND" CONSENT_OK " GROUP BY r.stage ORDER BY 1";
    else if (!strcmp(by, "vital_status"))
        sql = "SELECT r.vital_status, count(*) FROM clinical_records r" CONSENT_JOIN
              " WHERE r.vital_status IS NOT NULL AND" CONSENT_OK
              " GROUP BY r.vital_status ORDER BY 1";
    else if (!strcmp(by, "response"))
        sql = "SELECT t.value, count(DISTINCT t.case_id) FROM clinical_terms t"
              " JOIN clinical_records r ON r.case_id = t.case_id" CONSENT_JOIN
              " WHERE t.kind = 'response' AND" CONSENT_OK " GROUP BY t.value ORDER BY 1";
    else if (!strcmp(by, "drug"))
        sql = "SELECT t.value, count(DISTINCT t.case_id) FROM clinical_terms t"
              " JOIN clinical_records r ON r.case_id = t.case_id" CONSENT_JOIN
              " WHERE t.kind = 'drug' AND" CONSENT_OK " GROUP BY t.value ORDER BY 2 DESC, 1";
    else {
        zg_error_set(err, ZG_EINVAL, "by",
                     "must be one of: oncotree, stage, vital_status, response, drug");
        return NULL;
    }
    sqlite3_stmt *st = zg_db_prepare(db, sql, err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)consent_mask);
    json_t *counts = json_array();
    int64_t total = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(st, 1);
        total += n;
        json_t *row = json_pack("{s:s}", "value", zg_db_text(st, 0));
        if (!strcmp(by, "oncotree")) {
            const char *name = NULL;
            if (zg_oncotree_lookup(zg_db_text(st, 0), &name, NULL))
                json_object_set_new(row, "label", json_string(name));
        }
        if (k_min > 0 && n < k_min) {
            char s[16];
            snprintf(s, sizeof(s), "<%d", k_min);
            json_object_set_new(row, "n", json_string(s));
        } else {
            json_object_set_new(row, "n", json_integer(n));
        }
        json_array_append_new(counts, row);
    }
    zg_db_release(st);
    if (src != SQLITE_DONE) {
        json_decref(counts);
        zg_db_fail(db, src, err);
        return NULL;
    }
    json_t *out = json_pack("{s:s,s:o}", "by", by, "counts", counts);
    if (consent_mask) {
        json_t *st2 = json_array();
        static const char *const names[] = {"unrecorded", "consented", "partially-consented",
                                            "pending", "withdrawn"};
        for (unsigned b = 0; b < 5; b++)
            if (consent_mask & (1u << b))
                json_array_append_new(st2, json_string(names[b]));
        json_object_set_new(out, "restricted_to_consent", st2);
    }
    if (k_min > 0)
        json_object_set_new(out, "suppressed_below", json_integer(k_min));
    if (k_min <= 0 || total >= k_min)
        json_object_set_new(out, "total", json_integer(total));
    return out;
}

static void event(json_t *ev, const char *date, const char *kind, const char *summary,
                  const char *ptr)
{
    if (!date)
        return;
    json_array_append_new(ev, json_pack("{s:s,s:s,s:s,s:s}", "date", date, "kind", kind,
                                        "summary", summary ? summary : "", "pointer", ptr));
}

struct ev_slot {
    json_t *ev;
    size_t pos;
};

/* By date, then by the order events were added (qsort is not stable). */
static int by_date(const void *a, const void *b)
{
    const struct ev_slot *x = a, *y = b;
    int c = strcmp(json_string_value(json_object_get(x->ev, "date")),
                   json_string_value(json_object_get(y->ev, "date")));
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

json_t *zg_clinical_timeline(json_t *stored)
{
    json_t *r = json_object_get(stored, "record");
    json_t *ev = json_array();
    char ptr[96], sum[400];
    json_t *dx = json_object_get(r, "diagnosis");
    const char *name = NULL;
    const char *onc = json_string_value(json_object_get(dx, "oncotree"));
    if (onc)
        zg_oncotree_lookup(onc, &name, NULL);
    snprintf(sum, sizeof(sum), "%s%s%s%s%s", onc ? onc : "", name ? " " : "", name ? name : "",
             json_object_get(json_object_get(dx, "tnm"), "stage") ? ", stage " : "",
             json_string_value(json_object_get(json_object_get(dx, "tnm"), "stage"))
                 ? json_string_value(json_object_get(json_object_get(dx, "tnm"), "stage"))
                 : "");
    event(ev, json_string_value(json_object_get(dx, "date")), "diagnosis", sum, "/diagnosis");
    json_t *c = json_object_get(r, "consent");
    event(ev, json_string_value(json_object_get(c, "date")), "consent",
          json_string_value(json_object_get(c, "status")), "/consent");
    size_t i, j;
    json_t *x, *d;
    json_array_foreach(json_object_get(r, "specimens"), i, x)
    {
        snprintf(ptr, sizeof(ptr), "/specimens/%zu", i);
        event(ev, json_string_value(json_object_get(x, "collection_date")), "specimen",
              json_string_value(json_object_get(x, "type")), ptr);
    }
    json_array_foreach(json_object_get(r, "drug_therapies"), i, x)
    {
        size_t o = 0;
        json_int_t line = json_integer_value(json_object_get(x, "line"));
        o += (size_t)snprintf(sum, sizeof(sum), line ? "line %lld: " : "", (long long)line);
        json_array_foreach(json_object_get(x, "drugs"), j, d)
        {
            if (o < sizeof(sum))
                o += (size_t)snprintf(sum + o, sizeof(sum) - o, "%s%s", j ? " + " : "",
                                      json_string_value(json_object_get(d, "name")));
        }
        const char *br = json_string_value(json_object_get(x, "best_response"));
        if (br && o < sizeof(sum))
            snprintf(sum + o, sizeof(sum) - o, " (best response %s)", br);
        snprintf(ptr, sizeof(ptr), "/drug_therapies/%zu", i);
        event(ev, json_string_value(json_object_get(x, "start_date")), "drug-start", sum, ptr);
        const char *stop = json_string_value(json_object_get(x, "stop_reason"));
        event(ev, json_string_value(json_object_get(x, "end_date")), "drug-end", stop, ptr);
    }
    json_array_foreach(json_object_get(r, "surgeries"), i, x)
    {
        snprintf(ptr, sizeof(ptr), "/surgeries/%zu", i);
        json_t *p = json_object_get(x, "procedure");
        const char *t = json_string_value(json_object_get(p, "text"));
        event(ev, json_string_value(json_object_get(x, "date")), "surgery",
              t ? t : json_string_value(json_object_get(p, "code")), ptr);
    }
    json_array_foreach(json_object_get(r, "radiotherapies"), i, x)
    {
        snprintf(ptr, sizeof(ptr), "/radiotherapies/%zu", i);
        snprintf(sum, sizeof(sum), "%s %g Gy",
                 json_string_value(json_object_get(json_object_get(x, "site"),
                                                   "icdo3_topography")),
                 json_number_value(json_object_get(x, "dose_gy")));
        event(ev, json_string_value(json_object_get(x, "start_date")), "radiotherapy", sum, ptr);
    }
    json_array_foreach(json_object_get(r, "adverse_events"), i, x)
    {
        snprintf(ptr, sizeof(ptr), "/adverse_events/%zu", i);
        snprintf(sum, sizeof(sum), "%s (grade %lld)",
                 json_string_value(json_object_get(x, "term")),
                 (long long)json_integer_value(json_object_get(x, "grade")));
        event(ev, json_string_value(json_object_get(x, "date")), "adverse-event", sum, ptr);
    }
    json_array_foreach(json_object_get(r, "expert_panel"), i, x)
    {
        snprintf(ptr, sizeof(ptr), "/expert_panel/%zu", i);
        size_t o = (size_t)snprintf(sum, sizeof(sum), "%s", "");
        json_array_foreach(json_object_get(x, "recommendations"), j, d)
        {
            if (o < sizeof(sum))
                o += (size_t)snprintf(sum + o, sizeof(sum) - o, "%s%s", j ? "; " : "",
                                      json_string_value(json_object_get(d, "treatment")));
        }
        event(ev, json_string_value(json_object_get(x, "date")), "expert-panel", sum, ptr);
    }
    json_t *co = json_object_get(r, "course");
    event(ev, json_string_value(json_object_get(co, "recurrence_date")), "recurrence", "",
          "/course/recurrence_date");
    event(ev, json_string_value(json_object_get(co, "progression_date")), "progression", "",
          "/course/progression_date");
    event(ev, json_string_value(json_object_get(co, "last_followup_date")), "last-follow-up",
          json_string_value(json_object_get(co, "vital_status")), "/course/last_followup_date");
    event(ev, json_string_value(json_object_get(co, "death_date")), "death",
          json_string_value(json_object_get(co, "death_cause")), "/course/death_date");
    size_t n = json_array_size(ev);
    struct ev_slot *v = n ? calloc(n, sizeof(*v)) : NULL;
    json_t *sorted = json_array();
    if (v) {
        for (i = 0; i < n; i++)
            v[i] = (struct ev_slot){json_array_get(ev, i), i};
        qsort(v, n, sizeof(*v), by_date);
        for (i = 0; i < n; i++)
            json_array_append(sorted, v[i].ev);
        free(v);
    }
    json_decref(ev);
    return json_pack("{s:O,s:o}", "case_id", json_object_get(stored, "case_id"), "events",
                     sorted);
}
