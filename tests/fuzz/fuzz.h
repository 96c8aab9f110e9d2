/* The libFuzzer entry point shared by every target in tests/fuzz/ and by replay_main.c, which
 * re-runs a corpus through the same entry point in builds without libFuzzer (gcc, ASan). */
#ifndef ZG_FUZZ_H
#define ZG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input. Returns 0; a bug shows up as a crash, a sanitizer report or an abort from
 * ZG_FUZZ_CHECK. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test. Fuzzers may abort on a broken invariant: that is how
 * they report it. (assert() is not used so that NDEBUG builds keep the checks.) */
#define ZG_FUZZ_CHECK(cond)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
