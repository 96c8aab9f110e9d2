/* Participants, cases and specimens (pseudonymous; no hospital identifiers here). */
#include "ids.h"
#include "common/error.h"
#include "common/clock.h"
#include "store/db.h"

static int insert_with_new_id(sqlite3 *db, enum zg_id_kind kind, const char *sql,
                              char out[ZG_ID_LEN], int64_t a, const char *b, int64_t c,
                              struct zg_error *err)
{
    /* retry on the (astronomically rare) collision of a random ID */
    for (int attempt = 0; attempt < 8; attempt++) {
        zg_id_new(kind, out);
        sqlite3_stmt *st = zg_db_prepare(db, sql, err);
        if (!st)
            return ZG_EIO;
        sqlite3_bind_text(st, 1, out, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, zg_clock_now());
        if (sqlite3_bind_parameter_count(st) >= 3)
            sqlite3_bind_int64(st, 3, a);
        if (sqlite3_bind_parameter_count(st) >= 4) {
            if (b)
                sqlite3_bind_text(st, 4, b, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(st, 4);
        }
        if (sqlite3_bind_parameter_count(st) >= 5)
            sqlite3_bind_int64(st, 5, c);
        int rc = sqlite3_step(st);
        zg_db_release(st);
        if (rc == SQLITE_DONE)
            return 0;
        if (rc != SQLITE_CONSTRAINT_PRIMARYKEY)
            return zg_db_fail(db, rc, err);
    }
    return zg_error_set(err, ZG_EINTERNAL, "", "could not allocate a unique ID");
}

int zg_participant_add(sqlite3 *db, char out[ZG_ID_LEN], struct zg_error *err)
{
    return insert_with_new_id(db, ZG_ID_PARTICIPANT,
                              "INSERT INTO participants(id,created_at) VALUES(?1,?2)", out, 0,
                              NULL, 0, err);
}

static int exists(sqlite3 *db, const char *sql, const char *id)
{
    sqlite3_stmt *st = zg_db_prepare(db, sql, NULL);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    zg_db_release(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int zg_case_add(sqlite3 *db, int64_t org_id, const char *participant_id, int64_t created_by,
                char out[ZG_ID_LEN], char participant_out[ZG_ID_LEN], struct zg_error *err)
{
    char pid[ZG_ID_LEN];
    enum zg_id_kind kind;
    int rc;
    if (participant_id) {
        if ((rc = zg_id_parse(participant_id, &kind, pid, err))) {
            if (err)
                snprintf(err->field, sizeof(err->field), "/participant_id");
            return rc;
        }
        if (kind != ZG_ID_PARTICIPANT)
            return zg_error_set(err, ZG_EINVAL, "/participant_id", "is not a participant ID");
    }
    if ((rc = zg_db_begin(db, err)))
        return rc;
    if (participant_id) {
        int e = exists(db, "SELECT 1 FROM participants WHERE id=?", pid);
        if (e <= 0) {
            zg_db_rollback(db);
            return e < 0 ? zg_db_fail(db, SQLITE_ERROR, err)
                         : zg_error_set(err, ZG_ENOTFOUND, "/participant_id",
                                        "no such participant");
        }
    } else if ((rc = zg_participant_add(db, pid, err))) {
        zg_db_rollback(db);
        return rc;
    }
    rc = insert_with_new_id(
        db, ZG_ID_CASE,
        "INSERT INTO cases(id,created_at,org_id,participant_id,created_by) VALUES(?1,?2,?3,?4,?5)",
        out, org_id, pid, created_by, err);
    if (rc || (rc = zg_db_commit(db, err))) {
        zg_db_rollback(db);
        return rc;
    }
    if (participant_out)
        snprintf(participant_out, ZG_ID_LEN, "%s", pid);
    return 0;
}

static json_t *specimens_of(sqlite3 *db, const char *case_id)
{
    json_t *arr = json_array();
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT id,type,created_at FROM specimens WHERE case_id=? ORDER BY "
                           "created_at,id", NULL);
    if (!st)
        return arr;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I}", "id", zg_db_text(st, 0),
                                             "case_id", case_id, "type", zg_db_text(st, 1),
                                             "created_at",
                                             (json_int_t)sqlite3_column_int64(st, 2)));
    zg_db_release(st);
    return arr;
}

static json_t *case_row(sqlite3 *db, sqlite3_stmt *st)
{
    const char *id = zg_db_text(st, 0);
    return json_pack("{s:s,s:s?,s:{s:I,s:s},s:I,s:o}", "id", id, "participant_id",
                     sqlite3_column_type(st, 1) == SQLITE_NULL ? NULL : zg_db_text(st, 1), "org",
                     "id", (json_int_t)sqlite3_column_int64(st, 2), "name", zg_db_text(st, 3),
                     "created_at", (json_int_t)sqlite3_column_int64(st, 4), "specimens",
                     specimens_of(db, id));
}

json_t *zg_case_list(sqlite3 *db, int64_t org_id, const char *after, int limit,
                     struct zg_error *err)
{
    if (limit < 1 || limit > 1000)
        limit = 100;
    /* one query for the page and its specimens (not one query per case) */
    sqlite3_stmt *st = zg_db_prepare(
        db,
        /* both orders come from indexes (cases' key, specimens(case_id,created_at,id)): no sort */
        "SELECT c.id,c.participant_id,o.id,o.name,c.created_at,s.id,s.type,s.created_at "
        "FROM cases c JOIN orgs o ON o.id=c.org_id LEFT JOIN specimens s ON s.case_id=c.id "
        "WHERE c.id IN (SELECT id FROM cases WHERE (?1<=0 OR org_id=?1) AND id>?2 ORDER BY id "
        "LIMIT ?3) ORDER BY c.id,s.created_at,s.id",
        err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, org_id);
    sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit);
    json_t *arr = json_array(), *cur = NULL, *specs = NULL;
    int rc, n = 0;
    char last[ZG_ID_LEN] = "";
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = zg_db_text(st, 0);
        if (!cur || strcmp(last, id)) {
            specs = json_array();
            cur = json_pack("{s:s,s:s?,s:{s:I,s:s},s:I,s:o}", "id", id, "participant_id",
                            sqlite3_column_type(st, 1) == SQLITE_NULL ? NULL : zg_db_text(st, 1),
                            "org", "id", (json_int_t)sqlite3_column_int64(st, 2), "name",
                            zg_db_text(st, 3), "created_at",
                            (json_int_t)sqlite3_column_int64(st, 4), "specimens", specs);
            json_array_append_new(arr, cur);
            snprintf(last, sizeof(last), "%s", id);
            n++;
        }
        if (sqlite3_column_type(st, 5) != SQLITE_NULL)
            json_array_append_new(specs, json_pack("{s:s,s:s,s:s,s:I}", "id", zg_db_text(st, 5),
                                                   "case_id", last, "type", zg_db_text(st, 6),
                                                   "created_at",
                                                   (json_int_t)sqlite3_column_int64(st, 7)));
    }
    zg_db_release(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        zg_db_fail(db, rc, err);
        return NULL;
    }
    return json_pack("{s:o,s:o}", "cases", arr, "next_after",
                     n == limit ? json_string(last) : json_null());
}

json_t *zg_case_get(sqlite3 *db, const char *id, int64_t org_id, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "SELECT c.id,c.participant_id,o.id,o.name,c.created_at FROM "
                                     "cases c JOIN orgs o ON o.id=c.org_id WHERE c.id=?1 AND "
                                     "(?2<=0 OR c.org_id=?2)",
                                     err);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, org_id);
    int rc = sqlite3_step(st);
    json_t *j = rc == SQLITE_ROW ? case_row(db, st) : NULL;
    zg_db_release(st);
    if (!j) {
        if (rc == SQLITE_DONE || rc == SQLITE_ROW)
            zg_error_set(err, ZG_ENOTFOUND, "id", "no such case");
        else
            zg_db_fail(db, rc, err);
    }
    return j;
}

int zg_case_org(sqlite3 *db, const char *id, int64_t *org_id, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT org_id FROM cases WHERE id=?", err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *org_id = sqlite3_column_int64(st, 0);
    zg_db_release(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? zg_error_set(err, ZG_ENOTFOUND, "id", "no such case")
                             : zg_db_fail(db, rc, err);
}

static const char *const specimen_types[] = {"tumour-tissue", "tumour-ffpe",   "normal-blood",
                                             "normal-tissue", "plasma",        "other"};

int zg_specimen_add(sqlite3 *db, const char *case_id, const char *type, char out[ZG_ID_LEN],
                    struct zg_error *err)
{
    bool ok = false;
    for (size_t i = 0; type && i < ZG_ARRAY_LEN(specimen_types); i++)
        ok |= !strcmp(type, specimen_types[i]);
    if (!ok)
        return zg_error_set(err, ZG_EINVAL, "/type",
                            "must be one of tumour-tissue, tumour-ffpe, normal-blood, "
                            "normal-tissue, plasma, other");
    int e = exists(db, "SELECT 1 FROM cases WHERE id=?", case_id);
    if (e < 0)
        return zg_db_fail(db, SQLITE_ERROR, err);
    if (!e)
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such case");
    sqlite3_stmt *st = NULL;
    for (int attempt = 0; attempt < 8; attempt++) {
        zg_id_new(ZG_ID_SPECIMEN, out);
        st = zg_db_prepare(db, "INSERT INTO specimens(id,case_id,type,created_at) VALUES(?,?,?,?)",
                           err);
        if (!st)
            return ZG_EIO;
        sqlite3_bind_text(st, 1, out, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, case_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, zg_clock_now());
        int rc = sqlite3_step(st);
        zg_db_release(st);
        if (rc == SQLITE_DONE)
            return 0;
        if (rc != SQLITE_CONSTRAINT_PRIMARYKEY)
            return zg_db_fail(db, rc, err);
    }
    return zg_error_set(err, ZG_EINTERNAL, "", "could not allocate a unique ID");
}

json_t *zg_specimen_get(sqlite3 *db, const char *id, struct zg_error *err)
{
    sqlite3_stmt *st =
        zg_db_prepare(db, "SELECT id,case_id,type,created_at FROM specimens WHERE id=?", err);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    json_t *j = rc == SQLITE_ROW ? json_pack("{s:s,s:s,s:s,s:I}", "id", zg_db_text(st, 0),
                                             "case_id", zg_db_text(st, 1), "type",
                                             zg_db_text(st, 2), "created_at",
                                             (json_int_t)sqlite3_column_int64(st, 3))
                                 : NULL;
    zg_db_release(st);
    if (!j) {
        if (rc == SQLITE_DONE)
            zg_error_set(err, ZG_ENOTFOUND, "id", "no such specimen");
        else
            zg_db_fail(db, rc, err);
    }
    return j;
}

json_t *zg_stats_overview(sqlite3 *db, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "SELECT (SELECT count(*) FROM orgs),(SELECT count(*) FROM "
                                     "participants),(SELECT count(*) FROM cases),(SELECT count(*) "
                                     "FROM specimens),(SELECT count(*) FROM users)",
                                     err);
    if (!st)
        return NULL;
    json_t *j = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        j = json_pack("{s:I,s:I,s:I,s:I,s:I}", "orgs", (json_int_t)sqlite3_column_int64(st, 0),
                      "participants", (json_int_t)sqlite3_column_int64(st, 1), "cases",
                      (json_int_t)sqlite3_column_int64(st, 2), "specimens",
                      (json_int_t)sqlite3_column_int64(st, 3), "users",
                      (json_int_t)sqlite3_column_int64(st, 4));
    else
        zg_db_fail(db, rc, err);
    zg_db_release(st);
    return j;
}
