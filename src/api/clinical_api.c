/* The clinical record API: schema, validation dry run, single and bulk pushes with
 * idempotency keys and etags, reads, history, timeline, completeness, search and counts.
 * Thin: parse → src/clinical → render. */
#include "api.h"
#include "clinical/clinical.h"
#include "common/error.h"
#include "ids/ids.h"

static int64_t org_scope(const struct zg_req *req)
{
    return (req->decision.obligations & ZG_OBL_OWN_ORG) ? req->decision.org_id : 0;
}

/* The consent statuses the caller's cases may have (0: any), from the policy decision; an
 * obligation that allows no status becomes a bit no status has (nothing is counted). */
static uint32_t consent_scope(const struct zg_req *req)
{
    if (!(req->decision.obligations & ZG_OBL_CONSENT))
        return 0;
    return req->decision.consent ? req->decision.consent : 1u << 31;
}

static int case_param(struct zg_req *req, char out[ZG_ID_LEN], struct zg_error *err)
{
    enum zg_id_kind kind;
    int rc = zg_id_parse(zg_req_param(req, "id"), &kind, out, err);
    if (rc)
        return zg_error_set(err, ZG_EINVAL, "id", "%s", err->reason);
    if (kind != ZG_ID_CASE)
        return zg_error_set(err, ZG_EINVAL, "id", "is not a case ID (ZGC-…)");
    zg_req_audit_data(req, out);
    return 0;
}

static void actor_of(struct zg_req *req, struct zg_clinical_actor *who)
{
    who->user_id = req->who.user_id;
    who->login = req->who.login;
    who->org_id = req->who.org_id;
    who->org_scope = org_scope(req);
}

/* A failed validation: every error goes to the problem's errors[]; the detail names the first
 * and says how many more there are. */
static int validation_failed(struct zg_req *req, int rc, json_t *errors, struct zg_error *err)
{
    size_t n = json_array_size(errors);
    if (rc == ZG_EINVAL && n > 0) {
        json_decref(req->problem_errors);
        req->problem_errors = json_incref(errors);
    }
    if (rc == ZG_EINVAL && n > 1) {
        char more[80];
        snprintf(more, sizeof(more), " (and %zu more; POST /api/v1/clinical/validate lists all)",
                 n - 1);
        size_t l = strlen(err->reason);
        if (l + strlen(more) < sizeof(err->reason))
            memcpy(err->reason + l, more, strlen(more) + 1);
    }
    return rc;
}

/* Maps push errors about headers to the parameter name a client sees. */
static int push_error(struct zg_req *req, int rc, json_t *errors, struct zg_error *err)
{
    if (rc == ZG_ECONFLICT && !strcmp(err->field, "if-match")) {
        rc = ZG_EPRECONDITION; /* 412: the record changed since the client's ETag */
        snprintf(err->field, sizeof(err->field), "If-Match");
    } else if (!strcmp(err->field, "idempotency-key")) {
        snprintf(err->field, sizeof(err->field), "Idempotency-Key");
    } else if (!strcmp(err->field, "source-system")) {
        snprintf(err->field, sizeof(err->field), "X-Source-System");
    } else if (!strcmp(err->field, "source-message-id")) {
        snprintf(err->field, sizeof(err->field), "X-Source-Message-Id");
    }
    return validation_failed(req, rc, errors, err);
}

static json_t *result_body(const struct zg_clinical_result *r, bool replayed)
{
    return json_pack("{s:s,s:I,s:s,s:b,s:b,s:b}", "case_id", r->case_id, "version",
                     (json_int_t)r->version, "etag", r->etag, "created", r->created, "unchanged",
                     r->unchanged, "replayed", replayed);
}

int zg_api_clinical_schema(struct zg_req *req, struct zg_error *err)
{
    const char *s = zg_clinical_schema_text();
    req->text = s;
    req->text_len = strlen(s);
    req->content_type = "application/schema+json";
    req->status = 200;
    (void)err;
    return 0;
}

int zg_api_clinical_validate(struct zg_req *req, struct zg_error *err)
{
    json_t *errors = json_array();
    struct zg_error e2;
    zg_error_clear(&e2);
    int rc = zg_clinical_validate(req->body, errors, &e2);
    json_t *comp = rc ? json_null() : zg_clinical_completeness(req->body);
    (void)err;
    return zg_req_reply(req, 200, json_pack("{s:b,s:o,s:o}", "valid", rc == 0, "errors", errors,
                                            "completeness", comp));
}

static int push(struct zg_req *req, bool merge, struct zg_error *err)
{
    char id[ZG_ID_LEN];
    int rc = case_param(req, id, err);
    if (rc)
        return rc;
    struct zg_clinical_actor who;
    actor_of(req, &who);
    const char *src = zg_req_header(req, "X-Source-System");
    char dflt[96];
    if (!src) {
        snprintf(dflt, sizeof(dflt), "api:%s", req->who.login);
        src = dflt;
    }
    struct zg_clinical_push p = {
        .case_id = id,
        .record = req->body,
        .merge = merge,
        .if_match = zg_req_header(req, "If-Match"),
        .source_system = src,
        .source_message_id = zg_req_header(req, "X-Source-Message-Id"),
    };
    const char *key = zg_req_header(req, "Idempotency-Key");
    if (key)
        zg_req_audit_option(req, "idempotency_key", json_string(key));
    if (p.source_message_id)
        zg_req_audit_option(req, "source_message_id", json_string(p.source_message_id));
    zg_req_audit_option(req, "source_system", json_string(src));
    struct zg_clinical_result r;
    bool replayed = false;
    json_t *errors = json_array();
    rc = zg_clinical_push_one(req->conns->db, &who, &p, key, &r, &replayed, errors, err);
    if (rc) {
        rc = push_error(req, rc, errors, err);
        json_decref(errors);
        return rc;
    }
    json_decref(errors);
    char etag[96];
    snprintf(etag, sizeof(etag), "\"%s\"", r.etag);
    if ((rc = zg_req_set_header(req, "ETag", etag)))
        return zg_error_set(err, rc, "", "cannot set the ETag header");
    return zg_req_reply(req, r.created && !replayed ? 201 : 200, result_body(&r, replayed));
}

int zg_api_clinical_put(struct zg_req *req, struct zg_error *err)
{
    return push(req, false, err);
}

int zg_api_clinical_patch(struct zg_req *req, struct zg_error *err)
{
    return push(req, true, err);
}

/* The {id} case's clinical document within the caller's scope (ZG_ENOTFOUND otherwise). */
static json_t *case_record(struct zg_req *req, char id[ZG_ID_LEN], struct zg_error *err)
{
    if (case_param(req, id, err))
        return NULL;
    return zg_clinical_get(req->conns->db, id, org_scope(req), err);
}

int zg_api_clinical_get(struct zg_req *req, struct zg_error *err)
{
    char id[ZG_ID_LEN];
    json_t *j = case_record(req, id, err);
    if (!j)
        return err->code;
    json_object_set_new(j, "completeness",
                        zg_clinical_completeness(json_object_get(j, "record")));
    const char *tag = json_string_value(json_object_get(j, "etag"));
    if (tag) {
        char etag[96];
        snprintf(etag, sizeof(etag), "\"%s\"", tag);
        if (zg_req_set_header(req, "ETag", etag)) {
            json_decref(j);
            return zg_error_set(err, ZG_ENOMEM, "", "cannot set the ETag header");
        }
    }
    return zg_req_reply(req, 200, j);
}

int zg_api_clinical_history(struct zg_req *req, struct zg_error *err)
{
    char id[ZG_ID_LEN];
    int rc = case_param(req, id, err);
    if (rc)
        return rc;
    json_t *j = zg_clinical_history(req->conns->db, id, org_scope(req), err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_clinical_timeline(struct zg_req *req, struct zg_error *err)
{
    char id[ZG_ID_LEN];
    json_t *j = case_record(req, id, err);
    if (!j)
        return err->code;
    json_t *t = zg_clinical_timeline(j);
    json_decref(j);
    return zg_req_reply(req, 200, t);
}

int zg_api_clinical_case_completeness(struct zg_req *req, struct zg_error *err)
{
    char id[ZG_ID_LEN];
    json_t *j = case_record(req, id, err);
    if (!j)
        return err->code;
    json_t *c = zg_clinical_completeness(json_object_get(j, "record"));
    json_object_set_new(c, "case_id", json_string(id));
    json_decref(j);
    return zg_req_reply(req, 200, c);
}

int zg_api_clinical_bundle(struct zg_req *req, struct zg_error *err)
{
    struct zg_clinical_actor who;
    actor_of(req, &who);
    /* the header wins over the body member when both are sent */
    const char *key = zg_req_header(req, "Idempotency-Key");
    if (key) {
        if (json_object_get(req->body, "idempotency_key") &&
            strcmp(key, json_string_value(json_object_get(req->body, "idempotency_key"))
                            ? json_string_value(json_object_get(req->body, "idempotency_key"))
                            : ""))
            return zg_error_set(err, ZG_EINVAL, "/idempotency_key",
                                "differs from the Idempotency-Key header");
        json_object_set_new(req->body, "idempotency_key", json_string(key));
    }
    json_t *k = json_object_get(req->body, "idempotency_key");
    if (json_is_string(k))
        zg_req_audit_option(req, "idempotency_key", json_copy(k));
    json_t *entries = json_object_get(req->body, "entries");
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        const char *cid = json_string_value(json_object_get(e, "case_id"));
        if (cid && i < 100)
            zg_req_audit_data(req, cid);
    }
    zg_req_audit_option(req, "entries", json_integer((json_int_t)json_array_size(entries)));
    json_t *results = NULL, *errors = json_array();
    bool replayed = false;
    int rc = zg_clinical_push_bundle(req->conns->db, &who, req->body, &results, &replayed,
                                     errors, err);
    if (rc) {
        rc = validation_failed(req, rc, errors, err);
        if (rc == ZG_ECONFLICT && strstr(err->field, "if_match"))
            rc = ZG_EPRECONDITION;
        json_decref(errors);
        return rc;
    }
    json_decref(errors);
    return zg_req_reply(req, 200, json_pack("{s:o,s:b}", "results", results, "replayed", replayed));
}

static int query_str(struct zg_req *req, const char *name, size_t maxlen, const char **out,
                     struct zg_error *err)
{
    const char *v = zg_req_query(req, name);
    if (v && (!*v || strlen(v) > maxlen))
        return zg_error_set(err, ZG_EINVAL, name, "must be 1-%zu characters", maxlen);
    *out = v;
    return 0;
}

int zg_api_clinical_search(struct zg_req *req, struct zg_error *err)
{
    struct zg_clinical_query q = {.complete = -1, .org_scope = org_scope(req),
                                  .consent_mask = consent_scope(req)};
    int64_t limit;
    const char *complete = NULL;
    int rc;
    if ((rc = zg_query_int(req, "limit", 100, 1, 1000, &limit, err)) ||
        (rc = query_str(req, "oncotree", 16, &q.oncotree, err)) ||
        (rc = query_str(req, "stage", 16, &q.stage, err)) ||
        (rc = query_str(req, "drug", 100, &q.drug, err)) ||
        (rc = query_str(req, "response", 2, &q.response, err)) ||
        (rc = query_str(req, "vital_status", 10, &q.vital_status, err)) ||
        (rc = query_str(req, "complete", 5, &complete, err)) ||
        (rc = query_str(req, "after", 20, &q.after, err)))
        return rc;
    if (q.oncotree && !zg_oncotree_lookup(q.oncotree, NULL, NULL))
        return zg_error_set(err, ZG_EINVAL, "oncotree", "is not an OncoTree code");
    if (q.response && !strstr("CR PR SD PD NE", q.response))
        return zg_error_set(err, ZG_EINVAL, "response", "must be one of CR, PR, SD, PD, NE");
    if (q.vital_status && strcmp(q.vital_status, "alive") && strcmp(q.vital_status, "dead") &&
        strcmp(q.vital_status, "unknown"))
        return zg_error_set(err, ZG_EINVAL, "vital_status", "must be alive, dead or unknown");
    if (complete) {
        if (!strcmp(complete, "true"))
            q.complete = 1;
        else if (!strcmp(complete, "false"))
            q.complete = 0;
        else
            return zg_error_set(err, ZG_EINVAL, "complete", "must be true or false");
    }
    q.limit = (int)limit;
    json_t *j = zg_clinical_search(req->conns->db, &q, err);
    if (!j)
        return err->code;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j, "cases"), i, c)
        zg_req_audit_data(req, json_string_value(json_object_get(c, "case_id")));
    return zg_req_reply(req, 200, j);
}

int zg_api_clinical_counts(struct zg_req *req, struct zg_error *err)
{
    const char *by = zg_req_query(req, "by");
    int k = (req->decision.obligations & ZG_OBL_SUPPRESS_SMALL) ? req->decision.k_min : 0;
    json_t *j =
        zg_clinical_counts(req->conns->db, by ? by : "oncotree", k, consent_scope(req), err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_clinical_overview(struct zg_req *req, struct zg_error *err)
{
    /* the overview tier is open to every signed-in role: small cells are always suppressed */
    int k = req->decision.k_min > 0 ? req->decision.k_min
                                    : (req->app->policy.k_min > 0 ? req->app->policy.k_min : 5);
    json_t *j = zg_clinical_counts(req->conns->db, "oncotree", k, consent_scope(req), err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_clinical_completeness(struct zg_req *req, struct zg_error *err)
{
    json_t *j = zg_clinical_completeness_by_org(req->conns->db, org_scope(req), err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_clinical_rejections(struct zg_req *req, struct zg_error *err)
{
    int64_t limit;
    int rc = zg_query_int(req, "limit", 50, 1, 500, &limit, err);
    if (rc)
        return rc;
    json_t *j = zg_clinical_rejections(req->conns->db, org_scope(req), (int)limit, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}
