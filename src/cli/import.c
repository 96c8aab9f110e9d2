/* zengen import <kind> …: dispatches to the importers of each domain, which run the same
 * conversion and validation as the API. */
#include "cli.h"

static const struct zg_import_cmd importers[] = {
#if __has_include("clinical_import.inc")
#include "clinical_import.inc"
#endif
#if __has_include("genome_import.inc")
#include "genome_import.inc"
#endif
#if __has_include("gateway_import.inc")
#include "gateway_import.inc"
#endif
    {NULL, NULL, NULL},
};

int zg_cmd_import(int argc, char **argv)
{
    if (argc >= 1)
        for (size_t i = 0; importers[i].kind; i++)
            if (!strcmp(argv[0], importers[i].kind))
                return importers[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "usage: zengen import <kind> … --data DIR\nkinds:\n");
    for (size_t i = 0; importers[i].kind; i++)
        fprintf(stderr, "  %s\n", importers[i].help);
    if (!importers[0].kind)
        fprintf(stderr, "  (no importers are built in)\n");
    return ZG_EXIT_USAGE;
}
