/* Handlers of the GA4GH endpoints and sequencing QC: htsget 1.3 (tickets and data blocks),
 * Beacon v2 and coverage/identity QC. Routes: htsget_routes.inc. */
#ifndef ZG_API_HTSGET_H
#define ZG_API_HTSGET_H

#include "svc/svc.h"

/* htsget (api/htsget_api.c) */
int zg_api_htsget_service_info(struct zg_req *req, struct zg_error *err);
int zg_api_htsget_reads(struct zg_req *req, struct zg_error *err);
int zg_api_htsget_variants(struct zg_req *req, struct zg_error *err);
int zg_api_htsget_reads_post(struct zg_req *req, struct zg_error *err);
int zg_api_htsget_variants_post(struct zg_req *req, struct zg_error *err);
int zg_api_htsget_block(struct zg_req *req, struct zg_error *err);

/* scheme://host[:port] of this server as the caller reached it (ZENGEN_PUBLIC_URL behind a
 * proxy, else the Host header, checked), for absolute URLs in responses. Arena string. */
const char *zg_api_base_url(struct zg_req *req);

/* Beacon v2 (api/beacon_api.c) */
int zg_api_beacon_info(struct zg_req *req, struct zg_error *err);
int zg_api_beacon_configuration(struct zg_req *req, struct zg_error *err);
int zg_api_beacon_entry_types(struct zg_req *req, struct zg_error *err);
int zg_api_beacon_map(struct zg_req *req, struct zg_error *err);
int zg_api_beacon_filtering_terms(struct zg_req *req, struct zg_error *err);
int zg_api_beacon_g_variants(struct zg_req *req, struct zg_error *err);
int zg_api_beacon_g_variants_post(struct zg_req *req, struct zg_error *err);

/* Sequencing QC (api/qc_api.c) */
int zg_api_qc_gates(struct zg_req *req, struct zg_error *err);
int zg_api_qc_case(struct zg_req *req, struct zg_error *err);
int zg_api_qc_coverage(struct zg_req *req, struct zg_error *err);
struct zg_job;
/* Job "qc.coverage": params {file_id, role?}; result = the stored coverage. */
int zg_job_qc_coverage(struct zg_job *job, json_t **result, struct zg_error *err);
int zg_api_qc_metrics(struct zg_req *req, struct zg_error *err);
int zg_api_qc_identity(struct zg_req *req, struct zg_error *err);

#endif
