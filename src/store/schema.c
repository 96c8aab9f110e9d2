/* Numbered schema migrations of each database. Append only: never edit a released migration.
 * The owning module is named first in each migration's name. */
#include "schema.h"

static const struct zg_migration main_migrations[] = {
    {1, "auth: organisations, users, recovery codes, sessions, API tokens",
     "CREATE TABLE orgs("
     " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
     " type TEXT NOT NULL CHECK(type IN ('hospital','sequencing','datacenter','academia',"
     "'industry')),"
     " created_at INTEGER NOT NULL);"
     "CREATE TABLE users("
     " id INTEGER PRIMARY KEY, login TEXT NOT NULL UNIQUE,"
     " org_id INTEGER NOT NULL REFERENCES orgs(id),"
     " role TEXT NOT NULL CHECK(role IN ('admin','operator','clinician','hospital-data',"
     "'sequencer','academic','industry','dac','auditor','participant')),"
     " pw_hash TEXT NOT NULL,"
     " totp_secret_enc TEXT,"         /* confirmed TOTP secret, encrypted with data_key */
     " totp_pending_enc TEXT,"        /* secret being enrolled, until confirmed */
     " totp_last_step INTEGER NOT NULL DEFAULT 0," /* replay protection */
     " failed_logins INTEGER NOT NULL DEFAULT 0,"
     " locked_until INTEGER NOT NULL DEFAULT 0,"
     " disabled INTEGER NOT NULL DEFAULT 0,"
     " participant_id TEXT,"
     " created_at INTEGER NOT NULL, pw_changed_at INTEGER NOT NULL);"
     "CREATE TABLE recovery_codes("
     " user_id INTEGER NOT NULL REFERENCES users(id), code_hash TEXT NOT NULL,"
     " used_at INTEGER, PRIMARY KEY(user_id, code_hash));"
     "CREATE TABLE sessions("
     " id INTEGER PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,"
     " user_id INTEGER NOT NULL REFERENCES users(id), csrf TEXT NOT NULL,"
     " mfa INTEGER NOT NULL, created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL,"
     " expires_at INTEGER NOT NULL, ip TEXT, user_agent TEXT, revoked_at INTEGER);"
     "CREATE INDEX sessions_user ON sessions(user_id);"
     "CREATE TABLE api_tokens("
     " id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
     " name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL,"
     " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, last_used_at INTEGER,"
     " revoked_at INTEGER, created_by INTEGER, mfa INTEGER NOT NULL DEFAULT 1);"
     "CREATE INDEX api_tokens_user ON api_tokens(user_id);"},
    {2, "ids: participants, cases, specimens (pseudonymous IDs only)",
     "CREATE TABLE participants(id TEXT PRIMARY KEY, created_at INTEGER NOT NULL);"
     "CREATE TABLE cases("
     " id TEXT PRIMARY KEY, participant_id TEXT REFERENCES participants(id),"
     " org_id INTEGER NOT NULL REFERENCES orgs(id), created_at INTEGER NOT NULL,"
     " created_by INTEGER);"
     "CREATE INDEX cases_org ON cases(org_id);"
     "CREATE INDEX cases_participant ON cases(participant_id);"
     "CREATE TABLE specimens("
     " id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES cases(id),"
     " type TEXT NOT NULL, created_at INTEGER NOT NULL);"
     "CREATE INDEX specimens_case ON specimens(case_id, created_at, id);"},
/* Domains keep their schema beside their code; each file holds one numbered migration entry.
 * Versions are fixed: 3 = clinical, 4 = genome; 5 = jobs; later migrations continue from 6. */
#if __has_include("clinical/schema.inc")
#include "clinical/schema.inc"
#endif
#if __has_include("genome/schema.inc")
#include "genome/schema.inc"
#endif
    {5, "svc: background jobs (variant import, coverage QC) with the submitter's identity",
     "CREATE TABLE jobs("
     " id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
     " state TEXT NOT NULL CHECK(state IN ('queued','running','succeeded','failed')),"
     " params TEXT NOT NULL, progress TEXT, result TEXT, error TEXT,"
     " tier INTEGER NOT NULL," /* data tier of the submitting route: reading the job needs it */
     " attempts INTEGER NOT NULL DEFAULT 0,"
     " user_id INTEGER NOT NULL, login TEXT NOT NULL, role TEXT NOT NULL,"
     " org_id INTEGER NOT NULL, org_name TEXT NOT NULL,"
     " created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,"
     " updated_at INTEGER NOT NULL);"
     "CREATE INDEX jobs_queue ON jobs(state, created_at);"
     "CREATE INDEX jobs_user ON jobs(user_id, created_at);"},
#if __has_include("genome/schema_sites.inc")
#include "genome/schema_sites.inc"
#endif
#if __has_include("genome/schema_changes.inc")
#include "genome/schema_changes.inc"
#endif
#if __has_include("genome/schema_slim.inc")
#include "genome/schema_slim.inc"
#endif
};

static const struct zg_migration audit_migrations[] = {
    {1, "audit: append-only hash-chained events",
     "CREATE TABLE audit_events("
     " seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, body TEXT NOT NULL,"
     " prev_hash TEXT NOT NULL, hash TEXT NOT NULL,"
     " user TEXT, action TEXT);" /* copies of body fields for filtering; verify checks them */
     "CREATE INDEX audit_events_user ON audit_events(user, seq);"
     "CREATE INDEX audit_events_action ON audit_events(action, seq);"
     "CREATE TABLE audit_data(seq INTEGER NOT NULL, data_id TEXT NOT NULL);"
     "CREATE INDEX audit_data_id ON audit_data(data_id, seq);"
     "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events"
     " BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"
     "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events"
     " BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"
     "CREATE TRIGGER audit_data_no_update BEFORE UPDATE ON audit_data"
     " BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"
     "CREATE TRIGGER audit_data_no_delete BEFORE DELETE ON audit_data"
     " BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"},
};

static const struct zg_migration linkage_migrations[] = {
    {1, "ids: linkage of hospital patient IDs to pseudonymous participants",
     "CREATE TABLE linkage("
     " id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL,"
     " lookup_hash TEXT NOT NULL UNIQUE," /* HMAC(lookup_key, org_id, local id) */
     " local_id_enc TEXT NOT NULL,"       /* AEAD(data_key, local id) */
     " participant_id TEXT NOT NULL,"
     " link_hash TEXT NOT NULL,"          /* HMAC(linkage_key, org name, local id) */
     " project TEXT NOT NULL DEFAULT 'cancer',"
     " created_at INTEGER NOT NULL);"
     "CREATE INDEX linkage_participant ON linkage(participant_id);"
     "CREATE INDEX linkage_link ON linkage(link_hash);"},
};

const struct zg_migration *zg_schema_migrations(enum zg_dbname which, size_t *n)
{
    switch (which) {
    case ZG_DB_MAIN:
        *n = ZG_ARRAY_LEN(main_migrations);
        return main_migrations;
    case ZG_DB_AUDIT:
        *n = ZG_ARRAY_LEN(audit_migrations);
        return audit_migrations;
    case ZG_DB_LINKAGE:
        *n = ZG_ARRAY_LEN(linkage_migrations);
        return linkage_migrations;
    }
    *n = 0;
    return NULL;
}
