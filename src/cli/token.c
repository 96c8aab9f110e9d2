/* zengen token create|list|revoke */
#include "cli.h"
#include "store/db.h"
#include "auth/auth.h"
#include "auth/auth_internal.h"

int zg_cmd_token(int argc, char **argv)
{
    static const char *u = "zengen token create LOGIN --name NAME [--scope TIER,…] "
                           "[--expires-days N] | list LOGIN [--json] | revoke ID";
    if (argc < 1)
        return zg_cli_usage(u, "say what to do with tokens");
    const char *sub = argv[0];
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(u, "too many arguments");
    const char *name = zg_args_opt(&a, "--name"), *scope = zg_args_opt(&a, "--scope");
    const char *days_s = zg_args_opt(&a, "--expires-days");
    bool as_json = zg_args_flag(&a, "--json");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    const char *arg = NULL;
    int rc = zg_cli_start(&a, u, &dd, &db, &arg);
    if (rc)
        return rc;
    struct zg_error err;
    zg_error_clear(&err);
    if (!arg) {
        rc = zg_cli_usage(u, "token %s needs an argument", sub);
        goto out;
    }
    if (!strcmp(sub, "create")) {
        int64_t uid = 0;
        uint32_t mask = 0;
        long days = 90;
        if (days_s) {
            char *end = NULL;
            days = strtol(days_s, &end, 10);
            if (!*days_s || *end || days < 1 || days > ZG_TOKEN_MAX_DAYS) {
                rc = zg_cli_usage(u, "--expires-days must be 1..%d", ZG_TOKEN_MAX_DAYS);
                goto out;
            }
        }
        if (!name) {
            rc = zg_cli_usage(u, "token create needs --name");
            goto out;
        }
        char bad[32];
        if (scope && zg_tier_parse_list(scope, &mask, bad, sizeof(bad))) {
            rc = zg_cli_usage(u, "--scope: '%s' is not a data tier", bad);
            goto out;
        }
        char token[ZG_TOKEN_LEN];
        int64_t id = 0, exp = 0;
        if (zg_auth_user_id(db, arg, &uid, &err) ||
            zg_token_create(db, uid, name, mask, (int)days, true, 0, token, &id, &exp, &err)) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        char idtxt[32];
        snprintf(idtxt, sizeof(idtxt), "token:%lld", (long long)id);
        json_t *d = json_pack("[s,s]", arg, idtxt);
        json_t *o = json_pack("{s:s}", "name", name);
        rc = zg_cli_audit(&dd, "token.create", "token", "success", d, o) ? ZG_EXIT_FAIL : 0;
        json_decref(d);
        json_decref(o);
        if (!rc) {
            printf("%s\n", token);
            fprintf(stderr, "token id %lld for %s, expires in %ld days; store it now: it is "
                            "not shown again\n",
                    (long long)id, arg, days);
        }
        zg_wipe(token, sizeof(token));
    } else if (!strcmp(sub, "list")) {
        int64_t uid = 0;
        json_t *j = NULL;
        if (zg_auth_user_id(db, arg, &uid, &err) || !(j = zg_token_list(db, uid, &err))) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        if (as_json) {
            json_dumpf(j, stdout, JSON_INDENT(2));
            putchar('\n');
        } else {
            size_t i;
            json_t *t;
            json_array_foreach(json_object_get(j, "tokens"), i, t)
                printf("%lld\t%s\t%s\n", (long long)json_integer_value(json_object_get(t, "id")),
                       json_string_value(json_object_get(t, "name")),
                       json_is_true(json_object_get(t, "revoked")) ? "revoked" : "live");
        }
        json_decref(j);
    } else if (!strcmp(sub, "revoke")) {
        char *end = NULL;
        long long id = strtoll(arg, &end, 10);
        if (!*arg || *end || id <= 0) {
            rc = zg_cli_usage(u, "token revoke needs a numeric token id");
            goto out;
        }
        if (zg_token_revoke(db, 0, id, &err)) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        char idtxt[32];
        snprintf(idtxt, sizeof(idtxt), "token:%lld", id);
        json_t *d = json_pack("[s]", idtxt);
        rc = zg_cli_audit(&dd, "token.revoke", "token", "success", d, NULL) ? ZG_EXIT_FAIL : 0;
        json_decref(d);
        if (!rc)
            printf("token %lld revoked\n", id);
    } else {
        rc = zg_cli_usage(u, "unknown token command '%s'", sub);
    }
out:
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}
