/* Export of a stored clinical record as a FHIR R4 collection Bundle (JP-Core aligned where a
 * JP-Core profile exists); what FHIR has no element for travels in zengen extensions so that
 * standard → FHIR → standard loses nothing (docs/clinical-fhir.md). */
#include "fhir_internal.h"
#include "common/error.h"

struct out {
    json_t *entries;
    const char *cid;
    char patient_ref[64];
};

static json_t *coding(const char *system, const char *code, const char *display)
{
    json_t *c = json_pack("{s:s,s:s}", "system", system, "code", code);
    if (display)
        json_object_set_new(c, "display", json_string(display));
    return c;
}

static json_t *cc1(const char *system, const char *code, const char *text)
{
    json_t *c = json_pack("{s:[o]}", "coding", coding(system, code, NULL));
    if (text)
        json_object_set_new(c, "text", json_string(text));
    return c;
}

static const char *s_of(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void ext_add(json_t *res, const char *name, const char *vkey, json_t *value)
{
    if (!value)
        return;
    json_t *exts = json_object_get(res, "extension");
    if (!exts) {
        exts = json_array();
        json_object_set_new(res, "extension", exts);
    }
    char url[160];
    snprintf(url, sizeof(url), "%s%s", FHIR_EXT, name);
    json_array_append_new(exts, json_pack("{s:s,s:o}", "url", url, vkey, value));
}

/* Copies o[k] (string) into an extension of the given value type when present. */
static void ext_str(json_t *res, const char *name, const char *vkey, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (v)
        ext_add(res, name, vkey, json_copy(v));
}

static void add_entry(struct out *o, json_t *res)
{
    char url[200];
    snprintf(url, sizeof(url), "%s/%s/%s", ZG_FHIR_BASE, s_of(res, "resourceType"),
             s_of(res, "id"));
    json_array_append_new(o->entries, json_pack("{s:s,s:o}", "fullUrl", url, "resource", res));
}

static json_t *resource(struct out *o, const char *type, const char *suffix, size_t a, size_t b)
{
    char id[64];
    if (b != (size_t)-1)
        snprintf(id, sizeof(id), "%s-%s-%zu-%zu", o->cid, suffix, a, b);
    else if (a != (size_t)-1)
        snprintf(id, sizeof(id), "%s-%s-%zu", o->cid, suffix, a);
    else
        snprintf(id, sizeof(id), "%s-%s", o->cid, suffix);
    json_t *r = json_pack("{s:s,s:s}", "resourceType", type, "id", id);
    if (strcmp(type, "Patient")) {
        const char *key = !strcmp(type, "FamilyMemberHistory") ? "patient" : "subject";
        json_object_set_new(r, key, json_pack("{s:s}", "reference", o->patient_ref));
    }
    return r;
}

static void item_identifier(json_t *res, json_t *item)
{
    const char *id = s_of(item, "id");
    if (id)
        json_object_set_new(res, "identifier",
                            json_pack("[{s:s,s:s}]", "system", SYS_ITEM_ID, "value", id));
}

static json_t *site_cc(json_t *site)
{
    json_t *c = cc1(SYS_ICDO3, s_of(site, "icdo3_topography"), s_of(site, "text"));
    return c;
}

static json_t *drug_cc(json_t *d)
{
    json_t *c = json_pack("{s:[],s:s}", "coding", "text", s_of(d, "name"));
    json_t *cod = json_object_get(c, "coding");
    if (s_of(d, "atc"))
        json_array_append_new(cod, coding(SYS_ATC, s_of(d, "atc"), NULL));
    if (s_of(d, "yj"))
        json_array_append_new(cod, coding(SYS_YJ, s_of(d, "yj"), NULL));
    if (!json_array_size(cod))
        json_object_del(c, "coding");
    ext_str(c, "free-text", "valueString", d, "text");
    return c;
}

static json_t *observation(struct out *o, const char *suffix, size_t a, json_t *code)
{
    json_t *r = resource(o, "Observation", suffix, a, (size_t)-1);
    json_object_set_new(r, "status", json_string("final"));
    json_object_set_new(r, "code", code);
    return r;
}

static void patient(struct out *o, json_t *rec)
{
    json_t *r = resource(o, "Patient", "patient", (size_t)-1, (size_t)-1);
    json_object_set_new(r, "meta", json_pack("{s:[s]}", "profile",
                                             "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"));
    json_object_set_new(r, "identifier", json_pack("[{s:s,s:s}]", "system", ZG_FHIR_CASE_SYSTEM,
                                                   "value", o->cid));
    json_t *p = json_object_get(rec, "patient");
    if (s_of(p, "sex"))
        json_object_set_new(r, "gender", json_string(s_of(p, "sex")));
    if (s_of(p, "birth_year_month"))
        json_object_set_new(r, "birthDate", json_string(s_of(p, "birth_year_month")));
    json_t *co = json_object_get(rec, "course");
    const char *vital = s_of(co, "vital_status");
    if (vital && !strcmp(vital, "dead")) {
        if (s_of(co, "death_date"))
            json_object_set_new(r, "deceasedDateTime", json_string(s_of(co, "death_date")));
        else
            json_object_set_new(r, "deceasedBoolean", json_true());
    }
    if (vital && !strcmp(vital, "alive"))
        json_object_set_new(r, "deceasedBoolean", json_false());
    for (size_t i = 0; i < ZG_ARRAY_LEN(fhir_lists); i++) {
        json_t *g = fhir_lists[i].group ? json_object_get(rec, fhir_lists[i].group) : rec;
        json_t *a = json_object_get(g, fhir_lists[i].member);
        if (json_is_array(a) && json_array_size(a) == 0)
            ext_add(r, "recorded-none", "valueCode", json_string(fhir_lists[i].name));
    }
    json_t *c = json_object_get(rec, "consent");
    if (c) {
        json_t *e = json_pack("{s:s,s:[]}", "url", FHIR_EXT "consent", "extension");
        json_t *sub = json_object_get(e, "extension");
        if (s_of(c, "status"))
            json_array_append_new(sub, json_pack("{s:s,s:s}", "url", "status", "valueCode",
                                                 s_of(c, "status")));
        if (s_of(c, "date"))
            json_array_append_new(sub, json_pack("{s:s,s:s}", "url", "date", "valueDate",
                                                 s_of(c, "date")));
        if (json_object_get(c, "secondary_findings"))
            json_array_append_new(sub, json_pack("{s:s,s:O}", "url", "secondary-findings",
                                                 "valueBoolean",
                                                 json_object_get(c, "secondary_findings")));
        if (s_of(c, "text"))
            json_array_append_new(sub, json_pack("{s:s,s:s}", "url", "text", "valueString",
                                                 s_of(c, "text")));
        json_t *exts = json_object_get(r, "extension");
        if (!exts) {
            exts = json_array();
            json_object_set_new(r, "extension", exts);
        }
        json_array_append_new(exts, e);
    }
    add_entry(o, r);
}

static json_t *role_category(const char *role)
{
    return json_pack("[o]", cc1(FHIR_CS "condition-role", role, NULL));
}

static void diagnosis(struct out *o, json_t *rec)
{
    json_t *dx = json_object_get(rec, "diagnosis");
    if (!dx)
        return;
    json_t *r = resource(o, "Condition", "dx", (size_t)-1, (size_t)-1);
    json_object_set_new(r, "meta", json_pack("{s:[s]}", "profile",
                                             "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Condition"));
    json_object_set_new(r, "category", role_category("primary-cancer"));
    json_t *code = json_pack("{s:[]}", "coding");
    json_t *cod = json_object_get(code, "coding");
    if (s_of(dx, "oncotree")) {
        const char *name = NULL;
        zg_oncotree_lookup(s_of(dx, "oncotree"), &name, NULL);
        json_array_append_new(cod, coding(SYS_ONCOTREE, s_of(dx, "oncotree"), name));
    }
    if (s_of(dx, "icd10"))
        json_array_append_new(cod, coding(SYS_ICD10, s_of(dx, "icd10"), NULL));
    if (s_of(dx, "text"))
        json_object_set_new(code, "text", json_string(s_of(dx, "text")));
    json_object_set_new(r, "code", code);
    if (s_of(dx, "icdo3_topography"))
        json_object_set_new(r, "bodySite", json_pack("[o]", cc1(SYS_ICDO3,
                                                                 s_of(dx, "icdo3_topography"),
                                                                 NULL)));
    if (s_of(dx, "date"))
        json_object_set_new(r, "onsetDateTime", json_string(s_of(dx, "date")));
    if (s_of(dx, "icdo3_morphology") || s_of(dx, "histology_text")) {
        json_t *m = s_of(dx, "icdo3_morphology")
                        ? cc1(SYS_ICDO3, s_of(dx, "icdo3_morphology"), s_of(dx, "histology_text"))
                        : json_pack("{s:s}", "text", s_of(dx, "histology_text"));
        ext_add(r, "histology-morphology", "valueCodeableConcept", m);
    }
    json_t *tnm = json_object_get(dx, "tnm");
    if (tnm) {
        json_t *st = json_pack("{s:o}", "summary",
                               cc1(FHIR_CS "uicc-tnm8-stage", s_of(tnm, "stage"), NULL));
        if (s_of(tnm, "kind"))
            json_object_set_new(st, "type", cc1(FHIR_CS "tnm-kind", s_of(tnm, "kind"), NULL));
        ext_add(st, "tnm-edition", "valueInteger", json_copy(json_object_get(tnm, "edition")));
        ext_str(st, "tnm-t", "valueCode", tnm, "t");
        ext_str(st, "tnm-n", "valueCode", tnm, "n");
        ext_str(st, "tnm-m", "valueCode", tnm, "m");
        json_object_set_new(r, "stage", json_pack("[o]", st));
    }
    add_entry(o, r);

    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(dx, "metastatic_sites"), i, m)
    {
        json_t *c = resource(o, "Condition", "met", i, (size_t)-1);
        item_identifier(c, m);
        json_object_set_new(c, "category", role_category("metastasis"));
        json_object_set_new(c, "code", cc1(SYS_SNOMED, SCT_METASTASIS, NULL));
        json_object_set_new(c, "bodySite", json_pack("[o]", site_cc(m)));
        if (s_of(m, "date"))
            json_object_set_new(c, "onsetDateTime", json_string(s_of(m, "date")));
        add_entry(o, c);
    }
    json_t *ps = json_object_get(dx, "performance_status");
    if (ps) {
        bool ecog = !strcmp(s_of(ps, "scale"), "ECOG");
        json_t *ob = observation(o, "ps", (size_t)-1,
                                 cc1(SYS_LOINC, ecog ? LOINC_ECOG : LOINC_KPS, NULL));
        json_object_set_new(ob, "valueInteger", json_copy(json_object_get(ps, "value")));
        if (s_of(ps, "date"))
            json_object_set_new(ob, "effectiveDateTime", json_string(s_of(ps, "date")));
        add_entry(o, ob);
    }
}

static void background(struct out *o, json_t *rec)
{
    json_t *bg = json_object_get(rec, "background");
    json_t *sm = json_object_get(bg, "smoking");
    if (sm) {
        json_t *ob = observation(o, "smoking", (size_t)-1, cc1(SYS_LOINC, LOINC_SMOKING, NULL));
        const char *sct = "266927001";
        for (size_t i = 0; i < ZG_ARRAY_LEN(fhir_smoking); i++)
            if (!strcmp(fhir_smoking[i].model, s_of(sm, "status")))
                sct = fhir_smoking[i].sct;
        json_object_set_new(ob, "valueCodeableConcept", cc1(SYS_SNOMED, sct, NULL));
        json_t *py = json_object_get(sm, "pack_years");
        if (py)
            json_object_set_new(
                ob, "component",
                json_pack("[{s:o,s:{s:O,s:s,s:s,s:s}}]", "code",
                          cc1(SYS_SNOMED, SCT_PACK_YEARS, NULL), "valueQuantity", "value", py,
                          "unit", "pack-years", "system", SYS_UCUM, "code", "{pack-years}"));
        add_entry(o, ob);
    }
    json_t *al = json_object_get(bg, "alcohol");
    if (al) {
        json_t *ob = observation(o, "alcohol", (size_t)-1, cc1(SYS_LOINC, LOINC_ALCOHOL, NULL));
        json_object_set_new(ob, "valueCodeableConcept",
                            cc1(FHIR_CS "use-status", s_of(al, "status"), s_of(al, "text")));
        add_entry(o, ob);
    }
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(bg, "comorbidities"), i, x)
    {
        json_t *c = resource(o, "Condition", "comorbidity", i, (size_t)-1);
        item_identifier(c, x);
        json_object_set_new(c, "category", role_category("comorbidity"));
        json_object_set_new(c, "code", cc1(SYS_ICD10, s_of(x, "icd10"), s_of(x, "text")));
        add_entry(o, c);
    }
    json_array_foreach(json_object_get(bg, "family_history"), i, x)
    {
        json_t *f = resource(o, "FamilyMemberHistory", "fh", i, (size_t)-1);
        item_identifier(f, x);
        json_object_set_new(f, "status", json_string("completed"));
        const char *rc = "FAMMEMB";
        for (size_t k = 0; k < ZG_ARRAY_LEN(fhir_relations); k++)
            if (!strcmp(fhir_relations[k].model, s_of(x, "relation"))) {
                rc = fhir_relations[k].code;
                break;
            }
        json_object_set_new(f, "relationship", cc1(SYS_ROLE, rc, NULL));
        json_t *code = json_pack("{s:[o]}", "coding", coding(SYS_ICD10, s_of(x, "icd10"), NULL));
        if (s_of(x, "oncotree"))
            json_array_append_new(json_object_get(code, "coding"),
                                  coding(SYS_ONCOTREE, s_of(x, "oncotree"), NULL));
        if (s_of(x, "text"))
            json_object_set_new(code, "text", json_string(s_of(x, "text")));
        json_t *cond = json_pack("{s:o}", "code", code);
        json_t *age = json_object_get(x, "age_at_diagnosis");
        if (age)
            json_object_set_new(cond, "onsetAge",
                                json_pack("{s:O,s:s,s:s,s:s}", "value", age, "unit", "a",
                                          "system", SYS_UCUM, "code", "a"));
        json_object_set_new(f, "condition", json_pack("[o]", cond));
        add_entry(o, f);
    }
}

static void specimens(struct out *o, json_t *rec)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(rec, "specimens"), i, x)
    {
        json_t *s = resource(o, "Specimen", "specimen", i, (size_t)-1);
        json_t *ids = json_array();
        if (s_of(x, "id"))
            json_array_append_new(ids, json_pack("{s:s,s:s}", "system", SYS_ITEM_ID, "value",
                                                 s_of(x, "id")));
        if (s_of(x, "specimen_id"))
            json_array_append_new(ids, json_pack("{s:s,s:s}", "system", SYS_SPECIMEN, "value",
                                                 s_of(x, "specimen_id")));
        if (json_array_size(ids))
            json_object_set_new(s, "identifier", ids);
        else
            json_decref(ids);
        json_object_set_new(s, "type", cc1(FHIR_CS "specimen-type", s_of(x, "type"), NULL));
        json_t *col = json_object();
        if (s_of(x, "collection_date"))
            json_object_set_new(col, "collectedDateTime", json_string(s_of(x, "collection_date")));
        if (s_of(x, "method"))
            json_object_set_new(col, "method",
                                cc1(FHIR_CS "specimen-method", s_of(x, "method"), NULL));
        if (json_object_get(x, "site"))
            json_object_set_new(col, "bodySite", site_cc(json_object_get(x, "site")));
        if (json_object_size(col))
            json_object_set_new(s, "collection", col);
        else
            json_decref(col);
        ext_add(s, "tumour-cellularity", "valueInteger",
                json_object_get(x, "tumour_cellularity")
                    ? json_copy(json_object_get(x, "tumour_cellularity"))
                    : NULL);
        if (s_of(x, "text"))
            json_object_set_new(s, "note", json_pack("[{s:s}]", "text", s_of(x, "text")));
        add_entry(o, s);
    }
}

static void therapies(struct out *o, json_t *rec)
{
    size_t i, j;
    json_t *t, *d;
    json_array_foreach(json_object_get(rec, "drug_therapies"), i, t)
    {
        json_array_foreach(json_object_get(t, "drugs"), j, d)
        {
            json_t *m = resource(o, "MedicationStatement", "tx", i, j);
            const char *stop = s_of(t, "stop_reason");
            const char *status = !stop                       ? (s_of(t, "end_date") ? "completed"
                                                                                    : "active")
                                 : !strcmp(stop, "ongoing")   ? "active"
                                 : !strcmp(stop, "completed") ? "completed"
                                                              : "stopped";
            json_object_set_new(m, "status", json_string(status));
            json_object_set_new(m, "medicationCodeableConcept", drug_cc(d));
            json_t *per = json_pack("{s:s}", "start", s_of(t, "start_date"));
            if (s_of(t, "end_date"))
                json_object_set_new(per, "end", json_string(s_of(t, "end_date")));
            json_object_set_new(m, "effectivePeriod", per);
            if (stop)
                json_object_set_new(m, "statusReason",
                                    json_pack("[o]", cc1(FHIR_CS "stop-reason", stop, NULL)));
            /* the therapy line this drug belongs to */
            json_t *line = json_pack("{s:s,s:[{s:s,s:I}]}", "url", FHIR_EXT "therapy-line",
                                     "extension", "url", "index", "valueInteger", (json_int_t)i);
            json_t *sub = json_object_get(line, "extension");
            static const struct {
                const char *k, *url, *vkey;
            } f[] = {{"line", "line", "valueInteger"},
                     {"regimen", "regimen", "valueString"},
                     {"id", "id", "valueString"},
                     {"intent", "intent", "valueCode"},
                     {"best_response", "best-response", "valueCode"},
                     {"text", "text", "valueString"}};
            for (size_t k = 0; k < ZG_ARRAY_LEN(f); k++) {
                json_t *v = json_object_get(t, f[k].k);
                if (v)
                    json_array_append_new(sub, json_pack("{s:s,s:O}", "url", f[k].url,
                                                         f[k].vkey, v));
            }
            json_object_set_new(m, "extension", json_pack("[o]", line));
            add_entry(o, m);
        }
    }
}

static void procedures(struct out *o, json_t *rec)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(rec, "surgeries"), i, x)
    {
        json_t *p = resource(o, "Procedure", "surgery", i, (size_t)-1);
        item_identifier(p, x);
        json_object_set_new(p, "status", json_string("completed"));
        json_object_set_new(p, "category", cc1(SYS_SNOMED, SCT_SURGERY, NULL));
        json_t *pr = json_object_get(x, "procedure");
        json_object_set_new(p, "code",
                            cc1(!strcmp(s_of(pr, "system"), "snomed") ? SYS_SNOMED : SYS_KCODE,
                                s_of(pr, "code"), s_of(pr, "text")));
        json_object_set_new(p, "performedDateTime", json_string(s_of(x, "date")));
        ext_str(p, "residual-tumour", "valueCode", x, "residual");
        ext_str(p, "treatment-intent", "valueCode", x, "intent");
        add_entry(o, p);
    }
    json_array_foreach(json_object_get(rec, "radiotherapies"), i, x)
    {
        json_t *p = resource(o, "Procedure", "rt", i, (size_t)-1);
        item_identifier(p, x);
        json_object_set_new(p, "status", json_string("completed"));
        json_object_set_new(p, "category", cc1(SYS_SNOMED, SCT_RADIOTHERAPY, NULL));
        json_object_set_new(p, "code", cc1(SYS_SNOMED, SCT_RADIOTHERAPY, NULL));
        json_t *per = json_pack("{s:s}", "start", s_of(x, "start_date"));
        if (s_of(x, "end_date"))
            json_object_set_new(per, "end", json_string(s_of(x, "end_date")));
        json_object_set_new(p, "performedPeriod", per);
        json_object_set_new(p, "bodySite", json_pack("[o]", site_cc(json_object_get(x, "site"))));
        json_t *dose = json_object_get(x, "dose_gy");
        if (dose)
            ext_add(p, "radiation-dose", "valueQuantity",
                    json_pack("{s:O,s:s,s:s,s:s}", "value", dose, "unit", "Gy", "system",
                              SYS_UCUM, "code", "Gy"));
        ext_str(p, "radiation-fractions", "valueInteger", x, "fractions");
        ext_str(p, "treatment-intent", "valueCode", x, "intent");
        add_entry(o, p);
    }
}

static void events(struct out *o, json_t *rec)
{
    size_t i, j;
    json_t *x, *y;
    json_array_foreach(json_object_get(rec, "adverse_events"), i, x)
    {
        json_t *ob = observation(o, "ae", i, cc1(FHIR_CS "observation", "adverse-event", NULL));
        item_identifier(ob, x);
        json_t *v = json_pack("{s:s}", "text", s_of(x, "term"));
        if (s_of(x, "meddra"))
            json_object_set_new(v, "coding", json_pack("[o]", coding(SYS_MEDDRA,
                                                                     s_of(x, "meddra"), NULL)));
        json_object_set_new(ob, "valueCodeableConcept", v);
        json_object_set_new(ob, "effectiveDateTime", json_string(s_of(x, "date")));
        json_t *comp = json_pack("[{s:o,s:O}]", "code",
                                 cc1(FHIR_CS "observation", "ctcae-grade", NULL), "valueInteger",
                                 json_object_get(x, "grade"));
        if (s_of(x, "drug"))
            json_array_append_new(comp, json_pack("{s:o,s:s}", "code",
                                                  cc1(FHIR_CS "observation", "suspected-drug",
                                                      NULL),
                                                  "valueString", s_of(x, "drug")));
        json_object_set_new(ob, "component", comp);
        add_entry(o, ob);
    }
    json_t *co = json_object_get(rec, "course");
    static const struct {
        const char *k, *code;
    } dates[] = {{"recurrence_date", "recurrence"}, {"progression_date", "progression"}};
    for (i = 0; i < ZG_ARRAY_LEN(dates); i++) {
        if (!s_of(co, dates[i].k))
            continue;
        json_t *ob = observation(o, dates[i].code, (size_t)-1,
                                 cc1(FHIR_CS "observation", dates[i].code, NULL));
        json_object_set_new(ob, "effectiveDateTime", json_string(s_of(co, dates[i].k)));
        add_entry(o, ob);
    }
    if (s_of(co, "last_followup_date") || s_of(co, "vital_status")) {
        json_t *ob = observation(o, "followup", (size_t)-1,
                                 cc1(FHIR_CS "observation", "last-follow-up", NULL));
        if (s_of(co, "last_followup_date"))
            json_object_set_new(ob, "effectiveDateTime",
                                json_string(s_of(co, "last_followup_date")));
        if (s_of(co, "vital_status"))
            json_object_set_new(ob, "valueCodeableConcept",
                                cc1(FHIR_CS "vital-status", s_of(co, "vital_status"), NULL));
        add_entry(o, ob);
    }
    if (s_of(co, "death_cause") || s_of(co, "death_cause_text")) {
        json_t *ob = observation(o, "death", (size_t)-1, cc1(SYS_LOINC, LOINC_DEATH_CAUSE, NULL));
        json_t *v = s_of(co, "death_cause")
                        ? cc1(FHIR_CS "death-cause", s_of(co, "death_cause"),
                              s_of(co, "death_cause_text"))
                        : json_pack("{s:s}", "text", s_of(co, "death_cause_text"));
        json_object_set_new(ob, "valueCodeableConcept", v);
        add_entry(o, ob);
    }
    json_array_foreach(json_object_get(rec, "expert_panel"), i, x)
    {
        json_t *ob = observation(o, "ep", i, cc1(FHIR_CS "observation", "expert-panel", NULL));
        item_identifier(ob, x);
        json_object_set_new(ob, "effectiveDateTime", json_string(s_of(x, "date")));
        if (s_of(x, "text"))
            json_object_set_new(ob, "note", json_pack("[{s:s}]", "text", s_of(x, "text")));
        json_array_foreach(json_object_get(x, "recommendations"), j, y)
        {
            json_t *e = json_pack("{s:s,s:[{s:s,s:s}]}", "url", FHIR_EXT "recommendation",
                                  "extension", "url", "treatment", "valueString",
                                  s_of(y, "treatment"));
            json_t *sub = json_object_get(e, "extension");
            size_t k;
            json_t *d;
            json_array_foreach(json_object_get(y, "drugs"), k, d)
                json_array_append_new(sub, json_pack("{s:s,s:o}", "url", "drug",
                                                     "valueCodeableConcept", drug_cc(d)));
            static const struct {
                const char *k, *url, *vkey;
            } f[] = {{"evidence_level", "evidence-level", "valueCode"},
                     {"given", "given", "valueBoolean"},
                     {"trial_enrolled", "trial-enrolled", "valueBoolean"},
                     {"trial_id", "trial-id", "valueString"}};
            for (k = 0; k < ZG_ARRAY_LEN(f); k++) {
                json_t *v = json_object_get(y, f[k].k);
                if (v)
                    json_array_append_new(sub, json_pack("{s:s,s:O}", "url", f[k].url,
                                                         f[k].vkey, v));
            }
            json_t *exts = json_object_get(ob, "extension");
            if (!exts) {
                exts = json_array();
                json_object_set_new(ob, "extension", exts);
            }
            json_array_append_new(exts, e);
        }
        /* an expert panel without recommendations still records that it met */
        add_entry(o, ob);
    }
}

json_t *zg_clinical_to_fhir(json_t *record, struct zg_error *err)
{
    const char *cid = s_of(record, "case_id");
    if (!cid) {
        zg_error_set(err, ZG_EINVAL, "/case_id", "the record has no case ID");
        return NULL;
    }
    struct out o = {json_array(), cid, ""};
    snprintf(o.patient_ref, sizeof(o.patient_ref), "Patient/%s-patient", cid);
    patient(&o, record);
    diagnosis(&o, record);
    background(&o, record);
    specimens(&o, record);
    therapies(&o, record);
    procedures(&o, record);
    events(&o, record);
    char id[64];
    snprintf(id, sizeof(id), "%s-bundle", cid);
    return json_pack("{s:s,s:s,s:s,s:o}", "resourceType", "Bundle", "id", id, "type",
                     "collection", "entry", o.entries);
}
