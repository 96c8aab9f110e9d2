/* The route table. Every route declares its action, resource kind and data tier; the server
 * authenticates, asks the policy decision point and audits from this table alone.
 * Each route must also be in openapi.json (a unit test checks both ways). */
#include "api.h"

#define PUB ZG_TIER_PUBLIC
#define SELF ZG_TIER_SELF
#define J ZG_R_JSON_BODY
#define NA ZG_R_NO_AUDIT

const struct zg_route zg_api_routes[] = {
    /* method, path, action, resource, tier, flags, handler */
    {"GET", "/healthz", "system.health", "system", PUB, NA, zg_api_healthz, 0},
    {"GET", "/metrics", "system.metrics", "system", PUB, NA, zg_api_metrics, 0},
    {"GET", "/api/v1/openapi.json", "system.openapi", "system", PUB, NA, zg_api_openapi, 0},

    {"POST", "/api/v1/auth/login", "auth.login", "session", PUB, J | ZG_R_LOGIN, zg_api_login,
     16384},
    {"POST", "/api/v1/auth/logout", "auth.logout", "session", SELF, 0, zg_api_logout, 0},
    {"GET", "/api/v1/auth/session", "auth.session", "session", SELF, 0, zg_api_session, 0},

    {"GET", "/api/v1/me/sessions", "me.sessions.list", "session", SELF, 0, zg_api_me_sessions,
     0},
    {"DELETE", "/api/v1/me/sessions/{id}", "me.sessions.revoke", "session", SELF, 0,
     zg_api_me_session_revoke, 0},
    {"GET", "/api/v1/me/tokens", "me.tokens.list", "token", SELF, 0, zg_api_me_tokens, 0},
    {"POST", "/api/v1/me/tokens", "me.tokens.create", "token", SELF, J, zg_api_me_token_create,
     16384},
    {"DELETE", "/api/v1/me/tokens/{id}", "me.tokens.revoke", "token", SELF, 0,
     zg_api_me_token_revoke, 0},
    {"POST", "/api/v1/me/mfa/enroll", "me.mfa.enroll", "user", SELF, 0, zg_api_me_mfa_enroll, 0},
    {"POST", "/api/v1/me/mfa/confirm", "me.mfa.confirm", "user", SELF, J, zg_api_me_mfa_confirm,
     16384},
    {"POST", "/api/v1/me/password", "me.password.change", "user", SELF, J, zg_api_me_password,
     16384},
    {"GET", "/api/v1/me/data-access", "me.data_access", "audit", SELF, 0, zg_api_me_data_access,
     0},
    /* background jobs the caller submitted (imports, coverage QC) */
    {"GET", "/api/v1/jobs", "job.list", "job", SELF, 0, zg_api_jobs_list, 0},
    {"GET", "/api/v1/jobs/{id}", "job.read", "job", SELF, 0, zg_api_jobs_get, 0},

    {"GET", "/api/v1/orgs", "org.list", "org", ZG_TIER_OVERVIEW, 0, zg_api_orgs_list, 0},
    {"POST", "/api/v1/orgs", "org.create", "org", ZG_TIER_ADMIN, J, zg_api_orgs_create, 16384},
    {"GET", "/api/v1/users", "user.list", "user", ZG_TIER_ADMIN, 0, zg_api_users_list, 0},
    {"POST", "/api/v1/users", "user.create", "user", ZG_TIER_ADMIN, J, zg_api_users_create,
     16384},
    {"GET", "/api/v1/users/{login}", "user.read", "user", ZG_TIER_ADMIN, 0, zg_api_users_get, 0},
    {"POST", "/api/v1/users/{login}/disable", "user.disable", "user", ZG_TIER_ADMIN, 0,
     zg_api_users_disable, 0},
    {"POST", "/api/v1/users/{login}/tokens", "user.tokens.create", "token", ZG_TIER_ADMIN, J,
     zg_api_users_token_create, 16384},
    {"DELETE", "/api/v1/tokens/{id}", "token.revoke", "token", ZG_TIER_ADMIN, 0,
     zg_api_tokens_revoke, 0},
    /* the linkage store's keys split k-of-n: state, and one key holder's share to unseal */
    {"GET", "/api/v1/admin/linkage", "linkage.keys.status", "key", ZG_TIER_ADMIN, 0,
     zg_api_linkage_status, 0},
    {"POST", "/api/v1/admin/linkage/unseal", "linkage.keys.unseal", "key", ZG_TIER_ADMIN, J,
     zg_api_linkage_unseal, 16384},

    {"GET", "/api/v1/stats/overview", "stats.overview", "stats", ZG_TIER_OVERVIEW, 0,
     zg_api_stats_overview, 0},
    {"POST", "/api/v1/linkage", "linkage.resolve", "participant", ZG_TIER_IDENTIFIABLE, J,
     zg_api_linkage, 16384},
    {"POST", "/api/v1/cases", "case.create", "case", ZG_TIER_DETAILED_CLINICAL, J,
     zg_api_cases_create, 16384},
    {"GET", "/api/v1/cases", "case.list", "case", ZG_TIER_DETAILED_CLINICAL, 0,
     zg_api_cases_list, 0},
    {"GET", "/api/v1/cases/{id}", "case.read", "case", ZG_TIER_DETAILED_CLINICAL, 0,
     zg_api_cases_get, 0},
    {"POST", "/api/v1/cases/{id}/specimens", "specimen.create", "specimen",
     ZG_TIER_DETAILED_CLINICAL, J, zg_api_specimens_create, 16384},
    {"GET", "/api/v1/ids/{id}", "id.check", "id", SELF, 0, zg_api_ids_check, 0},

    {"GET", "/api/v1/audit/events", "audit.read", "audit", ZG_TIER_AUDIT, 0,
     zg_api_audit_events, 0},
    {"GET", "/api/v1/audit/verify", "audit.verify", "audit", ZG_TIER_AUDIT, 0,
     zg_api_audit_verify, 0},

/* Each domain declares its routes in its own file, included here so that the whole table stays
 * one constant array (data, not code). */
#if __has_include("clinical_routes.inc")
#include "clinical_routes.inc"
#endif
#if __has_include("genome_routes.inc")
#include "genome_routes.inc"
#endif
#if __has_include("htsget_routes.inc")
#include "htsget_routes.inc"
#endif
};

const size_t zg_api_nroutes = sizeof(zg_api_routes) / sizeof(zg_api_routes[0]);
