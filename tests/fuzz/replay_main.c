/* Replays fuzz corpora without libFuzzer: calls LLVMFuzzerTestOneInput once on every regular
 * file named on the command line or found (non-recursively) in a directory named there.
 * Used by the fuzz.<name>.replay tests in the normal and the ASan build. */
#include "fuzz.h"
#include "common/compat.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT (4u << 20) /* corpus files are small; refuse anything absurd */

static int replay_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(REPLAY_MAX_INPUT);
    if (!buf) {
        fclose(f);
        fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    size_t n = fread(buf, 1, REPLAY_MAX_INPUT, f);
    int rc = 0;
    if (ferror(f) || !feof(f)) {
        fprintf(stderr, "replay: %s: unreadable or larger than %u bytes\n", path,
                REPLAY_MAX_INPUT);
        rc = -1;
    }
    fclose(f);
    if (rc == 0) {
        /* hand over an exact-size copy so that ASan sees reads past the input */
        uint8_t *exact = malloc(n ? n : 1);
        if (!exact) {
            rc = -1;
        } else {
            memcpy(exact, buf, n);
            LLVMFuzzerTestOneInput(exact, n);
            free(exact);
            (*count)++;
        }
    }
    free(buf);
    return rc;
}

static int replay_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        struct stat st;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path) ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (replay_file(path, count))
            rc = -1;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE…   run every input once through the fuzz target\n",
                argv[0]);
        return 2;
    }
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count)
                                       : replay_file(argv[i], &count)) {
            rc = -1;
        }
    }
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found: an empty corpus tests nothing\n");
        return 1;
    }
    printf("replayed %zu inputs\n", count);
    return rc ? 1 : 0;
}
