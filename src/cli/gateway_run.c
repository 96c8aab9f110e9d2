/* zengen gateway: the hospital side. Watches SS-MIX2 storage and CSV exports, converts and
 * de-identifies, queues durably in the state directory and pushes to the center.
 * zengen gateway status: what the queue holds. Operator guide: docs/gateway.md. */
#include "cli.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "gateway/gateway.h"
#include "gateway/hl7.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct scan_stats {
    int queued, quarantined, skipped, records;
};

/* Handles the new files of one input folder (kind "ssmix2" or "csv"). */
static int scan_source(struct zg_gw_state *st, const char *kind, const char *root,
                       const struct zg_gw_mapping *map, int64_t settle, struct scan_stats *ss,
                       struct zg_error *err)
{
    struct zg_gw_file *files = NULL;
    size_t nf = 0;
    int rc = zg_gw_list_files(root, settle, &files, &nf, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < nf && !stop_requested; i++) {
        struct zg_gw_file *f = &files[i];
        bool seen;
        if ((rc = zg_gw_file_seen(st, kind, f->rel, f->size, f->mtime, &seen, err)))
            break;
        if (seen)
            continue;
        bool is_csv = !strcmp(kind, "csv");
        const char *base = strrchr(f->rel, '/');
        base = base ? base + 1 : f->rel;
        if (is_csv && !zg_gw_mapping_matches(map, base)) {
            if ((rc = zg_gw_skip(st, kind, f->rel, f->size, f->mtime,
                                 "no CSV layout of the mapping matches the file name", err)))
                break;
            ss->skipped++;
            continue;
        }
        if (!is_csv && zg_gw_ssmix2_withdrawn(f->rel)) {
            if ((rc = zg_gw_skip(st, kind, f->rel, f->size, f->mtime,
                                 "withdrawn (condition flag 0)", err)))
                break;
            ss->skipped++;
            continue;
        }
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", root, f->rel);
        char *raw = NULL;
        size_t n = 0;
        struct zg_error ce;
        zg_error_clear(&ce);
        struct zg_gw_record *recs = NULL;
        size_t nrecs = 0;
        const char *skip = NULL;
        int crc = zg_gw_read_file(path, is_csv ? (size_t)64 << 20 : ZG_HL7_MAX_BYTES, &raw, &n, &ce);
        if (crc == ZG_EIO) { /* vanished or unreadable: try again next round */
            /* SS-MIX2 paths contain patient IDs: logs name no file */
            zg_log(ZG_LOG_WARN, "gateway: cannot read a %s file (retried next scan): %s", kind,
                   ce.reason);
            continue;
        }
        if (!crc && !is_csv && !zg_gw_ssmix2_name_ok(f->rel) &&
            !(n >= 3 && (!memcmp(raw, "MSH", 3) || (raw[0] == '\x0b' && n >= 4 && !memcmp(raw + 1, "MSH", 3)))))
            skip = "not an SS-MIX2 message file";
        else if (!crc)
            crc = is_csv ? zg_gw_convert_csv(map, base, raw, n, &recs, &nrecs, &ce)
                         : zg_gw_convert_ssmix2(map, raw, n, &recs, &nrecs, &skip, &ce);
        if (crc == ZG_ENOMEM || crc == ZG_EINTERNAL) {
            free(raw);
            rc = zg_error_set(err, crc, "", "%s", ce.reason);
            break;
        }
        if (crc) {
            char reason[600];
            snprintf(reason, sizeof(reason), "%s%s%s", ce.field, ce.field[0] ? ": " : "", ce.reason);
            rc = zg_gw_quarantine(st, kind, f->rel, f->size, f->mtime, raw ? raw : "", raw ? n : 0,
                                  reason, err);
            ss->quarantined++;
            zg_log(ZG_LOG_WARN, "gateway: quarantined a %s file (see gateway status): %s", kind,
                   reason);
        } else if (!nrecs) {
            rc = zg_gw_skip(st, kind, f->rel, f->size, f->mtime, skip ? skip : "no records", err);
            ss->skipped++;
            zg_log(ZG_LOG_DEBUG, "gateway: skipped a %s file: %s", kind, skip ? skip : "no records");
        } else {
            rc = zg_gw_enqueue(st, kind, f->rel, f->size, f->mtime, "queued", recs, nrecs, err);
            ss->queued++;
            ss->records += (int)nrecs;
        }
        zg_gw_records_free(recs, nrecs);
        free(raw);
        if (rc)
            break;
    }
    zg_gw_files_free(files, nf);
    return rc;
}

static int cmd_status(int argc, char **argv)
{
    static const char *u = "zengen gateway status --state DIR [--json]";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *state = zg_args_opt(&a, "--state");
    (void)zg_args_opt(&a, "--data"); /* accepted like every command; the gateway has none */
    bool as_json = zg_args_flag(&a, "--json");
    int rc = zg_args_done(&a, u);
    if (rc)
        return rc;
    if (!state)
        return zg_cli_usage(u, "--state is required");
    struct zg_error err;
    zg_error_clear(&err);
    struct stat sb;
    char dbp[1200];
    snprintf(dbp, sizeof(dbp), "%s/gateway.db", state);
    if (stat(dbp, &sb))
        return zg_cli_usage(u, "%s is not a gateway state directory", state);
    struct zg_gw_state *st;
    if (zg_gw_state_open(state, &st, &err))
        return zg_cli_fail(&err);
    json_t *j = zg_gw_status(st, &err);
    zg_gw_state_close(st);
    if (!j)
        return zg_cli_fail(&err);
    if (as_json) {
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s)
            puts(s);
        free(s);
    } else {
        json_t *q = json_object_get(j, "queue"), *f = json_object_get(j, "files");
        printf("queue: %lld pending, %lld sent, %lld rejected\n",
               (long long)json_integer_value(json_object_get(q, "pending")),
               (long long)json_integer_value(json_object_get(q, "sent")),
               (long long)json_integer_value(json_object_get(q, "rejected")));
        printf("files: %lld queued, %lld quarantined, %lld skipped\n",
               (long long)json_integer_value(json_object_get(f, "queued")),
               (long long)json_integer_value(json_object_get(f, "quarantined")),
               (long long)json_integer_value(json_object_get(f, "skipped")));
        printf("linkage cached: %lld patients\n",
               (long long)json_integer_value(json_object_get(j, "linkage_cached")));
        const char *sk;
        json_t *sv;
        json_object_foreach(json_object_get(j, "skipped_by_reason"), sk, sv)
            printf("skipped: %lld file(s): %s\n", (long long)json_integer_value(sv), sk);
        printf("items the model has no place for: %lld\n",
               (long long)json_integer_value(json_object_get(j, "unmapped_items")));
        json_t *lp = json_object_get(j, "last_push_at");
        if (lp) {
            char ts[40];
            zg_clock_format(json_integer_value(lp) * 1000, ts, sizeof(ts));
            printf("last push: %s\n", ts);
        }
        const char *le = json_string_value(json_object_get(j, "last_error"));
        if (le && json_integer_value(json_object_get(q, "pending")) > 0)
            printf("last error: %s\n", le);
        json_t *x;
        size_t i;
        json_array_foreach(json_object_get(j, "quarantine"), i, x)
            printf("quarantined: %s: %s\n", json_string_value(json_object_get(x, "file")),
                   json_string_value(json_object_get(x, "reason")));
        json_array_foreach(json_object_get(j, "rejected"), i, x)
            printf("rejected: item %lld (%s): %s\n",
                   (long long)json_integer_value(json_object_get(x, "seq")),
                   json_string_value(json_object_get(x, "message_type")),
                   json_string_value(json_object_get(x, "reason")));
    }
    json_decref(j);
    return ZG_EXIT_OK;
}

static int cmd_rescan(int argc, char **argv)
{
    static const char *u = "zengen gateway rescan --state DIR [--quarantined | --skipped]";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *state = zg_args_opt(&a, "--state");
    (void)zg_args_opt(&a, "--data");
    bool q = zg_args_flag(&a, "--quarantined"), sk = zg_args_flag(&a, "--skipped");
    int rc = zg_args_done(&a, u);
    if (rc)
        return rc;
    if (!state || (q && sk))
        return zg_cli_usage(u, "--state is required; choose at most one of --quarantined, --skipped");
    struct zg_error err;
    zg_error_clear(&err);
    char dbp[1200];
    struct stat sb;
    snprintf(dbp, sizeof(dbp), "%s/gateway.db", state);
    if (stat(dbp, &sb))
        return zg_cli_usage(u, "%s is not a gateway state directory", state);
    struct zg_gw_state *st;
    if (zg_gw_state_open(state, &st, &err))
        return zg_cli_fail(&err);
    int64_t n = 0;
    rc = zg_gw_forget_files(st, q ? "quarantined" : sk ? "skipped" : NULL, &n, &err);
    zg_gw_state_close(st);
    if (rc)
        return zg_cli_fail(&err);
    printf("%lld file(s) will be read again at the next scan\n", (long long)n);
    return ZG_EXIT_OK;
}

int zg_cmd_gateway(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "status"))
        return cmd_status(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "rescan"))
        return cmd_rescan(argc - 1, argv + 1);
    static const char *u =
        "zengen gateway --ssmix2 DIR --center URL --token-file FILE [--csv DIR --mapping FILE]\n"
        "               [--state DIR] [--interval SECONDS] [--settle SECONDS] [--cacert PEM] [--once]\n"
        "       zengen gateway status --state DIR [--json]\n"
        "       zengen gateway rescan --state DIR [--quarantined | --skipped]";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *ssmix2 = zg_args_opt(&a, "--ssmix2"), *center = zg_args_opt(&a, "--center");
    const char *token_file = zg_args_opt(&a, "--token-file"), *csv = zg_args_opt(&a, "--csv");
    const char *mapping = zg_args_opt(&a, "--mapping"), *state = zg_args_opt(&a, "--state");
    const char *interval_s = zg_args_opt(&a, "--interval"), *settle_s = zg_args_opt(&a, "--settle");
    const char *cacert = zg_args_opt(&a, "--cacert");
    bool once = zg_args_flag(&a, "--once");
    (void)zg_args_opt(&a, "--data"); /* accepted like every command; the gateway has none */
    int rc = zg_args_done(&a, u);
    if (rc)
        return rc;
    if (!ssmix2 && !csv)
        return zg_cli_usage(u, "give --ssmix2 DIR and/or --csv DIR");
    if (!center || !token_file)
        return zg_cli_usage(u, "--center and --token-file are required");
    if (strncmp(center, "https://", 8) && strncmp(center, "http://", 7))
        return zg_cli_usage(u, "--center must be an http(s):// URL");
    if (!strncmp(center, "http://", 7) && !strstr(center, "://127.0.0.1") &&
        !strstr(center, "://localhost") && !strstr(center, "://[::1]"))
        zg_log(ZG_LOG_WARN, "gateway: --center is plain http; use https outside a test");
    if (csv && !mapping)
        return zg_cli_usage(u, "--csv needs --mapping FILE");
    if (cacert && access(cacert, R_OK))
        return zg_cli_usage(u, "--cacert: cannot read %s", cacert);
    long interval = interval_s ? strtol(interval_s, NULL, 10) : 10;
    long settle = settle_s ? strtol(settle_s, NULL, 10) : 2;
    if (interval < 1 || interval > 86400 || settle < 0 || settle > 3600)
        return zg_cli_usage(u, "--interval is 1–86400 seconds, --settle 0–3600");
    if (!state)
        state = "zengen-gateway-state";

    struct zg_error err;
    zg_error_clear(&err);
    char token[512];
    if (zg_cli_read_token(token_file, token, sizeof(token), &err))
        return zg_cli_fail(&err);
    struct zg_gw_mapping *map = NULL;
    if (mapping && zg_gw_mapping_load(mapping, &map, &err)) {
        memset(token, 0, sizeof(token));
        return zg_cli_fail(&err);
    }
    struct zg_gw_state *st = NULL;
    if (zg_gw_state_open(state, &st, &err)) {
        zg_gw_mapping_free(map);
        memset(token, 0, sizeof(token));
        return zg_cli_fail(&err);
    }
    /* one gateway per state directory: a second one would race on the queue */
    char lockp[1200];
    snprintf(lockp, sizeof(lockp), "%s/gateway.lock", state);
    int lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB)) {
        if (lockfd >= 0)
            close(lockfd);
        zg_gw_state_close(st);
        zg_gw_mapping_free(map);
        memset(token, 0, sizeof(token));
        zg_error_set(&err, ZG_ECONFLICT, "--state", "another gateway is running on %s", state);
        return zg_cli_fail(&err);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    struct zg_gw_center c = {center, token, 60, cacert};
    int exit_code = ZG_EXIT_OK;
    int64_t total_sent = 0;
    fprintf(stderr, "gateway: watching%s%s%s%s, pushing to %s, state in %s\n",
            ssmix2 ? " SS-MIX2 " : "", ssmix2 ? ssmix2 : "", csv ? " CSV " : "", csv ? csv : "",
            center, state);
    while (!stop_requested) {
        struct scan_stats ss = {0};
        if ((ssmix2 && scan_source(st, "ssmix2", ssmix2, map, settle, &ss, &err)) ||
            (csv && scan_source(st, "csv", csv, map, settle, &ss, &err))) {
            fprintf(stderr, "gateway: scanning failed: %s\n", err.reason);
            exit_code = ZG_EXIT_FAIL;
            break;
        }
        if (ss.queued || ss.quarantined || ss.skipped)
            fprintf(stderr, "gateway: %d new file(s): %d queued (%d records), %d quarantined, %d skipped\n",
                    ss.queued + ss.quarantined + ss.skipped, ss.queued, ss.records,
                    ss.quarantined, ss.skipped);
        int sent = 0, rejected = 0;
        bool blocked = false;
        /* drain in rounds of 200 so that status stays fresh and a stop request is honoured */
        for (;;) {
            int s1, r1;
            if (zg_gw_push_due(st, &c, 200, &s1, &r1, &blocked, &err)) {
                fprintf(stderr, "gateway: local state failure: %s\n", err.reason);
                exit_code = ZG_EXIT_FAIL;
                stop_requested = 1;
                break;
            }
            sent += s1;
            rejected += r1;
            if (blocked || s1 + r1 < 200 || stop_requested)
                break;
            struct zg_error se;
            zg_error_clear(&se);
            (void)!zg_gw_write_status(st, NULL, &se);
        }
        total_sent += sent;
        json_t *extra = json_pack("{s:s,s:I,s:b}", "center", center, "pid", (json_int_t)getpid(),
                                  "running", !stop_requested && !once);
        struct zg_error se;
        zg_error_clear(&se);
        if (zg_gw_write_status(st, extra, &se))
            fprintf(stderr, "gateway: cannot write status.json: %s\n", se.reason);
        json_decref(extra);
        json_t *s = zg_gw_status(st, &se);
        int64_t pending = json_integer_value(json_object_get(json_object_get(s, "queue"), "pending"));
        int64_t next_retry = json_integer_value(json_object_get(s, "next_retry_at"));
        json_decref(s);
        if (sent || rejected)
            fprintf(stderr, "gateway: sent %d, rejected %d, %lld pending\n", sent, rejected,
                    (long long)pending);
        if (once) {
            if (pending > 0) {
                fprintf(stderr, "gateway: %lld item(s) still pending (%s)\n", (long long)pending,
                        blocked ? "the center is not reachable or refused them for now" : "");
                exit_code = ZG_EXIT_FAIL;
            }
            break;
        }
        /* sleep until the next scan or the next retry, whichever comes first */
        int64_t wait = interval;
        if (pending > 0 && next_retry > 0) {
            int64_t until = next_retry - zg_clock_now();
            wait = until < 1 ? 1 : until < wait ? until : wait;
        }
        for (int64_t t = 0; t < wait * 10 && !stop_requested; t++) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    fprintf(stderr, "gateway: stopped (%lld sent this run)\n", (long long)total_sent);
    json_t *extra = json_pack("{s:s,s:b}", "center", center, "running", 0);
    (void)!zg_gw_write_status(st, extra, &err);
    json_decref(extra);
    zg_gw_state_close(st);
    close(lockfd); /* releases the lock */
    zg_gw_mapping_free(map);
    memset(token, 0, sizeof(token));
    curl_global_cleanup();
    return exit_code;
}
