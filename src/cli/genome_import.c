/* zengen import vcf FILE --case ID --kind somatic|germline|sv|cnv: registers the file, streams
 * its variants into the genome tables (one transaction) and publishes a new cohort index. */
#include "cli.h"
#include "genome_cli.h"
#include "genome/files.h"
#include "genome/variants.h"
#include "genome/cohort.h"
#include "common/clock.h"
#include "store/db.h"

#include <unistd.h>

struct progress {
    int64_t t0;
    bool tty;
};

static bool show_progress(void *ctx, int64_t records, int64_t stored)
{
    struct progress *p = ctx;
    double s = (double)(zg_clock_mono_ms() - p->t0) / 1000.0;
    fprintf(stderr, "%s%lld records, %lld stored, %.0f records/s%s", p->tty ? "\r" : "",
            (long long)records, (long long)stored, s > 0 ? (double)records / s : 0.0,
            p->tty ? "" : "\n");
    return false;
}

int zg_cmd_import_vcf(int argc, char **argv)
{
    static const char *u =
        "zengen import vcf FILE --case ID --kind somatic|germline|sv|cnv [--cancer-type CODE] "
        "[--dataset NAME] [--callable-mb MB] [--sample NAME] [--gene-bed BED] [--specimen ID] "
        "[--pipeline NAME] [--pipeline-version V] [--no-register] [--quiet]";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *kind_s = zg_args_opt(&a, "--kind");
    const char *callable = zg_args_opt(&a, "--callable-mb"), *bed = zg_args_opt(&a, "--gene-bed");
    struct zg_import_opts o = {
        .case_id = zg_args_opt(&a, "--case"),
        .cancer_type = zg_args_opt(&a, "--cancer-type"),
        .dataset = zg_args_opt(&a, "--dataset"),
        .sample = zg_args_opt(&a, "--sample"),
    };
    struct zg_file_add_opts fo = {
        .case_id = o.case_id,
        .specimen_id = zg_args_opt(&a, "--specimen"),
        .pipeline = zg_args_opt(&a, "--pipeline"),
        .pipeline_version = zg_args_opt(&a, "--pipeline-version"),
    };
    bool no_register = zg_args_flag(&a, "--no-register"), quiet = zg_args_flag(&a, "--quiet");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    struct zg_gene_model *genes = NULL;
    if (zg_cli_open(&a, &dd, &db, &err))
        return zg_cli_fail(&err);
    const char *file = zg_args_pos(&a, 0);
    int rc = zg_args_done(&a, u);
    if (rc)
        goto out;
    if (!file || !o.case_id || !kind_s) {
        rc = zg_cli_usage(u, "import vcf needs FILE, --case and --kind");
        goto out;
    }
    if (zg_variant_kind_parse(kind_s, &o.kind)) {
        rc = zg_cli_usage(u, "--kind must be somatic, germline, sv or cnv");
        goto out;
    }
    if (callable) {
        char *end;
        o.callable_mb = strtod(callable, &end);
        if (*end || o.callable_mb <= 0 || o.callable_mb > 4000) {
            rc = zg_cli_usage(u, "--callable-mb must be a number of megabases in (0, 4000]");
            goto out;
        }
    }
    char bedbuf[1024];
    if (!bed)
        bed = zg_gene_model_default_path(&dd, bedbuf, sizeof(bedbuf));
    if (bed && zg_gene_model_load(bed, &genes, &err)) {
        rc = zg_cli_fail(&err);
        goto out;
    }
    o.genes = genes;
    struct zg_file_info fi;
    if (!no_register) {
        fo.data_kind = kind_s;
        if (zg_file_add(&dd, db, file, &fo, &fi, &err)) {
            json_t *opt = json_pack("{s:s,s:s}", "case", o.case_id, "kind", kind_s);
            int r2 = zg_cli_audit(&dd, "variants.import", "variants", "failure", NULL, opt);
            (void)r2;
            json_decref(opt);
            rc = zg_cli_fail(&err);
            goto out;
        }
        o.file_id = fi.id;
        o.sha256 = fi.sha256; /* read the stored, content-addressed copy: its digest is known */
        file = fi.path;
    }
    struct progress pr = {zg_clock_mono_ms(), isatty(2) != 0};
    if (!quiet) {
        o.progress = show_progress;
        o.progress_ctx = &pr;
    }
    struct zg_import_result res;
    rc = zg_variant_import(&dd, db, file, &o, &res, &err);
    if (!quiet && pr.tty)
        fputc('\n', stderr);
    json_t *opt = json_pack("{s:s,s:s,s:I,s:I,s:b}", "kind", kind_s, "sha256", res.sha256,
                            "records", (json_int_t)res.records, "stored",
                            (json_int_t)res.stored, "already", res.already);
    json_t *data = json_pack("[s]", o.case_id);
    if (o.file_id)
        json_array_append_new(data, json_string(o.file_id));
    if ((rc = zg_cli_outcome(&dd, "variants.import", "variants", rc, &err, data, opt)))
        goto out;
    struct zg_cohort_update_stats us;
    if (!res.already && zg_cohort_update(&dd, db, &us, &err)) {
        fprintf(stderr, "zengen: the variants are stored but the cohort index was not updated "
                        "(run `zengen genome-index rebuild`)\n");
        rc = zg_cli_fail(&err);
        goto out;
    }
    if (res.already)
        printf("already imported: %s for case %s (nothing changed)\n", kind_s, o.case_id);
    else
        printf("imported %lld %s rows from %lld records (%lld alleles, %lld annotated) into case "
               "%s%s%s\n",
               (long long)res.stored, kind_s, (long long)res.records, (long long)res.alleles,
               (long long)res.annotated, o.case_id, o.file_id ? ", file " : "",
               o.file_id ? o.file_id : "");
out:
    zg_gene_model_free(genes);
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}
