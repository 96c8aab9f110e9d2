/* zengen init DIR */
#include "cli.h"

int zg_cmd_init(int argc, char **argv)
{
    static const char *u = "zengen init DIR";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *dir = zg_args_opt(&a, "--data");
    const char *pos = zg_args_pos(&a, 0);
    if (pos)
        dir = pos;
    if (!dir)
        dir = getenv("ZENGEN_DATA");
    if (!dir)
        return zg_cli_usage(u, "name the data directory to create");
    int rc = zg_args_done(&a, u);
    if (rc)
        return rc;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_datadir_init(dir, &err))
        return zg_cli_fail(&err);
    struct zg_datadir dd;
    if (zg_datadir_open(&dd, dir, &err))
        return zg_cli_fail(&err);
    rc = zg_cli_audit(&dd, "datadir.init", "system", "success", NULL, NULL);
    zg_datadir_close(&dd);
    if (rc)
        return ZG_EXIT_FAIL;
    printf("initialised %s\n", dir);
    return ZG_EXIT_OK;
}
