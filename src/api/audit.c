/* The audit trail for auditors: filtered events and chain verification. */
#include "api.h"
#include "audit/audit.h"
#include "common/error.h"

int zg_api_audit_events(struct zg_req *req, struct zg_error *err)
{
    int64_t after, limit;
    int rc;
    if ((rc = zg_query_int(req, "after", 0, 0, INT64_MAX, &after, err)) ||
        (rc = zg_query_int(req, "limit", 100, 1, 1000, &limit, err)))
        return rc;
    struct zg_audit_filter f = {after, (int)limit, zg_req_query(req, "user"),
                                zg_req_query(req, "action"), NULL};
    json_t *ids = NULL;
    const char *data_id = zg_req_query(req, "data_id");
    if (data_id) {
        ids = json_pack("[s]", data_id);
        f.data_ids = ids ? json_dumps(ids, JSON_COMPACT) : NULL;
    }
    json_t *j = zg_audit_query(req->conns->audit, &f, err);
    free((char *)f.data_ids);
    json_decref(ids);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_audit_verify(struct zg_req *req, struct zg_error *err)
{
    struct zg_audit_verify_result r;
    int rc = zg_audit_verify(req->conns->audit, 0, NULL, &r, err);
    if (rc)
        return rc;
    json_t *o = json_pack("{s:b,s:I,s:I,s:s}", "ok", r.ok, "events", (json_int_t)r.events,
                          "head_seq", (json_int_t)r.head_seq, "head_hash", r.head_hash);
    if (!r.ok) {
        json_object_set_new(o, "first_bad_seq", json_integer(r.first_bad_seq));
        json_object_set_new(o, "reason", json_string(r.reason));
    }
    return zg_req_reply(req, 200, o);
}
