/* Sign-in, sign-out and the current session. */
#include "api.h"
#include "auth/auth.h"
#include "common/error.h"

json_t *zg_api_identity_json(const struct zg_identity *w);

json_t *zg_api_identity_json(const struct zg_identity *w)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:{s:I,s:s,s:s},s:b,s:b}", "id", (json_int_t)w->user_id,
                     "login", w->login, "role", zg_role_name(w->role), "role_title",
                     zg_role_title(w->role), "org", "id", (json_int_t)w->org_id, "name",
                     w->org_name, "type", w->org_type, "mfa_enrolled", w->mfa_enrolled,
                     "mfa_required", zg_policy_role_requires_mfa(w->role));
}

int zg_api_login(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"login", "password", "totp", "recovery_code", NULL};
    const char *login = NULL, *password = NULL, *totp = NULL, *rcode = NULL;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "login", true, 64, &login, err)))
        return rc;
    req->audit_user = zg_arena_strndup(req->arena, login, 64);
    if ((rc = zg_body_string(req, "password", true, 256, &password, err)) ||
        (rc = zg_body_string(req, "totp", false, 6, &totp, err)) ||
        (rc = zg_body_string(req, "recovery_code", false, 32, &rcode, err)))
        return rc;
    struct zg_login_request lr = {login, password, totp, rcode, req->ip, req->user_agent};
    struct zg_login_result res;
    rc = zg_auth_login(&req->app->dd, req->conns->db, &lr, &res, err);
    if (rc) {
        if (rc == ZG_ELOCKED)
            req->retry_after = res.retry_after;
        if (rc == ZG_EAUTH && !strcmp(err->field, "mfa")) {
            req->problem_type = "mfa-required";
            err->field[0] = '\0';
        }
        if (rc == ZG_EAUTH || rc == ZG_ELOCKED)
            err->field[0] = '\0';
        return rc;
    }
    req->who = res.who;
    req->set_cookie = zg_arena_printf(
        req->arena, "zg_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
        res.session_token, ZG_SESSION_TTL, req->app->tls ? "; Secure" : "");
    return zg_req_reply(req, 200,
                        json_pack("{s:o,s:s,s:I,s:b}", "user", zg_api_identity_json(&res.who),
                                  "csrf_token", res.who.csrf, "expires_at",
                                  (json_int_t)res.expires_at, "mfa", res.who.mfa));
}

int zg_api_logout(struct zg_req *req, struct zg_error *err)
{
    if (req->who.kind == ZG_AUTH_SESSION) {
        int rc = zg_session_revoke(req->conns->db, req->who.user_id, req->who.session_id, err);
        if (rc && rc != ZG_ENOTFOUND)
            return rc;
    }
    req->set_cookie = zg_arena_printf(req->arena,
                                      "zg_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                                      req->app->tls ? "; Secure" : "");
    req->status = 204;
    return 0;
}

int zg_api_session(struct zg_req *req, struct zg_error *err)
{
    const struct zg_identity *w = &req->who;
    json_t *tiers = json_array();
    for (int t = ZG_TIER_SELF; t < ZG_TIER__COUNT; t++) {
        struct zg_policy_request pr = {w, (enum zg_tier)t, "auth.session", "session"};
        struct zg_decision d;
        zg_policy_decide(&req->app->policy, &pr, &d);
        if (d.allow)
            json_array_append_new(tiers, json_string(zg_tier_name((enum zg_tier)t)));
    }
    json_t *o = json_pack("{s:o,s:s,s:b,s:o}", "user", zg_api_identity_json(w), "auth",
                          w->kind == ZG_AUTH_SESSION ? "session" : "token", "mfa", w->mfa,
                          "tiers", tiers);
    if (w->kind == ZG_AUTH_SESSION)
        json_object_set_new(o, "csrf_token", json_string(w->csrf));
    if (w->kind == ZG_AUTH_TOKEN)
        json_object_set_new(o, "token", json_pack("{s:I,s:s}", "id", (json_int_t)w->token_id,
                                                  "name", w->token_name));
    return zg_req_reply(req, 200, o);
}
