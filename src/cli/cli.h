/* Shared pieces of the operator CLI: argument parsing, opening the data directory, error
 * reporting and auditing of CLI actions. Only cli/ and main.c may call exit(). */
#ifndef ZG_CLI_H
#define ZG_CLI_H

#include "common/compat.h"
#include "common/error.h"
#include "store/datadir.h"
#include <jansson.h>
#include <sqlite3.h>

#define ZG_EXIT_OK 0
#define ZG_EXIT_FAIL 1  /* the command ran and failed */
#define ZG_EXIT_USAGE 2 /* the command line is wrong */

/* Parsed command line of one subcommand: positionals and --options. */
struct zg_args {
    int argc;
    char **argv;
    bool used[128];
    bool isval[128]; /* consumed as the value of an option */
};

/* Initialises from argv (after the subcommand words). More than 127 arguments is a usage error. */
int zg_args_init(struct zg_args *a, int argc, char **argv);

/* Value of --name VALUE or --name=VALUE (last wins), or NULL. Marks it used. */
const char *zg_args_opt(struct zg_args *a, const char *name);

/* True when --name is present (a flag without value). */
bool zg_args_flag(struct zg_args *a, const char *name);

/* The i-th positional argument (0-based), or NULL. Marks it used. */
const char *zg_args_pos(struct zg_args *a, int i);

/* Reports the first unused argument as a usage error; returns 0 when all were used. */
int zg_args_done(struct zg_args *a, const char *usage);

/* Prints "zengen: <field>: <reason>" to stderr and returns the exit code for err. */
int zg_cli_fail(const struct zg_error *err);

/* Prints a usage error and returns ZG_EXIT_USAGE. */
int zg_cli_usage(const char *usage, const char *fmt, ...) ZG_PRINTF(2, 3);

/* Opens --data DIR (or $ZENGEN_DATA) and the main database. */
int zg_cli_open(struct zg_args *a, struct zg_datadir *dd, sqlite3 **db, struct zg_error *err)
    ZG_MUST_CHECK;

/* Writes an audit event for a CLI action (actor: the operating-system user) and waits until
 * it is durable. data may be NULL. Returns 0 or an error. */
int zg_cli_audit(const struct zg_datadir *dd, const char *action, const char *resource,
                 const char *outcome, json_t *data, json_t *options) ZG_MUST_CHECK;

/* Audits the outcome of a CLI action that ran with result rc (reason in err when rc != 0) and
 * gives the command's exit code: zg_cli_fail's for a failure, ZG_EXIT_FAIL when the audit event
 * could not be written, else 0. Takes ownership of data and options (either may be NULL). */
int zg_cli_outcome(const struct zg_datadir *dd, const char *action, const char *resource, int rc,
                   struct zg_error *err, json_t *data, json_t *options) ZG_MUST_CHECK;

/* Subcommands (cli/<name>.c). */
int zg_cmd_init(int argc, char **argv);
int zg_cmd_serve(int argc, char **argv);
int zg_cmd_demo(int argc, char **argv);
int zg_cmd_org(int argc, char **argv);
int zg_cmd_user(int argc, char **argv);
int zg_cmd_token(int argc, char **argv);
int zg_cmd_job(int argc, char **argv);
int zg_cmd_linkage_key(int argc, char **argv);
int zg_cmd_upload(int argc, char **argv);

/* The common start of a data-directory command: opens the data directory (--data or
 * ZENGEN_DATA) and zengen.db, takes the first positional argument into *pos0 (NULL when
 * absent; pass NULL to take none) and checks that nothing unexpected is left. Returns 0, or the
 * exit code after printing the reason (nothing left open). */
int zg_cli_start(struct zg_args *a, const char *usage, struct zg_datadir *dd, sqlite3 **db,
                 const char **pos0) ZG_MUST_CHECK;

/* Prints j as indented JSON and a newline on stdout. */
void zg_cli_print_json(const json_t *j);

/* Reads a bearer token from the first line of path into out (warns when the file is readable by
 * others). Returns 0 or an error naming --token-file. */
int zg_cli_read_token(const char *path, char *out, size_t outsz, struct zg_error *err)
    ZG_MUST_CHECK;
int zg_cmd_case(int argc, char **argv);
int zg_cmd_audit(int argc, char **argv);
int zg_cmd_id(int argc, char **argv);
int zg_cmd_totp(int argc, char **argv);
int zg_cmd_import(int argc, char **argv);

/* A subcommand of `zengen import`, provided by a domain (cli/<domain>_import.inc). */
struct zg_import_cmd {
    const char *kind; /* "fhir", "ssmix2", "vcf", … */
    int (*fn)(int argc, char **argv);
    const char *help;
};

/* Domain commands (declared in cli/<domain>_cli.h when present). */
#if __has_include("clinical_cli.h")
#include "clinical_cli.h"
#endif
#if __has_include("genome_cli.h")
#include "genome_cli.h"
#endif
#if __has_include("gateway_cli.h")
#include "gateway_cli.h"
#endif
#if __has_include("htsget_cli.h")
#include "htsget_cli.h"
#endif

#endif
