/* zengen synth --cases N: generates a synthetic cohort through the normal ingest path; and the
 * genome part of `zengen demo`. */
#include "cli.h"
#include "genome_cli.h"
#include "genome/synth.h"
#include "auth/auth.h"
#include "store/db.h"

#include <unistd.h>

static void show(void *ctx, int done, int total)
{
    bool tty = *(bool *)ctx;
    fprintf(stderr, "%s%d/%d cases%s", tty ? "\r" : "", done, total, tty ? "" : "\n");
}

int zg_cmd_synth(int argc, char **argv)
{
    static const char *u = "zengen synth --cases N [--seed S] [--org NAME] [--dataset NAME]";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *n = zg_args_opt(&a, "--cases"), *seed = zg_args_opt(&a, "--seed");
    const char *org = zg_args_opt(&a, "--org"), *ds = zg_args_opt(&a, "--dataset");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, &db, &err))
        return zg_cli_fail(&err);
    int rc = zg_args_done(&a, u);
    if (rc)
        goto out;
    char *end;
    long ncases = n ? strtol(n, &end, 10) : 0;
    if (!n || *end || ncases < 1 || ncases > 1000000) {
        rc = zg_cli_usage(u, "--cases must be 1..1000000");
        goto out;
    }
    unsigned long long s = seed ? strtoull(seed, &end, 10) : 1;
    if (seed && *end) {
        rc = zg_cli_usage(u, "--seed must be a number");
        goto out;
    }
    const char *orgname = org ? org : "Synthetic Cohort Center";
    int64_t org_id = 0;
    if (zg_org_lookup(db, orgname, &org_id, &err)) {
        if (org || zg_org_add(db, orgname, "hospital", &org_id, &err)) {
            rc = zg_cli_fail(&err);
            goto out;
        }
    }
    bool tty = isatty(2) != 0;
    struct zg_synth_opts o = {.ncases = (int)ncases, .seed = s, .org_id = org_id, .dataset = ds,
                              .progress = show, .progress_ctx = &tty};
    struct zg_synth_stats st;
    rc = zg_synth_cohort(&dd, db, &o, &st, &err);
    if (tty)
        fputc('\n', stderr);
    json_t *opt = json_pack("{s:I,s:I}", "cases", (json_int_t)st.cases, "seed", (json_int_t)s);
    int r2 = zg_cli_audit(&dd, "genome.synth", "cohort", rc ? "failure" : "success", NULL, opt);
    json_decref(opt);
    if (rc) {
        rc = zg_cli_fail(&err);
        goto out;
    }
    if (r2) {
        rc = ZG_EXIT_FAIL;
        goto out;
    }
    printf("%d synthetic cases, %lld variants, %lld files in %.1f s (organisation \"%s\")\n",
           st.cases, (long long)st.variants, (long long)st.files, (double)st.ms / 1000.0, orgname);
out:
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}

int zg_demo_genome(const struct zg_datadir *dd, sqlite3 *db, struct zg_error *err)
{
    struct zg_synth_opts o = {.use_existing = true, .seed = 20261124, .dataset = "demo"};
    struct zg_synth_stats st;
    int rc = zg_synth_cohort(dd, db, &o, &st, err);
    if (!rc)
        printf("genome: %d demo cases with synthetic somatic, CNV and SV calls (%lld variants)\n",
               st.cases, (long long)st.variants);
    return rc;
}
