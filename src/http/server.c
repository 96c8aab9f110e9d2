/* libmicrohttpd server and the request pipeline: route → authenticate → CSRF → policy →
 * (audit attempt) → handler → audit result → respond. */
#include "server.h"
#include "router.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "store/db.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY ((size_t)1 << 20)
#define ARENA_LIMIT ((size_t)32 << 20)

struct zg_server {
    struct MHD_Daemon *d;
    struct zg_app *app;
    char *cert, *key;
};

enum ctx_state { CTX_NEW, CTX_READING, CTX_DISCARD };

struct reqctx {
    struct zg_req req;
    struct MHD_Connection *conn;
    struct zg_buf body;
    int route_idx;
    int64_t t0;
    size_t bytes_out;
    int status_out;
    bool overflow;
    bool read_tx;     /* a read transaction is open on conns->db */
    const char *cors; /* Access-Control-Allow-Origin to send (GA4GH paths), or NULL */
};

/* ------------------------------------------------------------------ small helpers ---- */

static const char *hdr(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static const char *query_fn(struct zg_req *req, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)req->transport,
                                       MHD_GET_ARGUMENT_KIND, name);
}

static const char *header_fn(struct zg_req *req, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)req->transport, MHD_HEADER_KIND,
                                       name);
}

/* Is ip (an address literal) in the comma-separated list? */
static bool in_list(const char *list, const char *ip, size_t n)
{
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t k = strcspn(p, ", ");
        if (k && k == n && !strncmp(p, ip, n))
            return true;
        p += k;
    }
    return false;
}

struct xff_join {
    char buf[2048];
    size_t len;
    bool over;
};

static enum MHD_Result collect_xff(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct xff_join *x = cls;
    (void)kind;
    if (!key || strcasecmp(key, "X-Forwarded-For") || !value)
        return MHD_YES;
    size_t n = strlen(value);
    if (x->len + n + 2 > sizeof(x->buf)) {
        x->over = true;
        return MHD_NO;
    }
    if (x->len)
        x->buf[x->len++] = ',';
    memcpy(x->buf + x->len, value, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return MHD_YES;
}

/* The client's address: the peer, or — when the peer is a trusted reverse proxy — the
 * right-most address of X-Forwarded-For that is not itself a trusted proxy (the left part of
 * that header is whatever the client chose to send and is not believed). */
static void client_ip(struct zg_app *app, struct MHD_Connection *c, char *out, size_t outsz)
{
    snprintf(out, outsz, "unknown");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)outsz);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)outsz);
    if (!app->trusted_proxies || !in_list(app->trusted_proxies, out, strlen(out)))
        return;
    /* every X-Forwarded-For line, in order, joined: some proxies add a line of their own
     * instead of appending to the client's; too long a list is not trusted at all */
    struct xff_join xj = {.len = 0, .over = false};
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_xff, &xj);
    if (xj.over || xj.len == 0)
        return;
    const char *xff = xj.buf;
    size_t end = xj.len;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        size_t a = start, b = end;
        while (a < b && (xff[a] == ' ' || xff[a] == '\t'))
            a++;
        while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
            b--;
        char cand[INET6_ADDRSTRLEN + 1];
        unsigned char bin[sizeof(struct in6_addr)];
        if (b - a == 0 || b - a >= sizeof(cand))
            return; /* malformed: keep the proxy's address */
        memcpy(cand, xff + a, b - a);
        cand[b - a] = '\0';
        if (inet_pton(AF_INET, cand, bin) != 1 && inet_pton(AF_INET6, cand, bin) != 1)
            return;
        if (!in_list(app->trusted_proxies, cand, b - a)) {
            snprintf(out, outsz, "%s", cand);
            return;
        }
        end = start > 0 ? start - 1 : 0;
    }
}

/* GA4GH APIs that browsers on other origins may call (igv.js apps, Beacon network UIs). */
static bool ga4gh_path(const char *path)
{
    return !strncmp(path, "/api/htsget/", 12) || !strcmp(path, "/api/beacon/v2") ||
           !strncmp(path, "/api/beacon/v2/", 15);
}

/* The Access-Control-Allow-Origin value for this request, or NULL. */
static const char *cors_origin(struct zg_app *app, struct MHD_Connection *c, const char *path)
{
    const char *origin = hdr(c, "Origin");
    if (!app->cors_origins || !origin || !ga4gh_path(path))
        return NULL;
    if (!strcmp(app->cors_origins, "*"))
        return "*";
    size_t n = strnlen(origin, 256);
    return n < 256 && in_list(app->cors_origins, origin, n) ? origin : NULL;
}

/* application/json or a structured-syntax +json type (application/fhir+json, …), with or
 * without parameters such as charset. */
static bool json_media_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == 16 && !strncasecmp(ct, "application/json", 16))
        return true;
    return n > 17 && !strncasecmp(ct, "application/", 12) && !strncasecmp(ct + n - 5, "+json", 5) &&
           memchr(ct + 12, '/', n - 12) == NULL;
}

static bool unsafe_method(const char *m)
{
    return strcmp(m, "GET") && strcmp(m, "HEAD") && strcmp(m, "OPTIONS");
}

static void add_common_headers(struct zg_app *app, struct MHD_Response *r, const char *rid,
                               bool html, const char *cors)
{
    if (cors) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", cors);
        MHD_add_response_header(r, "Access-Control-Expose-Headers",
                                "X-Request-Id, Location, Content-Range, Content-Length");
    }
    if (cors || app->cors_origins)
        MHD_add_response_header(r, "Vary", "Origin");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    if (html)
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
                                "form-action 'self'");
    else
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; frame-ancestors 'none'");
    if (app->tls)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
    if (rid)
        MHD_add_response_header(r, "X-Request-Id", rid);
}

static unsigned status_class(int status)
{
    unsigned c = (unsigned)status / 100;
    return c >= 1 && c <= 5 ? c - 1 : 4;
}

static void record_latency(struct zg_metrics *m, int64_t us)
{
    static const int64_t bounds_ms[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500};
    size_t i = 0;
    while (i < ZG_ARRAY_LEN(bounds_ms) && us > bounds_ms[i] * 1000)
        i++;
    atomic_fetch_add(&m->latency_buckets[i], 1);
    atomic_fetch_add(&m->latency_sum_us, (uint_fast64_t)us);
    atomic_fetch_add(&m->latency_count, 1);
}

/* Sends a buffer; takes ownership of body (malloc'd) when must_free. */
static enum MHD_Result send_body(struct reqctx *c, int status, const char *type, char *body,
                                 size_t len, bool must_free)
{
    struct zg_req *req = &c->req;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!r) {
        if (must_free)
            free(body);
        return MHD_NO;
    }
    add_common_headers(req->app, r, req->request_id, false, c->cors);
    if (type)
        MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (req->set_cookie)
        MHD_add_response_header(r, "Set-Cookie", req->set_cookie);
    for (size_t i = 0; i < req->nresp_headers; i++)
        MHD_add_response_header(r, req->resp_header_names[i], req->resp_header_values[i]);
    if (req->retry_after > 0) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%lld", (long long)req->retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    if (status == 405 && req->route == NULL && req->path) {
        char allow[128];
        zg_router_allowed(req->app->routes, req->app->nroutes, req->path, allow, sizeof(allow));
        MHD_add_response_header(r, "Allow", allow);
    }
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"zengen\"");
    enum MHD_Result ret = MHD_queue_response(c->conn, (unsigned)status, r);
    MHD_destroy_response(r);
    c->bytes_out = len;
    c->status_out = status;
    return ret;
}

static enum MHD_Result send_json(struct reqctx *c, int status, json_t *j, const char *type)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        return MHD_NO;
    return send_body(c, status, type, s, strlen(s), true);
}

static enum MHD_Result send_problem(struct reqctx *c, int status, const char *slug,
                                    const char *title, const char *detail, json_t *errors)
{
    json_t *p =
        zg_http_problem(status, slug, title, detail, c->req.path, c->req.request_id);
    if (errors)
        json_object_set_new(p, "errors", errors);
    return send_json(c, status, p, "application/problem+json");
}

/* ------------------------------------------------------------------------- audit ---- */

/* Serialises the audit event of this request straight into text (no JSON tree: this runs for
 * every request). Field order is fixed, so the canonical body is deterministic. */
static char *audit_event_text(struct reqctx *c, const char *phase, const char *outcome,
                              const char *reason, const char **user_out)
{
    struct zg_req *req = &c->req;
    const struct zg_identity *w = &req->who;
    const char *user = w->kind != ZG_AUTH_NONE ? w->login : req->audit_user;
    if (user && !*user)
        user = NULL;
    *user_out = user;
    struct zg_buf b;
    zg_buf_init(&b, 256 * 1024);
    bool first = true;
    char tool[160];
    if (w->kind == ZG_AUTH_TOKEN) /* the tool: the token's name for machines, the UA for people */
        snprintf(tool, sizeof(tool), "token:%s", w->token_name);
    else
        snprintf(tool, sizeof(tool), "%.150s", req->user_agent ? req->user_agent : "");
    int rc = zg_buf_add(&b, "{", 1);
    if (!rc && req->route)
        rc = zg_jsonw_kv_str(&b, &first, "action", req->route->action);
    if (!rc)
        rc = zg_jsonw_kv_str(&b, &first, "auth",
                             w->kind == ZG_AUTH_SESSION ? "session"
                             : w->kind == ZG_AUTH_TOKEN ? "token"
                                                        : "none");
    if (!rc && !strcmp(phase, "result"))
        rc = zg_jsonw_kv_int(&b, &first, "bytes", (long long)c->bytes_out);
    if (!rc) {
        rc = zg_jsonw_key(&b, &first, "data");
        char *d = req->audit_data ? json_dumps(req->audit_data, JSON_COMPACT) : NULL;
        if (!rc)
            rc = d ? zg_buf_adds(&b, d) : zg_buf_add(&b, "[]", 2);
        free(d);
    }
    if (!rc)
        rc = zg_jsonw_kv_str(&b, &first, "ip", req->ip);
    if (!rc)
        rc = zg_jsonw_kv_str(&b, &first, "method", req->method);
    if (!rc) {
        rc = zg_jsonw_key(&b, &first, "options");
        char *o = req->audit_options ? json_dumps(req->audit_options, JSON_COMPACT) : NULL;
        if (!rc)
            rc = o ? zg_buf_adds(&b, o) : zg_buf_add(&b, "{}", 2);
        free(o);
    }
    bool known = w->kind != ZG_AUTH_NONE || w->user_id;
    if (!rc && known && w->org_name[0])
        rc = zg_jsonw_kv_str(&b, &first, "org", w->org_name);
    if (!rc)
        rc = zg_jsonw_kv_str(&b, &first, "outcome", outcome);
    if (!rc)
        rc = zg_jsonw_kv_str(&b, &first, "path", req->path);
    if (!rc)
        rc = zg_jsonw_kv_str(&b, &first, "phase", phase);
    if (!rc && reason && *reason)
        rc = zg_jsonw_kv_str(&b, &first, "reason", reason);
    if (!rc)
        rc = zg_jsonw_kv_str(&b, &first, "request_id", req->request_id);
    if (!rc && req->route)
        rc = zg_jsonw_kv_str(&b, &first, "resource", req->route->resource);
    if (!rc && known && (w->kind != ZG_AUTH_NONE || w->org_name[0]))
        rc = zg_jsonw_kv_str(&b, &first, "role", zg_role_name(w->role));
    if (!rc)
        rc = zg_jsonw_kv_str(&b, &first, "route", req->route ? req->route->path : req->path);
    if (!rc && !strcmp(phase, "result"))
        rc = zg_jsonw_kv_int(&b, &first, "status", c->status_out);
    if (!rc && req->route)
        rc = zg_jsonw_kv_str(&b, &first, "tier", zg_tier_name(req->route->tier));
    if (!rc)
        rc = zg_jsonw_kv_str(&b, &first, "tool", tool);
    if (!rc)
        rc = zg_jsonw_kv_str(&b, &first, "user", user);
    if (!rc && known)
        rc = zg_jsonw_kv_int(&b, &first, "user_id", (long long)w->user_id);
    if (!rc)
        rc = zg_buf_add(&b, "}", 1);
    if (rc) {
        zg_buf_release(&b);
        return NULL;
    }
    return zg_buf_detach(&b, NULL);
}

/* Writes the audit event of this request. Changes (and sign-ins) wait until their event is
 * durable before anything is acknowledged; reads and denials are group-committed without
 * holding the worker (a crash can lose at most the last few milliseconds of read events,
 * never a change). */
static int write_audit(struct reqctx *c, const char *phase, const char *outcome,
                       const char *reason)
{
#ifdef ZG_BENCH_UNAUDITED
    return 0; /* benchmark-only comparison build (CMake ZG_BENCH_UNAUDITED): nothing is audited */
#endif
    if (c->req.route && (c->req.route->flags & ZG_R_NO_AUDIT))
        return 0;
    bool wait = unsafe_method(c->req.method);
    const char *user = NULL;
    char *text = audit_event_text(c, phase, outcome, reason, &user);
    json_t *data = c->req.audit_data ? json_deep_copy(c->req.audit_data) : NULL;
    int rc = zg_audit_append_raw(c->req.app->audit, text, user,
                                 c->req.route ? c->req.route->action : NULL, data, wait);
    if (rc) {
        atomic_fetch_add(&c->req.app->metrics.audit_failures, 1);
        zg_log(ZG_LOG_ERROR, "audit event for request %s could not be written",
               c->req.request_id);
    }
    return rc;
}

/* --------------------------------------------------------------- query recording ---- */

struct qctx {
    json_t *obj;
    int n;
};

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct qctx *q = cls;
    if (q->n++ >= 32 || !key)
        return MHD_YES;
    char v[201];
    snprintf(v, sizeof(v), "%.200s", value ? value : "");
    json_object_set_new(q->obj, key, json_string(v));
    return MHD_YES;
}

/* ------------------------------------------------------------------- static files ---- */

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    static const struct {
        const char *ext, *type;
    } t[] = {{".html", "text/html; charset=utf-8"},
             {".js", "text/javascript; charset=utf-8"},
             {".mjs", "text/javascript; charset=utf-8"},
             {".css", "text/css; charset=utf-8"},
             {".json", "application/json"},
             {".svg", "image/svg+xml"},
             {".png", "image/png"},
             {".ico", "image/x-icon"},
             {".woff2", "font/woff2"},
             {".txt", "text/plain; charset=utf-8"}};
    for (size_t i = 0; dot && i < ZG_ARRAY_LEN(t); i++)
        if (!strcmp(dot, t[i].ext))
            return t[i].type;
    return NULL;
}

static bool safe_static_path(const char *p)
{
    if (p[0] != '/' || strstr(p, "..") || strstr(p, "//"))
        return false;
    for (const char *s = p; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '/' || *s == '.' || *s == '-' || *s == '_'))
            return false;
    return strlen(p) < 512;
}

static enum MHD_Result serve_static(struct reqctx *c)
{
    struct zg_app *app = c->req.app;
    const char *p = c->req.path;
    if (!strcmp(p, "/"))
        p = "/index.html";
    const char *type = mime_of(p);
    if (!app->web_dir || !safe_static_path(p) || !type)
        return send_problem(c, 404, "not-found", "Not found", "no such page or file", NULL);
    char full[1200];
    snprintf(full, sizeof(full), "%s%s", app->web_dir, p);
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return send_problem(c, 404, "not-found", "Not found", "no such page or file", NULL);
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    add_common_headers(app, r, c->req.request_id, strstr(type, "text/html") != NULL, NULL);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result ret = MHD_queue_response(c->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    c->bytes_out = (size_t)sb.st_size;
    c->status_out = 200;
    return ret;
}

/* --------------------------------------------------------------------- pipeline ---- */

/* Authenticates from Authorization: Bearer or the session cookie. Returns 0 (who may be NONE
 * when no credentials were sent), or ZG_EAUTH when credentials were sent but are bad. */
static int authenticate(struct reqctx *c, struct zg_error *err)
{
    struct zg_req *req = &c->req;
    const char *authz = hdr(c->conn, MHD_HTTP_HEADER_AUTHORIZATION);
    sqlite3 *db = req->conns->db;
    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0)
            return zg_error_set(err, ZG_EAUTH, "", "Authorization must use the Bearer scheme");
        const char *t = authz + 7;
        while (*t == ' ')
            t++;
        return zg_auth_bearer(db, t, &req->who, err);
    }
    const char *cookie = MHD_lookup_connection_value(c->conn, MHD_COOKIE_KIND, "zg_session");
    if (cookie) {
        int rc = zg_auth_session(db, cookie, &req->who, err);
        if (rc && req->route->tier == ZG_TIER_PUBLIC) {
            /* a stale cookie must not block signing in again */
            memset(&req->who, 0, sizeof(req->who));
            return 0;
        }
        return rc;
    }
    return 0;
}

static enum MHD_Result deny(struct reqctx *c, int status, const char *slug, const char *title,
                            const char *detail)
{
    atomic_fetch_add(&c->req.app->metrics.denials, 1);
    enum MHD_Result r = send_problem(c, status, slug, title, detail, NULL);
    write_audit(c, "result", "deny", detail);
    return r;
}

static enum MHD_Result handler_error(struct reqctx *c, int code, struct zg_error *err)
{
    int status;
    const char *slug, *title;
    zg_http_error_status(code, &status, &slug, &title);
    if (c->req.problem_type)
        slug = c->req.problem_type;
    char detail[600];
    json_t *errors = NULL;
    if (status == 500) {
        zg_log(ZG_LOG_ERROR, "request %s (%s %s) failed: %s", c->req.request_id, c->req.method,
               c->req.route ? c->req.route->path : "?", err->reason);
        snprintf(detail, sizeof(detail),
                 "the server could not complete the request; quote request id %s",
                 c->req.request_id);
    } else {
        zg_error_problem_parts(err, detail, sizeof(detail), &errors);
    }
    /* a handler that found several problems reports them all */
    if (status != 500 && json_array_size(c->req.problem_errors)) {
        json_decref(errors);
        errors = json_incref(c->req.problem_errors);
    }
    return send_problem(c, status, slug, title, detail, errors);
}

static enum MHD_Result run_route(struct reqctx *c)
{
    struct zg_req *req = &c->req;
    struct zg_app *app = req->app;
    const struct zg_route *rt = req->route;
    struct zg_error err;
    zg_error_clear(&err);

    /* record the query parameters as the request's options */
    struct qctx q = {json_object(), 0};
    MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    if (json_object_size(q.obj))
        req->audit_options = q.obj;
    else
        json_decref(q.obj);

    req->conns = zg_pool_acquire(app->pool);
    /* a read request sees one snapshot and takes SQLite's locks once, not per statement */
    if (!unsafe_method(req->method) && zg_db_exec(req->conns->db, "BEGIN", NULL) == 0)
        c->read_tx = true;

    /* 1. authentication */
    if (authenticate(c, &err)) {
        memset(&req->who, 0, sizeof(req->who)); /* a failed check leaves no half identity */
        req->audit_user = NULL;
        return deny(c, 401, "unauthenticated", "Authentication required", err.reason);
    }

    /* 2. CSRF: a browser session changing state must echo its CSRF token */
    if (req->who.kind == ZG_AUTH_SESSION && unsafe_method(req->method) &&
        !(rt->flags & ZG_R_LOGIN)) {
        const char *t = hdr(c->conn, "X-CSRF-Token");
        size_t n = strlen(req->who.csrf);
        if (!t || strlen(t) != n || !zg_ct_equal(t, req->who.csrf, n))
            return deny(c, 403, "csrf", "CSRF check failed",
                        "the X-CSRF-Token header is missing or does not match this session");
    }

    /* 3. policy decision */
    struct zg_policy_request pr = {&req->who, rt->tier, rt->action, rt->resource};
    zg_policy_decide(&app->policy, &pr, &req->decision);
    if (!req->decision.allow) {
        const char *code = req->decision.code;
        if (!strcmp(code, "unauthenticated"))
            return deny(c, 401, "unauthenticated", "Authentication required",
                        req->decision.reason);
        if (!strcmp(code, "mfa-required"))
            return deny(c, 403, "mfa-required", "Multi-factor authentication required",
                        req->decision.reason);
        return deny(c, 403, "forbidden", "Forbidden", req->decision.reason);
    }

    /* 4. body */
    if (rt->flags & ZG_R_JSON_BODY) {
        const char *ct = hdr(c->conn, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (c->body.len > 0 && !json_media_type(ct)) {
            enum MHD_Result r = send_problem(c, 415, "unsupported-media-type",
                                             "Unsupported media type",
                                             "send the body as application/json", NULL);
            write_audit(c, "result", "error", "unsupported media type");
            return r;
        }
        json_error_t je;
        req->body = c->body.len ? json_loadb(c->body.p, c->body.len,
                                             JSON_REJECT_DUPLICATES,
                                             &je)
                                : json_object();
        if (!req->body) {
            char d[300];
            snprintf(d, sizeof(d), "body is not valid JSON: %s (line %d, column %d)", je.text,
                     je.line, je.column);
            json_t *errors = json_pack("[{s:s,s:s}]", "pointer", "", "reason", d);
            enum MHD_Result r = send_problem(c, 400, "bad-json", "Malformed JSON", d, errors);
            write_audit(c, "result", "error", "malformed JSON");
            return r;
        }
        if (!json_is_object(req->body)) {
            json_t *errors =
                json_pack("[{s:s,s:s}]", "pointer", "", "reason", "must be a JSON object");
            enum MHD_Result r = send_problem(c, 422, "validation", "Request is invalid",
                                             "body must be a JSON object", errors);
            write_audit(c, "result", "error", "body is not an object");
            return r;
        }
    }

    if (rt->flags & ZG_R_RAW_BODY) {
        const char *ct = hdr(c->conn, MHD_HTTP_HEADER_CONTENT_TYPE);
        size_t n = ct ? strcspn(ct, "; ") : 0;
        if (!ct || n != strlen("application/octet-stream") ||
            strncasecmp(ct, "application/octet-stream", n)) {
            json_t *errors = json_pack("[{s:s,s:s}]", "parameter", "Content-Type", "reason",
                                       "must be application/octet-stream");
            enum MHD_Result r = send_problem(c, 415, "unsupported-media-type",
                                             "Unsupported media type",
                                             "send the body as application/octet-stream", errors);
            write_audit(c, "result", "error", "unsupported media type");
            return r;
        }
        req->raw = (const unsigned char *)c->body.p;
        req->raw_len = c->body.len;
    }

    /* 5. a change is recorded as attempted before it is made */
    bool change = unsafe_method(req->method) && !(rt->flags & ZG_R_LOGIN);
    if (change && write_audit(c, "attempt", "allow", NULL))
        return send_problem(c, 503, "audit-unavailable", "Audit trail unavailable",
                            "the request was not carried out because it could not be audited",
                            NULL);

    /* 6. the handler */
    req->status = 200;
    int rc = rt->handler(req, &err);
    enum MHD_Result ret;
    const char *outcome;
    if (rc) {
        outcome = rc == ZG_EAUTH || rc == ZG_ELOCKED ? "failure" : "error";
        if (rt->flags & ZG_R_LOGIN)
            atomic_fetch_add(&app->metrics.logins_failed, 1);
        json_decref(req->json);
        req->json = NULL;
        /* queued responses leave only after this callback returns, so the audit event below
         * (which carries status and size) is durable before the caller sees anything */
        ret = handler_error(c, rc, &err);
        if (write_audit(c, "result", outcome, c->status_out == 500 ? "internal error" : err.reason))
            zg_log(ZG_LOG_ERROR, "audit result for request %s lost", req->request_id);
        return ret;
    }
    outcome = "success";
    if (rt->flags & ZG_R_LOGIN)
        atomic_fetch_add(&app->metrics.logins_ok, 1);
    if (req->resp_file) {
        /* a byte range of a file: audited first, then handed to the kernel (no copy) */
        c->status_out = req->status;
        c->bytes_out = (size_t)req->resp_fd_len;
        if (write_audit(c, "result", outcome, NULL))
            return send_problem(c, 503, "audit-unavailable", "Audit trail unavailable",
                                "the result could not be audited and is withheld", NULL);
        struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(
            req->resp_fd_len, req->resp_fd, req->resp_fd_offset);
        if (!r)
            return MHD_NO; /* completed() closes the descriptor */
        req->resp_file = false; /* libmicrohttpd closes it with the response */
        add_common_headers(app, r, req->request_id, false, c->cors);
        MHD_add_response_header(r, "Content-Type", req->content_type ? req->content_type
                                                                     : "application/octet-stream");
        MHD_add_response_header(r, "Cache-Control", "no-store");
        for (size_t i = 0; i < req->nresp_headers; i++)
            MHD_add_response_header(r, req->resp_header_names[i], req->resp_header_values[i]);
        enum MHD_Result qr = MHD_queue_response(c->conn, (unsigned)req->status, r);
        MHD_destroy_response(r);
        return qr;
    }
    char *body = NULL;
    size_t len = 0;
    const char *type = "application/json";
    if (req->json) {
        if (req->content_type) /* e.g. application/fhir+json */
            type = req->content_type;
        body = json_dumps(req->json, JSON_COMPACT);
        json_decref(req->json);
        req->json = NULL;
        if (!body)
            return send_problem(c, 500, "internal", "Internal server error",
                                "response could not be serialised", NULL);
        len = strlen(body);
    } else if (req->text) {
        body = malloc(req->text_len ? req->text_len : 1);
        if (!body)
            return MHD_NO;
        memcpy(body, req->text, req->text_len);
        len = req->text_len;
        type = req->content_type ? req->content_type : "text/plain; charset=utf-8";
    }
    /* 7. the result is durable before the caller sees it */
    c->status_out = req->status;
    c->bytes_out = len;
    if (write_audit(c, "result", outcome, NULL)) {
        free(body);
        return send_problem(c, 503, "audit-unavailable", "Audit trail unavailable",
                            "the result could not be audited and is withheld", NULL);
    }
    if (req->status == 204) {
        free(body);
        return send_body(c, 204, NULL, NULL, 0, false);
    }
    return send_body(c, req->status, body ? type : NULL, body ? body : NULL, len, body != NULL);
}

/* -------------------------------------------------------------- MHD callbacks ---- */

/* A CORS preflight for the GA4GH APIs: allowed origins may send GET/POST with a bearer token
 * (no cookies: the portal's session is never usable cross-origin). Not audited: no data. */
static enum MHD_Result preflight(struct reqctx *c)
{
    struct zg_req *req = &c->req;
    const char *m = hdr(c->conn, "Access-Control-Request-Method");
    if (!c->cors)
        return send_problem(c, 403, "cors", "Origin not allowed",
                            "this origin may not call the GA4GH APIs of this server from a "
                            "browser (operators allow origins with zengen serve --cors-origin)",
                            NULL);
    if (m && strcmp(m, "GET") && strcmp(m, "POST") && strcmp(m, "HEAD")) {
        json_t *errors = json_pack("[{s:s,s:s}]", "parameter", "Access-Control-Request-Method",
                                   "reason", "must be GET, HEAD or POST");
        return send_problem(c, 405, "method-not-allowed", "Method not allowed",
                            "the GA4GH APIs accept GET, HEAD and POST", errors);
    }
    if (zg_req_set_header(req, "Access-Control-Allow-Methods", "GET, HEAD, POST") ||
        zg_req_set_header(req, "Access-Control-Allow-Headers",
                          "Authorization, Content-Type, Range, X-Request-Id") ||
        zg_req_set_header(req, "Access-Control-Max-Age", "600"))
        return MHD_NO;
    return send_body(c, 204, NULL, NULL, 0, false);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    struct zg_app *app = cls;
    struct reqctx *c = *con_cls;
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return MHD_NO;
        *con_cls = c;
        c->t0 = zg_clock_mono_us();
        c->conn = conn;
        c->route_idx = ZG_ROUTE_NOT_FOUND;
        struct zg_req *req = &c->req;
        req->app = app;
        req->arena = zg_arena_new(ARENA_LIMIT);
        if (!req->arena)
            return MHD_NO;
        req->transport = conn;
        req->query_fn = query_fn;
        req->header_fn = header_fn;
        req->method = zg_arena_strdup(req->arena, method);
        req->path = zg_arena_strndup(req->arena, url, strnlen(url, ZG_PATH_MAX + 1));
        char rid[40];
        const char *in = hdr(conn, "X-Request-Id");
        bool ok = in && strlen(in) >= 8 && strlen(in) <= 64;
        for (const char *p = in; ok && *p; p++)
            ok = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                 (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '_';
        if (ok) {
            snprintf(rid, sizeof(rid), "%.39s", in);
        } else {
            /* unique, not secret: a per-process random prefix and a counter (no syscall) */
            uint64_t n = atomic_fetch_add(&app->next_request, 1);
            snprintf(rid, sizeof(rid), "%016llx%08llx", (unsigned long long)app->request_prefix,
                     (unsigned long long)(n & 0xffffffffu));
        }
        req->request_id = zg_arena_strdup(req->arena, rid);
        char ip[INET6_ADDRSTRLEN + 1];
        client_ip(app, conn, ip, sizeof(ip));
        req->ip = zg_arena_strdup(req->arena, ip);
        const char *ua = hdr(conn, MHD_HTTP_HEADER_USER_AGENT);
        req->user_agent = ua ? zg_arena_strndup(req->arena, ua, strnlen(ua, 256)) : "";
        const char *cors = cors_origin(app, conn, req->path);
        if (cors)
            c->cors = zg_arena_strdup(req->arena, cors);
        c->route_idx = zg_router_match(app->routes, app->nroutes, method, req->path, req->arena,
                                       req->param_names, req->param_values, &req->nparams);
        if (c->route_idx >= 0)
            req->route = &app->routes[c->route_idx];
        size_t max = req->route && req->route->max_body ? req->route->max_body
                                                        : DEFAULT_MAX_BODY;
        zg_buf_init(&c->body, max);
        if (!strcmp(method, "OPTIONS") && ga4gh_path(req->path)) {
            c->route_idx = ZG_ROUTE_NOT_FOUND;
            req->route = NULL;
            return preflight(c);
        }
        const char *cl = hdr(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > max) {
            char d[120];
            snprintf(d, sizeof(d), "request body exceeds the limit of %zu bytes", max);
            c->overflow = true;
            return send_problem(c, 413, "payload-too-large", "Request is too large", d, NULL);
        }
        if (c->route_idx < 0) {
            bool api = !strncmp(req->path, "/api/", 5) || !strcmp(req->path, "/healthz") ||
                       !strcmp(req->path, "/metrics");
            if (c->route_idx == ZG_ROUTE_BAD_METHOD)
                return send_problem(c, 405, "method-not-allowed", "Method not allowed",
                                    "this path does not accept this method", NULL);
            if (!api && (!strcmp(method, "GET") || !strcmp(method, "HEAD")))
                return serve_static(c);
            return send_problem(c, 404, "not-found", "Not found", "no such resource", NULL);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!c->overflow && zg_buf_add(&c->body, upload_data, *upload_data_size) != 0)
            c->overflow = true;
        *upload_data_size = 0;
        if (c->overflow)
            return MHD_NO; /* a body without Content-Length grew past the limit: hang up */
        return MHD_YES;
    }
    (void)version;
    return run_route(c);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct zg_app *app = cls;
    struct reqctx *c = *con_cls;
    if (!c)
        return;
    struct zg_req *req = &c->req;
    int64_t us = zg_clock_mono_us() - c->t0;
    int status = c->status_out ? c->status_out : 500;
    if (c->route_idx >= 0 && app->metrics.route_status)
        atomic_fetch_add(&app->metrics.route_status[(size_t)c->route_idx * 5 + status_class(status)],
                         1);
    else
        atomic_fetch_add(&app->metrics.unmatched[status_class(status)], 1);
    record_latency(&app->metrics, us);
    if (app->access_log) {
        char ts[32], line[640];
        zg_clock_format(zg_clock_now_ms(), ts, sizeof(ts));
        int n = snprintf(line, sizeof(line),
                         "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"http\",\"request_id\":\"%s\","
                         "\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,\"bytes\":%zu,"
                         "\"ms\":%.3f,\"user_id\":%lld,\"auth\":\"%s\"%s}\n",
                         ts, req->request_id ? req->request_id : "",
                         req->method ? req->method : "",
                         req->route ? req->route->path : "(unmatched)", status, c->bytes_out,
                         (double)us / 1000.0, (long long)req->who.user_id,
                         req->who.kind == ZG_AUTH_SESSION ? "session"
                         : req->who.kind == ZG_AUTH_TOKEN ? "token"
                                                          : "none",
                         toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : ",\"aborted\":true");
        if (n > 0)
            zg_log_json_line(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
    if (req->conns) {
        /* commit, not roll back: the read may have refreshed a session's idle timer */
        if (c->read_tx && !sqlite3_get_autocommit(req->conns->db) &&
            zg_db_exec(req->conns->db, "COMMIT", NULL) != 0)
            zg_log(ZG_LOG_WARN, "request %s: could not commit its read transaction",
                   req->request_id);
        zg_pool_release(app->pool, req->conns);
    }
    if (req->resp_file) /* a file reply that was never sent */
        close(req->resp_fd);
    json_decref(req->body);
    json_decref(req->json);
    json_decref(req->audit_data);
    json_decref(req->audit_options);
    json_decref(req->problem_errors);
    zg_buf_release(&c->body);
    zg_arena_free(req->arena);
    free(c);
    *con_cls = NULL;
    (void)conn;
}

/* libmicrohttpd's log callback: its format strings come from the library itself. */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat-nonliteral"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    zg_log(ZG_LOG_WARN, "http: %s", msg);
    (void)cls;
}
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static char *read_file(const char *path, struct zg_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        zg_error_set(err, ZG_EIO, "--tls-cert", "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct zg_buf b;
    zg_buf_init(&b, 1 << 20);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        if (zg_buf_add(&b, tmp, n)) {
            fclose(f);
            zg_buf_release(&b);
            zg_error_set(err, ZG_ETOOBIG, "--tls-cert", "%s is too large", path);
            return NULL;
        }
    fclose(f);
    return zg_buf_detach(&b, NULL);
}

int zg_server_start(struct zg_app *app, const struct zg_server_options *opt,
                    struct zg_server **out, struct zg_error *err)
{
    struct zg_server *s = calloc(1, sizeof(*s));
    if (!s)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    s->app = app;
    zg_random_bytes(&app->request_prefix, sizeof(app->request_prefix));
    app->metrics.nroutes = app->nroutes;
    app->metrics.route_status = calloc(app->nroutes * 5, sizeof(*app->metrics.route_status));
    if (!app->metrics.route_status) {
        free(s);
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    const char *host = opt->host && *opt->host ? opt->host : "127.0.0.1";
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)opt->port);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)opt->port);
        flags |= MHD_USE_IPv6;
    } else {
        free(app->metrics.route_status);
        free(s);
        return zg_error_set(err, ZG_EINVAL, "--listen",
                            "host must be an IPv4 or IPv6 address, e.g. 127.0.0.1:8080");
    }
    if (opt->tls_cert || opt->tls_key) {
        if (!opt->tls_cert || !opt->tls_key) {
            free(app->metrics.route_status);
            free(s);
            return zg_error_set(err, ZG_EINVAL, "--tls-cert",
                                "TLS needs both --tls-cert and --tls-key");
        }
        s->cert = read_file(opt->tls_cert, err);
        s->key = s->cert ? read_file(opt->tls_key, err) : NULL;
        if (!s->cert || !s->key) {
            free(s->cert);
            free(app->metrics.route_status);
            free(s);
            return ZG_EIO;
        }
        flags |= MHD_USE_TLS;
        app->tls = true;
    }
    unsigned threads = opt->threads;
    if (!threads) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (unsigned)cores * 4 : 8;
        if (threads < 8)
            threads = 8;
    }
    unsigned timeout = opt->timeout_s ? opt->timeout_s : 30;
    if (app->tls)
        s->d = MHD_start_daemon(
            flags, (uint16_t)opt->port, NULL, NULL, access_handler, app,
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, completed,
            app, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
            MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
            MHD_OPTION_HTTPS_MEM_CERT, s->cert,
            MHD_OPTION_HTTPS_MEM_KEY, s->key, MHD_OPTION_HTTPS_PRIORITIES,
            "SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SAFE_RENEGOTIATION",
            MHD_OPTION_END);
    else
        s->d = MHD_start_daemon(
            flags, (uint16_t)opt->port, NULL, NULL, access_handler, app,
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, completed,
            app, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
            MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
            MHD_OPTION_END);
    if (!s->d) {
        free(s->cert);
        free(s->key);
        free(app->metrics.route_status);
        app->metrics.route_status = NULL;
        free(s);
        return zg_error_set(err, ZG_EIO, "--listen", "cannot listen on %s:%u (in use?)", host,
                            opt->port);
    }
    *out = s;
    return 0;
}

void zg_server_stop(struct zg_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    if (s->key)
        zg_wipe(s->key, strlen(s->key));
    free(s->cert);
    free(s->key);
    free(s->app->metrics.route_status);
    s->app->metrics.route_status = NULL;
    free(s);
}
