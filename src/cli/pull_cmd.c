/* zengen pull add|run|status: the center pulling from hospital FHIR servers (docs/gateway.md
 * "Pull", docs/push-vs-pull.md). */
#include "cli.h"
#include "common/clock.h"
#include "gateway/gateway.h"
#include "store/db.h"

#include <curl/curl.h>
#include <signal.h>
#include <time.h>

static volatile sig_atomic_t stop_pull;

static void on_stop(int sig)
{
    (void)sig;
    stop_pull = 1;
}

static int pull_add(int argc, char **argv)
{
    static const char *u = "zengen pull add NAME --url FHIR-BASE --org ORG [--token-file F] "
                           "[--types Patient,Condition,…] [--batch N] [--patient-id-system URI] [--cacert PEM] --data DIR";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *url = zg_args_opt(&a, "--url"), *org = zg_args_opt(&a, "--org");
    const char *tf = zg_args_opt(&a, "--token-file"), *types = zg_args_opt(&a, "--types");
    const char *batch = zg_args_opt(&a, "--batch"), *sys = zg_args_opt(&a, "--patient-id-system");
    const char *ca = zg_args_opt(&a, "--cacert");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, &db, &err))
        return zg_cli_fail(&err);
    const char *name = zg_args_pos(&a, 0);
    int rc = zg_args_done(&a, u);
    if (!rc && (!name || !url || !org))
        rc = zg_cli_usage(u, "NAME, --url and --org are required");
    if (rc)
        goto out;
    json_t *c = json_pack("{s:s,s:s,s:s}", "name", name, "url", url, "org", org);
    if (tf)
        json_object_set_new(c, "token_file", json_string(tf));
    if (sys)
        json_object_set_new(c, "patient_id_system", json_string(sys));
    if (ca)
        json_object_set_new(c, "cacert", json_string(ca));
    if (batch) {
        char *end;
        long b = strtol(batch, &end, 10);
        if (*end || b < 1 || b > 1000) {
            json_decref(c);
            rc = zg_cli_usage(u, "--batch is 1–1000");
            goto out;
        }
        json_object_set_new(c, "batch", json_integer(b));
    }
    if (types) {
        json_t *t = json_array();
        const char *p = types;
        while (*p) {
            size_t n = strcspn(p, ",");
            if (n)
                json_array_append_new(t, json_stringn(p, n));
            p += n;
            if (*p == ',')
                p++;
        }
        json_object_set_new(c, "types", t);
    }
    if (zg_pull_add(&dd, db, c, &err)) {
        rc = zg_cli_fail(&err);
    } else {
        printf("pull source %s: %s (%s)\n", name, url, org);
        json_t *d = json_pack("[s]", name);
        rc = zg_cli_audit(&dd, "pull.source.add", "pull", "success", d, NULL) ? ZG_EXIT_FAIL : 0;
        json_decref(d);
    }
    json_decref(c);
out:
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}

static int pull_run(int argc, char **argv)
{
    static const char *u = "zengen pull run [NAME] [--once] [--interval SECONDS] --data DIR";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    bool once = zg_args_flag(&a, "--once");
    const char *iv = zg_args_opt(&a, "--interval");
    struct zg_datadir dd;
    sqlite3 *db = NULL, *link = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, &db, &err))
        return zg_cli_fail(&err);
    const char *only = zg_args_pos(&a, 0);
    int rc = zg_args_done(&a, u);
    long interval = iv ? strtol(iv, NULL, 10) : 60;
    if (!rc && (interval < 1 || interval > 86400))
        rc = zg_cli_usage(u, "--interval is 1–86400 seconds");
    if (rc || (rc = zg_datadir_connect(&dd, ZG_DB_LINKAGE, &link, &err) ? zg_cli_fail(&err) : 0))
        goto out;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int failed = 0;
    while (!stop_pull) {
        json_t *names = only ? json_pack("[s]", only) : zg_pull_sources(&dd, &err);
        json_t *status = once ? NULL : zg_pull_status(&dd, &err);
        size_t i;
        json_t *n;
        failed = 0;
        json_array_foreach(names, i, n) {
            const char *name = json_string_value(n);
            if (stop_pull)
                break;
            /* a failing source waits for its back-off, except when asked for explicitly */
            size_t k;
            json_t *s;
            bool wait = false;
            json_array_foreach(json_object_get(status, "sources"), k, s)
                if (!strcmp(json_string_value(json_object_get(s, "name")) ?: "", name) &&
                    json_integer_value(json_object_get(s, "next_attempt_at")) > zg_clock_now())
                    wait = true;
            if (wait)
                continue;
            struct zg_pull_stats st;
            struct zg_error e;
            zg_error_clear(&e);
            int64_t t0 = zg_clock_mono_ms();
            int prc = zg_pull_run(&dd, db, link, name, &st, &e);
            fprintf(stderr,
                    "pull %s: %lld fetched, %lld imported, %lld unchanged, %lld failed, "
                    "%lld unmapped items, %lld requests (%lld retries) in %lld ms%s%s\n",
                    name, (long long)st.fetched, (long long)st.imported, (long long)st.unchanged,
                    (long long)st.failed, (long long)st.unmapped, (long long)st.requests,
                    (long long)st.retries, (long long)(zg_clock_mono_ms() - t0),
                    prc ? ": " : "", prc ? e.reason : "");
            if (prc) {
                failed++;
                if (prc == ZG_ENOTFOUND) {
                    zg_cli_fail(&e);
                    stop_pull = 1;
                }
            }
            json_t *d = json_pack("[s]", name);
            json_t *o = json_pack("{s:I,s:I}", "imported", (json_int_t)st.imported, "failed",
                                  (json_int_t)st.failed);
            if (zg_cli_audit(&dd, "pull.run", "pull", prc ? "failure" : "success", d, o))
                failed++;
            json_decref(d);
            json_decref(o);
        }
        json_decref(names);
        json_decref(status);
        if (once)
            break;
        for (long t = 0; t < interval * 10 && !stop_pull; t++) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    curl_global_cleanup();
    rc = failed ? ZG_EXIT_FAIL : ZG_EXIT_OK;
out:
    zg_db_close(link);
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}

static int pull_status(int argc, char **argv)
{
    static const char *u = "zengen pull status [--json] --data DIR";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    bool as_json = zg_args_flag(&a, "--json");
    struct zg_datadir dd;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, NULL, &err))
        return zg_cli_fail(&err);
    int rc = zg_args_done(&a, u);
    if (rc) {
        zg_datadir_close(&dd);
        return rc;
    }
    json_t *j = zg_pull_status(&dd, &err);
    zg_datadir_close(&dd);
    if (as_json) {
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s)
            puts(s);
        free(s);
    } else {
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(j, "sources"), i, s) {
            printf("%s: %s  %s (%s)\n", json_string_value(json_object_get(s, "name")),
                   json_string_value(json_object_get(s, "state")),
                   json_string_value(json_object_get(s, "url")),
                   json_string_value(json_object_get(s, "org")));
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(s, "checkpoints"), k, v)
                printf("  %-20s up to %s\n", k, json_string_value(v));
            json_t *lr = json_object_get(s, "last_run");
            if (lr)
                printf("  last run: %lld fetched, %lld imported, %lld failed, %lld requests\n",
                       (long long)json_integer_value(json_object_get(lr, "fetched")),
                       (long long)json_integer_value(json_object_get(lr, "imported")),
                       (long long)json_integer_value(json_object_get(lr, "failed")),
                       (long long)json_integer_value(json_object_get(lr, "requests")));
            const char *le = json_string_value(json_object_get(s, "last_error"));
            if (le)
                printf("  last error: %s (%lld failures in a row)\n", le,
                       (long long)json_integer_value(json_object_get(s, "consecutive_failures")));
            size_t f;
            json_t *x;
            json_array_foreach(json_object_get(s, "failures"), f, x)
                printf("  not imported: %s: %s %s\n", json_string_value(json_object_get(x, "resource")),
                       json_string_value(json_object_get(x, "pointer")),
                       json_string_value(json_object_get(x, "reason")));
        }
        if (!json_array_size(json_object_get(j, "sources")))
            printf("no pull sources (zengen pull add)\n");
    }
    json_decref(j);
    return ZG_EXIT_OK;
}

int zg_cmd_pull(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "add"))
        return pull_add(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "run"))
        return pull_run(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "status"))
        return pull_status(argc - 1, argv + 1);
    return zg_cli_usage("zengen pull add|run|status …", "say what to do");
}
