/* Unit tests of src/store: data directory creation/opening, numbered migrations recorded in
 * schema_migrations (idempotent, newer databases refused), and transactions. */
#include "testutil.h"
#include "store/keyshare.h"
#include "svc/jobs.h"

#include "common/error.h"
#include "crypto/crypto.h"
#include "store/datadir.h"
#include "store/db.h"
#include "store/schema.h"

#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
    (void)state;
    return zg_crypto_init() == 0 ? 0 : -1;
}

static int64_t count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void datadir_init_layout_and_migrations(void **state)
{
    (void)state;
    struct zg_testdir t;
    zg_test_datadir_setup(&t);
    struct stat sb;
    assert_int_equal(stat(t.data, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    static const char *const keys[] = {"keys/data.key", "keys/lookup.key", "keys/linkage.key",
                                       "keys/linkage-seal.key"};
    for (size_t i = 0; i < ZG_ARRAY_LEN(keys); i++) {
        char p[512];
        zg_datadir_file(&t.dd, keys[i], p, sizeof(p));
        assert_int_equal(stat(p, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
    }
    /* the three keys differ and are not zero */
    assert_false(zg_ct_equal(t.dd.data_key, t.dd.lookup_key, ZG_KEY_LEN));
    assert_false(zg_ct_equal(t.dd.data_key, t.dd.linkage_key, ZG_KEY_LEN));
    /* no staging directory is left behind */
    char stage[400];
    snprintf(stage, sizeof(stage), "%s.init-%ld", t.data, (long)getpid());
    assert_int_not_equal(stat(stage, &sb), 0);

    for (int w = ZG_DB_MAIN; w <= ZG_DB_LINKAGE; w++) {
        size_t n = 0;
        const struct zg_migration *m = zg_schema_migrations((enum zg_dbname)w, &n);
        assert_non_null(m);
        assert_true(n >= 1);
        sqlite3 *db = zg_test_connect(&t, (enum zg_dbname)w);
        assert_int_equal(zg_db_schema_version(db), m[n - 1].version);
        assert_int_equal(count(db, "SELECT count(*) FROM schema_migrations"), (int64_t)n);
        /* each migration recorded with its version, name and a time */
        for (size_t i = 0; i < n; i++) {
            sqlite3_stmt *st = NULL;
            assert_int_equal(sqlite3_prepare_v2(db,
                                                "SELECT name,applied_at FROM schema_migrations "
                                                "WHERE version=?",
                                                -1, &st, NULL),
                             SQLITE_OK);
            sqlite3_bind_int(st, 1, m[i].version);
            assert_int_equal(sqlite3_step(st), SQLITE_ROW);
            assert_string_equal((const char *)sqlite3_column_text(st, 0), m[i].name);
            assert_true(sqlite3_column_int64(st, 1) > 1700000000);
            sqlite3_finalize(st);
        }
        /* re-running every migration is a no-op */
        int64_t before = count(db, "SELECT sum(applied_at) FROM schema_migrations");
        struct zg_error err;
        zg_error_clear(&err);
        assert_int_equal(zg_db_migrate(db, m, n, &err), 0);
        assert_int_equal(zg_db_migrate(db, m, n, &err), 0);
        assert_int_equal(count(db, "SELECT count(*) FROM schema_migrations"), (int64_t)n);
        assert_int_equal(count(db, "SELECT sum(applied_at) FROM schema_migrations"), before);
        /* WAL mode and foreign keys are on */
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        assert_int_equal(count(db, "PRAGMA foreign_keys"), 1);
        zg_db_close(db);
    }
    /* opening again applies nothing new */
    struct zg_datadir dd2;
    struct zg_error err;
    assert_int_equal(zg_datadir_open(&dd2, t.data, &err), 0);
    assert_true(zg_ct_equal(dd2.data_key, t.dd.data_key, ZG_KEY_LEN));
    zg_datadir_close(&dd2);
    sqlite3 *db = zg_test_connect(&t, ZG_DB_MAIN);
    size_t n = 0;
    zg_schema_migrations(ZG_DB_MAIN, &n);
    assert_int_equal(count(db, "SELECT count(*) FROM schema_migrations"), (int64_t)n);
    zg_db_close(db);
    zg_test_datadir_teardown(&t);
}

static void datadir_refuses_newer_schema(void **state)
{
    (void)state;
    struct zg_testdir t;
    zg_test_datadir_setup(&t);
    size_t n = 0;
    const struct zg_migration *m = zg_schema_migrations(ZG_DB_MAIN, &n);
    sqlite3 *db = zg_test_connect(&t, ZG_DB_MAIN);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO schema_migrations(version,name,applied_at) VALUES(%d,'future',1)",
             m[n - 1].version + 1);
    zg_test_sql(db, sql);
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_db_migrate(db, m, n, &err), ZG_ECORRUPT);
    assert_non_null(strstr(err.reason, "newer"));
    zg_db_close(db);
    struct zg_datadir dd2;
    assert_int_equal(zg_datadir_open(&dd2, t.data, &err), ZG_ECORRUPT);
    /* the failed open wiped the keys it had loaded */
    unsigned char zero[ZG_KEY_LEN] = {0};
    assert_memory_equal(dd2.data_key, zero, ZG_KEY_LEN);
    zg_test_datadir_teardown(&t);
}

static void datadir_init_refuses_nonempty(void **state)
{
    (void)state;
    char root[256], p[400], f[450];
    zg_test_mkdtemp(root);
    struct zg_error err;
    zg_error_clear(&err);

    /* a non-empty directory is never touched */
    snprintf(p, sizeof(p), "%s/precious", root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(f, sizeof(f), "%s/notes.txt", p);
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fputs("do not delete", fp);
    fclose(fp);
    assert_int_not_equal(zg_datadir_init(p, &err), 0);
    assert_int_equal(err.code, ZG_EEXIST);
    size_t n = 0;
    char *b = zg_test_slurp(f, &n);
    assert_non_null(b);
    assert_string_equal(b, "do not delete");
    free(b);
    snprintf(f, sizeof(f), "%s/zengen.db", p);
    struct stat sb;
    assert_int_not_equal(stat(f, &sb), 0);

    /* an existing data directory is not re-initialised (keys would be lost) */
    snprintf(p, sizeof(p), "%s/dd", root);
    assert_int_equal(zg_datadir_init(p, &err), 0);
    struct zg_datadir dd;
    assert_int_equal(zg_datadir_open(&dd, p, &err), 0);
    unsigned char key[ZG_KEY_LEN];
    memcpy(key, dd.data_key, sizeof(key));
    zg_datadir_close(&dd);
    assert_int_equal(zg_datadir_init(p, &err), ZG_EEXIST);
    assert_int_equal(zg_datadir_open(&dd, p, &err), 0);
    assert_memory_equal(dd.data_key, key, sizeof(key));
    zg_datadir_close(&dd);

    /* an empty existing directory is fine */
    snprintf(p, sizeof(p), "%s/empty", root);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(zg_datadir_init(p, &err), 0);
    snprintf(f, sizeof(f), "%s/zengen.db", p);
    assert_int_equal(stat(f, &sb), 0);

    /* bad arguments */
    assert_int_equal(zg_datadir_init("", &err), ZG_EINVAL);
    assert_int_equal(zg_datadir_init(NULL, &err), ZG_EINVAL);
    zg_test_rmtree(root);
}

static void datadir_open_errors(void **state)
{
    (void)state;
    char root[256], p[400];
    zg_test_mkdtemp(root);
    struct zg_datadir dd;
    struct zg_error err;
    zg_error_clear(&err);
    snprintf(p, sizeof(p), "%s/nothing-here", root);
    assert_int_equal(zg_datadir_open(&dd, p, &err), ZG_ENOTFOUND);
    assert_int_equal(zg_datadir_open(&dd, "", &err), ZG_EINVAL);
    /* a damaged key file is reported, not used */
    snprintf(p, sizeof(p), "%s/dd", root);
    assert_int_equal(zg_datadir_init(p, &err), 0);
    char k[500];
    snprintf(k, sizeof(k), "%s/keys/lookup.key", p);
    FILE *fp = fopen(k, "w");
    assert_non_null(fp);
    fputs("zz", fp);
    fclose(fp);
    assert_int_equal(zg_datadir_open(&dd, p, &err), ZG_ECORRUPT);
    fp = fopen(k, "w");
    fputs("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\n", fp);
    fclose(fp);
    assert_int_equal(zg_datadir_open(&dd, p, &err), ZG_ECORRUPT);
    unlink(k);
    assert_int_not_equal(zg_datadir_open(&dd, p, &err), 0);
    zg_test_rmtree(root);
}

static void transactions(void **state)
{
    (void)state;
    char root[256], p[400];
    zg_test_mkdtemp(root);
    snprintf(p, sizeof(p), "%s/t.db", root);
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_db_open(p, ZG_DB_CREATE, &db, &err), 0);
    assert_int_equal(zg_db_exec(db, "CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER)", &err), 0);

    /* rollback discards */
    assert_int_equal(zg_db_begin(db, &err), 0);
    assert_int_equal(zg_db_exec(db, "INSERT INTO t VALUES('a',1)", &err), 0);
    assert_int_equal(count(db, "SELECT count(*) FROM t"), 1);
    zg_db_rollback(db);
    assert_int_equal(count(db, "SELECT count(*) FROM t"), 0);
    zg_db_rollback(db); /* harmless outside a transaction */

    /* commit keeps, and is visible to another connection */
    assert_int_equal(zg_db_begin(db, &err), 0);
    assert_int_equal(zg_db_exec(db, "INSERT INTO t VALUES('a',1)", &err), 0);
    assert_int_equal(zg_db_commit(db, &err), 0);
    sqlite3 *db2 = NULL;
    assert_int_equal(zg_db_open(p, 0, &db2, &err), 0);
    assert_int_equal(count(db2, "SELECT count(*) FROM t"), 1);

    /* constraint violations are conflicts, SQL errors are I/O-class errors */
    assert_int_equal(zg_db_exec(db, "INSERT INTO t VALUES('a',2)", &err), ZG_ECONFLICT);
    assert_int_equal(zg_db_exec(db, "INSERT INTO nope VALUES(1)", &err), ZG_EIO);
    assert_non_null(strstr(err.reason, "nope"));
    assert_null(zg_db_prepare(db, "SELEC 1", &err));

    /* a second writer cannot start while the first holds BEGIN IMMEDIATE */
    assert_int_equal(zg_db_begin(db, &err), 0);
    sqlite3_busy_timeout(db2, 50);
    assert_int_not_equal(zg_db_begin(db2, &err), 0);
    zg_db_rollback(db);
    assert_int_equal(zg_db_begin(db2, &err), 0);
    zg_db_rollback(db2);

    /* read-only connections refuse writes */
    sqlite3 *ro = NULL;
    assert_int_equal(zg_db_open(p, ZG_DB_READONLY, &ro, &err), 0);
    assert_int_not_equal(zg_db_exec(ro, "INSERT INTO t VALUES('b',1)", &err), 0);
    zg_db_close(ro);
    /* opening a missing file without CREATE fails */
    snprintf(p, sizeof(p), "%s/missing.db", root);
    assert_int_equal(zg_db_open(p, 0, &ro, &err), ZG_EIO);

    zg_db_close(db2);
    zg_db_close(db);
    zg_test_rmtree(root);
}

static void migration_failure_rolls_back(void **state)
{
    (void)state;
    char root[256], p[400];
    zg_test_mkdtemp(root);
    snprintf(p, sizeof(p), "%s/m.db", root);
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_db_open(p, ZG_DB_CREATE, &db, &err), 0);
    assert_int_equal(zg_db_schema_version(db), 0);
    const struct zg_migration good[] = {
        {1, "test: one", "CREATE TABLE one(x);"},
    };
    const struct zg_migration bad[] = {
        {1, "test: one", "CREATE TABLE one(x);"},
        {2, "test: two", "CREATE TABLE two(x); INSERT INTO one VALUES(1); THIS IS NOT SQL;"},
    };
    assert_int_equal(zg_db_migrate(db, good, 1, &err), 0);
    assert_int_equal(zg_db_schema_version(db), 1);
    assert_int_not_equal(zg_db_migrate(db, bad, 2, &err), 0);
    assert_non_null(strstr(err.reason, "migration 2"));
    /* nothing of migration 2 remains, and it is not recorded */
    assert_int_equal(zg_db_schema_version(db), 1);
    assert_int_equal(count(db, "SELECT count(*) FROM sqlite_master WHERE name='two'"), 0);
    assert_int_equal(count(db, "SELECT count(*) FROM one"), 0);
    assert_int_equal(sqlite3_get_autocommit(db), 1);
    /* versions are fixed per domain, so a list may have gaps: every unrecorded one is applied */
    const struct zg_migration gap[] = {
        {1, "test: one", "CREATE TABLE one(x);"},
        {3, "test: three", "CREATE TABLE three(x);"},
    };
    assert_int_equal(zg_db_migrate(db, gap, 2, &err), 0);
    assert_int_equal(count(db, "SELECT count(*) FROM sqlite_master WHERE name='three'"), 1);
    /* …and a version that arrives later with a lower number is still applied */
    const struct zg_migration late[] = {
        {1, "test: one", "CREATE TABLE one(x);"},
        {2, "test: two", "CREATE TABLE two(x);"},
        {3, "test: three", "CREATE TABLE three(x);"},
    };
    assert_int_equal(zg_db_migrate(db, late, 3, &err), 0);
    assert_int_equal(count(db, "SELECT count(*) FROM sqlite_master WHERE name='two'"), 1);
    assert_int_equal(count(db, "SELECT count(*) FROM schema_migrations"), 3);
    /* a list out of order is a bug, refused before anything runs */
    const struct zg_migration disorder[] = {
        {1, "test: one", "CREATE TABLE one(x);"},
        {2, "test: two", "CREATE TABLE two(x);"},
        {3, "test: three", "CREATE TABLE three(x);"},
        {5, "test: five", "CREATE TABLE five(x);"},
        {4, "test: four", "CREATE TABLE four(x);"},
    };
    assert_int_equal(zg_db_migrate(db, disorder, 5, &err), ZG_EINTERNAL);
    assert_int_equal(count(db, "SELECT count(*) FROM sqlite_master WHERE name='five'"), 0);
    assert_int_equal(count(db, "SELECT count(*) FROM sqlite_master WHERE name='four'"), 0);
    zg_db_close(db);
    zg_test_rmtree(root);
}

static void statement_cache(void **state)
{
    (void)state;
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_db_open(":memory:", ZG_DB_CREATE, &db, &err), 0);
    /* a released statement is reused, reset and without old bindings */
    sqlite3_stmt *a = zg_db_prepare(db, "SELECT ?1", &err);
    assert_non_null(a);
    sqlite3_bind_int(a, 1, 41);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(a, 0), 41);
    zg_db_release(a);
    sqlite3_stmt *b = zg_db_prepare(db, "SELECT ?1", &err);
    assert_ptr_equal(b, a);
    assert_int_equal(sqlite3_step(b), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL);
    /* while b is in use (stepping), the same SQL gets another statement */
    sqlite3_stmt *c = zg_db_prepare(db, "SELECT ?1", &err);
    assert_non_null(c);
    assert_ptr_not_equal(c, b);
    zg_db_release(c);
    zg_db_release(b);
    /* a statement handed out but not yet stepped is not idle either: two callers must never
     * share one handle (the second would overwrite the first one's bindings) */
    sqlite3_stmt *d = zg_db_prepare(db, "SELECT ?1", &err);
    sqlite3_bind_int(d, 1, 1);
    sqlite3_stmt *e = zg_db_prepare(db, "SELECT ?1", &err);
    assert_non_null(e);
    assert_ptr_not_equal(e, d);
    zg_db_release(d);
    zg_db_release(e);
    zg_db_close(db);
}

/* Key shares of the linkage keys: a sealed data directory opens without them and takes back
 * only shares of its own split; keys left beside the marker (a split that crashed before
 * removing them) are still used; parse errors name the reason. */
static void linkage_key_shares(void **state)
{
    (void)state;
    struct zg_testdir a, b;
    zg_test_datadir_setup(&a);
    zg_test_datadir_setup(&b);
    struct zg_error err;
    char sa[3][ZG_SHARE_TEXT], sb[3][ZG_SHARE_TEXT];
    unsigned char lookup[ZG_KEY_LEN];
    memcpy(lookup, a.dd.lookup_key, ZG_KEY_LEN);
    assert_int_equal(zg_keyshare_split(&a.dd, 2, 3, sa, &err), 0);
    assert_int_equal(zg_keyshare_split(&b.dd, 2, 3, sb, &err), 0);
    assert_int_equal(zg_keyshare_split(&a.dd, 1, 3, sa, &err), ZG_EINVAL);
    assert_int_equal(zg_keyshare_seal(&a.dd, 2, 3, &err), 0);
    assert_false(zg_datadir_linkage_ready(&a.dd));
    /* reopened: sealed, keys zero */
    struct zg_datadir re;
    assert_int_equal(zg_datadir_open(&re, a.data, &err), 0);
    assert_false(zg_datadir_linkage_ready(&re));
    assert_int_equal(re.seal_k, 2);
    unsigned char zero[ZG_KEY_LEN] = {0};
    assert_memory_equal(re.lookup_key, zero, ZG_KEY_LEN);
    /* parse: garbage, a flipped digit, fine */
    struct zg_share s1, s2, foreign;
    assert_int_equal(zg_keyshare_parse("zgs1-2-3-1-zz", &s1, &err), ZG_EINVAL);
    char typo[ZG_SHARE_TEXT];
    snprintf(typo, sizeof(typo), "%s", sa[0]);
    typo[30] = typo[30] == '0' ? '1' : '0';
    assert_int_equal(zg_keyshare_parse(typo, &s1, &err), ZG_EINVAL);
    assert_non_null(strstr(err.reason, "checksum"));
    assert_int_equal(zg_keyshare_parse(sa[0], &s1, &err), 0);
    assert_int_equal(zg_keyshare_parse(sa[2], &s2, &err), 0);
    assert_int_equal(zg_keyshare_parse(sb[1], &foreign, &err), 0);
    /* another split's share and too few shares are refused; two of ours unseal */
    struct zg_share mix[2] = {s1, foreign};
    assert_int_equal(zg_keyshare_unseal(&re, mix, 2, &err), ZG_EINVAL);
    assert_int_equal(zg_keyshare_unseal(&re, &s1, 1, &err), ZG_EINVAL);
    struct zg_share two[2] = {s1, s2};
    assert_int_equal(zg_keyshare_unseal(&re, two, 2, &err), 0);
    assert_true(zg_datadir_linkage_ready(&re));
    assert_memory_equal(re.lookup_key, lookup, ZG_KEY_LEN);
    /* the server path: one share at a time, duplicates not counted */
    struct zg_datadir srv;
    assert_int_equal(zg_datadir_open(&srv, a.data, &err), 0);
    struct zg_unseal *u = zg_unseal_new();
    struct zg_unseal_status st;
    assert_int_equal(zg_unseal_submit(u, &srv, sb[0], &st, &err), ZG_EINVAL);
    assert_int_equal(zg_unseal_submit(u, &srv, sa[1], &st, &err), 0);
    assert_int_equal(zg_unseal_submit(u, &srv, sa[1], &st, &err), 0);
    assert_true(st.sealed);
    assert_int_equal(st.received, 1);
    assert_int_equal(zg_unseal_submit(u, &srv, sa[0], &st, &err), 0);
    assert_false(st.sealed);
    assert_memory_equal(srv.lookup_key, lookup, ZG_KEY_LEN);
    assert_int_equal(zg_unseal_submit(u, &srv, sa[2], &st, &err), ZG_ECONFLICT);
    zg_unseal_free(u);
    /* restore writes them back; a marker left beside key files does not seal */
    assert_int_equal(zg_keyshare_restore(&re, &err), 0);
    /* once unsealed, shares of other keys are refused (they would orphan every link) */
    struct zg_share bb[2];
    assert_int_equal(zg_keyshare_parse(sb[0], &bb[0], &err), 0);
    assert_int_equal(zg_keyshare_parse(sb[2], &bb[1], &err), 0);
    assert_int_equal(zg_keyshare_unseal(&re, bb, 2, &err), ZG_EINVAL);
    assert_non_null(strstr(err.reason, "orphan"));
    assert_memory_equal(re.lookup_key, lookup, ZG_KEY_LEN);
    struct zg_datadir back;
    assert_int_equal(zg_datadir_open(&back, a.data, &err), 0);
    assert_true(zg_datadir_linkage_ready(&back));
    assert_memory_equal(back.lookup_key, lookup, ZG_KEY_LEN);
    char marker[512];
    zg_datadir_file(&back, "keys/linkage.sealed", marker, sizeof(marker));
    FILE *f = fopen(marker, "w");
    assert_non_null(f);
    fputs("k=2 n=3 fingerprint=0123456789abcdef\n", f);
    fclose(f);
    struct zg_datadir half;
    assert_int_equal(zg_datadir_open(&half, a.data, &err), 0);
    assert_true(zg_datadir_linkage_ready(&half));
    zg_datadir_close(&half);
    zg_datadir_close(&back);
    zg_datadir_close(&srv);
    zg_datadir_close(&re);
    zg_test_datadir_teardown(&a);
    zg_test_datadir_teardown(&b);
}

/* Jobs left running by a process that died are queued again, except those that were running
 * three times already: they fail with a reason instead of bringing the server down forever. */
static void jobs_recover_caps_attempts(void **state)
{
    (void)state;
    struct zg_testdir t;
    zg_test_datadir_setup(&t);
    sqlite3 *db = zg_test_connect(&t, ZG_DB_MAIN);
    zg_test_sql(db, "INSERT INTO jobs(id,kind,state,params,tier,attempts,user_id,login,role,"
                    "org_id,org_name,created_at,updated_at) VALUES"
                    "('a','genome.import','running','{}',4,1,1,'u','operator',1,'o',1,1),"
                    "('b','genome.import','running','{}',4,3,1,'u','operator',1,'o',1,1),"
                    "('c','genome.import','succeeded','{}',4,1,1,'u','operator',1,'o',1,1)");
    struct zg_error err;
    assert_int_equal(zg_jobs_recover(db, &err), 1);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(id || ':' || state, ' ') FROM "
                                            "(SELECT * FROM jobs ORDER BY id)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0),
                        "a:queued b:failed c:succeeded");
    sqlite3_finalize(st);
    zg_db_close(db);
    zg_test_datadir_teardown(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(datadir_init_layout_and_migrations),
        cmocka_unit_test(datadir_refuses_newer_schema),
        cmocka_unit_test(datadir_init_refuses_nonempty),
        cmocka_unit_test(datadir_open_errors),
        cmocka_unit_test(transactions),
        cmocka_unit_test(migration_failure_rolls_back),
        cmocka_unit_test(statement_cache),
        cmocka_unit_test(linkage_key_shares),
        cmocka_unit_test(jobs_recover_caps_attempts),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
