/* Unit tests of src/policy: the role × tier matrix checked against the table in docs/api.md,
 * MFA-required denials, token scopes, obligations (own organisation, small-count suppression)
 * and unauthenticated requests. */
#include "testutil.h"

#include "common/error.h"
#include "policy/policy.h"

#include <ctype.h>

struct doc_row {
    bool present;
    uint32_t tiers;     /* tiers listed for the role */
    uint32_t own_org;   /* tiers annotated "(own org)" */
    uint32_t suppress;  /* tiers annotated "(counts < k suppressed)" */
    bool mfa;
};

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    memmove(s, s + i, n - i + 1);
}

/* Splits a table line "| a | b | c |" into up to 3 trimmed cells. Returns the cell count. */
static int cells(const char *line, char out[3][256])
{
    const char *p = strchr(line, '|');
    int n = 0;
    while (p && n < 3) {
        const char *e = strchr(p + 1, '|');
        if (!e)
            break;
        snprintf(out[n], 256, "%.*s", (int)(e - p - 1), p + 1);
        trim(out[n]);
        n++;
        p = e;
    }
    return n;
}

/* Parses the "| role | tiers | MFA required |" table of docs/api.md. */
static void load_doc_matrix(struct doc_row rows[ZG_ROLE__COUNT])
{
    memset(rows, 0, sizeof(struct doc_row) * ZG_ROLE__COUNT);
    size_t n = 0;
    char *doc = zg_test_slurp(ZG_DOCS_DIR "/api.md", &n);
    if (!doc)
        fail_msg("cannot read %s", ZG_DOCS_DIR "/api.md");
    char *start = strstr(doc, "| role | tiers | MFA required |");
    if (!start)
        fail_msg("docs/api.md has no role/tier table");
    int parsed = 0;
    char *line = start;
    int lineno = 0;
    while (line && *line == '|') {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        char c[3][256];
        if (lineno > 2) { /* skip the header and the separator */
            if (cells(line, c) != 3)
                fail_msg("bad table line: %s", line);
            /* roles: "academic, industry" */
            char *save = NULL;
            enum zg_role roles[ZG_ROLE__COUNT];
            int nroles = 0;
            for (char *tok = strtok_r(c[0], ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                trim(tok);
                if (zg_role_parse(tok, &roles[nroles]) != 0)
                    fail_msg("docs/api.md names an unknown role '%s'", tok);
                nroles++;
            }
            struct doc_row row = {.present = true};
            if (!strcmp(c[2], "yes"))
                row.mfa = true;
            else if (strcmp(c[2], "no"))
                fail_msg("MFA column must be yes/no: '%s'", c[2]);
            for (char *tok = strtok_r(c[1], ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                trim(tok);
                char *paren = strchr(tok, '(');
                char note[128] = "";
                if (paren) {
                    snprintf(note, sizeof(note), "%s", paren);
                    *paren = '\0';
                    trim(tok);
                }
                enum zg_tier t;
                if (zg_tier_parse(tok, &t) != 0)
                    fail_msg("docs/api.md names an unknown tier '%s'", tok);
                row.tiers |= ZG_TIER_BIT(t);
                if (strstr(note, "own org"))
                    row.own_org |= ZG_TIER_BIT(t);
                if (strstr(note, "suppressed"))
                    row.suppress |= ZG_TIER_BIT(t);
            }
            for (int i = 0; i < nroles; i++) {
                if (rows[roles[i]].present)
                    fail_msg("role %s listed twice", zg_role_name(roles[i]));
                rows[roles[i]] = row;
            }
            parsed += nroles;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(doc);
    assert_int_equal(parsed, ZG_ROLE__COUNT);
    for (int r = 0; r < ZG_ROLE__COUNT; r++)
        if (!rows[r].present)
            fail_msg("docs/api.md does not list role %s", zg_role_name((enum zg_role)r));
}

static struct zg_identity session_of(enum zg_role role, bool mfa)
{
    struct zg_identity who;
    memset(&who, 0, sizeof(who));
    who.kind = ZG_AUTH_SESSION;
    who.user_id = 7;
    snprintf(who.login, sizeof(who.login), "tester");
    who.role = role;
    who.org_id = 42;
    who.mfa = mfa;
    who.mfa_enrolled = mfa;
    who.scopes = ~0u;
    who.session_id = 1;
    return who;
}

static struct zg_decision decide(const struct zg_identity *who, enum zg_tier tier)
{
    struct zg_policy_config cfg = {.k_min = 5};
    struct zg_policy_request req = {.who = who, .tier = tier, .action = "x.read",
                                    .resource_kind = "x"};
    struct zg_decision d;
    memset(&d, 0x5a, sizeof(d));
    zg_policy_decide(&cfg, &req, &d);
    return d;
}

static void matrix_matches_docs(void **state)
{
    (void)state;
    struct doc_row rows[ZG_ROLE__COUNT];
    load_doc_matrix(rows);
    for (int r = 0; r < ZG_ROLE__COUNT; r++) {
        enum zg_role role = (enum zg_role)r;
        uint32_t want = rows[r].tiers;
        assert_false(want & ZG_TIER_BIT(ZG_TIER_PUBLIC));
        if (zg_policy_role_tiers(role) != want)
            fail_msg("role %s: code reaches tiers 0x%x, docs/api.md says 0x%x", zg_role_name(role),
                     zg_policy_role_tiers(role), want);
        if (zg_policy_role_requires_mfa(role) != rows[r].mfa)
            fail_msg("role %s: MFA required is %d in code, %d in docs/api.md", zg_role_name(role),
                     zg_policy_role_requires_mfa(role), rows[r].mfa);
        struct zg_identity who = session_of(role, true);
        for (int t = 0; t < ZG_TIER__COUNT; t++) {
            enum zg_tier tier = (enum zg_tier)t;
            struct zg_decision d = decide(&who, tier);
            bool expect = tier == ZG_TIER_PUBLIC || (want & ZG_TIER_BIT(tier));
            if (d.allow != expect)
                fail_msg("role %s, tier %s: allow=%d, docs/api.md says %d (%s)",
                         zg_role_name(role), zg_tier_name(tier), d.allow, expect, d.reason);
            assert_non_null(d.code);
            if (expect) {
                assert_string_equal(d.code, "allow");
            } else {
                assert_string_equal(d.code, "forbidden");
                /* the reason names the role and the tier, for a person to read */
                assert_non_null(strstr(d.reason, zg_role_title(role)));
                assert_non_null(strstr(d.reason, zg_tier_title(tier)));
            }
            if (rows[r].own_org & ZG_TIER_BIT(tier)) {
                if (!(d.obligations & ZG_OBL_OWN_ORG))
                    fail_msg("role %s, tier %s: docs say own org, no ZG_OBL_OWN_ORG",
                             zg_role_name(role), zg_tier_name(tier));
                assert_int_equal(d.org_id, 42);
            }
            if ((rows[r].suppress & ZG_TIER_BIT(tier)) && !(d.obligations & ZG_OBL_SUPPRESS_SMALL))
                fail_msg("role %s, tier %s: docs say small counts suppressed, no obligation",
                         zg_role_name(role), zg_tier_name(tier));
        }
    }
}

static void public_and_unauthenticated(void **state)
{
    (void)state;
    for (int t = 0; t < ZG_TIER__COUNT; t++) {
        struct zg_decision d = decide(NULL, (enum zg_tier)t);
        struct zg_identity none;
        memset(&none, 0, sizeof(none));
        none.kind = ZG_AUTH_NONE;
        none.role = ZG_ROLE_ADMIN; /* a role without authentication means nothing */
        none.mfa = true;
        none.scopes = ~0u;
        struct zg_decision d2 = decide(&none, (enum zg_tier)t);
        if (t == ZG_TIER_PUBLIC) {
            assert_true(d.allow);
            assert_true(d2.allow);
        } else {
            assert_false(d.allow);
            assert_string_equal(d.code, "unauthenticated");
            assert_false(d2.allow);
            assert_string_equal(d2.code, "unauthenticated");
            assert_true(d.reason[0] != '\0');
        }
    }
    /* an unknown tier is a deny, never an allow */
    struct zg_identity admin = session_of(ZG_ROLE_ADMIN, true);
    struct zg_decision d = decide(&admin, ZG_TIER__COUNT);
    assert_false(d.allow);
    d = decide(&admin, (enum zg_tier)99);
    assert_false(d.allow);
}

static void mfa_required(void **state)
{
    (void)state;
    for (int r = 0; r < ZG_ROLE__COUNT; r++) {
        enum zg_role role = (enum zg_role)r;
        struct zg_identity who = session_of(role, false);
        uint32_t tiers = zg_policy_role_tiers(role);
        for (int t = 0; t < ZG_TIER__COUNT; t++) {
            enum zg_tier tier = (enum zg_tier)t;
            if (tier == ZG_TIER_PUBLIC || !(tiers & ZG_TIER_BIT(tier)))
                continue;
            struct zg_decision d = decide(&who, tier);
            if (zg_policy_role_requires_mfa(role) && tier != ZG_TIER_SELF) {
                if (d.allow)
                    fail_msg("role %s without MFA was allowed tier %s", zg_role_name(role),
                             zg_tier_name(tier));
                assert_string_equal(d.code, "mfa-required");
            } else {
                /* self is always reachable (to enrol); roles without MFA need none */
                assert_true(d.allow);
            }
        }
    }
    /* spot checks a user would notice */
    struct zg_identity clin = session_of(ZG_ROLE_CLINICIAN, false);
    struct zg_decision d = decide(&clin, ZG_TIER_DETAILED_CLINICAL);
    assert_false(d.allow);
    assert_string_equal(d.code, "mfa-required");
    d = decide(&clin, ZG_TIER_OVERVIEW);
    assert_false(d.allow);
    assert_string_equal(d.code, "mfa-required");
    d = decide(&clin, ZG_TIER_SELF);
    assert_true(d.allow);
    struct zg_identity acad = session_of(ZG_ROLE_ACADEMIC, false);
    d = decide(&acad, ZG_TIER_AGGREGATE);
    assert_true(d.allow);
    /* a role that may not reach a tier is told "forbidden", not "mfa-required" */
    d = decide(&clin, ZG_TIER_ADMIN);
    assert_false(d.allow);
    assert_string_equal(d.code, "forbidden");
}

static void token_scopes(void **state)
{
    (void)state;
    struct zg_identity tok = session_of(ZG_ROLE_OPERATOR, true);
    tok.kind = ZG_AUTH_TOKEN;
    tok.token_id = 3;
    snprintf(tok.token_name, sizeof(tok.token_name), "pipeline-1");
    tok.scopes = ZG_TIER_BIT(ZG_TIER_OVERVIEW) | ZG_TIER_BIT(ZG_TIER_DETAILED_GENOME);
    struct zg_decision d = decide(&tok, ZG_TIER_OVERVIEW);
    assert_true(d.allow);
    d = decide(&tok, ZG_TIER_DETAILED_GENOME);
    assert_true(d.allow);
    d = decide(&tok, ZG_TIER_DETAILED_CLINICAL);
    assert_false(d.allow);
    assert_string_equal(d.code, "token-scope");
    assert_non_null(strstr(d.reason, "pipeline-1"));
    assert_non_null(strstr(d.reason, "detailed-clinical"));
    d = decide(&tok, ZG_TIER_SELF);
    assert_false(d.allow);
    assert_string_equal(d.code, "token-scope");
    /* a scope beyond the role still does not reach what the role cannot */
    tok.scopes = ~0u;
    d = decide(&tok, ZG_TIER_ADMIN);
    assert_false(d.allow);
    assert_string_equal(d.code, "forbidden");
    /* a token minted without MFA, for a role requiring MFA */
    tok.mfa = false;
    d = decide(&tok, ZG_TIER_OVERVIEW);
    assert_false(d.allow);
    assert_string_equal(d.code, "mfa-required");
    /* scopes do not limit sessions */
    struct zg_identity ses = session_of(ZG_ROLE_OPERATOR, true);
    ses.scopes = 0;
    d = decide(&ses, ZG_TIER_DETAILED_CLINICAL);
    assert_true(d.allow);
}

static void obligations(void **state)
{
    (void)state;
    struct zg_identity clin = session_of(ZG_ROLE_CLINICIAN, true);
    clin.org_id = 9;
    struct zg_decision d = decide(&clin, ZG_TIER_DETAILED_CLINICAL);
    assert_true(d.allow);
    assert_true(d.obligations & ZG_OBL_OWN_ORG);
    assert_int_equal(d.org_id, 9);
    d = decide(&clin, ZG_TIER_IDENTIFIABLE);
    assert_true(d.obligations & ZG_OBL_OWN_ORG);
    struct zg_identity hd = session_of(ZG_ROLE_HOSPITAL_DATA, true);
    d = decide(&hd, ZG_TIER_IDENTIFIABLE);
    assert_true(d.allow);
    assert_true(d.obligations & ZG_OBL_OWN_ORG);
    assert_int_equal(d.org_id, 42);
    struct zg_identity sq = session_of(ZG_ROLE_SEQUENCER, true);
    d = decide(&sq, ZG_TIER_DETAILED_GENOME);
    assert_true(d.obligations & ZG_OBL_OWN_ORG);
    /* the operator works across organisations */
    struct zg_identity op = session_of(ZG_ROLE_OPERATOR, true);
    d = decide(&op, ZG_TIER_DETAILED_CLINICAL);
    assert_true(d.allow);
    assert_false(d.obligations & ZG_OBL_OWN_ORG);

    struct zg_identity acad = session_of(ZG_ROLE_ACADEMIC, false);
    struct zg_policy_config cfg = {.k_min = 10};
    struct zg_policy_request req = {.who = &acad, .tier = ZG_TIER_AGGREGATE};
    zg_policy_decide(&cfg, &req, &d);
    assert_true(d.allow);
    assert_true(d.obligations & ZG_OBL_SUPPRESS_SMALL);
    assert_int_equal(d.k_min, 10);
    cfg.k_min = 0; /* default */
    zg_policy_decide(&cfg, &req, &d);
    assert_int_equal(d.k_min, 5);
    zg_policy_decide(NULL, &req, &d);
    assert_true(d.allow);
    assert_int_equal(d.k_min, 5);
    struct zg_identity ind = session_of(ZG_ROLE_INDUSTRY, false);
    d = decide(&ind, ZG_TIER_AGGREGATE);
    assert_true(d.obligations & ZG_OBL_SUPPRESS_SMALL);
    /* overview counts are not an aggregate analysis */
    d = decide(&acad, ZG_TIER_OVERVIEW);
    assert_true(d.allow);
    assert_false(d.obligations & ZG_OBL_SUPPRESS_SMALL);
    /* clinicians see aggregate data unsuppressed */
    d = decide(&clin, ZG_TIER_AGGREGATE);
    assert_true(d.allow);
    assert_false(d.obligations & ZG_OBL_SUPPRESS_SMALL);
    /* participants only ever see their own record */
    struct zg_identity part = session_of(ZG_ROLE_PARTICIPANT, false);
    d = decide(&part, ZG_TIER_SELF);
    assert_true(d.allow);
    assert_true(d.obligations & ZG_OBL_OWN_PARTICIPANT);
}

/* The permitted case set: research use needs recorded consent (partial consent covers counts
 * only); hospital roles see their own organisation's cases at detailed tiers whatever the
 * research consent says; the operator sees every case. */
static void consent_obligation(void **state)
{
    (void)state;
    const uint32_t counts = ZG_CONSENT_BIT(ZG_CONSENT_CONSENTED) | ZG_CONSENT_BIT(ZG_CONSENT_PARTIAL);
    const uint32_t never = ZG_CONSENT_BIT(ZG_CONSENT_WITHDRAWN) | ZG_CONSENT_BIT(ZG_CONSENT_PENDING) |
                           ZG_CONSENT_BIT(ZG_CONSENT_UNRECORDED);
    static const enum zg_role research[] = {ZG_ROLE_ACADEMIC, ZG_ROLE_INDUSTRY, ZG_ROLE_DAC};
    for (size_t i = 0; i < 3; i++) {
        struct zg_identity who = session_of(research[i], true);
        for (int t = ZG_TIER_OVERVIEW; t <= ZG_TIER_AGGREGATE; t++) {
            struct zg_decision d = decide(&who, (enum zg_tier)t);
            assert_true(d.allow);
            assert_true(d.obligations & ZG_OBL_CONSENT);
            assert_int_equal(d.consent, counts);
            assert_false(d.consent & never);
        }
        /* their own account is not data about cases */
        assert_false(decide(&who, ZG_TIER_SELF).obligations & ZG_OBL_CONSENT);
    }
    /* hospital roles: across the national cohort consent applies; own cases at detailed tiers */
    struct zg_identity clin = session_of(ZG_ROLE_CLINICIAN, true);
    struct zg_decision d = decide(&clin, ZG_TIER_AGGREGATE);
    assert_true(d.obligations & ZG_OBL_CONSENT);
    assert_false(d.obligations & ZG_OBL_OWN_ORG);
    assert_int_equal(d.consent, counts);
    d = decide(&clin, ZG_TIER_DETAILED_GENOME);
    assert_true(d.obligations & ZG_OBL_OWN_ORG);
    assert_false(d.obligations & ZG_OBL_CONSENT);
    struct zg_identity seq = session_of(ZG_ROLE_SEQUENCER, true);
    assert_true(decide(&seq, ZG_TIER_OVERVIEW).obligations & ZG_OBL_CONSENT);
    assert_false(decide(&seq, ZG_TIER_DETAILED_GENOME).obligations & ZG_OBL_CONSENT);
    /* the operator: every case, at every tier */
    struct zg_identity op = session_of(ZG_ROLE_OPERATOR, true);
    for (int t = 0; t < ZG_TIER__COUNT; t++)
        assert_false(decide(&op, (enum zg_tier)t).obligations & ZG_OBL_CONSENT);
    /* a denial carries no obligations */
    struct zg_identity acad = session_of(ZG_ROLE_ACADEMIC, true);
    d = decide(&acad, ZG_TIER_DETAILED_GENOME);
    assert_false(d.allow);
    assert_int_equal(d.obligations, 0);
    /* names */
    for (int k = 0; k < ZG_CONSENT__COUNT; k++) {
        enum zg_consent back;
        assert_int_equal(zg_consent_parse(zg_consent_name((enum zg_consent)k), &back), 0);
        assert_int_equal(back, k);
    }
    enum zg_consent x;
    assert_int_equal(zg_consent_parse("maybe", &x), ZG_EINVAL);
    assert_int_equal(zg_consent_parse(NULL, &x), ZG_EINVAL);
    assert_string_equal(zg_consent_name(ZG_CONSENT_PARTIAL), "partially-consented");
}

static void names_roundtrip(void **state)
{
    (void)state;
    for (int r = 0; r < ZG_ROLE__COUNT; r++) {
        enum zg_role out;
        assert_int_equal(zg_role_parse(zg_role_name((enum zg_role)r), &out), 0);
        assert_int_equal(out, r);
        assert_string_not_equal(zg_role_title((enum zg_role)r), "unknown role");
    }
    for (int t = 0; t < ZG_TIER__COUNT; t++) {
        enum zg_tier out;
        assert_int_equal(zg_tier_parse(zg_tier_name((enum zg_tier)t), &out), 0);
        assert_int_equal(out, t);
    }
    enum zg_role r;
    enum zg_tier t;
    assert_int_equal(zg_role_parse("Admin", &r), ZG_EINVAL);
    assert_int_equal(zg_role_parse(NULL, &r), ZG_EINVAL);
    assert_int_equal(zg_tier_parse("detailed_genome", &t), ZG_EINVAL);
    assert_string_equal(zg_role_name(ZG_ROLE_HOSPITAL_DATA), "hospital-data");
    assert_string_equal(zg_tier_name(ZG_TIER_DETAILED_CLINICAL), "detailed-clinical");
    assert_string_equal(zg_role_name((enum zg_role)99), "unknown");

    uint32_t mask = 0;
    char bad[32] = "";
    assert_int_equal(zg_tier_parse_list("overview,aggregate", &mask, bad, sizeof(bad)), 0);
    assert_int_equal(mask, ZG_TIER_BIT(ZG_TIER_OVERVIEW) | ZG_TIER_BIT(ZG_TIER_AGGREGATE));
    assert_int_equal(zg_tier_parse_list("overview,secret", &mask, bad, sizeof(bad)), ZG_EINVAL);
    assert_string_equal(bad, "secret");
    assert_int_equal(zg_tier_parse_list("public", &mask, bad, sizeof(bad)), ZG_EINVAL);
    assert_int_equal(zg_tier_parse_list("", &mask, bad, sizeof(bad)), ZG_EINVAL);
    assert_int_equal(zg_tier_parse_list("overview,,audit", &mask, bad, sizeof(bad)), ZG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matrix_matches_docs),
        cmocka_unit_test(public_and_unauthenticated),
        cmocka_unit_test(mfa_required),
        cmocka_unit_test(token_scopes),
        cmocka_unit_test(obligations),
        cmocka_unit_test(consent_obligation),
        cmocka_unit_test(names_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
