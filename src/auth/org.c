/* Organisations. */
#include "auth.h"
#include "common/error.h"
#include "common/clock.h"
#include "store/db.h"

static const char *const org_types[] = {"hospital", "sequencing", "datacenter", "academia",
                                        "industry"};

int zg_org_add(sqlite3 *db, const char *name, const char *type, int64_t *id, struct zg_error *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 120)
        return zg_error_set(err, ZG_EINVAL, "name", "must be 1 to 120 characters");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20)
            return zg_error_set(err, ZG_EINVAL, "name", "must not contain control characters");
    bool ok = false;
    for (size_t i = 0; type && i < ZG_ARRAY_LEN(org_types); i++)
        ok |= !strcmp(type, org_types[i]);
    if (!ok)
        return zg_error_set(err, ZG_EINVAL, "type",
                            "must be one of hospital, sequencing, datacenter, academia, industry");
    sqlite3_stmt *st =
        zg_db_prepare(db, "INSERT INTO orgs(name,type,created_at) VALUES(?,?,?)", err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, zg_clock_now());
    int rc = sqlite3_step(st);
    zg_db_release(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return zg_error_set(err, ZG_EEXIST, "name", "an organisation with this name exists");
    if (rc != SQLITE_DONE)
        return zg_db_fail(db, rc, err);
    if (id)
        *id = sqlite3_last_insert_rowid(db);
    return 0;
}

int zg_org_lookup(sqlite3 *db, const char *name, int64_t *id, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT id FROM orgs WHERE name=?", err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    zg_db_release(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return zg_error_set(err, ZG_ENOTFOUND, "org", "no organisation with this name");
    return zg_db_fail(db, rc, err);
}

json_t *zg_org_list(sqlite3 *db, struct zg_error *err)
{
    sqlite3_stmt *st =
        zg_db_prepare(db, "SELECT id,name,type,created_at FROM orgs ORDER BY name", err);
    if (!st)
        return NULL;
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:I}", "id",
                                             (json_int_t)sqlite3_column_int64(st, 0), "name",
                                             zg_db_text(st, 1), "type", zg_db_text(st, 2),
                                             "created_at", (json_int_t)sqlite3_column_int64(st, 3)));
    zg_db_release(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        zg_db_fail(db, rc, err);
        return NULL;
    }
    return json_pack("{s:o}", "orgs", arr);
}
