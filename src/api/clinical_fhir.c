/* FHIR R4 endpoints of the clinical domain: import a Bundle, export a case as a Bundle. */
#include "api.h"
#include "clinical/clinical.h"
#include "common/error.h"
#include "ids/ids.h"

int zg_api_fhir_import(struct zg_req *req, struct zg_error *err)
{
    struct zg_clinical_actor who = {
        req->who.user_id, req->who.login, req->who.org_id,
        (req->decision.obligations & ZG_OBL_OWN_ORG) ? req->decision.org_id : 0};
    const char *src = zg_req_header(req, "X-Source-System");
    char dflt[96];
    if (!src) {
        snprintf(dflt, sizeof(dflt), "fhir:%s", req->who.login);
        src = dflt;
    }
    const char *key = zg_req_header(req, "Idempotency-Key");
    zg_req_audit_option(req, "source_system", json_string(src));
    if (key)
        zg_req_audit_option(req, "idempotency_key", json_string(key));
    json_t *out = NULL, *errors = json_array();
    int rc = zg_clinical_import_fhir(req->conns->db, &who, req->body, src, key, &out, errors, err);
    size_t n = json_array_size(errors);
    json_decref(errors);
    if (rc) {
        if (!strcmp(err->field, "idempotency-key"))
            snprintf(err->field, sizeof(err->field), "Idempotency-Key");
        if (rc == ZG_EINVAL && n > 1) {
            char more[64];
            snprintf(more, sizeof(more), " (and %zu more)", n - 1);
            size_t l = strlen(err->reason);
            if (l + strlen(more) < sizeof(err->reason))
                memcpy(err->reason + l, more, strlen(more) + 1);
        }
        return rc;
    }
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(out, "cases"), i, c)
        zg_req_audit_data(req, json_string_value(json_object_get(c, "case_id")));
    return zg_req_reply(req, 200, out);
}

int zg_api_fhir_export(struct zg_req *req, struct zg_error *err)
{
    enum zg_id_kind kind;
    char id[ZG_ID_LEN];
    if (zg_id_parse(zg_req_param(req, "id"), &kind, id, err) || kind != ZG_ID_CASE)
        return zg_error_set(err, ZG_EINVAL, "id", "is not a case ID (ZGC-…)");
    zg_req_audit_data(req, id);
    int64_t scope = (req->decision.obligations & ZG_OBL_OWN_ORG) ? req->decision.org_id : 0;
    json_t *j = zg_clinical_get(req->conns->db, id, scope, err);
    if (!j)
        return err->code;
    json_t *b = zg_clinical_to_fhir(json_object_get(j, "record"), err);
    json_decref(j);
    if (!b)
        return err->code ? err->code : ZG_ENOMEM;
    req->content_type = "application/fhir+json";
    return zg_req_reply(req, 200, b);
}
