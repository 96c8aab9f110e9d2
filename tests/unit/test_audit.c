/* Unit tests of src/audit: appending hash-chained events, verifying the chain, and detecting
 * edits, deletions, reordering and truncation; concurrent appends; filtered queries. */
#include "testutil.h"

#include "audit/audit.h"
#include "common/error.h"
#include "store/db.h"
#include "crypto/crypto.h"

#include <pthread.h>

struct fx {
    struct zg_testdir t;
};

static int group_setup(void **state)
{
    (void)state;
    return zg_crypto_init() == 0 ? 0 : -1;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    zg_test_datadir_setup(&f->t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    zg_test_datadir_teardown(&f->t);
    free(f);
    return 0;
}

static json_t *event(const char *user, const char *action, const char *data_id)
{
    json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:i}", "user", user, "action", action, "outcome",
                          "allow", "ip", "192.0.2.1", "status", 200);
    json_t *d = json_array();
    if (data_id)
        json_array_append_new(d, json_string(data_id));
    json_object_set_new(e, "data", d);
    return e;
}

/* Appends n events alternating users/actions; event i (1-based) touches "ZGC-I<i>". */
static void append_n(struct fx *f, int n)
{
    struct zg_audit *a = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_audit_open(&f->t.dd, &a, &err))
        fail_msg("zg_audit_open: %s", err.reason);
    for (int i = 1; i <= n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "ZGC-I%d", i);
        json_t *e = event(i % 2 ? "alice" : "bob", i % 3 ? "case.read" : "case.create", id);
        assert_int_equal(zg_audit_append(a, e, true), 0);
        /* the caller keeps its own reference, unchanged */
        assert_int_equal(e->refcount, 1);
        json_decref(e);
    }
    struct zg_audit_stats s;
    zg_audit_stats(a, &s);
    assert_int_equal(s.events, (uint64_t)n);
    assert_int_equal(s.failures, 0);
    zg_audit_close(a);
}

static struct zg_audit_verify_result verify(sqlite3 *db, int64_t aseq, const char *ahash)
{
    struct zg_audit_verify_result r;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_audit_verify(db, aseq, ahash, &r, &err))
        fail_msg("zg_audit_verify: %s", err.reason);
    return r;
}

static sqlite3 *open_tamper(struct fx *f)
{
    sqlite3 *db = zg_test_connect(&f->t, ZG_DB_AUDIT);
    zg_test_sql(db, "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;");
    return db;
}

static void append_and_verify(void **state)
{
    struct fx *f = *state;
    sqlite3 *db = zg_test_connect(&f->t, ZG_DB_AUDIT);
    struct zg_audit_verify_result r = verify(db, 0, NULL);
    assert_true(r.ok); /* an empty log is valid */
    assert_int_equal(r.events, 0);
    assert_string_equal(r.head_hash, ZG_AUDIT_GENESIS);

    append_n(f, 10);
    r = verify(db, 0, NULL);
    assert_true(r.ok);
    assert_int_equal(r.events, 10);
    assert_int_equal(r.first_bad_seq, 0);
    assert_int_equal(r.head_seq, 10);
    assert_int_equal(strlen(r.head_hash), 64);

    /* the writer added seq and ts to the body */
    json_t *q = zg_audit_query(db, &(struct zg_audit_filter){.after = 0, .limit = 100}, NULL);
    assert_non_null(q);
    json_t *evs = json_object_get(q, "events");
    assert_int_equal(json_array_size(evs), 10);
    json_t *e3 = json_array_get(evs, 2);
    assert_int_equal(json_integer_value(json_object_get(e3, "seq")), 3);
    assert_true(json_is_string(json_object_get(e3, "ts")));
    assert_int_equal(strlen(json_string_value(json_object_get(e3, "ts"))), 24);
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 9), "hash")),
                        r.head_hash);
    json_decref(q);

    /* the database itself refuses updates and deletes */
    assert_int_not_equal(sqlite3_exec(db, "UPDATE audit_events SET body='{}' WHERE seq=2", NULL,
                                      NULL, NULL),
                         SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit_events WHERE seq=2", NULL, NULL,
                                      NULL),
                         SQLITE_OK);
    /* a re-opened writer continues the same chain */
    append_n(f, 3);
    r = verify(db, 10, NULL);
    assert_false(r.ok); /* anchor 10 with no hash given is a mismatch */
    struct zg_audit_verify_result r2 = verify(db, 0, NULL);
    assert_true(r2.ok);
    assert_int_equal(r2.events, 13);
    zg_db_close(db);
}

static void modified_body_detected(void **state)
{
    struct fx *f = *state;
    append_n(f, 8);
    sqlite3 *db = open_tamper(f);
    /* change who did it, keeping valid JSON and the same seq */
    zg_test_sql(db, "UPDATE audit_events SET body=replace(body,'\"user\":\"bob\"','\"user\":\"eve\"')"
                    " WHERE seq=4");
    assert_int_equal(sqlite3_changes(db), 1);
    struct zg_audit_verify_result r = verify(db, 0, NULL);
    assert_false(r.ok);
    assert_int_equal(r.first_bad_seq, 4);
    assert_true(r.reason[0] != '\0');
    zg_db_close(db);
}

static void modified_body_and_hash_detected(void **state)
{
    struct fx *f = *state;
    append_n(f, 8);
    sqlite3 *db = open_tamper(f);
    /* an attacker who also recomputes this event's hash breaks the next link */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT prev_hash,body FROM audit_events WHERE seq=5",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char prev[65], body[4096], buf[4200], h[65];
    snprintf(prev, sizeof(prev), "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(body, sizeof(body), "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    char *p = strstr(body, "\"allow\"");
    assert_non_null(p);
    memcpy(p, "\"deny!\"", 7);
    int n = snprintf(buf, sizeof(buf), "%s:%s", prev, body);
    zg_sha256_hex(buf, (size_t)n, h);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit_events SET body=?,hash=? WHERE seq=5",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, body, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, h, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    struct zg_audit_verify_result r = verify(db, 0, NULL);
    assert_false(r.ok);
    assert_int_equal(r.first_bad_seq, 6);
    zg_db_close(db);
}

static void deleted_event_detected(void **state)
{
    struct fx *f = *state;
    append_n(f, 8);
    sqlite3 *db = open_tamper(f);
    zg_test_sql(db, "DELETE FROM audit_events WHERE seq=5");
    struct zg_audit_verify_result r = verify(db, 0, NULL);
    assert_false(r.ok);
    assert_int_equal(r.first_bad_seq, 5);
    /* deleting the first event is detected too */
    zg_db_close(db);
}

static void deleted_first_event_detected(void **state)
{
    struct fx *f = *state;
    append_n(f, 4);
    sqlite3 *db = open_tamper(f);
    zg_test_sql(db, "DELETE FROM audit_events WHERE seq=1");
    struct zg_audit_verify_result r = verify(db, 0, NULL);
    assert_false(r.ok);
    assert_int_equal(r.first_bad_seq, 1);
    zg_db_close(db);
}

static void deleted_and_renumbered_detected(void **state)
{
    struct fx *f = *state;
    append_n(f, 6);
    sqlite3 *db = open_tamper(f);
    /* delete 3 and shift later rows down so that the sequence has no gap */
    zg_test_sql(db, "DELETE FROM audit_events WHERE seq=3;"
                    "UPDATE audit_events SET seq=seq-1 WHERE seq>3;");
    struct zg_audit_verify_result r = verify(db, 0, NULL);
    assert_false(r.ok);
    assert_int_equal(r.first_bad_seq, 3);
    zg_db_close(db);
}

static void swapped_bodies_detected(void **state)
{
    struct fx *f = *state;
    append_n(f, 8);
    sqlite3 *db = open_tamper(f);
    zg_test_sql(db, "UPDATE audit_events SET body=CASE seq WHEN 3 THEN (SELECT body FROM "
                    "audit_events WHERE seq=6) ELSE (SELECT body FROM audit_events WHERE seq=3) "
                    "END WHERE seq IN (3,6)");
    struct zg_audit_verify_result r = verify(db, 0, NULL);
    assert_false(r.ok);
    assert_int_equal(r.first_bad_seq, 3);
    zg_db_close(db);
}

static void swapped_rows_detected(void **state)
{
    struct fx *f = *state;
    append_n(f, 8);
    sqlite3 *db = open_tamper(f);
    /* swap two whole rows (body, hashes and all) but keep their seq numbers */
    zg_test_sql(db, "CREATE TEMP TABLE s AS SELECT * FROM audit_events WHERE seq IN (4,5);"
                    "UPDATE audit_events SET ts=(SELECT ts FROM s WHERE seq=9-audit_events.seq),"
                    " body=(SELECT body FROM s WHERE seq=9-audit_events.seq),"
                    " prev_hash=(SELECT prev_hash FROM s WHERE seq=9-audit_events.seq),"
                    " hash=(SELECT hash FROM s WHERE seq=9-audit_events.seq) WHERE seq IN (4,5);");
    struct zg_audit_verify_result r = verify(db, 0, NULL);
    assert_false(r.ok);
    assert_int_equal(r.first_bad_seq, 4);
    zg_db_close(db);
}

static void anchor_and_truncation(void **state)
{
    struct fx *f = *state;
    append_n(f, 10);
    sqlite3 *db = zg_test_connect(&f->t, ZG_DB_AUDIT);
    struct zg_audit_verify_result r = verify(db, 0, NULL);
    assert_true(r.ok);
    char head[65];
    snprintf(head, sizeof(head), "%s", r.head_hash);
    /* the right anchor verifies */
    r = verify(db, 10, head);
    assert_true(r.ok);
    /* a wrong anchor hash (e.g. a rewritten chain) does not */
    char wrong[65];
    snprintf(wrong, sizeof(wrong), "%s", head);
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    r = verify(db, 10, wrong);
    assert_false(r.ok);
    assert_int_equal(r.first_bad_seq, 10);
    /* the anchor of an earlier event */
    json_t *q = zg_audit_query(db, &(struct zg_audit_filter){.after = 6, .limit = 1}, NULL);
    const char *h7 = json_string_value(json_object_get(json_array_get(json_object_get(q, "events"), 0), "hash"));
    assert_non_null(h7);
    r = verify(db, 7, h7);
    assert_true(r.ok);
    json_decref(q);
    zg_db_close(db);

    /* truncating the tail is invisible without an anchor but caught with one */
    db = open_tamper(f);
    zg_test_sql(db, "DELETE FROM audit_events WHERE seq>8");
    r = verify(db, 0, NULL);
    assert_true(r.ok);
    assert_int_equal(r.head_seq, 8);
    r = verify(db, 10, head);
    assert_false(r.ok);
    assert_int_equal(r.first_bad_seq, 10);
    zg_db_close(db);
}

struct worker {
    struct zg_audit *a;
    int id, n, failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        char user[32], data[32];
        snprintf(user, sizeof(user), "user%d", w->id);
        snprintf(data, sizeof(data), "ZGC-T%d-%d", w->id, i);
        json_t *e = event(user, "case.read", data);
        if (zg_audit_append(w->a, e, i % 2 == 0) != 0)
            w->failures++;
        json_decref(e);
    }
    return NULL;
}

static void concurrent_appends(void **state)
{
    struct fx *f = *state;
    struct zg_audit *a = NULL, *b = NULL;
    struct zg_error err;
    assert_int_equal(zg_audit_open(&f->t.dd, &a, &err), 0);
    /* a second writer on the same audit.db, like the server and a CLI command */
    assert_int_equal(zg_audit_open(&f->t.dd, &b, &err), 0);
    enum { NT = 8, PER = 150 };
    pthread_t th[NT];
    struct worker w[NT];
    for (int i = 0; i < NT; i++) {
        w[i] = (struct worker){.a = i % 2 ? b : a, .id = i, .n = PER};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    zg_audit_close(a); /* flushes events queued without waiting */
    zg_audit_close(b);
    sqlite3 *db = zg_test_connect(&f->t, ZG_DB_AUDIT);
    struct zg_audit_verify_result r = verify(db, 0, NULL);
    if (!r.ok)
        fail_msg("chain broken at %lld: %s", (long long)r.first_bad_seq, r.reason);
    assert_int_equal(r.events, NT * PER);
    assert_int_equal(r.head_seq, NT * PER);
    /* every worker's events are all there */
    for (int i = 0; i < NT; i++) {
        char user[32];
        snprintf(user, sizeof(user), "user%d", i);
        json_t *q = zg_audit_query(db, &(struct zg_audit_filter){.limit = 1000, .user = user},
                                   NULL);
        assert_int_equal(json_array_size(json_object_get(q, "events")), PER);
        json_decref(q);
    }
    zg_db_close(db);
}

static void query_filters(void **state)
{
    struct fx *f = *state;
    append_n(f, 12);
    sqlite3 *db = zg_test_connect(&f->t, ZG_DB_AUDIT);
    struct zg_error err;
    zg_error_clear(&err);

    /* by user: odd events are alice's */
    json_t *q = zg_audit_query(db, &(struct zg_audit_filter){.limit = 100, .user = "alice"}, &err);
    assert_non_null(q);
    json_t *evs = json_object_get(q, "events");
    assert_int_equal(json_array_size(evs), 6);
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
    {
        assert_string_equal(json_string_value(json_object_get(e, "user")), "alice");
        assert_int_equal(json_integer_value(json_object_get(e, "seq")) % 2, 1);
    }
    assert_true(json_is_null(json_object_get(q, "next_after")));
    json_decref(q);

    /* by action: every third event is a create */
    q = zg_audit_query(db, &(struct zg_audit_filter){.limit = 100, .action = "case.create"}, &err);
    evs = json_object_get(q, "events");
    assert_int_equal(json_array_size(evs), 4);
    json_array_foreach(evs, i, e)
        assert_int_equal(json_integer_value(json_object_get(e, "seq")) % 3, 0);
    json_decref(q);

    /* user and action together */
    q = zg_audit_query(db,
                       &(struct zg_audit_filter){.limit = 100, .user = "bob",
                                                 .action = "case.create"},
                       &err);
    evs = json_object_get(q, "events");
    assert_int_equal(json_array_size(evs), 2); /* seq 6 and 12 */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(evs, 0), "seq")), 6);
    json_decref(q);

    /* by data ids */
    q = zg_audit_query(db,
                       &(struct zg_audit_filter){.limit = 100,
                                                 .data_ids = "[\"ZGC-I3\",\"ZGC-I10\",\"ZGC-NONE\"]"},
                       &err);
    evs = json_object_get(q, "events");
    assert_int_equal(json_array_size(evs), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(evs, 0), "seq")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(evs, 1), "seq")), 10);
    json_decref(q);
    q = zg_audit_query(db,
                       &(struct zg_audit_filter){.limit = 100, .user = "bob",
                                                 .data_ids = "[\"ZGC-I3\",\"ZGC-I10\"]"},
                       &err);
    assert_int_equal(json_array_size(json_object_get(q, "events")), 1);
    json_decref(q);
    q = zg_audit_query(db, &(struct zg_audit_filter){.limit = 100, .data_ids = "[]"}, &err);
    assert_int_equal(json_array_size(json_object_get(q, "events")), 0);
    json_decref(q);

    /* paging with after/limit visits every event once, in order */
    int64_t after = 0, seen = 0;
    for (;;) {
        q = zg_audit_query(db, &(struct zg_audit_filter){.after = after, .limit = 5}, &err);
        assert_non_null(q);
        evs = json_object_get(q, "events");
        json_array_foreach(evs, i, e)
            assert_int_equal(json_integer_value(json_object_get(e, "seq")), ++seen);
        json_t *next = json_object_get(q, "next_after");
        if (json_is_null(next)) {
            json_decref(q);
            break;
        }
        after = json_integer_value(next);
        json_decref(q);
        assert_true(seen <= 12);
    }
    assert_int_equal(seen, 12);

    /* export writes every event after a point, with hashes */
    char path[512];
    snprintf(path, sizeof(path), "%s/export.jsonl", f->t.root);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    assert_int_equal(zg_audit_export(db, 9, out, &err), 3);
    fclose(out);
    size_t n = 0;
    char *text = zg_test_slurp(path, &n);
    assert_non_null(text);
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(text, "\"prev_hash\""));
    assert_non_null(strstr(text, "\"seq\":10"));
    assert_null(strstr(text, "\"seq\":9,"));
    free(text);
    zg_db_close(db);
}

static void event_serialised_at_append(void **state)
{
    struct fx *f = *state;
    struct zg_audit *a = NULL;
    struct zg_error err;
    assert_int_equal(zg_audit_open(&f->t.dd, &a, &err), 0);
    /* members named seq and ts are the writer's: a caller cannot forge them */
    json_t *e = event("alice", "case.read", "ZGC-X1");
    json_object_set_new(e, "seq", json_integer(999));
    json_object_set_new(e, "ts", json_string("1999-01-01T00:00:00.000Z"));
    assert_int_equal(zg_audit_append(a, e, false), 0);
    /* the event is serialised during the call: later changes by the caller are not logged */
    json_object_set_new(e, "user", json_string("mallory"));
    json_object_set_new(e, "action", json_string("case.delete"));
    json_decref(e);
    e = event("bob", "case.read", "ZGC-X2");
    assert_int_equal(zg_audit_append(a, e, true), 0);
    json_decref(e);
    zg_audit_close(a);

    sqlite3 *db = zg_test_connect(&f->t, ZG_DB_AUDIT);
    struct zg_audit_verify_result r = verify(db, 0, NULL);
    assert_true(r.ok);
    assert_int_equal(r.events, 2);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT body FROM audit_events ORDER BY seq", -1, &st,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *body = (const char *)sqlite3_column_text(st, 0);
    /* canonical form: compact, "seq" then "ts" first */
    assert_int_equal(strncmp(body, "{\"seq\":1,\"ts\":\"", 15), 0);
    assert_null(strstr(body, "999"));
    assert_null(strstr(body, "1999-01-01"));
    assert_null(strstr(body, "mallory"));
    assert_null(strstr(body, "case.delete"));
    assert_non_null(strstr(body, "\"user\":\"alice\""));
    assert_null(strchr(body, '\n'));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    body = (const char *)sqlite3_column_text(st, 0);
    assert_int_equal(strncmp(body, "{\"seq\":2,", 9), 0);
    sqlite3_finalize(st);
    zg_db_close(db);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(append_and_verify),
        T(modified_body_detected),
        T(modified_body_and_hash_detected),
        T(deleted_event_detected),
        T(deleted_first_event_detected),
        T(deleted_and_renumbered_detected),
        T(swapped_bodies_detected),
        T(swapped_rows_detected),
        T(anchor_and_truncation),
        T(concurrent_appends),
        T(query_filters),
        T(event_serialised_at_append),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
