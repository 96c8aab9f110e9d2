/* The route table of the HTTP API (data: method, path, action, resource kind, tier, handler)
 * and the handlers, one file per resource. */
#ifndef ZG_API_H
#define ZG_API_H

#include "svc/svc.h"

/* The route table and its length. */
extern const struct zg_route zg_api_routes[];
extern const size_t zg_api_nroutes;

/* The embedded OpenAPI document (src/api/openapi.json). */
extern const char zg_openapi_json[];
extern const size_t zg_openapi_json_len;

/* handlers (api/<resource>.c) */
int zg_api_healthz(struct zg_req *req, struct zg_error *err);
int zg_api_metrics(struct zg_req *req, struct zg_error *err);
int zg_api_openapi(struct zg_req *req, struct zg_error *err);

int zg_api_login(struct zg_req *req, struct zg_error *err);
int zg_api_logout(struct zg_req *req, struct zg_error *err);
int zg_api_session(struct zg_req *req, struct zg_error *err);

int zg_api_me_sessions(struct zg_req *req, struct zg_error *err);
int zg_api_me_session_revoke(struct zg_req *req, struct zg_error *err);
int zg_api_me_tokens(struct zg_req *req, struct zg_error *err);
int zg_api_me_token_create(struct zg_req *req, struct zg_error *err);
int zg_api_me_token_revoke(struct zg_req *req, struct zg_error *err);
int zg_api_me_mfa_enroll(struct zg_req *req, struct zg_error *err);
int zg_api_me_mfa_confirm(struct zg_req *req, struct zg_error *err);
int zg_api_me_password(struct zg_req *req, struct zg_error *err);
int zg_api_me_data_access(struct zg_req *req, struct zg_error *err);

int zg_api_orgs_list(struct zg_req *req, struct zg_error *err);
int zg_api_orgs_create(struct zg_req *req, struct zg_error *err);
int zg_api_users_list(struct zg_req *req, struct zg_error *err);
int zg_api_users_create(struct zg_req *req, struct zg_error *err);
int zg_api_users_get(struct zg_req *req, struct zg_error *err);
int zg_api_users_disable(struct zg_req *req, struct zg_error *err);
int zg_api_users_token_create(struct zg_req *req, struct zg_error *err);
int zg_api_tokens_revoke(struct zg_req *req, struct zg_error *err);

int zg_api_stats_overview(struct zg_req *req, struct zg_error *err);
int zg_api_linkage(struct zg_req *req, struct zg_error *err);
int zg_api_cases_create(struct zg_req *req, struct zg_error *err);
int zg_api_cases_list(struct zg_req *req, struct zg_error *err);
int zg_api_cases_get(struct zg_req *req, struct zg_error *err);
int zg_api_specimens_create(struct zg_req *req, struct zg_error *err);
int zg_api_ids_check(struct zg_req *req, struct zg_error *err);

int zg_api_audit_events(struct zg_req *req, struct zg_error *err);
int zg_api_audit_verify(struct zg_req *req, struct zg_error *err);

#endif
