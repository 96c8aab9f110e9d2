/* The policy decision point: the one function that decides every request.
 * Inputs: who is asking (identity, role, organisation, how they authenticated) and what the
 * route declares (action, resource kind, data tier). Output: allow/deny, a reason a person can
 * read, and obligations the caller must honour. Later issues add governance inputs
 * (approvals, consent, embargo) here — never in handlers. */
#ifndef ZG_POLICY_H
#define ZG_POLICY_H

#include "common/compat.h"

enum zg_role {
    ZG_ROLE_ADMIN,
    ZG_ROLE_OPERATOR,
    ZG_ROLE_CLINICIAN,
    ZG_ROLE_HOSPITAL_DATA,
    ZG_ROLE_SEQUENCER,
    ZG_ROLE_ACADEMIC,
    ZG_ROLE_INDUSTRY,
    ZG_ROLE_DAC,
    ZG_ROLE_AUDITOR,
    ZG_ROLE_PARTICIPANT,
    ZG_ROLE__COUNT
};

/* Data tiers, from least to most sensitive (plus the two operational tiers audit/admin). */
enum zg_tier {
    ZG_TIER_PUBLIC,            /* no authentication (health, OpenAPI, sign-in) */
    ZG_TIER_SELF,              /* the caller's own account */
    ZG_TIER_OVERVIEW,          /* counts over the whole collection */
    ZG_TIER_AGGREGATE,         /* simple analyses: counts by group, small cells suppressed */
    ZG_TIER_DETAILED_GENOME,   /* per-case genome data */
    ZG_TIER_DETAILED_CLINICAL, /* per-case clinical data */
    ZG_TIER_IDENTIFIABLE,      /* hospital patient IDs (linkage store) */
    ZG_TIER_AUDIT,             /* the audit trail */
    ZG_TIER_ADMIN,             /* accounts and organisations */
    ZG_TIER__COUNT
};

#define ZG_TIER_BIT(t) (1u << (t))

enum zg_auth_kind { ZG_AUTH_NONE, ZG_AUTH_SESSION, ZG_AUTH_TOKEN };

/* The authenticated caller, filled by auth/ and read by policy/ and audit/. */
struct zg_identity {
    enum zg_auth_kind kind;
    int64_t user_id;
    char login[64];
    enum zg_role role;
    int64_t org_id;
    char org_name[128];
    char org_type[16];
    bool mfa;            /* this session passed a second factor (tokens: minted under MFA) */
    bool mfa_enrolled;   /* the user has a confirmed TOTP secret */
    uint32_t scopes;     /* token: bitmask of tiers the token may reach; session: all */
    int64_t session_id;  /* ZG_AUTH_SESSION */
    int64_t token_id;    /* ZG_AUTH_TOKEN */
    char token_name[64]; /* ZG_AUTH_TOKEN: the token's name, recorded as the audit "tool" */
    char csrf[48];       /* ZG_AUTH_SESSION */
    char participant_id[32];
};

enum zg_obligation {
    ZG_OBL_OWN_ORG = 1u << 0,         /* restrict results/writes to identity.org_id */
    ZG_OBL_SUPPRESS_SMALL = 1u << 1,  /* suppress counts below decision.k_min */
    ZG_OBL_OWN_PARTICIPANT = 1u << 2, /* restrict to the caller's own participant record */
    ZG_OBL_CONSENT = 1u << 3,         /* only cases whose consent status is in decision.consent */
};

/* A case's consent status as its clinical record states it (/consent/status); a case without
 * a record, or a record without a status, is "unrecorded". */
enum zg_consent {
    ZG_CONSENT_UNRECORDED,
    ZG_CONSENT_CONSENTED,
    ZG_CONSENT_PARTIAL, /* "partially-consented" */
    ZG_CONSENT_PENDING,
    ZG_CONSENT_WITHDRAWN,
    ZG_CONSENT__COUNT
};

#define ZG_CONSENT_BIT(s) (1u << (s))

struct zg_policy_config {
    int k_min; /* smallest count shown to roles with ZG_OBL_SUPPRESS_SMALL (default 5) */
};

struct zg_decision {
    bool allow;
    const char *code;   /* "allow", "unauthenticated", "mfa-required", "forbidden", "token-scope" */
    char reason[320];   /* shown to the caller; names the role and the tier, never data */
    uint32_t obligations;
    int k_min;
    int64_t org_id;     /* for ZG_OBL_OWN_ORG */
    uint32_t consent;   /* for ZG_OBL_CONSENT: ZG_CONSENT_BIT mask of the statuses whose cases
                         * may be counted or shown (never UNRECORDED, PENDING or WITHDRAWN) */
};

/* What is being asked. */
struct zg_policy_request {
    const struct zg_identity *who; /* NULL or kind NONE when unauthenticated */
    enum zg_tier tier;
    const char *action;        /* e.g. "case.read" */
    const char *resource_kind; /* e.g. "case" */
};

/* Decides req under cfg into *out. Never fails: unknown input is a deny.
 * Which cases an allowed caller may count or see is part of the decision (the permitted case
 * set, applied by the data layer as one more bitmap / filter):
 *  - operator: every case (the data custodian; processes withdrawals);
 *  - hospital roles at detailed and identifiable tiers: own organisation (ZG_OBL_OWN_ORG), for
 *    care of their own patients, whatever the research consent says;
 *  - every other allowed caller at the overview, aggregate and detailed tiers (researchers,
 *    DAC, hospital roles looking across the national cohort, admin, auditor):
 *    ZG_OBL_CONSENT — overview/aggregate: consented or partially-consented cases; detailed
 *    tiers: consented cases only. Withdrawn, pending and unrecorded consent never count.
 *  - participant: own record only (ZG_OBL_OWN_PARTICIPANT). */
void zg_policy_decide(const struct zg_policy_config *cfg, const struct zg_policy_request *req,
                      struct zg_decision *out);

/* Bitmask of tiers a role may reach at most. */
uint32_t zg_policy_role_tiers(enum zg_role role);

/* True when the role can reach detailed, identifiable, audit or admin data and so must use MFA. */
bool zg_policy_role_requires_mfa(enum zg_role role);

/* Names: "admin", "hospital-data", …; "detailed-clinical", …. Parse returns 0 or ZG_EINVAL. */
const char *zg_role_name(enum zg_role role);
const char *zg_role_title(enum zg_role role); /* "academic researcher" */
int zg_role_parse(const char *s, enum zg_role *out) ZG_MUST_CHECK;
const char *zg_tier_name(enum zg_tier tier);
const char *zg_tier_title(enum zg_tier tier); /* "detailed clinical data" */
int zg_tier_parse(const char *s, enum zg_tier *out) ZG_MUST_CHECK;
/* "consented", "partially-consented", "pending", "withdrawn", "unrecorded". Parse accepts
 * the same names and returns 0 or ZG_EINVAL. */
const char *zg_consent_name(enum zg_consent s);
int zg_consent_parse(const char *s, enum zg_consent *out) ZG_MUST_CHECK;

/* Parses a comma-separated tier list ("overview,aggregate") into a bitmask.
 * Returns 0 or ZG_EINVAL (the bad name is copied into bad[badsz]). */
int zg_tier_parse_list(const char *s, uint32_t *mask, char *bad, size_t badsz) ZG_MUST_CHECK;

#endif
