/* Reading the audit trail: filtered queries, chain verification, SIEM export. */
#include "audit.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "store/db.h"

json_t *zg_audit_query(sqlite3 *db, const struct zg_audit_filter *f, struct zg_error *err)
{
    int limit = f->limit < 1 ? 100 : f->limit > 1000 ? 1000 : f->limit;
    const char *sql =
        f->data_ids
            ? "SELECT DISTINCT e.seq,e.body,e.hash FROM audit_events e JOIN audit_data d ON "
              "d.seq=e.seq WHERE d.data_id IN (SELECT value FROM json_each(?4)) AND e.seq>?1 AND (?2 IS NULL OR e.user=?2)"
              " AND (?3 IS NULL OR e.action=?3) ORDER BY e.seq LIMIT ?5"
            : "SELECT seq,body,hash FROM audit_events WHERE seq>?1 AND (?2 IS NULL OR "
              "user=?2) AND (?3 IS NULL OR action=?3) ORDER BY seq LIMIT ?5";
    sqlite3_stmt *st = zg_db_prepare(db, sql, err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, f->after);
    if (f->user)
        sqlite3_bind_text(st, 2, f->user, -1, SQLITE_STATIC);
    if (f->action)
        sqlite3_bind_text(st, 3, f->action, -1, SQLITE_STATIC);
    if (f->data_ids)
        sqlite3_bind_text(st, 4, f->data_ids, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, limit);
    json_t *arr = json_array();
    int rc, n = 0;
    int64_t last = f->after;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_error_t je;
        json_t *ev = json_loads(zg_db_text(st, 1), 0, &je);
        if (!ev)
            ev = json_pack("{s:I,s:s}", "seq", (json_int_t)sqlite3_column_int64(st, 0), "error",
                           "stored event is not valid JSON");
        json_object_set_new(ev, "hash", json_string(zg_db_text(st, 2)));
        json_array_append_new(arr, ev);
        last = sqlite3_column_int64(st, 0);
        n++;
    }
    zg_db_release(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        zg_db_fail(db, rc, err);
        return NULL;
    }
    return json_pack("{s:o,s:o}", "events", arr, "next_after",
                     n == limit ? json_integer(last) : json_null());
}

int zg_audit_verify(sqlite3 *db, int64_t anchor_seq, const char *anchor_hash,
                    struct zg_audit_verify_result *res, struct zg_error *err)
{
    memset(res, 0, sizeof(*res));
    res->ok = true;
    snprintf(res->head_hash, sizeof(res->head_hash), "%s", ZG_AUDIT_GENESIS);
    sqlite3_stmt *st =
        zg_db_prepare(db, "SELECT seq,ts,body,prev_hash,hash,user,action FROM audit_events ORDER BY seq",
                      err);
    if (!st)
        return ZG_EIO;
    char prev[ZG_SHA256_HEX];
    snprintf(prev, sizeof(prev), "%s", ZG_AUDIT_GENESIS);
    int64_t expect = 1;
    bool anchor_seen = anchor_seq <= 0;
    int rc;
#define BAD(seqv, ...)                                                                         \
    do {                                                                                       \
        res->ok = false;                                                                       \
        res->first_bad_seq = (seqv);                                                           \
        snprintf(res->reason, sizeof(res->reason), __VA_ARGS__);                               \
        goto done;                                                                             \
    } while (0)
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        int64_t ts = sqlite3_column_int64(st, 1);
        const char *body = zg_db_text(st, 2);
        size_t blen = (size_t)sqlite3_column_bytes(st, 2);
        const char *ph = zg_db_text(st, 3), *h = zg_db_text(st, 4);
        res->events++;
        if (seq != expect)
            BAD(expect, "event %lld is missing (deleted?): next stored event is %lld",
                (long long)expect, (long long)seq);
        if (strcmp(ph, prev))
            BAD(seq, "event %lld does not link to the previous event's hash", (long long)seq);
        /* recompute */
        size_t pl = strlen(prev);
        char *buf = malloc(pl + 1 + blen);
        if (!buf) {
            zg_db_release(st);
            return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        }
        memcpy(buf, prev, pl);
        buf[pl] = ':';
        memcpy(buf + pl + 1, body, blen);
        char calc[ZG_SHA256_HEX];
        zg_sha256_hex(buf, pl + 1 + blen, calc);
        free(buf);
        if (strcmp(calc, h))
            BAD(seq, "event %lld was modified: its content does not match its hash",
                (long long)seq);
        json_error_t je;
        json_t *ev = json_loadb(body, blen, 0, &je);
        json_int_t bseq = ev ? json_integer_value(json_object_get(ev, "seq")) : -1;
        const char *bu = ev ? json_string_value(json_object_get(ev, "user")) : NULL;
        const char *ba = ev ? json_string_value(json_object_get(ev, "action")) : NULL;
        const char *cu = (const char *)sqlite3_column_text(st, 5);
        const char *ca = (const char *)sqlite3_column_text(st, 6);
        bool cols_ok = ((!bu && !cu) || (bu && cu && !strcmp(bu, cu))) &&
                       ((!ba && !ca) || (ba && ca && !strcmp(ba, ca)));
        json_decref(ev);
        if (!cols_ok)
            BAD(seq, "event %lld: its user/action index columns were altered", (long long)seq);
        (void)ts;
        if (bseq != seq)
            BAD(seq, "event %lld is out of place: its body says it is event %lld", (long long)seq,
                (long long)bseq);
        if (seq == anchor_seq) {
            anchor_seen = true;
            if (!anchor_hash || strcmp(anchor_hash, h))
                BAD(seq, "event %lld does not match the recorded anchor hash", (long long)seq);
        }
        snprintf(prev, sizeof(prev), "%s", h);
        res->head_seq = seq;
        expect = seq + 1;
    }
    if (rc != SQLITE_DONE) {
        zg_db_release(st);
        return zg_db_fail(db, rc, err);
    }
    if (!anchor_seen)
        BAD(anchor_seq, "anchored event %lld is missing: the log was truncated",
            (long long)anchor_seq);
done:
#undef BAD
    snprintf(res->head_hash, sizeof(res->head_hash), "%s", prev);
    zg_db_release(st);
    return 0;
}

int64_t zg_audit_export(sqlite3 *db, int64_t after, FILE *out, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db, "SELECT body,prev_hash,hash FROM audit_events WHERE seq>? ORDER BY seq", err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_int64(st, 1, after);
    int64_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_error_t je;
        json_t *ev = json_loads(zg_db_text(st, 0), 0, &je);
        if (!ev)
            continue;
        json_object_set_new(ev, "prev_hash", json_string(zg_db_text(st, 1)));
        json_object_set_new(ev, "hash", json_string(zg_db_text(st, 2)));
        if (json_dumpf(ev, out, JSON_COMPACT | JSON_SORT_KEYS) != 0 || fputc('\n', out) == EOF) {
            json_decref(ev);
            zg_db_release(st);
            return zg_error_set(err, ZG_EIO, "", "cannot write export");
        }
        json_decref(ev);
        n++;
    }
    zg_db_release(st);
    if (rc != SQLITE_DONE)
        return zg_db_fail(db, rc, err);
    return n;
}
