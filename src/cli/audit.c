/* zengen audit verify|export|list */
#include "cli.h"
#include "store/db.h"
#include "audit/audit.h"

int zg_cmd_audit(int argc, char **argv)
{
    static const char *u = "zengen audit verify [--anchor SEQ:HASH] | export [--after SEQ] "
                           "[--out FILE] | list [--after SEQ] [--limit N] [--user LOGIN] "
                           "[--action ACTION]";
    if (argc < 1)
        return zg_cli_usage(u, "say what to do with the audit trail");
    const char *sub = argv[0];
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(u, "too many arguments");
    const char *anchor = zg_args_opt(&a, "--anchor"), *after_s = zg_args_opt(&a, "--after");
    const char *out_path = zg_args_opt(&a, "--out"), *limit_s = zg_args_opt(&a, "--limit");
    const char *user = zg_args_opt(&a, "--user"), *action = zg_args_opt(&a, "--action");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, NULL, &err))
        return zg_cli_fail(&err);
    int rc = zg_args_done(&a, u);
    if (rc)
        goto out;
    if (zg_datadir_connect(&dd, ZG_DB_AUDIT, &db, &err)) {
        rc = zg_cli_fail(&err);
        goto out;
    }
    long long after = 0;
    if (after_s) {
        char *end = NULL;
        after = strtoll(after_s, &end, 10);
        if (!*after_s || *end || after < 0) {
            rc = zg_cli_usage(u, "--after must be a sequence number");
            goto out;
        }
    }
    if (!strcmp(sub, "verify")) {
        long long aseq = 0;
        char ahash[65] = "";
        if (anchor) {
            const char *colon = strchr(anchor, ':');
            char *end = NULL;
            aseq = colon ? strtoll(anchor, &end, 10) : 0;
            if (!colon || end != colon || aseq <= 0 || strlen(colon + 1) != 64) {
                rc = zg_cli_usage(u, "--anchor must be SEQ:HASH (64 hex digits)");
                goto out;
            }
            snprintf(ahash, sizeof(ahash), "%s", colon + 1);
        }
        struct zg_audit_verify_result r;
        if (zg_audit_verify(db, aseq, anchor ? ahash : NULL, &r, &err)) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        if (r.ok) {
            printf("audit trail intact: %lld events; head %lld:%s\n", (long long)r.events,
                   (long long)r.head_seq, r.head_hash);
        } else {
            fprintf(stderr, "zengen: audit trail BROKEN at event %lld: %s\n",
                    (long long)r.first_bad_seq, r.reason);
            rc = ZG_EXIT_FAIL;
        }
    } else if (!strcmp(sub, "export")) {
        FILE *f = out_path ? fopen(out_path, "w") : stdout;
        if (!f) {
            fprintf(stderr, "zengen: --out: cannot create %s\n", out_path);
            rc = ZG_EXIT_FAIL;
            goto out;
        }
        int64_t n = zg_audit_export(db, after, f, &err);
        if (out_path && fclose(f) != 0 && n >= 0)
            n = zg_error_set(&err, ZG_EIO, "--out", "cannot write %s", out_path);
        if (n < 0) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        fprintf(stderr, "exported %lld events\n", (long long)n);
    } else if (!strcmp(sub, "list")) {
        long limit = limit_s ? strtol(limit_s, NULL, 10) : 50;
        struct zg_audit_filter f = {after, (int)limit, user, action, NULL};
        json_t *j = zg_audit_query(db, &f, &err);
        if (!j) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(j, "events"), i, e)
        {
            json_dumpf(e, stdout, JSON_COMPACT | JSON_SORT_KEYS);
            putchar('\n');
        }
        json_decref(j);
    } else {
        rc = zg_cli_usage(u, "unknown audit command '%s'", sub);
    }
out:
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}
