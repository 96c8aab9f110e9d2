/* Role-based rules of the policy decision point. */
#include "policy.h"
#include "common/error.h"

static const char *const role_names[ZG_ROLE__COUNT] = {
    "admin", "operator", "clinician", "hospital-data", "sequencer",
    "academic", "industry", "dac", "auditor", "participant"};
static const char *const role_titles[ZG_ROLE__COUNT] = {
    "system administrator", "data-center operator", "hospital clinician",
    "hospital data manager", "sequencing-center staff", "academic researcher",
    "industry researcher", "data-access committee member", "auditor", "participant"};
static const char *const tier_names[ZG_TIER__COUNT] = {
    "public", "self", "overview", "aggregate", "detailed-genome",
    "detailed-clinical", "identifiable", "audit", "admin"};
static const char *const tier_titles[ZG_TIER__COUNT] = {
    "public information", "your own account", "overview statistics", "aggregate analyses",
    "detailed genome data", "detailed clinical data", "identifiable data", "the audit trail",
    "account administration"};

static const char *const consent_names[ZG_CONSENT__COUNT] = {
    "unrecorded", "consented", "partially-consented", "pending", "withdrawn"};

#define T(x) ZG_TIER_BIT(ZG_TIER_##x)
static const uint32_t role_tiers[ZG_ROLE__COUNT] = {
    [ZG_ROLE_ADMIN] = T(SELF) | T(OVERVIEW) | T(ADMIN),
    [ZG_ROLE_OPERATOR] =
        T(SELF) | T(OVERVIEW) | T(AGGREGATE) | T(DETAILED_GENOME) | T(DETAILED_CLINICAL),
    [ZG_ROLE_CLINICIAN] = T(SELF) | T(OVERVIEW) | T(AGGREGATE) | T(DETAILED_GENOME) |
                          T(DETAILED_CLINICAL) | T(IDENTIFIABLE),
    [ZG_ROLE_HOSPITAL_DATA] = T(SELF) | T(OVERVIEW) | T(DETAILED_CLINICAL) | T(IDENTIFIABLE),
    [ZG_ROLE_SEQUENCER] = T(SELF) | T(OVERVIEW) | T(DETAILED_GENOME),
    [ZG_ROLE_ACADEMIC] = T(SELF) | T(OVERVIEW) | T(AGGREGATE),
    [ZG_ROLE_INDUSTRY] = T(SELF) | T(OVERVIEW) | T(AGGREGATE),
    [ZG_ROLE_DAC] = T(SELF) | T(OVERVIEW) | T(AGGREGATE),
    [ZG_ROLE_AUDITOR] = T(SELF) | T(OVERVIEW) | T(AUDIT),
    [ZG_ROLE_PARTICIPANT] = T(SELF),
};
/* tiers that demand a second factor */
static const uint32_t mfa_tiers =
    T(DETAILED_GENOME) | T(DETAILED_CLINICAL) | T(IDENTIFIABLE) | T(AUDIT) | T(ADMIN);
#undef T

const char *zg_role_name(enum zg_role r)
{
    return (unsigned)r < ZG_ROLE__COUNT ? role_names[r] : "unknown";
}

const char *zg_role_title(enum zg_role r)
{
    return (unsigned)r < ZG_ROLE__COUNT ? role_titles[r] : "unknown role";
}

int zg_role_parse(const char *s, enum zg_role *out)
{
    for (int i = 0; s && i < ZG_ROLE__COUNT; i++)
        if (!strcmp(s, role_names[i])) {
            *out = (enum zg_role)i;
            return 0;
        }
    return ZG_EINVAL;
}

const char *zg_tier_name(enum zg_tier t)
{
    return (unsigned)t < ZG_TIER__COUNT ? tier_names[t] : "unknown";
}

const char *zg_tier_title(enum zg_tier t)
{
    return (unsigned)t < ZG_TIER__COUNT ? tier_titles[t] : "unknown data";
}

int zg_tier_parse(const char *s, enum zg_tier *out)
{
    for (int i = 0; s && i < ZG_TIER__COUNT; i++)
        if (!strcmp(s, tier_names[i])) {
            *out = (enum zg_tier)i;
            return 0;
        }
    return ZG_EINVAL;
}

const char *zg_consent_name(enum zg_consent s)
{
    return (unsigned)s < ZG_CONSENT__COUNT ? consent_names[s] : "unknown";
}

int zg_consent_parse(const char *s, enum zg_consent *out)
{
    for (int i = 0; s && i < ZG_CONSENT__COUNT; i++)
        if (!strcmp(s, consent_names[i])) {
            *out = (enum zg_consent)i;
            return 0;
        }
    return ZG_EINVAL;
}

int zg_tier_parse_list(const char *s, uint32_t *mask, char *bad, size_t badsz)
{
    uint32_t m = 0;
    const char *p = s;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char name[32];
        enum zg_tier t;
        if (n == 0 || n >= sizeof(name)) {
            snprintf(bad, badsz, "%.*s", (int)(n < 31 ? n : 31), p);
            return ZG_EINVAL;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        if (zg_tier_parse(name, &t) || t == ZG_TIER_PUBLIC) {
            snprintf(bad, badsz, "%s", name);
            return ZG_EINVAL;
        }
        m |= ZG_TIER_BIT(t);
        p = e ? e + 1 : NULL;
    }
    if (!m) {
        snprintf(bad, badsz, "(empty)");
        return ZG_EINVAL;
    }
    *mask = m;
    return 0;
}

uint32_t zg_policy_role_tiers(enum zg_role role)
{
    return (unsigned)role < ZG_ROLE__COUNT ? role_tiers[role] : 0;
}

bool zg_policy_role_requires_mfa(enum zg_role role)
{
    return (zg_policy_role_tiers(role) & mfa_tiers) != 0;
}

static void deny(struct zg_decision *out, const char *code, const char *reason)
{
    out->allow = false;
    out->code = code;
    snprintf(out->reason, sizeof(out->reason), "%s", reason);
}

void zg_policy_decide(const struct zg_policy_config *cfg, const struct zg_policy_request *req,
                      struct zg_decision *out)
{
    memset(out, 0, sizeof(*out));
    out->k_min = cfg && cfg->k_min > 0 ? cfg->k_min : 5;
    enum zg_tier tier = req->tier;
    if ((unsigned)tier >= ZG_TIER__COUNT) {
        deny(out, "forbidden", "this resource has no known data tier");
        return;
    }
    if (tier == ZG_TIER_PUBLIC) {
        out->allow = true;
        out->code = "allow";
        snprintf(out->reason, sizeof(out->reason), "public");
        return;
    }
    const struct zg_identity *who = req->who;
    if (!who || who->kind == ZG_AUTH_NONE) {
        out->allow = false;
        out->code = "unauthenticated";
        snprintf(out->reason, sizeof(out->reason), "sign in or present an API token to access %s",
                 zg_tier_title(tier));
        return;
    }
    uint32_t bit = ZG_TIER_BIT(tier);
    uint32_t allowed = zg_policy_role_tiers(who->role);
    if (!(allowed & bit)) {
        const char *hint = "";
        if (tier == ZG_TIER_DETAILED_GENOME || tier == ZG_TIER_DETAILED_CLINICAL)
            hint = "; detailed data needs an approved data-access application";
        char role[96];
        snprintf(role, sizeof(role), "%s", zg_role_title(who->role));
        out->allow = false;
        out->code = "forbidden";
        snprintf(out->reason, sizeof(out->reason), "the role '%s' may not access %s%s", role,
                 zg_tier_title(tier), hint);
        return;
    }
    /* A token may always list and poll the jobs it submitted (resource "job", tier self): each
     * job is then shown only if this decision point allows the job's own tier to the caller
     * (svc/jobs.c asks again per tier), so the token's scopes still bound what it reads. */
    bool own_jobs = tier == ZG_TIER_SELF && req->resource_kind &&
                    !strcmp(req->resource_kind, "job");
    if (who->kind == ZG_AUTH_TOKEN && !(who->scopes & bit) && !own_jobs) {
        out->allow = false;
        out->code = "token-scope";
        snprintf(out->reason, sizeof(out->reason),
                 "the API token '%s' is not scoped for %s (tier '%s')", who->token_name,
                 zg_tier_title(tier), zg_tier_name(tier));
        return;
    }
    /* Roles that can reach sensitive tiers must have used a second factor for anything but
     * their own account (where they enrol it). */
    if (zg_policy_role_requires_mfa(who->role) && tier != ZG_TIER_SELF && !who->mfa) {
        deny(out, "mfa-required",
             "multi-factor authentication is required for this role: enrol an authenticator "
             "on your account page and sign in again");
        return;
    }
    out->allow = true;
    out->code = "allow";
    snprintf(out->reason, sizeof(out->reason), "role '%s' may access %s", zg_role_name(who->role),
             zg_tier_title(tier));
    if (tier == ZG_TIER_AGGREGATE &&
        (who->role == ZG_ROLE_ACADEMIC || who->role == ZG_ROLE_INDUSTRY || who->role == ZG_ROLE_DAC))
        out->obligations |= ZG_OBL_SUPPRESS_SMALL;
    if ((who->role == ZG_ROLE_CLINICIAN || who->role == ZG_ROLE_HOSPITAL_DATA ||
         who->role == ZG_ROLE_SEQUENCER) &&
        (tier == ZG_TIER_DETAILED_CLINICAL || tier == ZG_TIER_DETAILED_GENOME ||
         tier == ZG_TIER_IDENTIFIABLE)) {
        out->obligations |= ZG_OBL_OWN_ORG;
        out->org_id = who->org_id;
    }
    if (who->role == ZG_ROLE_PARTICIPANT)
        out->obligations |= ZG_OBL_OWN_PARTICIPANT;
    /* The permitted case set for data about cases: research use needs recorded consent. A
     * partial consent covers counts (overview, aggregate), not per-case data. */
    bool case_data = tier == ZG_TIER_OVERVIEW || tier == ZG_TIER_AGGREGATE ||
                     tier == ZG_TIER_DETAILED_GENOME || tier == ZG_TIER_DETAILED_CLINICAL;
    if (case_data && who->role != ZG_ROLE_OPERATOR && who->role != ZG_ROLE_PARTICIPANT &&
        !(out->obligations & ZG_OBL_OWN_ORG)) {
        out->obligations |= ZG_OBL_CONSENT;
        out->consent = ZG_CONSENT_BIT(ZG_CONSENT_CONSENTED);
        if (tier == ZG_TIER_OVERVIEW || tier == ZG_TIER_AGGREGATE)
            out->consent |= ZG_CONSENT_BIT(ZG_CONSENT_PARTIAL);
    }
}
