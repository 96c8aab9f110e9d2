/* Background jobs (see jobs.h): a table in zengen.db, worker threads with their own
 * connections, progress in memory, an audit event before and after each run. */
#include "jobs.h"
#include "audit/audit.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "store/db.h"

#include <pthread.h>

#define MAX_RUNNING 64 /* progress slots: at most this many workers */

struct slot {
    char id[33];
    json_t *progress; /* guarded by jobs->mu */
};

struct worker {
    struct zg_jobs *jobs;
    pthread_t th;
    sqlite3 *db;
    struct slot *slot;
    bool started;
};

struct zg_jobs {
    struct zg_app *app;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping, wake;
    size_t nworkers;
    struct worker *w;
    struct slot slots[MAX_RUNNING];
};

/* --- in-process progress ---------------------------------------------------------------- */

bool zg_job_progress(struct zg_job *job, json_t *progress)
{
    struct zg_jobs *j = job->jobs;
    if (!j) {
        json_decref(progress);
        return false;
    }
    pthread_mutex_lock(&j->mu);
    struct worker *me = NULL;
    for (size_t i = 0; i < j->nworkers && !me; i++)
        if (j->w[i].slot && !strcmp(j->w[i].slot->id, job->id))
            me = &j->w[i];
    if (me) {
        json_decref(me->slot->progress);
        me->slot->progress = progress;
        progress = NULL;
    }
    bool stop = j->stopping;
    pthread_mutex_unlock(&j->mu);
    json_decref(progress);
    return stop;
}

/* A copy of a running job's progress in this process, or NULL. */
static json_t *live_progress(struct zg_jobs *j, const char *id)
{
    if (!j)
        return NULL;
    json_t *out = NULL;
    pthread_mutex_lock(&j->mu);
    for (size_t i = 0; i < j->nworkers && !out; i++)
        if (j->w[i].slot && !strcmp(j->w[i].slot->id, id) && j->w[i].slot->progress)
            out = json_deep_copy(j->w[i].slot->progress);
    pthread_mutex_unlock(&j->mu);
    return out;
}

void zg_job_audit_data(struct zg_job *job, const char *id)
{
    if (!job->audit_data)
        job->audit_data = json_array();
    for (size_t i = 0; i < json_array_size(job->audit_data); i++)
        if (!strcmp(json_string_value(json_array_get(job->audit_data, i)), id))
            return;
    json_array_append_new(job->audit_data, json_string(id));
}

/* --- storage ---------------------------------------------------------------------------- */

#define MAX_ATTEMPTS 3
#define STR_(x) #x
#define STR(x) STR_(x)

int64_t zg_jobs_recover(sqlite3 *db, struct zg_error *err)
{
    /* a job that was running when the process died MAX_ATTEMPTS times is not tried again: it
     * may be what brings the process down (a file that crashes a library) */
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "UPDATE jobs SET state='failed', finished_at=?1, updated_at=?1,"
        " error='{\"type\":\"/problems/internal\",\"title\":\"Internal server error\","
        "\"status\":500,\"detail\":\"the server stopped "
        "while this job ran, " STR(MAX_ATTEMPTS) " times: it is not tried again; an operator "
                                                 "can find the cause in the log\"}' WHERE "
                                                 "state='running' AND attempts >= " STR(
                                                     MAX_ATTEMPTS),
        err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, zg_clock_now());
    int r = sqlite3_step(st);
    zg_db_release(st);
    if (r != SQLITE_DONE)
        return zg_db_fail(db, r, err);
    if (sqlite3_changes(db) > 0)
        zg_log(ZG_LOG_WARN, "jobs: %d job(s) stopped the server %d times and were failed",
               sqlite3_changes(db), MAX_ATTEMPTS);
    st = zg_db_prepare(db, "UPDATE jobs SET state='queued', updated_at=? WHERE state='running'",
                       err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, zg_clock_now());
    r = sqlite3_step(st);
    zg_db_release(st);
    if (r != SQLITE_DONE)
        return zg_db_fail(db, r, err);
    return sqlite3_changes(db);
}

static char *dump(json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

/* The job's final state (or 'queued' again) with its result or problem. */
static int finish(sqlite3 *db, const char *id, const char *state, json_t *result, json_t *problem,
                  json_t *progress, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "UPDATE jobs SET state=?2, result=?3, error=?4, progress=IFNULL(?5,progress),"
        " finished_at=IIF(?2 IN ('succeeded','failed'),?6,NULL), updated_at=?6 WHERE id=?1",
        err);
    if (!st)
        return err->code;
    char *r = dump(result), *p = dump(problem), *g = dump(progress);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, p, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, g, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, zg_clock_now());
    int rc = sqlite3_step(st);
    zg_db_release(st);
    free(r);
    free(p);
    free(g);
    return rc == SQLITE_DONE ? 0 : zg_db_fail(db, rc, err);
}

static json_t *problem_of(int code, const struct zg_error *e)
{
    int status;
    const char *slug, *title;
    zg_error_http_status(code, &status, &slug, &title);
    char type[96];
    snprintf(type, sizeof(type), "/problems/%s", slug);
    json_t *p = json_pack("{s:s,s:s,s:i}", "type", type, "title", title, "status", status);
    if (status == 500) {
        json_object_set_new(p, "detail",
                            json_string("the job could not be completed; an "
                                        "operator can find the cause in the log"));
        return p;
    }
    char detail[600];
    json_t *errors;
    zg_error_problem_parts(e, detail, sizeof(detail), &errors);
    if (errors)
        json_object_set_new(p, "errors", errors);
    json_object_set_new(p, "detail", json_string(detail));
    return p;
}

/* --- audit ------------------------------------------------------------------------------ */

static int audit_run(struct zg_job *job, const struct zg_job_kind *k, const char *phase,
                     const char *outcome, const char *reason)
{
    if (!job->app->audit)
        return 0;
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "phase", phase, "auth", "job", "action",
                           k ? k->action : "job.run", "resource", "job", "outcome", outcome, "tool",
                           "zengen-job", "job", job->id);
    json_object_set_new(ev, "user", job->who.login[0] ? json_string(job->who.login) : json_null());
    if (job->who.org_name[0])
        json_object_set_new(ev, "org", json_string(job->who.org_name));
    json_object_set_new(ev, "role", json_string(zg_role_name(job->who.role)));
    json_object_set_new(ev, "data",
                        job->audit_data ? json_deep_copy(job->audit_data) : json_array());
    json_object_set_new(ev, "options", job->params ? json_deep_copy(job->params) : json_object());
    if (reason)
        json_object_set_new(ev, "reason", json_string(reason));
    int rc = zg_audit_append(job->app->audit, ev, true);
    json_decref(ev);
    if (rc)
        zg_log(ZG_LOG_ERROR, "audit event for job %s could not be written", job->id);
    return rc;
}

/* --- workers ---------------------------------------------------------------------------- */

/* Takes the oldest queued job: 1 (job filled), 0 (none), or an error. */
static int claim(struct worker *w, struct zg_job *job, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        w->db,
        "UPDATE jobs SET state='running', attempts=attempts+1, started_at=?1, updated_at=?1"
        " WHERE id=(SELECT id FROM jobs WHERE state='queued' ORDER BY created_at, rowid LIMIT 1)"
        " RETURNING id, kind, params, user_id, login, role, org_id, org_name",
        err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, zg_clock_now());
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW) {
        pthread_mutex_lock(&w->jobs->mu); /* zg_job_progress looks slots up by id */
        snprintf(w->slot->id, sizeof(w->slot->id), "%s", zg_db_text(st, 0));
        pthread_mutex_unlock(&w->jobs->mu);
        job->id = w->slot->id;
        job->kind = strdup(zg_db_text(st, 1));
        job->params = json_loads(zg_db_text(st, 2), 0, NULL);
        job->who.kind = ZG_AUTH_NONE;
        job->who.user_id = sqlite3_column_int64(st, 3);
        snprintf(job->who.login, sizeof(job->who.login), "%s", zg_db_text(st, 4));
        if (zg_role_parse(zg_db_text(st, 5), &job->who.role))
            job->who.role = ZG_ROLE_PARTICIPANT; /* least privilege if the role is unknown */
        job->who.org_id = sqlite3_column_int64(st, 6);
        snprintf(job->who.org_name, sizeof(job->who.org_name), "%s", zg_db_text(st, 7));
        rc = job->kind && job->params ? 1 : zg_error_set(err, ZG_EINVAL, "", "unreadable job");
        (void)sqlite3_step(st); /* RETURNING: let the statement finish the update */
    } else if (r != SQLITE_DONE) {
        rc = zg_db_fail(w->db, r, err);
    }
    zg_db_release(st);
    if (rc < 0 && job->id) { /* claimed but unusable: failed, not left running */
        struct zg_error e2;
        json_t *p = json_pack("{s:s,s:s,s:i,s:s}", "type", "/problems/internal", "title",
                              "Internal server error", "status", 500, "detail",
                              "the job's stored parameters could not be read");
        if (finish(w->db, job->id, "failed", NULL, p, NULL, &e2))
            zg_log(ZG_LOG_ERROR, "job %s: %s", job->id, e2.reason);
        json_decref(p);
    }
    return rc;
}

/* The submitter must still be able to run the job: an account disabled, or given another role
 * or organisation since submission, makes the job fail (authorization is not frozen at
 * submission time). */
static int still_allowed(sqlite3 *db, const struct zg_job *job, struct zg_error *err)
{
    sqlite3_stmt *st =
        zg_db_prepare(db, "SELECT disabled, role, org_id FROM users WHERE id=?", err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, job->who.user_id);
    int r = sqlite3_step(st), rc = 0;
    if (r != SQLITE_ROW)
        rc = zg_error_set(err, ZG_EDENIED, "", "the submitter's account no longer exists");
    else if (sqlite3_column_int(st, 0))
        rc = zg_error_set(err, ZG_EDENIED, "", "the submitter's account is disabled");
    else if (strcmp(zg_db_text(st, 1), zg_role_name(job->who.role)) ||
             sqlite3_column_int64(st, 2) != job->who.org_id)
        rc = zg_error_set(err, ZG_EDENIED, "",
                          "the submitter's role or organisation changed since submission");
    zg_db_release(st);
    return rc;
}

static void run_one(struct worker *w, struct zg_job *job)
{
    struct zg_jobs *J = w->jobs;
    const struct zg_job_kind *k = NULL;
    for (size_t i = 0; i < zg_njob_kinds && !k; i++)
        if (!strcmp(zg_job_kinds[i].name, job->kind))
            k = &zg_job_kinds[i];
    struct zg_error err;
    zg_error_clear(&err);
    json_t *result = NULL;
    int rc;
    if (!k) {
        rc = zg_error_set(&err, ZG_EINVAL, "kind", "this server does not know the job kind");
    } else if ((rc = still_allowed(w->db, job, &err))) {
        /* failed below with the reason */
    } else if (audit_run(job, k, "attempt", "allow", NULL)) {
        /* not audited, not run: it stays queued for a later attempt */
        struct zg_error e2;
        if (finish(w->db, job->id, "queued", NULL, NULL, NULL, &e2))
            zg_log(ZG_LOG_ERROR, "job %s: %s", job->id, e2.reason);
        pthread_mutex_lock(&J->mu);
        if (!J->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 5;
            pthread_cond_timedwait(&J->cv, &J->mu, &ts);
        }
        pthread_mutex_unlock(&J->mu);
        return;
    } else {
        rc = k->run(job, &result, &err);
    }
    pthread_mutex_lock(&J->mu);
    json_t *progress = w->slot->progress;
    w->slot->progress = NULL;
    bool stopping = J->stopping;
    pthread_mutex_unlock(&J->mu);
    struct zg_error e2;
    int frc;
    if (rc == ZG_ECANCELED && stopping) {
        zg_log(ZG_LOG_INFO, "job %s (%s) stopped by shutdown; queued again", job->id, job->kind);
        frc = finish(w->db, job->id, "queued", NULL, NULL, progress, &e2);
        audit_run(job, k, "result", "error", "stopped by shutdown; queued again");
    } else if (rc) {
        if (rc != ZG_EINVAL && rc != ZG_ENOTFOUND && rc != ZG_ECONFLICT)
            zg_log(ZG_LOG_ERROR, "job %s (%s) failed: %s", job->id, job->kind, err.reason);
        json_t *p = problem_of(rc == ZG_ECANCELED ? ZG_EINTERNAL : rc, &err);
        frc = finish(w->db, job->id, "failed", NULL, p, progress, &e2);
        json_decref(p);
        if (k)
            audit_run(job, k, "result", "error", err.reason);
    } else {
        frc = finish(w->db, job->id, "succeeded", result, NULL, progress, &e2);
        audit_run(job, k, "result", "success", NULL);
    }
    if (frc)
        zg_log(ZG_LOG_ERROR, "job %s: the outcome could not be stored: %s", job->id, e2.reason);
    json_decref(progress);
    json_decref(result);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct zg_jobs *J = w->jobs;
    for (;;) {
        pthread_mutex_lock(&J->mu);
        bool stop = J->stopping;
        J->wake = false;
        pthread_mutex_unlock(&J->mu);
        if (stop)
            break;
        struct zg_job job = {.app = J->app, .db = w->db, .jobs = J};
        struct zg_error err;
        zg_error_clear(&err);
        int got = claim(w, &job, &err);
        if (got == 1) {
            run_one(w, &job);
        } else if (got < 0) {
            zg_log(ZG_LOG_ERROR, "jobs: cannot read the queue: %s", err.reason);
        }
        free((char *)job.kind);
        json_decref(job.params);
        json_decref(job.audit_data);
        pthread_mutex_lock(&J->mu);
        w->slot->id[0] = '\0';
        if (got != 1 && !J->stopping && !J->wake) {
            /* idle: woken by a submission in this process, else look again every second
             * (jobs recorded by another process) */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&J->cv, &J->mu, &ts);
        }
        pthread_mutex_unlock(&J->mu);
    }
    return NULL;
}

int zg_jobs_start(struct zg_app *app, size_t nworkers, struct zg_jobs **out, struct zg_error *err)
{
    *out = NULL;
    if (nworkers > MAX_RUNNING)
        return zg_error_set(err, ZG_EINVAL, "--job-workers", "at most %d", MAX_RUNNING);
    struct zg_jobs *J = calloc(1, sizeof(*J));
    if (!J)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    J->app = app;
    pthread_mutex_init(&J->mu, NULL);
    pthread_cond_init(&J->cv, NULL);
    J->w = calloc(nworkers ? nworkers : 1, sizeof(*J->w));
    if (!J->w) {
        zg_jobs_stop(J);
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < nworkers && !rc; i++) {
        J->w[i].jobs = J;
        J->w[i].slot = &J->slots[i];
        rc = zg_datadir_connect(&app->dd, ZG_DB_MAIN, &J->w[i].db, err);
        J->nworkers = i + 1;
    }
    if (!rc && nworkers) {
        int64_t n = zg_jobs_recover(J->w[0].db, err);
        if (n < 0)
            rc = (int)n;
        else if (n > 0)
            zg_log(ZG_LOG_INFO,
                   "jobs: %lld job(s) left running by the previous process are "
                   "queued again",
                   (long long)n);
    }
    for (size_t i = 0; i < nworkers && !rc; i++) {
        if (pthread_create(&J->w[i].th, NULL, worker_main, &J->w[i]))
            rc = zg_error_set(err, ZG_EINTERNAL, "", "cannot start a job worker");
        else
            J->w[i].started = true;
    }
    if (rc) {
        zg_jobs_stop(J);
        return rc;
    }
    *out = J;
    return 0;
}

void zg_jobs_stop(struct zg_jobs *J)
{
    if (!J)
        return;
    pthread_mutex_lock(&J->mu);
    J->stopping = true;
    pthread_cond_broadcast(&J->cv);
    pthread_mutex_unlock(&J->mu);
    for (size_t i = 0; i < J->nworkers; i++) {
        if (J->w[i].started)
            pthread_join(J->w[i].th, NULL);
        zg_db_close(J->w[i].db);
        json_decref(J->slots[i].progress);
    }
    pthread_cond_destroy(&J->cv);
    pthread_mutex_destroy(&J->mu);
    free(J->w);
    free(J);
}

/* --- submission and reading --------------------------------------------------------------- */

int zg_job_submit(struct zg_req *req, const char *kind, json_t *params, char id_out[33],
                  struct zg_error *err)
{
    unsigned char raw[16];
    zg_random_bytes(raw, sizeof(raw));
    zg_hex_encode(raw, sizeof(raw), id_out);
    char *p = dump(params);
    json_decref(params);
    if (!p)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    sqlite3 *db = req->conns->db;
    int rc = zg_db_begin(db, err);
    sqlite3_stmt *st = rc ? NULL
                          : zg_db_prepare(db,
                                          "INSERT INTO jobs(id,kind,state,params,user_id,login,"
                                          "role,org_id,org_name,created_at,updated_at,tier)"
                                          " VALUES(?,?,'queued',?,?,?,?,?,?,?,?,?)",
                                          err);
    if (!rc && !st)
        rc = err->code;
    if (!rc) {
        int64_t now = zg_clock_now();
        sqlite3_bind_text(st, 1, id_out, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, p, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, req->who.user_id);
        sqlite3_bind_text(st, 5, req->who.login, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, zg_role_name(req->who.role), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, req->who.org_id);
        sqlite3_bind_text(st, 8, req->who.org_name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, now);
        sqlite3_bind_int64(st, 10, now);
        sqlite3_bind_int(st, 11, req->route ? (int)req->route->tier : (int)ZG_TIER_ADMIN);
        int r = sqlite3_step(st);
        if (r != SQLITE_DONE)
            rc = zg_db_fail(db, r, err);
    }
    zg_db_release(st);
    if (!rc)
        rc = zg_db_commit(db, err);
    else
        zg_db_rollback(db);
    free(p);
    struct zg_jobs *J = req->app->jobs;
    if (!rc && J) {
        pthread_mutex_lock(&J->mu);
        J->wake = true;
        pthread_cond_broadcast(&J->cv);
        pthread_mutex_unlock(&J->mu);
    }
    return rc;
}

static void set_json_col(json_t *o, const char *key, sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    json_t *v = t ? json_loads(t, 0, NULL) : NULL;
    json_object_set_new(o, key, v ? v : json_null());
}

static json_t *row_json(struct zg_app *app, sqlite3_stmt *st)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "id", zg_db_text(st, 0), "kind",
                          zg_db_text(st, 1), "state", zg_db_text(st, 2), "submitted_by",
                          zg_db_text(st, 3), "attempts", (json_int_t)sqlite3_column_int64(st, 4));
    set_json_col(o, "params", st, 5);
    set_json_col(o, "progress", st, 6);
    set_json_col(o, "result", st, 7);
    set_json_col(o, "error", st, 8);
    if (!strcmp(zg_db_text(st, 2), "running")) {
        json_t *live = live_progress(app->jobs, zg_db_text(st, 0));
        if (live)
            json_object_set_new(o, "progress", live);
    }
    int tier = sqlite3_column_int(st, 12);
    json_object_set_new(o, "tier", json_string(zg_tier_name((enum zg_tier)tier)));
    static const char *const times[] = {"created_at", "started_at", "finished_at"};
    for (int i = 0; i < 3; i++)
        json_object_set_new(o, times[i],
                            sqlite3_column_type(st, 9 + i) == SQLITE_NULL
                                ? json_null()
                                : json_integer((json_int_t)sqlite3_column_int64(st, 9 + i)));
    return o;
}

#define JOB_COLS                                                                                   \
    "id,kind,state,login,attempts,params,progress,result,error,created_at,started_at,"             \
    "finished_at,tier"

json_t *zg_job_json(struct zg_app *app, sqlite3 *db, const char *id, int64_t only_user,
                    uint32_t tiers, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "SELECT " JOB_COLS " FROM jobs WHERE id=?1 AND (?2=0 OR "
                                     "user_id=?2) AND ((?3 >> tier) & 1)=1",
                                     err);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, only_user);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)tiers);
    int r = sqlite3_step(st);
    json_t *o = NULL;
    if (r == SQLITE_ROW)
        o = row_json(app, st);
    else if (r == SQLITE_DONE)
        zg_error_set(err, ZG_ENOTFOUND, "id", "no such job");
    else
        zg_db_fail(db, r, err);
    zg_db_release(st);
    return o;
}

json_t *zg_jobs_list_json(struct zg_app *app, sqlite3 *db, int64_t only_user, uint32_t tiers,
                          const char *state, int64_t limit, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "SELECT " JOB_COLS " FROM jobs WHERE (?1=0 OR user_id=?1)"
                                     " AND (?2 IS NULL OR state=?2) AND ((?4 >> tier) & 1)=1"
                                     " ORDER BY created_at DESC, rowid DESC LIMIT ?3",
                                     err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, only_user);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)tiers);
    if (state)
        sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, limit);
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, row_json(app, st));
    zg_db_release(st);
    if (r != SQLITE_DONE) {
        json_decref(arr);
        zg_db_fail(db, r, err);
        return NULL;
    }
    return json_pack("{s:o}", "jobs", arr);
}

uint32_t zg_job_readable_tiers(const struct zg_req *req)
{
    uint32_t mask = 0;
    for (int t = ZG_TIER_SELF; t < ZG_TIER__COUNT; t++) {
        struct zg_policy_request pr = {&req->who, (enum zg_tier)t, "job.read", "job"};
        struct zg_decision d;
        zg_policy_decide(&req->app->policy, &pr, &d);
        if (d.allow)
            mask |= ZG_TIER_BIT(t);
    }
    return mask;
}

int zg_job_accept(struct zg_req *req, const char *kind, json_t *params, struct zg_error *err)
{
    char job[33], loc[64];
    int rc = zg_job_submit(req, kind, params, job, err);
    if (rc)
        return rc;
    snprintf(loc, sizeof(loc), "/api/v1/jobs/%s", job);
    if ((rc = zg_req_set_header(req, "Location", loc)))
        return zg_error_set(err, rc, "", "cannot set the Location header");
    json_t *j = zg_job_json(req->app, req->conns->db, job, 0, ZG_JOB_ALL_TIERS, err);
    return j ? zg_req_reply(req, 202, j) : err->code;
}
