/* FHIR import end to end (shared by POST /api/v1/fhir and `zengen import fhir`): map the
 * Bundle, then merge every case's record through the same bulk push hospitals use. */
#include "clinical.h"
#include "common/error.h"

int zg_clinical_import_fhir(sqlite3 *db, const struct zg_clinical_actor *who, json_t *bundle,
                            const char *source_system, const char *idempotency_key, json_t **out,
                            json_t *errors, struct zg_error *err)
{
    *out = NULL;
    json_t *records = NULL, *report = json_object();
    int rc = zg_clinical_from_fhir(bundle, &records, report, err);
    if (rc) {
        json_decref(report);
        return rc;
    }
    const char *msg = json_string_value(json_object_get(bundle, "id"));
    if (!msg)
        msg = json_string_value(json_object_get(json_object_get(bundle, "identifier"), "value"));
    char msgbuf[129];
    if (msg)
        snprintf(msgbuf, sizeof(msgbuf), "%s", msg);
    json_t *push = json_pack("{s:s,s:[]}", "source_system", source_system, "entries");
    if (idempotency_key)
        json_object_set_new(push, "idempotency_key", json_string(idempotency_key));
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r)
    {
        json_t *e = json_pack("{s:O,s:s,s:O}", "case_id", json_object_get(r, "case_id"), "mode",
                              "merge", "record", json_object_get(r, "record"));
        if (msg)
            json_object_set_new(e, "source_message_id", json_string(msgbuf));
        json_array_append_new(json_object_get(push, "entries"), e);
    }
    json_decref(records);
    json_t *results = NULL;
    bool replayed = false;
    rc = zg_clinical_push_bundle(db, who, push, &results, &replayed, errors, err);
    json_decref(push);
    if (rc) {
        /* the pointers name the mapped record of each case ("/cases/<i>/record/…") */
        for (i = 0; i < json_array_size(errors); i++) {
            json_t *e = json_array_get(errors, i);
            const char *p = json_string_value(json_object_get(e, "pointer"));
            if (p && !strncmp(p, "/entries/", 9)) {
                char np[600];
                snprintf(np, sizeof(np), "/cases/%s", p + 9);
                json_object_set_new(e, "pointer", json_string(np));
            }
        }
        if (!strncmp(err->field, "/entries/", 9)) {
            char np[128];
            snprintf(np, sizeof(np), "/cases/%.110s", err->field + 9);
            snprintf(err->field, sizeof(err->field), "%s", np);
        }
        json_decref(report);
        return rc;
    }
    *out = json_pack("{s:o,s:b,s:o}", "cases", results, "replayed", replayed, "report", report);
    return 0;
}
