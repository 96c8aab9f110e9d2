/* Private helpers shared by the genome module's files (registry, uploads, ingest). */
#ifndef ZG_GENOME_FILES_INTERNAL_H
#define ZG_GENOME_FILES_INTERNAL_H

#include "files.h"

#include <htslib/hts.h>

/* mkdir -p with mode 0700. Returns 0 or ZG_EIO. */
int zg_genome_mkdirs(const char *path, struct zg_error *err) ZG_MUST_CHECK;

/* Validates path with htslib (format, header, EOF marker, records); see zg_file_add.
 * *reference is a static string. Returns 0 or ZG_EINVAL with the reason. */
int zg_genome_probe(const char *path, const char *ref_fasta, enum zg_file_format *format,
                    bool *bgzf, const char **reference, struct zg_error *err) ZG_MUST_CHECK;

/* SHA-256 and MD5 of the same bytes, taken together (the registry records both): begin (0 or
 * ZG_ENOMEM), update, end (the hex digests; false when SHA-256 failed; frees), free. */
struct zg_file_digests {
    struct zg_sha256_ctx *sha;
    hts_md5_context *md5;
};
int zg_file_digests_begin(struct zg_file_digests *d) ZG_MUST_CHECK;
void zg_file_digests_update(struct zg_file_digests *d, const void *p, size_t n);
bool zg_file_digests_end(struct zg_file_digests *d, char sha[65], char md5[33]);
void zg_file_digests_free(struct zg_file_digests *d);

/* Uploads' running digests (uploads.c): how many finishes used them instead of reading the
 * file, and forgetting them all (what a restart does). For tests and diagnostics. */
uint64_t zg_upload_digest_hits(void);
void zg_upload_digests_forget(void);

/* Cuts tag=value out of the INFO column [info, iend) (byte offsets) of a NUL-terminated VCF
 * line of *len bytes (ingest.c): the value is copied into *buf (grown as needed, *cap its size),
 * NUL-terminated, and the line loses "tag=value" and one ';' (an INFO left empty becomes ".").
 * Returns the value's length, -1 when INFO has no such key (line untouched), or ZG_ENOMEM. */
int zg_vcf_cut_info(char *line, size_t *len, size_t info, size_t iend, const char *tag, char **buf,
                    int *cap);

#include "variants.h"

/* Severity rank (lower = more severe; 100 = no protein effect) of an SO term list of len bytes
 * ("a&b"), with its alteration class in *cls. */
int zg_genome_severity(const char *cons, size_t len, enum zg_alt_class *cls);

#endif
