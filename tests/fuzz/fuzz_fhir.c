/* Fuzzes the FHIR R4 import of the clinical model (src/clinical/fhir_in.c): bytes → JSON →
 * zg_clinical_from_fhir, then zg_clinical_validate and zg_clinical_to_fhir on every record.
 * No crash; the report accounts for the bundle (docs/clinical-fhir.md); and every record that
 * validates survives standard → FHIR → standard unchanged, with nothing unmapped. */
#include "fuzz.h"
#include "common/compat.h"
#include "common/error.h"
#include "clinical/clinical.h"

#include <jansson.h>

#define FHIR_MAX_INPUT ((size_t)256 << 10)

/* report: {resources, mapped, unmapped:[{pointer, reason}], mapped_elements:[…]} */
static void check_report(json_t *report, json_t *bundle, bool imported)
{
    json_t *unmapped = json_object_get(report, "unmapped");
    ZG_FUZZ_CHECK(json_is_integer(json_object_get(report, "resources")));
    ZG_FUZZ_CHECK(json_integer_value(json_object_get(report, "resources")) ==
                  (json_int_t)json_array_size(json_object_get(bundle, "entry")));
    ZG_FUZZ_CHECK(json_is_integer(json_object_get(report, "mapped")));
    ZG_FUZZ_CHECK(json_integer_value(json_object_get(report, "mapped")) >= 0);
    ZG_FUZZ_CHECK(json_is_array(unmapped));
    ZG_FUZZ_CHECK(json_is_array(json_object_get(report, "mapped_elements")));
    if (!imported)
        return;
    size_t i;
    json_t *u;
    json_array_foreach(unmapped, i, u)
    {
        const char *p = json_string_value(json_object_get(u, "pointer"));
        const char *r = json_string_value(json_object_get(u, "reason"));
        ZG_FUZZ_CHECK(p && r && r[0]);
        ZG_FUZZ_CHECK(!strncmp(p, "/entry/", 7)); /* every pointer is into the bundle */
    }
}

/* Drops empty objects (an empty group says nothing, and a merge ignores it; empty lists do
 * mean "none" and are kept). */
static void drop_empty_objects(json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x)
        {
            drop_empty_objects(x);
            if (json_is_object(x) && json_object_size(x) == 0)
                json_object_del(v, k);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            drop_empty_objects(x);
        }
    }
}

/* A record as far as FHIR can carry it: without its model_version (the import does not set
 * it; a push does) and without empty groups. */
static json_t *comparable(json_t *record)
{
    json_t *c = json_deep_copy(record);
    ZG_FUZZ_CHECK(c);
    json_object_del(c, "model_version");
    drop_empty_objects(c);
    return c;
}

/* Standard → FHIR → standard of a valid record loses nothing (docs/clinical-fhir.md). */
static void check_round_trip(json_t *record, const char *case_id)
{
    struct zg_error err;
    zg_error_clear(&err);
    json_t *b = zg_clinical_to_fhir(record, &err);
    ZG_FUZZ_CHECK(b);
    ZG_FUZZ_CHECK(!strcmp(json_string_value(json_object_get(b, "resourceType")), "Bundle"));
    ZG_FUZZ_CHECK(!strcmp(json_string_value(json_object_get(b, "type")), "collection"));
    json_t *recs = NULL, *report = json_object();
    zg_error_clear(&err);
    int rc = zg_clinical_from_fhir(b, &recs, report, &err);
    if (rc)
        fprintf(stderr, "re-import failed: %s: %s\n", err.field, err.reason);
    ZG_FUZZ_CHECK(rc == 0);
    ZG_FUZZ_CHECK(json_array_size(recs) == 1);
    json_t *one = json_array_get(recs, 0);
    ZG_FUZZ_CHECK(!strcmp(json_string_value(json_object_get(one, "case_id")), case_id));
    json_t *a = comparable(record), *back = comparable(json_object_get(one, "record"));
    if (!json_equal(a, back)) {
        char *x = json_dumps(a, JSON_SORT_KEYS), *y = json_dumps(back, JSON_SORT_KEYS);
        fprintf(stderr, "round trip differs:\n%s\n%s\n", x ? x : "?", y ? y : "?");
        free(x);
        free(y);
        ZG_FUZZ_CHECK(!"standard -> FHIR -> standard changed the record");
    }
    json_t *unmapped = json_object_get(report, "unmapped");
    if (json_array_size(unmapped)) {
        char *x = json_dumps(unmapped, 0);
        fprintf(stderr, "exported bundle has unmapped content: %s\n", x ? x : "?");
        free(x);
        ZG_FUZZ_CHECK(!"exported bundle does not map back completely");
    }
    /* the re-imported record is valid too */
    zg_error_clear(&err);
    ZG_FUZZ_CHECK(zg_clinical_validate(json_object_get(one, "record"), NULL, &err) == 0);
    json_decref(a);
    json_decref(back);
    json_decref(recs);
    json_decref(report);
    json_decref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FHIR_MAX_INPUT)
        return 0;
    json_error_t jerr;
    json_t *bundle = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!bundle)
        return 0;
    json_t *before = json_deep_copy(bundle);
    ZG_FUZZ_CHECK(before);
    json_t *records = NULL, *report = json_object();
    struct zg_error err;
    zg_error_clear(&err);
    int rc = zg_clinical_from_fhir(bundle, &records, report, &err);
    ZG_FUZZ_CHECK(json_equal(before, bundle)); /* the bundle is only read */
    if (rc) {
        ZG_FUZZ_CHECK(rc == ZG_EINVAL || rc == ZG_ETOOBIG || rc == ZG_ENOMEM);
        ZG_FUZZ_CHECK(err.code == rc && err.reason[0] && !records);
        /* a bundle that is not even a Bundle gets no report at all */
        if (json_object_size(report))
            check_report(report, bundle, false);
    } else {
        ZG_FUZZ_CHECK(json_is_array(records) && json_array_size(records) >= 1);
        check_report(report, bundle, true);
        size_t i;
        json_t *one;
        json_array_foreach(records, i, one)
        {
            const char *cid = json_string_value(json_object_get(one, "case_id"));
            json_t *rec = json_object_get(one, "record");
            ZG_FUZZ_CHECK(cid && json_is_object(rec));
            /* a push stamps the model version; the import leaves it to the push */
            if (!json_object_get(rec, "model_version"))
                json_object_set_new(rec, "model_version", json_string(ZG_CLINICAL_MODEL_VERSION));
            json_t *errors = json_array();
            zg_error_clear(&err);
            int vrc = zg_clinical_validate(rec, errors, &err);
            if (vrc) {
                ZG_FUZZ_CHECK(vrc == ZG_EINVAL && json_array_size(errors) >= 1);
                /* an invalid record still exports without crashing (or is refused cleanly) */
                zg_error_clear(&err);
                json_t *b = zg_clinical_to_fhir(rec, &err);
                ZG_FUZZ_CHECK(b || err.code);
                json_decref(b);
            } else {
                ZG_FUZZ_CHECK(json_array_size(errors) == 0);
                check_round_trip(rec, cid);
            }
            json_decref(errors);
        }
    }
    json_decref(records);
    json_decref(report);
    json_decref(before);
    json_decref(bundle);
    return 0;
}
