/* Request helpers shared by http/ and api/. */
#include "svc.h"
#include "common/error.h"

#include <unistd.h>

const char *zg_req_param(const struct zg_req *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (!strcmp(req->param_names[i], name))
            return req->param_values[i];
    return NULL;
}

const char *zg_req_query(struct zg_req *req, const char *name)
{
    return req->query_fn ? req->query_fn(req, name) : NULL;
}

const char *zg_req_header(struct zg_req *req, const char *name)
{
    return req->header_fn ? req->header_fn(req, name) : NULL;
}

int zg_req_set_header(struct zg_req *req, const char *name, const char *value)
{
    if (req->nresp_headers >= ZG_MAX_RESP_HEADERS)
        return ZG_ETOOBIG;
    const char *n = zg_arena_strdup(req->arena, name), *v = zg_arena_strdup(req->arena, value);
    if (!n || !v)
        return ZG_ENOMEM;
    req->resp_header_names[req->nresp_headers] = n;
    req->resp_header_values[req->nresp_headers++] = v;
    return 0;
}

void zg_req_audit_data(struct zg_req *req, const char *id)
{
    if (!req->audit_data)
        req->audit_data = json_array();
    if (json_array_size(req->audit_data) < 100)
        json_array_append_new(req->audit_data, json_string(id));
}

void zg_req_audit_option(struct zg_req *req, const char *name, json_t *value)
{
    if (!req->audit_options)
        req->audit_options = json_object();
    json_object_set_new(req->audit_options, name, value);
}

int zg_req_reply_file(struct zg_req *req, int fd, uint64_t offset, uint64_t len,
                      const char *content_type)
{
    if (req->resp_file)
        close(req->resp_fd);
    req->resp_file = true;
    req->resp_fd = fd;
    req->resp_fd_offset = offset;
    req->resp_fd_len = len;
    req->content_type = content_type;
    req->status = 200;
    return 0;
}

int zg_req_reply(struct zg_req *req, int status, json_t *body)
{
    if (req->json)
        json_decref(req->json);
    req->status = status;
    req->json = body;
    return 0;
}

static int need_body(struct zg_req *req, struct zg_error *err)
{
    if (!json_is_object(req->body))
        return zg_error_set(err, ZG_EINVAL, "", "request body must be a JSON object");
    return 0;
}

int zg_body_string(struct zg_req *req, const char *name, bool required, size_t maxlen,
                   const char **out, struct zg_error *err)
{
    char ptr[128];
    snprintf(ptr, sizeof(ptr), "/%s", name);
    if (need_body(req, err))
        return ZG_EINVAL;
    json_t *v = json_object_get(req->body, name);
    if (!v || json_is_null(v)) {
        if (required)
            return zg_error_set(err, ZG_EINVAL, ptr, "is required");
        return 0;
    }
    if (!json_is_string(v))
        return zg_error_set(err, ZG_EINVAL, ptr, "must be a string");
    size_t n = json_string_length(v);
    if (strlen(json_string_value(v)) != n)
        return zg_error_set(err, ZG_EINVAL, ptr, "must not contain NUL characters");
    if (maxlen && n > maxlen)
        return zg_error_set(err, ZG_EINVAL, ptr, "must be at most %zu characters", maxlen);
    if (required && n == 0)
        return zg_error_set(err, ZG_EINVAL, ptr, "must not be empty");
    *out = json_string_value(v);
    return 0;
}

int zg_body_int(struct zg_req *req, const char *name, bool required, int64_t min, int64_t max,
                int64_t *out, struct zg_error *err)
{
    char ptr[128];
    snprintf(ptr, sizeof(ptr), "/%s", name);
    if (need_body(req, err))
        return ZG_EINVAL;
    json_t *v = json_object_get(req->body, name);
    if (!v || json_is_null(v)) {
        if (required)
            return zg_error_set(err, ZG_EINVAL, ptr, "is required");
        return 0;
    }
    if (!json_is_integer(v))
        return zg_error_set(err, ZG_EINVAL, ptr, "must be an integer");
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return zg_error_set(err, ZG_EINVAL, ptr, "must be between %lld and %lld", (long long)min,
                            (long long)max);
    *out = x;
    return 0;
}

int zg_body_string_list(struct zg_req *req, const char *name, bool required, const char **out,
                        struct zg_error *err)
{
    char ptr[128];
    snprintf(ptr, sizeof(ptr), "/%s", name);
    if (need_body(req, err))
        return ZG_EINVAL;
    json_t *v = json_object_get(req->body, name);
    if (!v || json_is_null(v)) {
        if (required)
            return zg_error_set(err, ZG_EINVAL, ptr, "is required");
        return 0;
    }
    if (!json_is_array(v))
        return zg_error_set(err, ZG_EINVAL, ptr, "must be an array of strings");
    if (json_array_size(v) > 64)
        return zg_error_set(err, ZG_EINVAL, ptr, "must have at most 64 items");
    size_t total = 1, i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        if (!json_is_string(x))
            return zg_error_set(err, ZG_EINVAL, ptr, "item %zu must be a string", i);
        if (strchr(json_string_value(x), ','))
            return zg_error_set(err, ZG_EINVAL, ptr, "item %zu must not contain ','", i);
        total += json_string_length(x) + 1;
    }
    char *s = zg_arena_alloc(req->arena, total);
    if (!s)
        return zg_error_set(err, ZG_ETOOBIG, ptr, "is too large");
    size_t o = 0;
    json_array_foreach(v, i, x)
    {
        size_t n = json_string_length(x);
        if (i)
            s[o++] = ',';
        memcpy(s + o, json_string_value(x), n);
        o += n;
    }
    s[o] = '\0';
    *out = s;
    return 0;
}

int zg_body_only(struct zg_req *req, const char *const *allowed, struct zg_error *err)
{
    if (need_body(req, err))
        return ZG_EINVAL;
    const char *key;
    json_t *v;
    json_object_foreach(req->body, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            ok |= !strcmp(allowed[i], key);
        if (!ok) {
            char ptr[128];
            snprintf(ptr, sizeof(ptr), "/%.100s", key);
            return zg_error_set(err, ZG_EINVAL, ptr, "is not a known field");
        }
    }
    return 0;
}

int zg_query_int(struct zg_req *req, const char *name, int64_t def, int64_t min, int64_t max,
                 int64_t *out, struct zg_error *err)
{
    const char *s = zg_req_query(req, name);
    if (!s) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return zg_error_set(err, ZG_EINVAL, name, "query parameter must be an integer between "
                                                  "%lld and %lld", (long long)min, (long long)max);
    *out = v;
    return 0;
}

void zg_error_http_status(int code, int *status, const char **slug, const char **title)
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
    case ZG_ESEALED:
        *status = 503, *slug = "linkage-sealed", *title = "Linkage store sealed";
        break;
    case ZG_ECANCELED:
        *status = 503, *slug = "unavailable", *title = "Service is stopping";
        break;
    case ZG_ETOOBIG:
        *status = 413, *slug = "payload-too-large", *title = "Request is too large";
        break;
    default:
        *status = 500, *slug = "internal", *title = "Internal server error";
        break;
    }
}

void zg_error_problem_parts(const struct zg_error *e, char *detail, size_t n, json_t **errors)
{
    *errors = NULL;
    if (!e->field[0]) {
        snprintf(detail, n, "%s", e->reason);
        return;
    }
    bool pointer = e->field[0] == '/';
    snprintf(detail, n, "%s: %s", pointer ? e->field + 1 : e->field, e->reason);
    *errors = json_pack("[{s:s,s:s}]", pointer ? "pointer" : "parameter", e->field, "reason",
                        e->reason);
}

