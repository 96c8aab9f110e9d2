/* Key-file helpers shared by store/datadir.c and store/keyshare.c (not for other layers). */
#ifndef ZG_DATADIR_INTERNAL_H
#define ZG_DATADIR_INTERNAL_H

#include "datadir.h"

/* Writes keys/<name> of the data directory dir (hex, mode 0600, fsync, atomic rename). */
int zg_datadir_write_key(const char *dir, const char *name, const unsigned char key[ZG_KEY_LEN],
                         struct zg_error *err) ZG_MUST_CHECK;

#endif
