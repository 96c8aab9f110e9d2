/* The reads part of `zengen demo`: a small synthetic reference (one 6 kb contig) and a CRAM of
 * simulated tumour reads with a heterozygous-looking SNV at zgdemo:3000, registered for one demo
 * case of Sakura University Hospital, so that the portal's read viewer (igv.js through htsget)
 * has something to show. Everything is generated here: no external data, same bytes each run. */
#include "cli.h"
#include "genome_cli.h"
#include "common/error.h"
#include "genome/files.h"
#include "store/db.h"

#include <htslib/faidx.h>
#include <htslib/kstring.h>
#include <htslib/sam.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEMO_CONTIG "zgdemo"
#define DEMO_LEN 6000
#define DEMO_READ 100
#define DEMO_SNV 3000 /* 1-based position of the simulated variant */

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static int write_reference(const char *path, char *seq, struct zg_error *err)
{
    static const char bases[] = "ACGT";
    uint64_t s = 20261124;
    for (int i = 0; i < DEMO_LEN; i++)
        seq[i] = bases[lcg(&s) & 3];
    seq[DEMO_LEN] = '\0';
    FILE *f = fopen(path, "w");
    if (!f)
        return zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
    fprintf(f, ">" DEMO_CONTIG " synthetic demo contig (zengen demo)\n");
    for (int i = 0; i < DEMO_LEN; i += 60)
        fprintf(f, "%.*s\n", DEMO_LEN - i < 60 ? DEMO_LEN - i : 60, seq + i);
    if (fclose(f) != 0 || fai_build(path) != 0)
        return zg_error_set(err, ZG_EIO, "", "cannot write or index %s", path);
    return 0;
}

/* ~30x single-end reads, sorted by position; 40% of the reads over DEMO_SNV carry the other
 * base there, and a few random sequencing errors elsewhere. */
static int write_cram(const char *path, const char *ref, const char *seq, struct zg_error *err)
{
    static const char *hdr_text = "@HD\tVN:1.6\tSO:coordinate\n"
                                  "@SQ\tSN:" DEMO_CONTIG "\tLN:6000\n"
                                  "@RG\tID:demo\tSM:demo-tumour\tPL:ILLUMINA\n"
                                  "@PG\tID:zengen-demo\tPN:zengen\n";
    htsFile *out = hts_open(path, "wc");
    sam_hdr_t *h = sam_hdr_parse(strlen(hdr_text), hdr_text);
    bam1_t *b = bam_init1();
    kstring_t line = {0, 0, NULL};
    int rc = 0;
    if (!out || !h || !b || hts_set_fai_filename(out, ref) != 0 || sam_hdr_write(out, h) < 0) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
        goto out;
    }
    uint64_t s = 7;
    char read[DEMO_READ + 1], qual[DEMO_READ + 1];
    int n = 0;
    for (int pos = 0; pos + DEMO_READ <= DEMO_LEN; pos += 1 + (int)(lcg(&s) % 6)) {
        memcpy(read, seq + pos, DEMO_READ);
        read[DEMO_READ] = '\0';
        for (int i = 0; i < DEMO_READ; i++) {
            qual[i] = (char)('5' + lcg(&s) % 10);
            if (lcg(&s) % 500 == 0)
                read[i] = "ACGT"[(strchr("ACGT", read[i]) - "ACGT" + 1 + lcg(&s) % 3) & 3];
        }
        qual[DEMO_READ] = '\0';
        int at = DEMO_SNV - 1 - pos;
        if (at >= 0 && at < DEMO_READ && lcg(&s) % 10 < 4)
            read[at] = seq[DEMO_SNV - 1] == 'T' ? 'C' : 'T';
        int flag = (lcg(&s) & 1) ? 16 : 0;
        ks_clear(&line);
        ksprintf(&line, "demo-read-%05d\t%d\t" DEMO_CONTIG "\t%d\t60\t%dM\t*\t0\t0\t%s\t%s\tRG:Z:demo",
                 ++n, flag, pos + 1, DEMO_READ, read, qual);
        if (sam_parse1(&line, h, b) < 0 || sam_write1(out, h, b) < 0) {
            rc = zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
            goto out;
        }
    }
out:
    free(line.s);
    bam_destroy1(b);
    if (h)
        sam_hdr_destroy(h);
    if (out && hts_close(out) != 0 && !rc)
        rc = zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
    if (!rc && sam_index_build(path, 0) != 0)
        rc = zg_error_set(err, ZG_EIO, "", "cannot index %s", path);
    return rc;
}

int zg_demo_genome_reads(const struct zg_datadir *dd, sqlite3 *db, struct zg_error *err)
{
    /* a Sakura University Hospital case with genome data (the demo clinician's hospital) */
    char case_id[ZG_ID_LEN] = "";
    sqlite3_stmt *st = zg_db_prepare(db,
                                     "SELECT c.id FROM cases c JOIN orgs o ON o.id = c.org_id "
                                     "WHERE o.name = 'Sakura University Hospital' AND c.id IN "
                                     "(SELECT case_id FROM genome_cases) "
                                     "ORDER BY c.created_at, c.id LIMIT 1",
                                     err);
    if (!st)
        return err->code ? err->code : ZG_EIO;
    int rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(case_id, sizeof(case_id), "%s", (const char *)sqlite3_column_text(st, 0));
    zg_db_release(st);
    if (!case_id[0])
        return 0; /* no such case: nothing to attach the reads to */

    /* the reference stays in DATA/demo/ (absolute path: the registry records where it is) */
    char rel[1100], dir[PATH_MAX], ref[PATH_MAX + 32], cram[PATH_MAX + 32];
    zg_datadir_file(dd, "demo", rel, sizeof(rel));
    if ((mkdir(rel, 0750) != 0 && errno != EEXIST) || !realpath(rel, dir))
        return zg_error_set(err, ZG_EIO, "", "cannot create %s", rel);
    snprintf(ref, sizeof(ref), "%s/zgdemo-reference.fa", dir);
    snprintf(cram, sizeof(cram), "%s/zgdemo-tumour.cram", dir);
    char seq[DEMO_LEN + 1];
    if ((rc = write_reference(ref, seq, err)) || (rc = write_cram(cram, ref, seq, err)))
        return rc;
    struct zg_file_add_opts o = {.case_id = case_id, .ref_fasta = ref,
                                 .pipeline = "zengen-demo", .pipeline_version = ZG_VERSION,
                                 .name = "zgdemo-tumour.cram", .move = true};
    struct zg_file_info f;
    rc = zg_file_add(dd, db, cram, &o, &f, err);
    char crai[PATH_MAX + 40];
    snprintf(crai, sizeof(crai), "%s.crai", cram);
    unlink(crai); /* copied into the store with the file */
    if (rc)
        unlink(cram); /* a failed registration leaves its source in place */
    if (!rc)
        printf("genome: synthetic tumour reads %s (CRAM) for case %s — view them in the portal: "
               "#/genome/files/%s/igv?locus=" DEMO_CONTIG ":2900-3100\n",
               f.id, case_id, f.id);
    return rc;
}
