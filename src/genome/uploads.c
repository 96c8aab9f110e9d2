/* Streaming, resumable uploads: chunks are appended at their offset to a part file under
 * DATA/files/uploads/; finishing verifies size and SHA-256 and registers the file. */
#include "files.h"
#include "files_internal.h"
#include "common/error.h"
#include "common/clock.h"
#include "crypto/crypto.h"
#include "store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_UPLOAD_SIZE (INT64_C(1) << 42) /* 4 TiB */

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

int zg_upload_append(const struct zg_datadir *dd, sqlite3 *db, const char *id, int64_t offset,
                     const void *data, size_t n, int64_t *received_out, struct zg_error *err)
{
    struct upload_row u = {0};
    int rc = load_upload(db, id, &u, err);
    if (rc)
        return rc;
    free(u.opts);
    if (strcmp(u.state, "open"))
        return zg_error_set(err, ZG_ENOTFOUND, "id", "the upload is %s", u.state);
    *received_out = u.received;
    if (offset < 0 || offset > u.received)
        return zg_error_set(err, ZG_ECONFLICT, "offset",
                            "expected offset %lld (bytes received so far)", (long long)u.received);
    if (offset + (int64_t)n <= u.received)
        return 0; /* a resent chunk that is already stored */
    if (offset + (int64_t)n > u.expected)
        return zg_error_set(err, ZG_ETOOBIG, "size", "the upload would exceed its declared size");
    char part[1200];
    part_path(dd, id, part, sizeof(part));
    int fd = open(part, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "", "cannot open the upload: %s", strerror(errno));
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
        close(fd);
        return zg_error_set(err, ZG_EIO, "", "fsync failed: %s", strerror(errno));
    }
    close(fd);
    *received_out = offset + (int64_t)n;
    return set_state(db, id, *received_out, "open", NULL, err);
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

int zg_upload_finish(const struct zg_datadir *dd, sqlite3 *db, const char *id,
                     struct zg_file_info *out, struct zg_error *err)
{
    struct upload_row u = {0};
    int rc = load_upload(db, id, &u, err);
    if (rc)
        return rc;
    json_t *o = json_loads(u.opts, 0, NULL);
    free(u.opts);
    if (strcmp(u.state, "open")) {
        json_decref(o);
        return zg_error_set(err, ZG_ENOTFOUND, "id", "the upload is %s", u.state);
    }
    if (u.received != u.expected) {
        json_decref(o);
        return zg_error_set(err, ZG_ECONFLICT, "size", "received %lld of %lld bytes",
                            (long long)u.received, (long long)u.expected);
    }
    char part[1200];
    part_path(dd, id, part, sizeof(part));
    /* the checksum is verified in the registration's own pass over the data (one read for
     * SHA-256 and MD5, not two) */
    if (access(part, F_OK)) {
        json_decref(o);
        return zg_error_set(err, ZG_EIO, "", "the upload data is missing");
    }
    struct zg_file_add_opts fo = {.case_id = jopt(o, "case_id"),
                                  .specimen_id = jopt(o, "specimen_id"),
                                  .reference = jopt(o, "reference"),
                                  .pipeline = jopt(o, "pipeline"),
                                  .pipeline_version = jopt(o, "pipeline_version"),
                                  .data_kind = jopt(o, "data_kind"),
                                  .name = jopt(o, "name") ? jopt(o, "name") : id,
                                  .move = true,
                                  .expect_sha256 = u.sha};
    rc = zg_file_add(dd, db, part, &fo, out, err);
    json_decref(o);
    if (rc) {
        unlink(part);
        struct zg_error e2;
        if (set_state(db, id, u.received, "failed", NULL, &e2))
            return rc;
        return rc;
    }
    return set_state(db, id, u.received, "done", out->id, err);
}
