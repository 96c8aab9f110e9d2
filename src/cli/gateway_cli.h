/* Gateway commands: `zengen gateway` (hospital side), `zengen import ssmix2` (local conversion
 * into a data directory) and `zengen pull` (the center pulling from hospital FHIR servers). */
#ifndef ZG_GATEWAY_CLI_H
#define ZG_GATEWAY_CLI_H

int zg_cmd_gateway(int argc, char **argv);       /* zengen gateway [status] … */
int zg_cmd_import_ssmix2(int argc, char **argv); /* zengen import ssmix2 DIR --org ORG */
int zg_cmd_pull(int argc, char **argv);          /* zengen pull add|run|status */

#endif
