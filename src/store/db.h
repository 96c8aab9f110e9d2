/* SQLite access: opening with zengen's pragmas, transactions, numbered migrations. */
#ifndef ZG_DB_H
#define ZG_DB_H

#include "common/compat.h"
#include <sqlite3.h>

struct zg_error;

/* One numbered schema change. Versions start at 1 and increase by 1 within a database. */
struct zg_migration {
    int version;
    const char *name; /* "module: what it does" */
    const char *sql;  /* one or more statements, run inside one transaction */
};

enum zg_db_flags {
    ZG_DB_CREATE = 1,   /* create the file if missing */
    ZG_DB_READONLY = 2, /* open read-only */
};

/* Opens path with WAL, synchronous=FULL, foreign keys on, busy timeout 10 s.
 * Returns 0 with *out set, or ZG_EIO with err. Close with zg_db_close. */
int zg_db_open(const char *path, int flags, sqlite3 **out, struct zg_error *err) ZG_MUST_CHECK;

/* Runs SQL that returns no rows. Returns 0 or ZG_EIO (ZG_ECONFLICT on constraint violation). */
int zg_db_exec(sqlite3 *db, const char *sql, struct zg_error *err) ZG_MUST_CHECK;

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Rollback never fails loudly. */
int zg_db_begin(sqlite3 *db, struct zg_error *err) ZG_MUST_CHECK;
int zg_db_commit(sqlite3 *db, struct zg_error *err) ZG_MUST_CHECK;
void zg_db_rollback(sqlite3 *db);

/* Returns a prepared statement for sql, reusing an idle one of this connection that was
 * prepared before (a per-connection statement cache: parsing SQL is most of the cost of a
 * point query). Returns NULL and fills err on failure. Give it back with zg_db_release —
 * never sqlite3_finalize — as soon as its rows are read. */
sqlite3_stmt *zg_db_prepare(sqlite3 *db, const char *sql, struct zg_error *err);

/* Resets a statement from zg_db_prepare and clears its bindings so it can be reused
 * (NULL is a no-op). */
void zg_db_release(sqlite3_stmt *st);

/* Finalizes every statement of the connection and closes it (NULL is a no-op). */
void zg_db_close(sqlite3 *db);

/* Maps a SQLite result code to enum zg_err and records the message in err. */
int zg_db_fail(sqlite3 *db, int rc, struct zg_error *err);

/* Applies every listed migration (versions strictly increasing) that schema_migrations does not
 * record yet, in list order, each in its own transaction, recording it in
 * schema_migrations(version, name, applied_at). Refuses (ZG_ECORRUPT) a database that records a
 * version this binary does not know (written by a newer zengen). */
int zg_db_migrate(sqlite3 *db, const struct zg_migration *m, size_t n, struct zg_error *err)
    ZG_MUST_CHECK;

/* Current recorded schema version (0 for an empty database), or negative on error. */
int zg_db_schema_version(sqlite3 *db);

/* Text of column i as a const char* ("" for NULL). Valid until the next step/finalize. */
const char *zg_db_text(sqlite3_stmt *st, int i);

#endif
