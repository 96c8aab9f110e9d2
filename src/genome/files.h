/* The genome file registry: FASTQ, BAM, CRAM, VCF and BCF files per case and specimen, validated
 * with htslib on registration, stored content-addressed under DATA/files/ (a URI column is ready
 * for object storage), with checksums, reference genome and pipeline provenance. Also the
 * streaming, resumable upload that ends in a registration. Tables: genome_files, genome_uploads. */
#ifndef ZG_GENOME_FILES_H
#define ZG_GENOME_FILES_H

#include "common/compat.h"
#include "store/datadir.h"
#include "ids/ids.h"
#include <jansson.h>
#include <sqlite3.h>

struct zg_error;

enum zg_file_format {
    ZG_FF_UNKNOWN = 0,
    ZG_FF_FASTQ,
    ZG_FF_BAM,
    ZG_FF_CRAM,
    ZG_FF_VCF, /* VCF, plain or BGZF-compressed (.vcf.gz) */
    ZG_FF_BCF,
};

/* "fastq", "bam", "cram", "vcf", "bcf" ("unknown" otherwise). */
const char *zg_file_format_name(enum zg_file_format f);
/* Parses a name as above; ZG_FF_UNKNOWN when not recognised. */
enum zg_file_format zg_file_format_parse(const char *s);

#define ZG_FILE_ID_LEN 20 /* "ZGF-" + 12 upper-case hex digits + NUL */

/* One registered file. Every string is NUL-terminated ("" when absent). */
struct zg_file_info {
    char id[ZG_FILE_ID_LEN];
    enum zg_file_format format;
    char case_id[ZG_ID_LEN];
    char specimen_id[ZG_ID_LEN]; /* "" when not tied to one specimen */
    int64_t org_id;              /* owning organisation = the case's organisation */
    char name[256];              /* original file name (basename), for display */
    int64_t size;                /* bytes */
    char md5[33], sha256[65];    /* lower-case hex */
    char reference[16];          /* "GRCh38" (default), "GRCh37", or "other" */
    char pipeline[64], pipeline_version[32];
    char data_kind[16];    /* "reads", "somatic", "germline", "sv", "cnv" (VCF kinds) */
    char storage[8];       /* "local" now; "s3" later */
    char path[1024];       /* what to give hts_open(): absolute local path or s3:// URI */
    char index_path[1024]; /* index (.bai/.csi/.crai/.tbi) for hts_idx_load2, or "" */
    char ref_fasta[1024];  /* CRAM reference FASTA given at registration, or "" */
    char uri[1100];        /* storage location as a URI: file:///… or s3://bucket/key */
    int64_t created_at;
};

/* Options for registering a file. Unset strings (NULL) take the defaults noted. */
struct zg_file_add_opts {
    const char *case_id;          /* required */
    const char *specimen_id;      /* optional; must belong to case_id */
    const char *index_path;       /* optional; else PATH.bai/.csi/.crai/.tbi next to the file,
                                   * else one is built for BGZF/BAM/CRAM inputs when possible */
    const char *ref_fasta;        /* CRAM reference (needed to validate CRAM records) */
    const char *reference;        /* force "GRCh38"/"GRCh37"; NULL = detect from the header */
    const char *pipeline;         /* NULL → "unspecified" */
    const char *pipeline_version; /* NULL → "" */
    const char *data_kind;        /* NULL → "reads" for FASTQ/BAM/CRAM, "somatic" for VCF/BCF */
    const char *name;             /* display name; NULL → basename of the source path */
    bool move;                    /* link the source into the store instead of copying it,
                                   * and remove it once the file is recorded (on a failure it
                                   * stays where it was); rename where links are not possible */
    const char *expect_sha256;    /* the content must have this SHA-256 (checked in the same
                                   * pass as the digests), else ZG_EINVAL on "sha256" */
    /* Digests already taken over exactly the content (an upload hashed as it arrived): with
     * move, known_md5 and expect_sha256 are taken as the file's and the hashing pass is skipped
     * when its size is known_size. */
    const char *known_md5;
    int64_t known_size;
    /* Called in the same transaction as the file's row (also when the content was already
     * registered for the case: out is that file); an error undoes the row. */
    int (*recorded)(void *ctx, sqlite3 *db, const struct zg_file_info *f, struct zg_error *err);
    void *recorded_ctx;
};

/* Validates the file at src with htslib (format detected from its content; header parsed;
 * BGZF EOF marker present (bgzf_check_EOF / CRAM EOF container); index loads and matches;
 * FASTQ: first records parse), computes size, MD5 and SHA-256 in one streaming pass, copies it
 * (and its index) into DATA/files/sha256/xx/<sha256>.<ext>, and records it. Registering the same
 * content for the same case again returns the existing id (idempotent).
 * Returns 0 with out filled; ZG_EINVAL (err->reason says why: not a genome file, truncated,
 * missing EOF marker, bad header, index does not match…), ZG_ENOTFOUND (case/specimen),
 * ZG_EIO. Nothing is stored when validation fails. */
int zg_file_add(const struct zg_datadir *dd, sqlite3 *db, const char *src,
                const struct zg_file_add_opts *opts, struct zg_file_info *out,
                struct zg_error *err) ZG_MUST_CHECK;

/* Looks a file up by id. Returns 0 with out filled, ZG_EINVAL (malformed id) or ZG_ENOTFOUND. */
int zg_file_get(sqlite3 *db, const char *id, struct zg_file_info *out,
                struct zg_error *err) ZG_MUST_CHECK;

/* The file as JSON {id,format,case_id,specimen_id,org_id,name,size,md5,sha256,reference,
 * pipeline:{name,version},data_kind,storage,uri,has_index,has_reference,created_at} — never
 * local paths. has_reference: a reference FASTA was recorded (served for BAM/CRAM viewing). */
json_t *zg_file_json(const struct zg_file_info *f);

/* {"files":[…]} of a case (org_id > 0 restricts to that organisation's cases; another org's
 * case → ZG_ENOTFOUND), or of all cases when case_id is NULL (newest first, at most limit). */
json_t *zg_file_list(sqlite3 *db, const char *case_id, int64_t org_id, int limit,
                     struct zg_error *err);

/* --- streaming upload (chunked, resumable) --------------------------------------------- */

/* Starts an upload of expected_size bytes whose SHA-256 (hex) must match at the end.
 * The data is appended to DATA/files/uploads/<upload id>.part; opts are kept and used at
 * finish. Upload id (random, 32 hex chars) into id_out. */
int zg_upload_begin(const struct zg_datadir *dd, sqlite3 *db, int64_t expected_size,
                    const char *sha256, const struct zg_file_add_opts *opts, int64_t user_id,
                    char id_out[33], struct zg_error *err) ZG_MUST_CHECK;

/* Appends n bytes at byte offset (must equal the bytes received so far, so a client resumes by
 * asking zg_upload_status and sending from there; a repeated chunk at an earlier offset whose
 * bytes are already stored is accepted as a no-op). Memory use does not depend on the size.
 * *received_out = bytes received after the call. ZG_ECONFLICT on a wrong offset, ZG_ETOOBIG past
 * expected_size, ZG_ENOTFOUND for an unknown or finished upload. Call it outside a transaction:
 * chunks of one upload are serialized by a lock on its part file, the write and fsync happen
 * with no database lock held, and the new size is recorded in one statement afterwards. */
int zg_upload_append(const struct zg_datadir *dd, sqlite3 *db, const char *id, int64_t offset,
                     const void *data, size_t n, int64_t *received_out,
                     struct zg_error *err) ZG_MUST_CHECK;

/* {id,expected_size,received,state} of an upload. */
json_t *zg_upload_status(sqlite3 *db, const char *id, struct zg_error *err);

/* The account that began an upload (only it may continue or finish it). ZG_ENOTFOUND. */
int zg_upload_owner(sqlite3 *db, const char *id, int64_t *user_id,
                    struct zg_error *err) ZG_MUST_CHECK;

/* Verifies size and SHA-256 of the assembled data, then registers it like zg_file_add (moving
 * the part file into the store). The digests are those taken as the chunks arrived in this
 * process when they cover the whole file, else the file is read for them. Call it outside a
 * transaction: the data is checked and indexed with no lock held, and the file's row and the
 * upload's "done" are written together in one short transaction. On a checksum mismatch or
 * invalid data the upload is discarded ("failed", ZG_EINVAL); ZG_ECONFLICT while another
 * finish of it runs. index_id (or NULL): another complete upload holding the file's index,
 * named for its kind (….bai, .csi, .crai, .tbi); htslib checks it against the data instead of
 * an index being built (minutes for a WGS BAM), and both uploads end done with the file. An
 * index that does not fit is discarded ("index_upload" in err) and the data stays open. */
int zg_upload_finish(const struct zg_datadir *dd, sqlite3 *db, const char *id,
                     const char *index_id, struct zg_file_info *out,
                     struct zg_error *err) ZG_MUST_CHECK;

/* What zg_uploads_sweep did: uploads expired, leftover files removed, bytes freed. */
struct zg_sweep_stats {
    int64_t expired, removed, bytes;
};

/* Expires uploads left open and idle for idle_s seconds or more (at least an hour): their data
 * is removed and they end "failed" (up to 1000 a call). Removes what interrupted uploads and
 * registrations left in the store, when older than that: files in DATA/files/uploads that no
 * open upload owns, and files in DATA/files/tmp. An upload being written or finished right now
 * is left alone. */
int zg_uploads_sweep(const struct zg_datadir *dd, sqlite3 *db, int64_t idle_s,
                     struct zg_sweep_stats *st, struct zg_error *err) ZG_MUST_CHECK;

#endif
