/* Fuzzes zg_vcf_cut_info (src/genome/ingest.c), the cut of a VCF record's annotation (CSQ, ANN,
 * EFF) out of its INFO column before htslib parses the line: no crash or overrun on any INFO
 * text; the value handed back is that of the first item "TAG=value"; the line keeps every other
 * item, in order, and everything around INFO byte for byte; an INFO left empty reads ".". */
#include "fuzz.h"
#include "common/compat.h"
#include "common/error.h"
#include "genome/files_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INFO_MAX 4096

static const char *const tags[] = {"CSQ", "ANN", "EFF"};
static const char pre[] = "1\t100\t.\tA\tC\t.\tPASS\t", post[] = "\tGT:AD\t0/1:3,4";

/* What INFO must become: its items (split at ';', empty ones included) without the first one
 * that is tag=…, joined by ';' again, "." when nothing is left; the value of that item. Returns
 * false (out = info) when there is none. */
static bool expected(const char *info, const char *tag, char *out, const char **val, size_t *vlen)
{
    size_t tl = strlen(tag), n = 0, kept = 0;
    bool cut = false;
    for (const char *it = info;;) {
        const char *e = strchr(it, ';');
        size_t len = e ? (size_t)(e - it) : strlen(it);
        if (!cut && len > tl && it[tl] == '=' && !memcmp(it, tag, tl)) {
            cut = true;
            *val = it + tl + 1;
            *vlen = len - tl - 1;
        } else {
            if (kept++)
                out[n++] = ';';
            memcpy(out + n, it, len);
            n += len;
        }
        if (!e)
            break;
        it = e + 1;
    }
    out[n] = '\0';
    if (!cut)
        memcpy(out, info, strlen(info) + 1);
    else if (!n)
        memcpy(out, ".", 2);
    return cut;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > INFO_MAX)
        return 0;
    const char *tag = tags[data[0] % 3];
    /* INFO is one column: no tab, newline or NUL inside it */
    char info[INFO_MAX + 1];
    size_t il = size - 1;
    for (size_t i = 0; i < il; i++) {
        char c = (char)data[i + 1];
        info[i] = c == '\t' || c == '\n' || c == '\0' ? ';' : c;
    }
    info[il] = '\0';
    static char line[sizeof(pre) + INFO_MAX + sizeof(post)];
    int pl = snprintf(line, sizeof(line), "%s%s%s", pre, info, post);
    size_t len = (size_t)pl;
    char want[INFO_MAX + 2];
    const char *val = NULL;
    size_t vlen = 0;
    bool cut = expected(info, tag, want, &val, &vlen);

    char *buf = NULL;
    int cap = 0;
    int r = zg_vcf_cut_info(line, &len, sizeof(pre) - 1, sizeof(pre) - 1 + il, tag, &buf, &cap);
    ZG_FUZZ_CHECK(r >= -1);
    ZG_FUZZ_CHECK((r >= 0) == cut);
    if (cut) {
        ZG_FUZZ_CHECK((size_t)r == vlen && buf && !memcmp(buf, val, vlen) && buf[vlen] == '\0');
    }
    /* the line: what came before INFO, the expected INFO, what came after, and its length */
    ZG_FUZZ_CHECK(len == strlen(line));
    ZG_FUZZ_CHECK(!strncmp(line, pre, sizeof(pre) - 1));
    size_t wl = strlen(want), postl = sizeof(post) - 1;
    ZG_FUZZ_CHECK(len == sizeof(pre) - 1 + wl + postl);
    ZG_FUZZ_CHECK(!memcmp(line + sizeof(pre) - 1, want, wl));
    ZG_FUZZ_CHECK(!strcmp(line + len - postl, post));
    free(buf);
    return 0;
}
