/* Helpers shared by the unit tests: scratch directories and a ready data directory. */
#ifndef ZG_TESTUTIL_H
#define ZG_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/datadir.h"

/* A scratch directory from mkdtemp holding a data directory "data" created by
 * zg_datadir_init and opened with zg_datadir_open. */
struct zg_testdir {
    char root[256];
    char data[320];
    struct zg_datadir dd;
};

/* Creates a fresh mkdtemp directory into root (fails the test on error). */
void zg_test_mkdtemp(char root[256]);

/* Removes a directory tree (best effort). */
void zg_test_rmtree(const char *path);

/* Creates root, inits and opens data dir; fails the test on error. */
void zg_test_datadir_setup(struct zg_testdir *t);

/* Closes the data dir and removes root. */
void zg_test_datadir_teardown(struct zg_testdir *t);

/* Opens a connection to one database of t (fails the test on error). */
sqlite3 *zg_test_connect(struct zg_testdir *t, enum zg_dbname which);

/* Runs sql on db, failing the test with sqlite's message on error. */
void zg_test_sql(sqlite3 *db, const char *sql);

/* The first column of the one row sql yields (fails the test otherwise). */
int64_t zg_test_count(sqlite3 *db, const char *sql);

/* Reads a whole file into a malloc'd buffer (NUL-terminated), length in *n. NULL if missing. */
char *zg_test_slurp(const char *path, size_t *n);

/* True when needle (n bytes) occurs in hay (hn bytes). */
bool zg_test_memmem(const char *hay, size_t hn, const char *needle, size_t n);

/* The common fixture of domain tests: a fresh data directory, a connection to zengen.db,
 * one hospital organisation "Hosp" and one case of it, and a second hospital "Hosp2". */
struct zg_test_fx {
    struct zg_testdir t;
    sqlite3 *db;
    int64_t org, org2;
    char case_id[16];
};

/* cmocka setup/teardown for it: *state is the struct zg_test_fx *. */
int zg_test_fx_setup(void **state);
int zg_test_fx_teardown(void **state);

/* One cohort cache for the whole test program, as a server keeps one (views are then patched
 * between queries, which the tests exercise); freed at exit. */
struct zg_cohort_cache *zg_test_cohort_cache(void);

#endif
