/* Commands of the GA4GH/QC area: `zengen qc coverage|identity|metrics|show|gates`. */
#ifndef ZG_HTSGET_CLI_H
#define ZG_HTSGET_CLI_H

int zg_cmd_qc(int argc, char **argv); /* zengen qc … (cli/htsget_qc.c) */

#endif
