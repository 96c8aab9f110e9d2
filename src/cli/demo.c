/* zengen demo: synthetic organisations, an account of every role and a small cohort of
 * pseudonymous cases. Later issues add their demo data here, so that one `make demo` shows the
 * whole system. Only synthetic data. */
#include "cli.h"
#include "store/db.h"
#include "auth/auth.h"
#include "ids/ids.h"

#include <fcntl.h>
#include <unistd.h>

/* Domains add their demo data through hooks with this signature (declared in their CLI
 * headers): int zg_demo_<domain>(const struct zg_datadir *dd, sqlite3 *db, struct zg_error *err),
 * run after the organisations, accounts and cases below exist. */
#if __has_include("clinical_demo.inc")
#define ZG_DEMO_CLINICAL 1
#endif
#if __has_include("genome_demo.inc")
#define ZG_DEMO_GENOME 1
#endif

struct demo_org {
    const char *name, *type;
};
struct demo_user {
    const char *login, *role, *org;
};

static const struct demo_org orgs[] = {
    {"Sakura University Hospital", "hospital"},
    {"Minato Cancer Center Hospital", "hospital"},
    {"Hikari Genome Sequencing Center", "sequencing"},
    {"zengen Data Center", "datacenter"},
    {"Kaede Research University", "academia"},
    {"Aozora Pharma", "industry"},
};

static const struct demo_user users[] = {
    {"demo-admin", "admin", "zengen Data Center"},
    {"demo-operator", "operator", "zengen Data Center"},
    {"demo-clinician", "clinician", "Sakura University Hospital"},
    {"demo-hospital", "hospital-data", "Sakura University Hospital"},
    {"demo-sequencer", "sequencer", "Hikari Genome Sequencing Center"},
    {"demo-academic", "academic", "Kaede Research University"},
    {"demo-industry", "industry", "Aozora Pharma"},
    {"demo-dac", "dac", "zengen Data Center"},
    {"demo-auditor", "auditor", "zengen Data Center"},
    {"demo-participant", "participant", "Sakura University Hospital"},
};

#define CASES_PER_HOSPITAL 12

int zg_cmd_demo(int argc, char **argv)
{
    static const char *u = "zengen demo --data DIR";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    struct zg_datadir dd;
    sqlite3 *db = NULL, *link = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, &db, &err))
        return zg_cli_fail(&err);
    int rc = zg_args_done(&a, u);
    if (rc)
        goto out;
    if ((rc = zg_datadir_connect(&dd, ZG_DB_LINKAGE, &link, &err)))
        goto fail;
    int64_t ids[ZG_ARRAY_LEN(orgs)];
    for (size_t i = 0; i < ZG_ARRAY_LEN(orgs); i++)
        if ((rc = zg_org_add(db, orgs[i].name, orgs[i].type, &ids[i], &err))) {
            if (rc == ZG_EEXIST)
                zg_error_set(&err, ZG_EEXIST, "", "demo data is already loaded in %s", dd.path);
            goto fail;
        }

    /* a small cohort: every hospital registers patients through the linkage store */
    char first_participant[ZG_ID_LEN] = "";
    int ncases = 0;
    for (size_t i = 0; i < ZG_ARRAY_LEN(orgs); i++) {
        if (strcmp(orgs[i].type, "hospital"))
            continue;
        for (int k = 1; k <= CASES_PER_HOSPITAL; k++) {
            char local[32], pid[ZG_ID_LEN], cid[ZG_ID_LEN], sid[ZG_ID_LEN];
            bool created;
            snprintf(local, sizeof(local), "DEMO%zu-%06d", i + 1, 1000 + k * 7);
            if ((rc = zg_linkage_resolve(&dd, link, db, ids[i], orgs[i].name, local, NULL, true,
                                         pid, &created, &err)) ||
                (rc = zg_case_add(db, ids[i], pid, 0, cid, NULL, &err)) ||
                (rc = zg_specimen_add(db, cid, "tumour-tissue", sid, &err)) ||
                (rc = zg_specimen_add(db, cid, "normal-blood", sid, &err)))
                goto fail;
            if (!first_participant[0])
                snprintf(first_participant, sizeof(first_participant), "%s", pid);
            ncases++;
        }
    }

    /* accounts, kept in a file only the operator can read, and printed */
    char path[1200];
    zg_datadir_file(&dd, "demo-accounts.txt", path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        zg_error_set(&err, ZG_EIO, "", "cannot write %s", path);
        rc = ZG_EIO;
        goto fail;
    }
    fprintf(f, "# zengen demo accounts (synthetic; for local demonstration only)\n");
    printf("\nzengen demo accounts — sign in with the password and a one-time code from an\n"
           "authenticator app holding the TOTP secret (or: zengen totp --secret-file FILE)\n\n");
    printf("%-18s %-14s %-33s %-22s %s\n", "login", "role", "organisation", "password",
           "totp_secret");
    for (size_t i = 0; i < ZG_ARRAY_LEN(users); i++) {
        struct zg_new_user nu;
        if ((rc = zg_user_add(&dd, db, users[i].login, users[i].role, users[i].org, true, &nu,
                              &err)))
            goto fail_file;
        printf("%-18s %-14s %-33s %-22s %s\n", users[i].login, users[i].role, users[i].org,
               nu.password, nu.totp_secret);
        fprintf(f, "login: %s\nrole: %s\norg: %s\npassword: %s\ntotp_secret: %s\n\n",
                users[i].login, users[i].role, users[i].org, nu.password, nu.totp_secret);
        if (!strcmp(users[i].role, "participant") &&
            (rc = zg_user_link_participant(db, users[i].login, first_participant, &err)))
            goto fail_file;
    }
    if (fclose(f) != 0) {
        f = NULL;
        zg_error_set(&err, ZG_EIO, "", "cannot write %s", path);
        rc = ZG_EIO;
        goto fail;
    }
    f = NULL;
#ifdef ZG_DEMO_CLINICAL
#include "clinical_demo.inc"
#endif
#ifdef ZG_DEMO_GENOME
#include "genome_demo.inc"
#endif
    json_t *stats = zg_stats_overview(db, &err);
    printf("\n%lld cases of %lld participants in %d hospitals; accounts also written to %s\n",
           stats ? (long long)json_integer_value(json_object_get(stats, "cases")) : (long long)ncases,
           stats ? (long long)json_integer_value(json_object_get(stats, "participants")) : 0LL,
           2, path);
    json_decref(stats);
    rc = zg_cli_audit(&dd, "demo.load", "system", "success", NULL, NULL) ? ZG_EXIT_FAIL : 0;
    goto out;
fail_file:
    fclose(f);
fail:
    rc = zg_cli_fail(&err);
out:
    zg_db_close(link);
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}
