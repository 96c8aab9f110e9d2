/* Accounts: organisations, users, passwords, TOTP MFA, recovery codes, lockout, browser
 * sessions and scoped API tokens. Owns the tables of migration 1 of zengen.db. */
#ifndef ZG_AUTH_H
#define ZG_AUTH_H

#include "common/compat.h"
#include "policy/policy.h"
#include "store/datadir.h"
#include <jansson.h>
#include <sqlite3.h>

struct zg_error;

#define ZG_SESSION_TTL (8 * 3600)    /* absolute session lifetime, seconds */
#define ZG_SESSION_IDLE (30 * 60)    /* idle timeout, seconds */
#define ZG_LOCK_THRESHOLD 5          /* failures before the account is locked */
#define ZG_TOKEN_MAX_DAYS 365
#define ZG_RECOVERY_CODES 10
#define ZG_TOKEN_LEN 64              /* "zgt_" + 43 base64url chars + NUL fits */

/* --- organisations -------------------------------------------------------------------- */

/* Adds an organisation; type is hospital|sequencing|datacenter|academia|industry.
 * Returns 0 (id in *id), ZG_EINVAL (bad name/type), ZG_EEXIST. */
int zg_org_add(sqlite3 *db, const char *name, const char *type, int64_t *id,
               struct zg_error *err) ZG_MUST_CHECK;

/* Finds an organisation by name. Returns 0 or ZG_ENOTFOUND. */
int zg_org_lookup(sqlite3 *db, const char *name, int64_t *id, struct zg_error *err) ZG_MUST_CHECK;

/* {"orgs":[{id,name,type,created_at}]} or NULL with err. Caller owns the reference. */
json_t *zg_org_list(sqlite3 *db, struct zg_error *err);

/* --- users ---------------------------------------------------------------------------- */

struct zg_new_user {
    int64_t id;
    char password[21];    /* initial password, shown once */
    char totp_secret[33]; /* base32; "" when created without MFA */
};

/* Validates a login name: 3–63 chars of [a-z0-9._-], starting with a letter or digit. */
int zg_login_validate(const char *login, struct zg_error *err) ZG_MUST_CHECK;

/* Creates a user with a random password and (when with_mfa) a confirmed TOTP secret.
 * Returns 0, ZG_EINVAL (login/role), ZG_ENOTFOUND (org), ZG_EEXIST (login taken). */
int zg_user_add(const struct zg_datadir *dd, sqlite3 *db, const char *login, const char *role,
                const char *org, bool with_mfa, struct zg_new_user *out, struct zg_error *err)
    ZG_MUST_CHECK;

/* A user as JSON {id,login,role,org:{id,name,type},mfa_enrolled,disabled,locked_until,
 * created_at} or NULL (ZG_ENOTFOUND). */
json_t *zg_user_get(sqlite3 *db, const char *login, struct zg_error *err);

/* {"users":[…]} */
json_t *zg_user_list(sqlite3 *db, struct zg_error *err);

/* Sets the password (new_pw NULL → a generated one copied to out[21]) and clears lockout. */
int zg_user_set_password(sqlite3 *db, const char *login, const char *new_pw, char out[21],
                         struct zg_error *err) ZG_MUST_CHECK;

/* Replaces the TOTP secret with a new confirmed one (copied to out), deletes recovery codes
 * and ends the user's sessions. */
int zg_user_reset_mfa(const struct zg_datadir *dd, sqlite3 *db, const char *login,
                      char out[33], struct zg_error *err) ZG_MUST_CHECK;

/* Disables (disabled=true) or re-enables a user. Disabling revokes sessions and tokens. */
int zg_user_set_disabled(sqlite3 *db, const char *login, bool disabled, struct zg_error *err)
    ZG_MUST_CHECK;

/* Links a participant account to its pseudonymous participant record (for the participant's
 * own views). Returns 0, ZG_ENOTFOUND, ZG_EINVAL (the user is not a participant). */
int zg_user_link_participant(sqlite3 *db, const char *login, const char *participant_id,
                             struct zg_error *err) ZG_MUST_CHECK;

/* Loads the identity of a user id (org, role, MFA enrolment). */
int zg_identity_load(sqlite3 *db, int64_t user_id, struct zg_identity *who, struct zg_error *err)
    ZG_MUST_CHECK;

/* --- sign-in and sessions ------------------------------------------------------------- */

struct zg_login_request {
    const char *login, *password, *totp, *recovery_code;
    const char *ip, *user_agent; /* recorded on the session */
};

struct zg_login_result {
    char session_token[64]; /* cookie value, shown once */
    int64_t expires_at;
    int64_t retry_after;    /* seconds, when ZG_ELOCKED */
    struct zg_identity who; /* filled on success; login/user_id also on failure when known */
};

/* Checks password and second factor, applies lockout and TOTP replay protection, and starts a
 * session. Returns 0, ZG_EAUTH (err->field "mfa" when only the second factor is missing),
 * ZG_ELOCKED (retry_after set), ZG_EINVAL. Failures never say which part was wrong except
 * for a missing second factor. */
int zg_auth_login(const struct zg_datadir *dd, sqlite3 *db, const struct zg_login_request *req,
                  struct zg_login_result *res, struct zg_error *err) ZG_MUST_CHECK;

/* Authenticates a session cookie value. Returns 0 with *who, or ZG_EAUTH. */
int zg_auth_session(sqlite3 *db, const char *cookie, struct zg_identity *who,
                    struct zg_error *err) ZG_MUST_CHECK;

/* Authenticates a bearer token. Returns 0 with *who, or ZG_EAUTH. */
int zg_auth_bearer(sqlite3 *db, const char *token, struct zg_identity *who, struct zg_error *err)
    ZG_MUST_CHECK;

/* Ends a session (user_id must own it). Returns 0 or ZG_ENOTFOUND. */
int zg_session_revoke(sqlite3 *db, int64_t user_id, int64_t session_id, struct zg_error *err)
    ZG_MUST_CHECK;

/* {"sessions":[…]} of a user's live sessions, `current` marking current_id. */
json_t *zg_session_list(sqlite3 *db, int64_t user_id, int64_t current_id, struct zg_error *err);

/* --- API tokens ----------------------------------------------------------------------- */

/* Creates a token for user_id named name, reaching the tiers in scopes (0 → all of the
 * user's role tiers; must be a subset), valid for days (1..365). mfa records whether the
 * creator had used a second factor. The token text is copied to out (shown once).
 * Returns 0, ZG_EINVAL, ZG_EEXIST (name in use by a live token). */
int zg_token_create(sqlite3 *db, int64_t user_id, const char *name, uint32_t scopes, int days,
                    bool mfa, int64_t created_by, char out[ZG_TOKEN_LEN], int64_t *id,
                    int64_t *expires_at, struct zg_error *err) ZG_MUST_CHECK;

/* Revokes token id; when user_id > 0 it must belong to that user. 0 or ZG_ENOTFOUND. */
int zg_token_revoke(sqlite3 *db, int64_t user_id, int64_t id, struct zg_error *err) ZG_MUST_CHECK;

/* {"tokens":[{id,name,scopes,created_at,expires_at,last_used_at,revoked}]} */
json_t *zg_token_list(sqlite3 *db, int64_t user_id, struct zg_error *err);

/* Scope mask as a JSON array of tier names. */
json_t *zg_scopes_json(uint32_t scopes);

/* --- MFA enrolment and password change ------------------------------------------------ */

/* Starts enrolment of a new TOTP secret (kept pending; copied to out). */
int zg_mfa_enroll_begin(const struct zg_datadir *dd, sqlite3 *db, int64_t user_id, char out[33],
                        struct zg_error *err) ZG_MUST_CHECK;

/* Confirms the pending secret with a current code; issues ZG_RECOVERY_CODES recovery codes
 * (each "xxxx-xxxx-xxxx", copied to codes). Returns 0, ZG_EAUTH (wrong code), ZG_ENOTFOUND
 * (nothing pending). */
int zg_mfa_enroll_confirm(const struct zg_datadir *dd, sqlite3 *db, int64_t user_id,
                          const char *code, char codes[ZG_RECOVERY_CODES][16],
                          struct zg_error *err) ZG_MUST_CHECK;

/* Changes a user's own password after checking the current one. */
int zg_password_change(sqlite3 *db, int64_t user_id, const char *current, const char *next,
                       struct zg_error *err) ZG_MUST_CHECK;

#endif
