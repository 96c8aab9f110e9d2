/* Background jobs over the API: the kinds this binary runs (one entry per domain job, from
 * <domain>_jobs.inc) and the caller's view of their own jobs. */
#include "api.h"
#include "svc/jobs.h"
#include "common/error.h"

#if __has_include("genome_jobs.h")
#include "genome_jobs.h"
#endif
#if __has_include("htsget_api.h")
#include "htsget_api.h"
#endif

const struct zg_job_kind zg_job_kinds[] = {
#if __has_include("genome_jobs.inc")
#include "genome_jobs.inc"
#endif
#if __has_include("htsget_jobs.inc")
#include "htsget_jobs.inc"
#endif
    {NULL, NULL, NULL}, /* end (and keeps the table non-empty without domains) */
};
const size_t zg_njob_kinds = ZG_ARRAY_LEN(zg_job_kinds) - 1;

static const char *const states[] = {"queued", "running", "succeeded", "failed", NULL};

int zg_api_jobs_list(struct zg_req *req, struct zg_error *err)
{
    const char *state = zg_req_query(req, "state");
    int64_t limit;
    int rc = zg_query_int(req, "limit", 50, 1, 500, &limit, err);
    if (rc)
        return rc;
    if (state) {
        bool ok = false;
        for (size_t i = 0; states[i] && !ok; i++)
            ok = !strcmp(state, states[i]);
        if (!ok)
            return zg_error_set(err, ZG_EINVAL, "state",
                                "must be queued, running, succeeded or failed");
    }
    json_t *j = zg_jobs_list_json(req->app, req->conns->db, req->who.user_id,
                                  zg_job_readable_tiers(req), state, limit, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_jobs_get(struct zg_req *req, struct zg_error *err)
{
    const char *id = zg_req_param(req, "id");
    json_t *j = zg_job_json(req->app, req->conns->db, id ? id : "", req->who.user_id,
                            zg_job_readable_tiers(req), err);
    if (!j)
        return err->code;
    zg_req_audit_data(req, id);
    return zg_req_reply(req, 200, j);
}
