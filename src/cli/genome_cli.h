/* Genome commands: file registry, VCF import, cohort queries, synthetic cohorts, index. */
#ifndef ZG_GENOME_CLI_H
#define ZG_GENOME_CLI_H

#include "common/compat.h"
#include "store/datadir.h"
#include <sqlite3.h>

struct zg_error;

int zg_cmd_file(int argc, char **argv);          /* zengen file add|list|show */
int zg_cmd_import_vcf(int argc, char **argv);    /* zengen import vcf FILE --case ID --kind K */
int zg_cmd_query(int argc, char **argv);         /* zengen query genes|cooccurrence|… */
int zg_cmd_synth(int argc, char **argv);         /* zengen synth --cases N */
int zg_cmd_genome_index(int argc, char **argv);  /* zengen genome-index rebuild|stats */
int zg_cmd_genome_case(int argc, char **argv);   /* zengen genome-case set ID … */

/* `zengen demo` hook: a small synthetic cohort over the demo cases, through normal ingest. */
int zg_demo_genome(const struct zg_datadir *dd, sqlite3 *db, struct zg_error *err) ZG_MUST_CHECK;
/* `zengen demo` hook: a synthetic reference and tumour CRAM for one demo case, so the portal's
 * read viewer has something to show (cli/genome_demo_reads.c). */
int zg_demo_genome_reads(const struct zg_datadir *dd, sqlite3 *db, struct zg_error *err)
    ZG_MUST_CHECK;

#endif
