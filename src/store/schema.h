/* The migration lists of zengen.db, audit.db and linkage.db. */
#ifndef ZG_SCHEMA_H
#define ZG_SCHEMA_H

#include "db.h"
#include "datadir.h"

/* Returns the migrations of one database and their count in *n. */
const struct zg_migration *zg_schema_migrations(enum zg_dbname which, size_t *n);

#endif
