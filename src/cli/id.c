/* zengen id check ID — and zengen totp (an operator's authenticator for demos and tests). */
#include "cli.h"
#include "common/clock.h"
#include "crypto/totp.h"
#include "ids/ids.h"

int zg_cmd_id(int argc, char **argv)
{
    static const char *u = "zengen id check ID";
    if (argc != 2 || strcmp(argv[0], "check"))
        return zg_cli_usage(u, "expected: id check ID");
    enum zg_id_kind kind;
    char canon[ZG_ID_LEN];
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_id_parse(argv[1], &kind, canon, &err))
        return zg_cli_fail(&err);
    printf("%s\t%s\n", canon,
           kind == ZG_ID_PARTICIPANT ? "participant" : kind == ZG_ID_CASE ? "case" : "specimen");
    return ZG_EXIT_OK;
}

int zg_cmd_totp(int argc, char **argv)
{
    static const char *u = "zengen totp --secret-file FILE   (or the secret on standard input)";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *file = zg_args_opt(&a, "--secret-file");
    int rc = zg_args_done(&a, u);
    if (rc)
        return rc;
    /* the secret is never taken from the command line, where other users could see it */
    FILE *f = file ? fopen(file, "r") : stdin;
    char secret[128] = "";
    if (!f || !fgets(secret, sizeof(secret), f)) {
        if (f && f != stdin)
            fclose(f);
        fprintf(stderr, "zengen: no TOTP secret to read\n");
        return ZG_EXIT_FAIL;
    }
    if (f != stdin)
        fclose(f);
    secret[strcspn(secret, "\r\n ")] = '\0';
    char code[7];
    if (zg_totp_generate(secret, zg_clock_now(), code)) {
        fprintf(stderr, "zengen: the secret is not base32\n");
        return ZG_EXIT_FAIL;
    }
    printf("%s\n", code);
    return ZG_EXIT_OK;
}
