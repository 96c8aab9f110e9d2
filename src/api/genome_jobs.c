/* Importing a registered VCF/BCF as a background job: POST /api/v1/genome/files/{id}/import
 * checks what it can at once (file, format, kind, codes) and answers 202 with the job; the
 * worker streams the file into the genome tables and publishes the cohort index, exactly as
 * `zengen import vcf` does. */
#include "api.h"
#include "genome_api.h"
#include "genome_jobs.h"
#include "common/error.h"
#include "genome/cohort.h"
#include "genome/files.h"
#include "genome/variants.h"

static bool on_progress(void *ctx, int64_t records, int64_t stored)
{
    return zg_job_progress(
        ctx, json_pack("{s:I,s:I}", "records", (json_int_t)records, "stored", (json_int_t)stored));
}

static const char *param(json_t *p, const char *k)
{
    return json_string_value(json_object_get(p, k));
}

int zg_job_genome_import(struct zg_job *job, json_t **result, struct zg_error *err)
{
    struct zg_file_info f;
    int rc = zg_file_get(
        job->db, param(job->params, "file_id") ? param(job->params, "file_id") : "", &f, err);
    if (rc)
        return rc;
    zg_job_audit_data(job, f.id);
    zg_job_audit_data(job, f.case_id);
    struct zg_import_opts o = {.case_id = f.case_id,
                               .cancer_type = param(job->params, "cancer_type"),
                               .dataset = param(job->params, "dataset"),
                               .sample = param(job->params, "sample"),
                               .callable_mb =
                                   json_number_value(json_object_get(job->params, "callable_mb")),
                               .file_id = f.id,
                               .sha256 = f.sha256, /* the stored copy is content-addressed */
                               .progress = on_progress,
                               .progress_ctx = job};
    if (zg_variant_kind_parse(param(job->params, "kind"), &o.kind))
        return zg_error_set(err, ZG_EINVAL, "/kind", "must be somatic, germline, sv or cnv");
    struct zg_gene_model *genes = NULL;
    char bedbuf[1024];
    const char *bed = zg_gene_model_default_path(&job->app->dd, bedbuf, sizeof(bedbuf));
    if (bed && (rc = zg_gene_model_load(bed, &genes, err)))
        return rc;
    o.genes = genes;
    struct zg_import_result res;
    rc = zg_variant_import(&job->app->dd, job->db, f.path, &o, &res, err);
    zg_gene_model_free(genes);
    if (rc)
        return rc;
    struct zg_cohort_update_stats us;
    if (!res.already && (rc = zg_cohort_update(&job->app->dd, job->db, &us, err)))
        return rc; /* stored; `zengen genome-index rebuild` or the next import publishes it */
    *result =
        json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:b,s:s}", "file_id", f.id, "case_id", f.case_id,
                  "kind", zg_variant_kind_name(o.kind), "records", (json_int_t)res.records,
                  "alleles", (json_int_t)res.alleles, "stored", (json_int_t)res.stored, "annotated",
                  (json_int_t)res.annotated, "already", res.already, "sha256", res.sha256);
    return 0;
}

int zg_api_genome_file_import(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"kind",   "cancer_type", "dataset",
                                          "sample", "callable_mb", NULL};
    const char *kind = NULL, *ct = NULL, *dataset = NULL, *sample = NULL;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "kind", true, 16, &kind, err)) ||
        (rc = zg_body_string(req, "cancer_type", false, 16, &ct, err)) ||
        (rc = zg_body_string(req, "dataset", false, 64, &dataset, err)) ||
        (rc = zg_body_string(req, "sample", false, 255, &sample, err)))
        return rc;
    enum zg_variant_kind vk;
    if (zg_variant_kind_parse(kind, &vk))
        return zg_error_set(err, ZG_EINVAL, "/kind", "must be somatic, germline, sv or cnv");
    if (ct && !zg_genome_code_valid(ct))
        return zg_error_set(err, ZG_EINVAL, "/cancer_type",
                            "must be an OncoTree code (1–16 of A-Z 0-9 _ -)");
    json_t *cm = json_object_get(req->body, "callable_mb");
    if (cm && (!json_is_number(cm) || json_number_value(cm) <= 0 || json_number_value(cm) > 4000))
        return zg_error_set(err, ZG_EINVAL, "/callable_mb",
                            "must be a number of megabases in (0, 4000]");
    struct zg_file_info f;
    const char *id = zg_req_param(req, "id");
    if ((rc = zg_file_get(req->conns->db, id ? id : "", &f, err)))
        return rc;
    if ((req->decision.obligations & ZG_OBL_OWN_ORG) && f.org_id != req->decision.org_id)
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such file");
    zg_req_audit_data(req, f.id);
    zg_req_audit_data(req, f.case_id);
    if (f.format != ZG_FF_VCF && f.format != ZG_FF_BCF)
        return zg_error_set(err, ZG_EINVAL, "id",
                            "is a %s file: only VCF and BCF files hold "
                            "variant calls",
                            zg_file_format_name(f.format));
    json_t *params = json_deep_copy(req->body);
    json_object_set_new(params, "file_id", json_string(f.id));
    return zg_job_accept(req, "genome.import", params, err);
}
