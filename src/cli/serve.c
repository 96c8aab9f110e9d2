/* zengen serve: the data-center server. */
#include "cli.h"
#include "api/api.h"
#include "audit/audit.h"
#include "common/clock.h"
#include "common/log.h"
#include "genome/cohort.h"
#include "genome/htsget.h"
#include "http/server.h"
#include "svc/jobs.h"
#include "store/keyshare.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

/* Frees what zg_cmd_serve set up in app (each part may be absent). */
static void app_free(struct zg_app *app)
{
    zg_jobs_stop(app->jobs); /* a running job is stopped and queued again */
    zg_unseal_free(app->unseal);
    zg_cohort_cache_free(app->cohort);
    zg_hg_cache_free(app->hg_cache);
    zg_audit_close(app->audit);
    zg_pool_close(app->pool);
    zg_datadir_close(&app->dd);
}

/* A cohort index written by an earlier zengen is rebuilt before requests are served. */
static int upgrade_index(struct zg_app *app, struct zg_error *err)
{
    struct zg_conns *c = zg_pool_acquire(app->pool);
    bool rebuilt = false;
    int rc = zg_cohort_upgrade(&app->dd, c->db, &rebuilt, err);
    zg_pool_release(app->pool, c);
    if (!rc && rebuilt)
        zg_log(ZG_LOG_INFO, "the cohort index was rebuilt in the current format");
    return rc;
}

int zg_cmd_serve(int argc, char **argv)
{
    static const char *u = "zengen serve --data DIR [--listen HOST:PORT] [--web DIR] "
                           "[--threads N] [--tls-cert PEM --tls-key PEM] [--k-min N] "
                           "[--job-workers N] [--cors-origin ORIGINS] [--trusted-proxy IPS] "
                           "[--no-access-log]";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *listen = zg_args_opt(&a, "--listen");
    const char *web = zg_args_opt(&a, "--web");
    const char *threads = zg_args_opt(&a, "--threads");
    const char *cert = zg_args_opt(&a, "--tls-cert"), *key = zg_args_opt(&a, "--tls-key");
    const char *kmin = zg_args_opt(&a, "--k-min");
    const char *workers = zg_args_opt(&a, "--job-workers");
    const char *cors = zg_args_opt(&a, "--cors-origin");
    const char *proxies = zg_args_opt(&a, "--trusted-proxy");
    bool no_log = zg_args_flag(&a, "--no-access-log");
    struct zg_server_options opt = {0};
    char host[64] = "127.0.0.1";
    opt.port = 8080;
    if (listen) {
        const char *colon = strrchr(listen, ':');
        char *end = NULL;
        unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
        if (!colon || !*(colon + 1) || *end || port == 0 || port > 65535 ||
            (size_t)(colon - listen) >= sizeof(host))
            return zg_cli_usage(u, "--listen must be HOST:PORT, e.g. 127.0.0.1:8080");
        const char *h = listen;
        size_t hl = (size_t)(colon - listen);
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
            h++;
            hl -= 2;
        }
        snprintf(host, sizeof(host), "%.*s", (int)hl, h);
        opt.port = (unsigned)port;
    }
    opt.host = host;
    if (threads) {
        char *end = NULL;
        unsigned long t = strtoul(threads, &end, 10);
        if (!*threads || *end || t < 1 || t > 256)
            return zg_cli_usage(u, "--threads must be 1..256");
        opt.threads = (unsigned)t;
    }
    opt.tls_cert = cert;
    opt.tls_key = key;
    size_t nworkers = 1;
    if (workers) {
        char *end = NULL;
        unsigned long w = strtoul(workers, &end, 10);
        if (!*workers || *end || w > 16)
            return zg_cli_usage(u, "--job-workers must be 0..16");
        nworkers = w;
    }

    struct zg_app app;
    memset(&app, 0, sizeof(app));
    app.policy.k_min = 5;
    if (kmin) {
        char *end = NULL;
        long k = strtol(kmin, &end, 10);
        if (!*kmin || *end || k < 1 || k > 1000)
            return zg_cli_usage(u, "--k-min must be 1..1000");
        app.policy.k_min = (int)k;
    }
    struct zg_error err;
    zg_error_clear(&err);
    int rc = zg_cli_open(&a, &app.dd, NULL, &err);
    if (rc)
        return zg_cli_fail(&err);
    if ((rc = zg_args_done(&a, u)))
        return rc;
    app.web_dir = web ? web : getenv("ZENGEN_WEB") ? getenv("ZENGEN_WEB") : ZG_WEB_DIR;
    app.routes = zg_api_routes;
    app.nroutes = zg_api_nroutes;
    app.access_log = !no_log;
    if (cors && (!*cors || (strcmp(cors, "*") && strncmp(cors, "http://", 7) &&
                            strncmp(cors, "https://", 8))))
        return zg_cli_usage(u, "--cors-origin must be '*' or origins like https://igv.org "
                               "(comma-separated)");
    app.cors_origins = cors;
    if (proxies) {
        char one[64];
        for (const char *p = proxies; *p;) {
            size_t k = strcspn(p, ",");
            unsigned char bin[16];
            if (k == 0 || k >= sizeof(one))
                return zg_cli_usage(u, "--trusted-proxy must be IP addresses, comma-separated");
            memcpy(one, p, k);
            one[k] = '\0';
            if (inet_pton(AF_INET, one, bin) != 1 && inet_pton(AF_INET6, one, bin) != 1)
                return zg_cli_usage(u, "--trusted-proxy: '%s' is not an IP address", one);
            p += k + (p[k] == ',');
        }
    }
    app.trusted_proxies = proxies;
    app.started_at = zg_clock_now();

    /* signals are taken by this thread only: block them before any thread starts */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    unsigned nthreads = opt.threads ? opt.threads : 0;
    if (!nthreads) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = cores > 0 ? (unsigned)cores * 4 : 8;
        if (nthreads < 8)
            nthreads = 8;
        opt.threads = nthreads;
    }
    struct zg_server *srv = NULL;
    if ((rc = zg_pool_open(&app.dd, nthreads + 2, &app.pool, &err)) ||
        (rc = zg_audit_open(&app.dd, &app.audit, &err)) ||
        (rc = zg_hg_cache_new(64, (size_t)256 << 20, &app.hg_cache, &err)) ||
        (rc = zg_cohort_cache_new(&app.cohort)
                  ? zg_error_set(&err, ZG_ENOMEM, "", "out of memory")
                  : 0) ||
        (rc = upgrade_index(&app, &err)) ||
        (rc = zg_jobs_start(&app, nworkers, &app.jobs, &err)) ||
        (rc = (app.unseal = zg_unseal_new()) ? 0
                                             : zg_error_set(&err, ZG_ENOMEM, "", "out of memory")) ||
        (rc = zg_server_start(&app, &opt, &srv, &err))) {
        app_free(&app);
        return zg_cli_fail(&err);
    }
    if (!zg_datadir_linkage_ready(&app.dd))
        zg_log(ZG_LOG_WARN,
               "the linkage store is sealed: %d of %d key holders must unseal it (POST "
               "/api/v1/admin/linkage/unseal); until then hospital patient IDs cannot be linked",
               app.dd.seal_k, app.dd.seal_n);
    bool v6 = strchr(host, ':') != NULL;
    zg_log(ZG_LOG_INFO, "listening on %s://%s%s%s:%u (data %s, %u threads)",
           app.tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", opt.port, app.dd.path,
           nthreads);
#ifdef ZG_BENCH_UNAUDITED
    zg_log(ZG_LOG_ERROR, "UNAUDITED BENCHMARK BUILD: nothing is audited. Never deploy this binary.");
#endif
    int sig = 0;
    sigwait(&set, &sig);
    zg_log(ZG_LOG_INFO, "stopping on signal %d", sig);
    zg_server_stop(srv);
    app_free(&app);
    return ZG_EXIT_OK;
}
