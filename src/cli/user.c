/* zengen user add|list|show|passwd|mfa|disable|enable */
#include "cli.h"
#include "store/db.h"
#include "auth/auth.h"
#include "crypto/password.h"

#include <unistd.h>

static const char *u = "zengen user add LOGIN --role ROLE --org ORG [--no-mfa] [--json] | "
                       "list [--json] | show LOGIN | passwd LOGIN [--stdin] | mfa LOGIN | "
                       "disable LOGIN | enable LOGIN";

static void print_kv(bool as_json, const char *login, const char *role, const char *org,
                     const char *password, const char *secret)
{
    if (as_json) {
        json_t *j = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?}", "login", login, "role", role, "org",
                              org, "password", password, "totp_secret",
                              secret && *secret ? secret : NULL);
        json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(j);
        return;
    }
    printf("login: %s\n", login);
    if (role)
        printf("role: %s\n", role);
    if (org)
        printf("org: %s\n", org);
    if (password)
        printf("password: %s\n", password);
    if (secret && *secret)
        printf("totp_secret: %s\n", secret);
}

static int read_password_stdin(char *out, size_t outsz)
{
    if (!fgets(out, (int)outsz, stdin))
        return -1;
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return 0;
}

int zg_cmd_user(int argc, char **argv)
{
    if (argc < 1)
        return zg_cli_usage(u, "say what to do with users");
    const char *sub = argv[0];
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(u, "too many arguments");
    const char *role = zg_args_opt(&a, "--role"), *org = zg_args_opt(&a, "--org");
    bool no_mfa = zg_args_flag(&a, "--no-mfa"), as_json = zg_args_flag(&a, "--json");
    bool from_stdin = zg_args_flag(&a, "--stdin");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    const char *login = NULL;
    int rc = zg_cli_start(&a, u, &dd, &db, &login);
    if (rc)
        return rc;
    struct zg_error err;
    zg_error_clear(&err);
    if (strcmp(sub, "list") && !login) {
        rc = zg_cli_usage(u, "user %s needs LOGIN", sub);
        goto out;
    }
    json_t *data = login ? json_pack("[s]", login) : NULL;
    const char *action = NULL;
    if (!strcmp(sub, "add")) {
        if (!role || !org) {
            rc = zg_cli_usage(u, "user add needs --role and --org");
        } else {
            struct zg_new_user nu;
            if (zg_user_add(&dd, db, login, role, org, !no_mfa, &nu, &err)) {
                rc = zg_cli_fail(&err);
            } else {
                action = "user.create";
                print_kv(as_json, login, role, org, nu.password, nu.totp_secret);
            }
        }
    } else if (!strcmp(sub, "list") || !strcmp(sub, "show")) {
        json_t *j = login ? zg_user_get(db, login, &err) : zg_user_list(db, &err);
        if (!j) {
            rc = zg_cli_fail(&err);
        } else if (as_json || login) {
            json_dumpf(j, stdout, JSON_INDENT(2));
            putchar('\n');
        } else {
            size_t i;
            json_t *o;
            json_array_foreach(json_object_get(j, "users"), i, o)
                printf("%s\t%s\t%s%s%s\n", json_string_value(json_object_get(o, "login")),
                       json_string_value(json_object_get(o, "role")),
                       json_string_value(json_object_get(json_object_get(o, "org"), "name")),
                       json_is_true(json_object_get(o, "mfa_enrolled")) ? "\tmfa" : "",
                       json_is_true(json_object_get(o, "disabled")) ? "\tdisabled" : "");
        }
        json_decref(j);
    } else if (!strcmp(sub, "passwd")) {
        char pw[ZG_PASSWORD_MAX + 2] = "", gen[21] = "";
        if (from_stdin && read_password_stdin(pw, sizeof(pw))) {
            fprintf(stderr, "zengen: no password on standard input\n");
            rc = ZG_EXIT_FAIL;
        } else if (zg_user_set_password(db, login, from_stdin ? pw : NULL, gen, &err)) {
            rc = zg_cli_fail(&err);
        } else {
            action = "user.password.reset";
            if (!from_stdin)
                print_kv(as_json, login, NULL, NULL, gen, NULL);
        }
        zg_wipe(pw, sizeof(pw));
    } else if (!strcmp(sub, "mfa")) {
        char secret[33];
        if (zg_user_reset_mfa(&dd, db, login, secret, &err)) {
            rc = zg_cli_fail(&err);
        } else {
            action = "user.mfa.reset";
            print_kv(as_json, login, NULL, NULL, NULL, secret);
        }
    } else if (!strcmp(sub, "disable") || !strcmp(sub, "enable")) {
        bool dis = !strcmp(sub, "disable");
        if (zg_user_set_disabled(db, login, dis, &err)) {
            rc = zg_cli_fail(&err);
        } else {
            action = dis ? "user.disable" : "user.enable";
            printf("%s %sd\n", login, sub);
        }
    } else {
        rc = zg_cli_usage(u, "unknown user command '%s'", sub);
    }
    if (!rc && action && zg_cli_audit(&dd, action, "user", "success", data, NULL))
        rc = ZG_EXIT_FAIL;
    json_decref(data);
out:
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}
