/* Clinical commands: `zengen import fhir`, `zengen clinical validate|bench`, the demo hook. */
#ifndef ZG_CLINICAL_CLI_H
#define ZG_CLINICAL_CLI_H

#include "common/compat.h"
#include "store/datadir.h"
#include <sqlite3.h>

struct zg_error;

int zg_cmd_import_fhir(int argc, char **argv); /* zengen import fhir FILE… */
int zg_cmd_clinical(int argc, char **argv);    /* zengen clinical validate FILE | bench */

/* `zengen demo` hook: a synthetic clinical cohort over the demo cases (and more synthetic
 * cases per hospital), pushed through zg_clinical_push_bundle as each hospital. */
int zg_demo_clinical(const struct zg_datadir *dd, sqlite3 *db, struct zg_error *err)
    ZG_MUST_CHECK;

#endif
