/* zengen org add|list */
#include "cli.h"
#include "store/db.h"
#include "auth/auth.h"

int zg_cmd_org(int argc, char **argv)
{
    static const char *u = "zengen org add NAME --type hospital|sequencing|datacenter|academia|"
                           "industry | zengen org list [--json]";
    if (argc < 1)
        return zg_cli_usage(u, "say what to do with organisations");
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(u, "too many arguments");
    const char *type = zg_args_opt(&a, "--type");
    bool as_json = zg_args_flag(&a, "--json");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    int rc = ZG_EXIT_OK;
    if (zg_cli_open(&a, &dd, &db, &err))
        return zg_cli_fail(&err);
    if (!strcmp(argv[0], "add")) {
        const char *name = zg_args_pos(&a, 0);
        if (!name || !type) {
            rc = zg_cli_usage(u, "org add needs NAME and --type");
        } else if (!(rc = zg_args_done(&a, u))) {
            int64_t id;
            if (zg_org_add(db, name, type, &id, &err)) {
                rc = zg_cli_fail(&err);
            } else {
                json_t *d = json_pack("[s]", name);
                rc = zg_cli_audit(&dd, "org.create", "org", "success", d, NULL) ? ZG_EXIT_FAIL
                                                                                 : ZG_EXIT_OK;
                json_decref(d);
                if (!rc)
                    printf("%lld\n", (long long)id);
            }
        }
    } else if (!strcmp(argv[0], "list")) {
        if (!(rc = zg_args_done(&a, u))) {
            json_t *j = zg_org_list(db, &err);
            if (!j) {
                rc = zg_cli_fail(&err);
            } else {
                if (as_json) {
                    json_dumpf(j, stdout, JSON_INDENT(2));
                    putchar('\n');
                } else {
                    size_t i;
                    json_t *o;
                    json_array_foreach(json_object_get(j, "orgs"), i, o)
                        printf("%lld\t%s\t%s\n",
                               (long long)json_integer_value(json_object_get(o, "id")),
                               json_string_value(json_object_get(o, "type")),
                               json_string_value(json_object_get(o, "name")));
                }
                json_decref(j);
            }
        }
    } else {
        rc = zg_cli_usage(u, "unknown org command '%s'", argv[0]);
    }
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}
