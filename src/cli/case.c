/* zengen case add|list|show|specimen */
#include "cli.h"
#include "store/db.h"
#include "auth/auth.h"
#include "ids/ids.h"

int zg_cmd_case(int argc, char **argv)
{
    static const char *u = "zengen case add --org ORG [--participant ID | --local-id ID] | "
                           "list [--org ORG] [--json] | show ID | specimen ID --type TYPE";
    if (argc < 1)
        return zg_cli_usage(u, "say what to do with cases");
    const char *sub = argv[0];
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(u, "too many arguments");
    const char *org = zg_args_opt(&a, "--org"), *pid = zg_args_opt(&a, "--participant");
    const char *local = zg_args_opt(&a, "--local-id"), *type = zg_args_opt(&a, "--type");
    bool as_json = zg_args_flag(&a, "--json");
    struct zg_datadir dd;
    sqlite3 *db = NULL, *link = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, &db, &err))
        return zg_cli_fail(&err);
    const char *id = zg_args_pos(&a, 0);
    int rc = zg_args_done(&a, u);
    if (rc)
        goto out;
    int64_t org_id = 0;
    if (org && zg_org_lookup(db, org, &org_id, &err)) {
        rc = zg_cli_fail(&err);
        goto out;
    }
    if (!strcmp(sub, "add")) {
        if (!org) {
            rc = zg_cli_usage(u, "case add needs --org");
            goto out;
        }
        if (pid && local) {
            rc = zg_cli_usage(u, "give --participant or --local-id, not both");
            goto out;
        }
        char participant[ZG_ID_LEN], cid[ZG_ID_LEN];
        bool created = false;
        if (local) {
            if (zg_datadir_connect(&dd, ZG_DB_LINKAGE, &link, &err) ||
                zg_linkage_resolve(&dd, link, db, org_id, org, local, NULL, true, participant,
                                   &created, &err)) {
                rc = zg_cli_fail(&err);
                goto out;
            }
            pid = participant;
        }
        if (zg_case_add(db, org_id, pid, 0, cid, participant, &err)) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        json_t *d = json_pack("[s,s]", cid, participant);
        rc = zg_cli_audit(&dd, "case.create", "case", "success", d, NULL) ? ZG_EXIT_FAIL : 0;
        json_decref(d);
        if (!rc)
            printf("%s\n", cid);
    } else if (!strcmp(sub, "list")) {
        json_t *all = json_array();
        const char *after = "";
        char last[ZG_ID_LEN];
        for (;;) {
            json_t *page = zg_case_list(db, org_id, after, 1000, &err);
            if (!page) {
                json_decref(all);
                rc = zg_cli_fail(&err);
                goto out;
            }
            json_array_extend(all, json_object_get(page, "cases"));
            json_t *next = json_object_get(page, "next_after");
            bool more = json_is_string(next);
            if (more) {
                snprintf(last, sizeof(last), "%s", json_string_value(next));
                after = last;
            }
            json_decref(page);
            if (!more)
                break;
        }
        if (as_json) {
            json_dumpf(all, stdout, JSON_INDENT(2));
            putchar('\n');
        } else {
            size_t i;
            json_t *c;
            json_array_foreach(all, i, c)
                printf("%s\t%s\t%s\n", json_string_value(json_object_get(c, "id")),
                       json_string_value(json_object_get(c, "participant_id")),
                       json_string_value(json_object_get(json_object_get(c, "org"), "name")));
        }
        json_decref(all);
    } else if (!strcmp(sub, "show") || !strcmp(sub, "specimen")) {
        enum zg_id_kind kind;
        char canon[ZG_ID_LEN];
        if (!id) {
            rc = zg_cli_usage(u, "case %s needs a case ID", sub);
            goto out;
        }
        if (zg_id_parse(id, &kind, canon, &err)) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        if (!strcmp(sub, "specimen")) {
            char sid[ZG_ID_LEN];
            if (!type) {
                rc = zg_cli_usage(u, "case specimen needs --type");
                goto out;
            }
            if (zg_specimen_add(db, canon, type, sid, &err)) {
                rc = zg_cli_fail(&err);
                goto out;
            }
            json_t *d = json_pack("[s,s]", canon, sid);
            rc = zg_cli_audit(&dd, "specimen.create", "specimen", "success", d, NULL)
                     ? ZG_EXIT_FAIL
                     : 0;
            json_decref(d);
            if (!rc)
                printf("%s\n", sid);
        } else {
            json_t *c = zg_case_get(db, canon, 0, &err);
            if (!c) {
                rc = zg_cli_fail(&err);
                goto out;
            }
            json_dumpf(c, stdout, JSON_INDENT(2));
            putchar('\n');
            json_decref(c);
        }
    } else {
        rc = zg_cli_usage(u, "unknown case command '%s'", sub);
    }
out:
    zg_db_close(link);
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}
