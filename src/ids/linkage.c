/* The linkage store: hospital patient ID ↔ pseudonymous participant, kept in linkage.db only,
 * encrypted at rest and found by keyed hash. */
#include "ids.h"
#include "common/error.h"
#include "common/clock.h"
#include "crypto/crypto.h"
#include "store/db.h"

static int local_id_valid(const char *s, struct zg_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return zg_error_set(err, ZG_EINVAL, "/local_patient_id", "must be 1 to 64 characters");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
            return zg_error_set(err, ZG_EINVAL, "/local_patient_id",
                                "must not contain spaces or control characters");
    return 0;
}

static void keyed(const unsigned char *key, const char *a, const char *b, char out[65])
{
    size_t la = strlen(a), lb = strlen(b);
    char *buf = malloc(la + lb + 1);
    unsigned char mac[ZG_SHA256_LEN];
    if (!buf) {
        out[0] = '\0';
        return;
    }
    memcpy(buf, a, la);
    buf[la] = '\0'; /* separator that cannot occur inside either part */
    memcpy(buf + la + 1, b, lb);
    zg_hmac_sha256(key, ZG_KEY_LEN, buf, la + lb + 1, mac);
    zg_hex_encode(mac, sizeof(mac), out);
    free(buf);
}

void zg_linkage_hash(const struct zg_datadir *dd, const char *org_name, const char *local_id,
                     char out[65])
{
    if (!zg_datadir_linkage_ready(dd)) {
        out[0] = '\0';
        return;
    }
    keyed(dd->linkage_key, org_name, local_id, out);
}

static int sealed_error(struct zg_error *err)
{
    return zg_error_set(err, ZG_ESEALED, "",
                        "the linkage store is sealed: its keys are split among key holders, "
                        "enough of whom must unseal it (POST /api/v1/admin/linkage/unseal, or "
                        "zengen linkage-key restore)");
}

int zg_linkage_reseal(const struct zg_datadir *dd, sqlite3 *link, int64_t *moved,
                      struct zg_error *err)
{
    *moved = 0;
    if (!zg_datadir_linkage_ready(dd))
        return sealed_error(err);
    int rc = zg_db_begin(link, err);
    if (rc)
        return rc;
    sqlite3_stmt *sel = zg_db_prepare(link, "SELECT id, local_id_enc FROM linkage", err);
    sqlite3_stmt *upd = sel ? zg_db_prepare(link, "UPDATE linkage SET local_id_enc=? WHERE id=?",
                                            err)
                            : NULL;
    int r = SQLITE_DONE;
    while (!rc && sel && upd && (r = sqlite3_step(sel)) == SQLITE_ROW) {
        const char *enc = zg_db_text(sel, 1);
        char *plain = NULL, *again = NULL;
        size_t n = 0;
        if (zg_open_hex(dd->linkage_seal_key, enc, &plain, &n) == 0) {
            zg_wipe(plain, n);
            free(plain);
            continue; /* already under the linkage store's own key */
        }
        /* rows written before local IDs had their own key were sealed with the data key */
        if (zg_open_hex(dd->data_key, enc, &plain, &n) != 0) {
            rc = zg_error_set(err, ZG_ECORRUPT, "", "linkage row %lld cannot be decrypted",
                              (long long)sqlite3_column_int64(sel, 0));
            break;
        }
        if (zg_seal_hex(dd->linkage_seal_key, plain, n, &again)) {
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        } else {
            sqlite3_bind_text(upd, 1, again, -1, SQLITE_STATIC);
            sqlite3_bind_int64(upd, 2, sqlite3_column_int64(sel, 0));
            int u = sqlite3_step(upd);
            sqlite3_reset(upd);
            if (u != SQLITE_DONE)
                rc = zg_db_fail(link, u, err);
            else
                (*moved)++;
        }
        zg_wipe(plain, n);
        free(plain);
        free(again);
    }
    if (!rc && (!sel || !upd))
        rc = err->code;
    if (!rc && r != SQLITE_DONE)
        rc = zg_db_fail(link, r, err);
    zg_db_release(sel);
    zg_db_release(upd);
    if (!rc)
        rc = zg_db_commit(link, err);
    else
        zg_db_rollback(link);
    return rc;
}

int zg_linkage_resolve(const struct zg_datadir *dd, sqlite3 *link, sqlite3 *db, int64_t org_id,
                       const char *org_name, const char *local_id, const char *project,
                       bool create, char participant[ZG_ID_LEN], bool *created,
                       struct zg_error *err)
{
    *created = false;
    int rc = local_id_valid(local_id, err);
    if (rc)
        return rc;
    if (!zg_datadir_linkage_ready(dd))
        return sealed_error(err);
    if (!project || !*project)
        project = "cancer";
    char orgkey[32], lookup[65], linkh[65];
    snprintf(orgkey, sizeof(orgkey), "%lld", (long long)org_id);
    keyed(dd->lookup_key, orgkey, local_id, lookup);
    zg_linkage_hash(dd, org_name, local_id, linkh);

    if ((rc = zg_db_begin(link, err)))
        return rc;
    sqlite3_stmt *st = zg_db_prepare(link, "SELECT participant_id FROM linkage WHERE lookup_hash=?",
                                     err);
    if (!st) {
        zg_db_rollback(link);
        return ZG_EIO;
    }
    sqlite3_bind_text(st, 1, lookup, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        snprintf(participant, ZG_ID_LEN, "%s", zg_db_text(st, 0));
    zg_db_release(st);
    if (s == SQLITE_ROW) {
        zg_db_rollback(link);
        return 0;
    }
    if (s != SQLITE_DONE) {
        zg_db_rollback(link);
        return zg_db_fail(link, s, err);
    }
    if (!create) {
        zg_db_rollback(link);
        return zg_error_set(err, ZG_ENOTFOUND, "/local_patient_id", "is not linked");
    }
    /* The participant row is committed first: a crash in between leaves an unused
     * pseudonymous participant, never a link to nothing. */
    if ((rc = zg_participant_add(db, participant, err))) {
        zg_db_rollback(link);
        return rc;
    }
    char *enc = NULL;
    if (zg_seal_hex(dd->linkage_seal_key, local_id, strlen(local_id), &enc)) {
        zg_db_rollback(link);
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    st = zg_db_prepare(link,
                       "INSERT INTO linkage(org_id,lookup_hash,local_id_enc,participant_id,"
                       "link_hash,project,created_at) VALUES(?,?,?,?,?,?,?)",
                       err);
    if (!st) {
        free(enc);
        zg_db_rollback(link);
        return ZG_EIO;
    }
    sqlite3_bind_int64(st, 1, org_id);
    sqlite3_bind_text(st, 2, lookup, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, enc, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, participant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, linkh, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, project, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, zg_clock_now());
    s = sqlite3_step(st);
    zg_db_release(st);
    free(enc);
    if (s != SQLITE_DONE) {
        zg_db_rollback(link);
        return zg_db_fail(link, s, err);
    }
    if ((rc = zg_db_commit(link, err)))
        return rc;
    *created = true;
    return 0;
}
