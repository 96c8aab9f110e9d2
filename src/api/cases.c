/* Participants, cases, specimens, the linkage store, ID checks and overview statistics. */
#include "api.h"
#include "auth/auth.h"
#include "common/error.h"
#include "ids/ids.h"

static int64_t org_scope(const struct zg_req *req)
{
    return (req->decision.obligations & ZG_OBL_OWN_ORG) ? req->decision.org_id : 0;
}

/* Parses the {id} path parameter as a case ID (422 for typos). */
static int case_param(struct zg_req *req, char out[ZG_ID_LEN], struct zg_error *err)
{
    enum zg_id_kind kind;
    int rc = zg_id_parse(zg_req_param(req, "id"), &kind, out, err);
    if (rc)
        return rc;
    if (kind != ZG_ID_CASE)
        return zg_error_set(err, ZG_EINVAL, "id", "is not a case ID (ZGC-…)");
    zg_req_audit_data(req, out);
    return 0;
}

int zg_api_stats_overview(struct zg_req *req, struct zg_error *err)
{
    json_t *j = zg_stats_overview(req->conns->db, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_linkage(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"local_patient_id", "project", NULL};
    const char *local = NULL, *project = NULL;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "local_patient_id", true, 64, &local, err)) ||
        (rc = zg_body_string(req, "project", false, 32, &project, err)))
        return rc;
    char pid[ZG_ID_LEN];
    bool created = false;
    /* always the caller's own organisation: a hospital links only its own patients */
    rc = zg_linkage_resolve(&req->app->dd, req->conns->linkage, req->conns->db, req->who.org_id,
                            req->who.org_name, local, project, true, pid, &created, err);
    if (rc)
        return rc;
    zg_req_audit_data(req, pid); /* never the local ID */
    return zg_req_reply(req, created ? 201 : 200,
                        json_pack("{s:s,s:b}", "participant_id", pid, "created", created));
}

int zg_api_cases_create(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"participant_id", "org", NULL};
    const char *pid = NULL, *org = NULL;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "participant_id", false, 32, &pid, err)) ||
        (rc = zg_body_string(req, "org", false, 120, &org, err)))
        return rc;
    int64_t org_id = req->who.org_id;
    if (org) {
        if ((rc = zg_org_lookup(req->conns->db, org, &org_id, err)))
            return zg_error_set(err, ZG_EINVAL, "/org", "no organisation with this name");
    }
    int64_t scope = org_scope(req);
    if (scope && org_id != scope)
        return zg_error_set(err, ZG_EDENIED, "/org",
                            "you may create cases only for your own organisation");
    char id[ZG_ID_LEN], participant[ZG_ID_LEN];
    if ((rc = zg_case_add(req->conns->db, org_id, pid, req->who.user_id, id, participant, err)))
        return rc;
    zg_req_audit_data(req, id);
    json_t *c = zg_case_get(req->conns->db, id, 0, err);
    return c ? zg_req_reply(req, 201, c) : err->code;
}

int zg_api_cases_list(struct zg_req *req, struct zg_error *err)
{
    int64_t limit;
    int rc = zg_query_int(req, "limit", 100, 1, 1000, &limit, err);
    if (rc)
        return rc;
    const char *after = zg_req_query(req, "after");
    json_t *j = zg_case_list(req->conns->db, org_scope(req), after, (int)limit, err);
    if (!j)
        return err->code;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j, "cases"), i, c)
        zg_req_audit_data(req, json_string_value(json_object_get(c, "id")));
    return zg_req_reply(req, 200, j);
}

int zg_api_cases_get(struct zg_req *req, struct zg_error *err)
{
    char id[ZG_ID_LEN];
    int rc = case_param(req, id, err);
    if (rc)
        return rc;
    json_t *j = zg_case_get(req->conns->db, id, org_scope(req), err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_specimens_create(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"type", NULL};
    const char *type = NULL;
    char id[ZG_ID_LEN], sid[ZG_ID_LEN];
    int rc;
    if ((rc = case_param(req, id, err)) || (rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "type", true, 32, &type, err)))
        return rc;
    int64_t scope = org_scope(req), owner = 0;
    if ((rc = zg_case_org(req->conns->db, id, &owner, err)))
        return rc;
    if (scope && owner != scope)
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such case");
    if ((rc = zg_specimen_add(req->conns->db, id, type, sid, err)))
        return rc;
    zg_req_audit_data(req, sid);
    json_t *j = zg_specimen_get(req->conns->db, sid, err);
    return j ? zg_req_reply(req, 201, j) : err->code;
}

int zg_api_ids_check(struct zg_req *req, struct zg_error *err)
{
    const char *raw = zg_req_param(req, "id");
    enum zg_id_kind kind;
    char canon[ZG_ID_LEN];
    struct zg_error e2;
    zg_error_clear(&e2);
    if (zg_id_parse(raw, &kind, canon, &e2) != 0)
        return zg_req_reply(req, 200, json_pack("{s:s,s:b,s:s}", "id", raw, "valid", 0, "reason",
                                                e2.reason));
    const char *k = kind == ZG_ID_PARTICIPANT ? "participant"
                    : kind == ZG_ID_CASE      ? "case"
                                              : "specimen";
    return zg_req_reply(req, 200, json_pack("{s:s,s:b,s:s,s:s}", "id", raw, "valid", 1, "kind",
                                            k, "normalized", canon));
}
