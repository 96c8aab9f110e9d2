/* GA4GH htsget 1.3 slicing: turns a request for a region of a registered BAM/CRAM/VCF/BCF file into
 * a plan of data blocks computed from the file's index (BGZF virtual offsets, CRAM containers
 * from the .crai), and produces the bytes of one block. Slices are exact: records outside the
 * requested region are cut away at the edges (partial BGZF blocks recompressed, edge CRAM
 * containers re-encoded), untouched blocks in the middle are served byte for byte (the plan
 * gives them as ZG_HG_RAW pieces, so a server can send them straight from the file). A CRAM file
 * can also be served as BAM (decoded against its reference and re-encoded, per container), for
 * clients that read only BAM (igv.js). */
#ifndef ZG_GENOME_HTSGET_H
#define ZG_GENOME_HTSGET_H

#include "common/compat.h"
#include "genome/files.h"

struct zg_error;
struct zg_buf;

/* Upper bound of one data block (bytes of one block URL). The plan splits longer spans. */
#define ZG_HG_MAX_BLOCK ((size_t)8 << 20)

enum zg_hg_kind {
    ZG_HG_DATA, /* inline bytes (EOF markers): served as a data: URI */
    ZG_HG_BGZF, /* uncompressed stream [a, b) of a BGZF file, a and b BGZF virtual offsets */
    ZG_HG_RAW,  /* file bytes [a, b) as stored */
    ZG_HG_CRAM, /* CRAM container bytes [a, b) re-encoded to the records in the plan's region */
    ZG_HG_XBAM_HEADER, /* the header of a CRAM file as BAM (BGZF blocks, no EOF marker) */
    ZG_HG_XBAM, /* the records of CRAM container bytes [a, b) in the region, as BAM */
};

struct zg_hg_piece {
    enum zg_hg_kind kind;
    bool header;    /* class "header" (else "body") */
    uint64_t a, b;
    const unsigned char *data; /* ZG_HG_DATA: static bytes */
    size_t len;
};

/* What the caller asked for. */
struct zg_hg_query {
    bool header_only;    /* class=header */
    const char *ref;     /* referenceName; NULL = whole file; "*" = unplaced unmapped reads */
    int64_t start, end;  /* 0-based half-open; -1 when absent */
    bool as_bam;         /* serve a CRAM file as BAM (ignored for other formats) */
};

/* A computed ticket: the pieces in order and the region (for CRAM pieces). */
struct zg_hg_plan {
    struct zg_hg_piece *pieces;
    size_t n, cap;
    int tid;             /* resolved reference id, -1 for "*" or none */
    int64_t beg, end;    /* region, 0-based half-open */
    char ref[256];       /* the reference name as found in the file */
    enum zg_file_format format; /* what the pieces hold: the file's format, or BAM (as_bam) */
};

/* Per-file slicing state kept between requests: the header, the index (BAI/CSI/TBI, or the
 * .crai's container list), reference lengths and, for CRAM, the reference sequences used to
 * re-encode edge containers. An entry is checked on every use against stat data (device,
 * inode, size, mtime, ctime) of the file and its index files and reloaded when one changed.
 * Thread-safe; entries in use by a request stay valid until it is done even when evicted.
 * Bounded by max_files entries and about max_bytes of memory (index sizes); a file too large
 * for the bound is served without being kept. */
struct zg_hg_cache;

struct zg_hg_cache_stats {
    uint64_t hits, misses, reloads, evictions;
    size_t files, bytes; /* entries and their approximate bytes now */
};

/* Creates an empty cache. Returns 0 with *out (free with zg_hg_cache_free) or ZG_ENOMEM. */
int zg_hg_cache_new(size_t max_files, size_t max_bytes, struct zg_hg_cache **out,
                    struct zg_error *err) ZG_MUST_CHECK;

/* Frees the cache; no request may be using it. NULL is ignored. */
void zg_hg_cache_free(struct zg_hg_cache *c);

/* Counters since creation (hits, misses = first loads, reloads = a file or index changed). */
void zg_hg_cache_stats(struct zg_hg_cache *c, struct zg_hg_cache_stats *out);

/* Computes the plan for query q on file f (BAM, CRAM, VCF or BCF). The file must be the one the
 * registry validated; its index is read (never the whole file), through cache when not NULL.
 * Returns 0 with *plan filled (release with zg_htsget_plan_release), or ZG_EINVAL (field
 * "referenceName"/"start"/"end"/"class"/"format": an input the spec calls InvalidInput or
 * InvalidRange; reason says which), ZG_ENOTFOUND (field "referenceName": no such reference in
 * the file), ZG_EIO (the file or its index cannot be read). */
int zg_htsget_plan(struct zg_hg_cache *cache, const struct zg_file_info *f,
                   const struct zg_hg_query *q, struct zg_hg_plan *plan,
                   struct zg_error *err) ZG_MUST_CHECK;

void zg_htsget_plan_release(struct zg_hg_plan *plan);

/* Region of a CRAM or XBAM piece, carried in its block URL. tid -1: unplaced unmapped reads;
 * -2 (XBAM only): every record of the container (a whole-file request). */
struct zg_hg_region {
    int tid;
    int64_t beg, end;
};

/* Appends the bytes of one block to out (whose bound must be ≥ ZG_HG_MAX_BLOCK + 256 KiB):
 * ZG_HG_BGZF: valid BGZF blocks holding exactly the uncompressed bytes [a, b) (recompressed
 * parts at a fast level); ZG_HG_RAW: the file bytes [a, b); ZG_HG_CRAM: CRAM containers with
 * exactly the records of container bytes [a, b) overlapping region (tmpdir holds a scratch
 * file meanwhile; the reference comes from cache when not NULL);
 * ZG_HG_XBAM_HEADER / ZG_HG_XBAM: the CRAM header / those records encoded as BAM (BGZF).
 * Returns 0, ZG_EINVAL (a, b do not describe a block of this file or the span is larger than
 * ZG_HG_MAX_BLOCK), ZG_ETOOBIG (the BAM of one container exceeds ZG_HG_MAX_BLOCK), ZG_EIO. */
int zg_htsget_block(struct zg_hg_cache *cache, const struct zg_file_info *f, enum zg_hg_kind kind,
                    uint64_t a, uint64_t b, const struct zg_hg_region *region, const char *tmpdir,
                    struct zg_buf *out, struct zg_error *err) ZG_MUST_CHECK;

/* The htsget format name of a registry format ("BAM", "CRAM", "VCF", "BCF"), NULL otherwise. */
const char *zg_htsget_format(enum zg_file_format f);

/* True when f is served by the reads endpoint (BAM/CRAM), false for variants (VCF/BCF). */
bool zg_htsget_is_reads(enum zg_file_format f);

#endif
