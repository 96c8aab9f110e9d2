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
    zg_error_http_status(code, status, slug, title);
}
