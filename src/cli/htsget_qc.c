/* zengen qc coverage FILE|--file ID [--role R] [--threads N] [--json]
 *           identity --tumour ID --normal ID [--sites VCF] [--min-sites N] [--json]
 *           metrics --case ID --role tumour|normal|rna FILE.json
 *           show CASE [--json] | gates */
#include "cli.h"
#include "common/error.h"
#include "genome/files.h"
#include "genome/qc.h"
#include "store/db.h"

#include <unistd.h>

static const char *usage =
    "zengen qc coverage FILE|--file ID [--role tumour|normal|rna] [--threads N] [--min-mapq Q] "
    "[--reference FA] [--json] | identity --tumour ID --normal ID [--sites VCF] [--min-sites N] [--json] | "
    "metrics --case ID --role tumour|normal|rna FILE.json | show CASE [--json] | gates";

static bool progress(void *ctx, const char *contig, int64_t reads)
{
    (void)ctx;
    fprintf(stderr, "\rqc: %s (%lld reads so far)   ", contig, (long long)reads);
    return false;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    if (!s)
        return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static bool valid_role(const char *r)
{
    return r && (!strcmp(r, "tumour") || !strcmp(r, "normal") || !strcmp(r, "rna"));
}

/* Role of a registered file: --role, else its specimen's type. */
static const char *file_role(sqlite3 *db, const struct zg_file_info *f, const char *given)
{
    if (given)
        return given;
    if (!f->specimen_id[0])
        return NULL;
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT type FROM specimens WHERE id = ?", NULL);
    const char *role = NULL;
    if (st) {
        sqlite3_bind_text(st, 1, f->specimen_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            role = zg_qc_role_of(zg_db_text(st, 0));
        zg_db_release(st);
    }
    return role;
}

static void print_coverage(const json_t *c)
{
    printf("scope: %s\n", json_string_value(json_object_get(c, "scope")));
    printf("raw_reads: %lld\n", (long long)json_integer_value(json_object_get(c, "raw_reads")));
    static const char *const keys[] = {"pct_reads_mapped", "pct_reads_properly_paired",
                                       "pct_reads_duplicate", "mean_autosome_coverage",
                                       "median_autosome_coverage", "pct_autosomes_10x",
                                       "pct_autosomes_15x", "pct_autosomes_30x"};
    for (size_t i = 0; i < ZG_ARRAY_LEN(keys); i++)
        printf("%s: %.2f\n", keys[i], json_number_value(json_object_get(c, keys[i])));
    size_t i;
    json_t *ct;
    printf("contig\tlength\tmean_depth\tpct_10x\tpct_30x\n");
    json_array_foreach(json_object_get(c, "contigs"), i, ct) {
        if (i >= 200) {
            printf("… %zu more contigs (use --json)\n",
                   json_array_size(json_object_get(c, "contigs")) - i);
            break;
        }
        printf("%s\t%lld\t%.2f\t%.2f\t%.2f\n", json_string_value(json_object_get(ct, "name")),
               (long long)json_integer_value(json_object_get(ct, "length")),
               json_number_value(json_object_get(ct, "mean_depth")),
               json_number_value(json_object_get(ct, "pct_10x")),
               json_number_value(json_object_get(ct, "pct_30x")));
    }
}

static int cmd_coverage(struct zg_args *a)
{
    const char *fid = zg_args_opt(a, "--file"), *role = zg_args_opt(a, "--role");
    const char *ref = zg_args_opt(a, "--reference");
    bool as_json = zg_args_flag(a, "--json");
    struct zg_qc_cov_opts o = {.threads = 0, .min_mapq = 0};
    if (parse_int(zg_args_opt(a, "--threads"), 0, 64, &o.threads) ||
        parse_int(zg_args_opt(a, "--min-mapq"), 0, 255, &o.min_mapq))
        return zg_cli_usage(usage, "--threads is 0–64 and --min-mapq 0–255");
    if (role && !valid_role(role))
        return zg_cli_usage(usage, "--role is tumour, normal or rna");
    const char *path = zg_args_pos(a, 0);
    if (!fid && !path)
        return zg_cli_usage(usage, "qc coverage needs FILE or --file ID");
    struct zg_error err;
    zg_error_clear(&err);
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    struct zg_file_info f;
    bool registered = fid != NULL;
    int rc;
    if (registered) {
        if (zg_cli_open(a, &dd, &db, &err))
            return zg_cli_fail(&err);
        if ((rc = zg_args_done(a, usage)))
            goto out;
        if (zg_file_get(db, fid, &f, &err)) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        path = f.path;
        if (!ref && f.ref_fasta[0])
            ref = f.ref_fasta;
        role = file_role(db, &f, role);
    } else {
        (void)zg_args_opt(a, "--data");
        if ((rc = zg_args_done(a, usage)))
            return rc;
    }
    o.ref_fasta = ref;
    if (isatty(2))
        o.progress = progress;
    json_t *res = NULL;
    rc = zg_qc_coverage(path, &o, &res, &err);
    if (o.progress)
        fprintf(stderr, "\n");
    if (rc) {
        rc = zg_cli_fail(&err);
        goto out;
    }
    if (!registered && role)
        json_object_set_new(res, "role", json_string(role));
    if (registered) {
        json_t *d = json_pack("[s,s]", f.case_id, f.id);
        if (zg_qc_store_coverage(&dd, f.case_id, f.id, role, res, &err) ||
            zg_cli_audit(&dd, "qc.coverage", "genome_file", "success", d, NULL)) {
            json_decref(d);
            json_decref(res);
            rc = err.reason[0] ? zg_cli_fail(&err) : ZG_EXIT_FAIL;
            goto out;
        }
        json_decref(d);
    }
    if (as_json) {
        zg_cli_print_json(res);
    } else {
        print_coverage(res);
    }
    json_decref(res);
    rc = ZG_EXIT_OK;
out:
    if (registered) {
        zg_db_close(db);
        zg_datadir_close(&dd);
    }
    return rc;
}

static int cmd_identity(struct zg_args *a)
{
    const char *tid = zg_args_opt(a, "--tumour"), *nid = zg_args_opt(a, "--normal");
    struct zg_qc_identity_opts o = {.sites_vcf = zg_args_opt(a, "--sites")};
    bool as_json = zg_args_flag(a, "--json");
    if (parse_int(zg_args_opt(a, "--max-sites"), 1, 1000000, &o.max_sites) ||
        parse_int(zg_args_opt(a, "--min-depth"), 1, 10000, &o.min_depth) ||
        parse_int(zg_args_opt(a, "--min-sites"), 1, 1000000, &o.min_sites))
        return zg_cli_usage(usage, "--max-sites, --min-depth and --min-sites are positive integers");
    if (!tid || !nid)
        return zg_cli_usage(usage, "qc identity needs --tumour ID and --normal ID");
    struct zg_error err;
    zg_error_clear(&err);
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    if (zg_cli_open(a, &dd, &db, &err))
        return zg_cli_fail(&err);
    struct zg_file_info t, n;
    json_t *res = NULL;
    int rc = zg_args_done(a, usage);
    if (rc)
        goto out;
    if (zg_file_get(db, tid, &t, &err) || zg_file_get(db, nid, &n, &err) ||
        zg_qc_identity(t.path, t.ref_fasta, n.path, n.ref_fasta, &o, &res, &err)) {
        rc = zg_cli_fail(&err);
        goto out;
    }
    if (strcmp(t.case_id, n.case_id)) {
        json_decref(res);
        err.code = ZG_EINVAL;
        rc = zg_cli_usage(usage, "the tumour and normal files belong to different cases");
        goto out;
    }
    json_object_set_new(res, "tumour_file", json_string(t.id));
    json_object_set_new(res, "normal_file", json_string(n.id));
    json_t *d = json_pack("[s,s,s]", t.case_id, t.id, n.id);
    if (zg_qc_store(&dd, t.case_id, "identity", res, &err) ||
        zg_cli_audit(&dd, "qc.identity", "case", "success", d, NULL)) {
        json_decref(d);
        json_decref(res);
        rc = err.reason[0] ? zg_cli_fail(&err) : ZG_EXIT_FAIL;
        goto out;
    }
    json_decref(d);
    if (as_json) {
        zg_cli_print_json(res);
    } else {
        printf("verdict: %s\nconcordance: %.3f\nsites_compared: %lld\nreason: %s\n",
               json_string_value(json_object_get(res, "verdict")),
               json_number_value(json_object_get(res, "concordance")),
               (long long)json_integer_value(json_object_get(res, "sites_compared")),
               json_string_value(json_object_get(res, "reason")));
    }
    rc = strcmp(json_string_value(json_object_get(res, "verdict")), "mismatch") ? ZG_EXIT_OK
                                                                               : ZG_EXIT_FAIL;
    json_decref(res);
out:
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}

static int cmd_metrics(struct zg_args *a)
{
    const char *cid = zg_args_opt(a, "--case"), *role = zg_args_opt(a, "--role");
    const char *file = zg_args_pos(a, 0);
    if (!cid || !valid_role(role) || !file)
        return zg_cli_usage(usage, "qc metrics needs --case ID, --role tumour|normal|rna and a "
                                   "JSON file of metrics");
    struct zg_error err;
    zg_error_clear(&err);
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    if (zg_cli_open(a, &dd, &db, &err))
        return zg_cli_fail(&err);
    int rc = zg_args_done(a, usage);
    json_t *m = NULL;
    if (rc)
        goto out;
    json_error_t je;
    m = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(m)) {
        rc = zg_cli_usage(usage, "%s: not a JSON object of metrics (%s)", file, je.text);
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        bool ok = json_is_number(v) && strlen(k) < 64;
        for (const char *p = k; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (!ok) {
            rc = zg_cli_usage(usage, "metric '%.60s' must be a lower_snake_case name with a number "
                              "(GA4GH WGS QC metric names, e.g. mean_autosome_coverage)", k);
            goto out;
        }
    }
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT 1 FROM cases WHERE id = ?", &err);
    bool found = false;
    if (st) {
        sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
        zg_db_release(st);
    }
    if (!found) {
        zg_error_set(&err, ZG_ENOTFOUND, "--case", "no such case");
        rc = zg_cli_fail(&err);
        goto out;
    }
    char kind[32];
    snprintf(kind, sizeof(kind), "metrics-%s", role);
    json_t *d = json_pack("[s]", cid);
    if (zg_qc_store(&dd, cid, kind, m, &err) ||
        zg_cli_audit(&dd, "qc.metrics", "case", "success", d, NULL)) {
        json_decref(d);
        rc = err.reason[0] ? zg_cli_fail(&err) : ZG_EXIT_FAIL;
        goto out;
    }
    json_decref(d);
    printf("%zu metrics stored for the %s sample of %s\n", json_object_size(m), role, cid);
out:
    json_decref(m);
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}

static int cmd_show(struct zg_args *a, bool gates_only)
{
    bool as_json = zg_args_flag(a, "--json");
    const char *cid = gates_only ? NULL : zg_args_pos(a, 0);
    if (!gates_only && !cid)
        return zg_cli_usage(usage, "qc show needs a case id");
    struct zg_error err;
    zg_error_clear(&err);
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    if (zg_cli_open(a, &dd, &db, &err))
        return zg_cli_fail(&err);
    int rc = zg_args_done(a, usage);
    if (rc)
        goto out;
    json_t *v = gates_only ? zg_qc_gates(&dd) : zg_qc_case(&dd, cid, &err);
    if (!v) {
        rc = zg_cli_fail(&err);
        goto out;
    }
    if (as_json || gates_only) {
        zg_cli_print_json(v);
    } else {
        printf("case %s: %s\n", cid, json_string_value(json_object_get(v, "overall")));
        size_t i;
        json_t *g;
        json_array_foreach(json_object_get(v, "gates"), i, g)
            printf("  %-8s %-26s %-14s %s\n", json_string_value(json_object_get(g, "status")),
                   json_string_value(json_object_get(g, "gate")),
                   json_string_value(json_object_get(g, "sample")),
                   json_string_value(json_object_get(g, "why")));
    }
    json_decref(v);
out:
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}

int zg_cmd_qc(int argc, char **argv)
{
    if (argc < 1)
        return zg_cli_usage(usage, "say which QC to run");
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(usage, "too many arguments");
    if (!strcmp(argv[0], "coverage"))
        return cmd_coverage(&a);
    if (!strcmp(argv[0], "identity"))
        return cmd_identity(&a);
    if (!strcmp(argv[0], "metrics"))
        return cmd_metrics(&a);
    if (!strcmp(argv[0], "show"))
        return cmd_show(&a, false);
    if (!strcmp(argv[0], "gates"))
        return cmd_show(&a, true);
    return zg_cli_usage(usage, "unknown qc command '%s'", argv[0]);
}
