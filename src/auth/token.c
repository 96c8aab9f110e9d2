/* Scoped, expiring API tokens for machines (hospital gateways, pipelines); stored hashed. */
#include "auth.h"
#include "auth_internal.h"
#include "common/error.h"
#include "common/clock.h"
#include "crypto/crypto.h"
#include "store/db.h"

static void scopes_to_text(uint32_t scopes, char *out, size_t outsz)
{
    size_t o = 0;
    out[0] = '\0';
    for (int t = 0; t < ZG_TIER__COUNT; t++)
        if (scopes & ZG_TIER_BIT(t))
            o += (size_t)snprintf(out + o, o < outsz ? outsz - o : 0, "%s%s", o ? "," : "",
                                  zg_tier_name((enum zg_tier)t));
}

json_t *zg_scopes_json(uint32_t scopes)
{
    json_t *a = json_array();
    for (int t = 0; t < ZG_TIER__COUNT; t++)
        if (scopes & ZG_TIER_BIT(t))
            json_array_append_new(a, json_string(zg_tier_name((enum zg_tier)t)));
    return a;
}

int zg_token_create(sqlite3 *db, int64_t user_id, const char *name, uint32_t scopes, int days,
                    bool mfa, int64_t created_by, char out[ZG_TOKEN_LEN], int64_t *id,
                    int64_t *expires_at, struct zg_error *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 63)
        return zg_error_set(err, ZG_EINVAL, "name", "must be 1 to 63 characters");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20)
            return zg_error_set(err, ZG_EINVAL, "name", "must not contain control characters");
    if (days < 1 || days > ZG_TOKEN_MAX_DAYS)
        return zg_error_set(err, ZG_EINVAL, "expires_in_days", "must be between 1 and %d",
                            ZG_TOKEN_MAX_DAYS);
    struct zg_identity who;
    int rc = zg_identity_load(db, user_id, &who, err);
    if (rc)
        return rc;
    uint32_t role_tiers = zg_policy_role_tiers(who.role);
    if (!scopes)
        scopes = role_tiers;
    if (scopes & ~role_tiers)
        return zg_error_set(err, ZG_EINVAL, "scopes",
                            "a token cannot reach tiers the role '%s' cannot reach",
                            zg_role_name(who.role));
    sqlite3_stmt *st = zg_db_prepare(
        db, "SELECT 1 FROM api_tokens WHERE user_id=? AND name=? AND revoked_at IS NULL AND "
            "expires_at>?", err);
    if (!st)
        return ZG_EIO;
    int64_t now = zg_clock_now();
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    int dup = sqlite3_step(st) == SQLITE_ROW;
    zg_db_release(st);
    if (dup)
        return zg_error_set(err, ZG_EEXIST, "name", "a live token with this name exists");
    char secret[48], hash[ZG_SHA256_HEX], scope_text[160];
    zg_random_token(32, secret, sizeof(secret));
    snprintf(out, ZG_TOKEN_LEN, "zgt_%s", secret);
    zg_wipe(secret, sizeof(secret));
    zg_sha256_hex(out, strlen(out), hash);
    scopes_to_text(scopes, scope_text, sizeof(scope_text));
    int64_t exp = now + (int64_t)days * 86400;
    rc = zg_auth_exec_bind(db,
                           "INSERT INTO api_tokens(user_id,name,token_hash,scopes,created_at,"
                           "expires_at,created_by,mfa) VALUES(?,?,?,?,?,?,?,?)",
                           err, "itttiiii", user_id, name, hash, scope_text, now, exp,
                           created_by, (int64_t)mfa);
    if (rc) {
        zg_wipe(out, ZG_TOKEN_LEN);
        return rc;
    }
    if (id)
        *id = sqlite3_last_insert_rowid(db);
    if (expires_at)
        *expires_at = exp;
    return 0;
}

int zg_auth_bearer(sqlite3 *db, const char *token, struct zg_identity *who, struct zg_error *err)
{
    memset(who, 0, sizeof(*who));
    if (!token || strncmp(token, "zgt_", 4) != 0 || strlen(token) > ZG_TOKEN_LEN)
        return zg_error_set(err, ZG_EAUTH, "", "API token is malformed");
    char h[ZG_SHA256_HEX];
    zg_sha256_hex(token, strlen(token), h);
    /* the token, its user and organisation in one statement: this runs on every request */
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "SELECT t.id,t.user_id,t.name,t.scopes,t.expires_at,t.revoked_at IS NOT NULL,t.mfa,"
        "coalesce(t.last_used_at,0),u.login,u.role,o.id,o.name,o.type,"
        "u.totp_secret_enc IS NOT NULL,coalesce(u.participant_id,''),u.disabled "
        "FROM api_tokens t JOIN users u ON u.id=t.user_id JOIN orgs o ON o.id=u.org_id "
        "WHERE t.token_hash=?",
        err);
    if (!st)
        return ZG_EIO;
    sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        zg_db_release(st);
        return rc == SQLITE_DONE ? zg_error_set(err, ZG_EAUTH, "", "API token is unknown")
                                 : zg_db_fail(db, rc, err);
    }
    int64_t tid = sqlite3_column_int64(st, 0), uid = sqlite3_column_int64(st, 1);
    char name[64], scopes[160];
    snprintf(name, sizeof(name), "%s", zg_db_text(st, 2));
    snprintf(scopes, sizeof(scopes), "%s", zg_db_text(st, 3));
    int64_t exp = sqlite3_column_int64(st, 4), used = sqlite3_column_int64(st, 7);
    int revoked = sqlite3_column_int(st, 5), mfa = sqlite3_column_int(st, 6);
    who->user_id = uid;
    snprintf(who->login, sizeof(who->login), "%s", zg_db_text(st, 8));
    int role_bad = zg_role_parse(zg_db_text(st, 9), &who->role);
    who->org_id = sqlite3_column_int64(st, 10);
    snprintf(who->org_name, sizeof(who->org_name), "%s", zg_db_text(st, 11));
    snprintf(who->org_type, sizeof(who->org_type), "%s", zg_db_text(st, 12));
    who->mfa_enrolled = sqlite3_column_int(st, 13) != 0;
    snprintf(who->participant_id, sizeof(who->participant_id), "%s", zg_db_text(st, 14));
    int disabled = sqlite3_column_int(st, 15);
    zg_db_release(st);
    int64_t now = zg_clock_now();
    if (revoked)
        return zg_error_set(err, ZG_EAUTH, "", "API token has been revoked");
    if (exp <= now)
        return zg_error_set(err, ZG_EAUTH, "", "API token has expired");
    if (disabled)
        return zg_error_set(err, ZG_EAUTH, "", "account is disabled");
    if (role_bad)
        return zg_error_set(err, ZG_ECORRUPT, "", "stored role is unknown");
    uint32_t mask = 0;
    char bad[32];
    if (zg_tier_parse_list(scopes, &mask, bad, sizeof(bad)))
        return zg_error_set(err, ZG_ECORRUPT, "", "stored token scope is invalid");
    who->kind = ZG_AUTH_TOKEN;
    who->token_id = tid;
    who->scopes = mask;
    who->mfa = mfa != 0;
    snprintf(who->token_name, sizeof(who->token_name), "%s", name);
    if (now - used >= 60) {
        struct zg_error e2;
        (void)zg_auth_exec_bind(db, "UPDATE api_tokens SET last_used_at=? WHERE id=?", &e2, "ii",
                                now, tid);
    }
    return 0;
}

int zg_token_revoke(sqlite3 *db, int64_t user_id, int64_t id, struct zg_error *err)
{
    int rc = user_id > 0
                 ? zg_auth_exec_bind(db,
                                     "UPDATE api_tokens SET revoked_at=? WHERE id=? AND user_id=? "
                                     "AND revoked_at IS NULL",
                                     err, "iii", zg_clock_now(), id, user_id)
                 : zg_auth_exec_bind(db,
                                     "UPDATE api_tokens SET revoked_at=? WHERE id=? AND "
                                     "revoked_at IS NULL",
                                     err, "ii", zg_clock_now(), id);
    if (rc)
        return rc;
    if (sqlite3_changes(db) == 0)
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such live token");
    return 0;
}

json_t *zg_token_list(sqlite3 *db, int64_t user_id, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "SELECT id,name,scopes,created_at,expires_at,last_used_at,"
                                     "revoked_at IS NOT NULL FROM api_tokens WHERE user_id=? "
                                     "ORDER BY id DESC",
                                     err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, user_id);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t mask = 0;
        char bad[32];
        if (zg_tier_parse_list(zg_db_text(st, 2), &mask, bad, sizeof(bad)))
            mask = 0;
        json_t *o = json_pack("{s:I,s:s,s:o,s:I,s:I,s:b}", "id",
                              (json_int_t)sqlite3_column_int64(st, 0), "name", zg_db_text(st, 1),
                              "scopes", zg_scopes_json(mask), "created_at",
                              (json_int_t)sqlite3_column_int64(st, 3), "expires_at",
                              (json_int_t)sqlite3_column_int64(st, 4), "revoked",
                              sqlite3_column_int(st, 6));
        json_object_set_new(o, "last_used_at",
                            sqlite3_column_type(st, 5) == SQLITE_NULL
                                ? json_null()
                                : json_integer(sqlite3_column_int64(st, 5)));
        json_array_append_new(arr, o);
    }
    zg_db_release(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        zg_db_fail(db, rc, err);
        return NULL;
    }
    return json_pack("{s:o}", "tokens", arr);
}
