/* zengen: the command table (git style) — one binary for server, operator CLI and gateway. */
#include "cli.h"
#include "common/log.h"
#include "crypto/crypto.h"

#include <signal.h>
#include <sys/stat.h>

struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct cmd commands[] = {
    {"init", zg_cmd_init, "init DIR                      create a data directory"},
    {"serve", zg_cmd_serve, "serve [--listen HOST:PORT]    run the API, portal, Beacon and htsget"},
    {"demo", zg_cmd_demo, "demo                          load demo organisations, accounts, cases"},
    {"org", zg_cmd_org, "org add|list                  organisations"},
    {"user", zg_cmd_user, "user add|list|show|passwd|mfa|disable|enable   accounts"},
    {"token", zg_cmd_token, "token create|list|revoke      API tokens for machines"},
    {"case", zg_cmd_case, "case add|list|show|specimen   pseudonymous cases"},
    {"linkage-key", zg_cmd_linkage_key, "linkage-key split|status|restore   k-of-n key shares"},
    {"job", zg_cmd_job, "job list|show                 background jobs (imports, QC)"},
    {"audit", zg_cmd_audit, "audit verify|export|list      the audit trail"},
    {"id", zg_cmd_id, "id check ID                   validate a zengen ID"},
    {"totp", zg_cmd_totp, "totp --secret-file F          print the current one-time code"},
    {"import", zg_cmd_import, "import fhir|ssmix2|vcf …        load data through the normal checks"},
#if __has_include("clinical_commands.inc")
#include "clinical_commands.inc"
#endif
#if __has_include("genome_commands.inc")
#include "genome_commands.inc"
#endif
#if __has_include("gateway_commands.inc")
#include "gateway_commands.inc"
#endif
#if __has_include("htsget_commands.inc")
#include "htsget_commands.inc"
#endif
};

static void usage(FILE *f)
{
    fprintf(f, "usage: zengen <command> [options] [--data DIR]\n\ncommands:\n");
    for (size_t i = 0; i < ZG_ARRAY_LEN(commands); i++)
        fprintf(f, "  %s\n", commands[i].help);
    fprintf(f, "\nEvery command takes --data DIR (default: $ZENGEN_DATA).\n");
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    umask(077); /* data, keys and exports are for the service account only */
    const char *lvl = getenv("ZENGEN_LOG");
    if (lvl && !strcmp(lvl, "debug"))
        zg_log_set_level(ZG_LOG_DEBUG);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? ZG_EXIT_USAGE : ZG_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("zengen %s\n", ZG_VERSION);
        return ZG_EXIT_OK;
    }
    if (zg_crypto_init() != 0) {
        fprintf(stderr, "zengen: cannot initialise cryptography\n");
        return ZG_EXIT_FAIL;
    }
    for (size_t i = 0; i < ZG_ARRAY_LEN(commands); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "zengen: '%s' is not a command\n", argv[1]);
    usage(stderr);
    return ZG_EXIT_USAGE;
}
