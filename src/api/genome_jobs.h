/* Genome background jobs: importing the variants of a registered VCF/BCF. */
#ifndef ZG_GENOME_JOBS_H
#define ZG_GENOME_JOBS_H

#include "svc/jobs.h"

struct zg_error;

/* Job "genome.import": params {file_id, kind, cancer_type?, dataset?, sample?, callable_mb?}. */
int zg_job_genome_import(struct zg_job *job, json_t **result, struct zg_error *err);

#endif
