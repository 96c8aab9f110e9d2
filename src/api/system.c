/* System routes: health, Prometheus metrics, the OpenAPI document. */
#include "api.h"
#include "audit/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"

int zg_api_healthz(struct zg_req *req, struct zg_error *err)
{
#ifdef ZG_BENCH_UNAUDITED
    return zg_req_reply(req, 200, json_pack("{s:s,s:s,s:s}", "status", "ok", "version", ZG_VERSION,
                                            "build", "UNAUDITED BENCHMARK BUILD - DO NOT DEPLOY"));
#else
    return zg_req_reply(req, 200, json_pack("{s:s,s:s}", "status", "ok", "version", ZG_VERSION));
#endif
}

int zg_api_openapi(struct zg_req *req, struct zg_error *err)
{
    size_t n = 0;
    const char *doc = zg_api_openapi_document(&n);
    if (!doc)
        return zg_error_set(err, ZG_EINTERNAL, "", "the embedded OpenAPI fragments do not merge");
    req->text = doc;
    req->text_len = n;
    req->content_type = "application/json";
    return 0;
}

#define ADD(...)                                                                               \
    do {                                                                                       \
        if (zg_buf_addf(&b, __VA_ARGS__))                                                      \
            goto toobig;                                                                       \
    } while (0)

int zg_api_metrics(struct zg_req *req, struct zg_error *err)
{
    struct zg_app *app = req->app;
    struct zg_metrics *m = &app->metrics;
    struct zg_buf b;
    zg_buf_init(&b, 4 << 20);
    static const char *cls[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    ADD("# HELP zengen_build_info Build information.\n# TYPE zengen_build_info gauge\n"
        "zengen_build_info{version=\"%s\"} 1\n",
        ZG_VERSION);
    ADD("# HELP zengen_start_time_seconds Start time of the server.\n"
        "# TYPE zengen_start_time_seconds gauge\nzengen_start_time_seconds %lld\n",
        (long long)app->started_at);
    ADD("# HELP zengen_http_requests_total HTTP requests by route and status class.\n"
        "# TYPE zengen_http_requests_total counter\n");
    for (size_t i = 0; m->route_status && i < m->nroutes; i++)
        for (int k = 0; k < 5; k++) {
            uint64_t v = atomic_load(&m->route_status[i * 5 + (size_t)k]);
            if (v)
                ADD("zengen_http_requests_total{method=\"%s\",route=\"%s\",code=\"%s\"} %llu\n",
                    app->routes[i].method, app->routes[i].path, cls[k], (unsigned long long)v);
        }
    for (int k = 0; k < 5; k++) {
        uint64_t v = atomic_load(&m->unmatched[k]);
        if (v)
            ADD("zengen_http_requests_total{method=\"\",route=\"(unmatched)\",code=\"%s\"} %llu\n",
                cls[k], (unsigned long long)v);
    }
    static const char *le[] = {"0.001", "0.002", "0.005", "0.01", "0.025", "0.05",
                               "0.1",   "0.25",  "0.5",   "1",    "2.5",   "+Inf"};
    ADD("# HELP zengen_http_request_duration_seconds Request latency.\n"
        "# TYPE zengen_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < 12; i++) {
        cum += atomic_load(&m->latency_buckets[i]);
        ADD("zengen_http_request_duration_seconds_bucket{le=\"%s\"} %llu\n", le[i],
            (unsigned long long)cum);
    }
    ADD("zengen_http_request_duration_seconds_sum %.6f\n",
        (double)atomic_load(&m->latency_sum_us) / 1e6);
    ADD("zengen_http_request_duration_seconds_count %llu\n",
        (unsigned long long)atomic_load(&m->latency_count));
    ADD("# HELP zengen_logins_total Sign-in attempts by outcome.\n# TYPE zengen_logins_total "
        "counter\nzengen_logins_total{outcome=\"success\"} %llu\n"
        "zengen_logins_total{outcome=\"failure\"} %llu\n",
        (unsigned long long)atomic_load(&m->logins_ok),
        (unsigned long long)atomic_load(&m->logins_failed));
    ADD("# HELP zengen_policy_denials_total Requests denied by authentication, CSRF or policy.\n"
        "# TYPE zengen_policy_denials_total counter\nzengen_policy_denials_total %llu\n",
        (unsigned long long)atomic_load(&m->denials));
    struct zg_audit_stats as;
    zg_audit_stats(app->audit, &as);
    ADD("# HELP zengen_audit_events_total Audit events committed.\n"
        "# TYPE zengen_audit_events_total counter\nzengen_audit_events_total %llu\n"
        "# HELP zengen_audit_batches_total Audit group commits.\n"
        "# TYPE zengen_audit_batches_total counter\nzengen_audit_batches_total %llu\n"
        "# HELP zengen_audit_failures_total Audit events that could not be written.\n"
        "# TYPE zengen_audit_failures_total counter\nzengen_audit_failures_total %llu\n",
        (unsigned long long)as.events, (unsigned long long)as.batches,
        (unsigned long long)(as.failures + atomic_load(&m->audit_failures)));
    size_t n = b.len;
    char *text = zg_arena_alloc(req->arena, n + 1);
    if (!text) {
        zg_buf_release(&b);
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    memcpy(text, b.p, n + 1);
    zg_buf_release(&b);
    req->text = text;
    req->text_len = n;
    req->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return 0;
toobig:
    zg_buf_release(&b);
    return zg_error_set(err, ZG_EINTERNAL, "", "metrics output exceeded its bound");
}
