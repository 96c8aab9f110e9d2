/* The one error shape of zengen's HTTP API: RFC 9457 problem+json. */
#include "server.h"
#include "common/error.h"

json_t *zg_http_problem(int status, const char *slug, const char *title, const char *detail,
                        const char *instance, const char *request_id)
{
    char type[96];
    snprintf(type, sizeof(type), "/problems/%s", slug);
    json_t *p = json_pack("{s:s,s:s,s:i}", "type", type, "title", title, "status", status);
    if (detail && *detail)
        json_object_set_new(p, "detail", json_string(detail));
    if (instance)
        json_object_set_new(p, "instance", json_string(instance));
    if (request_id)
        json_object_set_new(p, "request_id", json_string(request_id));
    return p;
}

void zg_http_error_status(int code, int *status, const char **slug, const char **title)
{
    switch (code) {
    case ZG_EINVAL:
        *status = 422, *slug = "validation", *title = "Request is invalid";
        break;
    case ZG_ENOTFOUND:
        *status = 404, *slug = "not-found", *title = "Not found";
        break;
    case ZG_EEXIST:
    case ZG_ECONFLICT:
        *status = 409, *slug = "conflict", *title = "Conflict with the current state";
        break;
    case ZG_EAUTH:
        *status = 401, *slug = "invalid-credentials", *title = "Authentication failed";
        break;
    case ZG_EDENIED:
        *status = 403, *slug = "forbidden", *title = "Forbidden";
        break;
    case ZG_ELOCKED:
        *status = 429, *slug = "locked", *title = "Too many failed attempts";
        break;
    case ZG_EPRECONDITION:
        *status = 412, *slug = "precondition-failed", *title = "Precondition failed";
        break;
    case ZG_ERANGE:
        *status = 416, *slug = "range-not-satisfiable", *title = "Range not satisfiable";
        break;
    case ZG_ETOOBIG:
        *status = 413, *slug = "payload-too-large", *title = "Request is too large";
        break;
    default:
        *status = 500, *slug = "internal", *title = "Internal server error";
        break;
    }
}
