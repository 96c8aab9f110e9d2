/* GA4GH Beacon v2 at /api/beacon/v2: framework endpoints (info, map, configuration,
 * entry_types, filtering_terms) and genomic-variant queries whose granularity follows the
 * caller's data tier: overview callers get boolean/count answers (small counts suppressed),
 * callers allowed detailed genome data get records. The policy decision point decides both. */
#include "api.h"
#include "common/error.h"
#include "genome/beacon.h"
#include "genome/cohort.h"

#include <errno.h>

#define BEACON_ID "jp.zengen.beacon"
#define API_VERSION "v2.0.0"
#define GV_SCHEMA "beacon-g_variant-v2.0.0"

static json_t *returned_schemas(void)
{
    return json_pack("[{s:s,s:s}]", "entityType", "genomicVariant", "schema", GV_SCHEMA);
}

static json_t *info_meta(void)
{
    return json_pack("{s:s,s:s,s:o}", "beaconId", BEACON_ID, "apiVersion", API_VERSION,
                     "returnedSchemas", returned_schemas());
}

static json_t *info_results(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s},s:s}", "id", BEACON_ID, "name",
                     "zengen national cancer genome beacon", "apiVersion", API_VERSION,
                     "environment", "prod", "version", ZG_VERSION, "organization", "id", "zengen",
                     "name", "zengen cancer whole-genome data center", "description",
                     "national cancer whole-genome analysis and data center", "description",
                     "Somatic and germline variants of the cancer whole-genome cohort. Counts "
                     "for every signed-in user; variant records for callers allowed detailed "
                     "genome data.");
}

int zg_api_beacon_info(struct zg_req *req, struct zg_error *err)
{
    (void)err;
    return zg_req_reply(req, 200,
                        json_pack("{s:o,s:o}", "meta", info_meta(), "response", info_results()));
}

static json_t *entry_type(void)
{
    return json_pack(
        "{s:{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{s:s,s:s},s:b}}", "genomicVariant", "id",
        "genomicVariant", "name", "Genomic variant", "description",
        "Somatic and germline small variants called by the unified pipeline (GRCh38)",
        "partOfSpecification", "Beacon v2.0.0", "defaultSchema", "id", GV_SCHEMA, "name",
        "Default schema for a genomic variation", "referenceToSchemaDefinition",
        "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/models/json/"
        "beacon-v2-default-model/genomicVariations/defaultSchema.json",
        "schemaVersion", API_VERSION, "ontologyTermForThisType", "id", "ENSGLOSSARY:0000092",
        "label", "Variant", "nonFilteredQueriesAllowed", 0);
}

int zg_api_beacon_configuration(struct zg_req *req, struct zg_error *err)
{
    (void)err;
    json_t *resp = json_pack(
        "{s:s,s:{s:s},s:{s:s,s:[s]},s:o}", "$schema",
        "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/"
        "configuration/beaconConfigurationSchema.json",
        "maturityAttributes", "productionStatus", "PROD", "securityAttributes",
        "defaultGranularity", "count", "securityLevels", "CONTROLLED", "entryTypes",
        entry_type());
    return zg_req_reply(req, 200, json_pack("{s:o,s:o}", "meta", info_meta(), "response", resp));
}

int zg_api_beacon_entry_types(struct zg_req *req, struct zg_error *err)
{
    (void)err;
    return zg_req_reply(req, 200,
                        json_pack("{s:o,s:{s:o}}", "meta", info_meta(), "response",
                                  "entryTypes", entry_type()));
}

int zg_api_beacon_map(struct zg_req *req, struct zg_error *err)
{
    (void)err;
    const char *base = zg_api_base_url(req);
    char root[400], oas[400];
    snprintf(root, sizeof(root), "%.300s/api/beacon/v2/g_variants", base ? base : "");
    snprintf(oas, sizeof(oas), "%.300s/api/v1/openapi.json", base ? base : "");
    json_t *resp = json_pack(
        "{s:s,s:{s:{s:s,s:s,s:s}}}", "$schema",
        "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/"
        "configuration/beaconMapSchema.json",
        "endpointSets", "genomicVariant", "entryType", "genomicVariant", "rootUrl", root,
        "openAPIEndpointsDefinition", oas);
    return zg_req_reply(req, 200, json_pack("{s:o,s:o}", "meta", info_meta(), "response", resp));
}

int zg_api_beacon_filtering_terms(struct zg_req *req, struct zg_error *err)
{
    json_t *genes = zg_beacon_genes(req->conns->db, 1000, err);
    if (!genes)
        return err->code ? err->code : ZG_EIO;
    json_t *terms = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(genes, i, g) {
        json_array_append_new(terms, json_pack("{s:s,s:s,s:s,s:[s]}", "type", "alphanumeric",
                                               "id", json_string_value(g), "label",
                                               json_string_value(g), "scopes",
                                               "genomicVariation"));
    }
    json_decref(genes);
    return zg_req_reply(req, 200,
                        json_pack("{s:o,s:{s:o}}", "meta", info_meta(), "response",
                                  "filteringTerms", terms));
}

/* The response meta of a query (beaconResponseMeta). */
static json_t *query_meta(const char *returned, const char *requested, int64_t skip,
                          int64_t limit)
{
    return json_pack("{s:s,s:s,s:o,s:s,s:{s:s,s:[{s:s,s:s}],s:{s:I,s:I},s:s}}", "beaconId",
                     BEACON_ID, "apiVersion", API_VERSION, "returnedSchemas", returned_schemas(),
                     "returnedGranularity", returned, "receivedRequestSummary", "apiVersion",
                     API_VERSION, "requestedSchemas", "entityType", "genomicVariant", "schema",
                     GV_SCHEMA, "pagination", "skip", (json_int_t)skip, "limit",
                     (json_int_t)limit, "requestedGranularity", requested);
}

/* A Beacon error response (beaconErrorResponse). */
static int beacon_error(struct zg_req *req, int status, const char *msg)
{
    return zg_req_reply(req, status,
                        json_pack("{s:o,s:{s:i,s:s}}", "meta",
                                  query_meta("boolean", "boolean", 0, 10), "error",
                                  "errorCode", status, "errorMessage", msg));
}

struct gv_params {
    struct zg_beacon_query q;
    const char *granularity;
    json_t *echo; /* requestParameters as received */
};

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int g_variants(struct zg_req *req, struct gv_params *p)
{
    /* 1. what the caller may see: records need the detailed-genome tier, asked of the PDP */
    struct zg_decision rec;
    struct zg_policy_request pr = {&req->who, ZG_TIER_DETAILED_GENOME, "beacon.g_variants",
                                   "genomic_variant"};
    zg_policy_decide(&req->app->policy, &pr, &rec);
    const char *allowed = rec.allow ? "record" : "count";
    const char *want = p->granularity ? p->granularity : allowed;
    if (strcmp(want, "boolean") && strcmp(want, "count") && strcmp(want, "record"))
        return beacon_error(req, 400, "requestedGranularity must be boolean, count or record");
    const char *gran = !strcmp(want, "record") && !rec.allow ? "count" : want;

    /* the cases the caller may count (this request's decision) or see (the records decision),
     * as a bitmap over the cohort's case numbers */
    struct zg_error e;
    zg_error_clear(&e);
    struct zg_cohort *c;
    struct zg_query_scope scope;
    int rc = zg_cohort_acquire(req->app->cohort, &req->app->dd, req->conns->db, &c, &e);
    if (rc)
        return rc;
    if ((rc = zg_query_scope_init(&scope, c, !strcmp(gran, "record") ? &rec : &req->decision,
                                  &e))) {
        zg_query_scope_release(&scope);
        zg_cohort_release(c);
        return rc;
    }
    p->q.permitted = scope.permitted;
    int64_t nv = 0, nc = 0;
    json_t *records = !strcmp(gran, "record") ? json_array() : NULL;
    rc = zg_beacon_variants(req->conns->db, &p->q, &nv, &nc, records, &e);
    p->q.permitted = NULL;
    zg_query_scope_release(&scope);
    zg_cohort_release(c);
    if (rc == ZG_EINVAL) {
        json_decref(records);
        char msg[600];
        snprintf(msg, sizeof(msg), "%.120s: %.380s", e.field, e.reason);
        return beacon_error(req, 400, msg);
    }
    if (rc) {
        json_decref(records);
        return rc;
    }
    /* 2. small counts are shown as existence only for callers under the k obligation */
    struct zg_decision agg;
    struct zg_policy_request ar = {&req->who, ZG_TIER_AGGREGATE, "beacon.g_variants",
                                   "genomic_variant"};
    zg_policy_decide(&req->app->policy, &ar, &agg);
    int k = !agg.allow ? req->app->policy.k_min
            : (agg.obligations & ZG_OBL_SUPPRESS_SMALL) ? agg.k_min
                                                        : 0;
    if (k <= 0 && !agg.allow)
        k = 5;
    bool suppress = !rec.allow && nv > 0 && (nv < k || nc < k);
    if (suppress && !strcmp(gran, "count"))
        gran = "boolean";
    zg_req_audit_option(req, "granularity", json_string(gran));
    json_t *summary = json_pack("{s:b}", "exists", nv > 0);
    if (strcmp(gran, "boolean"))
        json_object_set_new(summary, "numTotalResults", json_integer(nv));
    /* requestParameters are not echoed: the framework types each as an object */
    json_t *meta = query_meta(gran, want, p->q.skip, p->q.limit);
    json_t *body = json_pack("{s:o,s:o}", "meta", meta, "responseSummary", summary);
    if (suppress)
        json_object_set_new(body, "info",
                            json_pack("{s:s}", "note",
                                      "fewer cases than the disclosure threshold: existence "
                                      "only"));
    if (records) {
        size_t i;
        json_t *r;
        json_array_foreach(records, i, r) zg_req_audit_data(
            req, json_string_value(json_object_get(r, "variantInternalId")));
        json_object_set_new(
            body, "response",
            json_pack("{s:[{s:s,s:s,s:b,s:I,s:o}]}", "resultSets", "id", "zengen-cohort",
                      "setType", "dataset", "exists", nv > 0, "resultsCount", (json_int_t)nv,
                      "results", records));
    }
    return zg_req_reply(req, 200, body);
}

int zg_api_beacon_g_variants(struct zg_req *req, struct zg_error *err)
{
    (void)err;
    struct gv_params p = {.q = {.start = -1, .end = -1, .skip = 0, .limit = 10}};
    static const char *const names[] = {"referenceName", "start", "end", "referenceBases",
                                        "alternateBases", "geneId", "origin", NULL};
    p.echo = json_object();
    for (size_t i = 0; names[i]; i++) {
        const char *v = zg_req_query(req, names[i]);
        if (v)
            json_object_set_new(p.echo, names[i], json_string(v));
    }
    p.q.chrom = zg_req_query(req, "referenceName");
    p.q.ref = zg_req_query(req, "referenceBases");
    p.q.alt = zg_req_query(req, "alternateBases");
    p.q.gene = zg_req_query(req, "geneId");
    p.q.origin = zg_req_query(req, "origin");
    p.granularity = zg_req_query(req, "requestedGranularity");
    int rc;
    if (parse_i64(zg_req_query(req, "start"), 0, (int64_t)1 << 40, &p.q.start) ||
        parse_i64(zg_req_query(req, "end"), 0, (int64_t)1 << 40, &p.q.end) ||
        parse_i64(zg_req_query(req, "skip"), 0, 1000000, &p.q.skip) ||
        parse_i64(zg_req_query(req, "limit"), 1, 1000, &p.q.limit))
        rc = beacon_error(req, 400,
                          "start/end must be 0-based positions, skip >= 0 and limit 1–1000");
    else
        rc = g_variants(req, &p);
    json_decref(p.echo);
    return rc;
}

/* POST: {"meta":{"apiVersion","requestedGranularity"?},"query":{"requestParameters":{…},
 * "pagination":{"skip","limit"},"requestedGranularity"?}} (beaconRequestBody). */
int zg_api_beacon_g_variants_post(struct zg_req *req, struct zg_error *err)
{
    (void)err;
    json_t *query = json_object_get(req->body, "query");
    json_t *meta = json_object_get(req->body, "meta");
    json_t *rp = json_object_get(query, "requestParameters");
    json_t *pg = json_object_get(query, "pagination");
    if ((query && !json_is_object(query)) || (rp && !json_is_object(rp)) ||
        (pg && !json_is_object(pg)))
        return beacon_error(req, 400, "query, requestParameters and pagination are objects");
    struct gv_params p = {.q = {.start = -1, .end = -1, .skip = 0, .limit = 10}};
    p.echo = rp ? json_deep_copy(rp) : json_object();
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(rp, key, v) {
        const char *s = json_string_value(v);
        json_t *first = json_is_array(v) ? json_array_get(v, 0) : v; /* start: [n] allowed */
        if (!strcmp(key, "referenceName") && s)
            p.q.chrom = s;
        else if (!strcmp(key, "referenceBases") && s)
            p.q.ref = s;
        else if (!strcmp(key, "alternateBases") && s)
            p.q.alt = s;
        else if (!strcmp(key, "geneId") && s)
            p.q.gene = s;
        else if (!strcmp(key, "origin") && s)
            p.q.origin = s;
        else if (!strcmp(key, "start") && json_is_integer(first) && json_integer_value(first) >= 0)
            p.q.start = json_integer_value(first);
        else if (!strcmp(key, "end") && json_is_integer(first) && json_integer_value(first) >= 0)
            p.q.end = json_integer_value(first);
        else {
            char msg[160];
            snprintf(msg, sizeof(msg), "requestParameters.%.60s is unknown or has the wrong type",
                     key);
            rc = beacon_error(req, 400, msg);
            goto out;
        }
    }
    json_t *sk = json_object_get(pg, "skip"), *li = json_object_get(pg, "limit");
    if ((sk && (!json_is_integer(sk) || json_integer_value(sk) < 0)) ||
        (li && (!json_is_integer(li) || json_integer_value(li) < 1 ||
                json_integer_value(li) > 1000))) {
        rc = beacon_error(req, 400, "pagination: skip >= 0 and limit 1–1000");
        goto out;
    }
    if (sk)
        p.q.skip = json_integer_value(sk);
    if (li)
        p.q.limit = json_integer_value(li);
    json_t *g = json_object_get(query, "requestedGranularity");
    if (!g)
        g = json_object_get(meta, "requestedGranularity");
    if (g && !json_is_string(g)) {
        rc = beacon_error(req, 400, "requestedGranularity must be a string");
        goto out;
    }
    p.granularity = g ? json_string_value(g) : NULL;
    rc = g_variants(req, &p);
out:
    json_decref(p.echo);
    return rc;
}
