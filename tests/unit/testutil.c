/* Helpers shared by the unit tests: scratch directories and a ready data directory. */
#include "testutil.h"

#include "common/error.h"
#include "store/db.h"
#include "auth/auth.h"
#include "crypto/crypto.h"
#include "ids/ids.h"
#include "genome/cohort.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void zg_test_mkdtemp(char root[256])
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, 256, "%s/zg-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root))
        fail_msg("mkdtemp(%s) failed", root);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void zg_test_rmtree(const char *path)
{
    if (path && *path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void zg_test_datadir_setup(struct zg_testdir *t)
{
    struct zg_error err;
    zg_error_clear(&err);
    memset(t, 0, sizeof(*t));
    zg_test_mkdtemp(t->root);
    snprintf(t->data, sizeof(t->data), "%s/data", t->root);
    if (zg_datadir_init(t->data, &err) != 0)
        fail_msg("zg_datadir_init: %s", err.reason);
    if (zg_datadir_open(&t->dd, t->data, &err) != 0)
        fail_msg("zg_datadir_open: %s", err.reason);
}

void zg_test_datadir_teardown(struct zg_testdir *t)
{
    zg_datadir_close(&t->dd);
    zg_test_rmtree(t->root);
}

sqlite3 *zg_test_connect(struct zg_testdir *t, enum zg_dbname which)
{
    struct zg_error err;
    zg_error_clear(&err);
    sqlite3 *db = NULL;
    if (zg_datadir_connect(&t->dd, which, &db, &err) != 0)
        fail_msg("zg_datadir_connect: %s", err.reason);
    return db;
}

void zg_test_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        char copy[512];
        snprintf(copy, sizeof(copy), "%s", msg ? msg : "?");
        sqlite3_free(msg);
        fail_msg("SQL failed: %s: %s", sql, copy);
    }
}

int64_t zg_test_count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("SQL failed: %s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

char *zg_test_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *p = malloc(cap + 1);
    size_t r;
    while (p && (r = fread(p + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            char *q = realloc(p, cap * 2 + 1);
            if (!q) {
                free(p);
                p = NULL;
                break;
            }
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (p)
        p[len] = '\0';
    if (n)
        *n = len;
    return p;
}

bool zg_test_memmem(const char *hay, size_t hn, const char *needle, size_t n)
{
    return n == 0 || (hn >= n && memmem(hay, hn, needle, n) != NULL);
}

int zg_test_fx_setup(void **state)
{
    struct zg_test_fx *f = calloc(1, sizeof(*f));
    if (!f || zg_crypto_init())
        return -1;
    zg_test_datadir_setup(&f->t);
    f->db = zg_test_connect(&f->t, ZG_DB_MAIN);
    struct zg_error err;
    if (zg_org_add(f->db, "Hosp", "hospital", &f->org, &err) ||
        zg_org_add(f->db, "Hosp2", "hospital", &f->org2, &err) ||
        zg_case_add(f->db, f->org, NULL, 0, f->case_id, NULL, &err))
        return -1;
    *state = f;
    return 0;
}

int zg_test_fx_teardown(void **state)
{
    struct zg_test_fx *f = *state;
    zg_db_close(f->db);
    zg_test_datadir_teardown(&f->t);
    free(f);
    return 0;
}

static struct zg_cohort_cache *the_cache;

static void free_cohort_cache(void)
{
    zg_cohort_cache_free(the_cache);
}

struct zg_cohort_cache *zg_test_cohort_cache(void)
{
    if (!the_cache && zg_cohort_cache_new(&the_cache) == 0)
        atexit(free_cohort_cache);
    return the_cache;
}

