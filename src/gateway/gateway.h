/* The hospital gateway: SS-MIX2 / CSV conversion to the standard clinical model with
 * de-identification, a durable on-disk queue (SQLite in the state directory), the encrypted
 * local cache of linkage results, quarantine of malformed input, and pushing to the center.
 * Operator guide: docs/gateway.md. */
#ifndef ZG_GATEWAY_H
#define ZG_GATEWAY_H

#include "common/compat.h"
#include <jansson.h>
#include <sqlite3.h>

struct zg_error;
struct zg_arena;
struct zg_buf;
struct zg_hl7_msg;

/* --- de-identification (deid.c) ------------------------------------------------------- */

/* Direct identifiers of one patient collected from a message (names, address parts, phone
 * numbers, the local patient ID, the full birth date), used to scrub free text. */
struct zg_gw_idents {
    const char *v[96];
    size_t n;
    bool overflow; /* an identifier did not fit: the text cannot be scrubbed safely */
};

/* Adds s (ignored when shorter than 2 bytes or already present) to ids; when ids is full, sets
 * ids->overflow instead (callers must then refuse to convert: the identifier would survive). */
void zg_gw_idents_add(struct zg_gw_idents *ids, const char *s);

/* Collects the direct identifiers of PID, NK1, IN1/ZI1 (names, addresses, phones, IDs, birth
 * date) of message m into ids (strings live in m's arena). */
void zg_gw_idents_from_hl7(const struct zg_hl7_msg *m, struct zg_gw_idents *ids);

/* HL7 date/time "YYYYMMDD…" → "YYYY-MM" (birth dates keep year and month only). Returns 0, or
 * ZG_EINVAL when the value is not a date. out needs 8 bytes. */
int zg_gw_deid_birth(const char *hl7, char out[8]) ZG_MUST_CHECK;

/* Replaces, in every string of the JSON value (recursively), each occurrence of an identifier
 * of ids and every phone-number- or postal-code-shaped run by "***". Returns the number of
 * replacements made, or a negative enum zg_err. */
int zg_gw_deid_scrub(json_t *v, const struct zg_gw_idents *ids);

/* True when s contains a phone-number- or postal-code-shaped run (e.g. 054-000-0000, 422-8033). */
bool zg_gw_looks_like_phone(const char *s);

/* --- conversion (ssmix2.c, csv.c) ---------------------------------------------------- */

/* A mapping file (docs/gateway.md "Mapping file"): local code tables and CSV layouts. */
struct zg_gw_mapping;

/* The standard drug ({"name","atc"?,"yj"?}) for a local drug code of a coding system
 * ("HOT9", "YJ", a hospital's own system), or NULL when the mapping does not list it. */
const json_t *zg_gw_mapping_drug(const struct zg_gw_mapping *m, const char *system,
                                 const char *code);

/* The OncoTree code for an ICD-10 code (tried in full, then by its 3-character category),
 * or NULL. */
const char *zg_gw_mapping_oncotree(const struct zg_gw_mapping *m, const char *icd10);

/* One converted, de-identified record ready to queue. */
struct zg_gw_record {
    char kind[24];        /* "patient", "diagnosis", "prescription", "result" */
    char local_id[65];    /* hospital patient ID (never logged; sealed in the queue) */
    char idem_key[72];    /* derived from the message: "ss2-" + hex SHA-256 of its bytes, … */
    char source[64];      /* message type, e.g. "PPR^ZD1" */
    char message_id[72];  /* MSH-10 (or "file:row" for CSV), sent as X-Source-Message-Id */
    int unmapped;         /* items of the message the model has no place for */
    json_t *record;       /* standard-model record without the participant (owned) */
};

/* Converts one SS-MIX2 message file (raw bytes) into records: decodes the character set,
 * parses, maps to the standard model and de-identifies. *recs (malloc'd array, *nrecs long)
 * is freed with zg_gw_records_free. A message type the gateway does not carry yields 0 records
 * and returns 0 with *skip_reason set (static string). Returns 0, or ZG_EINVAL / ZG_ETOOBIG with
 * err saying where and why (→ quarantine). */
int zg_gw_convert_ssmix2(const struct zg_gw_mapping *map, const char *raw, size_t n,
                         struct zg_gw_record **recs, size_t *nrecs, const char **skip_reason,
                         struct zg_error *err) ZG_MUST_CHECK;

void zg_gw_records_free(struct zg_gw_record *recs, size_t n);

/* Loads a mapping file (JSON). Returns 0 or ZG_EINVAL with err naming the JSON Pointer. */
int zg_gw_mapping_load(const char *path, struct zg_gw_mapping **out, struct zg_error *err)
    ZG_MUST_CHECK;
void zg_gw_mapping_free(struct zg_gw_mapping *m);

/* The CSV layout (borrowed JSON object) whose "files" glob matches filename, or NULL. */
json_t *zg_gw_mapping_csv_layout(const struct zg_gw_mapping *m, const char *filename);

/* True when the mapping has an entry for this file name (by its glob pattern). */
bool zg_gw_mapping_matches(const struct zg_gw_mapping *m, const char *filename);

/* Converts one CSV file (UTF-8 or Shift_JIS per the mapping) into records, one per row.
 * A row that fails makes the whole file fail (ZG_EINVAL, err->field = "row N"), so a file is
 * queued completely or quarantined. */
int zg_gw_convert_csv(const struct zg_gw_mapping *m, const char *filename, const char *raw,
                      size_t n, struct zg_gw_record **recs, size_t *nrecs, struct zg_error *err)
    ZG_MUST_CHECK;

/* --- finding input files (scan.c) --------------------------------------------------- */

struct zg_gw_file {
    char *rel;      /* path relative to the root */
    int64_t size, mtime;
};

/* Lists the regular files under root (depth ≤ 12, at most 1,000,000; hidden files and *.tmp
 * skipped; files modified less than settle_s seconds ago skipped as still being written),
 * sorted by the SS-MIX2 timestamp field of the name, then by path. Returns 0 or ZG_EIO. */
int zg_gw_list_files(const char *root, int64_t settle_s, struct zg_gw_file **out, size_t *n,
                     struct zg_error *err) ZG_MUST_CHECK;
void zg_gw_files_free(struct zg_gw_file *f, size_t n);

/* Reads a whole file of at most max bytes into *out (malloc'd, NUL-terminated).
 * ZG_ETOOBIG when larger, ZG_EIO on failure. */
int zg_gw_read_file(const char *path, size_t max, char **out, size_t *n, struct zg_error *err)
    ZG_MUST_CHECK;

/* True when the base name has the shape of an SS-MIX2 message file name
 * (patient_date_type_order_timestamp_department_flag: at least 7 '_'-separated fields).
 * Other files in the tree (README, checksums) are skipped, not quarantined, unless they
 * start like an HL7 message. */
bool zg_gw_ssmix2_name_ok(const char *rel);

/* A name for a source file that can be printed: SS-MIX2 paths and names begin with the
 * patient ID, so only the data-type folder and the file name with its first field replaced
 * by '*' are kept (for example ADT-00 / star _-_ADT-00_…_1); other paths keep their base name. */
void zg_gw_safe_name(const char *rel, char *out, size_t outsz);

/* SS-MIX2 file names end in a condition flag ("_1" valid); true for a withdrawn ("_0") one. */
bool zg_gw_ssmix2_withdrawn(const char *rel);

/* --- the state directory (state.c) --------------------------------------------------- */

struct zg_gw_state;

/* Opens (creating) STATE: gateway.db (queue, files seen, linkage cache), gateway.key (0600),
 * quarantine/. Returns 0 or ZG_EIO. */
int zg_gw_state_open(const char *dir, struct zg_gw_state **out, struct zg_error *err)
    ZG_MUST_CHECK;
void zg_gw_state_close(struct zg_gw_state *st);

/* True when the source file (relative path with size and mtime) was already handled. */
int zg_gw_file_seen(struct zg_gw_state *st, const char *source, const char *rel, int64_t size,
                    int64_t mtime, bool *seen, struct zg_error *err) ZG_MUST_CHECK;

/* Records the file as handled and queues its records, in one durable transaction. Records whose
 * idempotency key is already queued are not queued again. Returns 0 or ZG_EIO. */
int zg_gw_enqueue(struct zg_gw_state *st, const char *source, const char *rel, int64_t size,
                  int64_t mtime, const char *outcome, const struct zg_gw_record *recs,
                  size_t n, struct zg_error *err) ZG_MUST_CHECK;

/* Forgets which files were handled (outcome "quarantined", "skipped", or NULL for every
 * file), so that the next scan reads them again — after the mapping file or the EHR export
 * was corrected. Records already queued are not queued again (same idempotency key); records
 * that now convert differently get new keys and are sent. *n: files forgotten. */
int zg_gw_forget_files(struct zg_gw_state *st, const char *outcome, int64_t *n,
                       struct zg_error *err) ZG_MUST_CHECK;

/* Records the file as handled without records (outcome "skipped") and why (a static text
 * without patient data). */
int zg_gw_skip(struct zg_gw_state *st, const char *source, const char *rel, int64_t size,
               int64_t mtime, const char *reason, struct zg_error *err) ZG_MUST_CHECK;

/* Copies the raw file into quarantine/ with a .reason.txt beside it and records it as handled
 * (outcome "quarantined"). The reason must not contain patient data. */
int zg_gw_quarantine(struct zg_gw_state *st, const char *source, const char *rel, int64_t size,
                     int64_t mtime, const char *raw, size_t n, const char *reason,
                     struct zg_error *err) ZG_MUST_CHECK;

/* Pushing. */
struct zg_gw_center {
    const char *url;    /* https://center.example.jp (no trailing slash needed) */
    const char *token;  /* bearer token */
    long timeout_s;     /* per request */
    const char *cacert; /* CA bundle to trust (NULL = the system's) */
};

/* Sends every due pending item in queue order: resolves the participant (local cache, else
 * POST /api/v1/linkage, cached sealed), then pushes with Idempotency-Key. Stops at the first
 * transient failure (network, 5xx, 429, 401/403) and schedules a retry with exponential
 * back-off; a 4xx rejection of the record itself marks the item rejected with the reason.
 * *sent / *rejected count this round; *blocked is true when it stopped on a transient
 * failure. Returns 0 or ZG_EIO (local state failure). */
int zg_gw_push_due(struct zg_gw_state *st, const struct zg_gw_center *c, int max_items,
                   int *sent, int *rejected, bool *blocked, struct zg_error *err) ZG_MUST_CHECK;

/* Status: {"queue":{"pending":n,"sent":n,"rejected":n},"files":{"queued":n,"quarantined":n,
 * "skipped":n},"skipped_by_reason":{reason:n},"linkage_cached":n,"unmapped_items":n,
 * "last_push_at":…,"last_error":…,"next_retry_at":…,"rejected":[…],"quarantine":[…]}. */
json_t *zg_gw_status(struct zg_gw_state *st, struct zg_error *err);

/* Writes STATE/status.json atomically from zg_gw_status plus extra members (merged). */
int zg_gw_write_status(struct zg_gw_state *st, json_t *extra, struct zg_error *err) ZG_MUST_CHECK;

/* --- pulling from hospital FHIR servers (pull.c), run at the center ----------------------- */

struct zg_datadir;

/* Registers (or replaces) a pull source: DATA/pull/<name>.json holds {"name","url","org",
 * "token_file"?,"types":[…],"batch","patient_id_system"?}. name: 1–40 of [a-z0-9_-]; url:
 * http(s) FHIR base; org: an existing hospital organisation. Returns 0 or ZG_EINVAL. */
int zg_pull_add(const struct zg_datadir *dd, sqlite3 *db, json_t *config, struct zg_error *err)
    ZG_MUST_CHECK;

/* Counters of one run of one source. */
struct zg_pull_stats {
    int64_t requests, retries, fetched, imported, unchanged, failed, unmapped;
};

/* Pulls one source incrementally: for each resource type, GET <url>/<Type>?_lastUpdated=ge
 * <checkpoint>&_sort=_lastUpdated&_count=<batch>, following the server's next links (same
 * origin only); each resource is mapped with the clinical FHIR mapping, its Patient resolved
 * through the linkage store to a case, and merged with an idempotency key of
 * source/type/id/version. The checkpoint is saved (atomically) after every page. Requests are
 * retried with exponential back-off; a source that still fails records the error and its
 * next attempt time. Returns 0 (st filled) or an error (also recorded in the source state). */
int zg_pull_run(const struct zg_datadir *dd, sqlite3 *db, sqlite3 *link, const char *name,
                struct zg_pull_stats *st, struct zg_error *err) ZG_MUST_CHECK;

/* Names of the configured sources (new reference: array of strings). */
json_t *zg_pull_sources(const struct zg_datadir *dd, struct zg_error *err);

/* {"sources":[{name,url,org,types,checkpoints:{type:ts},last_run_at,last_success_at,
 * last_error,consecutive_failures,next_attempt_at,totals:{…},last_run:{…},failures:[…]}]} */
json_t *zg_pull_status(const struct zg_datadir *dd, struct zg_error *err);

/* --- HTTP client (http.c, libcurl) --------------------------------------------------- */

/* One request. cacert: a PEM file of CA certificates to trust instead of the system store
 * (NULL = system). headers: NULL-terminated "Name: value" strings (may be NULL). The response
 * body (at most 8 MiB) goes to resp (zg_buf). *status is 0 when no HTTP response was received
 * (network failure; err says why). Returns 0 when a response was received, ZG_EIO otherwise. */
int zg_gw_http(const char *method, const char *url, const char *token, const char *cacert,
               const char *const *headers, const char *body, size_t body_len, long timeout_s,
               long *status, struct zg_buf *resp, struct zg_error *err) ZG_MUST_CHECK;

/* Exponential back-off with ±20 % jitter: base·2^attempt seconds, capped at cap. */
int64_t zg_gw_backoff(int attempt, int64_t base, int64_t cap);

/* Atomically replaces path with data (write to a temporary file, fsync, rename, fsync dir). */
int zg_gw_write_file_atomic(const char *path, const char *data, size_t n, struct zg_error *err)
    ZG_MUST_CHECK;

#endif
