/* Handlers of the clinical domain (src/api/clinical_*.c); routes in clinical_routes.inc. */
#ifndef ZG_CLINICAL_API_H
#define ZG_CLINICAL_API_H

#include "svc/svc.h"

int zg_api_clinical_schema(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_validate(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_put(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_patch(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_get(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_history(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_timeline(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_case_completeness(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_bundle(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_search(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_counts(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_overview(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_completeness(struct zg_req *req, struct zg_error *err);
int zg_api_clinical_rejections(struct zg_req *req, struct zg_error *err);
int zg_api_fhir_import(struct zg_req *req, struct zg_error *err);
int zg_api_fhir_export(struct zg_req *req, struct zg_error *err);

#endif
