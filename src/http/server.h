/* The HTTP server on libmicrohttpd: thread pool + epoll, per-request arena, body limits,
 * problem+json errors, request ids, access log, static portal files, optional TLS. For every
 * route it authenticates, checks CSRF, asks the policy decision point and writes the audit
 * event(s) — the handler runs only when all of that allowed it. */
#ifndef ZG_SERVER_H
#define ZG_SERVER_H

#include "svc/svc.h"

struct zg_error;
struct zg_server;

struct zg_server_options {
    const char *host;     /* "127.0.0.1" (IPv4 or IPv6 literal) */
    unsigned port;
    unsigned threads;     /* worker threads (0 → 4 × cores, at least 8) */
    unsigned timeout_s;   /* idle connection timeout (0 → 30) */
    const char *tls_cert; /* PEM paths; both set → HTTPS only (TLS 1.2+) */
    const char *tls_key;
};

/* Starts serving app. Returns 0 or ZG_EIO/ZG_EINVAL with err. */
int zg_server_start(struct zg_app *app, const struct zg_server_options *opt,
                    struct zg_server **out, struct zg_error *err) ZG_MUST_CHECK;

/* Stops accepting, finishes running requests and frees the server. */
void zg_server_stop(struct zg_server *s);

/* Builds an RFC 9457 problem object: {type:"/problems/<slug>",title,status,detail,instance,
 * request_id} (exposed for tests and the fuzz target). */
json_t *zg_http_problem(int status, const char *slug, const char *title, const char *detail,
                        const char *instance, const char *request_id);

/* Maps a handler error to status, problem slug and title. */
void zg_http_error_status(int code, int *status, const char **slug, const char **title);

#endif
