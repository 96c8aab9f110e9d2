/* Import of FHIR R4 Bundles into standard clinical records. Each Patient must carry the
 * zengen case identifier (hospitals resolve their local ID through the linkage API first);
 * every element that is not mapped is reported with a JSON Pointer and a reason — nothing is
 * dropped silently (docs/clinical-fhir.md). */
#include "fhir_internal.h"
#include "common/error.h"
#include "ids/ids.h"
#include <ctype.h>

#define MAX_PATIENTS 64
#define MAX_ENTRIES 5000

struct pat {
    const char *full_url, *id;
    char cid[ZG_ID_LEN];
    json_t *rec;
    json_t *lines; /* therapy-line index (exported bundles) → drug_therapies item */
};

struct imp {
    json_t *bundle, *entries, *unmapped, *used_ptrs;
    size_t mapped;
    struct pat pats[MAX_PATIENTS];
    size_t npats;
    struct zg_error *err;
};

/* One resource being mapped: which top-level members were used. */
struct res {
    struct imp *im;
    json_t *r, *used;
    char ptr[64];
};

static const char *s_of(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void unmapped(struct imp *im, const char *ptr, const char *fmt, ...) ZG_PRINTF(3, 4);

static void unmapped(struct imp *im, const char *ptr, const char *fmt, ...)
{
    char reason[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (json_array_size(im->unmapped) < 5000)
        json_array_append_new(im->unmapped,
                              json_pack("{s:s,s:s}", "pointer", ptr, "reason", reason));
}

static void use(struct res *x, const char *k)
{
    json_object_set_new(x->used, k, json_true());
}

/* Reports a member of the resource as not mapped (and marks it handled). */
static void drop(struct res *x, const char *k, const char *reason)
{
    if (!json_object_get(x->r, k))
        return;
    char p[160];
    snprintf(p, sizeof(p), "%s/%s", x->ptr, k);
    unmapped(x->im, p, "%s", reason);
    use(x, k);
}

/* The code of the first coding of cc with this system, or NULL. */
static const char *code_in(json_t *cc, const char *system)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(cc, "coding"), i, c)
    {
        const char *s = s_of(c, "system");
        if (s && !strcmp(s, system) && s_of(c, "code"))
            return s_of(c, "code");
    }
    return NULL;
}

/* ICD-10 from any ICD-10 flavoured system (WHO, JP-Core's ICD-10 2013). */
static const char *icd10_in(json_t *cc)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(cc, "coding"), i, c)
    {
        const char *s = s_of(c, "system");
        if (s && strstr(s, "icd-10") && !strstr(s, "icd-10-pcs") &&
            zg_clinical_icd10_ok(s_of(c, "code")))
            return s_of(c, "code");
    }
    return NULL;
}

/* Codings of cc whose system is none of the listed ones, as "system|code" text for reasons. */
static void other_codings(json_t *cc, const char *const *known, char *out, size_t outsz)
{
    size_t i, o = 0;
    json_t *c;
    out[0] = '\0';
    json_array_foreach(json_object_get(cc, "coding"), i, c)
    {
        const char *s = s_of(c, "system");
        bool k = false;
        for (size_t j = 0; known[j]; j++)
            k |= s && !strcmp(s, known[j]);
        if (!k && o < outsz) {
            int n = snprintf(out + o, outsz - o, "%s%.80s|%.30s", o ? ", " : "",
                             s ? s : "(no system)", s_of(c, "code") ? s_of(c, "code") : "");
            if (n > 0)
                o += (size_t)n;
        }
    }
}

/* The date part (YYYY-MM-DD) of a FHIR date/dateTime, when it has a day. */
static bool date_part(const char *dt, char out[11])
{
    if (!dt || strlen(dt) < 10)
        return false;
    memcpy(out, dt, 10);
    out[10] = '\0';
    return zg_clinical_date_ok(out);
}

static json_t *ensure(json_t *o, const char *k, bool array)
{
    json_t *x = json_object_get(o, k);
    if (!x) {
        x = array ? json_array() : json_object();
        json_object_set_new(o, k, x);
    }
    return x;
}

/* The value of extension url (ours, by name) of an element, or NULL. */
static json_t *ext_value(json_t *el, const char *name, const char *vkey)
{
    char url[160];
    snprintf(url, sizeof(url), "%s%s", FHIR_EXT, name);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(el, "extension"), i, e)
    {
        const char *u = s_of(e, "url");
        if (u && (!strcmp(u, url) || !strcmp(u, name)))
            return vkey ? json_object_get(e, vkey) : e;
    }
    return NULL;
}

/* Reports extensions of an element that are not ours (url prefix FHIR_EXT). */
static void foreign_extensions(struct res *x, json_t *el, const char *where)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(el, "extension"), i, e)
    {
        const char *u = s_of(e, "url");
        if (!u || strncmp(u, FHIR_EXT, strlen(FHIR_EXT))) {
            char p[200];
            snprintf(p, sizeof(p), "%s%s/extension/%zu", x->ptr, where, i);
            unmapped(x->im, p, "extension %.120s is not part of the clinical model",
                     u ? u : "(no url)");
        }
    }
}

static const char *item_id(json_t *r)
{
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(r, "identifier"), i, id)
    {
        const char *s = s_of(id, "system");
        if (s && !strcmp(s, SYS_ITEM_ID))
            return s_of(id, "value");
    }
    return NULL;
}

static void set_item_id(json_t *item, json_t *r)
{
    const char *id = item_id(r);
    if (id)
        json_object_set_new(item, "id", json_string(id));
}

/* Reports identifiers other than ours. */
static void identifiers(struct res *x)
{
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(x->r, "identifier"), i, id)
    {
        const char *s = s_of(id, "system");
        if (s && (!strcmp(s, SYS_ITEM_ID) || !strcmp(s, ZG_FHIR_CASE_SYSTEM) ||
                  !strcmp(s, SYS_SPECIMEN)))
            continue;
        char p[160];
        snprintf(p, sizeof(p), "%s/identifier/%zu", x->ptr, i);
        unmapped(x->im, p, "identifier of system %.100s is not stored (only zengen IDs are)",
                 s ? s : "(none)");
    }
    use(x, "identifier");
}

/* ----------------------------------------------------------------------- drugs ---- */

/* Builds a model drug from a CodeableConcept: the generic name from text/display (ASCII,
 * lower-cased) and ATC / YJ / HOT9 codes. NULL when nothing usable is there. */
static json_t *drug_of(json_t *cc)
{
    json_t *d = json_object();
    const char *atc = code_in(cc, SYS_ATC), *yj = code_in(cc, SYS_YJ),
               *hot = code_in(cc, "http://medis.or.jp/CodeSystem/master-HOT9");
    if (atc)
        json_object_set_new(d, "atc", json_string(atc));
    if (yj)
        json_object_set_new(d, "yj", json_string(yj));
    if (hot)
        json_object_set_new(d, "hot9", json_string(hot));
    const char *name = s_of(cc, "text");
    json_t *c0 = json_array_get(json_object_get(cc, "coding"), 0);
    if (!name)
        name = s_of(c0, "display");
    char low[101];
    bool ascii = name && strlen(name) < sizeof(low) && strlen(name) >= 2;
    for (size_t i = 0; ascii && name[i]; i++) {
        unsigned char ch = (unsigned char)name[i];
        ascii = ch < 0x80 && (isalnum(ch) || strchr(" ()/+-", ch));
        low[i] = (char)tolower(ch);
        low[i + 1] = '\0';
    }
    if (ascii && isalnum((unsigned char)low[0]))
        json_object_set_new(d, "name", json_string(low));
    json_t *ft = ext_value(cc, "free-text", "valueString");
    if (ft)
        json_object_set_new(d, "text", json_copy(ft));
    else if (name && !json_object_get(d, "name"))
        json_object_set_new(d, "text", json_string(name));
    if (!json_object_get(d, "name") && !atc && !yj && !hot) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* The medication CodeableConcept of a MedicationStatement/Request, resolving contained and
 * bundled Medication resources. */
static json_t *medication_cc(struct res *x)
{
    json_t *cc = json_object_get(x->r, "medicationCodeableConcept");
    if (cc) {
        use(x, "medicationCodeableConcept");
        return cc;
    }
    const char *ref = s_of(json_object_get(x->r, "medicationReference"), "reference");
    if (!ref)
        return NULL;
    use(x, "medicationReference");
    size_t i;
    json_t *m;
    if (ref[0] == '#') {
        json_array_foreach(json_object_get(x->r, "contained"), i, m)
        {
            const char *id = s_of(m, "id");
            if (id && !strcmp(id, ref + 1)) {
                use(x, "contained");
                return json_object_get(m, "code");
            }
        }
        return NULL;
    }
    json_array_foreach(x->im->entries, i, m)
    {
        json_t *r = json_object_get(m, "resource");
        char tid[200];
        snprintf(tid, sizeof(tid), "Medication/%s", s_of(r, "id") ? s_of(r, "id") : "");
        if ((s_of(m, "fullUrl") && !strcmp(s_of(m, "fullUrl"), ref)) || !strcmp(tid, ref))
            return json_object_get(r, "code");
    }
    return NULL;
}

static void medication(struct res *x, struct pat *p, bool request)
{
    json_t *cc = medication_cc(x);
    if (!cc) {
        unmapped(x->im, x->ptr,
                 "%s: the medication is neither a CodeableConcept nor a resolvable reference",
                 request ? "MedicationRequest" : "MedicationStatement");
        return;
    }
    json_t *drug = drug_of(cc);
    if (!drug) {
        char other[300];
        static const char *const none[] = {NULL};
        other_codings(cc, none, other, sizeof(other));
        unmapped(x->im, x->ptr,
                 "the medication has no generic name, ATC, YJ or HOT9 code (codings: %s)",
                 other[0] ? other : "none");
        return;
    }
    char start[11] = "", end[11] = "";
    json_t *per = json_object_get(x->r, "effectivePeriod");
    if (!request) {
        if (!date_part(s_of(per, "start"), start) &&
            !date_part(s_of(x->r, "effectiveDateTime"), start) &&
            !date_part(s_of(x->r, "dateAsserted"), start)) {
            json_decref(drug);
            unmapped(x->im, x->ptr,
                     "MedicationStatement has no start date (effectivePeriod.start, "
                     "effectiveDateTime or dateAsserted with a day)");
            return;
        }
        if (json_object_get(x->r, "effectivePeriod")) {
            use(x, "effectivePeriod");
            date_part(s_of(per, "end"), end);
        } else if (json_object_get(x->r, "effectiveDateTime")) {
            use(x, "effectiveDateTime");
        } else {
            use(x, "dateAsserted");
        }
    } else {
        json_t *di = json_array_get(json_object_get(x->r, "dosageInstruction"), 0);
        json_t *bounds = json_object_get(json_object_get(json_object_get(di, "timing"), "repeat"),
                                         "boundsPeriod");
        if (date_part(s_of(bounds, "start"), start)) {
            date_part(s_of(bounds, "end"), end);
            use(x, "dosageInstruction");
        } else if (date_part(s_of(x->r, "authoredOn"), start)) {
            use(x, "authoredOn");
        } else {
            json_decref(drug);
            unmapped(x->im, x->ptr,
                     "MedicationRequest has no start date (authoredOn or dosage bounds)");
            return;
        }
    }
    json_t *line = ext_value(x->r, "therapy-line", NULL);
    json_t *t = NULL;
    json_int_t index = -1;
    if (line) {
        json_t *idx = ext_value(line, "index", "valueInteger");
        index = idx ? json_integer_value(idx) : -1;
        char key[24];
        snprintf(key, sizeof(key), "%lld", (long long)index);
        t = index >= 0 ? json_object_get(p->lines, key) : NULL;
        if (t) {
            /* one more drug of a line already seen: its period and status are the line's */
            json_array_append_new(json_object_get(t, "drugs"), drug);
            use(x, "status");
            use(x, "statusReason");
            use(x, "extension");
            foreign_extensions(x, x->r, "");
            x->im->mapped++;
            return;
        }
    }
    t = json_pack("{s:[o],s:s}", "drugs", drug, "start_date", start);
    if (end[0])
        json_object_set_new(t, "end_date", json_string(end));
    if (line) {
        static const struct {
            const char *url, *vkey, *k;
        } f[] = {{"line", "valueInteger", "line"},
                 {"regimen", "valueString", "regimen"},
                 {"id", "valueString", "id"},
                 {"intent", "valueCode", "intent"},
                 {"best-response", "valueCode", "best_response"},
                 {"text", "valueString", "text"}};
        for (size_t k = 0; k < ZG_ARRAY_LEN(f); k++) {
            json_t *v = ext_value(line, f[k].url, f[k].vkey);
            if (v)
                json_object_set_new(t, f[k].k, json_copy(v));
        }
        char key[24];
        snprintf(key, sizeof(key), "%lld", (long long)index);
        json_object_set(p->lines, key, t);
    } else {
        const char *rid = s_of(x->r, "id");
        if (rid && strlen(rid) <= 64)
            json_object_set_new(t, "id", json_string(rid));
    }
    const char *stop = code_in(json_array_get(json_object_get(x->r, "statusReason"), 0),
                               FHIR_CS "stop-reason");
    if (stop) {
        json_object_set_new(t, "stop_reason", json_string(stop));
        use(x, "statusReason");
    }
    use(x, "extension");
    foreign_extensions(x, x->r, "");
    use(x, "status");
    json_array_append_new(ensure(p->rec, "drug_therapies", true), t);
    x->im->mapped++;
    return;
}

/* ------------------------------------------------------------------- conditions ---- */

static void condition(struct res *x, struct pat *p)
{
    json_t *r = x->r, *code = json_object_get(r, "code");
    const char *role = NULL;
    size_t i;
    json_t *cat;
    json_array_foreach(json_object_get(r, "category"), i, cat)
    {
        const char *c = code_in(cat, FHIR_CS "condition-role");
        if (c)
            role = c;
    }
    const char *onc = code_in(code, SYS_ONCOTREE), *icd = icd10_in(code);
    if (!role) {
        if (code_in(code, SYS_SNOMED) && !strcmp(code_in(code, SYS_SNOMED), SCT_METASTASIS))
            role = "metastasis";
        else if (onc || (icd && (icd[0] == 'C' || !strncmp(icd, "D0", 2))))
            role = "primary-cancer";
        else if (icd)
            role = "comorbidity";
    }
    if (!role) {
        static const char *const known[] = {SYS_ICD10, SYS_ONCOTREE, NULL};
        char other[300];
        other_codings(code, known, other, sizeof(other));
        unmapped(x->im, x->ptr,
                 "Condition.code has no ICD-10 or OncoTree coding, so it cannot be placed in the "
                 "model (codings: %s)",
                 other[0] ? other : "none");
        return;
    }
    use(x, "code");
    use(x, "category");
    static const char *const known[] = {SYS_ICD10, SYS_ONCOTREE, SYS_SNOMED,
                                        "http://hl7.org/fhir/sid/icd-10-cm", NULL};
    char other[300];
    other_codings(code, known, other, sizeof(other));
    if (other[0]) {
        char pp[160];
        snprintf(pp, sizeof(pp), "%s/code/coding", x->ptr);
        unmapped(x->im, pp, "codings kept only as ICD-10/OncoTree: %s", other);
    }
    json_t *site = json_array_get(json_object_get(r, "bodySite"), 0);
    const char *topo = code_in(site, SYS_ICDO3);
    char date[11] = "";
    if (date_part(s_of(r, "onsetDateTime"), date))
        use(x, "onsetDateTime");
    if (!strcmp(role, "metastasis")) {
        if (!topo || !zg_clinical_icdo3_topo_ok(topo)) {
            unmapped(x->im, x->ptr, "metastasis without an ICD-O-3 topography bodySite");
            return;
        }
        use(x, "bodySite");
        json_t *m = json_pack("{s:s}", "icdo3_topography", topo);
        if (s_of(site, "text"))
            json_object_set_new(m, "text", json_string(s_of(site, "text")));
        if (date[0])
            json_object_set_new(m, "date", json_string(date));
        set_item_id(m, r);
        json_array_append_new(ensure(ensure(p->rec, "diagnosis", false), "metastatic_sites", true),
                              m);
    } else if (!strcmp(role, "comorbidity")) {
        if (!icd) {
            unmapped(x->im, x->ptr, "comorbidity without an ICD-10 code");
            return;
        }
        json_t *c = json_pack("{s:s}", "icd10", icd);
        if (s_of(code, "text"))
            json_object_set_new(c, "text", json_string(s_of(code, "text")));
        set_item_id(c, r);
        json_array_append_new(ensure(ensure(p->rec, "background", false), "comorbidities", true),
                              c);
        if (date[0]) /* the model holds no onset date for comorbidities */
            unmapped(x->im, x->ptr, "the onset date of a comorbidity is not held by the model");
    } else {
        json_t *dx = ensure(p->rec, "diagnosis", false);
        if (json_object_get(dx, "oncotree") || json_object_get(dx, "icd10")) {
            unmapped(x->im, x->ptr,
                     "a second primary cancer diagnosis is not held by model 1.0 (one primary "
                     "per case)");
            return;
        }
        if (onc)
            json_object_set_new(dx, "oncotree", json_string(onc));
        if (icd)
            json_object_set_new(dx, "icd10", json_string(icd));
        if (s_of(code, "text"))
            json_object_set_new(dx, "text", json_string(s_of(code, "text")));
        if (topo && zg_clinical_icdo3_topo_ok(topo)) {
            json_object_set_new(dx, "icdo3_topography", json_string(topo));
            use(x, "bodySite");
        }
        if (date[0])
            json_object_set_new(dx, "date", json_string(date));
        json_t *morph = ext_value(r, "histology-morphology", "valueCodeableConcept");
        if (morph) {
            const char *mc = code_in(morph, SYS_ICDO3);
            if (mc)
                json_object_set_new(dx, "icdo3_morphology", json_string(mc));
            if (s_of(morph, "text"))
                json_object_set_new(dx, "histology_text", json_string(s_of(morph, "text")));
        }
        use(x, "extension");
        foreign_extensions(x, r, "");
        json_t *st = json_array_get(json_object_get(r, "stage"), 0);
        const char *stage = code_in(json_object_get(st, "summary"), FHIR_CS "uicc-tnm8-stage");
        if (stage) {
            json_t *tnm = json_pack("{s:i,s:s}", "edition", 8, "stage", stage);
            const char *kind = code_in(json_object_get(st, "type"), FHIR_CS "tnm-kind");
            if (kind)
                json_object_set_new(tnm, "kind", json_string(kind));
            static const char *const tnm_ext[][2] = {{"tnm-t", "t"}, {"tnm-n", "n"}, {"tnm-m", "m"}};
            for (size_t k = 0; k < 3; k++) {
                json_t *v = ext_value(st, tnm_ext[k][0], "valueCode");
                if (v)
                    json_object_set_new(tnm, tnm_ext[k][1], json_copy(v));
            }
            json_object_set_new(dx, "tnm", tnm);
            use(x, "stage");
        } else {
            drop(x, "stage", "the stage is not coded as a UICC TNM 8th edition stage group");
        }
    }
    identifiers(x);
    x->im->mapped++;
}

/* ----------------------------------------------------------------- observations ---- */

static void observation(struct res *x, struct pat *p)
{
    json_t *r = x->r, *code = json_object_get(r, "code");
    const char *loinc = code_in(code, SYS_LOINC), *ours = code_in(code, FHIR_CS "observation");
    char date[11] = "";
    bool has_date = date_part(s_of(r, "effectiveDateTime"), date);
    json_t *vcc = json_object_get(r, "valueCodeableConcept");
    bool done = true;
    if (loinc && (!strcmp(loinc, LOINC_ECOG) || !strcmp(loinc, LOINC_KPS))) {
        json_t *v = json_object_get(r, "valueInteger");
        if (!json_is_integer(v)) {
            unmapped(x->im, x->ptr, "performance status without valueInteger");
            return;
        }
        json_t *ps = json_pack("{s:s,s:O}", "scale", !strcmp(loinc, LOINC_ECOG) ? "ECOG" : "KPS",
                               "value", v);
        if (has_date)
            json_object_set_new(ps, "date", json_string(date));
        json_object_set_new(ensure(p->rec, "diagnosis", false), "performance_status", ps);
        use(x, "valueInteger");
    } else if (loinc && !strcmp(loinc, LOINC_SMOKING)) {
        const char *sct = code_in(vcc, SYS_SNOMED), *st = NULL;
        for (size_t i = 0; sct && i < ZG_ARRAY_LEN(fhir_smoking); i++)
            if (!strcmp(fhir_smoking[i].sct, sct))
                st = fhir_smoking[i].model;
        /* other SNOMED smoker findings of the FHIR value set */
        if (sct && !st)
            st = !strcmp(sct, "449868002") || !strcmp(sct, "428041000124106") ||
                         !strcmp(sct, "428071000124103") || !strcmp(sct, "428061000124105")
                     ? "current"
                     : NULL;
        if (!st) {
            unmapped(x->im, x->ptr, "smoking status value is not a known SNOMED CT code");
            return;
        }
        json_t *sm = json_pack("{s:s}", "status", st);
        json_t *c0 = json_array_get(json_object_get(r, "component"), 0);
        if (c0 && code_in(json_object_get(c0, "code"), SYS_SNOMED) &&
            !strcmp(code_in(json_object_get(c0, "code"), SYS_SNOMED), SCT_PACK_YEARS)) {
            json_object_set(sm, "pack_years",
                            json_object_get(json_object_get(c0, "valueQuantity"), "value"));
            use(x, "component");
        }
        json_object_set_new(ensure(p->rec, "background", false), "smoking", sm);
        use(x, "valueCodeableConcept");
        if (has_date)
            unmapped(x->im, x->ptr, "the date of the smoking observation is not held by the model");
    } else if (loinc && !strcmp(loinc, LOINC_ALCOHOL) && code_in(vcc, FHIR_CS "use-status")) {
        json_t *al = json_pack("{s:s}", "status", code_in(vcc, FHIR_CS "use-status"));
        if (s_of(vcc, "text"))
            json_object_set_new(al, "text", json_string(s_of(vcc, "text")));
        json_object_set_new(ensure(p->rec, "background", false), "alcohol", al);
        use(x, "valueCodeableConcept");
    } else if (loinc && !strcmp(loinc, LOINC_DEATH_CAUSE)) {
        json_t *co = ensure(p->rec, "course", false);
        const char *dc = code_in(vcc, FHIR_CS "death-cause");
        if (dc)
            json_object_set_new(co, "death_cause", json_string(dc));
        if (s_of(vcc, "text"))
            json_object_set_new(co, "death_cause_text", json_string(s_of(vcc, "text")));
        use(x, "valueCodeableConcept");
    } else if (ours && (!strcmp(ours, "recurrence") || !strcmp(ours, "progression")) && has_date) {
        json_object_set_new(ensure(p->rec, "course", false),
                            !strcmp(ours, "recurrence") ? "recurrence_date" : "progression_date",
                            json_string(date));
    } else if (ours && !strcmp(ours, "last-follow-up")) {
        json_t *co = ensure(p->rec, "course", false);
        if (has_date)
            json_object_set_new(co, "last_followup_date", json_string(date));
        const char *vs = code_in(vcc, FHIR_CS "vital-status");
        if (vs)
            json_object_set_new(co, "vital_status", json_string(vs));
        use(x, "valueCodeableConcept");
    } else if (ours && !strcmp(ours, "adverse-event") && has_date) {
        json_t *ae = json_pack("{s:s?,s:s}", "term", s_of(vcc, "text"), "date", date);
        const char *md = code_in(vcc, SYS_MEDDRA);
        if (md)
            json_object_set_new(ae, "meddra", json_string(md));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(r, "component"), i, c)
        {
            const char *k = code_in(json_object_get(c, "code"), FHIR_CS "observation");
            if (k && !strcmp(k, "ctcae-grade"))
                json_object_set(ae, "grade", json_object_get(c, "valueInteger"));
            else if (k && !strcmp(k, "suspected-drug"))
                json_object_set(ae, "drug", json_object_get(c, "valueString"));
        }
        set_item_id(ae, r);
        json_array_append_new(ensure(p->rec, "adverse_events", true), ae);
        use(x, "valueCodeableConcept");
        use(x, "component");
    } else if (ours && !strcmp(ours, "expert-panel") && has_date) {
        json_t *ep = json_pack("{s:s}", "date", date);
        set_item_id(ep, r);
        json_t *note = json_array_get(json_object_get(r, "note"), 0);
        if (s_of(note, "text")) {
            json_object_set_new(ep, "text", json_string(s_of(note, "text")));
            use(x, "note");
        }
        size_t i, k;
        json_t *e, *s;
        json_array_foreach(json_object_get(r, "extension"), i, e)
        {
            if (!s_of(e, "url") || strcmp(s_of(e, "url"), FHIR_EXT "recommendation"))
                continue;
            json_t *rec = json_object();
            json_array_foreach(json_object_get(e, "extension"), k, s)
            {
                const char *u = s_of(s, "url");
                if (!u)
                    continue;
                if (!strcmp(u, "treatment"))
                    json_object_set(rec, "treatment", json_object_get(s, "valueString"));
                else if (!strcmp(u, "drug")) {
                    json_t *d = drug_of(json_object_get(s, "valueCodeableConcept"));
                    if (d)
                        json_array_append_new(ensure(rec, "drugs", true), d);
                } else if (!strcmp(u, "evidence-level"))
                    json_object_set(rec, "evidence_level", json_object_get(s, "valueCode"));
                else if (!strcmp(u, "given"))
                    json_object_set(rec, "given", json_object_get(s, "valueBoolean"));
                else if (!strcmp(u, "trial-enrolled"))
                    json_object_set(rec, "trial_enrolled", json_object_get(s, "valueBoolean"));
                else if (!strcmp(u, "trial-id"))
                    json_object_set(rec, "trial_id", json_object_get(s, "valueString"));
            }
            json_array_append_new(ensure(ep, "recommendations", true), rec);
        }
        use(x, "extension");
        json_array_append_new(ensure(p->rec, "expert_panel", true), ep);
    } else {
        done = false;
    }
    if (!done) {
        static const char *const none[] = {NULL};
        char other[300];
        other_codings(code, none, other, sizeof(other));
        unmapped(x->im, x->ptr,
                 "this Observation (%s) is not part of the clinical model: mapped are ECOG/KPS "
                 "performance status, smoking and alcohol use, cause of death and zengen course, "
                 "adverse-event and expert-panel observations",
                 other[0] ? other : "no coding");
        return;
    }
    use(x, "code");
    use(x, "status");
    if (has_date)
        use(x, "effectiveDateTime");
    identifiers(x);
    x->im->mapped++;
}

/* ------------------------------------------------------------ other resources ---- */

static void specimen(struct res *x, struct pat *p)
{
    json_t *r = x->r;
    json_t *type = json_object_get(r, "type");
    const char *t = code_in(type, FHIR_CS "specimen-type");
    json_t *s = json_object();
    if (!t) {
        const char *sct = code_in(type, SYS_SNOMED);
        t = sct && (!strcmp(sct, "122555007") || !strcmp(sct, "119297000")) ? "normal-blood"
            : sct && !strcmp(sct, "119361006")                               ? "plasma"
                                                                             : "other";
        char pp[160];
        snprintf(pp, sizeof(pp), "%s/type", x->ptr);
        if (!strcmp(t, "other") || type)
            unmapped(x->im, pp, "specimen type mapped to \"%s\" (tumour/normal status is not "
                                "stated by the sender)", t);
        if (s_of(type, "text") || s_of(json_array_get(json_object_get(type, "coding"), 0), "display"))
            json_object_set_new(s, "text", json_string(s_of(type, "text")
                                                           ? s_of(type, "text")
                                                           : s_of(json_array_get(json_object_get(type, "coding"), 0), "display")));
    }
    json_object_set_new(s, "type", json_string(t));
    use(x, "type");
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(r, "identifier"), i, id)
    {
        const char *sys = s_of(id, "system");
        if (sys && !strcmp(sys, SYS_SPECIMEN))
            json_object_set(s, "specimen_id", json_object_get(id, "value"));
    }
    set_item_id(s, r);
    json_t *col = json_object_get(r, "collection");
    char date[11];
    if (date_part(s_of(col, "collectedDateTime"), date))
        json_object_set_new(s, "collection_date", json_string(date));
    const char *m = code_in(json_object_get(col, "method"), FHIR_CS "specimen-method");
    if (m)
        json_object_set_new(s, "method", json_string(m));
    json_t *bs = json_object_get(col, "bodySite");
    const char *topo = code_in(bs, SYS_ICDO3);
    if (topo && zg_clinical_icdo3_topo_ok(topo)) {
        json_t *site = json_pack("{s:s}", "icdo3_topography", topo);
        if (s_of(bs, "text"))
            json_object_set_new(site, "text", json_string(s_of(bs, "text")));
        json_object_set_new(s, "site", site);
    }
    const char *k;
    json_t *v;
    json_object_foreach(col, k, v)
    {
        if (strcmp(k, "collectedDateTime") && (strcmp(k, "method") || !m) &&
            (strcmp(k, "bodySite") || !topo)) {
            char pp[200];
            snprintf(pp, sizeof(pp), "%s/collection/%.60s", x->ptr, k);
            unmapped(x->im, pp, "not held by the model");
        }
    }
    use(x, "collection");
    json_t *tc = ext_value(r, "tumour-cellularity", "valueInteger");
    if (tc)
        json_object_set_new(s, "tumour_cellularity", json_copy(tc));
    use(x, "extension");
    foreign_extensions(x, r, "");
    json_t *note = json_array_get(json_object_get(r, "note"), 0);
    if (s_of(note, "text") && !json_object_get(s, "text")) {
        json_object_set_new(s, "text", json_string(s_of(note, "text")));
        use(x, "note");
    }
    identifiers(x);
    json_array_append_new(ensure(p->rec, "specimens", true), s);
    x->im->mapped++;
}

static void procedure(struct res *x, struct pat *p)
{
    json_t *r = x->r;
    const char *cat = code_in(json_object_get(r, "category"), SYS_SNOMED);
    json_t *code = json_object_get(r, "code");
    char start[11] = "", end[11] = "";
    json_t *per = json_object_get(r, "performedPeriod");
    if (date_part(s_of(r, "performedDateTime"), start))
        use(x, "performedDateTime");
    else if (date_part(s_of(per, "start"), start)) {
        date_part(s_of(per, "end"), end);
        use(x, "performedPeriod");
    }
    if (!start[0]) {
        unmapped(x->im, x->ptr,
                 "Procedure has no performed date (performedDateTime or performedPeriod.start "
                 "with a day)");
        return;
    }
    json_t *site = json_array_get(json_object_get(r, "bodySite"), 0);
    if (cat && !strcmp(cat, SCT_RADIOTHERAPY)) {
        const char *topo = code_in(site, SYS_ICDO3);
        if (!topo) {
            unmapped(x->im, x->ptr, "radiotherapy without an ICD-O-3 topography bodySite");
            return;
        }
        json_t *rt = json_pack("{s:s,s:{s:s}}", "start_date", start, "site", "icdo3_topography",
                               topo);
        if (s_of(site, "text"))
            json_object_set_new(json_object_get(rt, "site"), "text",
                                json_string(s_of(site, "text")));
        if (end[0])
            json_object_set_new(rt, "end_date", json_string(end));
        json_t *dose = ext_value(r, "radiation-dose", "valueQuantity");
        if (dose)
            json_object_set(rt, "dose_gy", json_object_get(dose, "value"));
        json_t *fr = ext_value(r, "radiation-fractions", "valueInteger");
        if (fr)
            json_object_set(rt, "fractions", fr);
        json_t *in = ext_value(r, "treatment-intent", "valueCode");
        if (in)
            json_object_set(rt, "intent", in);
        set_item_id(rt, r);
        use(x, "bodySite");
        json_array_append_new(ensure(p->rec, "radiotherapies", true), rt);
    } else {
        const char *sys = "snomed", *c = code_in(code, SYS_SNOMED);
        if (!c) {
            c = code_in(code, SYS_KCODE);
            sys = "k-code";
        }
        if (!c) {
            static const char *const none[] = {NULL};
            char other[300];
            other_codings(code, none, other, sizeof(other));
            unmapped(x->im, x->ptr,
                     "Procedure.code has no SNOMED CT or K-code coding (codings: %s)",
                     other[0] ? other : "none");
            return;
        }
        json_t *s = json_pack("{s:s,s:{s:s,s:s}}", "date", start, "procedure", "system", sys,
                              "code", c);
        if (s_of(code, "text"))
            json_object_set_new(json_object_get(s, "procedure"), "text",
                                json_string(s_of(code, "text")));
        else if (s_of(json_array_get(json_object_get(code, "coding"), 0), "display"))
            json_object_set_new(json_object_get(s, "procedure"), "text",
                                json_string(s_of(json_array_get(json_object_get(code, "coding"), 0),
                                                 "display")));
        json_t *res = ext_value(r, "residual-tumour", "valueCode");
        if (res)
            json_object_set(s, "residual", res);
        json_t *in = ext_value(r, "treatment-intent", "valueCode");
        if (in)
            json_object_set(s, "intent", in);
        set_item_id(s, r);
        if (end[0])
            unmapped(x->im, x->ptr, "the end of a surgery's performed period is not held");
        json_array_append_new(ensure(p->rec, "surgeries", true), s);
    }
    use(x, "code");
    use(x, "category");
    use(x, "status");
    use(x, "extension");
    foreign_extensions(x, r, "");
    identifiers(x);
    x->im->mapped++;
}

static void family(struct res *x, struct pat *p)
{
    json_t *r = x->r;
    json_t *rel = json_object_get(r, "relationship");
    const char *rc = code_in(rel, SYS_ROLE), *relation = NULL;
    for (size_t i = 0; rc && i < ZG_ARRAY_LEN(fhir_relations); i++)
        if (!strcmp(fhir_relations[i].code, rc))
            relation = fhir_relations[i].model;
    if (!relation)
        relation = "other";
    size_t i;
    json_t *c;
    size_t n = 0;
    json_array_foreach(json_object_get(r, "condition"), i, c)
    {
        json_t *code = json_object_get(c, "code");
        const char *icd = icd10_in(code);
        char pp[160];
        snprintf(pp, sizeof(pp), "%s/condition/%zu", x->ptr, i);
        if (!icd) {
            static const char *const none[] = {NULL};
            char other[300];
            other_codings(code, none, other, sizeof(other));
            unmapped(x->im, pp, "family-history condition without an ICD-10 code (codings: %s)",
                     other[0] ? other : "none");
            continue;
        }
        json_t *f = json_pack("{s:s,s:s}", "relation", relation, "icd10", icd);
        const char *onc = code_in(code, SYS_ONCOTREE);
        if (onc)
            json_object_set_new(f, "oncotree", json_string(onc));
        if (s_of(code, "text"))
            json_object_set_new(f, "text", json_string(s_of(code, "text")));
        json_t *age = json_object_get(json_object_get(c, "onsetAge"), "value");
        if (json_is_number(age))
            json_object_set_new(f, "age_at_diagnosis",
                                json_integer((json_int_t)json_number_value(age)));
        if (n == 0)
            set_item_id(f, r);
        json_array_append_new(ensure(ensure(p->rec, "background", false), "family_history", true),
                              f);
        n++;
    }
    use(x, "condition");
    if (!n)
        return;
    if (rc && !strcmp(relation, "other") && strcmp(rc, "FAMMEMB"))
        unmapped(x->im, x->ptr, "relationship %s mapped to \"other\"", rc);
    use(x, "relationship");
    use(x, "status");
    identifiers(x);
    x->im->mapped++;
}

static int patient(struct imp *im, struct res *x, size_t idx)
{
    json_t *r = x->r;
    const char *cid = NULL;
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(r, "identifier"), i, id)
    {
        const char *s = s_of(id, "system");
        if (s && !strcmp(s, ZG_FHIR_CASE_SYSTEM))
            cid = s_of(id, "value");
    }
    char p[160];
    snprintf(p, sizeof(p), "%s/identifier", x->ptr);
    if (!cid)
        return zg_error_set(im->err, ZG_EINVAL, p,
                            "Patient has no zengen case identifier (system " ZG_FHIR_CASE_SYSTEM
                            "): resolve the hospital patient ID with POST /api/v1/linkage, create "
                            "the case, then send its ZGC- ID");
    if (im->npats == MAX_PATIENTS)
        return zg_error_set(im->err, ZG_ETOOBIG, p, "at most %d patients per bundle",
                            MAX_PATIENTS);
    struct pat *pt = &im->pats[im->npats];
    enum zg_id_kind kind;
    struct zg_error e2;
    if (zg_id_parse(cid, &kind, pt->cid, &e2) || kind != ZG_ID_CASE)
        return zg_error_set(im->err, ZG_EINVAL, p, "the case identifier is not a valid ZGC- ID");
    for (size_t k = 0; k < im->npats; k++)
        if (!strcmp(im->pats[k].cid, pt->cid))
            return zg_error_set(im->err, ZG_EINVAL, p, "the same case appears in two Patients");
    pt->full_url = s_of(json_array_get(im->entries, idx), "fullUrl");
    pt->id = s_of(r, "id");
    pt->rec = json_pack("{s:s}", "case_id", pt->cid);
    pt->lines = json_object();
    im->npats++;
    identifiers(x);
    const char *g = s_of(r, "gender");
    if (g) {
        json_object_set_new(ensure(pt->rec, "patient", false), "sex", json_string(g));
        use(x, "gender");
    }
    const char *bd = s_of(r, "birthDate");
    if (bd && strlen(bd) >= 7) {
        char ym[8];
        memcpy(ym, bd, 7);
        ym[7] = '\0';
        json_object_set_new(ensure(pt->rec, "patient", false), "birth_year_month",
                            json_string(ym));
        use(x, "birthDate");
        if (strlen(bd) > 7) {
            snprintf(p, sizeof(p), "%s/birthDate", x->ptr);
            unmapped(im, p, "reduced to year-month (a full birth date is a direct identifier)");
        }
    }
    if (json_object_get(r, "deceasedBoolean") || json_object_get(r, "deceasedDateTime")) {
        json_t *co = ensure(pt->rec, "course", false);
        char d[11];
        if (date_part(s_of(r, "deceasedDateTime"), d)) {
            json_object_set_new(co, "vital_status", json_string("dead"));
            json_object_set_new(co, "death_date", json_string(d));
        } else if (json_object_get(r, "deceasedDateTime")) {
            json_object_set_new(co, "vital_status", json_string("dead"));
        } else {
            json_object_set_new(co, "vital_status", json_string(
                                                        json_is_true(json_object_get(
                                                            r, "deceasedBoolean"))
                                                            ? "dead"
                                                            : "alive"));
        }
        use(x, "deceasedBoolean");
        use(x, "deceasedDateTime");
    }
    char none_url[160];
    snprintf(none_url, sizeof(none_url), "%srecorded-none", FHIR_EXT);
    json_array_foreach(json_object_get(r, "extension"), i, id)
    {
        const char *u = s_of(id, "url"), *v = s_of(id, "valueCode");
        for (size_t k = 0; u && v && !strcmp(u, none_url) && k < ZG_ARRAY_LEN(fhir_lists); k++) {
            if (strcmp(fhir_lists[k].name, v))
                continue;
            json_t *grp = fhir_lists[k].group ? ensure(pt->rec, fhir_lists[k].group, false)
                                            : pt->rec;
            ensure(grp, fhir_lists[k].member, true);
        }
    }
    json_t *consent = ext_value(r, "consent", NULL);
    if (consent) {
        json_t *c = ensure(pt->rec, "consent", false);
        json_t *v;
        if ((v = ext_value(consent, "status", "valueCode")))
            json_object_set(c, "status", v);
        if ((v = ext_value(consent, "date", "valueDate")))
            json_object_set(c, "date", v);
        if ((v = ext_value(consent, "secondary-findings", "valueBoolean")))
            json_object_set(c, "secondary_findings", v);
        if ((v = ext_value(consent, "text", "valueString")))
            json_object_set(c, "text", v);
    }
    use(x, "extension");
    foreign_extensions(x, r, "");
    static const char *const direct[] = {"name", "telecom", "address", "photo", "contact",
                                         "generalPractitioner", "managingOrganization", "link",
                                         "maritalStatus", "communication", "multipleBirthBoolean",
                                         "multipleBirthInteger"};
    for (size_t k = 0; k < ZG_ARRAY_LEN(direct); k++)
        drop(x, direct[k], "not stored: a direct identifier or outside the clinical model");
    im->mapped++;
    return 0;
}

/* The Patient a resource refers to (subject or patient); NULL with a report when unknown. */
static struct pat *owner(struct imp *im, struct res *x)
{
    json_t *ref = json_object_get(x->r, "subject");
    const char *key = "subject";
    if (!ref) {
        ref = json_object_get(x->r, "patient");
        key = "patient";
    }
    const char *s = s_of(ref, "reference");
    if (!ref) {
        if (im->npats == 1)
            return &im->pats[0];
        unmapped(im, x->ptr, "has no subject and the bundle holds several patients");
        return NULL;
    }
    use(x, key);
    for (size_t i = 0; s && i < im->npats; i++) {
        struct pat *p = &im->pats[i];
        char tid[200];
        snprintf(tid, sizeof(tid), "Patient/%s", p->id ? p->id : "");
        size_t n = strlen(tid), sl = strlen(s);
        if ((p->full_url && !strcmp(p->full_url, s)) || !strcmp(tid, s) ||
            (p->id && sl > n && s[sl - n - 1] == '/' && !strcmp(s + sl - n, tid)))
            return p;
    }
    char pp[160];
    snprintf(pp, sizeof(pp), "%s/%s", x->ptr, key);
    unmapped(im, pp, "refers to a patient that is not in this bundle (%.80s)", s ? s : "no reference");
    return NULL;
}

/* Reports every top-level member of a mapped resource: used ones into report.mapped_elements,
 * the others as not mapped. */
static void leftovers(struct res *x)
{
    const char *k;
    json_t *v;
    json_object_foreach(x->r, k, v)
    {
        if (!strcmp(k, "resourceType") || !strcmp(k, "id") || !strcmp(k, "meta") ||
            !strcmp(k, "text"))
            continue;
        if (json_object_get(x->used, k)) {
            char p[200];
            snprintf(p, sizeof(p), "%s/%.60s", x->ptr, k);
            if (json_array_size(x->im->used_ptrs) < 20000)
                json_array_append_new(x->im->used_ptrs, json_string(p));
            continue;
        }
        char p[200];
        snprintf(p, sizeof(p), "%s/%.60s", x->ptr, k);
        unmapped(x->im, p, "not held by the clinical model");
    }
}

int zg_clinical_from_fhir(json_t *bundle, json_t **records, json_t *report, struct zg_error *err)
{
    *records = NULL;
    if (!json_is_object(bundle) || !s_of(bundle, "resourceType") ||
        strcmp(s_of(bundle, "resourceType"), "Bundle"))
        return zg_error_set(err, ZG_EINVAL, "/resourceType", "must be \"Bundle\"");
    const char *type = s_of(bundle, "type");
    if (!type || (strcmp(type, "transaction") && strcmp(type, "batch") &&
                  strcmp(type, "collection") && strcmp(type, "document") &&
                  strcmp(type, "message")))
        return zg_error_set(err, ZG_EINVAL, "/type",
                            "a %s bundle is not importable: send a transaction, batch, "
                            "collection, document or message bundle",
                            type ? type : "typeless");
    json_t *entries = json_object_get(bundle, "entry");
    if (!json_is_array(entries) || json_array_size(entries) == 0)
        return zg_error_set(err, ZG_EINVAL, "/entry", "must be a non-empty array");
    if (json_array_size(entries) > MAX_ENTRIES)
        return zg_error_set(err, ZG_ETOOBIG, "/entry", "at most %d entries per bundle",
                            MAX_ENTRIES);
    struct imp im = {.bundle = bundle, .entries = entries, .unmapped = json_array(),
                     .used_ptrs = json_array(), .err = err};
    int rc = 0;
    size_t i;
    json_t *e;
    /* pass 1: patients */
    json_array_foreach(entries, i, e)
    {
        json_t *r = json_object_get(e, "resource");
        char p[64];
        snprintf(p, sizeof(p), "/entry/%zu/resource", i);
        if (!json_is_object(r) || !s_of(r, "resourceType")) {
            rc = zg_error_set(err, ZG_EINVAL, p, "must be a resource with a resourceType");
            goto out;
        }
        if (strcmp(s_of(r, "resourceType"), "Patient"))
            continue;
        struct res x = {&im, r, json_object(), ""};
        snprintf(x.ptr, sizeof(x.ptr), "%s", p);
        rc = patient(&im, &x, i);
        if (!rc)
            leftovers(&x);
        json_decref(x.used);
        if (rc)
            goto out;
    }
    if (im.npats == 0) {
        rc = zg_error_set(err, ZG_EINVAL, "/entry",
                          "the bundle has no Patient carrying a zengen case identifier (system "
                          ZG_FHIR_CASE_SYSTEM ")");
        goto out;
    }
    /* pass 2: everything else */
    json_array_foreach(entries, i, e)
    {
        json_t *r = json_object_get(e, "resource");
        const char *t = s_of(r, "resourceType");
        if (!strcmp(t, "Patient"))
            continue;
        struct res x = {&im, r, json_object(), ""};
        snprintf(x.ptr, sizeof(x.ptr), "/entry/%zu/resource", i);
        bool known = !strcmp(t, "Condition") || !strcmp(t, "Observation") ||
                     !strcmp(t, "Specimen") || !strcmp(t, "MedicationStatement") ||
                     !strcmp(t, "MedicationRequest") || !strcmp(t, "Procedure") ||
                     !strcmp(t, "FamilyMemberHistory");
        if (!known) {
            if (strcmp(t, "Medication")) /* Medications are read through their references */
                unmapped(&im, x.ptr, "resource type %.40s is not part of the clinical model", t);
            json_decref(x.used);
            continue;
        }
        size_t before = json_array_size(im.unmapped), mapped_before = im.mapped;
        struct pat *p = owner(&im, &x);
        if (p) {
            size_t mapped = im.mapped;
            if (!strcmp(t, "Condition"))
                condition(&x, p);
            else if (!strcmp(t, "Observation"))
                observation(&x, p);
            else if (!strcmp(t, "Specimen"))
                specimen(&x, p);
            else if (!strcmp(t, "MedicationStatement"))
                medication(&x, p, false);
            else if (!strcmp(t, "MedicationRequest"))
                medication(&x, p, true);
            else if (!strcmp(t, "Procedure"))
                procedure(&x, p);
            else
                family(&x, p);
            if (im.mapped > mapped)
                leftovers(&x);
        }
        if (im.mapped == mapped_before) {
            /* not imported: say so for the whole resource, quoting the first reason */
            json_t *first = json_array_get(im.unmapped, before);
            bool whole = false;
            for (size_t k = before; k < json_array_size(im.unmapped); k++)
                whole |= !strcmp(json_string_value(json_object_get(json_array_get(im.unmapped, k),
                                                                   "pointer")),
                                 x.ptr);
            if (!whole)
                unmapped(&im, x.ptr, "not imported: %s",
                         first ? json_string_value(json_object_get(first, "reason"))
                               : "no mappable content");
        }
        json_decref(x.used);
    }
    *records = json_array();
    for (i = 0; i < im.npats; i++)
        json_array_append_new(*records, json_pack("{s:s,s:O}", "case_id", im.pats[i].cid,
                                                  "record", im.pats[i].rec));
out:
    for (i = 0; i < im.npats; i++) {
        json_decref(im.pats[i].rec);
        json_decref(im.pats[i].lines);
    }
    if (report) {
        json_object_set_new(report, "resources", json_integer((json_int_t)json_array_size(entries)));
        json_object_set_new(report, "mapped", json_integer((json_int_t)im.mapped));
        json_object_set_new(report, "unmapped", im.unmapped);
        json_object_set_new(report, "mapped_elements", im.used_ptrs);
    } else {
        json_decref(im.unmapped);
        json_decref(im.used_ptrs);
    }
    return rc;
}
