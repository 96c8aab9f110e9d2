/* TOTP enrolment with recovery codes, and self-service password change. */
#include "auth.h"
#include "auth_internal.h"
#include "common/error.h"
#include "common/clock.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "crypto/totp.h"
#include "store/db.h"

int zg_mfa_enroll_begin(const struct zg_datadir *dd, sqlite3 *db, int64_t user_id, char out[33],
                        struct zg_error *err)
{
    char secret[ZG_TOTP_SECRET_B32], *enc = NULL;
    zg_totp_secret_new(secret);
    if (zg_seal_hex(dd->data_key, secret, strlen(secret), &enc))
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    int rc = zg_auth_exec_bind(db, "UPDATE users SET totp_pending_enc=? WHERE id=?", err, "ti",
                               enc, user_id);
    free(enc);
    if (!rc)
        snprintf(out, 33, "%s", secret);
    zg_wipe(secret, sizeof(secret));
    return rc;
}

static void recovery_code_new(char out[16])
{
    static const char a[] = "abcdefghjkmnpqrstuvwxyz23456789";
    for (int i = 0, o = 0; i < 12; i++) {
        if (i == 4 || i == 8)
            out[o++] = '-';
        out[o++] = a[zg_random_uniform((uint32_t)(sizeof(a) - 1))];
        out[o] = '\0';
    }
}

int zg_mfa_enroll_confirm(const struct zg_datadir *dd, sqlite3 *db, int64_t user_id,
                          const char *code, char codes[ZG_RECOVERY_CODES][16],
                          struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT totp_pending_enc FROM users WHERE id=?", err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_int64(st, 1, user_id);
    char *enc = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        enc = strdup(zg_db_text(st, 0));
    zg_db_release(st);
    if (!enc)
        return zg_error_set(err, ZG_ENOTFOUND, "/totp",
                            "no enrolment in progress: start one first");
    char *secret = NULL;
    int rc = zg_open_hex(dd->data_key, enc, &secret, NULL);
    if (rc) {
        free(enc);
        return zg_error_set(err, ZG_ECORRUPT, "", "pending secret cannot be decrypted");
    }
    int64_t step = 0;
    rc = zg_totp_verify(secret, code, zg_clock_now(), 1, &step);
    zg_wipe(secret, strlen(secret));
    free(secret);
    if (rc) {
        free(enc);
        return zg_error_set(err, rc == ZG_EINVAL ? ZG_EINVAL : ZG_EAUTH, "/totp",
                            rc == ZG_EINVAL ? "must be 6 digits"
                                            : "does not match the new authenticator");
    }
    if ((rc = zg_db_begin(db, err))) {
        free(enc);
        return rc;
    }
    rc = zg_auth_exec_bind(db,
                           "UPDATE users SET totp_secret_enc=?,totp_pending_enc=NULL,"
                           "totp_last_step=? WHERE id=?",
                           err, "tii", enc, step, user_id);
    free(enc);
    if (!rc)
        rc = zg_auth_exec_bind(db, "DELETE FROM recovery_codes WHERE user_id=?", err, "i",
                               user_id);
    for (int i = 0; !rc && i < ZG_RECOVERY_CODES; i++) {
        char h[65];
        recovery_code_new(codes[i]);
        zg_auth_code_hash(dd, codes[i], h);
        rc = zg_auth_exec_bind(db, "INSERT INTO recovery_codes(user_id,code_hash) VALUES(?,?)",
                               err, "it", user_id, h);
    }
    if (rc || (rc = zg_db_commit(db, err))) {
        zg_db_rollback(db);
        return rc;
    }
    return 0;
}

int zg_password_change(sqlite3 *db, int64_t user_id, const char *current, const char *next,
                       struct zg_error *err)
{
    if (!current || !*current)
        return zg_error_set(err, ZG_EINVAL, "/current_password", "is required");
    if (!next)
        return zg_error_set(err, ZG_EINVAL, "/new_password", "is required");
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT pw_hash,login FROM users WHERE id=?", err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_int64(st, 1, user_id);
    char hash[ZG_PWHASH_LEN] = "", login[64] = "";
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(hash, sizeof(hash), "%s", zg_db_text(st, 0));
        snprintf(login, sizeof(login), "%s", zg_db_text(st, 1));
    }
    zg_db_release(st);
    if (!zg_password_verify(hash, current))
        return zg_error_set(err, ZG_EAUTH, "/current_password", "is wrong");
    if (!strcmp(current, next))
        return zg_error_set(err, ZG_EINVAL, "/new_password", "must differ from the current one");
    if (strstr(next, login))
        return zg_error_set(err, ZG_EINVAL, "/new_password", "must not contain your login");
    char nh[ZG_PWHASH_LEN];
    int rc = zg_password_hash(next, nh, err);
    if (rc) {
        if (err)
            snprintf(err->field, sizeof(err->field), "/new_password");
        return rc;
    }
    return zg_auth_exec_bind(db, "UPDATE users SET pw_hash=?,pw_changed_at=? WHERE id=?", err,
                             "tii", nh, zg_clock_now(), user_id);
}
