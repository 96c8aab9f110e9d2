/* The service interface between the HTTP server (http/) and the resource handlers (api/):
 * the process context, the per-request context and the route declaration. http/ executes
 * routes — authentication, policy decision and audit happen there, before and after the
 * handler; api/ declares routes and implements handlers. Neither includes the other. */
#ifndef ZG_SVC_H
#define ZG_SVC_H

#include "common/compat.h"
#include "common/arena.h"
#include "policy/policy.h"
#include "store/datadir.h"
#include "store/pool.h"
#include <jansson.h>
#include <stdatomic.h>

struct zg_error;
struct zg_audit;
struct zg_req;
struct zg_hg_cache;

/* Route flags. */
enum zg_route_flags {
    ZG_R_JSON_BODY = 1u << 0, /* the handler reads a JSON object body */
    ZG_R_NO_AUDIT = 1u << 1,  /* touches no data (health, metrics, OpenAPI) */
    ZG_R_LOGIN = 1u << 2,     /* the sign-in route: audited with the attempted login */
    ZG_R_RAW_BODY = 1u << 3,  /* the handler reads raw bytes (application/octet-stream) */
};

/* Handlers return 0 (having set status and response) or an enum zg_err with detail in err;
 * http/ turns that into a problem+json response. Handlers never check permissions and never
 * write audit events: they only annotate (zg_req_audit_data / zg_req_audit_option). */
typedef int (*zg_handler_fn)(struct zg_req *req, struct zg_error *err);

struct zg_route {
    const char *method;   /* "GET", "POST", "DELETE", … */
    const char *path;     /* "/api/v1/cases/{id}" — {name} matches one segment */
    const char *action;   /* audit action, e.g. "case.read" */
    const char *resource; /* resource kind, e.g. "case" */
    enum zg_tier tier;    /* data tier the route returns or changes */
    unsigned flags;       /* enum zg_route_flags */
    zg_handler_fn handler;
    size_t max_body;      /* 0 → 1 MiB */
};

/* Process-wide counters shown at /metrics. */
struct zg_metrics {
    size_t nroutes;
    atomic_uint_fast64_t *route_status; /* [route][class 0..4] for 1xx..5xx */
    atomic_uint_fast64_t unmatched[5];
    atomic_uint_fast64_t latency_buckets[12]; /* ≤ 1,2,5,10,25,50,100,250,500,1000,2500 ms,+Inf */
    atomic_uint_fast64_t latency_sum_us, latency_count;
    atomic_uint_fast64_t logins_ok, logins_failed, denials, audit_failures;
};

/* Everything a request may need from the process, created by `zengen serve`. */
struct zg_app {
    struct zg_datadir dd;
    struct zg_pool *pool;
    struct zg_audit *audit;
    struct zg_jobs *jobs;               /* background job workers (NULL: none in this process) */
    struct zg_unseal *unseal;           /* key shares submitted to unseal the linkage store */
    struct zg_cohort_cache *cohort;     /* the genome cohort index snapshot and view (NULL: none) */
    struct zg_hg_cache *hg_cache;       /* htsget per-file state (genome/htsget.h); NULL = none */
    struct zg_policy_config policy;
    struct zg_metrics metrics;
    const struct zg_route *routes;
    size_t nroutes;
    const char *web_dir;
    bool tls;
    bool access_log;
    const char *cors_origins;     /* GA4GH APIs (htsget, Beacon): origins allowed to call them
                                   * from a browser, comma-separated, or "*"; NULL: none */
    const char *trusted_proxies;  /* reverse proxies whose X-Forwarded-For names the client
                                   * (comma-separated IP literals); NULL: none */
    int64_t started_at;
    uint64_t request_prefix;            /* random per process: request ids are prefix + counter */
    atomic_uint_fast64_t next_request;
};

#define ZG_MAX_PARAMS 4
#define ZG_MAX_RESP_HEADERS 4

/* One request; lives in its arena until the response is sent. */
struct zg_req {
    struct zg_app *app;
    struct zg_arena *arena;
    const struct zg_route *route;
    const char *method, *path, *request_id, *ip, *user_agent;
    const char *param_names[ZG_MAX_PARAMS], *param_values[ZG_MAX_PARAMS];
    size_t nparams;
    json_t *body;                 /* parsed JSON object for ZG_R_JSON_BODY routes */
    const unsigned char *raw;     /* ZG_R_RAW_BODY: the body's bytes (at most the route's */
    size_t raw_len;               /* max_body), valid for the request */
    struct zg_conns *conns;       /* database connections for this request */
    struct zg_identity who;       /* caller (kind NONE for public routes without credentials) */
    struct zg_decision decision;  /* the policy decision that allowed the request */

    /* query string and request header access, provided by http/ */
    const char *(*query_fn)(struct zg_req *req, const char *name);
    const char *(*header_fn)(struct zg_req *req, const char *name);
    void *transport;

    /* response, set by the handler */
    int status;                   /* 200 by default */
    json_t *json;                 /* response body (owned; freed by http/) */
    const char *text;             /* or a text body in the arena… */
    size_t text_len;
    const char *content_type;     /* …with this type */
    const char *set_cookie;       /* a Set-Cookie header value (arena) */
    bool resp_file;               /* the body is bytes [resp_fd_offset, +resp_fd_len) of resp_fd, */
    int resp_fd;                  /* sent by the kernel without copying; http/ closes resp_fd */
    uint64_t resp_fd_offset, resp_fd_len;
    const char *problem_type;     /* override of the problem type slug on error */
    json_t *problem_errors;       /* on error: the full errors[] ({pointer|parameter, reason});
                                     owned by the request, freed by http/ */
    const char *resp_header_names[ZG_MAX_RESP_HEADERS], *resp_header_values[ZG_MAX_RESP_HEADERS];
    size_t nresp_headers;         /* extra response headers (arena strings) */
    int64_t retry_after;          /* seconds, for 429 */

    /* audit annotations, set by the handler */
    json_t *audit_data;           /* array of ids or the query that was touched */
    json_t *audit_options;        /* object of parameters worth recording */
    const char *audit_user;       /* attempted login (sign-in route) */
};

/* Value of path parameter name, or NULL. */
const char *zg_req_param(const struct zg_req *req, const char *name);

/* Value of query parameter name, or NULL. */
const char *zg_req_query(struct zg_req *req, const char *name);

/* Value of request header name (case-insensitive), or NULL. */
const char *zg_req_header(struct zg_req *req, const char *name);

/* Adds a response header (copied into the arena), sent with success and error responses.
 * Returns 0, or ZG_ETOOBIG past ZG_MAX_RESP_HEADERS / ZG_ENOMEM. Never put secrets here. */
int zg_req_set_header(struct zg_req *req, const char *name, const char *value) ZG_MUST_CHECK;

/* Records an id (or query text) the request touched, for the audit event. */
void zg_req_audit_data(struct zg_req *req, const char *id);

/* Records a parameter for the audit event (never secrets). */
void zg_req_audit_option(struct zg_req *req, const char *name, json_t *value);

/* Sets the response to len bytes of the open file fd from offset (taken: closed by http/ even
 * on error), with content_type. For large byte ranges (htsget blocks): no copy in memory.
 * Returns 0. */
int zg_req_reply_file(struct zg_req *req, int fd, uint64_t offset, uint64_t len,
                      const char *content_type);

/* Sets the JSON response (steals the reference) and status. Returns 0. */
int zg_req_reply(struct zg_req *req, int status, json_t *body);

/* Body field helpers: read a member of the JSON body with type checking; on a wrong type or a
 * missing required member they fill err with the JSON Pointer ("/name") and a reason and
 * return ZG_EINVAL. Optional absent members leave *out untouched and return 0. */
int zg_body_string(struct zg_req *req, const char *name, bool required, size_t maxlen,
                   const char **out, struct zg_error *err) ZG_MUST_CHECK;
int zg_body_int(struct zg_req *req, const char *name, bool required, int64_t min, int64_t max,
                int64_t *out, struct zg_error *err) ZG_MUST_CHECK;
/* An array of strings joined with ',' into the arena. */
int zg_body_string_list(struct zg_req *req, const char *name, bool required, const char **out,
                        struct zg_error *err) ZG_MUST_CHECK;
/* Rejects members not in the NULL-terminated allowed list (typos must not pass silently). */
int zg_body_only(struct zg_req *req, const char *const *allowed, struct zg_error *err)
    ZG_MUST_CHECK;

/* Query helper: integer parameter in [min,max] or def when absent; ZG_EINVAL otherwise. */
int zg_query_int(struct zg_req *req, const char *name, int64_t def, int64_t min, int64_t max,
                 int64_t *out, struct zg_error *err) ZG_MUST_CHECK;

/* The HTTP status, problem type name and title for an error code (ZG_EINVAL → 422
 * "validation" …): one table for request errors and for failed background jobs. */
void zg_error_http_status(int code, int *status, const char **slug, const char **title);

/* The detail line and errors[] of a problem for e: "field: reason" and one {pointer (body
 * field "/x") | parameter, reason}, or the reason alone and *errors NULL when e names no field.
 * One shape for request errors (http/) and failed background jobs (svc/jobs.c). */
void zg_error_problem_parts(const struct zg_error *e, char *detail, size_t n, json_t **errors);

#endif
