/* The clinical domain (M14): the standard clinical model (JSON Schema + validator), storage
 * with full version history, idempotent and optimistic-concurrency pushes, completeness,
 * search and the FHIR R4 mapping. Owns the tables of migration 3 (src/clinical/schema.inc).
 * Contract for other modules: docs/clinical-model.md. */
#ifndef ZG_CLINICAL_H
#define ZG_CLINICAL_H

#include "common/compat.h"
#include <jansson.h>
#include <sqlite3.h>

struct zg_error;

#define ZG_CLINICAL_MODEL_VERSION "1.0"
#define ZG_CLINICAL_MAX_ENTRIES 1000   /* entries of one bundle */
#define ZG_CLINICAL_MAX_ERRORS 100     /* errors collected by one validation */

/* The JSON Schema (2020-12) of the model as text (static, NUL-terminated). */
const char *zg_clinical_schema_text(void);

/* The parsed schema (a process-wide immutable copy, built once, thread-safe). Borrowed. */
json_t *zg_clinical_schema(void);

/* Validates a record against the model: the schema, then semantic checks (OncoTree code
 * exists, dates in order, M1 ⇒ stage IV…). Returns 0, or ZG_EINVAL with the first error in
 * err (field = JSON Pointer); when errors is a JSON array every error found (at most
 * ZG_CLINICAL_MAX_ERRORS) is appended as {"pointer","reason"}. The record is not changed. */
int zg_clinical_validate(json_t *record, json_t *errors, struct zg_error *err) ZG_MUST_CHECK;

/* True when code is an OncoTree (2023-03-09) code; its name and tissue when found. */
bool zg_oncotree_lookup(const char *code, const char **name, const char **tissue);

/* Format checks of the code systems (exposed for the gateway and tests). */
bool zg_clinical_icd10_ok(const char *s);       /* C34, C34.1, E11.9 */
bool zg_clinical_icdo3_topo_ok(const char *s);  /* C34.1 */
bool zg_clinical_icdo3_morph_ok(const char *s); /* 8140/3 */
bool zg_clinical_date_ok(const char *s);        /* YYYY-MM-DD, a real calendar date */

/* When pattern is one of the schema patterns validated natively (without regex), sets
 * *matched and returns true (exposed so tests can check equivalence with regexec). */
bool zg_clinical_pattern_native(const char *pattern, const char *s, bool *matched);

/* Merges patch into target (both records) as described in docs/clinical-model.md: objects
 * member by member (null deletes), arrays item by item (same "id" replaces, equal items are
 * skipped, others appended). Returns a new reference, or NULL on allocation failure. */
json_t *zg_clinical_merge(json_t *target, json_t *patch);

/* --- storage -------------------------------------------------------------------------- */

struct zg_clinical_actor {
    int64_t user_id;   /* 0 for the CLI */
    const char *login; /* login or "cli:<os user>" */
    int64_t org_id;    /* the caller's organisation (idempotency keys are per organisation) */
    int64_t org_scope; /* > 0: only this organisation's cases may be read or written */
};

struct zg_clinical_push {
    const char *case_id;           /* "ZGC-…"; record.case_id must match when present */
    json_t *record;                /* borrowed; replace: the record; merge: a partial record */
    bool merge;                    /* false: replace the record */
    const char *if_match;          /* NULL (no check), "*" (must exist) or an etag */
    const char *source_system;     /* required, 1–64 characters */
    const char *source_message_id; /* optional, ≤ 128 characters */
};

struct zg_clinical_result {
    char case_id[16];
    int64_t version;
    char etag[48];
    bool created;   /* first version of this case */
    bool unchanged; /* the stored record already equalled the result: no new version */
};

/* Validates and stores one record inside the caller's transaction (never BEGIN/COMMIT).
 * Returns 0 (res filled), ZG_EINVAL (errors appended; err names the first), ZG_ENOTFOUND
 * (case unknown or outside who->org_scope), ZG_ECONFLICT (stale if_match; err->field
 * "if-match"), ZG_EIO. */
int zg_clinical_put(sqlite3 *db, const struct zg_clinical_actor *who,
                    const struct zg_clinical_push *p, struct zg_clinical_result *res,
                    json_t *errors, struct zg_error *err) ZG_MUST_CHECK;

/* Pushes a single record in its own transaction with an optional idempotency key (NULL =
 * none; the request hash covers case, mode, if_match and record). On a replay *replayed is
 * set and res holds the original result. ZG_ECONFLICT when the key was used for a different
 * request (err->field "idempotency-key"). */
int zg_clinical_push_one(sqlite3 *db, const struct zg_clinical_actor *who,
                         const struct zg_clinical_push *p, const char *idempotency_key,
                         struct zg_clinical_result *res, bool *replayed, json_t *errors,
                         struct zg_error *err) ZG_MUST_CHECK;

/* Bulk push, all-or-nothing, in one transaction. bundle: {"idempotency_key"?,
 * "source_system", "entries":[{"case_id","mode"?,"source_message_id"?,"if_match"?,"record"}]}.
 * *results (new reference) is an array of {case_id,version,etag,created,unchanged}. Error
 * pointers are into the bundle ("/entries/3/record/diagnosis/oncotree"). */
int zg_clinical_push_bundle(sqlite3 *db, const struct zg_clinical_actor *who, json_t *bundle,
                            json_t **results, bool *replayed, json_t *errors,
                            struct zg_error *err) ZG_MUST_CHECK;

/* {"case_id","version","etag","updated_at","source_system","record"}, or NULL with
 * ZG_ENOTFOUND (no record, or outside org_scope > 0). */
json_t *zg_clinical_get(sqlite3 *db, const char *case_id, int64_t org_scope,
                        struct zg_error *err);

/* {"case_id","versions":[{version,etag,created_at,user_id,login,source_system,
 * source_message_id,record}]} newest first, or NULL (ZG_ENOTFOUND). */
json_t *zg_clinical_history(sqlite3 *db, const char *case_id, int64_t org_scope,
                            struct zg_error *err);

/* Recent rejected pushes (validation failures; pointers and reasons only), newest first:
 * {"rejections":[{id,org_id,case_id,created_at,login,source_system,source_message_id,
 * errors}]}; org_scope > 0 restricts to that organisation. */
json_t *zg_clinical_rejections(sqlite3 *db, int64_t org_scope, int limit, struct zg_error *err);

/* --- completeness, search, timeline --------------------------------------------------- */

/* {"complete":bool,"present":[pointers],"missing":[pointers]} of a record (new reference). */
json_t *zg_clinical_completeness(json_t *record);

/* Whether every required item is present (the "complete" of zg_clinical_completeness). */
bool zg_clinical_is_complete(json_t *record);

/* Per organisation: {"orgs":[{org:{id,name},cases,with_record,complete,
 * missing_by_item:{pointer:n}}]}; org_scope > 0 restricts to that organisation. */
json_t *zg_clinical_completeness_by_org(sqlite3 *db, int64_t org_scope, struct zg_error *err);

struct zg_clinical_query {
    const char *oncotree, *stage, *drug, *response, *vital_status; /* NULL = any */
    int complete;      /* -1 any, 0 incomplete, 1 complete */
    int64_t org_scope; /* > 0: own organisation only */
    uint32_t consent_mask; /* > 0: only cases whose consent status bit (enum zg_consent) is set */
    const char *after; /* keyset: case ids greater than this ("" = start) */
    int limit;         /* 1..1000 */
};

/* {"cases":[{case_id,org,oncotree,cancer_type,stage,vital_status,drugs,responses,complete,
 * updated_at}],"next_after":id|null}. */
json_t *zg_clinical_search(sqlite3 *db, const struct zg_clinical_query *q, struct zg_error *err);

/* Counts of cases by "oncotree" | "stage" | "vital_status" | "response" | "drug": {"by",
 * "counts":[{value,n}] } with n replaced by the string "<k" when below k_min > 0. consent_mask
 * > 0 (the policy's consent obligation, bits of enum zg_consent) counts only cases whose
 * consent status is in it, and the answer names them in "restricted_to_consent". */
json_t *zg_clinical_counts(sqlite3 *db, const char *by, int k_min, uint32_t consent_mask,
                           struct zg_error *err);

/* The record's dated events sorted by date: {"case_id","events":[{date,kind,summary,
 * pointer}]}. */
json_t *zg_clinical_timeline(json_t *stored);

/* --- synthetic data (demo, benchmarks, tests) ----------------------------------------- */

/* A realistic synthetic record for case_id, fully determined by seed: one of many cancer
 * types with matching codes, stage, treatment lines, responses, adverse events, course and
 * sometimes an expert-panel result. Always valid; complete for most seeds. New reference. */
json_t *zg_clinical_synth_record(uint64_t seed, const char *case_id);

/* --- FHIR R4 ------------------------------------------------------------------------- */

#define ZG_FHIR_BASE "https://zengen.example/fhir"
#define ZG_FHIR_CASE_SYSTEM ZG_FHIR_BASE "/sid/case-id"

/* Maps a FHIR R4 Bundle (transaction, batch or collection) to standard records: *records is
 * an array of {"case_id","record"} (one per Patient carrying a zengen case identifier).
 * Everything that is not mapped is appended to report.unmapped as {pointer, reason}; report
 * also gets "mapped" (count of mapped elements) and "resources". Returns 0, or ZG_EINVAL
 * (err names the pointer and why the bundle cannot be imported at all). Records are not yet
 * validated against the model. */
int zg_clinical_from_fhir(json_t *bundle, json_t **records, json_t *report,
                          struct zg_error *err) ZG_MUST_CHECK;

/* Imports a FHIR R4 Bundle: maps it (zg_clinical_from_fhir) and merges every case's record
 * in one all-or-nothing transaction (zg_clinical_push_bundle, mode "merge"). source_system
 * names the sender; the Bundle's id or identifier becomes the source message id.
 * *out (new reference): {"cases":[{case_id,version,etag,created,unchanged}],"replayed",
 * "report":{resources,mapped,unmapped:[{pointer,reason}]}}. Errors: ZG_EINVAL (bundle not
 * importable, or a mapped record invalid: err->field "/entry/…" or "/cases/<i>/record/…"),
 * ZG_ENOTFOUND-style failures become ZG_EINVAL naming the case, ZG_ECONFLICT (idempotency). */
int zg_clinical_import_fhir(sqlite3 *db, const struct zg_clinical_actor *who, json_t *bundle,
                            const char *source_system, const char *idempotency_key, json_t **out,
                            json_t *errors, struct zg_error *err) ZG_MUST_CHECK;

/* A stored record as a FHIR R4 collection Bundle (new reference), or NULL (ZG_ENOMEM). */
json_t *zg_clinical_to_fhir(json_t *record, struct zg_error *err);

#endif
