/* The data directory: zengen.db, audit.db, linkage.db, keys/, files/, index/ — created by
 * `zengen init`, opened by every command. Owns the schema migrations of each database. */
#ifndef ZG_DATADIR_H
#define ZG_DATADIR_H

#include "common/compat.h"
#include "crypto/crypto.h"
#include <sqlite3.h>
#include <stdatomic.h>

struct zg_error;

enum zg_dbname { ZG_DB_MAIN, ZG_DB_AUDIT, ZG_DB_LINKAGE };

struct zg_datadir {
    char path[1024];
    unsigned char data_key[ZG_KEY_LEN];    /* encrypts secrets at rest (TOTP secrets, local IDs) */
    unsigned char lookup_key[ZG_KEY_LEN];  /* keyed hash for finding a local ID in linkage.db */
    unsigned char linkage_key[ZG_KEY_LEN]; /* keyed hash shared with partner projects for linkage */
    unsigned char linkage_seal_key[ZG_KEY_LEN]; /* encrypts local IDs in linkage.db */
    /* The three linkage keys (lookup, linkage, linkage_seal) may be split k-of-n with Shamir
     * secret sharing (store/keyshare.h): then they are not on disk, the linkage store is
     * sealed until k key holders unseal it, and these fields are zero. Read keys only after
     * zg_datadir_linkage_ready() (acquire: a server unseals while requests run). */
    atomic_bool linkage_sealed;
    int seal_k, seal_n;
    char seal_fpr[17];
};

/* True when the linkage keys are in memory (not sealed). */
bool zg_datadir_linkage_ready(const struct zg_datadir *dd);

/* Creates the directory (mode 0700; must not exist or be empty), its databases with every
 * migration applied, and fresh keys (mode 0600). Returns 0 or an error with err. */
int zg_datadir_init(const char *path, struct zg_error *err) ZG_MUST_CHECK;

/* Opens an existing data directory: loads keys and applies pending migrations.
 * Returns 0 or ZG_ENOTFOUND / ZG_EIO / ZG_ECORRUPT with err. */
int zg_datadir_open(struct zg_datadir *dd, const char *path, struct zg_error *err) ZG_MUST_CHECK;

/* Wipes keys from memory. */
void zg_datadir_close(struct zg_datadir *dd);

/* Opens a new connection to one of the databases (caller closes with zg_db_close). */
int zg_datadir_connect(const struct zg_datadir *dd, enum zg_dbname which, sqlite3 **out,
                       struct zg_error *err) ZG_MUST_CHECK;

/* Path of a file inside the data directory into out. */
void zg_datadir_file(const struct zg_datadir *dd, const char *name, char *out, size_t outsz);

#endif
