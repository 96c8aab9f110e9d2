/* Storage of clinical records: replace/merge pushes with validation, optimistic concurrency
 * (etags), idempotency keys, append-only version history, search columns and rejections. */
#include "clinical.h"
#include "common/clock.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "ids/ids.h"
#include "store/db.h"

static int scope_check(sqlite3 *db, const char *case_id, int64_t scope, struct zg_error *err)
{
    int64_t org = 0;
    int rc = zg_case_org(db, case_id, &org, err);
    if (rc == ZG_ENOTFOUND || (rc == 0 && scope > 0 && org != scope))
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such case");
    return rc;
}

/* Canonical text of a JSON value (sorted keys, compact): malloc'd or NULL. */
static char *canonical(json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* Accepts an etag with or without quotes and a W/ prefix. */
static bool etag_matches(const char *given, const char *stored)
{
    if (!strncmp(given, "W/", 2))
        given += 2;
    size_t n = strlen(given);
    if (n >= 2 && given[0] == '"' && given[n - 1] == '"')
        return n - 2 == strlen(stored) && !strncmp(given + 1, stored, n - 2);
    return !strcmp(given, stored);
}

static int replace_terms(sqlite3 *db, const char *case_id, json_t *rec, bool had,
                         struct zg_error *err)
{
    int src;
    if (had) {
        sqlite3_stmt *del = zg_db_prepare(db, "DELETE FROM clinical_terms WHERE case_id=?", err);
        if (!del)
            return ZG_EIO;
        sqlite3_bind_text(del, 1, case_id, -1, SQLITE_STATIC);
        src = sqlite3_step(del);
        zg_db_release(del);
        if (src != SQLITE_DONE)
            return zg_db_fail(db, src, err);
    }
    sqlite3_stmt *ins = zg_db_prepare(
        db, "INSERT OR IGNORE INTO clinical_terms(kind, value, case_id) VALUES(?,?,?)", err);
    if (!ins)
        return ZG_EIO;
    int rc = 0;
    size_t i, j;
    json_t *t, *d;
    json_array_foreach(json_object_get(rec, "drug_therapies"), i, t)
    {
        const char *resp = json_string_value(json_object_get(t, "best_response"));
        for (int pass = 0; pass < 2 && !rc; pass++) {
            json_t *drugs = json_object_get(t, "drugs");
            size_t n = pass == 0 ? json_array_size(drugs) : (resp ? 1 : 0);
            for (j = 0; j < n && !rc; j++) {
                d = json_array_get(drugs, j);
                const char *v = resp;
                if (pass == 0) {
                    v = json_string_value(json_object_get(d, "name"));
                    if (!v)
                        v = json_string_value(json_object_get(d, "atc"));
                    if (!v)
                        v = json_string_value(json_object_get(d, "hot9"));
                    if (!v)
                        v = json_string_value(json_object_get(d, "yj"));
                }
                if (!v)
                    continue;
                sqlite3_bind_text(ins, 1, pass == 0 ? "drug" : "response", -1, SQLITE_STATIC);
                sqlite3_bind_text(ins, 2, v, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(ins, 3, case_id, -1, SQLITE_STATIC);
                src = sqlite3_step(ins);
                sqlite3_reset(ins);
                if (src != SQLITE_DONE)
                    rc = zg_db_fail(db, src, err);
            }
        }
        if (rc)
            break;
    }
    zg_db_release(ins);
    return rc;
}

/* Prefixes every pointer appended to errors since index `from` with prefix. */
static void prefix_errors(json_t *errors, size_t from, const char *prefix)
{
    for (size_t i = from; i < json_array_size(errors); i++) {
        json_t *e = json_array_get(errors, i);
        char p[600];
        snprintf(p, sizeof(p), "%s%s", prefix, json_string_value(json_object_get(e, "pointer")));
        json_object_set_new(e, "pointer", json_string(p));
    }
}

/* Rewrites err->field of a failed entry i as a pointer into the bundle. */
static void entry_field(struct zg_error *err, size_t i)
{
    char f[128];
    if (err->field[0] == '/')
        snprintf(f, sizeof(f), "/entries/%zu/record%.90s", i, err->field);
    else if (!strcmp(err->field, "id") || !strcmp(err->field, "case_id"))
        snprintf(f, sizeof(f), "/entries/%zu/case_id", i);
    else if (!strcmp(err->field, "if-match"))
        snprintf(f, sizeof(f), "/entries/%zu/if_match", i);
    else
        snprintf(f, sizeof(f), "/entries/%zu", i);
    snprintf(err->field, sizeof(err->field), "%s", f);
}

#define IDEO_SPACE "\xE3\x80\x80" /* U+3000 IDEOGRAPHIC SPACE */

static bool has_ideo_space(json_t *j)
{
    size_t i;
    const char *k;
    json_t *v;
    switch (json_typeof(j)) {
    case JSON_STRING: return strstr(json_string_value(j), IDEO_SPACE) != NULL;
    case JSON_ARRAY:
        json_array_foreach(j, i, v) if (has_ideo_space(v)) return true;
        return false;
    case JSON_OBJECT:
        json_object_foreach(j, k, v) if (has_ideo_space(v)) return true;
        return false;
    default: return false;
    }
}

/* Replaces U+3000 by U+0020 in every string of j (in place; j must be exclusively owned). */
static void fold_ideo_space(json_t *j)
{
    size_t i;
    const char *k;
    json_t *v;
    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if (json_is_string(v) && strstr(json_string_value(v), IDEO_SPACE)) {
                char *s = strdup(json_string_value(v));
                if (!s)
                    continue;
                size_t o = 0;
                for (size_t r = 0; s[r];)
                    if (!strncmp(s + r, IDEO_SPACE, 3)) {
                        s[o++] = ' ';
                        r += 3;
                    } else {
                        s[o++] = s[r++];
                    }
                s[o] = '\0';
                json_array_set_new(j, i, json_string(s));
                free(s);
            } else {
                fold_ideo_space(v);
            }
        }
    } else if (json_is_object(j)) {
        json_object_foreach(j, k, v)
        {
            if (json_is_string(v) && strstr(json_string_value(v), IDEO_SPACE)) {
                json_t *tmp = json_pack("[O]", v);
                fold_ideo_space(tmp);
                json_object_set(j, k, json_array_get(tmp, 0));
                json_decref(tmp);
            } else {
                fold_ideo_space(v);
            }
        }
    }
}

int zg_clinical_put(sqlite3 *db, const struct zg_clinical_actor *who,
                    const struct zg_clinical_push *p, struct zg_clinical_result *res,
                    json_t *errors, struct zg_error *err)
{
    memset(res, 0, sizeof(*res));
    if (!p->source_system || !*p->source_system || strlen(p->source_system) > 64)
        return zg_error_set(err, ZG_EINVAL, "source-system",
                            "the source system is required (1-64 characters)");
    if (p->source_message_id && strlen(p->source_message_id) > 128)
        return zg_error_set(err, ZG_EINVAL, "source-message-id", "must be at most 128 characters");
    enum zg_id_kind kind;
    char cid[ZG_ID_LEN];
    if (zg_id_parse(p->case_id, &kind, cid, err) || kind != ZG_ID_CASE)
        return zg_error_set(err, ZG_EINVAL, "case_id", "is not a valid case ID (ZGC-…)");
    if (!json_is_object(p->record))
        return zg_error_set(err, ZG_EINVAL, "", "the record must be a JSON object");
    const char *rc_id = json_string_value(json_object_get(p->record, "case_id"));
    if (rc_id) {
        char c2[ZG_ID_LEN];
        struct zg_error e2;
        if (zg_id_parse(rc_id, &kind, c2, &e2) || strcmp(c2, cid))
            return zg_error_set(err, ZG_EINVAL, "/case_id", "does not match the case addressed");
    }
    /* the case, its organisation and the current version, in one lookup */
    int64_t version = 0, org = 0;
    char etag[48] = "";
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "SELECT c.org_id, r.version, r.etag FROM cases c"
                                     " LEFT JOIN clinical_records r ON r.case_id = c.id"
                                     " WHERE c.id = ?",
                                     err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        org = sqlite3_column_int64(st, 0);
        version = sqlite3_column_int64(st, 1);
        snprintf(etag, sizeof(etag), "%s", zg_db_text(st, 2));
    }
    zg_db_release(st);
    if (src == SQLITE_DONE || (src == SQLITE_ROW && who->org_scope > 0 && org != who->org_scope))
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such case");
    if (src != SQLITE_ROW)
        return zg_db_fail(db, src, err);
    int rc = 0;
    char *olddoc = NULL;
    if (p->merge && version > 0) {
        st = zg_db_prepare(db, "SELECT doc FROM clinical_versions WHERE case_id=? AND version=?",
                           err);
        if (!st)
            return ZG_EIO;
        sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, version);
        src = sqlite3_step(st);
        if (src == SQLITE_ROW)
            olddoc = strdup(zg_db_text(st, 0));
        zg_db_release(st);
        if (src != SQLITE_ROW)
            return src == SQLITE_DONE ? zg_error_set(err, ZG_ECORRUPT, "", "current version missing")
                                      : zg_db_fail(db, src, err);
        if (!olddoc)
            return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }

    json_t *rec = NULL;
    char *doc = NULL;
    if (p->if_match) {
        if (!strcmp(p->if_match, "*") ? version == 0 : (version == 0 || !etag_matches(p->if_match, etag))) {
            rc = zg_error_set(err, ZG_ECONFLICT, "if-match",
                              version ? "the record was changed since you read it (current etag "
                                        "%s); read it again and retry"
                                      : "there is no record yet%s",
                              version ? etag : "");
            goto out;
        }
    }
    if (p->merge) {
        json_t *old = olddoc ? json_loads(olddoc, 0, NULL) : json_object();
        rec = old ? zg_clinical_merge(old, p->record) : NULL;
        json_decref(old);
    } else {
        rec = json_copy(p->record); /* shallow: only top-level members are set below */
    }
    if (!rec) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    /* the one normalisation: U+3000 (ideographic space) is stored as U+0020, because the
     * official FHIR R4 JSON Schema refuses it in every string (docs/clinical-fhir.md) */
    if (has_ideo_space(rec)) {
        json_t *deep = json_deep_copy(rec);
        json_decref(rec);
        rec = deep;
        if (!rec) {
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            goto out;
        }
        fold_ideo_space(rec);
    }
    json_object_set_new(rec, "case_id", json_string(cid));
    json_object_set_new(rec, "model_version", json_string(ZG_CLINICAL_MODEL_VERSION));
    if ((rc = zg_clinical_validate(rec, errors, err)))
        goto out;
    doc = canonical(rec);
    if (!doc) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    snprintf(res->case_id, sizeof(res->case_id), "%s", cid);
    /* the etag ends in the document's hash: an identical document makes no new version */
    char hex[ZG_SHA256_HEX];
    zg_sha256_hex(doc, strlen(doc), hex);
    const char *dash = strchr(etag, '-');
    if (version > 0 && dash && !strncmp(dash + 1, hex, 16) && strlen(dash + 1) == 16) {
        res->version = version;
        snprintf(res->etag, sizeof(res->etag), "%s", etag);
        res->unchanged = true;
        goto out;
    }
    int64_t now = zg_clock_now();
    res->version = version + 1;
    res->created = version == 0;
    snprintf(res->etag, sizeof(res->etag), "v%lld-%.16s", (long long)res->version, hex);
    bool complete = zg_clinical_is_complete(rec);
    json_t *dx = json_object_get(rec, "diagnosis");
    st = zg_db_prepare(db,
                       "INSERT INTO clinical_records(case_id, version, etag, updated_at,"
                       " updated_by, source_system, oncotree, stage, vital_status, complete)"
                       " VALUES(?1,?2,?3,?5,?6,?7,?8,?9,?10,?11)"
                       " ON CONFLICT(case_id) DO UPDATE SET version=?2, etag=?3,"
                       " updated_at=?5, updated_by=?6, source_system=?7, oncotree=?8, stage=?9,"
                       " vital_status=?10, complete=?11",
                       err);
    if (!st) {
        rc = ZG_EIO;
        goto out;
    }
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, res->version);
    sqlite3_bind_text(st, 3, res->etag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    if (who->user_id)
        sqlite3_bind_int64(st, 6, who->user_id);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_text(st, 7, p->source_system, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, json_string_value(json_object_get(dx, "oncotree")), -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 9,
                      json_string_value(json_object_get(json_object_get(dx, "tnm"), "stage")), -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 10,
                      json_string_value(json_object_get(json_object_get(rec, "course"),
                                                        "vital_status")),
                      -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 11, complete);
    src = sqlite3_step(st);
    zg_db_release(st);
    if (src != SQLITE_DONE) {
        rc = zg_db_fail(db, src, err);
        goto out;
    }
    st = zg_db_prepare(db,
                       "INSERT INTO clinical_versions(case_id, version, etag, doc, created_at,"
                       " user_id, login, source_system, source_message_id)"
                       " VALUES(?,?,?,?,?,?,?,?,?)",
                       err);
    if (!st) {
        rc = ZG_EIO;
        goto out;
    }
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, res->version);
    sqlite3_bind_text(st, 3, res->etag, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, doc, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    if (who->user_id)
        sqlite3_bind_int64(st, 6, who->user_id);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_text(st, 7, who->login ? who->login : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, p->source_system, -1, SQLITE_STATIC);
    if (p->source_message_id)
        sqlite3_bind_text(st, 9, p->source_message_id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 9);
    src = sqlite3_step(st);
    zg_db_release(st);
    if (src != SQLITE_DONE) {
        rc = zg_db_fail(db, src, err);
        goto out;
    }
    rc = replace_terms(db, cid, rec, version > 0, err);
out:
    free(olddoc);
    free(doc);
    json_decref(rec);
    return rc;
}

static json_t *result_json(const struct zg_clinical_result *r)
{
    return json_pack("{s:s,s:I,s:s,s:b,s:b}", "case_id", r->case_id, "version",
                     (json_int_t)r->version, "etag", r->etag, "created", r->created,
                     "unchanged", r->unchanged);
}

/* Looks up an idempotency key: 0 (not used yet), 1 (replay; *stored set, malloc'd) or an
 * error (ZG_ECONFLICT when used for another request). */
static int idem_lookup(sqlite3 *db, int64_t org, const char *key, const char *hash, char **stored,
                       struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db, "SELECT request_hash, response FROM clinical_idempotency WHERE org_id=? AND key=?",
        err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW) {
        if (strcmp(zg_db_text(st, 0), hash))
            rc = zg_error_set(err, ZG_ECONFLICT, "idempotency-key",
                              "this key was already used for a different request; use a new key "
                              "for new data");
        else if (!(*stored = strdup(zg_db_text(st, 1))))
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        else
            rc = 1;
    } else if (src != SQLITE_DONE) {
        rc = zg_db_fail(db, src, err);
    }
    zg_db_release(st);
    return rc;
}

#define IDEM_RETENTION_S (30 * 86400) /* keys are remembered for 30 days */
#define REJECTIONS_KEPT 10000          /* per organisation */

static int idem_store(sqlite3 *db, int64_t org, const char *key, const char *hash, json_t *resp,
                      struct zg_error *err)
{
    /* forget keys past their retention (indexed; usually deletes nothing) */
    sqlite3_stmt *old = zg_db_prepare(db, "DELETE FROM clinical_idempotency WHERE created_at < ?",
                                      err);
    if (!old)
        return ZG_EIO;
    sqlite3_bind_int64(old, 1, zg_clock_now() - IDEM_RETENTION_S);
    int orc = sqlite3_step(old);
    zg_db_release(old);
    if (orc != SQLITE_DONE)
        return zg_db_fail(db, orc, err);
    char *text = canonical(resp);
    if (!text)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "INSERT INTO clinical_idempotency(org_id, key, request_hash,"
                                     " response, created_at) VALUES(?,?,?,?,?)",
                                     err);
    int rc = 0;
    if (!st) {
        free(text);
        return ZG_EIO;
    }
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, zg_clock_now());
    int src = sqlite3_step(st);
    zg_db_release(st);
    free(text);
    if (src != SQLITE_DONE)
        rc = zg_db_fail(db, src, err);
    return rc;
}

static int key_ok(const char *key, struct zg_error *err)
{
    size_t n = strlen(key);
    if (n == 0 || n > 128)
        return zg_error_set(err, ZG_EINVAL, "idempotency-key", "must be 1-128 characters");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e)
            return zg_error_set(err, ZG_EINVAL, "idempotency-key",
                                "must be printable ASCII without spaces");
    return 0;
}

/* Records a rejected push (pointers and reasons only; never values) outside any transaction. */
static void record_rejection(sqlite3 *db, const struct zg_clinical_actor *who, const char *case_id,
                             const char *source_system, const char *msg_id, json_t *errors,
                             const struct zg_error *first)
{
    json_t *list = json_array_size(errors) ? json_incref(errors)
                                           : json_pack("[{s:s,s:s}]", "pointer", first->field,
                                                       "reason", first->reason);
    char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    struct zg_error e2;
    sqlite3_stmt *st = text ? zg_db_prepare(db,
                                            "INSERT INTO clinical_rejections(org_id, case_id,"
                                            " created_at, login, source_system,"
                                            " source_message_id, errors) VALUES(?,?,?,?,?,?,?)",
                                            &e2)
                            : NULL;
    if (st) {
        sqlite3_bind_int64(st, 1, who->org_id);
        sqlite3_bind_text(st, 2, case_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, zg_clock_now());
        sqlite3_bind_text(st, 4, who->login ? who->login : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, source_system, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, msg_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, text, -1, SQLITE_STATIC);
        (void)sqlite3_step(st);
        zg_db_release(st);
        /* keep the newest REJECTIONS_KEPT of the organisation */
        st = zg_db_prepare(db,
                           "DELETE FROM clinical_rejections WHERE org_id = ?1 AND id <= (SELECT id"
                           " FROM clinical_rejections WHERE org_id = ?1 ORDER BY id DESC"
                           " LIMIT 1 OFFSET ?2)",
                           &e2);
        if (st) {
            sqlite3_bind_int64(st, 1, who->org_id);
            sqlite3_bind_int(st, 2, REJECTIONS_KEPT);
            (void)sqlite3_step(st);
            zg_db_release(st);
        }
    }
    free(text);
}

int zg_clinical_push_one(sqlite3 *db, const struct zg_clinical_actor *who,
                         const struct zg_clinical_push *p, const char *idempotency_key,
                         struct zg_clinical_result *res, bool *replayed, json_t *errors,
                         struct zg_error *err)
{
    *replayed = false;
    char hash[ZG_SHA256_HEX] = "";
    int rc;
    if (idempotency_key) {
        if ((rc = key_ok(idempotency_key, err)))
            return rc;
        json_t *req = json_pack("{s:s?,s:b,s:s?,s:O}", "case_id", p->case_id, "merge", p->merge,
                                "if_match", p->if_match, "record", p->record);
        char *text = req ? canonical(req) : NULL;
        json_decref(req);
        if (!text)
            return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        zg_sha256_hex(text, strlen(text), hash);
        free(text);
    }
    if ((rc = zg_db_begin(db, err)))
        return rc;
    if (idempotency_key) {
        char *stored = NULL;
        rc = idem_lookup(db, who->org_id, idempotency_key, hash, &stored, err);
        if (rc == 1) {
            zg_db_rollback(db);
            json_t *j = json_loads(stored, 0, NULL);
            free(stored);
            memset(res, 0, sizeof(*res));
            snprintf(res->case_id, sizeof(res->case_id), "%s",
                     json_string_value(json_object_get(j, "case_id")));
            snprintf(res->etag, sizeof(res->etag), "%s",
                     json_string_value(json_object_get(j, "etag")));
            res->version = json_integer_value(json_object_get(j, "version"));
            res->created = json_is_true(json_object_get(j, "created"));
            res->unchanged = json_is_true(json_object_get(j, "unchanged"));
            json_decref(j);
            *replayed = true;
            return 0;
        }
        if (rc)
            goto fail;
    }
    if ((rc = zg_clinical_put(db, who, p, res, errors, err)))
        goto fail;
    if (idempotency_key) {
        json_t *rj = result_json(res);
        rc = idem_store(db, who->org_id, idempotency_key, hash, rj, err);
        json_decref(rj);
        if (rc)
            goto fail;
    }
    return zg_db_commit(db, err);
fail:
    zg_db_rollback(db);
    if (rc == ZG_EINVAL)
        record_rejection(db, who, p->case_id, p->source_system, p->source_message_id, errors, err);
    return rc;
}

int zg_clinical_push_bundle(sqlite3 *db, const struct zg_clinical_actor *who, json_t *bundle,
                            json_t **results, bool *replayed, json_t *errors,
                            struct zg_error *err)
{
    *results = NULL;
    *replayed = false;
    if (!json_is_object(bundle))
        return zg_error_set(err, ZG_EINVAL, "", "the bundle must be a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach(bundle, k, v)
    {
        if (strcmp(k, "idempotency_key") && strcmp(k, "source_system") && strcmp(k, "entries")) {
            char ptr[128];
            snprintf(ptr, sizeof(ptr), "/%.100s", k);
            return zg_error_set(err, ZG_EINVAL, ptr, "is not a known field");
        }
    }
    json_t *jkey = json_object_get(bundle, "idempotency_key");
    json_t *jsrc = json_object_get(bundle, "source_system");
    json_t *entries = json_object_get(bundle, "entries");
    if (jkey && !json_is_string(jkey))
        return zg_error_set(err, ZG_EINVAL, "/idempotency_key", "must be a string");
    if (!json_is_string(jsrc) || !json_string_length(jsrc) || json_string_length(jsrc) > 64)
        return zg_error_set(err, ZG_EINVAL, "/source_system",
                            "is required: a string of 1-64 characters naming the sending system");
    if (!json_is_array(entries) || json_array_size(entries) == 0)
        return zg_error_set(err, ZG_EINVAL, "/entries", "must be a non-empty array");
    if (json_array_size(entries) > ZG_CLINICAL_MAX_ENTRIES)
        return zg_error_set(err, ZG_ETOOBIG, "/entries", "must have at most %d entries",
                            ZG_CLINICAL_MAX_ENTRIES);
    const char *key = json_string_value(jkey);
    int rc;
    char hash[ZG_SHA256_HEX] = "";
    if (key) {
        if ((rc = key_ok(key, err))) {
            snprintf(err->field, sizeof(err->field), "/idempotency_key");
            return rc;
        }
        json_t *copy = json_copy(bundle);
        json_object_del(copy, "idempotency_key");
        char *text = canonical(copy);
        json_decref(copy);
        if (!text)
            return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        zg_sha256_hex(text, strlen(text), hash);
        free(text);
    }
    /* shape of every entry first, so that a bad entry costs no transaction */
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        char ptr[64];
        snprintf(ptr, sizeof(ptr), "/entries/%zu", i);
        if (!json_is_object(e))
            return zg_error_set(err, ZG_EINVAL, ptr, "must be an object");
        json_object_foreach(e, k, v)
        {
            if (strcmp(k, "case_id") && strcmp(k, "mode") && strcmp(k, "source_message_id") &&
                strcmp(k, "if_match") && strcmp(k, "record"))
                return zg_error_set(err, ZG_EINVAL, ptr, "has an unknown field \"%.60s\"", k);
        }
        const char *mode = json_string_value(json_object_get(e, "mode"));
        if (json_object_get(e, "mode") && (!mode || (strcmp(mode, "replace") && strcmp(mode, "merge"))))
            return zg_error_set(err, ZG_EINVAL, ptr, "mode must be \"replace\" or \"merge\"");
        if (!json_is_string(json_object_get(e, "case_id")))
            return zg_error_set(err, ZG_EINVAL, ptr, "case_id is required (a ZGC-… string)");
        if (!json_is_object(json_object_get(e, "record")))
            return zg_error_set(err, ZG_EINVAL, ptr, "record is required (an object)");
        json_t *mid = json_object_get(e, "source_message_id"), *im = json_object_get(e, "if_match");
        if ((mid && !json_is_string(mid)) || (im && !json_is_string(im)))
            return zg_error_set(err, ZG_EINVAL, ptr,
                                "source_message_id and if_match must be strings");
    }
    if ((rc = zg_db_begin(db, err)))
        return rc;
    if (key) {
        char *stored = NULL;
        rc = idem_lookup(db, who->org_id, key, hash, &stored, err);
        if (rc == 1) {
            zg_db_rollback(db);
            *results = json_loads(stored, 0, NULL);
            free(stored);
            *replayed = true;
            return *results ? 0 : zg_error_set(err, ZG_ECORRUPT, "", "stored response unreadable");
        }
        if (rc) {
            if (!strcmp(err->field, "idempotency-key"))
                snprintf(err->field, sizeof(err->field), "/idempotency_key");
            goto fail;
        }
    }
    json_t *out = json_array();
    json_array_foreach(entries, i, e)
    {
        const char *mode = json_string_value(json_object_get(e, "mode"));
        struct zg_clinical_push p = {
            .case_id = json_string_value(json_object_get(e, "case_id")),
            .record = json_object_get(e, "record"),
            .merge = mode && !strcmp(mode, "merge"),
            .if_match = json_string_value(json_object_get(e, "if_match")),
            .source_system = json_string_value(jsrc),
            .source_message_id = json_string_value(json_object_get(e, "source_message_id")),
        };
        struct zg_clinical_result r;
        size_t from = json_array_size(errors);
        if ((rc = zg_clinical_put(db, who, &p, &r, errors, err))) {
            char prefix[64];
            snprintf(prefix, sizeof(prefix), "/entries/%zu/record", i);
            prefix_errors(errors, from, prefix);
            entry_field(err, i);
            if (rc == ZG_ENOTFOUND) {
                char f[128];
                snprintf(f, sizeof(f), "%s", err->field);
                rc = zg_error_set(err, ZG_EINVAL, f,
                                  "no such case (create it first with POST /api/v1/cases)");
            }
            json_decref(out);
            goto fail;
        }
        json_array_append_new(out, result_json(&r));
    }
    if (key && (rc = idem_store(db, who->org_id, key, hash, out, err))) {
        json_decref(out);
        goto fail;
    }
    if ((rc = zg_db_commit(db, err))) {
        json_decref(out);
        return rc;
    }
    *results = out;
    return 0;
fail:
    zg_db_rollback(db);
    if (rc == ZG_EINVAL)
        record_rejection(db, who, NULL, json_string_value(jsrc), NULL, errors, err);
    return rc;
}

json_t *zg_clinical_get(sqlite3 *db, const char *case_id, int64_t org_scope, struct zg_error *err)
{
    if (scope_check(db, case_id, org_scope, err))
        return NULL;
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "SELECT r.version, r.etag, r.updated_at, r.source_system,"
                                     " v.doc FROM clinical_records r JOIN clinical_versions v"
                                     " ON v.case_id = r.case_id AND v.version = r.version"
                                     " WHERE r.case_id=?",
                                     err);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    json_t *out = NULL;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        json_t *doc = json_loads(zg_db_text(st, 4), 0, NULL);
        out = json_pack("{s:s,s:I,s:s,s:I,s:s,s:o}", "case_id", case_id, "version",
                        (json_int_t)sqlite3_column_int64(st, 0), "etag", zg_db_text(st, 1),
                        "updated_at", (json_int_t)sqlite3_column_int64(st, 2), "source_system",
                        zg_db_text(st, 3), "record", doc ? doc : json_object());
    } else if (src == SQLITE_DONE) {
        zg_error_set(err, ZG_ENOTFOUND, "id", "no clinical record for this case yet");
    } else {
        zg_db_fail(db, src, err);
    }
    zg_db_release(st);
    return out;
}

json_t *zg_clinical_history(sqlite3 *db, const char *case_id, int64_t org_scope,
                            struct zg_error *err)
{
    if (scope_check(db, case_id, org_scope, err))
        return NULL;
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "SELECT version, etag, created_at, user_id, login, source_system, source_message_id, doc"
        " FROM clinical_versions WHERE case_id=? ORDER BY version DESC LIMIT 1000",
        err);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    json_t *vers = json_array();
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *doc = json_loads(zg_db_text(st, 7), 0, NULL);
        json_t *v = json_pack("{s:I,s:s,s:I,s:s,s:s,s:o}", "version",
                              (json_int_t)sqlite3_column_int64(st, 0), "etag", zg_db_text(st, 1),
                              "created_at", (json_int_t)sqlite3_column_int64(st, 2), "login",
                              zg_db_text(st, 4), "source_system", zg_db_text(st, 5), "record",
                              doc ? doc : json_object());
        json_object_set_new(v, "user_id", sqlite3_column_type(st, 3) == SQLITE_NULL
                                              ? json_null()
                                              : json_integer(sqlite3_column_int64(st, 3)));
        json_object_set_new(v, "source_message_id",
                            sqlite3_column_type(st, 6) == SQLITE_NULL
                                ? json_null()
                                : json_string(zg_db_text(st, 6)));
        json_array_append_new(vers, v);
    }
    zg_db_release(st);
    if (src != SQLITE_DONE) {
        json_decref(vers);
        zg_db_fail(db, src, err);
        return NULL;
    }
    if (json_array_size(vers) == 0) {
        json_decref(vers);
        zg_error_set(err, ZG_ENOTFOUND, "id", "no clinical record for this case yet");
        return NULL;
    }
    return json_pack("{s:s,s:o}", "case_id", case_id, "versions", vers);
}

json_t *zg_clinical_rejections(sqlite3 *db, int64_t org_scope, int limit, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "SELECT id, org_id, case_id, created_at, login, source_system, source_message_id, errors"
        " FROM clinical_rejections WHERE (?1 = 0 OR org_id = ?1) ORDER BY id DESC LIMIT ?2",
        err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, org_scope);
    sqlite3_bind_int(st, 2, limit);
    json_t *a = json_array();
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *errs = json_loads(zg_db_text(st, 7), 0, NULL);
        json_t *r = json_pack("{s:I,s:I,s:I,s:s,s:o}", "id", (json_int_t)sqlite3_column_int64(st, 0),
                              "org_id", (json_int_t)sqlite3_column_int64(st, 1), "created_at",
                              (json_int_t)sqlite3_column_int64(st, 3), "login", zg_db_text(st, 4),
                              "errors", errs ? errs : json_array());
        static const struct {
            int col;
            const char *name;
        } opt[] = {{2, "case_id"}, {5, "source_system"}, {6, "source_message_id"}};
        for (size_t c = 0; c < ZG_ARRAY_LEN(opt); c++)
            json_object_set_new(r, opt[c].name,
                                sqlite3_column_type(st, opt[c].col) == SQLITE_NULL
                                    ? json_null()
                                    : json_string(zg_db_text(st, opt[c].col)));
        json_array_append_new(a, r);
    }
    zg_db_release(st);
    if (src != SQLITE_DONE) {
        json_decref(a);
        zg_db_fail(db, src, err);
        return NULL;
    }
    return json_pack("{s:o}", "rejections", a);
}
