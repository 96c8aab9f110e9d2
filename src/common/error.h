/* Error codes and the caller-supplied error detail used across zengen (git's `struct strbuf *err` style). */
#ifndef ZG_ERROR_H
#define ZG_ERROR_H

#include "compat.h"

enum zg_err {
    ZG_OK = 0,
    ZG_EINVAL = -1,     /* input is invalid (field + reason in err) */
    ZG_ENOTFOUND = -2,  /* the named thing does not exist */
    ZG_EEXIST = -3,     /* the named thing already exists */
    ZG_ENOMEM = -4,     /* allocation failed */
    ZG_ETOOBIG = -5,    /* input exceeds a configured bound */
    ZG_EIO = -6,        /* file or database I/O failed */
    ZG_EAUTH = -7,      /* credentials wrong */
    ZG_EDENIED = -8,    /* not permitted */
    ZG_ELOCKED = -9,    /* account temporarily locked */
    ZG_ECONFLICT = -10, /* state changed underneath (stale version, duplicate) */
    ZG_ECORRUPT = -11,  /* stored data failed an integrity check */
    ZG_EINTERNAL = -12, /* a bug or an unexpected library failure */
    ZG_EPRECONDITION = -13, /* a precondition of the request (If-Match) does not hold */
    ZG_ERANGE = -14,        /* a requested byte range lies outside the data (HTTP 416) */
    ZG_ECANCELED = -15, /* stopped before finishing (shutdown); nothing kept, safe to redo */
    ZG_ESEALED = -16,   /* the linkage keys are split and not unsealed (HTTP 503) */
};

/* Detail for an error: a short field name (JSON Pointer for request bodies, CLI option name
 * otherwise) and a human-readable reason. Never put secrets or patient data in either. */
struct zg_error {
    int code;           /* enum zg_err */
    char field[128];    /* "" when the error is not about one field */
    char reason[384];
};

/* Clears err (safe on NULL). */
void zg_error_clear(struct zg_error *err);

/* Records code, field and a printf-formatted reason into err (if non-NULL); returns code so that
 * callers can write `return zg_error_set(err, ZG_EINVAL, "/login", "must be a string");`. */
int zg_error_set(struct zg_error *err, int code, const char *field, const char *fmt, ...)
    ZG_PRINTF(4, 5);

/* Turns a plain field name into a JSON Pointer ("login" → "/login"); no-op when it already is
 * one or is empty. */
void zg_error_pointerize(struct zg_error *err);

/* Static English name of an error code, e.g. "invalid input". */
const char *zg_err_name(int code);

#endif
