/* Unit tests of src/auth: users, sign-in with password + TOTP, replay protection, lockout,
 * recovery codes, browser sessions, scoped expiring API tokens, and disabling users. */
#include "testutil.h"

#include "auth/auth.h"
#include "common/clock.h"
#include "common/error.h"
#include "store/db.h"
#include "crypto/crypto.h"
#include "crypto/totp.h"

struct fx {
    struct zg_testdir t;
    sqlite3 *db;
    int64_t org, org2;
};

static int group_setup(void **state)
{
    (void)state;
    return zg_crypto_init() == 0 ? 0 : -1;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    zg_test_datadir_setup(&f->t);
    f->db = zg_test_connect(&f->t, ZG_DB_MAIN);
    struct zg_error err;
    if (zg_org_add(f->db, "Kanto University Hospital", "hospital", &f->org, &err) ||
        zg_org_add(f->db, "National Data Center", "datacenter", &f->org2, &err))
        fail_msg("zg_org_add: %s", err.reason);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    zg_db_close(f->db);
    zg_test_datadir_teardown(&f->t);
    free(f);
    return 0;
}

static void add_user(struct fx *f, const char *login, const char *role, bool mfa,
                     struct zg_new_user *u)
{
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_user_add(&f->t.dd, f->db, login, role, "Kanto University Hospital", mfa, u, &err))
        fail_msg("zg_user_add %s: %s", login, err.reason);
    assert_true(u->id > 0);
    assert_int_equal(strlen(u->password), 20);
    if (mfa)
        assert_int_equal(strlen(u->totp_secret), 32);
    else
        assert_string_equal(u->totp_secret, "");
}

static void code_at(const char *secret, int64_t t, char out[7])
{
    if (zg_totp_generate(secret, t, out))
        fail_msg("zg_totp_generate failed");
}

static int login(struct fx *f, const char *user, const char *pw, const char *totp,
                 const char *recovery, struct zg_login_result *res, struct zg_error *err)
{
    struct zg_login_request req = {.login = user, .password = pw, .totp = totp,
                                   .recovery_code = recovery, .ip = "192.0.2.7",
                                   .user_agent = "unit-test"};
    zg_error_clear(err);
    return zg_auth_login(&f->t.dd, f->db, &req, res, err);
}

static void exec_sql_i(struct fx *f, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(f->db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("prepare: %s", sqlite3_errmsg(f->db));
    sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, b);
    if (sqlite3_step(st) != SQLITE_DONE)
        fail_msg("step: %s", sqlite3_errmsg(f->db));
    sqlite3_finalize(st);
}

/* --- users ----------------------------------------------------------------------------- */

static void user_add_rules(void **state)
{
    struct fx *f = *state;
    struct zg_new_user u;
    struct zg_error err;
    zg_error_clear(&err);
    /* roles that reach sensitive tiers must be created with MFA */
    assert_int_equal(zg_user_add(&f->t.dd, f->db, "dr.sato", "clinician",
                                 "Kanto University Hospital", false, &u, &err),
                     ZG_EINVAL);
    assert_int_equal(zg_user_add(&f->t.dd, f->db, "Bad Login", "academic",
                                 "Kanto University Hospital", false, &u, &err),
                     ZG_EINVAL);
    assert_int_equal(zg_user_add(&f->t.dd, f->db, "ab", "academic", "Kanto University Hospital",
                                 false, &u, &err),
                     ZG_EINVAL);
    assert_int_equal(zg_user_add(&f->t.dd, f->db, "dr.sato", "wizard",
                                 "Kanto University Hospital", true, &u, &err),
                     ZG_EINVAL);
    assert_int_equal(zg_user_add(&f->t.dd, f->db, "dr.sato", "clinician", "No Such Hospital",
                                 true, &u, &err),
                     ZG_ENOTFOUND);
    add_user(f, "dr.sato", "clinician", true, &u);
    struct zg_new_user u2;
    assert_int_equal(zg_user_add(&f->t.dd, f->db, "dr.sato", "academic",
                                 "Kanto University Hospital", false, &u2, &err),
                     ZG_EEXIST);
    json_t *j = zg_user_get(f->db, "dr.sato", &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "role")), "clinician");
    assert_true(json_is_true(json_object_get(j, "mfa_enrolled")));
    assert_false(json_is_true(json_object_get(j, "disabled")));
    /* never the password hash or secrets */
    char *dump = json_dumps(j, 0);
    assert_null(strstr(dump, "argon2"));
    assert_null(strstr(dump, u.totp_secret));
    assert_null(strstr(dump, u.password));
    free(dump);
    json_decref(j);
    assert_null(zg_user_get(f->db, "nobody", &err));
    assert_int_equal(err.code, ZG_ENOTFOUND);
    /* the TOTP secret is stored encrypted */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "SELECT count(*) FROM users WHERE totp_secret_enc LIKE "
                                        "'%'||?||'%' OR pw_hash LIKE '%'||?||'%'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, u.totp_secret, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u.password, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
}

/* --- sign-in --------------------------------------------------------------------------- */

static void login_password_and_totp(void **state)
{
    struct fx *f = *state;
    struct zg_new_user u;
    add_user(f, "dr.sato", "clinician", true, &u);
    struct zg_login_result res;
    struct zg_error err;
    char code[7];
    int64_t now = zg_clock_now();
    code_at(u.totp_secret, now, code);

    /* password right, second factor missing: asked for it, not counted as a failure */
    assert_int_equal(login(f, "dr.sato", u.password, NULL, NULL, &res, &err), ZG_EAUTH);
    assert_string_equal(err.field, "mfa");

    assert_int_equal(login(f, "dr.sato", u.password, code, NULL, &res, &err), 0);
    assert_true(strlen(res.session_token) >= 20);
    assert_true(res.expires_at > now);
    assert_int_equal(res.who.kind, ZG_AUTH_SESSION);
    assert_int_equal(res.who.user_id, u.id);
    assert_int_equal(res.who.role, ZG_ROLE_CLINICIAN);
    assert_int_equal(res.who.org_id, f->org);
    assert_true(res.who.mfa);
    assert_true(res.who.csrf[0] != '\0');

    /* the cookie authenticates */
    struct zg_identity who;
    assert_int_equal(zg_auth_session(f->db, res.session_token, &who, &err), 0);
    assert_int_equal(who.user_id, u.id);
    assert_string_equal(who.login, "dr.sato");
    assert_true(who.mfa);
    assert_int_equal(who.session_id, res.who.session_id);
    assert_string_equal(who.csrf, res.who.csrf);

    /* replay of the same code is refused even with the right password */
    struct zg_login_result res2;
    assert_int_equal(login(f, "dr.sato", u.password, code, NULL, &res2, &err), ZG_EAUTH);
    /* an older code (previous step) is refused too */
    char older[7];
    code_at(u.totp_secret, now - 30, older);
    if (strcmp(older, code))
        assert_int_equal(login(f, "dr.sato", u.password, older, NULL, &res2, &err), ZG_EAUTH);
    /* the next step's code works (within the ±1 window) */
    char next[7];
    code_at(u.totp_secret, now + 30, next);
    assert_int_equal(login(f, "dr.sato", u.password, next, NULL, &res2, &err), 0);
    assert_string_not_equal(res2.session_token, res.session_token);
}

static void login_failures_look_alike(void **state)
{
    struct fx *f = *state;
    struct zg_new_user u;
    add_user(f, "dr.sato", "clinician", true, &u);
    struct zg_login_result res;
    struct zg_error err;
    char code[7], wrong[7];
    int64_t now = zg_clock_now();
    code_at(u.totp_secret, now, code);
    /* a code far outside the window */
    code_at(u.totp_secret, now + 3000, wrong);
    if (!strcmp(wrong, code))
        code_at(u.totp_secret, now + 6000, wrong);

    assert_int_equal(login(f, "dr.sato", "wrong password!!", code, NULL, &res, &err), ZG_EAUTH);
    char r1[sizeof(err.reason)];
    snprintf(r1, sizeof(r1), "%s", err.reason);
    assert_int_equal(login(f, "dr.sato", u.password, wrong, NULL, &res, &err), ZG_EAUTH);
    assert_string_equal(err.reason, r1);
    assert_int_equal(login(f, "nobody", u.password, code, NULL, &res, &err), ZG_EAUTH);
    assert_string_equal(err.reason, r1);
    assert_int_equal(login(f, "dr.sato", u.password, "12345", NULL, &res, &err), ZG_EAUTH);
    assert_int_equal(login(f, "dr.sato", u.password, NULL, "aaaa-bbbb-cccc", &res, &err),
                     ZG_EAUTH);
    assert_int_equal(login(f, "", u.password, code, NULL, &res, &err), ZG_EINVAL);
    assert_int_equal(login(f, "dr.sato", "", code, NULL, &res, &err), ZG_EINVAL);
    /* the failed attempts did not consume the current code */
    assert_int_equal(login(f, "dr.sato", u.password, code, NULL, &res, &err), 0);
}

static void lockout(void **state)
{
    struct fx *f = *state;
    struct zg_new_user u;
    add_user(f, "prof.ito", "academic", false, &u);
    struct zg_login_result res;
    struct zg_error err;
    for (int i = 1; i <= ZG_LOCK_THRESHOLD; i++)
        assert_int_equal(login(f, "prof.ito", "not the password", NULL, NULL, &res, &err),
                         ZG_EAUTH);
    /* now locked: even the right password is refused, with a time to wait */
    assert_int_equal(login(f, "prof.ito", u.password, NULL, NULL, &res, &err), ZG_ELOCKED);
    assert_true(res.retry_after > 0);
    assert_true(res.retry_after <= 900);
    assert_int_equal(login(f, "prof.ito", "not the password", NULL, NULL, &res, &err),
                     ZG_ELOCKED);
    json_t *j = zg_user_get(f->db, "prof.ito", &err);
    assert_true(json_integer_value(json_object_get(j, "locked_until")) > zg_clock_now());
    json_decref(j);
    /* when the lock has passed, the right password works and the count is reset */
    exec_sql_i(f, "UPDATE users SET locked_until=? WHERE id=?", zg_clock_now() - 1, u.id);
    assert_int_equal(login(f, "prof.ito", u.password, NULL, NULL, &res, &err), 0);
    for (int i = 1; i < ZG_LOCK_THRESHOLD; i++)
        assert_int_equal(login(f, "prof.ito", "not the password", NULL, NULL, &res, &err),
                         ZG_EAUTH);
    assert_int_equal(login(f, "prof.ito", u.password, NULL, NULL, &res, &err), 0);
    /* an administrator's password reset clears a lock */
    for (int i = 1; i <= ZG_LOCK_THRESHOLD; i++)
        assert_int_equal(login(f, "prof.ito", "not the password", NULL, NULL, &res, &err),
                         ZG_EAUTH);
    char np[21];
    assert_int_equal(zg_user_set_password(f->db, "prof.ito", NULL, np, &err), 0);
    assert_int_equal(strlen(np), 20);
    assert_int_equal(login(f, "prof.ito", u.password, NULL, NULL, &res, &err), ZG_EAUTH);
    assert_int_equal(login(f, "prof.ito", np, NULL, NULL, &res, &err), 0);
}

static void lockout_counts_wrong_totp(void **state)
{
    struct fx *f = *state;
    struct zg_new_user u;
    add_user(f, "dr.sato", "clinician", true, &u);
    struct zg_login_result res;
    struct zg_error err;
    char code[7], wrong[7];
    int64_t now = zg_clock_now();
    code_at(u.totp_secret, now, code);
    code_at(u.totp_secret, now + 3000, wrong);
    if (!strcmp(wrong, code))
        code_at(u.totp_secret, now + 6000, wrong);
    /* guessing one-time codes with a stolen password also locks the account */
    for (int i = 1; i <= ZG_LOCK_THRESHOLD; i++)
        assert_int_equal(login(f, "dr.sato", u.password, wrong, NULL, &res, &err), ZG_EAUTH);
    assert_int_equal(login(f, "dr.sato", u.password, code, NULL, &res, &err), ZG_ELOCKED);
    assert_true(res.retry_after > 0);
}

static void recovery_codes(void **state)
{
    struct fx *f = *state;
    struct zg_new_user u;
    add_user(f, "op.kato", "operator", true, &u);
    struct zg_error err;
    zg_error_clear(&err);
    char codes[ZG_RECOVERY_CODES][16];
    /* nothing pending yet */
    assert_int_equal(zg_mfa_enroll_confirm(&f->t.dd, f->db, u.id, "123456", codes, &err),
                     ZG_ENOTFOUND);
    char secret[33];
    assert_int_equal(zg_mfa_enroll_begin(&f->t.dd, f->db, u.id, secret, &err), 0);
    assert_int_equal(strlen(secret), 32);
    assert_string_not_equal(secret, u.totp_secret);
    int64_t now = zg_clock_now();
    char good[7], bad[7];
    code_at(secret, now, good);
    code_at(secret, now + 3000, bad);
    if (strcmp(bad, good))
        assert_int_equal(zg_mfa_enroll_confirm(&f->t.dd, f->db, u.id, bad, codes, &err),
                         ZG_EAUTH);
    assert_int_equal(zg_mfa_enroll_confirm(&f->t.dd, f->db, u.id, "12ab56", codes, &err),
                     ZG_EINVAL);
    assert_int_equal(zg_mfa_enroll_confirm(&f->t.dd, f->db, u.id, good, codes, &err), 0);
    for (int i = 0; i < ZG_RECOVERY_CODES; i++) {
        assert_int_equal(strlen(codes[i]), 14);
        assert_int_equal(codes[i][4], '-');
        assert_int_equal(codes[i][9], '-');
        for (int k = 0; k < i; k++)
            assert_string_not_equal(codes[i], codes[k]);
    }

    struct zg_login_result res;
    /* the code used to confirm cannot be replayed to sign in */
    assert_int_equal(login(f, "op.kato", u.password, good, NULL, &res, &err), ZG_EAUTH);
    /* the old secret no longer works */
    char old[7];
    code_at(u.totp_secret, now + 30, old);
    char newnext[7];
    code_at(secret, now + 30, newnext);
    if (strcmp(old, newnext))
        assert_int_equal(login(f, "op.kato", u.password, old, NULL, &res, &err), ZG_EAUTH);

    /* a recovery code works once, and only with the right password */
    assert_int_equal(login(f, "op.kato", "wrong password!!", NULL, codes[0], &res, &err),
                     ZG_EAUTH);
    assert_int_equal(login(f, "op.kato", u.password, NULL, codes[0], &res, &err), 0);
    assert_true(res.who.mfa);
    assert_int_equal(login(f, "op.kato", u.password, NULL, codes[0], &res, &err), ZG_EAUTH);
    assert_int_equal(login(f, "op.kato", u.password, NULL, "zzzz-zzzz-zzzz", &res, &err),
                     ZG_EAUTH);
    /* another code still works */
    assert_int_equal(login(f, "op.kato", u.password, NULL, codes[1], &res, &err), 0);
    /* the new authenticator works for sign-in */
    assert_int_equal(login(f, "op.kato", u.password, newnext, NULL, &res, &err), 0);
    /* resetting MFA invalidates the recovery codes */
    char s2[33];
    assert_int_equal(zg_user_reset_mfa(&f->t.dd, f->db, "op.kato", s2, &err), 0);
    assert_int_equal(login(f, "op.kato", u.password, NULL, codes[2], &res, &err), ZG_EAUTH);
}

/* --- sessions -------------------------------------------------------------------------- */

static void sessions(void **state)
{
    struct fx *f = *state;
    struct zg_new_user u, v;
    add_user(f, "prof.ito", "academic", false, &u);
    add_user(f, "prof.mori", "academic", false, &v);
    struct zg_login_result r1, r2;
    struct zg_error err;
    struct zg_identity who;
    assert_int_equal(login(f, "prof.ito", u.password, NULL, NULL, &r1, &err), 0);
    assert_false(r1.who.mfa); /* no second factor enrolled */
    assert_int_equal(login(f, "prof.ito", u.password, NULL, NULL, &r2, &err), 0);
    assert_int_equal(zg_auth_session(f->db, r1.session_token, &who, &err), 0);
    assert_int_equal(who.kind, ZG_AUTH_SESSION);
    assert_int_equal(who.role, ZG_ROLE_ACADEMIC);
    assert_false(who.mfa);
    assert_false(who.mfa_enrolled);

    json_t *l = zg_session_list(f->db, u.id, r1.who.session_id, &err);
    assert_non_null(l);
    json_t *arr = json_object_get(l, "sessions");
    assert_int_equal(json_array_size(arr), 2);
    int current = 0;
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s)
    {
        if (json_is_true(json_object_get(s, "current"))) {
            current++;
            assert_int_equal(json_integer_value(json_object_get(s, "id")), r1.who.session_id);
        }
        assert_string_equal(json_string_value(json_object_get(s, "user_agent")), "unit-test");
    }
    assert_int_equal(current, 1);
    char *dump = json_dumps(l, 0);
    assert_null(strstr(dump, r1.session_token)); /* tokens are never listed */
    free(dump);
    json_decref(l);

    /* malformed, unknown and tampered cookies */
    assert_int_equal(zg_auth_session(f->db, NULL, &who, &err), ZG_EAUTH);
    assert_int_equal(zg_auth_session(f->db, "short", &who, &err), ZG_EAUTH);
    char tampered[64];
    snprintf(tampered, sizeof(tampered), "%s", r1.session_token);
    tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
    assert_int_equal(zg_auth_session(f->db, tampered, &who, &err), ZG_EAUTH);

    /* another user cannot end my session */
    assert_int_equal(zg_session_revoke(f->db, v.id, r1.who.session_id, &err), ZG_ENOTFOUND);
    assert_int_equal(zg_auth_session(f->db, r1.session_token, &who, &err), 0);
    /* revoking ends exactly that session */
    assert_int_equal(zg_session_revoke(f->db, u.id, r1.who.session_id, &err), 0);
    assert_int_equal(zg_auth_session(f->db, r1.session_token, &who, &err), ZG_EAUTH);
    assert_int_equal(zg_auth_session(f->db, r2.session_token, &who, &err), 0);
    assert_int_equal(zg_session_revoke(f->db, u.id, r1.who.session_id, &err), ZG_ENOTFOUND);

    /* idle timeout and absolute expiry */
    int64_t now = zg_clock_now();
    exec_sql_i(f, "UPDATE sessions SET last_seen_at=? WHERE id=?", now - ZG_SESSION_IDLE - 5,
               r2.who.session_id);
    assert_int_equal(zg_auth_session(f->db, r2.session_token, &who, &err), ZG_EAUTH);
    struct zg_login_result r3;
    assert_int_equal(login(f, "prof.ito", u.password, NULL, NULL, &r3, &err), 0);
    assert_int_equal(zg_auth_session(f->db, r3.session_token, &who, &err), 0);
    exec_sql_i(f, "UPDATE sessions SET expires_at=? WHERE id=?", now - 1, r3.who.session_id);
    assert_int_equal(zg_auth_session(f->db, r3.session_token, &who, &err), ZG_EAUTH);

    /* a password change by an administrator ends every session */
    struct zg_login_result r4;
    assert_int_equal(login(f, "prof.ito", u.password, NULL, NULL, &r4, &err), 0);
    assert_int_equal(zg_user_set_password(f->db, "prof.ito", "a brand new password", NULL,
                                          &err),
                     0);
    assert_int_equal(zg_auth_session(f->db, r4.session_token, &who, &err), ZG_EAUTH);
}

static void password_change(void **state)
{
    struct fx *f = *state;
    struct zg_new_user u;
    add_user(f, "prof.ito", "academic", false, &u);
    struct zg_error err;
    zg_error_clear(&err);
    struct zg_login_result res;
    assert_int_equal(zg_password_change(f->db, u.id, "wrong password!!", "another password 1",
                                        &err),
                     ZG_EAUTH);
    assert_int_equal(zg_password_change(f->db, u.id, u.password, "short", &err), ZG_EINVAL);
    assert_int_equal(zg_password_change(f->db, u.id, u.password, u.password, &err), ZG_EINVAL);
    assert_int_equal(zg_password_change(f->db, u.id, u.password, "my prof.ito password", &err),
                     ZG_EINVAL);
    assert_int_equal(login(f, "prof.ito", u.password, NULL, NULL, &res, &err), 0);
    assert_int_equal(zg_password_change(f->db, u.id, u.password, "another password 1", &err), 0);
    assert_int_equal(login(f, "prof.ito", u.password, NULL, NULL, &res, &err), ZG_EAUTH);
    assert_int_equal(login(f, "prof.ito", "another password 1", NULL, NULL, &res, &err), 0);
}

/* --- API tokens ------------------------------------------------------------------------ */

static void tokens(void **state)
{
    struct fx *f = *state;
    struct zg_new_user u, v;
    add_user(f, "dr.sato", "clinician", true, &u);
    add_user(f, "prof.ito", "academic", false, &v);
    struct zg_error err;
    zg_error_clear(&err);
    char tok[ZG_TOKEN_LEN], tok2[ZG_TOKEN_LEN];
    int64_t id = 0, id2 = 0, exp = 0;
    int64_t now = zg_clock_now();

    assert_int_equal(zg_token_create(f->db, u.id, "gateway", 0, 30, true, u.id, tok, &id, &exp,
                                     &err),
                     0);
    assert_int_equal(strncmp(tok, "zgt_", 4), 0);
    assert_true(strlen(tok) > 40);
    assert_true(exp >= now + 30 * 86400 && exp <= now + 30 * 86400 + 5);

    struct zg_identity who;
    assert_int_equal(zg_auth_bearer(f->db, tok, &who, &err), 0);
    assert_int_equal(who.kind, ZG_AUTH_TOKEN);
    assert_int_equal(who.user_id, u.id);
    assert_int_equal(who.token_id, id);
    assert_string_equal(who.token_name, "gateway");
    assert_int_equal(who.role, ZG_ROLE_CLINICIAN);
    assert_true(who.mfa);
    /* scope 0 means every tier of the role, and nothing more */
    assert_int_equal(who.scopes, zg_policy_role_tiers(ZG_ROLE_CLINICIAN));

    /* the token itself is not stored */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "SELECT count(*) FROM api_tokens WHERE token_hash=? OR "
                                        "token_hash LIKE '%'||?||'%'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, tok, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tok + 4, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);

    /* scope subset rule */
    uint32_t ov = ZG_TIER_BIT(ZG_TIER_OVERVIEW);
    assert_int_equal(zg_token_create(f->db, u.id, "admin-ish", ov | ZG_TIER_BIT(ZG_TIER_ADMIN), 30,
                                     true, u.id, tok2, &id2, &exp, &err),
                     ZG_EINVAL);
    assert_int_equal(zg_token_create(f->db, v.id, "genome", ZG_TIER_BIT(ZG_TIER_DETAILED_GENOME),
                                     30, false, v.id, tok2, &id2, &exp, &err),
                     ZG_EINVAL);
    assert_int_equal(zg_token_create(f->db, u.id, "counts", ov, 30, false, u.id, tok2, &id2, &exp,
                                     &err),
                     0);
    assert_int_equal(zg_auth_bearer(f->db, tok2, &who, &err), 0);
    assert_int_equal(who.scopes, ov);
    assert_false(who.mfa);
    assert_string_not_equal(tok, tok2);

    /* names and lifetimes */
    char tok3[ZG_TOKEN_LEN];
    int64_t id3 = 0;
    assert_int_equal(zg_token_create(f->db, u.id, "gateway", ov, 30, true, u.id, tok3, &id3, &exp,
                                     &err),
                     ZG_EEXIST);
    assert_int_equal(zg_token_create(f->db, v.id, "gateway", 0, 30, false, v.id, tok3, &id3, &exp,
                                     &err),
                     0); /* names are per user */
    assert_int_equal(zg_token_create(f->db, u.id, "t0", ov, 0, true, u.id, tok3, &id3, &exp, &err),
                     ZG_EINVAL);
    assert_int_equal(zg_token_create(f->db, u.id, "t366", ov, ZG_TOKEN_MAX_DAYS + 1, true, u.id,
                                     tok3, &id3, &exp, &err),
                     ZG_EINVAL);
    assert_int_equal(zg_token_create(f->db, u.id, "", ov, 30, true, u.id, tok3, &id3, &exp, &err),
                     ZG_EINVAL);
    assert_int_equal(zg_token_create(f->db, u.id, "bad\nname", ov, 30, true, u.id, tok3, &id3,
                                     &exp, &err),
                     ZG_EINVAL);

    /* malformed and tampered tokens */
    assert_int_equal(zg_auth_bearer(f->db, NULL, &who, &err), ZG_EAUTH);
    assert_int_equal(zg_auth_bearer(f->db, "Bearer zgt_x", &who, &err), ZG_EAUTH);
    assert_int_equal(zg_auth_bearer(f->db, tok + 4, &who, &err), ZG_EAUTH);
    char t4[ZG_TOKEN_LEN];
    snprintf(t4, sizeof(t4), "%s", tok);
    t4[10] = t4[10] == 'A' ? 'B' : 'A';
    assert_int_equal(zg_auth_bearer(f->db, t4, &who, &err), ZG_EAUTH);

    /* list */
    json_t *l = zg_token_list(f->db, u.id, &err);
    assert_non_null(l);
    assert_int_equal(json_array_size(json_object_get(l, "tokens")), 2);
    char *dump = json_dumps(l, 0);
    assert_null(strstr(dump, tok + 4));
    free(dump);
    json_decref(l);

    /* revoke: only by its owner (or an admin, user_id 0), once */
    assert_int_equal(zg_token_revoke(f->db, v.id, id, &err), ZG_ENOTFOUND);
    assert_int_equal(zg_auth_bearer(f->db, tok, &who, &err), 0);
    assert_int_equal(zg_token_revoke(f->db, u.id, id, &err), 0);
    assert_int_equal(zg_auth_bearer(f->db, tok, &who, &err), ZG_EAUTH);
    assert_int_equal(zg_token_revoke(f->db, u.id, id, &err), ZG_ENOTFOUND);
    assert_int_equal(zg_token_revoke(f->db, 0, id2, &err), 0);
    assert_int_equal(zg_auth_bearer(f->db, tok2, &who, &err), ZG_EAUTH);
    /* the name of a revoked token can be reused */
    assert_int_equal(zg_token_create(f->db, u.id, "gateway", ov, 30, true, u.id, tok3, &id3, &exp,
                                     &err),
                     0);
    assert_int_equal(zg_auth_bearer(f->db, tok3, &who, &err), 0);

    /* expiry */
    exec_sql_i(f, "UPDATE api_tokens SET expires_at=? WHERE id=?", zg_clock_now() - 1, id3);
    assert_int_equal(zg_auth_bearer(f->db, tok3, &who, &err), ZG_EAUTH);
    assert_non_null(strstr(err.reason, "expired"));
    /* …and an expired token's name can be reused */
    char tok5[ZG_TOKEN_LEN];
    int64_t id5 = 0;
    assert_int_equal(zg_token_create(f->db, u.id, "gateway", ov, 1, true, u.id, tok5, &id5, &exp,
                                     &err),
                     0);
    assert_int_equal(zg_auth_bearer(f->db, tok5, &who, &err), 0);
}

static void disabling_revokes(void **state)
{
    struct fx *f = *state;
    struct zg_new_user u;
    add_user(f, "dr.sato", "clinician", true, &u);
    struct zg_error err;
    struct zg_login_result res;
    char code[7];
    int64_t now = zg_clock_now();
    code_at(u.totp_secret, now, code);
    assert_int_equal(login(f, "dr.sato", u.password, code, NULL, &res, &err), 0);
    char tok[ZG_TOKEN_LEN];
    int64_t id = 0, exp = 0;
    assert_int_equal(zg_token_create(f->db, u.id, "gateway", 0, 30, true, u.id, tok, &id, &exp,
                                     &err),
                     0);
    struct zg_identity who;
    assert_int_equal(zg_auth_session(f->db, res.session_token, &who, &err), 0);
    assert_int_equal(zg_auth_bearer(f->db, tok, &who, &err), 0);

    assert_int_equal(zg_user_set_disabled(f->db, "dr.sato", true, &err), 0);
    assert_int_equal(zg_auth_session(f->db, res.session_token, &who, &err), ZG_EAUTH);
    assert_int_equal(zg_auth_bearer(f->db, tok, &who, &err), ZG_EAUTH);
    json_t *j = zg_user_get(f->db, "dr.sato", &err);
    assert_true(json_is_true(json_object_get(j, "disabled")));
    json_decref(j);
    /* a disabled user cannot sign in, with the right password and code */
    char next[7];
    code_at(u.totp_secret, now + 30, next);
    assert_int_equal(login(f, "dr.sato", u.password, next, NULL, &res, &err), ZG_EAUTH);
    /* nor get a token */
    char tok2[ZG_TOKEN_LEN];
    assert_int_not_equal(zg_token_create(f->db, u.id, "another", 0, 30, true, u.id, tok2, &id,
                                         &exp, &err),
                         0);
    assert_int_equal(zg_user_set_disabled(f->db, "nobody", true, &err), ZG_ENOTFOUND);

    /* re-enabling allows sign-in again but does not resurrect old credentials */
    assert_int_equal(zg_user_set_disabled(f->db, "dr.sato", false, &err), 0);
    assert_int_equal(zg_auth_bearer(f->db, tok, &who, &err), ZG_EAUTH);
    struct zg_login_result res2;
    assert_int_equal(login(f, "dr.sato", u.password, next, NULL, &res2, &err), 0);
    assert_int_equal(zg_auth_session(f->db, res.session_token, &who, &err), ZG_EAUTH);
    assert_int_equal(zg_auth_session(f->db, res2.session_token, &who, &err), 0);
}

static void orgs(void **state)
{
    struct fx *f = *state;
    struct zg_error err;
    int64_t id = 0;
    assert_int_equal(zg_org_add(f->db, "Kanto University Hospital", "hospital", &id, &err),
                     ZG_EEXIST);
    assert_int_equal(zg_org_add(f->db, "Seq Inc", "bakery", &id, &err), ZG_EINVAL);
    assert_int_equal(zg_org_add(f->db, "", "hospital", &id, &err), ZG_EINVAL);
    assert_int_equal(zg_org_add(f->db, "Seq Inc", "sequencing", &id, &err), 0);
    int64_t found = 0;
    assert_int_equal(zg_org_lookup(f->db, "Seq Inc", &found, &err), 0);
    assert_int_equal(found, id);
    assert_int_equal(zg_org_lookup(f->db, "Nope", &found, &err), ZG_ENOTFOUND);
    json_t *l = zg_org_list(f->db, &err);
    assert_int_equal(json_array_size(json_object_get(l, "orgs")), 3);
    json_decref(l);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(user_add_rules),  T(login_password_and_totp), T(login_failures_look_alike),
        T(lockout),         T(lockout_counts_wrong_totp), T(recovery_codes),
        T(sessions),        T(password_change),         T(tokens),
        T(disabling_revokes), T(orgs),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
