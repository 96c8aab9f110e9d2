/* HL7 v2.x message parsing for the hospital gateway: character-set decoding (ISO-2022-JP as
 * used by SS-MIX2, UTF-8, ASCII) and a bounded segment/field/repetition/component parser that
 * takes its separators from MSH and resolves escape sequences. */
#ifndef ZG_GATEWAY_HL7_H
#define ZG_GATEWAY_HL7_H

#include "common/compat.h"

struct zg_error;
struct zg_arena;

/* Bounds: anything larger is refused (the message goes to quarantine). */
#define ZG_HL7_MAX_BYTES ((size_t)4 << 20) /* one message file */
#define ZG_HL7_MAX_SEGMENTS 5000
#define ZG_HL7_MAX_FIELDS 512  /* per segment */
#define ZG_HL7_MAX_REPS 256    /* per field */
#define ZG_HL7_MAX_COMPS 64    /* per repetition */

struct zg_hl7_msg;

/* Converts the raw bytes of one message file to UTF-8. The character set is read from MSH-18
 * (its repetitions: "ISO IR87" / "ISO 2022-1994" / "ISO IR6" → ISO-2022-JP; "UNICODE UTF-8" /
 * "ISO IR192" → UTF-8; absent → ASCII, and UTF-8 is accepted). Invalid byte sequences are
 * refused with the byte offset in err->reason. *out is malloc'd (caller frees), NUL-terminated;
 * *outlen its length. Returns 0, ZG_EINVAL (not an HL7 message / undecodable), ZG_ETOOBIG. */
int zg_hl7_decode(const char *raw, size_t n, char **out, size_t *outlen, struct zg_error *err)
    ZG_MUST_CHECK;

/* Parses one UTF-8 message (segments separated by CR, CRLF or LF). Separators come from MSH-1
 * and MSH-2; every escape sequence is checked. The message and everything returned by the
 * accessors live in arena. Returns 0 with *out, ZG_EINVAL (field names the place, e.g.
 * "segment 3" or "PID-5", reason says why), ZG_ETOOBIG (a bound above), ZG_ENOMEM. */
int zg_hl7_parse(struct zg_arena *arena, const char *text, size_t n, struct zg_hl7_msg **out,
                 struct zg_error *err) ZG_MUST_CHECK;

/* Number of segments. */
size_t zg_hl7_nsegments(const struct zg_hl7_msg *m);

/* Name of segment i ("MSH", "PID", …), or NULL past the end. */
const char *zg_hl7_segment_name(const struct zg_hl7_msg *m, size_t i);

/* Index of the nth (0-based) segment called name at or after index `from`, or -1. */
long zg_hl7_find(const struct zg_hl7_msg *m, const char *name, size_t from);

/* Number of repetitions of field f (1-based HL7 numbering; MSH-1 is the field separator) of
 * segment i: 0 when the field is absent or empty. */
size_t zg_hl7_nreps(const struct zg_hl7_msg *m, size_t i, size_t f);

/* The value of segment i, field f (1-based), repetition r (0-based), component c (1-based),
 * subcomponent s (1-based), with escape sequences resolved. c = 0 returns the whole
 * repetition unsplit (escapes resolved, separators kept); s = 0 the whole component. Returns
 * "" for absent parts (never NULL, except on allocation failure). HL7's explicit null ("")
 * is returned as "". */
const char *zg_hl7_get(const struct zg_hl7_msg *m, size_t i, size_t f, size_t r, size_t c,
                       size_t s);

/* Shorthand: first repetition, component c (1-based; 0 = whole), subcomponent 1 or whole. */
const char *zg_hl7_val(const struct zg_hl7_msg *m, size_t i, size_t f, size_t c);

/* Resolves the escape sequences of one raw value using m's delimiters into the arena.
 * Exposed for tests. Returns NULL on an invalid sequence or allocation failure. */
const char *zg_hl7_unescape(const struct zg_hl7_msg *m, const char *raw, size_t n);

#endif
