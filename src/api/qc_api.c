/* Sequencing QC over HTTP: gates, a case's QC view (pass/fail/why), pipeline metrics ingest,
 * coverage of a registered BAM/CRAM and the tumour/normal identity check. Results are stored
 * by genome/qc.c under DATA/qc/<case id>/. */
#include "api.h"
#include "common/error.h"
#include "genome/files.h"
#include "genome/qc.h"
#include "store/db.h"
#include "svc/jobs.h"

/* Finds the case and applies the own-organisation obligation (another org's case → 404). */
static int case_visible(struct zg_req *req, const char *id, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(req->conns->db, "SELECT org_id FROM cases WHERE id = ?", err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    int64_t org = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    zg_db_release(st);
    zg_req_audit_data(req, id);
    if (org < 0 || ((req->decision.obligations & ZG_OBL_OWN_ORG) && org != req->decision.org_id))
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such case");
    return 0;
}

static int file_visible(struct zg_req *req, const char *id, struct zg_file_info *f,
                        struct zg_error *err)
{
    zg_req_audit_data(req, id);
    int rc = zg_file_get(req->conns->db, id, f, err);
    if (rc == ZG_EINVAL)
        return rc;
    if (rc || ((req->decision.obligations & ZG_OBL_OWN_ORG) && f->org_id != req->decision.org_id))
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such file");
    return 0;
}

int zg_api_qc_gates(struct zg_req *req, struct zg_error *err)
{
    (void)err;
    return zg_req_reply(req, 200, zg_qc_gates(&req->app->dd));
}

int zg_api_qc_case(struct zg_req *req, struct zg_error *err)
{
    const char *id = zg_req_param(req, "id");
    int rc = case_visible(req, id, err);
    if (rc)
        return rc;
    json_t *v = zg_qc_case(&req->app->dd, id, err);
    return v ? zg_req_reply(req, 200, v) : err->code;
}

int zg_api_qc_metrics(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"role", "metrics", NULL};
    const char *id = zg_req_param(req, "id"), *role = NULL;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "role", true, 16, &role, err)))
        return rc;
    if (strcmp(role, "tumour") && strcmp(role, "normal") && strcmp(role, "rna"))
        return zg_error_set(err, ZG_EINVAL, "/role", "must be tumour, normal or rna");
    json_t *m = json_object_get(req->body, "metrics");
    if (!json_is_object(m) || json_object_size(m) == 0 || json_object_size(m) > 200)
        return zg_error_set(err, ZG_EINVAL, "/metrics",
                            "must be an object of 1–200 numeric metrics");
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        bool ok = json_is_number(v) && strlen(k) < 64 && *k;
        for (const char *p = k; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (!ok)
            return zg_error_set(err, ZG_EINVAL, "/metrics",
                                "metric names are lower_snake_case (GA4GH WGS QC names such as "
                                "mean_autosome_coverage) with numeric values");
    }
    if ((rc = case_visible(req, id, err)))
        return rc;
    char kind[32];
    snprintf(kind, sizeof(kind), "metrics-%s", role);
    if ((rc = zg_qc_store(&req->app->dd, id, kind, m, err)))
        return rc;
    json_t *view = zg_qc_case(&req->app->dd, id, err);
    return view ? zg_req_reply(req, 201, view) : err->code;
}

/* A coverage pass reads the whole BAM/CRAM (minutes for a WGS file): it runs as a job. */
static bool cov_progress(void *ctx, const char *contig, int64_t reads)
{
    return zg_job_progress(ctx, json_pack("{s:s,s:I}", "contig", contig, "reads",
                                          (json_int_t)reads));
}

int zg_job_qc_coverage(struct zg_job *job, json_t **result, struct zg_error *err)
{
    struct zg_file_info f;
    const char *id = json_string_value(json_object_get(job->params, "file_id"));
    const char *role = json_string_value(json_object_get(job->params, "role"));
    int rc = zg_file_get(job->db, id ? id : "", &f, err);
    if (rc)
        return rc;
    zg_job_audit_data(job, f.id);
    zg_job_audit_data(job, f.case_id);
    struct zg_qc_cov_opts o = {.threads = 2, .ref_fasta = f.ref_fasta[0] ? f.ref_fasta : NULL,
                               .progress = cov_progress, .progress_ctx = job};
    json_t *res = NULL;
    if ((rc = zg_qc_coverage(f.path, &o, &res, err)))
        return rc;
    if ((rc = zg_qc_store_coverage(&job->app->dd, f.case_id, f.id, role, res, err))) {
        json_decref(res);
        return rc;
    }
    *result = res;
    return 0;
}

int zg_api_qc_coverage(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"role", NULL};
    const char *id = zg_req_param(req, "id"), *role = NULL;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "role", false, 16, &role, err)))
        return rc;
    if (role && strcmp(role, "tumour") && strcmp(role, "normal") && strcmp(role, "rna"))
        return zg_error_set(err, ZG_EINVAL, "/role", "must be tumour, normal or rna");
    struct zg_file_info f;
    if ((rc = file_visible(req, id, &f, err)))
        return rc;
    zg_req_audit_data(req, f.case_id);
    if (f.format != ZG_FF_BAM && f.format != ZG_FF_CRAM)
        return zg_error_set(err, ZG_EINVAL, "id", "coverage needs a BAM or CRAM file");
    json_t *params = json_pack("{s:s}", "file_id", f.id);
    if (role)
        json_object_set_new(params, "role", json_string(role));
    return zg_job_accept(req, "qc.coverage", params, err);
}

int zg_api_qc_identity(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"tumour_file", "normal_file", "min_sites", NULL};
    const char *id = zg_req_param(req, "id"), *tid = NULL, *nid = NULL;
    int64_t min_sites = 20;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "tumour_file", true, 32, &tid, err)) ||
        (rc = zg_body_string(req, "normal_file", true, 32, &nid, err)) ||
        (rc = zg_body_int(req, "min_sites", false, 1, 100000, &min_sites, err)))
        return rc;
    if ((rc = case_visible(req, id, err)))
        return rc;
    struct zg_file_info t, n;
    if ((rc = file_visible(req, tid, &t, err)) || (rc = file_visible(req, nid, &n, err)))
        return rc;
    if (strcmp(t.case_id, id) || strcmp(n.case_id, id))
        return zg_error_set(err, ZG_EINVAL, "/tumour_file",
                            "both files must belong to this case");
    struct zg_qc_identity_opts o = {.min_sites = (int)min_sites};
    json_t *res = NULL;
    if ((rc = zg_qc_identity(t.path, t.ref_fasta, n.path, n.ref_fasta, &o, &res, err)))
        return rc;
    json_object_set_new(res, "tumour_file", json_string(t.id));
    json_object_set_new(res, "normal_file", json_string(n.id));
    if ((rc = zg_qc_store(&req->app->dd, id, "identity", res, err))) {
        json_decref(res);
        return rc;
    }
    return zg_req_reply(req, 201, res);
}
