/* The gateway's state directory: gateway.db (SQLite, WAL, synchronous=FULL) holding the files
 * already handled, the durable outgoing queue and the encrypted linkage cache; gateway.key;
 * quarantine/; status.json. And the push loop that drains the queue to the center. */
#include "gateway/gateway.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

struct zg_gw_state {
    char dir[1024];
    sqlite3 *db;
    unsigned char key[ZG_KEY_LEN];
    int64_t base_backoff, cap_backoff;
};

static const char schema[] =
    /* file paths of SS-MIX2 storage contain patient IDs: only a keyed hash is kept (and for
     * quarantined files a printable name without the ID, zg_gw_safe_name) */
    "CREATE TABLE IF NOT EXISTS files(source TEXT NOT NULL, rel_hash TEXT NOT NULL, rel TEXT,"
    " size INTEGER, mtime INTEGER, outcome TEXT NOT NULL, reason TEXT, records INTEGER,"
    " unmapped INTEGER, at INTEGER, PRIMARY KEY(source, rel_hash));"
    "CREATE TABLE IF NOT EXISTS queue(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " idem_key TEXT NOT NULL UNIQUE, kind TEXT, source TEXT, message_id TEXT,"
    " local_sealed TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
    " attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0,"
    " last_status INTEGER, last_error TEXT, created_at INTEGER, sent_at INTEGER, case_id TEXT);"
    "CREATE INDEX IF NOT EXISTS queue_state ON queue(state, seq);"
    "CREATE TABLE IF NOT EXISTS linkage(lookup TEXT PRIMARY KEY, sealed TEXT NOT NULL,"
    " created_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT);";

static int load_key(struct zg_gw_state *st, struct zg_error *err)
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/gateway.key", st->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        unsigned char k[ZG_KEY_LEN];
        char hex[2 * ZG_KEY_LEN + 2];
        zg_random_bytes(k, sizeof(k));
        zg_hex_encode(k, sizeof(k), hex);
        zg_wipe(k, sizeof(k));
        size_t hl = strlen(hex);
        hex[hl] = '\n';
        int rc = zg_gw_write_file_atomic(path, hex, hl + 1, err);
        zg_wipe(hex, sizeof(hex));
        if (rc)
            return rc;
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "--state", "cannot read gateway.key: %s", strerror(errno));
    char hex[2 * ZG_KEY_LEN + 2] = {0};
    ssize_t r = read(fd, hex, 2 * ZG_KEY_LEN);
    close(fd);
    int rc = r == 2 * ZG_KEY_LEN ? zg_hex_decode(hex, st->key, ZG_KEY_LEN) : ZG_EINVAL;
    zg_wipe(hex, sizeof(hex));
    if (rc)
        return zg_error_set(err, ZG_ECORRUPT, "--state", "gateway.key is damaged");
    return 0;
}

int zg_gw_state_open(const char *dir, struct zg_gw_state **out, struct zg_error *err)
{
    *out = NULL;
    if (strlen(dir) > 900)
        return zg_error_set(err, ZG_EINVAL, "--state", "path too long");
    if (mkdir(dir, 0700) && errno != EEXIST)
        return zg_error_set(err, ZG_EIO, "--state", "cannot create %s: %s", dir, strerror(errno));
    struct zg_gw_state *st = calloc(1, sizeof(*st));
    if (!st)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    snprintf(st->dir, sizeof(st->dir), "%s", dir);
    st->base_backoff = 1;
    st->cap_backoff = 300;
    const char *b = getenv("ZENGEN_GATEWAY_BACKOFF_CAP");
    if (b && strtol(b, NULL, 10) > 0)
        st->cap_backoff = strtol(b, NULL, 10);
    char path[1100];
    snprintf(path, sizeof(path), "%s/quarantine", dir);
    if (mkdir(path, 0700) && errno != EEXIST) {
        int e = errno;
        free(st);
        return zg_error_set(err, ZG_EIO, "--state", "cannot create quarantine/: %s", strerror(e));
    }
    int rc = load_key(st, err);
    if (rc)
        goto fail;
    snprintf(path, sizeof(path), "%s/gateway.db", dir);
    if ((rc = zg_db_open(path, ZG_DB_CREATE, &st->db, err)))
        goto fail;
    if ((rc = zg_db_exec(st->db, schema, err)))
        goto fail;
    *out = st;
    return 0;
fail:
    zg_gw_state_close(st);
    return rc;
}

void zg_gw_state_close(struct zg_gw_state *st)
{
    if (!st)
        return;
    zg_db_close(st->db);
    zg_wipe(st->key, sizeof(st->key));
    free(st);
}

/* Keyed hash of a source file path (hex). */
static void rel_hash(struct zg_gw_state *st, const char *source, const char *rel,
                     char out[ZG_SHA256_HEX])
{
    unsigned char h[ZG_SHA256_LEN];
    size_t sl = strlen(source), rl = strlen(rel);
    char *buf = malloc(sl + rl + 2);
    if (!buf) {
        memset(out, '0', ZG_SHA256_HEX - 1);
        out[ZG_SHA256_HEX - 1] = '\0';
        return;
    }
    memcpy(buf, source, sl);
    buf[sl] = '\0';
    memcpy(buf + sl + 1, rel, rl + 1);
    zg_hmac_sha256(st->key, ZG_KEY_LEN, buf, sl + rl + 1, h);
    free(buf);
    zg_hex_encode(h, sizeof(h), out);
}

int zg_gw_file_seen(struct zg_gw_state *st, const char *source, const char *rel, int64_t size,
                    int64_t mtime, bool *seen, struct zg_error *err)
{
    *seen = false;
    char rh[ZG_SHA256_HEX];
    rel_hash(st, source, rel, rh);
    sqlite3_stmt *s = zg_db_prepare(
        st->db, "SELECT 1 FROM files WHERE source=?1 AND rel_hash=?2 AND size=?3 AND mtime=?4", err);
    if (!s)
        return err->code;
    sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, rh, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, size);
    sqlite3_bind_int64(s, 4, mtime);
    int r = sqlite3_step(s);
    int rc = 0;
    if (r == SQLITE_ROW)
        *seen = true;
    else if (r != SQLITE_DONE)
        rc = zg_db_fail(st->db, r, err);
    zg_db_release(s);
    return rc;
}

static int record_file(struct zg_gw_state *st, const char *source, const char *rel, int64_t size,
                       int64_t mtime, const char *outcome, const char *reason, int64_t records,
                       int64_t unmapped, struct zg_error *err)
{
    char rh[ZG_SHA256_HEX];
    rel_hash(st, source, rel, rh);
    sqlite3_stmt *s = zg_db_prepare(
        st->db,
        "INSERT OR REPLACE INTO files(source,rel_hash,size,mtime,outcome,reason,records,unmapped,"
        "at,rel) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
        err);
    if (!s)
        return err->code;
    sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, rh, -1, SQLITE_TRANSIENT);
    char shown[600];
    if (!strcmp(outcome, "quarantined")) {
        zg_gw_safe_name(rel, shown, sizeof(shown));
        sqlite3_bind_text(s, 10, shown, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(s, 3, size);
    sqlite3_bind_int64(s, 4, mtime);
    sqlite3_bind_text(s, 5, outcome, -1, SQLITE_STATIC);
    if (reason)
        sqlite3_bind_text(s, 6, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, records);
    sqlite3_bind_int64(s, 8, unmapped);
    sqlite3_bind_int64(s, 9, zg_clock_now());
    int r = sqlite3_step(s);
    int rc = r == SQLITE_DONE ? 0 : zg_db_fail(st->db, r, err);
    zg_db_release(s);
    return rc;
}

int zg_gw_enqueue(struct zg_gw_state *st, const char *source, const char *rel, int64_t size,
                  int64_t mtime, const char *outcome, const struct zg_gw_record *recs,
                  size_t n, struct zg_error *err)
{
    int rc = zg_db_begin(st->db, err);
    if (rc)
        return rc;
    int64_t unmapped = 0;
    for (size_t i = 0; i < n; i++) {
        unmapped += recs[i].unmapped;
        char *sealed = NULL, *body = json_dumps(recs[i].record, JSON_COMPACT | JSON_SORT_KEYS);
        if (!body || zg_seal_hex(st->key, recs[i].local_id, strlen(recs[i].local_id), &sealed)) {
            free(body);
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            goto fail;
        }
        sqlite3_stmt *s = zg_db_prepare(
            st->db,
            "INSERT OR IGNORE INTO queue(idem_key,kind,source,message_id,local_sealed,body,"
            "created_at) VALUES(?1,?2,?3,?4,?5,?6,?7)",
            err);
        if (!s) {
            free(body);
            free(sealed);
            rc = err->code;
            goto fail;
        }
        sqlite3_bind_text(s, 1, recs[i].idem_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, recs[i].kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, recs[i].source, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, recs[i].message_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, sealed, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, body, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 7, zg_clock_now());
        int r = sqlite3_step(s);
        zg_db_release(s);
        free(body);
        free(sealed);
        if (r != SQLITE_DONE) {
            rc = zg_db_fail(st->db, r, err);
            goto fail;
        }
    }
    if ((rc = record_file(st, source, rel, size, mtime, outcome, NULL, (int64_t)n, unmapped, err)))
        goto fail;
    return zg_db_commit(st->db, err);
fail:
    zg_db_rollback(st->db);
    return rc;
}

int zg_gw_forget_files(struct zg_gw_state *st, const char *outcome, int64_t *n,
                       struct zg_error *err)
{
    *n = 0;
    sqlite3_stmt *s = zg_db_prepare(st->db, "DELETE FROM files WHERE ?1 IS NULL OR outcome=?1", err);
    if (!s)
        return err->code;
    if (outcome)
        sqlite3_bind_text(s, 1, outcome, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    zg_db_release(s);
    if (r != SQLITE_DONE)
        return zg_db_fail(st->db, r, err);
    *n = sqlite3_changes(st->db);
    return 0;
}

int zg_gw_skip(struct zg_gw_state *st, const char *source, const char *rel, int64_t size,
               int64_t mtime, const char *reason, struct zg_error *err)
{
    return record_file(st, source, rel, size, mtime, "skipped", reason, 0, 0, err);
}

int zg_gw_quarantine(struct zg_gw_state *st, const char *source, const char *rel, int64_t size,
                     int64_t mtime, const char *raw, size_t n, const char *reason,
                     struct zg_error *err)
{
    /* quarantine/<source>__<printable name, / → _>__<8 hex of the path hash>: names without
     * the patient ID (the copy itself is the raw message: keep the folder in the hospital) */
    char shown[600], rh[ZG_SHA256_HEX], name[700], path[1800];
    zg_gw_safe_name(rel, shown, sizeof(shown));
    rel_hash(st, source, rel, rh);
    size_t k = 0;
    for (const char *p = source; *p && k < 60; p++)
        name[k++] = (*p == '/' || *p == '.') ? '_' : *p;
    name[k++] = '_';
    name[k++] = '_';
    for (const char *p = shown; *p && k < 600; p++)
        name[k++] = (*p == '/' || *p == '*') ? '_' : *p;
    snprintf(name + k, sizeof(name) - k, "__%.8s", rh);
    snprintf(path, sizeof(path), "%s/quarantine/%s", st->dir, name);
    int rc = zg_gw_write_file_atomic(path, raw, n, err);
    if (rc)
        return rc;
    char rpath[1900], text[1400];
    snprintf(rpath, sizeof(rpath), "%s.reason.txt", path);
    int tl = snprintf(text, sizeof(text), "file: %s\nsource: %s\nquarantined as: %s\nreason: %s\n",
                      shown, source, name, reason);
    if ((rc = zg_gw_write_file_atomic(rpath, text, (size_t)tl < sizeof(text) ? (size_t)tl : sizeof(text) - 1, err)))
        return rc;
    return record_file(st, source, rel, size, mtime, "quarantined", reason, 0, 0, err);
}

/* --- meta ---------------------------------------------------------------------------- */

static void meta_set(struct zg_gw_state *st, const char *k, const char *v)
{
    struct zg_error e = {0};
    sqlite3_stmt *s = zg_db_prepare(st->db, "INSERT OR REPLACE INTO meta(k,v) VALUES(?1,?2)", &e);
    if (!s)
        return;
    sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
    if (v)
        sqlite3_bind_text(s, 2, v, -1, SQLITE_STATIC);
    sqlite3_step(s);
    zg_db_release(s);
}

/* --- the push loop ------------------------------------------------------------------- */

struct item {
    int64_t seq;
    int attempts;
    int64_t next_at;
    char idem[80], source[64], msgid[80];
    char *local; /* unsealed, wiped and freed after use */
    char *body;
};

static void item_release(struct item *it)
{
    if (it->local) {
        zg_wipe(it->local, strlen(it->local));
        free(it->local);
    }
    free(it->body);
    memset(it, 0, sizeof(*it));
}

/* Next pending item in queue order; *found false when the queue is empty. */
static int next_item(struct zg_gw_state *st, struct item *it, bool *found, struct zg_error *err)
{
    *found = false;
    sqlite3_stmt *s = zg_db_prepare(
        st->db,
        "SELECT seq,attempts,next_at,idem_key,source,message_id,local_sealed,body FROM queue"
        " WHERE state='pending' ORDER BY seq LIMIT 1",
        err);
    if (!s)
        return err->code;
    int rc = 0, r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        it->seq = sqlite3_column_int64(s, 0);
        it->attempts = sqlite3_column_int(s, 1);
        it->next_at = sqlite3_column_int64(s, 2);
        snprintf(it->idem, sizeof(it->idem), "%s", zg_db_text(s, 3));
        snprintf(it->source, sizeof(it->source), "%s", zg_db_text(s, 4));
        snprintf(it->msgid, sizeof(it->msgid), "%s", zg_db_text(s, 5));
        size_t ln;
        if (zg_open_hex(st->key, zg_db_text(s, 6), &it->local, &ln))
            rc = zg_error_set(err, ZG_ECORRUPT, "", "queue item %lld: sealed patient ID does not open (gateway.key changed?)",
                              (long long)it->seq);
        it->body = strdup(zg_db_text(s, 7));
        if (!rc && !it->body)
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        *found = rc == 0;
    } else if (r != SQLITE_DONE) {
        rc = zg_db_fail(st->db, r, err);
    }
    zg_db_release(s);
    return rc;
}

static int item_update(struct zg_gw_state *st, const struct item *it, const char *state,
                       int attempts, int64_t next_at, long status, const char *error,
                       const char *case_id, struct zg_error *err)
{
    sqlite3_stmt *s = zg_db_prepare(
        st->db,
        "UPDATE queue SET state=?2, attempts=?3, next_at=?4, last_status=?5, last_error=?6,"
        " sent_at=CASE WHEN ?2='sent' THEN ?7 ELSE sent_at END, case_id=COALESCE(?8,case_id)"
        " WHERE seq=?1",
        err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, it->seq);
    sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, attempts);
    sqlite3_bind_int64(s, 4, next_at);
    sqlite3_bind_int64(s, 5, status);
    if (error)
        sqlite3_bind_text(s, 6, error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, zg_clock_now());
    if (case_id)
        sqlite3_bind_text(s, 8, case_id, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    int rc = r == SQLITE_DONE ? 0 : zg_db_fail(st->db, r, err);
    zg_db_release(s);
    return rc;
}

/* Lookup hash of a local patient ID under the gateway key (hex). */
static void lookup_of(struct zg_gw_state *st, const char *local, char out[ZG_SHA256_HEX])
{
    unsigned char h[ZG_SHA256_LEN];
    zg_hmac_sha256(st->key, ZG_KEY_LEN, local, strlen(local), h);
    zg_hex_encode(h, sizeof(h), out);
}

static int cache_get(struct zg_gw_state *st, const char *local, char participant[32],
                     char case_id[32], bool *found, struct zg_error *err)
{
    *found = false;
    char lk[ZG_SHA256_HEX];
    lookup_of(st, local, lk);
    sqlite3_stmt *s = zg_db_prepare(st->db, "SELECT sealed FROM linkage WHERE lookup=?1", err);
    if (!s)
        return err->code;
    sqlite3_bind_text(s, 1, lk, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        char *plain = NULL;
        size_t n;
        if (zg_open_hex(st->key, zg_db_text(s, 0), &plain, &n) == 0) {
            char *tab = strchr(plain, '\t');
            if (tab && tab - plain < 32 && strlen(tab + 1) < 32) {
                snprintf(participant, 32, "%.*s", (int)(tab - plain), plain);
                snprintf(case_id, 32, "%s", tab + 1);
                *found = true;
            }
            free(plain);
        }
    }
    zg_db_release(s);
    return rc;
}

static int cache_put(struct zg_gw_state *st, const char *local, const char *participant,
                     const char *case_id, struct zg_error *err)
{
    char lk[ZG_SHA256_HEX], plain[80], *sealed = NULL;
    lookup_of(st, local, lk);
    snprintf(plain, sizeof(plain), "%s\t%s", participant, case_id);
    if (zg_seal_hex(st->key, plain, strlen(plain), &sealed))
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    sqlite3_stmt *s = zg_db_prepare(
        st->db, "INSERT OR REPLACE INTO linkage(lookup,sealed,created_at) VALUES(?1,?2,?3)", err);
    if (!s) {
        free(sealed);
        return err->code;
    }
    sqlite3_bind_text(s, 1, lk, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, sealed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, zg_clock_now());
    int r = sqlite3_step(s);
    zg_db_release(s);
    free(sealed);
    return r == SQLITE_DONE ? 0 : zg_db_fail(st->db, r, err);
}

static int cache_drop(struct zg_gw_state *st, const char *local)
{
    char lk[ZG_SHA256_HEX];
    struct zg_error e = {0};
    lookup_of(st, local, lk);
    sqlite3_stmt *s = zg_db_prepare(st->db, "DELETE FROM linkage WHERE lookup=?1", &e);
    if (!s)
        return e.code;
    sqlite3_bind_text(s, 1, lk, -1, SQLITE_STATIC);
    sqlite3_step(s);
    zg_db_release(s);
    return 0;
}

/* Outcome of one exchange with the center. */
enum outcome { OK_DONE, TRANSIENT, PERMANENT };

/* Classifies an HTTP status. */
static enum outcome classify(long status)
{
    if (status >= 200 && status < 300)
        return OK_DONE;
    if (status == 0 || status == 401 || status == 403 || status == 408 || status == 429 ||
        status >= 500)
        return TRANSIENT; /* 401/403: the token must be fixed; keep the data until it is */
    return PERMANENT;
}

/* "status: detail (pointer: reason)" from a problem+json body, without echoing values. */
static void describe(long status, const struct zg_buf *resp, const struct zg_error *neterr,
                     char *out, size_t outsz)
{
    if (status == 0) {
        snprintf(out, outsz, "network: %s", neterr->reason);
        return;
    }
    json_t *j = json_loadb(resp->p, resp->len, 0, NULL);
    const char *title = json_string_value(json_object_get(j, "title"));
    const char *detail = json_string_value(json_object_get(j, "detail"));
    json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
    const char *ptr = json_string_value(json_object_get(e0, "pointer"));
    const char *why = json_string_value(json_object_get(e0, "reason"));
    if (ptr && why)
        snprintf(out, outsz, "HTTP %ld: %s: %s", status, ptr, why);
    else
        snprintf(out, outsz, "HTTP %ld: %s", status, detail ? detail : title ? title : "error");
    json_decref(j);
}

static void url_join(char *out, size_t outsz, const char *base, const char *path)
{
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    snprintf(out, outsz, "%.*s%s", (int)bl, base, path);
}

/* Resolves the participant and case of a local patient ID at the center (cache first).
 * Returns the outcome; on failure `why` says what happened. */
static enum outcome resolve_case(struct zg_gw_state *st, const struct zg_gw_center *c,
                                 const char *local, char case_id[32], long *status, char *why,
                                 size_t whysz)
{
    char participant[32];
    bool found = false;
    struct zg_error e = {0};
    if (cache_get(st, local, participant, case_id, &found, &e) == 0 && found)
        return OK_DONE;
    struct zg_buf resp;
    zg_buf_init(&resp, 0);
    char url[1200];
    const char *json_h[] = {"Content-Type: application/json", NULL};
    enum outcome oc;
    /* 1. linkage: the center turns the local ID into its participant (never stored there) */
    json_t *b = json_pack("{s:s}", "local_patient_id", local);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    url_join(url, sizeof(url), c->url, "/api/v1/linkage");
    int rc = body ? zg_gw_http("POST", url, c->token, c->cacert, json_h, body, strlen(body), c->timeout_s,
                               status, &resp, &e)
                  : ZG_ENOMEM;
    if (body) {
        zg_wipe(body, strlen(body));
        free(body);
    }
    if (rc)
        *status = 0;
    if ((oc = classify(*status)) != OK_DONE) {
        describe(*status, &resp, &e, why, whysz);
        goto out;
    }
    json_t *j = json_loadb(resp.p, resp.len, 0, NULL);
    const char *pid = json_string_value(json_object_get(j, "participant_id"));
    bool created = json_is_true(json_object_get(j, "created"));
    if (!pid || strlen(pid) >= sizeof(participant)) {
        json_decref(j);
        snprintf(why, whysz, "linkage: unexpected response");
        oc = TRANSIENT;
        goto out;
    }
    snprintf(participant, sizeof(participant), "%s", pid);
    json_decref(j);
    /* 2. the participant's case at this hospital: an earlier attempt may have created it
     *    without hearing the answer, so look before creating (only a brand-new participant
     *    can have no case) */
    case_id[0] = '\0';
    if (!created) {
        char after[40] = "";
        for (int page = 0; page < 10000 && !case_id[0]; page++) {
            char path[200];
            snprintf(path, sizeof(path), "/api/v1/cases?limit=1000%s%s", after[0] ? "&after=" : "",
                     after);
            url_join(url, sizeof(url), c->url, path);
            if (zg_gw_http("GET", url, c->token, c->cacert, NULL, NULL, 0, c->timeout_s, status, &resp, &e))
                *status = 0;
            if ((oc = classify(*status)) != OK_DONE) {
                describe(*status, &resp, &e, why, whysz);
                goto out;
            }
            j = json_loadb(resp.p, resp.len, 0, NULL);
            json_t *cases = json_object_get(j, "cases"), *x;
            size_t i;
            json_array_foreach(cases, i, x) {
                if (!strcmp(json_string_value(json_object_get(x, "participant_id")) ?: "",
                            participant)) {
                    snprintf(case_id, 32, "%s", json_string_value(json_object_get(x, "id")) ?: "");
                    break;
                }
            }
            const char *next = json_string_value(json_object_get(j, "next_after"));
            bool more = next && *next && json_array_size(cases) > 0 && strlen(next) < sizeof(after);
            if (more)
                snprintf(after, sizeof(after), "%s", next);
            json_decref(j);
            if (!more)
                break;
        }
    }
    if (!case_id[0]) {
        b = json_pack("{s:s}", "participant_id", participant);
        body = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        url_join(url, sizeof(url), c->url, "/api/v1/cases");
        if (!body || zg_gw_http("POST", url, c->token, c->cacert, json_h, body, strlen(body), c->timeout_s,
                                status, &resp, &e))
            *status = 0;
        free(body);
        if ((oc = classify(*status)) != OK_DONE) {
            describe(*status, &resp, &e, why, whysz);
            goto out;
        }
        j = json_loadb(resp.p, resp.len, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "id"));
        if (id && strlen(id) < 32)
            snprintf(case_id, 32, "%s", id);
        json_decref(j);
        if (!case_id[0]) {
            snprintf(why, whysz, "case creation: unexpected response");
            oc = TRANSIENT;
            goto out;
        }
    }
    if (cache_put(st, local, participant, case_id, &e)) {
        snprintf(why, whysz, "local state: %s", e.reason);
        oc = TRANSIENT;
        goto out;
    }
    oc = OK_DONE;
out:
    zg_buf_release(&resp);
    return oc;
}

int zg_gw_push_due(struct zg_gw_state *st, const struct zg_gw_center *c, int max_items,
                   int *sent, int *rejected, bool *blocked, struct zg_error *err)
{
    *sent = *rejected = 0;
    *blocked = false;
    struct zg_buf resp;
    zg_buf_init(&resp, 0);
    int rc = 0;
    for (int n = 0; n < max_items; n++) {
        struct item it = {0};
        bool found;
        if ((rc = next_item(st, &it, &found, err)) || !found) {
            item_release(&it);
            break;
        }
        if (it.next_at > zg_clock_now()) { /* backing off */
            *blocked = true;
            item_release(&it);
            break;
        }
        char case_id[32], why[512] = "";
        long status = 0;
        enum outcome oc = resolve_case(st, c, it.local, case_id, &status, why, sizeof(why));
        if (oc == OK_DONE) {
            char url[1200], path[128], h1[200], h2[120], h3[200];
            snprintf(path, sizeof(path), "/api/v1/cases/%s/clinical", case_id);
            url_join(url, sizeof(url), c->url, path);
            snprintf(h1, sizeof(h1), "Idempotency-Key: %s", it.idem);
            snprintf(h2, sizeof(h2), "X-Source-System: gateway/%s", "ssmix2");
            snprintf(h3, sizeof(h3), "X-Source-Message-Id: %s", it.msgid[0] ? it.msgid : it.idem);
            if (!strncmp(it.idem, "csv-", 4))
                snprintf(h2, sizeof(h2), "X-Source-System: gateway/csv");
            const char *hdrs[] = {"Content-Type: application/json", h1, h2, h3, NULL};
            struct zg_error e = {0};
            if (zg_gw_http("PATCH", url, c->token, c->cacert, hdrs, it.body, strlen(it.body), c->timeout_s,
                           &status, &resp, &e))
                status = 0;
            oc = classify(status);
            if (status == 404) {
                /* the case is gone at the center (or our cache is stale): resolve again */
                cache_drop(st, it.local);
                oc = TRANSIENT;
            }
            if (oc != OK_DONE)
                describe(status, &resp, &e, why, sizeof(why));
        }
        int urc;
        if (oc == OK_DONE) {
            urc = item_update(st, &it, "sent", it.attempts + 1, 0, status, NULL, case_id, err);
            (*sent)++;
            char ts[32];
            snprintf(ts, sizeof(ts), "%lld", (long long)zg_clock_now());
            meta_set(st, "last_push_at", ts);
        } else if (oc == PERMANENT) {
            urc = item_update(st, &it, "rejected", it.attempts + 1, 0, status, why, NULL, err);
            (*rejected)++;
            zg_log(ZG_LOG_WARN, "gateway: queue item %lld (%s) rejected by the center: %s",
                   (long long)it.seq, it.source, why);
        } else {
            int64_t wait = zg_gw_backoff(it.attempts, st->base_backoff, st->cap_backoff);
            urc = item_update(st, &it, "pending", it.attempts + 1, zg_clock_now() + wait, status, why,
                              NULL, err);
            meta_set(st, "last_error", why);
            zg_log(ZG_LOG_WARN, "gateway: push failed (%s); retry %d in %llds", why,
                   it.attempts + 1, (long long)wait);
            *blocked = true;
        }
        item_release(&it);
        if (urc) {
            rc = urc;
            break;
        }
        if (*blocked)
            break;
    }
    zg_buf_release(&resp);
    return rc;
}

/* --- status -------------------------------------------------------------------------- */

static int64_t count(struct zg_gw_state *st, const char *sql, const char *arg)
{
    struct zg_error e = {0};
    sqlite3_stmt *s = zg_db_prepare(st->db, sql, &e);
    if (!s)
        return -1;
    if (arg)
        sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    zg_db_release(s);
    return n;
}

json_t *zg_gw_status(struct zg_gw_state *st, struct zg_error *err)
{
    json_t *q = json_object(), *f = json_object();
    static const char *const qs[] = {"pending", "sent", "rejected"};
    for (size_t i = 0; i < ZG_ARRAY_LEN(qs); i++)
        json_object_set_new(q, qs[i], json_integer(count(st, "SELECT count(*) FROM queue WHERE state=?1", qs[i])));
    static const char *const fs[] = {"queued", "quarantined", "skipped"};
    for (size_t i = 0; i < ZG_ARRAY_LEN(fs); i++)
        json_object_set_new(f, fs[i], json_integer(count(st, "SELECT count(*) FROM files WHERE outcome=?1", fs[i])));
    json_t *j = json_pack("{s:o,s:o,s:I,s:I}", "queue", q, "files", f, "linkage_cached",
                          (json_int_t)count(st, "SELECT count(*) FROM linkage", NULL),
                          "unmapped_items",
                          (json_int_t)count(st, "SELECT coalesce(sum(unmapped),0) FROM files", NULL));
    int64_t next = count(st, "SELECT min(next_at) FROM queue WHERE state='pending' AND next_at>0", NULL);
    if (next > 0)
        json_object_set_new(j, "next_retry_at", json_integer(next));
    sqlite3_stmt *s = zg_db_prepare(st->db, "SELECT k, v FROM meta", err);
    if (s) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            const char *k = zg_db_text(s, 0), *v = zg_db_text(s, 1);
            if (!strcmp(k, "last_push_at"))
                json_object_set_new(j, k, json_integer(strtoll(v, NULL, 10)));
            else
                json_object_set_new(j, k, json_string(v));
        }
        zg_db_release(s);
    }
    /* the latest rejections and quarantined files, with their reasons (no patient data) */
    json_t *rej = json_array();
    s = zg_db_prepare(st->db, "SELECT seq, source, last_status, last_error FROM queue"
                              " WHERE state='rejected' ORDER BY seq DESC LIMIT 20", err);
    if (s) {
        while (sqlite3_step(s) == SQLITE_ROW)
            json_array_append_new(rej, json_pack("{s:I,s:s,s:I,s:s}", "seq",
                                                 (json_int_t)sqlite3_column_int64(s, 0), "message_type",
                                                 zg_db_text(s, 1), "status",
                                                 (json_int_t)sqlite3_column_int64(s, 2), "reason",
                                                 zg_db_text(s, 3)));
        zg_db_release(s);
    }
    json_object_set_new(j, "rejected", rej);
    json_t *qa = json_array();
    s = zg_db_prepare(st->db, "SELECT rel, reason FROM files WHERE outcome='quarantined'"
                              " ORDER BY at DESC LIMIT 20", err);
    if (s) {
        while (sqlite3_step(s) == SQLITE_ROW)
            json_array_append_new(qa, json_pack("{s:s,s:s}", "file", zg_db_text(s, 0), "reason",
                                                zg_db_text(s, 1)));
        zg_db_release(s);
    }
    json_object_set_new(j, "quarantine", qa);
    json_t *sk = json_object();
    s = zg_db_prepare(st->db, "SELECT coalesce(reason,'-'), count(*) FROM files"
                              " WHERE outcome='skipped' GROUP BY 1 ORDER BY 2 DESC LIMIT 50", err);
    if (s) {
        while (sqlite3_step(s) == SQLITE_ROW)
            json_object_set_new(sk, zg_db_text(s, 0), json_integer(sqlite3_column_int64(s, 1)));
        zg_db_release(s);
    }
    json_object_set_new(j, "skipped_by_reason", sk);
    return j;
}

int zg_gw_write_status(struct zg_gw_state *st, json_t *extra, struct zg_error *err)
{
    json_t *j = zg_gw_status(st, err);
    if (!j)
        return err->code ? err->code : ZG_ENOMEM;
    if (extra)
        json_object_update(j, extra);
    json_object_set_new(j, "updated_at", json_integer(zg_clock_now()));
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(j);
    if (!text)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    char path[1100];
    snprintf(path, sizeof(path), "%s/status.json", st->dir);
    int rc = zg_gw_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}
