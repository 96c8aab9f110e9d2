// Hash-chained audit log: `zengen audit verify` and GET /api/v1/audit/verify detect an edited
// event and a deleted event in <dataDir>/audit.db, naming the first bad seq.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, addUser, cliRaw } from '../lib/zengen.mjs';
import { call, cliToken, auditEvents } from './util.mjs';

let srv, base, auditor, token, lastSeq;
const work = mkdtempSync(join(tmpdir(), 'zg-tamper-'));

const sql = (db, q) => execFileSync('sqlite3', [db, q], { encoding: 'utf8' });

before(async () => {
  srv = await startServer({ dataDir: join(work, 'live') }); // ours: stop() keeps it
  auditor = addUser(srv.dataDir, 'tamperaud', 'auditor', 'DC', 'datacenter');
  token = cliToken(srv.dataDir, auditor.login, 'verify');
  // produce a few dozen events: allowed reads, denials, unauthenticated calls
  for (let i = 0; i < 8; i++) {
    await call(srv.url, '/api/v1/auth/session', { token });
    await call(srv.url, '/api/v1/cases', { token });
    await call(srv.url, '/api/v1/cases');
  }
  // read events are group-committed just after their responses: wait until they are durable
  const deadline = Date.now() + 10000;
  for (;;) {
    const evs = await auditEvents(srv.url, { token });
    lastSeq = evs[evs.length - 1].seq;
    if (lastSeq >= 20 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(lastSeq >= 20, `enough events (${lastSeq})`);
  await srv.stop(); // the server must be down while we edit its files
  base = join(work, 'base');
  cpSync(srv.dataDir, base, { recursive: true });
  rmSync(srv.dataDir, { recursive: true });
});
after(async () => { await srv?.stop(); rmSync(work, { recursive: true, force: true }); });

/** Copy of the pristine data directory, with append-only triggers dropped. */
function copy(name) {
  const dir = join(work, name);
  cpSync(base, dir, { recursive: true });
  const db = join(dir, 'audit.db');
  for (const t of sql(db, "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_events';").split('\n').filter(Boolean)) {
    sql(db, `DROP TRIGGER IF EXISTS "${t}";`);
  }
  return { dir, db };
}

function seqColumn(db) {
  const cols = sql(db, 'PRAGMA table_info(audit_events);').split('\n').filter(Boolean).map((l) => l.split('|')[1]);
  assert.ok(cols.includes('seq'), `audit_events has a seq column: ${cols}`);
  return cols;
}

function verifyCli(dir) {
  const r = cliRaw(dir, ['audit', 'verify']);
  return { ...r, out: `${r.stdout}\n${r.stderr}` };
}

test('audit.db holds the audit_events table with a seq column', () => {
  const db = join(base, 'audit.db');
  assert.match(sql(db, '.schema audit_events'), /CREATE TABLE[^(]*audit_events/i);
  seqColumn(db);
  assert.ok(Number(sql(db, 'SELECT max(seq) FROM audit_events;').trim()) >= lastSeq, 'every event the API showed is in the file');
});

test('untouched data directory: zengen audit verify exits 0', () => {
  const r = verifyCli(base);
  assert.equal(r.status, 0, r.out);
});

test('an edited event: verify exits non-zero and names its seq (CLI and API)', async () => {
  const { dir, db } = copy('edited');
  const cols = seqColumn(db);
  const seq = Math.floor(lastSeq / 2) + 1;
  // Events are either one JSON `body` column or separate columns; flip the outcome either way.
  const set = cols.includes('body') && !cols.includes('outcome')
    ? "body=json_set(body,'$.outcome','tampered')"
    : "outcome='tampered'";
  const orig = sql(db, `SELECT * FROM audit_events WHERE seq=${seq};`);
  sql(db, `UPDATE audit_events SET ${set} WHERE seq=${seq};`);
  const afterEdit = sql(db, `SELECT * FROM audit_events WHERE seq=${seq};`);
  assert.notEqual(afterEdit, orig, 'edit applied');
  assert.match(afterEdit, /tampered/);
  const r = verifyCli(dir);
  assert.notEqual(r.status, 0, `verify should fail: ${r.out}`);
  assert.match(r.out, new RegExp(`\\b${seq}\\b`), `names seq ${seq}: ${r.out}`);

  const s = await startServer({ dataDir: dir, init: false });
  try {
    const v = await call(s.url, '/api/v1/audit/verify', { token });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.ok, false);
    assert.equal(v.json.first_bad_seq, seq);
    assert.equal(typeof v.json.reason, 'string');
  } finally { await s.stop(); }
});

test('a deleted middle event: verify exits non-zero and names the gap', () => {
  const { dir, db } = copy('deleted');
  seqColumn(db);
  const seq = Math.floor(lastSeq / 2);
  sql(db, `DELETE FROM audit_events WHERE seq=${seq};`);
  const r = verifyCli(dir);
  assert.notEqual(r.status, 0, `verify should fail: ${r.out}`);
  assert.match(r.out, new RegExp(`\\b(${seq}|${seq + 1})\\b`), `names seq ${seq} (or the next one): ${r.out}`);
});

test('two events swapped (reordering): verify exits non-zero and names the first', () => {
  const { dir, db } = copy('swapped');
  seqColumn(db);
  const a = Math.floor(lastSeq / 3);
  // swap two events' seq numbers (reordering)
  sql(db, `UPDATE audit_events SET seq=-1 WHERE seq=${a}; UPDATE audit_events SET seq=${a} WHERE seq=${a + 1}; UPDATE audit_events SET seq=${a + 1} WHERE seq=-1;`);
  const r = verifyCli(dir);
  assert.notEqual(r.status, 0, `verify should fail after reordering: ${r.out}`);
  assert.match(r.out, new RegExp(`\\b${a}\\b`), `names seq ${a}: ${r.out}`);
});
