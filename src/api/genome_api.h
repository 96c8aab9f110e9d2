/* Genome API handlers: cohort queries (aggregate tier), a case's genome data and files
 * (detailed-genome), and resumable uploads. Routes: genome_routes.inc. */
#ifndef ZG_GENOME_API_H
#define ZG_GENOME_API_H

struct zg_req;
struct zg_error;

int zg_api_genome_overview(struct zg_req *req, struct zg_error *err);
int zg_api_genome_query_genes(struct zg_req *req, struct zg_error *err);
int zg_api_genome_query_cooccurrence(struct zg_req *req, struct zg_error *err);
int zg_api_genome_query_oncoprint(struct zg_req *req, struct zg_error *err);
int zg_api_genome_query_variants(struct zg_req *req, struct zg_error *err);
int zg_api_genome_query_tmb(struct zg_req *req, struct zg_error *err);
int zg_api_genome_case(struct zg_req *req, struct zg_error *err);
int zg_api_genome_files_list(struct zg_req *req, struct zg_error *err);
int zg_api_genome_file_get(struct zg_req *req, struct zg_error *err);
int zg_api_genome_upload_begin(struct zg_req *req, struct zg_error *err);
int zg_api_genome_upload_status(struct zg_req *req, struct zg_error *err);
int zg_api_genome_upload_chunk(struct zg_req *req, struct zg_error *err);
int zg_api_genome_upload_data(struct zg_req *req, struct zg_error *err);
int zg_api_genome_file_import(struct zg_req *req, struct zg_error *err);
int zg_api_genome_upload_finish(struct zg_req *req, struct zg_error *err);

/* The reference FASTA of a registered BAM/CRAM file and its .fai, whole or one byte range
 * (Range: bytes=…, 206 with Content-Range; 416 outside the data). api/reference_api.c */
int zg_api_genome_reference_fasta(struct zg_req *req, struct zg_error *err);
int zg_api_genome_reference_fai(struct zg_req *req, struct zg_error *err);

#endif
