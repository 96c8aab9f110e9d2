/* Account administration: organisations, users, other users' tokens. */
#include "api.h"
#include "auth/auth.h"
#include "common/error.h"
#include "crypto/totp.h"
#include "store/keyshare.h"

int zg_api_token_create_for(struct zg_req *req, int64_t user_id, bool mfa, struct zg_error *err);

static int prefix_field(int rc, struct zg_error *err)
{
    if (rc)
        zg_error_pointerize(err);
    return rc;
}

int zg_api_orgs_list(struct zg_req *req, struct zg_error *err)
{
    json_t *j = zg_org_list(req->conns->db, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_orgs_create(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"name", "type", NULL};
    const char *name = NULL, *type = NULL;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "name", true, 120, &name, err)) ||
        (rc = zg_body_string(req, "type", true, 16, &type, err)))
        return rc;
    int64_t id = 0;
    if ((rc = prefix_field(zg_org_add(req->conns->db, name, type, &id, err), err)))
        return rc;
    zg_req_audit_option(req, "name", json_string(name));
    return zg_req_reply(req, 201, json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "name", name,
                                            "type", type));
}

int zg_api_users_list(struct zg_req *req, struct zg_error *err)
{
    json_t *j = zg_user_list(req->conns->db, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_users_create(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"login", "role", "org", "mfa", NULL};
    const char *login = NULL, *role = NULL, *org = NULL;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "login", true, 63, &login, err)) ||
        (rc = zg_body_string(req, "role", true, 32, &role, err)) ||
        (rc = zg_body_string(req, "org", true, 120, &org, err)))
        return rc;
    json_t *m = json_object_get(req->body, "mfa");
    if (m && !json_is_boolean(m))
        return zg_error_set(err, ZG_EINVAL, "/mfa", "must be true or false");
    bool mfa = m ? json_is_true(m) : true;
    struct zg_new_user nu;
    rc = zg_user_add(&req->app->dd, req->conns->db, login, role, org, mfa, &nu, err);
    if (rc == ZG_ENOTFOUND)
        rc = ZG_EINVAL; /* an unknown organisation is a field error */
    if ((rc = prefix_field(rc, err)))
        return rc;
    json_t *user = zg_user_get(req->conns->db, login, err);
    if (!user)
        return err->code;
    zg_req_audit_data(req, login);
    zg_req_audit_option(req, "role", json_string(role));
    json_t *o = json_pack("{s:o,s:s}", "user", user, "password", nu.password);
    if (nu.totp_secret[0]) {
        char *uri = zg_totp_uri("zengen", login, nu.totp_secret);
        json_object_set_new(o, "totp_secret", json_string(nu.totp_secret));
        if (uri)
            json_object_set_new(o, "otpauth_uri", json_string(uri));
        free(uri);
    }
    return zg_req_reply(req, 201, o);
}

int zg_api_users_get(struct zg_req *req, struct zg_error *err)
{
    const char *login = zg_req_param(req, "login");
    zg_req_audit_data(req, login);
    json_t *j = zg_user_get(req->conns->db, login, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_users_disable(struct zg_req *req, struct zg_error *err)
{
    const char *login = zg_req_param(req, "login");
    zg_req_audit_data(req, login);
    if (!strcmp(login, req->who.login))
        return zg_error_set(err, ZG_ECONFLICT, "login", "you cannot disable your own account");
    int rc = zg_user_set_disabled(req->conns->db, login, true, err);
    if (rc)
        return rc;
    json_t *j = zg_user_get(req->conns->db, login, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_users_token_create(struct zg_req *req, struct zg_error *err)
{
    const char *login = zg_req_param(req, "login");
    json_t *u = zg_user_get(req->conns->db, login, err);
    if (!u)
        return err->code;
    int64_t uid = json_integer_value(json_object_get(u, "id"));
    json_decref(u);
    zg_req_audit_data(req, login);
    return zg_api_token_create_for(req, uid, req->who.mfa, err);
}

int zg_api_tokens_revoke(struct zg_req *req, struct zg_error *err)
{
    const char *s = zg_req_param(req, "id");
    char *end = NULL;
    long long id = strtoll(s, &end, 10);
    if (!*s || *end || id <= 0)
        return zg_error_set(err, ZG_EINVAL, "id", "path parameter must be a positive integer");
    int rc = zg_token_revoke(req->conns->db, 0, id, err);
    if (!rc)
        req->status = 204;
    return rc;
}

/* --- the linkage store's key shares (M18) -------------------------------------------------- */

static json_t *unseal_json(const struct zg_unseal_status *st)
{
    json_t *j = json_pack("{s:b,s:i,s:i,s:i}", "sealed", st->sealed, "threshold", st->threshold,
                          "shares", st->shares, "received", st->received);
    json_object_set_new(j, "fingerprint",
                        st->fingerprint[0] ? json_string(st->fingerprint) : json_null());
    return j;
}

int zg_api_linkage_status(struct zg_req *req, struct zg_error *err)
{
    (void)err;
    struct zg_unseal_status st;
    zg_unseal_status(req->app->unseal, &req->app->dd, &st);
    return zg_req_reply(req, 200, unseal_json(&st));
}

/* One key holder's share. The share itself is never logged or audited; the audit event records
 * who submitted one and how many the server holds. */
int zg_api_linkage_unseal(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"share", NULL};
    const char *text = NULL;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "share", true, ZG_SHARE_TEXT, &text, err)))
        return rc;
    if (!req->app->unseal)
        return zg_error_set(err, ZG_EINTERNAL, "", "unsealing is not available");
    struct zg_unseal_status st;
    if ((rc = zg_unseal_submit(req->app->unseal, &req->app->dd, text, &st, err))) {
        zg_error_pointerize(err);
        return rc;
    }
    zg_req_audit_option(req, "received", json_integer(st.received));
    zg_req_audit_option(req, "sealed", json_boolean(st.sealed));
    return zg_req_reply(req, 200, unseal_json(&st));
}
