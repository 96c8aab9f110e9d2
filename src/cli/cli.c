/* CLI helpers. */
#include "cli.h"
#include "audit/audit.h"
#include "store/db.h"

#include <pwd.h>
#include <stdarg.h>
#include <unistd.h>

int zg_args_init(struct zg_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof(*a));
    if (argc > (int)ZG_ARRAY_LEN(a->used))
        return ZG_EINVAL;
    a->argc = argc;
    a->argv = argv;
    return 0;
}

const char *zg_args_opt(struct zg_args *a, const char *name)
{
    const char *val = NULL;
    size_t n = strlen(name);
    for (int i = 0; i < a->argc; i++) {
        const char *s = a->argv[i];
        if (!strcmp(s, "--"))
            break;
        if (!strncmp(s, name, n) && s[n] == '=') {
            a->used[i] = true;
            val = s + n + 1;
        } else if (!strcmp(s, name) && i + 1 < a->argc) {
            a->used[i] = a->used[i + 1] = true;
            a->isval[i + 1] = true;
            val = a->argv[++i];
        }
    }
    return val;
}

bool zg_args_flag(struct zg_args *a, const char *name)
{
    bool found = false;
    for (int i = 0; i < a->argc; i++)
        if (!strcmp(a->argv[i], name)) {
            a->used[i] = true;
            found = true;
        }
    return found;
}

const char *zg_args_pos(struct zg_args *a, int want)
{
    /* options that take values must have been read (zg_args_opt) before positionals are
     * asked for, so that their values are not mistaken for positionals */
    int k = 0;
    for (int i = 0; i < a->argc; i++) {
        if (a->isval[i] || (a->argv[i][0] == '-' && a->argv[i][1]))
            continue;
        if (k++ == want) {
            a->used[i] = true;
            return a->argv[i];
        }
    }
    return NULL;
}

int zg_args_done(struct zg_args *a, const char *usage)
{
    for (int i = 0; i < a->argc; i++)
        if (!a->used[i])
            return zg_cli_usage(usage, "unexpected argument '%s'", a->argv[i]);
    return 0;
}

int zg_cli_fail(const struct zg_error *err)
{
    if (err->field[0])
        fprintf(stderr, "zengen: %s: %s\n", err->field[0] == '/' ? err->field + 1 : err->field,
                err->reason);
    else
        fprintf(stderr, "zengen: %s\n", err->reason[0] ? err->reason : zg_err_name(err->code));
    return ZG_EXIT_FAIL;
}

int zg_cli_usage(const char *usage, const char *fmt, ...)
{
    va_list ap;
    fputs("zengen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s\n", usage);
    return ZG_EXIT_USAGE;
}

int zg_cli_open(struct zg_args *a, struct zg_datadir *dd, sqlite3 **db, struct zg_error *err)
{
    const char *dir = zg_args_opt(a, "--data");
    if (!dir)
        dir = getenv("ZENGEN_DATA");
    int rc = zg_datadir_open(dd, dir, err);
    if (rc)
        return rc;
    if (db && (rc = zg_datadir_connect(dd, ZG_DB_MAIN, db, err)))
        zg_datadir_close(dd);
    return rc;
}

int zg_cli_audit(const struct zg_datadir *dd, const char *action, const char *resource,
                 const char *outcome, json_t *data, json_t *options)
{
    struct zg_error err;
    struct zg_audit *a = NULL;
    int rc = zg_audit_open(dd, &a, &err);
    if (rc) {
        zg_cli_fail(&err);
        return rc;
    }
    struct passwd pw, *res = NULL;
    char pwbuf[1024], who[96];
    if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
        snprintf(who, sizeof(who), "os:%s", res->pw_name);
    else
        snprintf(who, sizeof(who), "os:uid%u", (unsigned)getuid());
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "phase", "result", "auth", "cli",
                           "actor", who, "action", action, "resource", resource, "outcome",
                           outcome, "tool", "zengen-cli");
    json_object_set_new(ev, "user", json_null());
    json_object_set_new(ev, "data", data ? json_incref(data) : json_array());
    json_object_set_new(ev, "options", options ? json_incref(options) : json_object());
    rc = zg_audit_append(a, ev, true);
    json_decref(ev);
    zg_audit_close(a);
    if (rc)
        fprintf(stderr, "zengen: the audit event for %s could not be written\n", action);
    return rc;
}

void zg_cli_print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    printf("%s\n", s ? s : "null");
    free(s);
}

int zg_cli_start(struct zg_args *a, const char *usage, struct zg_datadir *dd, sqlite3 **db,
                 const char **pos0)
{
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(a, dd, db, &err))
        return zg_cli_fail(&err);
    if (pos0)
        *pos0 = zg_args_pos(a, 0);
    int rc = zg_args_done(a, usage);
    if (rc) {
        zg_db_close(*db);
        *db = NULL;
        zg_datadir_close(dd);
    }
    return rc;
}

int zg_cli_outcome(const struct zg_datadir *dd, const char *action, const char *resource, int rc,
                   struct zg_error *err, json_t *data, json_t *options)
{
    int r2 = zg_cli_audit(dd, action, resource, rc ? "failure" : "success", data, options);
    json_decref(data);
    json_decref(options);
    return rc ? zg_cli_fail(err) : r2 ? ZG_EXIT_FAIL : 0;
}
