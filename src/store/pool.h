/* A fixed pool of SQLite connection sets (zengen.db, linkage.db, audit.db) shared by server
 * threads: acquire one per request, release it when the request ends. */
#ifndef ZG_POOL_H
#define ZG_POOL_H

#include "datadir.h"

struct zg_error;
struct zg_pool;

struct zg_conns {
    sqlite3 *db;      /* zengen.db */
    sqlite3 *linkage; /* linkage.db */
    sqlite3 *audit;   /* audit.db (reads; writes go through audit/'s writer) */
};

/* Opens n connection sets. Returns 0 or an error. */
int zg_pool_open(const struct zg_datadir *dd, size_t n, struct zg_pool **out,
                 struct zg_error *err) ZG_MUST_CHECK;

/* Closes every connection (all must have been released). */
void zg_pool_close(struct zg_pool *p);

/* Blocks until a connection set is free and returns it. */
struct zg_conns *zg_pool_acquire(struct zg_pool *p);

/* Returns a connection set; any open transaction is rolled back. */
void zg_pool_release(struct zg_pool *p, struct zg_conns *c);

#endif
