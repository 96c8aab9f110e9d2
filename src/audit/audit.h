/* The audit trail: append-only, hash-chained events in audit.db.
 * Each event's hash = SHA-256(previous hash ":" canonical JSON body); the canonical body is
 * compact JSON with "seq" and "ts" first, then the other keys as the event was built (the
 * verifier hashes the stored text, so only the writer needs to be deterministic). It carries its own sequence
 * number and time, so edits, deletions and reordering all break the chain.
 * Writes are group-committed by one writer thread per process; a caller that must not
 * acknowledge before its event is durable waits for the commit. */
#ifndef ZG_AUDIT_H
#define ZG_AUDIT_H

#include "common/compat.h"
#include "store/datadir.h"
#include <jansson.h>
#include <sqlite3.h>

struct zg_error;
struct zg_audit;

#define ZG_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* Opens audit.db of dd and starts the writer thread. Returns 0 or ZG_EIO. */
int zg_audit_open(const struct zg_datadir *dd, struct zg_audit **out, struct zg_error *err)
    ZG_MUST_CHECK;

/* Flushes pending events, stops the writer and frees a (NULL is a no-op). */
void zg_audit_close(struct zg_audit *a);

/* Appends an event. `event` is a JSON object of the fields in docs/security.md; the writer
 * assigns "seq" and "ts" (members of those names are removed from it); the event is
 * serialised during the call, so the caller keeps ownership. The strings of its "data" array (pseudonymous ids it
 * touched) are indexed for participants' view. When wait is true, blocks until the event is
 * committed (durable) and returns 0, or ZG_EIO if it could not be written. When wait is
 * false, returns 0 once queued. When the queue is full, callers wait for room. */
int zg_audit_append(struct zg_audit *a, json_t *event, bool wait) ZG_MUST_CHECK;

/* Appends an event already serialised by the caller: `rest` is a compact JSON object (taken:
 * freed by the audit module, also on failure) without "seq"/"ts"; user and action are copies of
 * its members of those names (may be NULL); data (reference taken, may be NULL) is the array of
 * ids it touched. Same waiting rules as zg_audit_append. */
int zg_audit_append_raw(struct zg_audit *a, char *rest, const char *user, const char *action,
                        json_t *data, bool wait) ZG_MUST_CHECK;

/* Counters for /metrics. */
struct zg_audit_stats {
    uint64_t events, batches, failures;
};
void zg_audit_stats(struct zg_audit *a, struct zg_audit_stats *out);

/* --- reading (any connection to audit.db) --------------------------------------------- */

struct zg_audit_filter {
    int64_t after;      /* events with seq > after */
    int limit;          /* 1..1000 */
    const char *user;   /* login, or NULL */
    const char *action; /* exact action, or NULL */
    const char *data_ids; /* JSON array text of ids: events that touched any of them, or NULL */
};

/* {"events":[…],"next_after":N|null}; NULL with err on failure. */
json_t *zg_audit_query(sqlite3 *db, const struct zg_audit_filter *f, struct zg_error *err);

struct zg_audit_verify_result {
    bool ok;
    int64_t events;        /* events checked */
    int64_t first_bad_seq; /* 0 when ok */
    char reason[200];
    int64_t head_seq;
    char head_hash[65];
};

/* Walks the whole chain. If anchor_seq > 0, also checks that event anchor_seq has hash
 * anchor_hash (an externally kept checkpoint; detects truncation and rewritten chains).
 * Returns 0 (result filled; ok may be false) or ZG_EIO. */
int zg_audit_verify(sqlite3 *db, int64_t anchor_seq, const char *anchor_hash,
                    struct zg_audit_verify_result *res, struct zg_error *err) ZG_MUST_CHECK;

/* Writes events with seq > after as JSON lines (body plus "hash" and "prev_hash") to out.
 * Returns the number written or a negative error. */
int64_t zg_audit_export(sqlite3 *db, int64_t after, FILE *out, struct zg_error *err);

#endif
