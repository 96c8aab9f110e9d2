/* zengen job list|show: the background-job queue, for operators (every user's jobs). */
#include "cli.h"
#include "common/error.h"
#include "store/db.h"
#include "svc/jobs.h"

static void print_row(json_t *j)
{
    json_t *p = json_object_get(j, "progress"), *e = json_object_get(j, "error");
    const char *detail = json_string_value(json_object_get(e, "detail"));
    printf("%s  %-9s  %-14s  %s", json_string_value(json_object_get(j, "id")),
           json_string_value(json_object_get(j, "state")),
           json_string_value(json_object_get(j, "kind")),
           json_string_value(json_object_get(j, "submitted_by")));
    if (json_is_object(p) && json_object_get(p, "records"))
        printf("  %lld records", (long long)json_integer_value(json_object_get(p, "records")));
    printf("%s%s\n", detail ? "  " : "", detail ? detail : "");
}

int zg_cmd_job(int argc, char **argv)
{
    static const char *u = "zengen job list [--state queued|running|succeeded|failed] "
                           "[--limit N] [--json] | show ID";
    if (argc < 1)
        return zg_cli_usage(u, "say what to do with jobs");
    const char *sub = argv[0];
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(u, "too many arguments");
    const char *state = zg_args_opt(&a, "--state"), *limit_s = zg_args_opt(&a, "--limit");
    bool as_json = zg_args_flag(&a, "--json");
    struct zg_app app;
    memset(&app, 0, sizeof(app));
    sqlite3 *db = NULL;
    const char *arg = NULL;
    int rc = zg_cli_start(&a, u, &app.dd, &db, &arg);
    if (rc)
        return rc;
    struct zg_error err;
    zg_error_clear(&err);
    json_t *j = NULL;
    if (!strcmp(sub, "list")) {
        long limit = 50;
        if (limit_s) {
            char *end = NULL;
            limit = strtol(limit_s, &end, 10);
            if (!*limit_s || *end || limit < 1 || limit > 10000) {
                rc = zg_cli_usage(u, "--limit must be 1..10000");
                goto out;
            }
        }
        if (state && strcmp(state, "queued") && strcmp(state, "running") &&
            strcmp(state, "succeeded") && strcmp(state, "failed")) {
            rc = zg_cli_usage(u, "--state must be queued, running, succeeded or failed");
            goto out;
        }
        if (!(j = zg_jobs_list_json(&app, db, 0, ZG_JOB_ALL_TIERS, state, limit, &err))) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        if (!as_json) {
            json_t *arr = json_object_get(j, "jobs");
            for (size_t i = 0; i < json_array_size(arr); i++)
                print_row(json_array_get(arr, i));
            if (!json_array_size(arr))
                printf("no jobs\n");
        }
    } else if (!strcmp(sub, "show")) {
        if (!arg) {
            rc = zg_cli_usage(u, "job show needs an ID");
            goto out;
        }
        if (!(j = zg_job_json(&app, db, arg, 0, ZG_JOB_ALL_TIERS, &err))) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        as_json = true; /* the whole record */
    } else {
        rc = zg_cli_usage(u, "unknown job command '%s'", sub);
        goto out;
    }
    if (as_json)
        zg_cli_print_json(j);
out:
    json_decref(j);
    zg_db_close(db);
    zg_datadir_close(&app.dd);
    return rc;
}
