/* Background jobs: work too long for a request (importing a registered VCF, coverage QC of a
 * 100 GB CRAM) runs outside it. The request records a job and answers 202 with its URL; a
 * worker thread of `zengen serve` runs it with its own database connection under the
 * submitter's identity; the caller polls GET /api/v1/jobs/{id}.
 *
 * Jobs live in zengen.db (table jobs), so none is lost with the process: a job that was
 * running when the process stopped or died is queued again at the next start. Job kinds must
 * therefore be safe to run again (imports are idempotent by SHA-256 and transactional; QC
 * overwrites its result). Each run is audited (attempt before, result after, with the
 * submitter as the user and the job's parameters as options). */
#ifndef ZG_JOBS_H
#define ZG_JOBS_H

#include "svc.h"

struct zg_error;
struct zg_jobs;

/* A running job, as its runner sees it. */
struct zg_job {
    struct zg_app *app;
    sqlite3 *db; /* the worker's own connection to zengen.db */
    const char *id, *kind;
    json_t *params;         /* the parameters given at submission (validated then) */
    struct zg_identity who; /* the submitter: user id, login, role, organisation */
    json_t *audit_data;     /* ids the job touched (zg_job_audit_data) */
    struct zg_jobs *jobs;   /* private */
};

/* Runs the job; on success *result is a JSON object (taken). Returns 0, an error code with
 * err (the job fails with it), or ZG_ECANCELED when zg_job_progress said to stop. */
typedef int (*zg_job_run_fn)(struct zg_job *job, json_t **result, struct zg_error *err);

struct zg_job_kind {
    const char *name;   /* "genome.import" */
    const char *action; /* audit action of a run: "genome.import.run" */
    zg_job_run_fn run;
};

/* The kinds this binary knows (api/jobs_api.c, one entry per domain job). */
extern const struct zg_job_kind zg_job_kinds[];
extern const size_t zg_njob_kinds;

/* Reports progress (a small JSON object, taken), visible to GET /api/v1/jobs/{id} while the
 * job runs. Returns true when the job must stop now (the server is shutting down): the runner
 * then returns ZG_ECANCELED after undoing its work, and the job is queued again. */
bool zg_job_progress(struct zg_job *job, json_t *progress);

/* Records an id the job touched (case, file) for its audit events. */
void zg_job_audit_data(struct zg_job *job, const char *id);

/* Starts nworkers worker threads (0: none — jobs wait for a server that has workers), after
 * queueing again any job left running by a previous process. */
int zg_jobs_start(struct zg_app *app, size_t nworkers, struct zg_jobs **out,
                  struct zg_error *err) ZG_MUST_CHECK;

/* Asks running jobs to stop, waits for the workers and frees j (NULL is fine). A job stopped
 * this way is queued again. */
void zg_jobs_stop(struct zg_jobs *j);

/* Queues again the jobs left 'running' (called by zg_jobs_start; exposed for tests).
 * Returns the number requeued or a negative error. */
int64_t zg_jobs_recover(sqlite3 *db, struct zg_error *err);

/* Records a new job of kind for the request's caller (its own transaction on the request's
 * connection) and wakes a worker; the job's id into id_out[33]. params is taken. */
int zg_job_submit(struct zg_req *req, const char *kind, json_t *params, char id_out[33],
                  struct zg_error *err) ZG_MUST_CHECK;

/* Submits the job and answers the request with 202, the job and `Location: /api/v1/jobs/{id}`
 * (what a route that starts a job returns). params is taken. */
int zg_job_accept(struct zg_req *req, const char *kind, json_t *params,
                  struct zg_error *err) ZG_MUST_CHECK;

/* Every tier: for operators' tools that see all jobs. */
#define ZG_JOB_ALL_TIERS 0xffffffffu

/* {id, kind, state, tier, submitted_by, params, progress, result, error, attempts,
 * created_at, started_at, finished_at}; error is an RFC 9457 problem object. A job holds data
 * of the tier of the route that submitted it: NULL + ZG_ENOTFOUND when there is no such job,
 * when only_user > 0 and another user submitted it, or when its tier is not in the mask
 * `tiers` (bits ZG_TIER_BIT). */
json_t *zg_job_json(struct zg_app *app, sqlite3 *db, const char *id, int64_t only_user,
                    uint32_t tiers, struct zg_error *err);

/* {"jobs":[…]} newest first: all jobs (only_user 0) or one user's, of the tiers in the mask,
 * optionally of one state. */
json_t *zg_jobs_list_json(struct zg_app *app, sqlite3 *db, int64_t only_user, uint32_t tiers,
                          const char *state, int64_t limit, struct zg_error *err);

/* The tiers whose jobs the request's caller may read now: each tier the policy decision point
 * allows this caller (role, token scopes, MFA) — asked once per tier. */
uint32_t zg_job_readable_tiers(const struct zg_req *req);

#endif
