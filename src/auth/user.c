/* Users: creation, lookup, password and MFA resets, disabling. */
#include "auth.h"
#include "auth_internal.h"
#include "common/error.h"
#include "common/clock.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "crypto/totp.h"
#include "store/db.h"

int zg_login_validate(const char *login, struct zg_error *err)
{
    size_t n = login ? strlen(login) : 0;
    if (n < 3 || n > 63)
        return zg_error_set(err, ZG_EINVAL, "login", "must be 3 to 63 characters");
    if (!((login[0] >= 'a' && login[0] <= 'z') || (login[0] >= '0' && login[0] <= '9')))
        return zg_error_set(err, ZG_EINVAL, "login",
                            "must start with a lowercase letter or a digit");
    for (size_t i = 0; i < n; i++) {
        char c = login[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return zg_error_set(err, ZG_EINVAL, "login",
                                "may contain only a-z, 0-9, '.', '_' and '-'");
    }
    return 0;
}

int zg_auth_user_id(sqlite3 *db, const char *login, int64_t *id, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT id FROM users WHERE login=?", err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_text(st, 1, login ? login : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    zg_db_release(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return zg_error_set(err, ZG_ENOTFOUND, "login", "no such user");
    return zg_db_fail(db, rc, err);
}

int zg_auth_exec_bind(sqlite3 *db, const char *sql, struct zg_error *err, const char *fmt, ...)
{
    /* fmt letters: i = int64, t = text, n = null */
    sqlite3_stmt *st = zg_db_prepare(db, sql, err);
    if (!st)
        return ZG_EIO;
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 'i')
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        else if (fmt[i] == 't')
            sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, i + 1);
    }
    va_end(ap);
    int rc = sqlite3_step(st);
    zg_db_release(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return zg_db_fail(db, rc, err);
    return 0;
}

int zg_user_add(const struct zg_datadir *dd, sqlite3 *db, const char *login, const char *role,
                const char *org, bool with_mfa, struct zg_new_user *out, struct zg_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = zg_login_validate(login, err);
    if (rc)
        return rc;
    enum zg_role r;
    if (zg_role_parse(role, &r))
        return zg_error_set(err, ZG_EINVAL, "role",
                            "must be one of admin, operator, clinician, hospital-data, sequencer, "
                            "academic, industry, dac, auditor, participant");
    if (zg_policy_role_requires_mfa(r) && !with_mfa)
        return zg_error_set(err, ZG_EINVAL, "mfa",
                            "the role '%s' reaches sensitive data and must use MFA",
                            zg_role_name(r));
    int64_t org_id = 0;
    if ((rc = zg_org_lookup(db, org, &org_id, err)))
        return rc;
    char hash[ZG_PWHASH_LEN];
    zg_password_generate(out->password);
    if ((rc = zg_password_hash(out->password, hash, err)))
        return rc;
    char *enc = NULL;
    if (with_mfa) {
        zg_totp_secret_new(out->totp_secret);
        if ((rc = zg_seal_hex(dd->data_key, out->totp_secret, strlen(out->totp_secret), &enc)))
            return zg_error_set(err, rc, "", "out of memory");
    }
    int64_t now = zg_clock_now();
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "INSERT INTO users(login,org_id,role,pw_hash,totp_secret_enc,created_at,pw_changed_at)"
        " VALUES(?,?,?,?,?,?,?)",
        err);
    if (!st) {
        free(enc);
        return ZG_EIO;
    }
    sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, org_id);
    sqlite3_bind_text(st, 3, zg_role_name(r), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
    if (enc)
        sqlite3_bind_text(st, 5, enc, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, now);
    rc = sqlite3_step(st);
    zg_db_release(st);
    free(enc);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return zg_error_set(err, ZG_EEXIST, "login", "a user with this login exists");
    if (rc != SQLITE_DONE)
        return zg_db_fail(db, rc, err);
    out->id = sqlite3_last_insert_rowid(db);
    return 0;
}

#define USER_COLS                                                                              \
    "u.id,u.login,u.role,o.id,o.name,o.type,u.totp_secret_enc IS NOT NULL,u.disabled,"         \
    "u.locked_until,u.created_at,u.failed_logins"

static json_t *user_row(sqlite3_stmt *st)
{
    return json_pack("{s:I,s:s,s:s,s:{s:I,s:s,s:s},s:b,s:b,s:I,s:I,s:I}", "id",
                     (json_int_t)sqlite3_column_int64(st, 0), "login", zg_db_text(st, 1), "role",
                     zg_db_text(st, 2), "org", "id", (json_int_t)sqlite3_column_int64(st, 3),
                     "name", zg_db_text(st, 4), "type", zg_db_text(st, 5), "mfa_enrolled",
                     sqlite3_column_int(st, 6), "disabled", sqlite3_column_int(st, 7),
                     "locked_until", (json_int_t)sqlite3_column_int64(st, 8), "created_at",
                     (json_int_t)sqlite3_column_int64(st, 9), "failed_logins",
                     (json_int_t)sqlite3_column_int64(st, 10));
}

json_t *zg_user_get(sqlite3 *db, const char *login, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db, "SELECT " USER_COLS " FROM users u JOIN orgs o ON o.id=u.org_id WHERE u.login=?", err);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, login ? login : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    json_t *j = rc == SQLITE_ROW ? user_row(st) : NULL;
    zg_db_release(st);
    if (!j) {
        if (rc == SQLITE_DONE)
            zg_error_set(err, ZG_ENOTFOUND, "login", "no such user");
        else
            zg_db_fail(db, rc, err);
    }
    return j;
}

json_t *zg_user_list(sqlite3 *db, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db, "SELECT " USER_COLS " FROM users u JOIN orgs o ON o.id=u.org_id ORDER BY u.login", err);
    if (!st)
        return NULL;
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, user_row(st));
    zg_db_release(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        zg_db_fail(db, rc, err);
        return NULL;
    }
    return json_pack("{s:o}", "users", arr);
}

int zg_identity_load(sqlite3 *db, int64_t user_id, struct zg_identity *who, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "SELECT u.login,u.role,o.id,o.name,o.type,"
                                     "u.totp_secret_enc IS NOT NULL,coalesce(u.participant_id,''),"
                                     "u.disabled FROM users u JOIN orgs o ON o.id=u.org_id "
                                     "WHERE u.id=?",
                                     err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_int64(st, 1, user_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        zg_db_release(st);
        return rc == SQLITE_DONE ? zg_error_set(err, ZG_ENOTFOUND, "", "no such user")
                                 : zg_db_fail(db, rc, err);
    }
    who->user_id = user_id;
    snprintf(who->login, sizeof(who->login), "%s", zg_db_text(st, 0));
    if (zg_role_parse(zg_db_text(st, 1), &who->role)) {
        zg_db_release(st);
        return zg_error_set(err, ZG_ECORRUPT, "", "stored role is unknown");
    }
    who->org_id = sqlite3_column_int64(st, 2);
    snprintf(who->org_name, sizeof(who->org_name), "%s", zg_db_text(st, 3));
    snprintf(who->org_type, sizeof(who->org_type), "%s", zg_db_text(st, 4));
    who->mfa_enrolled = sqlite3_column_int(st, 5) != 0;
    snprintf(who->participant_id, sizeof(who->participant_id), "%s", zg_db_text(st, 6));
    int disabled = sqlite3_column_int(st, 7);
    zg_db_release(st);
    if (disabled)
        return zg_error_set(err, ZG_EAUTH, "", "account is disabled");
    return 0;
}

int zg_user_set_password(sqlite3 *db, const char *login, const char *new_pw, char out[21],
                         struct zg_error *err)
{
    int64_t id;
    int rc = zg_auth_user_id(db, login, &id, err);
    if (rc)
        return rc;
    char gen[21] = "";
    if (!new_pw) {
        zg_password_generate(gen);
        new_pw = gen;
    }
    char hash[ZG_PWHASH_LEN];
    if ((rc = zg_password_hash(new_pw, hash, err)))
        return rc;
    if ((rc = zg_db_begin(db, err)))
        return rc;
    rc = zg_auth_exec_bind(db,
                           "UPDATE users SET pw_hash=?,pw_changed_at=?,failed_logins=0,"
                           "locked_until=0 WHERE id=?",
                           err, "tii", hash, zg_clock_now(), id);
    if (!rc)
        rc = zg_auth_exec_bind(db, "UPDATE sessions SET revoked_at=? WHERE user_id=? AND "
                                   "revoked_at IS NULL", err, "ii", zg_clock_now(), id);
    if (rc || (rc = zg_db_commit(db, err))) {
        zg_db_rollback(db);
        return rc;
    }
    if (out)
        snprintf(out, 21, "%s", gen);
    return 0;
}

int zg_user_reset_mfa(const struct zg_datadir *dd, sqlite3 *db, const char *login, char out[33],
                      struct zg_error *err)
{
    int64_t id;
    int rc = zg_auth_user_id(db, login, &id, err);
    if (rc)
        return rc;
    char secret[ZG_TOTP_SECRET_B32], *enc = NULL;
    zg_totp_secret_new(secret);
    if (zg_seal_hex(dd->data_key, secret, strlen(secret), &enc))
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    if ((rc = zg_db_begin(db, err))) {
        free(enc);
        return rc;
    }
    int64_t now = zg_clock_now();
    rc = zg_auth_exec_bind(db,
                           "UPDATE users SET totp_secret_enc=?,totp_pending_enc=NULL,"
                           "totp_last_step=0 WHERE id=?",
                           err, "ti", enc, id);
    if (!rc)
        rc = zg_auth_exec_bind(db, "DELETE FROM recovery_codes WHERE user_id=?", err, "i", id);
    if (!rc)
        rc = zg_auth_exec_bind(db, "UPDATE sessions SET revoked_at=? WHERE user_id=? AND "
                                   "revoked_at IS NULL", err, "ii", now, id);
    free(enc);
    if (rc || (rc = zg_db_commit(db, err))) {
        zg_db_rollback(db);
        return rc;
    }
    snprintf(out, 33, "%s", secret);
    zg_wipe(secret, sizeof(secret));
    return 0;
}

int zg_user_set_disabled(sqlite3 *db, const char *login, bool disabled, struct zg_error *err)
{
    int64_t id;
    int rc = zg_auth_user_id(db, login, &id, err);
    if (rc)
        return rc;
    if ((rc = zg_db_begin(db, err)))
        return rc;
    int64_t now = zg_clock_now();
    rc = zg_auth_exec_bind(db, "UPDATE users SET disabled=?,failed_logins=0,locked_until=0 "
                               "WHERE id=?", err, "ii", (int64_t)disabled, id);
    if (!rc && disabled)
        rc = zg_auth_exec_bind(db, "UPDATE sessions SET revoked_at=? WHERE user_id=? AND "
                                   "revoked_at IS NULL", err, "ii", now, id);
    if (!rc && disabled)
        rc = zg_auth_exec_bind(db, "UPDATE api_tokens SET revoked_at=? WHERE user_id=? AND "
                                   "revoked_at IS NULL", err, "ii", now, id);
    if (rc || (rc = zg_db_commit(db, err))) {
        zg_db_rollback(db);
        return rc;
    }
    return 0;
}

int zg_user_link_participant(sqlite3 *db, const char *login, const char *participant_id,
                             struct zg_error *err)
{
    int rc = zg_auth_exec_bind(db,
                               "UPDATE users SET participant_id=? WHERE login=? AND "
                               "role='participant'",
                               err, "tt", participant_id, login);
    if (rc)
        return rc;
    if (sqlite3_changes(db) != 1)
        return zg_error_set(err, ZG_EINVAL, "login", "is not a participant account");
    return 0;
}
