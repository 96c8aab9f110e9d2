/* Audit writer (group commit) and chain verification. */
#include "audit.h"
#include "common/error.h"
#include "common/clock.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "store/db.h"

#include <pthread.h>

#define BATCH_MAX 2048
#define QUEUE_MAX 65536

struct pending {
    char *rest;      /* the event serialised by the caller: canonical JSON without seq/ts */
    char *user, *action;
    json_t *data;    /* the event's "data" array (ids to index), or NULL */
    struct pending *next;
    int *done; /* set to 1 (ok) or -1 (failed) by the writer when waited on */
};

struct zg_audit {
    sqlite3 *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake, committed, space;
    struct pending *head, *tail;
    size_t queued;
    bool stopping;
    bool writer_idle;
    unsigned waiters, space_waiters; /* callers blocked on `committed` / `space` */ /* the writer sleeps on `wake` (only then is a signal needed) */
    struct zg_audit_stats stats;
};

static void event_hash(const char *prev, const char *body, size_t n, char out[ZG_SHA256_HEX])
{
    /* hash = SHA-256(prev ":" body) */
    size_t pl = strlen(prev);
    char *buf = malloc(pl + 1 + n);
    if (!buf) {
        out[0] = '\0';
        return;
    }
    memcpy(buf, prev, pl);
    buf[pl] = ':';
    memcpy(buf + pl + 1, body, n);
    zg_sha256_hex(buf, pl + 1 + n, out);
    free(buf);
}

static int read_head(sqlite3 *db, int64_t *seq, char hash[ZG_SHA256_HEX], struct zg_error *err)
{
    sqlite3_stmt *st =
        zg_db_prepare(db, "SELECT seq,hash FROM audit_events ORDER BY seq DESC LIMIT 1", err);
    if (!st)
        return ZG_EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        snprintf(hash, ZG_SHA256_HEX, "%s", zg_db_text(st, 1));
    } else {
        *seq = 0;
        snprintf(hash, ZG_SHA256_HEX, "%s", ZG_AUDIT_GENESIS);
    }
    zg_db_release(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : zg_db_fail(db, rc, err);
}

/* Writes a batch in one transaction. The chain head is read inside the transaction, so that
 * several processes (server and CLI) appending to the same audit.db keep one chain. */
static int write_batch(sqlite3 *db, struct pending *list, struct zg_error *err)
{
    int rc = zg_db_begin(db, err);
    if (rc)
        return rc;
    int64_t seq;
    char prev[ZG_SHA256_HEX];
    sqlite3_stmt *ins = NULL, *dat = NULL;
    if ((rc = read_head(db, &seq, prev, err)))
        goto out;
    ins = zg_db_prepare(
        db, "INSERT INTO audit_events(seq,ts,body,prev_hash,hash,user,action) VALUES(?,?,?,?,?,?,?)",
        err);
    dat = zg_db_prepare(db, "INSERT INTO audit_data(seq,data_id) VALUES(?,?)", err);
    if (!ins || !dat) {
        rc = ZG_EIO;
        goto out;
    }
    for (struct pending *p = list; p; p = p->next) {
        seq++;
        int64_t ts = zg_clock_now_ms();
        char tss[32];
        zg_clock_format(ts, tss, sizeof(tss));
        /* canonical body: seq and ts first, then the caller's keys in the order it built them */
        bool empty = !strcmp(p->rest, "{}");
        size_t blen = strlen(p->rest) + 80;
        char *body = malloc(blen);
        if (!body) {
            rc = zg_error_set(err, ZG_ENOMEM, "", "cannot serialise audit event");
            goto out;
        }
        snprintf(body, blen, "{\"seq\":%lld,\"ts\":\"%s\"%s%s", (long long)seq, tss,
                 empty ? "}" : ",", empty ? "" : p->rest + 1);
        char hash[ZG_SHA256_HEX];
        event_hash(prev, body, strlen(body), hash);
        sqlite3_bind_int64(ins, 1, seq);
        sqlite3_bind_int64(ins, 2, ts);
        sqlite3_bind_text(ins, 3, body, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 4, prev, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 5, hash, -1, SQLITE_TRANSIENT);
        if (p->user)
            sqlite3_bind_text(ins, 6, p->user, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(ins, 6);
        if (p->action)
            sqlite3_bind_text(ins, 7, p->action, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(ins, 7);
        int s = sqlite3_step(ins);
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        free(body);
        if (s != SQLITE_DONE) {
            rc = zg_db_fail(db, s, err);
            goto out;
        }
        size_t i;
        json_t *v;
        json_array_foreach(p->data, i, v)
        {
            if (!json_is_string(v))
                continue;
            sqlite3_bind_int64(dat, 1, seq);
            sqlite3_bind_text(dat, 2, json_string_value(v), -1, SQLITE_TRANSIENT);
            s = sqlite3_step(dat);
            sqlite3_reset(dat);
            if (s != SQLITE_DONE) {
                rc = zg_db_fail(db, s, err);
                goto out;
            }
        }
        memcpy(prev, hash, sizeof(prev));
    }
out:
    zg_db_release(ins);
    zg_db_release(dat);
    if (rc) {
        zg_db_rollback(db);
        return rc;
    }
    return zg_db_commit(db, err);
}

static void *writer_main(void *arg)
{
    struct zg_audit *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->head && !a->stopping) {
            a->writer_idle = true;
            pthread_cond_wait(&a->wake, &a->mu);
            a->writer_idle = false;
        }
        if (!a->head && a->stopping)
            break;
        /* take up to BATCH_MAX events */
        struct pending *list = a->head, *last = list;
        size_t n = 1;
        while (last->next && n < BATCH_MAX) {
            last = last->next;
            n++;
        }
        a->head = last->next;
        if (!a->head)
            a->tail = NULL;
        last->next = NULL;
        a->queued -= n;
        pthread_mutex_unlock(&a->mu);

        struct zg_error err;
        zg_error_clear(&err);
        int rc = write_batch(a->db, list, &err);
        if (rc) {
            /* one retry after SQLITE_BUSY-like trouble, then fail the waiters loudly */
            rc = write_batch(a->db, list, &err);
            if (rc)
                zg_log(ZG_LOG_ERROR, "audit: cannot write %zu events: %s", n, err.reason);
        }

        pthread_mutex_lock(&a->mu);
        a->stats.batches++;
        if (rc)
            a->stats.failures += n;
        else
            a->stats.events += n;
        for (struct pending *p = list, *nx; p; p = nx) {
            nx = p->next;
            free(p->rest);
            free(p->user);
            free(p->action);
            json_decref(p->data);
            if (p->done)
                *p->done = rc ? -1 : 1;
            free(p);
        }
        if (a->waiters)
            pthread_cond_broadcast(&a->committed);
        if (a->space_waiters)
            pthread_cond_broadcast(&a->space);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int zg_audit_open(const struct zg_datadir *dd, struct zg_audit **out, struct zg_error *err)
{
    struct zg_audit *a = calloc(1, sizeof(*a));
    if (!a)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    int rc = zg_datadir_connect(dd, ZG_DB_AUDIT, &a->db, err);
    if (rc) {
        free(a);
        return rc;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->wake, NULL);
    pthread_cond_init(&a->committed, NULL);
    pthread_cond_init(&a->space, NULL);
    if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
        zg_db_close(a->db);
        free(a);
        return zg_error_set(err, ZG_EINTERNAL, "", "cannot start audit writer");
    }
    *out = a;
    return 0;
}

void zg_audit_close(struct zg_audit *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stopping = true;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    zg_db_close(a->db);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->committed);
    pthread_cond_destroy(&a->space);
    free(a);
}

static void pending_free(struct pending *p)
{
    free(p->rest);
    free(p->user);
    free(p->action);
    json_decref(p->data);
    free(p);
}

int zg_audit_append_raw(struct zg_audit *a, char *rest, const char *user, const char *action,
                        json_t *data, bool wait)
{
    struct pending *p = calloc(1, sizeof(*p));
    if (!p || !rest || rest[0] != '{') {
        free(p);
        free(rest);
        json_decref(data);
        return ZG_ENOMEM;
    }
    p->rest = rest;
    p->user = user ? strdup(user) : NULL;
    p->action = action ? strdup(action) : NULL;
    p->data = json_is_array(data) && json_array_size(data) ? data : NULL;
    if (!p->data)
        json_decref(data);
    int done = 0;
    p->done = wait ? &done : NULL;
    pthread_mutex_lock(&a->mu);
    /* back-pressure: when the disk cannot keep up, callers wait for room instead of the queue
     * growing without bound */
    while (a->queued >= QUEUE_MAX && !a->stopping) {
        a->space_waiters++;
        pthread_cond_wait(&a->space, &a->mu);
        a->space_waiters--;
    }
    if (a->stopping) {
        pthread_mutex_unlock(&a->mu);
        pending_free(p);
        return ZG_EIO;
    }
    if (a->tail)
        a->tail->next = p;
    else
        a->head = p;
    a->tail = p;
    a->queued++;
    if (a->writer_idle)
        pthread_cond_signal(&a->wake);
    if (wait) {
        a->waiters++;
        while (done == 0)
            pthread_cond_wait(&a->committed, &a->mu);
        a->waiters--;
    }
    pthread_mutex_unlock(&a->mu);
    return done < 0 ? ZG_EIO : 0;
}

int zg_audit_append(struct zg_audit *a, json_t *event, bool wait)
{
    /* serialise here, in the caller's thread, so that the single writer only numbers, hashes
     * and stores; "seq" and "ts" are the writer's to set */
    json_object_del(event, "seq");
    json_object_del(event, "ts");
    char *rest = json_dumps(event, JSON_COMPACT);
    json_t *data = json_object_get(event, "data");
    return zg_audit_append_raw(a, rest, json_string_value(json_object_get(event, "user")),
                               json_string_value(json_object_get(event, "action")),
                               json_is_array(data) ? json_deep_copy(data) : NULL, wait);
}

void zg_audit_stats(struct zg_audit *a, struct zg_audit_stats *out)
{
    pthread_mutex_lock(&a->mu);
    *out = a->stats;
    pthread_mutex_unlock(&a->mu);
}
