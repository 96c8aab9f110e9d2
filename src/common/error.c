/* Error detail helpers. */
#include "error.h"

#include <stdarg.h>

void zg_error_clear(struct zg_error *err)
{
    if (!err)
        return;
    err->code = 0;
    err->field[0] = '\0';
    err->reason[0] = '\0';
}

int zg_error_set(struct zg_error *err, int code, const char *field, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    return code;
}

const char *zg_err_name(int code)
{
    switch (code) {
    case ZG_OK: return "ok";
    case ZG_EINVAL: return "invalid input";
    case ZG_ENOTFOUND: return "not found";
    case ZG_EEXIST: return "already exists";
    case ZG_ENOMEM: return "out of memory";
    case ZG_ETOOBIG: return "too large";
    case ZG_EIO: return "I/O error";
    case ZG_EAUTH: return "authentication failed";
    case ZG_EDENIED: return "not permitted";
    case ZG_ELOCKED: return "locked";
    case ZG_ECONFLICT: return "conflict";
    case ZG_ECORRUPT: return "integrity check failed";
    case ZG_EPRECONDITION: return "precondition failed";
    case ZG_ERANGE: return "range not satisfiable";
    case ZG_ECANCELED: return "canceled";
    case ZG_ESEALED: return "linkage store sealed";
    default: return "internal error";
    }
}

void zg_error_pointerize(struct zg_error *err)
{
    if (!err || !err->field[0] || err->field[0] == '/')
        return;
    size_t n = strnlen(err->field, sizeof(err->field) - 2);
    memmove(err->field + 1, err->field, n);
    err->field[0] = '/';
    err->field[n + 1] = '\0';
}
