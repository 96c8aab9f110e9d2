/* Sign-in (password + TOTP or recovery code), lockout, sessions. */
#include "auth.h"
#include "auth_internal.h"
#include "common/error.h"
#include "common/clock.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "crypto/totp.h"
#include "store/db.h"

#include <ctype.h>

void zg_auth_code_hash(const struct zg_datadir *dd, const char *code, char out[65])
{
    /* normalise: lowercase, drop separators, so "ABCD-EFGH" == "abcdefgh" */
    char norm[32];
    size_t n = 0;
    for (const char *p = code; *p && n + 1 < sizeof(norm); p++)
        if (isalnum((unsigned char)*p))
            norm[n++] = (char)tolower((unsigned char)*p);
    unsigned char mac[ZG_SHA256_LEN];
    zg_hmac_sha256(dd->data_key, ZG_KEY_LEN, norm, n, mac);
    zg_hex_encode(mac, sizeof(mac), out);
}

struct user_row {
    int64_t id;
    char pw_hash[ZG_PWHASH_LEN];
    char *totp_enc;
    int64_t last_step, failed, locked_until;
    int disabled;
};

static int load_user_for_login(sqlite3 *db, const char *login, struct user_row *u,
                               struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "SELECT id,pw_hash,totp_secret_enc,totp_last_step,"
                                     "failed_logins,locked_until,disabled FROM users WHERE login=?",
                                     err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        u->id = sqlite3_column_int64(st, 0);
        snprintf(u->pw_hash, sizeof(u->pw_hash), "%s", zg_db_text(st, 1));
        u->totp_enc = sqlite3_column_type(st, 2) == SQLITE_NULL ? NULL
                                                                : strdup(zg_db_text(st, 2));
        u->last_step = sqlite3_column_int64(st, 3);
        u->failed = sqlite3_column_int64(st, 4);
        u->locked_until = sqlite3_column_int64(st, 5);
        u->disabled = sqlite3_column_int(st, 6);
    }
    zg_db_release(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? ZG_ENOTFOUND : zg_db_fail(db, rc, err);
}

static int64_t lock_seconds(int64_t failed)
{
    /* 30 s after the 5th failure, doubling each further failure, at most 15 min */
    int64_t extra = failed - ZG_LOCK_THRESHOLD;
    if (extra < 0)
        return 0;
    int64_t s = 30;
    while (extra-- > 0 && s < 900)
        s *= 2;
    return s > 900 ? 900 : s;
}

static int record_failure(sqlite3 *db, int64_t user_id, struct zg_login_result *res)
{
    struct zg_error e2;
    int64_t now = zg_clock_now();
    if (zg_db_begin(db, &e2))
        return ZG_EIO;
    sqlite3_stmt *st = zg_db_prepare(
        db, "UPDATE users SET failed_logins=failed_logins+1 WHERE id=? RETURNING failed_logins",
        &e2);
    int64_t failed = 0;
    if (st) {
        sqlite3_bind_int64(st, 1, user_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            failed = sqlite3_column_int64(st, 0);
        zg_db_release(st);
    }
    int64_t lock = lock_seconds(failed);
    if (lock > 0) {
        if (zg_auth_exec_bind(db, "UPDATE users SET locked_until=? WHERE id=?", &e2, "ii",
                              now + lock, user_id) == 0)
            res->retry_after = lock;
    }
    if (zg_db_commit(db, &e2))
        return ZG_EIO;
    return 0;
}

static int check_second_factor(const struct zg_datadir *dd, sqlite3 *db,
                               const struct zg_login_request *req, const struct user_row *u,
                               int64_t *step, int64_t *recovery_used, char *rc_hash,
                               struct zg_error *err)
{
    *step = 0;
    *recovery_used = 0;
    if (!u->totp_enc)
        return 0; /* the user has no second factor; policy limits what the session reaches */
    bool have_totp = req->totp && *req->totp;
    bool have_rc = req->recovery_code && *req->recovery_code;
    if (!have_totp && !have_rc)
        return zg_error_set(err, ZG_EAUTH, "mfa",
                            "a one-time code from your authenticator (or a recovery code) is "
                            "required");
    if (have_totp) {
        char *secret = NULL;
        if (zg_open_hex(dd->data_key, u->totp_enc, &secret, NULL))
            return zg_error_set(err, ZG_ECORRUPT, "", "stored TOTP secret cannot be decrypted");
        int64_t s = 0;
        int rc = zg_totp_verify(secret, req->totp, zg_clock_now(), 1, &s);
        zg_wipe(secret, strlen(secret));
        free(secret);
        if (rc || s <= u->last_step) /* wrong code, or a code already used (replay) */
            return zg_error_set(err, ZG_EAUTH, "", "login, password or one-time code is wrong");
        *step = s;
        return 0;
    }
    zg_auth_code_hash(dd, req->recovery_code, rc_hash);
    sqlite3_stmt *st = zg_db_prepare(
        db, "SELECT 1 FROM recovery_codes WHERE user_id=? AND code_hash=? AND used_at IS NULL",
        err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_int64(st, 1, u->id);
    sqlite3_bind_text(st, 2, rc_hash, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    zg_db_release(st);
    if (!found)
        return zg_error_set(err, ZG_EAUTH, "", "login, password or one-time code is wrong");
    *recovery_used = 1;
    return 0;
}

int zg_auth_login(const struct zg_datadir *dd, sqlite3 *db, const struct zg_login_request *req,
                  struct zg_login_result *res, struct zg_error *err)
{
    memset(res, 0, sizeof(*res));
    if (!req->login || !*req->login)
        return zg_error_set(err, ZG_EINVAL, "/login", "is required");
    if (!req->password || !*req->password)
        return zg_error_set(err, ZG_EINVAL, "/password", "is required");
    snprintf(res->who.login, sizeof(res->who.login), "%.63s", req->login);
    struct user_row u = {0};
    int rc = load_user_for_login(db, req->login, &u, err);
    if (rc == ZG_ENOTFOUND) {
        /* spend the same time as a real check so that logins cannot be enumerated */
        (void)zg_password_verify(zg_password_dummy_hash(), req->password);
        return zg_error_set(err, ZG_EAUTH, "", "login, password or one-time code is wrong");
    }
    if (rc)
        return rc;
    res->who.user_id = u.id;
    int64_t now = zg_clock_now();
    if (u.locked_until > now) {
        free(u.totp_enc);
        res->retry_after = u.locked_until - now;
        return zg_error_set(err, ZG_ELOCKED, "",
                            "too many failed sign-ins; try again in %lld seconds",
                            (long long)res->retry_after);
    }
    bool pw_ok = zg_password_verify(u.pw_hash, req->password);
    if (!pw_ok || u.disabled) {
        free(u.totp_enc);
        if (!u.disabled && record_failure(db, u.id, res))
            return zg_error_set(err, ZG_EIO, "", "database busy");
        return zg_error_set(err, ZG_EAUTH, "", "login, password or one-time code is wrong");
    }
    int64_t step = 0, recovery_used = 0;
    char rc_hash[65] = "";
    rc = check_second_factor(dd, db, req, &u, &step, &recovery_used, rc_hash, err);
    bool had_mfa = u.totp_enc != NULL;
    free(u.totp_enc);
    if (rc == ZG_EAUTH && !strcmp(err ? err->field : "", "mfa"))
        return rc; /* password right, second factor missing: not a failure to count */
    if (rc) {
        if (rc == ZG_EAUTH && record_failure(db, u.id, res))
            return zg_error_set(err, ZG_EIO, "", "database busy");
        return rc;
    }

    /* Success: consume the TOTP step / recovery code atomically (a concurrent sign-in with the
     * same code loses), reset the failure count and start a session. */
    char token[64], csrf[48], token_hash[ZG_SHA256_HEX];
    zg_random_token(32, token, sizeof(token));
    zg_random_token(24, csrf, sizeof(csrf));
    zg_sha256_hex(token, strlen(token), token_hash);
    if ((rc = zg_db_begin(db, err)))
        return rc;
    if (step) {
        sqlite3_stmt *st = zg_db_prepare(db,
                                         "UPDATE users SET totp_last_step=?,failed_logins=0,"
                                         "locked_until=0 WHERE id=? AND totp_last_step<?",
                                         err);
        if (!st) {
            zg_db_rollback(db);
            return ZG_EIO;
        }
        sqlite3_bind_int64(st, 1, step);
        sqlite3_bind_int64(st, 2, u.id);
        sqlite3_bind_int64(st, 3, step);
        int s = sqlite3_step(st);
        zg_db_release(st);
        if (s != SQLITE_DONE || sqlite3_changes(db) != 1) {
            zg_db_rollback(db);
            return zg_error_set(err, ZG_EAUTH, "", "login, password or one-time code is wrong");
        }
    } else {
        rc = zg_auth_exec_bind(db, "UPDATE users SET failed_logins=0,locked_until=0 WHERE id=?",
                               err, "i", u.id);
    }
    if (!rc && recovery_used) {
        rc = zg_auth_exec_bind(db,
                               "UPDATE recovery_codes SET used_at=? WHERE user_id=? AND "
                               "code_hash=? AND used_at IS NULL",
                               err, "iit", now, u.id, rc_hash);
        if (!rc && sqlite3_changes(db) != 1)
            rc = zg_error_set(err, ZG_EAUTH, "", "login, password or one-time code is wrong");
    }
    int64_t expires = now + ZG_SESSION_TTL;
    if (!rc)
        rc = zg_auth_exec_bind(db,
                               "INSERT INTO sessions(token_hash,user_id,csrf,mfa,created_at,"
                               "last_seen_at,expires_at,ip,user_agent) VALUES(?,?,?,?,?,?,?,?,?)",
                               err, "titiiiitt", token_hash, u.id, csrf, (int64_t)had_mfa, now,
                               now, expires, req->ip ? req->ip : "",
                               req->user_agent ? req->user_agent : "");
    int64_t sid = sqlite3_last_insert_rowid(db);
    if (rc || (rc = zg_db_commit(db, err))) {
        zg_db_rollback(db);
        return rc;
    }
    if ((rc = zg_identity_load(db, u.id, &res->who, err)))
        return rc;
    res->who.kind = ZG_AUTH_SESSION;
    res->who.mfa = had_mfa;
    res->who.scopes = ~0u;
    res->who.session_id = sid;
    snprintf(res->who.csrf, sizeof(res->who.csrf), "%s", csrf);
    snprintf(res->session_token, sizeof(res->session_token), "%s", token);
    res->expires_at = expires;
    zg_wipe(token, sizeof(token));
    return 0;
}

int zg_auth_session(sqlite3 *db, const char *cookie, struct zg_identity *who,
                    struct zg_error *err)
{
    memset(who, 0, sizeof(*who));
    if (!cookie || strlen(cookie) < 20 || strlen(cookie) > 100)
        return zg_error_set(err, ZG_EAUTH, "", "session is missing or malformed");
    char h[ZG_SHA256_HEX];
    zg_sha256_hex(cookie, strlen(cookie), h);
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "SELECT id,user_id,csrf,mfa,last_seen_at,expires_at,"
                                     "revoked_at IS NOT NULL FROM sessions WHERE token_hash=?",
                                     err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        zg_db_release(st);
        return rc == SQLITE_DONE ? zg_error_set(err, ZG_EAUTH, "", "session is unknown")
                                 : zg_db_fail(db, rc, err);
    }
    int64_t sid = sqlite3_column_int64(st, 0), uid = sqlite3_column_int64(st, 1);
    snprintf(who->csrf, sizeof(who->csrf), "%s", zg_db_text(st, 2));
    bool mfa = sqlite3_column_int(st, 3) != 0;
    int64_t seen = sqlite3_column_int64(st, 4), exp = sqlite3_column_int64(st, 5);
    int revoked = sqlite3_column_int(st, 6);
    zg_db_release(st);
    int64_t now = zg_clock_now();
    if (revoked || exp <= now || seen + ZG_SESSION_IDLE <= now)
        return zg_error_set(err, ZG_EAUTH, "", "session has ended; sign in again");
    char csrf[48];
    memcpy(csrf, who->csrf, sizeof(csrf));
    if ((rc = zg_identity_load(db, uid, who, err)))
        return rc == ZG_ENOTFOUND ? ZG_EAUTH : rc;
    memcpy(who->csrf, csrf, sizeof(csrf));
    who->kind = ZG_AUTH_SESSION;
    who->session_id = sid;
    who->mfa = mfa;
    who->scopes = ~0u;
    /* refresh the idle timer at most once a minute, so that reads stay read-only */
    if (now - seen >= 60) {
        struct zg_error e2;
        (void)zg_auth_exec_bind(db, "UPDATE sessions SET last_seen_at=? WHERE id=?", &e2, "ii",
                                now, sid);
    }
    return 0;
}

int zg_session_revoke(sqlite3 *db, int64_t user_id, int64_t session_id, struct zg_error *err)
{
    int rc = zg_auth_exec_bind(db,
                               "UPDATE sessions SET revoked_at=? WHERE id=? AND user_id=? AND "
                               "revoked_at IS NULL",
                               err, "iii", zg_clock_now(), session_id, user_id);
    if (rc)
        return rc;
    if (sqlite3_changes(db) == 0)
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such active session");
    return 0;
}

json_t *zg_session_list(sqlite3 *db, int64_t user_id, int64_t current_id, struct zg_error *err)
{
    int64_t now = zg_clock_now();
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "SELECT id,created_at,last_seen_at,expires_at,ip,user_agent FROM sessions WHERE "
        "user_id=? AND revoked_at IS NULL AND expires_at>? AND last_seen_at>? ORDER BY id DESC",
        err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now - ZG_SESSION_IDLE);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        json_array_append_new(
            arr, json_pack("{s:I,s:I,s:I,s:I,s:s,s:s,s:b}", "id", (json_int_t)id, "created_at",
                           (json_int_t)sqlite3_column_int64(st, 1), "last_seen_at",
                           (json_int_t)sqlite3_column_int64(st, 2), "expires_at",
                           (json_int_t)sqlite3_column_int64(st, 3), "ip", zg_db_text(st, 4),
                           "user_agent", zg_db_text(st, 5), "current", id == current_id));
    }
    zg_db_release(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        zg_db_fail(db, rc, err);
        return NULL;
    }
    return json_pack("{s:o}", "sessions", arr);
}
