/* The caller's own account: sessions, API tokens, MFA enrolment, password, and — for
 * participants — who used their data. */
#include "api.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/totp.h"
#include "store/db.h"

#include <qrencode.h>

static int id_param(struct zg_req *req, int64_t *id, struct zg_error *err)
{
    const char *s = zg_req_param(req, "id");
    char *end = NULL;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || v <= 0)
        return zg_error_set(err, ZG_EINVAL, "id", "path parameter must be a positive integer");
    *id = v;
    return 0;
}

int zg_api_me_sessions(struct zg_req *req, struct zg_error *err)
{
    json_t *j = zg_session_list(req->conns->db, req->who.user_id,
                                req->who.kind == ZG_AUTH_SESSION ? req->who.session_id : 0, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_me_session_revoke(struct zg_req *req, struct zg_error *err)
{
    int64_t id;
    int rc = id_param(req, &id, err);
    if (!rc)
        rc = zg_session_revoke(req->conns->db, req->who.user_id, id, err);
    if (!rc)
        req->status = 204;
    return rc;
}

int zg_api_me_tokens(struct zg_req *req, struct zg_error *err)
{
    json_t *j = zg_token_list(req->conns->db, req->who.user_id, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

/* Shared by /me/tokens and /users/{login}/tokens. */
int zg_api_token_create_for(struct zg_req *req, int64_t user_id, bool mfa, struct zg_error *err);

int zg_api_token_create_for(struct zg_req *req, int64_t user_id, bool mfa, struct zg_error *err)
{
    static const char *const allowed[] = {"name", "scopes", "expires_in_days", NULL};
    const char *name = NULL, *scopes = NULL;
    int64_t days = 90;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "name", true, 63, &name, err)) ||
        (rc = zg_body_string_list(req, "scopes", false, &scopes, err)) ||
        (rc = zg_body_int(req, "expires_in_days", false, 1, ZG_TOKEN_MAX_DAYS, &days, err)))
        return rc;
    uint32_t mask = 0;
    if (scopes && *scopes) {
        char bad[32];
        if (zg_tier_parse_list(scopes, &mask, bad, sizeof(bad)))
            return zg_error_set(err, ZG_EINVAL, "/scopes", "'%s' is not a data tier", bad);
    }
    /* a token can only mint tokens within its own scope: no escalation through /me/tokens */
    if (req->who.kind == ZG_AUTH_TOKEN) {
        if (!mask)
            mask = req->who.scopes;
        if (mask & ~req->who.scopes)
            return zg_error_set(err, ZG_EINVAL, "/scopes",
                                "a token cannot create a token with more scopes than its own");
    }
    char token[ZG_TOKEN_LEN];
    int64_t id = 0, exp = 0;
    rc = zg_token_create(req->conns->db, user_id, name, mask, (int)days, mfa, req->who.user_id,
                         token, &id, &exp, err);
    if (rc) {
        if (!strcmp(err->field, "name") || !strcmp(err->field, "scopes") ||
            !strcmp(err->field, "expires_in_days"))
            zg_error_pointerize(err);
        return rc;
    }
    if (!mask) {
        struct zg_identity w;
        if (zg_identity_load(req->conns->db, user_id, &w, err) == 0)
            mask = zg_policy_role_tiers(w.role);
    }
    char idtxt[24];
    snprintf(idtxt, sizeof(idtxt), "token:%lld", (long long)id);
    zg_req_audit_data(req, idtxt);
    zg_req_audit_option(req, "name", json_string(name));
    return zg_req_reply(req, 201,
                        json_pack("{s:I,s:s,s:s,s:o,s:I}", "id", (json_int_t)id, "name", name,
                                  "token", token, "scopes", zg_scopes_json(mask), "expires_at",
                                  (json_int_t)exp));
}

int zg_api_me_token_create(struct zg_req *req, struct zg_error *err)
{
    /* a token is as strong as the sign-in that made it */
    return zg_api_token_create_for(req, req->who.user_id, req->who.mfa, err);
}

int zg_api_me_token_revoke(struct zg_req *req, struct zg_error *err)
{
    int64_t id;
    int rc = id_param(req, &id, err);
    if (!rc)
        rc = zg_token_revoke(req->conns->db, req->who.user_id, id, err);
    if (!rc)
        req->status = 204;
    return rc;
}

/* An SVG of the QR code of text (libqrencode), in the arena. */
static char *qr_svg(struct zg_arena *a, const char *text)
{
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!q)
        return NULL;
    int w = q->width, border = 4, size = w + 2 * border;
    struct zg_buf b;
    zg_buf_init(&b, 1 << 20);
    int rc = zg_buf_addf(&b,
                         "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                         "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">"
                         "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/><path fill=\"#000\" "
                         "d=\"",
                         size, size, size * 6, size * 6);
    for (int y = 0; !rc && y < w; y++)
        for (int x = 0; !rc && x < w; x++)
            if (q->data[y * w + x] & 1)
                rc = zg_buf_addf(&b, "M%d %dh1v1h-1z", x + border, y + border);
    if (!rc)
        rc = zg_buf_adds(&b, "\"/></svg>");
    QRcode_free(q);
    char *out = rc ? NULL : zg_arena_strndup(a, b.p, b.len);
    zg_buf_release(&b);
    return out;
}

int zg_api_me_mfa_enroll(struct zg_req *req, struct zg_error *err)
{
    char secret[33];
    int rc = zg_mfa_enroll_begin(&req->app->dd, req->conns->db, req->who.user_id, secret, err);
    if (rc)
        return rc;
    char *uri = zg_totp_uri("zengen", req->who.login, secret);
    char *svg = uri ? qr_svg(req->arena, uri) : NULL;
    if (!uri || !svg) {
        free(uri);
        return zg_error_set(err, ZG_ENOMEM, "", "cannot build the QR code");
    }
    json_t *j = json_pack("{s:s,s:s,s:s}", "secret", secret, "otpauth_uri", uri, "qr_svg", svg);
    free(uri);
    return zg_req_reply(req, 200, j);
}

int zg_api_me_mfa_confirm(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"totp", NULL};
    const char *code = NULL;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "totp", true, 6, &code, err)))
        return rc;
    char codes[ZG_RECOVERY_CODES][16];
    rc = zg_mfa_enroll_confirm(&req->app->dd, req->conns->db, req->who.user_id, code, codes, err);
    if (rc == ZG_EAUTH)
        rc = ZG_EINVAL; /* a wrong code here is a validation error of the field, not a sign-in */
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (int i = 0; i < ZG_RECOVERY_CODES; i++)
        json_array_append_new(arr, json_string(codes[i]));
    return zg_req_reply(req, 200, json_pack("{s:o}", "recovery_codes", arr));
}

int zg_api_me_password(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"current_password", "new_password", NULL};
    const char *cur = NULL, *next = NULL;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "current_password", true, 256, &cur, err)) ||
        (rc = zg_body_string(req, "new_password", true, 256, &next, err)))
        return rc;
    rc = zg_password_change(req->conns->db, req->who.user_id, cur, next, err);
    if (rc == ZG_EAUTH)
        rc = ZG_EINVAL; /* wrong current password: a field error, the session stays valid */
    if (!rc)
        req->status = 204;
    return rc;
}

int zg_api_me_data_access(struct zg_req *req, struct zg_error *err)
{
    int64_t after, limit;
    int rc;
    if ((rc = zg_query_int(req, "after", 0, 0, INT64_MAX, &after, err)) ||
        (rc = zg_query_int(req, "limit", 100, 1, 1000, &limit, err)))
        return rc;
    json_t *out = json_array();
    json_t *next = json_null();
    const char *pid = req->who.participant_id;
    if (pid[0]) {
        /* the participant's own id and every case of theirs */
        json_t *ids = json_array();
        json_array_append_new(ids, json_string(pid));
        sqlite3_stmt *st =
            zg_db_prepare(req->conns->db, "SELECT id FROM cases WHERE participant_id=?", err);
        if (!st) {
            json_decref(ids);
            json_decref(out);
            return ZG_EIO;
        }
        sqlite3_bind_text(st, 1, pid, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(ids, json_string(zg_db_text(st, 0)));
        zg_db_release(st);
        char *idtext = json_dumps(ids, JSON_COMPACT);
        json_decref(ids);
        struct zg_audit_filter f = {after, (int)limit, NULL, NULL, idtext};
        json_t *res = idtext ? zg_audit_query(req->conns->audit, &f, err) : NULL;
        free(idtext);
        if (!res) {
            json_decref(out);
            return err->code ? err->code : ZG_ENOMEM;
        }
        /* participants see which organisation, in which role, did what and when — not staff
         * logins, addresses or tools */
        size_t i;
        json_t *ev;
        json_array_foreach(json_object_get(res, "events"), i, ev)
        {
            json_t *o = json_object();
            static const char *keep[] = {"seq", "ts", "org", "role", "action", "outcome"};
            for (size_t k = 0; k < ZG_ARRAY_LEN(keep); k++) {
                json_t *v = json_object_get(ev, keep[k]);
                if (v)
                    json_object_set(o, keep[k], v);
            }
            json_array_append_new(out, o);
        }
        next = json_incref(json_object_get(res, "next_after"));
        json_decref(res);
    }
    return zg_req_reply(req, 200, json_pack("{s:o,s:o}", "events", out, "next_after", next));
}
