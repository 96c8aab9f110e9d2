/* Helpers shared by the files of auth/ only. */
#ifndef ZG_AUTH_INTERNAL_H
#define ZG_AUTH_INTERNAL_H

#include "auth.h"
#include <stdarg.h>

/* User id of a login; 0 or ZG_ENOTFOUND. */
int zg_auth_user_id(sqlite3 *db, const char *login, int64_t *id, struct zg_error *err);

/* Prepares, binds (fmt: i=int64_t, t=text, n=NULL) and steps one statement. */
int zg_auth_exec_bind(sqlite3 *db, const char *sql, struct zg_error *err, const char *fmt, ...);

/* HMAC(data_key, code) as hex, for recovery codes. */
void zg_auth_code_hash(const struct zg_datadir *dd, const char *code, char out[65]);

#endif
