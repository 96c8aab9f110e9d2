/* Unified pseudonymous IDs (participant, case, specimen) with a Damm check character over
 * GF(32), the registry of participants/cases/specimens, and the linkage store that keeps
 * hospital patient IDs apart from research tables. Format: docs/ids.md. */
#ifndef ZG_IDS_H
#define ZG_IDS_H

#include "common/compat.h"
#include "store/datadir.h"
#include <jansson.h>
#include <sqlite3.h>

struct zg_error;

enum zg_id_kind { ZG_ID_PARTICIPANT = 'P', ZG_ID_CASE = 'C', ZG_ID_SPECIMEN = 'S' };

#define ZG_ID_LEN 15 /* "ZGC-7K3M-9QX2R" + NUL */

/* Makes a new random ID of kind into out. */
void zg_id_new(enum zg_id_kind kind, char out[ZG_ID_LEN]);

/* Parses text (case-insensitive; hyphens and spaces ignored; O→0, I/L→1) into its canonical
 * form. Returns 0 with *kind and canonical set, or ZG_EINVAL with a reason in err (wrong
 * length, prefix, character, or check character — i.e. a typo). */
int zg_id_parse(const char *text, enum zg_id_kind *kind, char canonical[ZG_ID_LEN],
                struct zg_error *err) ZG_MUST_CHECK;

/* The Damm check symbol value (0..31) of n symbol values; exposed for tests. */
unsigned zg_id_check(const unsigned char *vals, size_t n);

/* --- registry (zengen.db) ------------------------------------------------------------- */

/* Creates a participant; id copied to out. */
int zg_participant_add(sqlite3 *db, char out[ZG_ID_LEN], struct zg_error *err) ZG_MUST_CHECK;

/* Creates a case for org_id. participant_id NULL → a new participant is created too.
 * Returns 0 (case id in out), ZG_EINVAL (bad participant id), ZG_ENOTFOUND. */
int zg_case_add(sqlite3 *db, int64_t org_id, const char *participant_id, int64_t created_by,
                char out[ZG_ID_LEN], char participant_out[ZG_ID_LEN], struct zg_error *err)
    ZG_MUST_CHECK;

/* {"cases":[{id,participant_id,org:{id,name},created_at,specimens}],"next_after":…}
 * restricted to org_id when > 0; keyset-paged by id after `after` ("" = start). */
json_t *zg_case_list(sqlite3 *db, int64_t org_id, const char *after, int limit,
                     struct zg_error *err);

/* One case with its specimens, or NULL (ZG_ENOTFOUND — also when org_id > 0 and the case
 * belongs to another organisation, so that existence is not revealed). */
json_t *zg_case_get(sqlite3 *db, const char *id, int64_t org_id, struct zg_error *err);

/* Org of a case, for ownership checks; ZG_ENOTFOUND. */
int zg_case_org(sqlite3 *db, const char *id, int64_t *org_id, struct zg_error *err) ZG_MUST_CHECK;

/* Adds a specimen (type: tumour-tissue, tumour-ffpe, normal-blood, normal-tissue, plasma,
 * other) to a case; id into out. */
int zg_specimen_add(sqlite3 *db, const char *case_id, const char *type, char out[ZG_ID_LEN],
                    struct zg_error *err) ZG_MUST_CHECK;

/* One specimen as {id,case_id,type,created_at}, or NULL (ZG_ENOTFOUND). */
json_t *zg_specimen_get(sqlite3 *db, const char *id, struct zg_error *err);

/* {"orgs":n,"participants":n,"cases":n,"specimens":n,"users":n} */
json_t *zg_stats_overview(sqlite3 *db, struct zg_error *err);

/* --- linkage store (linkage.db) ------------------------------------------------------- */

/* Finds — or with create, makes — the participant for a hospital's local patient ID.
 * The local ID is stored only encrypted in linkage.db, found by a keyed hash, never in
 * zengen.db. `*created` tells whether a new participant was made.
 * Returns 0, ZG_EINVAL (local id: 1–64 printable characters), ZG_ENOTFOUND (!create). */
int zg_linkage_resolve(const struct zg_datadir *dd, sqlite3 *link, sqlite3 *db, int64_t org_id,
                       const char *org_name, const char *local_id, const char *project,
                       bool create, char participant[ZG_ID_LEN], bool *created,
                       struct zg_error *err) ZG_MUST_CHECK;

/* Re-encrypts local IDs still sealed with the data key under the linkage store's own key
 * (before its keys are split: then nothing outside the split protects them). *moved counts
 * the rows changed. ZG_ESEALED when the linkage keys are not in memory. */
int zg_linkage_reseal(const struct zg_datadir *dd, sqlite3 *link, int64_t *moved,
                      struct zg_error *err) ZG_MUST_CHECK;

/* The cross-project linkage hash (hex HMAC-SHA-256 under the shared linkage key of
 * "org name" NUL "local id"): projects holding the same key can match a person without
 * exchanging the local ID. */
void zg_linkage_hash(const struct zg_datadir *dd, const char *org_name, const char *local_id,
                     char out[65]);

#endif
