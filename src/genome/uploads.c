/* Streaming, resumable uploads: chunks are appended at their offset to a part file under
 * DATA/files/uploads/; finishing verifies size and SHA-256 and registers the file.
 *
 * The digests (SHA-256 and MD5) are taken as the chunks arrive, in this process's memory, by a
 * hasher thread that reads each chunk back (from the page cache) after its request has been
 * answered, while the client sends the next one: a finish then does not read the whole file
 * again (~2 s a GB) and, for a file that needs no index built, returns at once. They are a
 * cache: after a restart, or when chunks came through another process, finish reads the file.
 * Finish holds no database lock while it reads, checks and indexes the data; only the file's row
 * and the upload's state are written in one short transaction at the end. */
#include "files.h"
#include "files_internal.h"
#include "common/error.h"
#include "common/clock.h"
#include "crypto/crypto.h"
#include "store/db.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_UPLOAD_SIZE (INT64_C(1) << 42) /* 4 TiB */

/* --- running digests of open uploads ----------------------------------------------------- */

/* uploads in flight with running digests; beyond, the least recently used is dropped */
#define MAX_DIGESTS 256

struct digest {
    char id[33];
    int64_t upto; /* bytes [0, upto) went into dg */
    struct zg_file_digests dg;
    uint64_t used; /* for dropping the least recently used */
};

static pthread_mutex_t digests_mu = PTHREAD_MUTEX_INITIALIZER;
static struct digest digests[MAX_DIGESTS];
static uint64_t digests_clock, digests_hits;

static void digest_drop(struct digest *d)
{
    zg_file_digests_free(&d->dg);
    memset(d, 0, sizeof(*d));
}

/* The slot of id (caller holds digests_mu), or NULL. */
static struct digest *digest_find(const char *id)
{
    for (size_t i = 0; i < MAX_DIGESTS; i++)
        if (digests[i].id[0] && !strcmp(digests[i].id, id))
            return &digests[i];
    return NULL;
}

/* Bytes [at, at + n) were just written: they extend the digests of id when these reach exactly
 * to at (a new upload's start at 0 begins them); anything else drops them, and finish reads the
 * file. */
static void digest_note(const char *id, int64_t at, const void *p, size_t n)
{
    pthread_mutex_lock(&digests_mu);
    struct digest *d = digest_find(id);
    if (!d && at == 0) {
        struct digest *old = &digests[0];
        for (size_t i = 0; i < MAX_DIGESTS && (d = &digests[i])->id[0]; i++)
            if (d->used < old->used)
                old = d;
        if (d->id[0]) { /* full: the least recently used goes */
            digest_drop(old);
            d = old;
        }
        snprintf(d->id, sizeof(d->id), "%s", id);
        if (zg_file_digests_begin(&d->dg)) {
            digest_drop(d);
            d = NULL;
        }
    }
    if (d && d->upto == at) {
        zg_file_digests_update(&d->dg, p, n);
        d->upto = at + (int64_t)n;
        d->used = ++digests_clock;
    } else if (d) {
        digest_drop(d);
    }
    pthread_mutex_unlock(&digests_mu);
}

/* Takes the digests of id when they cover exactly size bytes (1), else forgets them (0). */
static int digest_take(const char *id, int64_t size, char sha[65], char md5[33])
{
    int got = 0;
    pthread_mutex_lock(&digests_mu);
    struct digest *d = digest_find(id);
    if (d && d->upto == size) {
        got = zg_file_digests_end(&d->dg, sha, md5);
        digests_hits += (uint64_t)got;
    }
    if (d)
        digest_drop(d);
    pthread_mutex_unlock(&digests_mu);
    return got;
}

/* --- the hasher: chunks are hashed after their request is answered ----------------------- */

#define HASH_QUEUE 64 /* chunks waiting; when full, that upload's digests are dropped */

struct hash_job {
    char id[33];
    char path[1200];
    int64_t at, n;
};

static pthread_mutex_t queue_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cv = PTHREAD_COND_INITIALIZER, queue_done = PTHREAD_COND_INITIALIZER;
static struct hash_job queue[HASH_QUEUE];
static size_t queue_head, queue_len;
static char queue_busy[33]; /* the upload being hashed now, "" for none */
static bool hasher_started;

static void hash_range(const struct hash_job *j, unsigned char *buf)
{
    int fd = buf ? open(j->path, O_RDONLY | O_CLOEXEC) : -1;
    for (int64_t off = 0; fd >= 0 && off < j->n;) {
        size_t want = j->n - off < (int64_t)(1u << 20) ? (size_t)(j->n - off) : 1u << 20;
        ssize_t r = pread(fd, buf, want, (off_t)(j->at + off));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        digest_note(j->id, j->at + off, buf, (size_t)r);
        off += r;
        if (off == j->n) {
            close(fd);
            return;
        }
    }
    digest_note(j->id, -1, NULL, 0); /* unreadable (finished meanwhile, or gone): no digests */
    if (fd >= 0)
        close(fd);
}

static void *hasher(void *arg)
{
    (void)arg;
    unsigned char *buf = malloc(1u << 20);
    for (;;) {
        pthread_mutex_lock(&queue_mu);
        while (!queue_len)
            pthread_cond_wait(&queue_cv, &queue_mu);
        struct hash_job j = queue[queue_head];
        queue_head = (queue_head + 1) % HASH_QUEUE;
        queue_len--;
        memcpy(queue_busy, j.id, sizeof(queue_busy));
        pthread_mutex_unlock(&queue_mu);
        hash_range(&j, buf);
        pthread_mutex_lock(&queue_mu);
        queue_busy[0] = '\0';
        pthread_cond_broadcast(&queue_done);
        pthread_mutex_unlock(&queue_mu);
    }
    return NULL;
}

/* Bytes [at, at + n) of the upload id (its part file at path) are durable: the hasher takes
 * them into its digests. */
static void hash_later(const char *id, const char *path, int64_t at, int64_t n)
{
    pthread_mutex_lock(&queue_mu);
    if (!hasher_started) {
        pthread_attr_t a;
        pthread_t t;
        if (!pthread_attr_init(&a)) {
            pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
            hasher_started = pthread_create(&t, &a, hasher, NULL) == 0;
            pthread_attr_destroy(&a);
        }
    }
    bool queued = hasher_started && queue_len < HASH_QUEUE;
    if (queued) {
        struct hash_job *j = &queue[(queue_head + queue_len) % HASH_QUEUE];
        snprintf(j->id, sizeof(j->id), "%s", id);
        snprintf(j->path, sizeof(j->path), "%s", path);
        j->at = at;
        j->n = n;
        queue_len++;
        pthread_cond_signal(&queue_cv);
    }
    pthread_mutex_unlock(&queue_mu);
    if (!queued)
        digest_note(id, -1, NULL, 0);
}

/* Waits until the hasher has taken every chunk of id queued so far. */
static void hash_wait(const char *id)
{
    pthread_mutex_lock(&queue_mu);
    for (;;) {
        bool pending = !strcmp(queue_busy, id);
        for (size_t i = 0; i < queue_len && !pending; i++)
            pending = !strcmp(queue[(queue_head + i) % HASH_QUEUE].id, id);
        if (!pending)
            break;
        pthread_cond_wait(&queue_done, &queue_mu);
    }
    pthread_mutex_unlock(&queue_mu);
}

uint64_t zg_upload_digest_hits(void)
{
    pthread_mutex_lock(&digests_mu);
    uint64_t n = digests_hits;
    pthread_mutex_unlock(&digests_mu);
    return n;
}

void zg_upload_digests_forget(void)
{
    pthread_mutex_lock(&queue_mu); /* what is queued goes too, and the chunk in hand is done */
    queue_len = 0;
    while (queue_busy[0])
        pthread_cond_wait(&queue_done, &queue_mu);
    pthread_mutex_unlock(&queue_mu);
    pthread_mutex_lock(&digests_mu);
    for (size_t i = 0; i < MAX_DIGESTS; i++)
        if (digests[i].id[0])
            digest_drop(&digests[i]);
    pthread_mutex_unlock(&digests_mu);
}

static bool valid_upload_id(const char *id)
{
    if (!id || strlen(id) != 32)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

static void part_path(const struct zg_datadir *dd, const char *id, char *out, size_t n)
{
    char root[1024];
    zg_datadir_file(dd, "files/uploads", root, sizeof(root));
    snprintf(out, n, "%s/%s.part", root, id);
}

static void set_opt(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

int zg_upload_begin(const struct zg_datadir *dd, sqlite3 *db, int64_t expected_size,
                    const char *sha256, const struct zg_file_add_opts *opts, int64_t user_id,
                    char id_out[33], struct zg_error *err)
{
    if (expected_size <= 0 || expected_size > MAX_UPLOAD_SIZE)
        return zg_error_set(err, ZG_EINVAL, "size", "must be between 1 byte and 4 TiB");
    unsigned char raw[32];
    if (!sha256 || strlen(sha256) != 64 || zg_hex_decode(sha256, raw, 32))
        return zg_error_set(err, ZG_EINVAL, "sha256", "must be 64 hexadecimal digits");
    int64_t org = 0;
    if (!opts->case_id || zg_case_org(db, opts->case_id, &org, err))
        return zg_error_set(err, ZG_ENOTFOUND, "case_id", "no such case");
    char root[1024];
    zg_datadir_file(dd, "files/uploads", root, sizeof(root));
    int rc = zg_genome_mkdirs(root, err);
    if (rc)
        return rc;
    unsigned char rnd[16];
    zg_random_bytes(rnd, sizeof(rnd));
    zg_hex_encode(rnd, sizeof(rnd), id_out);
    char part[1200];
    part_path(dd, id_out, part, sizeof(part));
    int fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "", "cannot create the upload: %s", strerror(errno));
    close(fd);
    json_t *o = json_object();
    set_opt(o, "case_id", opts->case_id);
    set_opt(o, "specimen_id", opts->specimen_id);
    set_opt(o, "reference", opts->reference);
    set_opt(o, "pipeline", opts->pipeline);
    set_opt(o, "pipeline_version", opts->pipeline_version);
    set_opt(o, "data_kind", opts->data_kind);
    set_opt(o, "name", opts->name);
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char lower[65];
    for (int i = 0; i < 64; i++)
        lower[i] =
            (char)((sha256[i] >= 'A' && sha256[i] <= 'F') ? sha256[i] - 'A' + 'a' : sha256[i]);
    lower[64] = '\0';
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "INSERT INTO genome_uploads(id,user_id,expected_size,sha256,received,state,opts,"
        "created_at,updated_at) VALUES(?,?,?,?,0,'open',?,?,?)",
        err);
    if (!st) {
        free(txt);
        unlink(part);
        return err->code;
    }
    int64_t now = zg_clock_now();
    sqlite3_bind_text(st, 1, id_out, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, expected_size);
    sqlite3_bind_text(st, 4, lower, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, txt ? txt : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, now);
    int r = sqlite3_step(st);
    rc = r == SQLITE_DONE ? 0 : zg_db_fail(db, r, err);
    zg_db_release(st);
    free(txt);
    if (rc)
        unlink(part);
    return rc;
}

struct upload_row {
    int64_t expected, received;
    char sha[65], state[8];
    char file_id[32]; /* when done: the registered file */
    char *opts;
};

static int load_upload(sqlite3 *db, const char *id, struct upload_row *u, struct zg_error *err)
{
    if (!valid_upload_id(id))
        return zg_error_set(err, ZG_EINVAL, "id", "is not an upload id");
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "SELECT expected_size,received,sha256,state,opts,IFNULL(file_id,'') FROM genome_uploads "
        "WHERE id=?",
        err);
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW) {
        u->expected = sqlite3_column_int64(st, 0);
        u->received = sqlite3_column_int64(st, 1);
        snprintf(u->sha, sizeof(u->sha), "%s", zg_db_text(st, 2));
        snprintf(u->state, sizeof(u->state), "%s", zg_db_text(st, 3));
        u->opts = strdup(zg_db_text(st, 4));
        snprintf(u->file_id, sizeof(u->file_id), "%s", zg_db_text(st, 5));
        if (!u->opts)
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    } else if (r == SQLITE_DONE) {
        rc = zg_error_set(err, ZG_ENOTFOUND, "id", "no such upload");
    } else {
        rc = zg_db_fail(db, r, err);
    }
    zg_db_release(st);
    return rc;
}

static int set_state(sqlite3 *db, const char *id, int64_t received, const char *state,
                     const char *file_id, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db, "UPDATE genome_uploads SET received=?, state=?, file_id=?, updated_at=? WHERE id=?",
        err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, received);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    if (file_id)
        sqlite3_bind_text(st, 3, file_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, zg_clock_now());
    sqlite3_bind_text(st, 5, id, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    zg_db_release(st);
    return r == SQLITE_DONE ? 0 : zg_db_fail(db, r, err);
}

/* Checks a chunk against the upload's row: 1 when it has new bytes to write (u filled), 0 when
 * it is already stored (or the upload is complete and it adds nothing), else an error. */
static int chunk_check(sqlite3 *db, const char *id, int64_t offset, size_t n, struct upload_row *u,
                       int64_t *received_out, struct zg_error *err)
{
    int rc = load_upload(db, id, u, err);
    if (rc)
        return rc;
    free(u->opts);
    u->opts = NULL;
    if (strcmp(u->state, "open"))
        return zg_error_set(err, ZG_ENOTFOUND, "id", "the upload is %s", u->state);
    *received_out = u->received;
    if (offset < 0 || offset > u->received)
        return zg_error_set(err, ZG_ECONFLICT, "offset",
                            "expected offset %lld (bytes received so far)", (long long)u->received);
    if (offset + (int64_t)n <= u->received)
        return 0; /* a resent chunk that is already stored */
    if (offset + (int64_t)n > u->expected)
        return zg_error_set(err, ZG_ETOOBIG, "size", "the upload would exceed its declared size");
    return 1;
}

int zg_upload_append(const struct zg_datadir *dd, sqlite3 *db, const char *id, int64_t offset,
                     const void *data, size_t n, int64_t *received_out, struct zg_error *err)
{
    struct upload_row u = {0};
    int rc = chunk_check(db, id, offset, n, &u, received_out, err);
    if (rc <= 0)
        return rc;
    char part[1200];
    part_path(dd, id, part, sizeof(part));
    int fd = open(part, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "", "cannot open the upload: %s", strerror(errno));
    /* one writer of an upload at a time (the file lock, not the database's: other writes go on
     * while the chunk is written and made durable); the row is read again under it */
    if (flock(fd, LOCK_EX)) {
        close(fd);
        return zg_error_set(err, ZG_EIO, "", "cannot lock the upload: %s", strerror(errno));
    }
    if ((rc = chunk_check(db, id, offset, n, &u, received_out, err)) <= 0) {
        close(fd);
        return rc;
    }
    /* a chunk overlapping the stored tail: write only its new part */
    size_t skip = (size_t)(u.received - offset);
    const unsigned char *p = (const unsigned char *)data + skip;
    size_t left = n - skip;
    off_t at = (off_t)u.received;
    while (left > 0) {
        ssize_t w = pwrite(fd, p, left, at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            close(fd);
            return zg_error_set(err, ZG_EIO, "", "write failed: %s", strerror(errno));
        }
        p += w;
        left -= (size_t)w;
        at += w;
    }
    if (fdatasync(fd)) {
        digest_note(id, -1, NULL, 0);
        close(fd);
        return zg_error_set(err, ZG_EIO, "", "fsync failed: %s", strerror(errno));
    }
    /* recorded while the file lock is held: no other chunk can have moved received */
    int64_t done = offset + (int64_t)n;
    sqlite3_stmt *st = zg_db_prepare(
        db, "UPDATE genome_uploads SET received=?, updated_at=? WHERE id=? AND received=?", err);
    if (!st) {
        close(fd);
        return err->code;
    }
    sqlite3_bind_int64(st, 1, done);
    sqlite3_bind_int64(st, 2, zg_clock_now());
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, u.received);
    int r = sqlite3_step(st);
    rc = r == SQLITE_DONE ? 0 : zg_db_fail(db, r, err);
    zg_db_release(st);
    if (!rc && sqlite3_changes(db) != 1)
        rc = zg_error_set(err, ZG_ECONFLICT, "offset",
                          "the upload changed meanwhile: ask for its"
                          " state and resume from there");
    if (rc) { /* the chunk will be sent again: its digests start over from what is recorded */
        digest_note(id, -1, NULL, 0);
    } else {
        *received_out = done;
        hash_later(id, part, u.received, (int64_t)(n - skip));
    }
    close(fd);
    return rc;
}

int zg_upload_owner(sqlite3 *db, const char *id, int64_t *user_id, struct zg_error *err)
{
    if (!valid_upload_id(id))
        return zg_error_set(err, ZG_EINVAL, "id", "is not an upload id");
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT user_id FROM genome_uploads WHERE id=?", err);
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW)
        *user_id = sqlite3_column_int64(st, 0);
    else
        rc = r == SQLITE_DONE ? zg_error_set(err, ZG_ENOTFOUND, "id", "no such upload")
                              : zg_db_fail(db, r, err);
    zg_db_release(st);
    return rc;
}

json_t *zg_upload_status(sqlite3 *db, const char *id, struct zg_error *err)
{
    struct upload_row u = {0};
    if (load_upload(db, id, &u, err))
        return NULL;
    free(u.opts);
    json_t *j = json_pack("{s:s,s:I,s:I,s:s}", "id", id, "expected_size", (json_int_t)u.expected,
                          "received", (json_int_t)u.received, "state", u.state);
    json_object_set_new(j, "file_id", u.file_id[0] ? json_string(u.file_id) : json_null());
    return j;
}

static const char *jopt(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

struct finishing {
    const char *id, *index_id;
    int64_t received, index_received;
};

/* Run in the transaction that records the file: the upload (and its index's) is done with it. */
static int mark_done(void *ctx, sqlite3 *db, const struct zg_file_info *f, struct zg_error *err)
{
    const struct finishing *fin = ctx;
    int rc = set_state(db, fin->id, fin->received, "done", f->id, err);
    if (!rc && fin->index_id)
        rc = set_state(db, fin->index_id, fin->index_received, "done", f->id, err);
    return rc;
}

/* Takes an upload for finishing: it must be open with every byte received; its part file is
 * opened into *lk and locked (the kernel drops the lock if this process dies), and the row is
 * read again under the lock (another finish may have completed in between). field names the
 * upload in errors ("id", "index_upload"). */
static int claim(const struct zg_datadir *dd, sqlite3 *db, const char *id, const char *field,
                 struct upload_row *u, char part[1200], int *lk, struct zg_error *err)
{
    *lk = -1;
    int rc = load_upload(db, id, u, err);
    if (rc)
        return rc;
    free(u->opts);
    u->opts = NULL;
    if (strcmp(u->state, "open"))
        return zg_error_set(err, ZG_ENOTFOUND, field, "the upload is %s", u->state);
    if (u->received != u->expected)
        return zg_error_set(err, ZG_ECONFLICT, field, "received %lld of %lld bytes",
                            (long long)u->received, (long long)u->expected);
    part_path(dd, id, part, 1200);
    int fd = open(part, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return zg_error_set(err, ZG_ECONFLICT, field,
                            "the upload's data is not there: it is being finished, or an "
                            "earlier finish was interrupted (then start a new upload)");
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        close(fd);
        return zg_error_set(err, ZG_ECONFLICT, field,
                            "the upload is busy: a chunk is being written or it is being "
                            "finished");
    }
    struct stat a, b;
    struct upload_row now = {0};
    if (fstat(fd, &a) || stat(part, &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev ||
        (rc = load_upload(db, id, &now, err)) || strcmp(now.state, "open")) {
        free(now.opts);
        close(fd);
        return rc ? rc
                  : zg_error_set(err, ZG_ENOTFOUND, field, "the upload is %s",
                                 now.state[0] ? now.state : "finished");
    }
    u->opts = now.opts; /* what begin recorded */
    *lk = fd;
    return 0;
}

/* An open upload ends failed; with idle_before > 0 only when it has been idle since then.
 * *changed: whether it did. */
static int mark_failed(sqlite3 *db, const char *id, int64_t idle_before, bool *changed,
                       struct zg_error *err)
{
    *changed = false;
    sqlite3_stmt *st =
        zg_db_prepare(db,
                      "UPDATE genome_uploads SET state='failed', updated_at=?1"
                      " WHERE id=?2 AND state='open' AND (?3 = 0 OR updated_at < ?3)",
                      err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, zg_clock_now());
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, idle_before);
    int r = sqlite3_step(st);
    int rc = r == SQLITE_DONE ? 0 : zg_db_fail(db, r, err);
    *changed = !rc && sqlite3_changes(db) == 1;
    zg_db_release(st);
    return rc;
}

/* What was received is discarded, and the upload says so (if that cannot be written, it stays
 * open without its data, which a retried finish reports). */
static void discard(sqlite3 *db, const char *id, const char *part)
{
    unlink(part);
    struct zg_error e2;
    bool changed;
    if (mark_failed(db, id, 0, &changed, &e2)) {
        /* reported by the next finish, as said */
    }
}

/* The running digests of a claimed upload once the hasher has taken every chunk (true), or
 * false when they do not cover its size bytes (then the file must be read). */
static bool running_digests(const char *id, int64_t size, char sha[65], char md5[33])
{
    hash_wait(id);
    return digest_take(id, size, sha, md5);
}

static const char *const index_exts[] = {".bai", ".csi", ".crai", ".tbi", NULL};

int zg_upload_finish(const struct zg_datadir *dd, sqlite3 *db, const char *id, const char *index_id,
                     struct zg_file_info *out, struct zg_error *err)
{
    struct upload_row u = {0}, ui = {0};
    char part[1200], ipart[1200], ilink[1300] = "";
    int lk = -1, ilk = -1;
    json_t *o = NULL;
    int rc = claim(dd, db, id, "id", &u, part, &lk, err);
    if (rc)
        goto out;
    o = json_loads(u.opts, 0, NULL);
    char sha[65], md5[33];
    bool known = false;
    if (index_id) { /* an index sent as an upload of its own: htslib checks it against the data */
        if (!strcmp(index_id, id)) {
            rc = zg_error_set(err, ZG_EINVAL, "index_upload", "is this upload itself");
            goto out;
        }
        if ((rc = claim(dd, db, index_id, "index_upload", &ui, ipart, &ilk, err)))
            goto out;
        json_t *io = json_loads(ui.opts, 0, NULL);
        const char *name = jopt(io, "name"), *dot = name ? strrchr(name, '.') : NULL;
        size_t k = 0;
        while (dot && index_exts[k] && strcmp(dot, index_exts[k]))
            k++;
        bool named = dot && index_exts[k];
        if (named)
            snprintf(ilink, sizeof(ilink), "%.1100s.%s%s", part, index_id, dot);
        json_decref(io);
        if (!named) {
            rc = zg_error_set(err, ZG_EINVAL, "index_upload",
                              "must be named for its kind of index (….bai, .csi, .crai or .tbi)");
            goto out;
        }
        char isha[65], imd5[33];
        if (!running_digests(index_id, ui.expected, isha, imd5) &&
            (rc = zg_sha256_file(ipart, isha, err)))
            goto out;
        if (strcmp(isha, ui.sha)) {
            discard(db, index_id, ipart);
            rc = zg_error_set(err, ZG_EINVAL, "index_upload",
                              "the index received does not match its declared SHA-256; that "
                              "upload was discarded");
            goto out;
        }
        /* htslib knows an index by its name's end (a link left by a crash is replaced; both
         * uploads are held) */
        unlink(ilink);
        if (link(ipart, ilink)) {
            ilink[0] = '\0';
            rc = zg_error_set(err, ZG_EIO, "", "cannot link the index: %s", strerror(errno));
            goto out;
        }
    }
    /* the digests taken as the chunks came (else the registration reads the file for them) */
    known = running_digests(id, u.expected, sha, md5);
    struct finishing fin = {
        .id = id, .received = u.received, .index_id = index_id, .index_received = ui.received};
    struct zg_file_add_opts fo = {.case_id = jopt(o, "case_id"),
                                  .specimen_id = jopt(o, "specimen_id"),
                                  .reference = jopt(o, "reference"),
                                  .pipeline = jopt(o, "pipeline"),
                                  .pipeline_version = jopt(o, "pipeline_version"),
                                  .data_kind = jopt(o, "data_kind"),
                                  .name = jopt(o, "name") ? jopt(o, "name") : id,
                                  .index_path = ilink[0] ? ilink : NULL,
                                  .move = true,
                                  .expect_sha256 = u.sha,
                                  .known_md5 = known ? md5 : NULL,
                                  .known_size = u.expected,
                                  .recorded = mark_done,
                                  .recorded_ctx = &fin};
    if (known && strcmp(sha, u.sha))
        rc = zg_error_set(err, ZG_EINVAL, "sha256",
                          "the data received does not match the declared SHA-256; the upload "
                          "was discarded");
    else /* checked, validated, indexed and moved into the store with no database lock held */
        rc = zg_file_add(dd, db, part, &fo, out, err);
    if (!rc && index_id)
        unlink(ipart);
    if (rc == ZG_EINVAL && index_id && !strcmp(err->field, "index")) {
        /* the index does not fit the data: it goes, the data stays for another finish */
        discard(db, index_id, ipart);
        snprintf(err->field, sizeof(err->field), "index_upload");
    } else if (rc == ZG_EINVAL) { /* not the declared data, or not a valid genome file */
        discard(db, id, part);
        if (index_id)
            discard(db, index_id, ipart);
    }
    /* any other failure (the database busy, a disk error) keeps the uploads open with their
     * data: finish can be called again */
out:
    if (ilink[0])
        unlink(ilink);
    json_decref(o);
    free(u.opts);
    free(ui.opts);
    if (ilk >= 0)
        close(ilk);
    if (lk >= 0)
        close(lk);
    return rc;
}

/* --- sweeping what uploads leave behind ------------------------------------------------- */

/* Removes path when it is a regular file not written since cutoff and not also linked
 * elsewhere (a finish links the part it registers into tmp/: that file keeps the part's old
 * write time while it is being checked); adds it to st. */
static void sweep_file(const char *path, int64_t cutoff, struct zg_sweep_stats *st)
{
    struct stat sb;
    if (lstat(path, &sb) || !S_ISREG(sb.st_mode) || sb.st_nlink > 1 ||
        (int64_t)sb.st_mtime >= cutoff)
        return;
    if (unlink(path) == 0) {
        st->removed++;
        st->bytes += sb.st_size;
    }
}

int zg_uploads_sweep(const struct zg_datadir *dd, sqlite3 *db, int64_t idle_s,
                     struct zg_sweep_stats *st, struct zg_error *err)
{
    memset(st, 0, sizeof(*st));
    if (idle_s < 3600)
        return zg_error_set(err, ZG_EINVAL, "idle", "must be at least an hour");
    int64_t cutoff = zg_clock_now() - idle_s;
    /* 1. uploads open and idle since the cutoff: their data goes, they end failed */
    sqlite3_stmt *q = zg_db_prepare(
        db, "SELECT id FROM genome_uploads WHERE state='open' AND updated_at < ? LIMIT 1000", err);
    if (!q)
        return err->code;
    sqlite3_bind_int64(q, 1, cutoff);
    char(*ids)[33] = calloc(1000, sizeof(*ids));
    size_t n = 0;
    int r = SQLITE_DONE, rc = 0;
    while (ids && n < 1000 && (r = sqlite3_step(q)) == SQLITE_ROW)
        snprintf(ids[n++], 33, "%s", zg_db_text(q, 0));
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = zg_db_fail(db, r, err);
    zg_db_release(q);
    if (!ids)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        if (!valid_upload_id(ids[i]))
            continue;
        char part[1200];
        part_path(dd, ids[i], part, sizeof(part));
        int fd = open(part, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB)) { /* a chunk or a finish right now */
            close(fd);
            continue;
        }
        /* under the lock: still this upload's part, and the row still idle — the state
         * changes first, and only then does the data go (a chunk that came after the SELECT
         * moved updated_at: the row does not match and the data stays) */
        struct stat sb, pb;
        bool same = fd >= 0 && !fstat(fd, &sb) && !stat(part, &pb) && sb.st_ino == pb.st_ino &&
                    sb.st_dev == pb.st_dev;
        if (fd >= 0 && !same) {
            close(fd);
            continue;
        }
        bool expired = false;
        if (!(rc = mark_failed(db, ids[i], cutoff, &expired, err)) && expired) {
            st->expired++;
            digest_note(ids[i], -1, NULL, 0);
            if (same && !unlink(part))
                st->bytes += sb.st_size;
        }
        if (fd >= 0)
            close(fd);
    }
    free(ids);
    if (rc)
        return rc;
    /* 2. what no open upload owns in uploads/ (a part left by a crash, an index's named link),
     *    and what an interrupted registration left in tmp/: only when older than the cutoff */
    static const char *const dirs[] = {"files/uploads", "files/tmp"};
    for (int k = 0; k < 2; k++) {
        char root[1024];
        zg_datadir_file(dd, dirs[k], root, sizeof(root));
        DIR *d = opendir(root);
        if (!d)
            continue;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            char path[1400];
            snprintf(path, sizeof(path), "%s/%s", root, e->d_name);
            if (k == 0) {
                char id[33];
                snprintf(id, sizeof(id), "%.32s", e->d_name);
                struct upload_row u = {0};
                struct zg_error e2;
                bool ours = valid_upload_id(id) && !strncmp(e->d_name + 32, ".part", 5);
                bool open_upload =
                    ours && load_upload(db, id, &u, &e2) == 0 && !strcmp(u.state, "open");
                free(u.opts);
                if (!ours || open_upload)
                    continue;
            }
            sweep_file(path, cutoff, st);
        }
        closedir(d);
    }
    return 0;
}
