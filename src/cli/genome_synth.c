/* zengen synth --cases N: generates a synthetic cohort through the normal ingest path; and the
 * genome part of `zengen demo`. */
#include "cli.h"
#include "genome_cli.h"
#include "genome/synth.h"
#include "auth/auth.h"
#include "store/db.h"

#include <unistd.h>
#if __has_include("clinical/clinical.h")
#include "clinical/clinical.h"
#define ZG_GENOME_CLINICAL 1
#endif

static void show(void *ctx, int done, int total)
{
    bool tty = *(bool *)ctx;
    fprintf(stderr, "%s%d/%d cases%s", tty ? "\r" : "", done, total, tty ? "" : "\n");
}

#ifdef ZG_GENOME_CLINICAL
/* Each synthetic case gets a minimal clinical record — consent and the diagnosis's cancer type
 * — through the normal validation path, as a hospital would send it: 94 % consented, 4 %
 * partially consented, 1 % pending, 1 % withdrawn. */
struct clin_ctx {
    int64_t org_id;
};

static int record_clinical(void *ctx, sqlite3 *db, const char *case_id, const char *ct,
                           uint64_t seed, struct zg_error *err)
{
    const struct clin_ctx *c = ctx;
    unsigned r = (unsigned)(seed % 100);
    const char *status = r < 94 ? "consented" : r < 98 ? "partially-consented"
                                          : r < 99 ? "pending" : "withdrawn";
    json_t *rec = json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "model_version",
                            ZG_CLINICAL_MODEL_VERSION, "case_id", case_id, "consent", "status",
                            status, "diagnosis", "oncotree", ct);
    json_t *errors = json_array();
    struct zg_clinical_actor who = {.login = "cli:synth", .org_id = c->org_id};
    struct zg_clinical_push p = {.case_id = case_id, .record = rec,
                                 .source_system = "zengen-synth"};
    struct zg_clinical_result res;
    int rc = rec && errors ? zg_clinical_put(db, &who, &p, &res, errors, err)
                           : zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    json_decref(rec);
    json_decref(errors);
    return rc;
}
#endif

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
#ifdef ZG_GENOME_CLINICAL
    struct clin_ctx cc = {org_id};
    o.on_case = record_clinical;
    o.on_case_ctx = &cc;
#endif
    struct zg_synth_stats st;
    rc = zg_synth_cohort(&dd, db, &o, &st, &err);
    if (tty)
        fputc('\n', stderr);
    json_t *opt = json_pack("{s:I,s:I}", "cases", (json_int_t)st.cases, "seed", (json_int_t)s);
    if ((rc = zg_cli_outcome(&dd, "genome.synth", "cohort", rc, &err, NULL, opt)))
        goto out;
    printf("%d synthetic cases, %lld variants, %lld files in %.1f s (organisation \"%s\")\n",
           st.cases, (long long)st.variants, (long long)st.files, (double)st.ms / 1000.0, orgname);
out:
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}

/* case id → OncoTree code of its clinical record, so that a demo case has one cancer type */
struct ct_map {
    json_t *codes; /* {case_id: code} */
};

static const char *ct_lookup(void *ctx, const char *case_id)
{
    struct ct_map *m = ctx;
    return json_string_value(json_object_get(m->codes, case_id));
}

static void load_clinical_types(sqlite3 *db, struct ct_map *m)
{
    m->codes = json_object();
#ifdef ZG_GENOME_CLINICAL
    char after[64] = "";
    for (int page = 0; page < 1000; page++) {
        struct zg_error e;
        struct zg_clinical_query q = {.complete = -1, .after = after, .limit = 1000};
        json_t *r = zg_clinical_search(db, &q, &e);
        if (!r)
            return;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(r, "cases"), i, c)
        {
            const char *id = json_string_value(json_object_get(c, "case_id"));
            const char *code = json_string_value(json_object_get(c, "oncotree"));
            if (id && code)
                json_object_set_new(m->codes, id, json_string(code));
        }
        const char *next = json_string_value(json_object_get(r, "next_after"));
        bool more = next != NULL;
        if (more)
            snprintf(after, sizeof(after), "%s", next);
        json_decref(r);
        if (!more)
            return;
    }
#else
    (void)db;
#endif
}

int zg_demo_genome(const struct zg_datadir *dd, sqlite3 *db, struct zg_error *err)
{
    struct ct_map map;
    load_clinical_types(db, &map);
    struct zg_synth_opts o = {.use_existing = true, .seed = 20261124, .dataset = "demo",
                              .cancer_type_of = ct_lookup, .cancer_type_ctx = &map};
    struct zg_synth_stats st;
    int rc = zg_synth_cohort(dd, db, &o, &st, err);
    json_decref(map.codes);
    if (!rc)
        printf("genome: %d demo cases with synthetic somatic, CNV and SV calls (%lld variants)\n",
               st.cases, (long long)st.variants);
    return rc;
}
