/* The gateway's mapping file: local code tables (drugs → INN/ATC/YJ, ICD-10 → OncoTree) and
 * CSV export layouts (column → JSON Pointer into the standard model). Format: docs/gateway.md. */
#include "gateway/gateway.h"
#include "common/error.h"

#include <fnmatch.h>

struct zg_gw_mapping {
    json_t *doc; /* the validated file */
};

static const char *const fmt_names[] = {"text", "date", "birth", "integer", "number",
                                        "icd10", "boolean", NULL};

static int check_pointer(const char *p, const char *where, struct zg_error *err)
{
    if (!p || p[0] != '/' || strlen(p) > 200)
        return zg_error_set(err, ZG_EINVAL, where, "must be a JSON Pointer such as /diagnosis/icd10");
    if (!strncmp(p, "/case_id", 8) || !strncmp(p, "/model_version", 14))
        return zg_error_set(err, ZG_EINVAL, where, "is set by the gateway, not by a mapping");
    return 0;
}

static int check_csv(json_t *c, size_t i, struct zg_error *err)
{
    char w[96];
    static const char *const keys[] = {"name", "files", "encoding", "delimiter", "patient_id",
                                       "identifiers", "fields", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v) {
        bool ok = false;
        for (size_t j = 0; keys[j]; j++)
            ok |= !strcmp(k, keys[j]);
        if (!ok) {
            snprintf(w, sizeof(w), "/csv/%zu/%.40s", i, k);
            return zg_error_set(err, ZG_EINVAL, w, "unknown member");
        }
    }
    static const char *const req[] = {"name", "files", "patient_id", "fields", NULL};
    for (size_t j = 0; req[j]; j++) {
        snprintf(w, sizeof(w), "/csv/%zu/%s", i, req[j]);
        json_t *x = json_object_get(c, req[j]);
        if (!x)
            return zg_error_set(err, ZG_EINVAL, w, "is required");
        if (strcmp(req[j], "fields") && (!json_is_string(x) || !json_string_length(x)))
            return zg_error_set(err, ZG_EINVAL, w, "must be a non-empty string");
    }
    const char *enc = json_string_value(json_object_get(c, "encoding"));
    if (json_object_get(c, "encoding") &&
        (!enc || (strcmp(enc, "utf-8") && strcmp(enc, "shift_jis")))) {
        snprintf(w, sizeof(w), "/csv/%zu/encoding", i);
        return zg_error_set(err, ZG_EINVAL, w, "must be \"utf-8\" or \"shift_jis\"");
    }
    const char *del = json_string_value(json_object_get(c, "delimiter"));
    if (json_object_get(c, "delimiter") && (!del || strlen(del) != 1 || *del == '"')) {
        snprintf(w, sizeof(w), "/csv/%zu/delimiter", i);
        return zg_error_set(err, ZG_EINVAL, w, "must be one character other than '\"'");
    }
    json_t *ids = json_object_get(c, "identifiers");
    if (ids) {
        snprintf(w, sizeof(w), "/csv/%zu/identifiers", i);
        if (!json_is_array(ids))
            return zg_error_set(err, ZG_EINVAL, w, "must be an array of column names");
        for (size_t j = 0; j < json_array_size(ids); j++)
            if (!json_is_string(json_array_get(ids, j)))
                return zg_error_set(err, ZG_EINVAL, w, "must be an array of column names");
    }
    json_t *fields = json_object_get(c, "fields");
    snprintf(w, sizeof(w), "/csv/%zu/fields", i);
    if (!json_is_array(fields) || !json_array_size(fields) || json_array_size(fields) > 200)
        return zg_error_set(err, ZG_EINVAL, w, "must be an array of 1–200 field rules");
    for (size_t j = 0; j < json_array_size(fields); j++) {
        json_t *f = json_array_get(fields, j);
        snprintf(w, sizeof(w), "/csv/%zu/fields/%zu", i, j);
        if (!json_is_object(f))
            return zg_error_set(err, ZG_EINVAL, w, "must be an object");
        json_object_foreach(f, k, v) {
            if (strcmp(k, "column") && strcmp(k, "value") && strcmp(k, "to") &&
                strcmp(k, "format") && strcmp(k, "map")) {
                snprintf(w, sizeof(w), "/csv/%zu/fields/%zu/%.30s", i, j, k);
                return zg_error_set(err, ZG_EINVAL, w, "unknown member");
            }
        }
        json_t *col = json_object_get(f, "column"), *val = json_object_get(f, "value");
        if (!!col == !!val || (col && !json_is_string(col)))
            return zg_error_set(err, ZG_EINVAL, w, "needs either \"column\" (a name) or \"value\"");
        snprintf(w, sizeof(w), "/csv/%zu/fields/%zu/to", i, j);
        int rc = check_pointer(json_string_value(json_object_get(f, "to")), w, err);
        if (rc)
            return rc;
        const char *fmt = json_string_value(json_object_get(f, "format"));
        if (json_object_get(f, "format")) {
            bool ok = false;
            for (size_t q = 0; fmt && fmt_names[q]; q++)
                ok |= !strcmp(fmt, fmt_names[q]);
            if (!ok) {
                snprintf(w, sizeof(w), "/csv/%zu/fields/%zu/format", i, j);
                return zg_error_set(err, ZG_EINVAL, w,
                                    "must be text, date, birth, integer, number, icd10 or boolean");
            }
        }
        json_t *map = json_object_get(f, "map");
        if (map) {
            snprintf(w, sizeof(w), "/csv/%zu/fields/%zu/map", i, j);
            if (!json_is_object(map))
                return zg_error_set(err, ZG_EINVAL, w, "must map cell values to model values");
        }
    }
    return 0;
}

int zg_gw_mapping_load(const char *path, struct zg_gw_mapping **out, struct zg_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return zg_error_set(err, ZG_EINVAL, "--mapping", "%s: line %d: %s", path, je.line,
                            je.text);
    int rc = 0;
    if (!json_is_object(doc)) {
        rc = zg_error_set(err, ZG_EINVAL, "/", "the mapping must be a JSON object");
        goto fail;
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) {
        if (strcmp(k, "mapping_version") && strcmp(k, "drugs") && strcmp(k, "oncotree") &&
            strcmp(k, "csv")) {
            rc = zg_error_set(err, ZG_EINVAL, "/", "unknown member '%.40s'", k);
            goto fail;
        }
    }
    if (json_integer_value(json_object_get(doc, "mapping_version")) != 1) {
        rc = zg_error_set(err, ZG_EINVAL, "/mapping_version", "must be 1");
        goto fail;
    }
    json_t *drugs = json_object_get(doc, "drugs");
    if (drugs) {
        if (!json_is_object(drugs)) {
            rc = zg_error_set(err, ZG_EINVAL, "/drugs", "must be {system: {code: drug}}");
            goto fail;
        }
        const char *sys;
        json_t *tab;
        json_object_foreach(drugs, sys, tab) {
            const char *code;
            json_t *d;
            if (!json_is_object(tab)) {
                rc = zg_error_set(err, ZG_EINVAL, "/drugs", "system '%.40s' must map codes to drugs", sys);
                goto fail;
            }
            json_object_foreach(tab, code, d) {
                if (!json_is_object(d) || !json_is_string(json_object_get(d, "name"))) {
                    rc = zg_error_set(err, ZG_EINVAL, "/drugs",
                                      "%.40s %.40s: needs {\"name\": INN, \"atc\"?, \"yj\"?}", sys, code);
                    goto fail;
                }
            }
        }
    }
    json_t *onc = json_object_get(doc, "oncotree");
    if (onc) {
        const char *code;
        json_t *d;
        if (!json_is_object(onc)) {
            rc = zg_error_set(err, ZG_EINVAL, "/oncotree", "must map ICD-10 codes to OncoTree codes");
            goto fail;
        }
        json_object_foreach(onc, code, d) if (!json_is_string(d))
        {
            rc = zg_error_set(err, ZG_EINVAL, "/oncotree", "%.40s: must be an OncoTree code", code);
            goto fail;
        }
    }
    json_t *csv = json_object_get(doc, "csv");
    if (csv) {
        if (!json_is_array(csv)) {
            rc = zg_error_set(err, ZG_EINVAL, "/csv", "must be an array of CSV layouts");
            goto fail;
        }
        for (size_t i = 0; i < json_array_size(csv); i++) {
            json_t *c = json_array_get(csv, i);
            if (!json_is_object(c)) {
                rc = zg_error_set(err, ZG_EINVAL, "/csv", "item %zu must be an object", i);
                goto fail;
            }
            if ((rc = check_csv(c, i, err)))
                goto fail;
        }
    }
    struct zg_gw_mapping *m = calloc(1, sizeof(*m));
    if (!m) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto fail;
    }
    m->doc = doc;
    *out = m;
    return 0;
fail:
    json_decref(doc);
    return rc;
}

void zg_gw_mapping_free(struct zg_gw_mapping *m)
{
    if (!m)
        return;
    json_decref(m->doc);
    free(m);
}

const json_t *zg_gw_mapping_drug(const struct zg_gw_mapping *m, const char *system,
                                 const char *code)
{
    if (!m || !system || !code)
        return NULL;
    return json_object_get(json_object_get(json_object_get(m->doc, "drugs"), system), code);
}

const char *zg_gw_mapping_oncotree(const struct zg_gw_mapping *m, const char *icd10)
{
    if (!m)
        return NULL;
    json_t *t = json_object_get(m->doc, "oncotree");
    const char *v = json_string_value(json_object_get(t, icd10));
    if (v)
        return v;
    char cat[4];
    snprintf(cat, sizeof(cat), "%.3s", icd10);
    return json_string_value(json_object_get(t, cat));
}

json_t *zg_gw_mapping_csv_layout(const struct zg_gw_mapping *m, const char *filename)
{
    if (!m)
        return NULL;
    json_t *csv = json_object_get(m->doc, "csv");
    for (size_t i = 0; i < json_array_size(csv); i++) {
        json_t *c = json_array_get(csv, i);
        const char *pat = json_string_value(json_object_get(c, "files"));
        if (pat && !fnmatch(pat, filename, 0))
            return c;
    }
    return NULL;
}

bool zg_gw_mapping_matches(const struct zg_gw_mapping *m, const char *filename)
{
    return zg_gw_mapping_csv_layout(m, filename) != NULL;
}
