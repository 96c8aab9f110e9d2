/* SQLite helpers and the migration runner. */
#include "db.h"
#include "common/error.h"
#include "common/clock.h"

int zg_db_fail(sqlite3 *db, int rc, struct zg_error *err)
{
    int prim = rc & 0xff;
    int code = prim == SQLITE_CONSTRAINT ? ZG_ECONFLICT
               : prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB ? ZG_ECORRUPT
                                                                 : ZG_EIO;
    return zg_error_set(err, code, "", "database: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

int zg_db_open(const char *path, int flags, sqlite3 **out, struct zg_error *err)
{
    sqlite3 *db = NULL;
    int oflags = SQLITE_OPEN_NOMUTEX;
    oflags |= (flags & ZG_DB_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (flags & ZG_DB_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &db, oflags, NULL);
    if (rc != SQLITE_OK) {
        zg_error_set(err, ZG_EIO, "", "cannot open database %s: %s", path, sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return ZG_EIO;
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_extended_result_codes(db, 1);
    const char *pragmas = (flags & ZG_DB_READONLY)
                              ? "PRAGMA foreign_keys=ON;"
                              : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                "PRAGMA foreign_keys=ON;";
    rc = sqlite3_exec(db, pragmas, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        zg_db_fail(db, rc, err);
        sqlite3_close_v2(db);
        return ZG_EIO;
    }
    *out = db;
    return 0;
}

int zg_db_exec(sqlite3 *db, const char *sql, struct zg_error *err)
{
    if (strchr(sql, ';')) { /* several statements (migrations): parse them once here */
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK ? 0 : zg_db_fail(db, rc, err);
    }
    /* one statement (BEGIN, COMMIT, …): reuse its prepared form */
    sqlite3_stmt *st = zg_db_prepare(db, sql, err);
    if (!st)
        return ZG_EIO;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    zg_db_release(st);
    return rc == SQLITE_DONE ? 0 : zg_db_fail(db, rc, err);
}

int zg_db_begin(sqlite3 *db, struct zg_error *err)
{
    return zg_db_exec(db, "BEGIN IMMEDIATE", err);
}

int zg_db_commit(sqlite3 *db, struct zg_error *err)
{
    int rc = zg_db_exec(db, "COMMIT", err);
    /* a statement that failed mid-way may keep the transaction open: never leave it so */
    if (rc)
        zg_db_rollback(db);
    return rc;
}

void zg_db_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db) && zg_db_exec(db, "ROLLBACK", NULL) != 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* Statements handed out by zg_db_prepare and not yet given back, per thread. A request (or a
 * CLI command) uses a connection from one thread at a time, so a statement is in use exactly
 * when it is on the list of the thread that took it. An un-stepped statement is "not busy"
 * to SQLite, so this list — not sqlite3_stmt_busy — is what keeps one statement from being
 * handed to two callers. */
#define IN_USE_MAX 64
static _Thread_local sqlite3_stmt *in_use[IN_USE_MAX];
static _Thread_local size_t n_in_use;

static bool is_in_use(const sqlite3_stmt *st)
{
    for (size_t i = 0; i < n_in_use; i++)
        if (in_use[i] == st)
            return true;
    return false;
}

sqlite3_stmt *zg_db_prepare(sqlite3 *db, const char *sql, struct zg_error *err)
{
    if (n_in_use >= IN_USE_MAX) {
        zg_error_set(err, ZG_EINTERNAL, "", "too many statements in use at once");
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    for (sqlite3_stmt *c = sqlite3_next_stmt(db, NULL); c; c = sqlite3_next_stmt(db, c)) {
        const char *s = sqlite3_sql(c);
        if (s && !sqlite3_stmt_busy(c) && !is_in_use(c) && !strcmp(s, sql)) {
            st = c;
            break;
        }
    }
    if (!st) {
        int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK) {
            zg_db_fail(db, rc, err);
            return NULL;
        }
    }
    in_use[n_in_use++] = st;
    return st;
}

void zg_db_release(sqlite3_stmt *st)
{
    if (!st)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (size_t i = 0; i < n_in_use; i++)
        if (in_use[i] == st) {
            in_use[i] = in_use[--n_in_use];
            break;
        }
}

void zg_db_close(sqlite3 *db)
{
    if (!db)
        return;
    sqlite3_stmt *st;
    while ((st = sqlite3_next_stmt(db, NULL))) {
        for (size_t i = 0; i < n_in_use; i++)
            if (in_use[i] == st) {
                in_use[i] = in_use[--n_in_use];
                break;
            }
        sqlite3_finalize(st);
    }
    sqlite3_close_v2(db);
}

const char *zg_db_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

int zg_db_schema_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
                           "name='schema_migrations'",
                           -1, &st, NULL) != SQLITE_OK)
        return ZG_EIO;
    int exists = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    if (!exists)
        return 0;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version),0) FROM schema_migrations", -1, &st,
                           NULL) != SQLITE_OK)
        return ZG_EIO;
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : ZG_EIO;
    sqlite3_finalize(st);
    return v;
}

int zg_db_migrate(sqlite3 *db, const struct zg_migration *m, size_t n, struct zg_error *err)
{
    int rc = zg_db_exec(db,
                        "CREATE TABLE IF NOT EXISTS schema_migrations("
                        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                        " applied_at INTEGER NOT NULL)",
                        err);
    if (rc)
        return rc;
    /* Every listed migration that is not recorded is applied, in list order; a recorded version
     * this binary does not know means the database was written by a newer zengen. */
    sqlite3_stmt *q = zg_db_prepare(db, "SELECT version FROM schema_migrations ORDER BY version", err);
    if (!q)
        return ZG_EIO;
    int applied[256], napplied = 0;
    while (sqlite3_step(q) == SQLITE_ROW && napplied < 256)
        applied[napplied++] = sqlite3_column_int(q, 0);
    zg_db_release(q);
    for (int k = 0; k < napplied; k++) {
        bool known = false;
        for (size_t j = 0; j < n; j++)
            known |= m[j].version == applied[k];
        if (!known)
            return zg_error_set(err, ZG_ECORRUPT, "",
                                "database has schema version %d, which this zengen does not know "
                                "(written by a newer version?)",
                                applied[k]);
    }
    for (size_t i = 1; i < n; i++)
        if (m[i].version <= m[i - 1].version)
            return zg_error_set(err, ZG_EINTERNAL, "", "migration list out of order at %zu", i);
    for (size_t i = 0; i < n; i++) {
        bool done = false;
        for (int k = 0; k < napplied; k++)
            done |= applied[k] == m[i].version;
        if (done)
            continue;
        if ((rc = zg_db_begin(db, err)))
            return rc;
        rc = zg_db_exec(db, m[i].sql, err);
        if (!rc) {
            sqlite3_stmt *st = zg_db_prepare(
                db, "INSERT INTO schema_migrations(version,name,applied_at) VALUES(?,?,?)", err);
            if (!st) {
                rc = ZG_EIO;
            } else {
                sqlite3_bind_int(st, 1, m[i].version);
                sqlite3_bind_text(st, 2, m[i].name, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 3, zg_clock_now());
                int s = sqlite3_step(st);
                if (s != SQLITE_DONE)
                    rc = zg_db_fail(db, s, err);
                zg_db_release(st);
            }
        }
        if (rc) {
            zg_db_rollback(db);
            char why[384];
            snprintf(why, sizeof(why), "%s", err ? err->reason : "");
            return zg_error_set(err, rc, "", "migration %d (%s) failed: %s", m[i].version,
                                m[i].name, why);
        }
        if ((rc = zg_db_commit(db, err)))
            return rc;
    }
    return 0;
}
