/* zengen query genes|cooccurrence|oncoprint|variants|tmb|overview and zengen genome-index:
 * cross-cancer queries over the published cohort index (operators see every case, unsuppressed,
 * unless --org/--k narrow it or --role asks for what the PDP grants that role). */
#include "cli.h"
#include "genome_cli.h"
#include "genome/cohort.h"
#include "genome/variants.h"
#include "ids/ids.h"
#include "common/clock.h"
#include "policy/policy.h"
#include "store/db.h"

static void print_genes_table(json_t *j)
{
    json_t *genes = json_object_get(j, "genes");
    printf("%-12s %9s %9s %7s", "group", "profiled", "altered", "%");
    size_t i;
    json_t *g;
    json_array_foreach(genes, i, g)
        printf(" %10s", json_string_value(g));
    putchar('\n');
    json_t *grp;
    size_t k;
    json_array_foreach(json_object_get(j, "groups"), k, grp)
    {
        json_t *p = json_object_get(grp, "percent");
        char pct[16] = "–";
        if (json_is_real(p))
            snprintf(pct, sizeof(pct), "%.1f%%", json_real_value(p));
        printf("%-12s %9lld %9lld %7s", json_string_value(json_object_get(grp, "group")),
               (long long)json_integer_value(json_object_get(grp, "profiled")),
               (long long)json_integer_value(json_object_get(grp, "altered")), pct);
        json_array_foreach(genes, i, g)
        {
            json_t *gg = json_object_get(json_object_get(grp, "genes"), json_string_value(g));
            json_t *pc = json_object_get(gg, "percent");
            if (json_is_real(pc))
                printf(" %9.1f%%", json_real_value(pc));
            else
                printf(" %10s", "–");
        }
        putchar('\n');
    }
    printf("%-12s %9lld %9lld\n", "all",
           (long long)json_integer_value(json_object_get(j, "profiled")),
           (long long)json_integer_value(json_object_get(j, "altered")));
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int zg_cmd_query(int argc, char **argv)
{
    static const char *u =
        "zengen query genes GENE… [--by cancer-type|dataset|none] [--classes C,…] | "
        "cooccurrence GENE GENE… | oncoprint GENE… [--max N] | variants GENE [--limit N] | "
        "tmb | overview   [--cancer-type CODE] [--org ID] [--k N] [--role ROLE] [--json] "
        "[--timing] [--repeat N]";
    if (argc < 1)
        return zg_cli_usage(u, "say which query");
    const char *sub = argv[0];
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(u, "too many arguments");
    const char *by = zg_args_opt(&a, "--by"), *classes = zg_args_opt(&a, "--classes");
    const char *ct = zg_args_opt(&a, "--cancer-type"), *org = zg_args_opt(&a, "--org");
    const char *k = zg_args_opt(&a, "--k"), *max = zg_args_opt(&a, "--max");
    const char *limit = zg_args_opt(&a, "--limit"), *repeat = zg_args_opt(&a, "--repeat");
    const char *role = zg_args_opt(&a, "--role");
    bool as_json = zg_args_flag(&a, "--json"), timing = zg_args_flag(&a, "--timing");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, &db, &err))
        return zg_cli_fail(&err);
    const char *genes[64];
    size_t ng = 0;
    for (const char *g; ng < 64 && (g = zg_args_pos(&a, (int)ng)); ng++)
        genes[ng] = g;
    int rc = zg_args_done(&a, u);
    struct zg_cohort *c = NULL;
    if (rc)
        goto out;
    /* the scope as a decision: the operator's (everything), narrowed by --org/--k, or what the
     * PDP decides for an aggregate query by --role (an identity of that role, --org's org) */
    struct zg_decision d = {.allow = true};
    char *end;
    if (org && ((d.org_id = strtoll(org, &end, 10)) <= 0 || *end)) {
        rc = zg_cli_usage(u, "--org must be an organisation id");
        goto out;
    }
    if (k && ((d.k_min = (int)strtol(k, &end, 10)) < 1 || *end || d.k_min > 1000)) {
        rc = zg_cli_usage(u, "--k must be 1..1000");
        goto out;
    }
    if (role) {
        struct zg_identity who = {.kind = ZG_AUTH_SESSION, .mfa = true, .org_id = d.org_id};
        struct zg_policy_config cfg = {.k_min = d.k_min};
        if (zg_role_parse(role, &who.role)) {
            rc = zg_cli_usage(u, "--role must be a role name (academic, clinician, …)");
            goto out;
        }
        struct zg_policy_request pr = {&who, ZG_TIER_AGGREGATE, "genome.query", "cohort"};
        zg_policy_decide(&cfg, &pr, &d);
        if (!d.allow) {
            fprintf(stderr, "zengen: %s\n", d.reason);
            rc = ZG_EXIT_FAIL;
            goto out;
        }
    } else {
        d.obligations = (org ? ZG_OBL_OWN_ORG : 0) | (k ? ZG_OBL_SUPPRESS_SMALL : 0);
    }
    long maxn = max ? strtol(max, &end, 10) : 500, lim = limit ? strtol(limit, &end, 10) : 25;
    long reps = repeat ? strtol(repeat, &end, 10) : 1;
    if (maxn < 1 || maxn > 100000 || lim < 1 || lim > 10000 || reps < 1 || reps > 100000) {
        rc = zg_cli_usage(u, "--max/--limit out of range");
        goto out;
    }
    if (zg_cohort_acquire(NULL, &dd, db, &c, &err)) {
        rc = zg_cli_fail(&err);
        goto out;
    }
    json_t *j = NULL;
    int64_t *times = calloc((size_t)reps, sizeof(int64_t));
    struct zg_gene_counts *gc = zg_gene_counts_new();
    int64_t render_us = 0;
    if (!times || !gc) {
        free(times);
        zg_gene_counts_free(gc);
        rc = ZG_EXIT_FAIL;
        goto out;
    }
    /* --repeat: the same query in this process, for latency percentiles (benchmarks). Timed:
     * everything a query does — the permitted set from the decision, input checks, gene name
     * resolution, the counting — except rendering the answer (gene queries render their
     * counts to JSON after the clock stops; the render time is reported separately) and
     * printing. Working memory is reused across runs, as a server thread would. */
    struct zg_query_scope s = {0};
    for (long r = 0; r < reps; r++) {
        json_decref(j);
        j = NULL;
        zg_query_scope_release(&s);
        int64_t t0 = zg_clock_mono_us();
        if (zg_query_scope_init(&s, c, &d, &err)) {
            free(times);
            zg_gene_counts_free(gc);
            rc = zg_cli_fail(&err);
            goto out;
        }
        s.detailed = !role && !k;
        s.cancer_type = ct;
        if (!strcmp(sub, "genes")) {
            int qrc = zg_query_genes_count(c, genes, ng, by, classes, &s, gc, &err);
            times[r] = zg_clock_mono_us() - t0;
            if (qrc)
                break;
            int64_t t1 = zg_clock_mono_us();
            j = zg_query_genes_json(gc, &s);
            render_us = zg_clock_mono_us() - t1;
            continue;
        } else if (!strcmp(sub, "cooccurrence"))
            j = zg_query_cooccurrence(c, genes, ng, &s, &err);
        else if (!strcmp(sub, "oncoprint"))
            j = zg_query_oncoprint(c, genes, ng, (int)maxn, &s, &err);
        else if (!strcmp(sub, "variants"))
            j = ng == 1 ? zg_query_variants(c, db, genes[0], (int)lim, &s, &err) : NULL;
        else if (!strcmp(sub, "tmb"))
            j = zg_query_tmb(c, &s, &err);
        else if (!strcmp(sub, "overview"))
            j = zg_query_overview(c, &s, &err);
        else {
            free(times);
            rc = zg_cli_usage(u, "unknown query '%s'", sub);
            goto out;
        }
        times[r] = zg_clock_mono_us() - t0;
        if (!j)
            break;
    }
    qsort(times, (size_t)reps, sizeof(*times), cmp_i64);
    int64_t us = times[reps / 2],
            p95 = times[(reps * 95) / 100 < reps ? (reps * 95) / 100 : reps - 1];
    free(times);
    zg_gene_counts_free(gc);
    if (!j) {
        if (!err.code)
            zg_error_set(&err, ZG_EINVAL, "genes", "variants takes exactly one gene");
        rc = zg_cli_fail(&err);
        goto out;
    }
    json_t *opt = json_pack("{s:s}", "query", sub);
    json_t *data = json_array();
    for (size_t i = 0; i < ng; i++)
        json_array_append_new(data, json_string(genes[i]));
    if (zg_cli_audit(&dd, "genome.query", "cohort", "success", data, opt))
        rc = ZG_EXIT_FAIL;
    json_decref(opt);
    json_decref(data);
    if (!rc) {
        if (as_json || strcmp(sub, "genes")) {
            json_dumpf(j, stdout, JSON_INDENT(2));
            putchar('\n');
        } else {
            print_genes_table(j);
        }
        if (timing)
            fprintf(stderr,
                    "query: p50 %lld µs, p95 %lld µs over %ld runs (index generation %lld)\n",
                    (long long)us, (long long)p95, reps, (long long)zg_cohort_generation(c));
        if (timing && !strcmp(sub, "genes"))
            fprintf(stderr, "render: %lld µs (JSON answer of the last run)\n",
                    (long long)render_us);
    }
    json_decref(j);
    zg_query_scope_release(&s);
out:
    zg_cohort_release(c);
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}

int zg_cmd_genome_index(int argc, char **argv)
{
    static const char *u = "zengen genome-index rebuild|update|stats";
    if (argc < 1)
        return zg_cli_usage(u, "say what to do with the index");
    const char *sub = argv[0];
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(u, "too many arguments");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, &db, &err))
        return zg_cli_fail(&err);
    int rc = zg_args_done(&a, u);
    if (rc)
        goto out;
    struct zg_cohort_update_stats st;
    if (!strcmp(sub, "rebuild") || !strcmp(sub, "update")) {
        int r = !strcmp(sub, "rebuild") ? zg_cohort_rebuild(&dd, db, &st, &err)
                                        : zg_cohort_update(&dd, db, &st, &err);
        if (r) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        if (st.deltas)
            printf("generation %lld: %lld cases; a delta of %lld keys, %lld bytes (%lld over the "
                   "last full snapshot); %lld imports applied, %lld ms\n",
                   (long long)st.generation, (long long)st.cases, (long long)st.keys,
                   (long long)st.bytes, (long long)st.deltas, (long long)st.imports_applied,
                   (long long)st.ms);
        else
            printf("generation %lld: %lld cases, %lld keys, %lld bytes, %lld imports applied, "
                   "%lld ms\n",
                   (long long)st.generation, (long long)st.cases, (long long)st.keys,
                   (long long)st.bytes, (long long)st.imports_applied, (long long)st.ms);
        if (zg_cli_audit(&dd, "genome.index", "cohort", "success", NULL, NULL))
            rc = ZG_EXIT_FAIL;
    } else if (!strcmp(sub, "stats")) {
        struct zg_cohort *c = NULL;
        int64_t t0 = zg_clock_mono_ms();
        if (zg_cohort_acquire(NULL, &dd, NULL, &c, &err)) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        const roaring_bitmap_t *all = zg_cohort_get(c, "all");
        int64_t g = zg_cohort_generation(c), full = zg_cohort_full_generation(c);
        printf("generation %lld (full snapshot %lld + %lld deltas), %llu cases, loaded in %lld "
               "ms\n",
               (long long)g, (long long)full, (long long)(full ? g - full : 0),
               (unsigned long long)(all ? roaring_bitmap_get_cardinality(all) : 0),
               (long long)(zg_clock_mono_ms() - t0));
        zg_cohort_release(c);
        /* the live view: case-level sets (clinical cancer type, consent) from the database */
        int64_t t1 = zg_clock_mono_us();
        if (zg_cohort_acquire(NULL, &dd, db, &c, &err)) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        int64_t t2 = zg_clock_mono_us();
        printf("case-level view from the database in %.1f ms:", (double)(t2 - t1) / 1000.0);
        for (int k = 0; k < ZG_CONSENT__COUNT; k++) {
            char key[40];
            snprintf(key, sizeof(key), "cs\t%s", zg_consent_name((enum zg_consent)k));
            const roaring_bitmap_t *b = zg_cohort_get(c, key);
            printf(" %s %llu", zg_consent_name((enum zg_consent)k),
                   (unsigned long long)(b ? roaring_bitmap_get_cardinality(b) : 0));
        }
        putchar('\n');
        zg_cohort_release(c);
    } else {
        rc = zg_cli_usage(u, "unknown index command '%s'", sub);
    }
out:
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}

int zg_cmd_genome_case(int argc, char **argv)
{
    static const char *u = "zengen genome-case set ID [--cancer-type CODE] [--dataset NAME] "
                           "[--attr KEY=VALUE]";
    if (argc < 1 || strcmp(argv[0], "set"))
        return zg_cli_usage(u, "say what to do: set");
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(u, "too many arguments");
    const char *ct = zg_args_opt(&a, "--cancer-type"), *ds = zg_args_opt(&a, "--dataset");
    const char *attr = zg_args_opt(&a, "--attr");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    const char *idtext = NULL;
    int rc = zg_cli_start(&a, u, &dd, &db, &idtext);
    if (rc)
        return rc;
    struct zg_error err;
    zg_error_clear(&err);
    enum zg_id_kind kind;
    char id[ZG_ID_LEN];
    if (!idtext || zg_id_parse(idtext, &kind, id, &err) || kind != ZG_ID_CASE) {
        rc = zg_cli_usage(u, "give a case ID (ZGC-…)");
        goto out;
    }
    if (!ct && !ds && !attr) {
        rc = zg_cli_usage(u, "nothing to set");
        goto out;
    }
    char key[64] = "";
    const char *val = NULL;
    if (attr) {
        const char *eq = strchr(attr, '=');
        if (!eq || eq == attr || (size_t)(eq - attr) >= sizeof(key)) {
            rc = zg_cli_usage(u, "--attr must be KEY=VALUE");
            goto out;
        }
        memcpy(key, attr, (size_t)(eq - attr));
        key[eq - attr] = '\0';
        val = eq + 1;
    }
    int64_t case_no;
    if (zg_db_begin(db, &err) || zg_genome_case_ensure(db, id, ct, ds, 0, &case_no, &err) ||
        (attr && zg_genome_case_attr_set(db, id, key, val, &err)) || zg_db_commit(db, &err)) {
        zg_db_rollback(db);
        rc = zg_cli_fail(&err);
        goto out;
    }
    json_t *d = json_pack("[s]", id);
    rc = zg_cli_audit(&dd, "genome.case.update", "case", "success", d, NULL) ? ZG_EXIT_FAIL : 0;
    json_decref(d);
    struct zg_cohort_update_stats st;
    if (!rc && zg_cohort_update(&dd, db, &st, &err))
        rc = zg_cli_fail(&err);
    if (!rc)
        printf("%s updated (index generation %lld)\n", id, (long long)st.generation);
out:
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}
