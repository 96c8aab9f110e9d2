// Secret-sharing storage of the linkage keys (M18): `zengen linkage-key split` leaves the keys
// only in k-of-n share files; a server on that data directory refuses to link hospital patient
// IDs (503 problem) until k key holders have each submitted a share (admin API); the recovered
// keys are the same keys (a patient linked before the split maps to the same participant);
// bad or foreign shares are refused; after a restart the store is sealed again; `zengen
// linkage-key restore` puts the keys back on disk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, addUser, cli, cliRaw } from '../lib/zengen.mjs';
import { call, assertProblem, assertSchema, cliToken, auditEvents } from './util.mjs';

const root = mkdtempSync(join(tmpdir(), 'zg-keys-'));
const dataDir = join(root, 'data');
const shareDir = join(root, 'shares');
let srv, tokAdmin, tokHosp, tokAud, before1;

const shareOf = (x) => readFileSync(join(shareDir, `zengen-linkage-share-${x}-of-3.txt`), 'utf8')
  .split('\n').find((l) => l.startsWith('zgs1-'));
const link = (id) => call(srv.url, '/api/v1/linkage', { token: tokHosp, body: { local_patient_id: id } });
const unseal = (share, token = tokAdmin) => call(srv.url, '/api/v1/admin/linkage/unseal', { token, body: { share } });

before(async () => {
  srv = await startServer({ dataDir });
  addUser(dataDir, 'keyadmin', 'admin', 'DC', 'datacenter');
  addUser(dataDir, 'keyhosp', 'hospital-data', 'Key Hospital', 'hospital');
  addUser(dataDir, 'keyaud', 'auditor', 'DC', 'datacenter');
  tokAdmin = cliToken(dataDir, 'keyadmin', 'admin');
  tokHosp = cliToken(dataDir, 'keyhosp', 'hosp');
  tokAud = cliToken(dataDir, 'keyaud', 'aud');
  const r = await link('HOSP-0001');
  assert.equal(r.status, 201, r.text);
  before1 = r.json.participant_id;
  const st = await call(srv.url, '/api/v1/admin/linkage', { token: tokAdmin });
  assertSchema('LinkageKeys', st.json);
  assert.equal(st.json.sealed, false);
  await srv.stop();
  assert.match(cli(dataDir, ['linkage-key', 'status']), /not sealed/);
  mkdirSync(shareDir);
  const out = cli(dataDir, ['linkage-key', 'split', '--threshold', '2', '--shares', '3', '--out', shareDir]);
  assert.match(out, /into 3 shares \(any 2 recover them\)/);
  srv = await startServer({ dataDir, init: false });
});
after(async () => {
  await srv?.stop();
  rmSync(root, { recursive: true, force: true });
});

test('split: share files only, no key files in the data directory', () => {
  const files = readdirSync(shareDir).sort();
  assert.deepEqual(files, ['zengen-linkage-share-1-of-3.txt', 'zengen-linkage-share-2-of-3.txt', 'zengen-linkage-share-3-of-3.txt']);
  for (const f of files) assert.equal(statSync(join(shareDir, f)).mode & 0o777, 0o600);
  const keys = readdirSync(join(dataDir, 'keys')).sort();
  assert.deepEqual(keys, ['data.key', 'linkage.sealed']);
  assert.match(cli(dataDir, ['linkage-key', 'status']), /sealed: 2 of 3 key holders must unseal/);
  // splitting again is refused
  const again = cliRaw(dataDir, ['linkage-key', 'split', '--threshold', '2', '--shares', '3', '--out', shareDir]);
  assert.notEqual(again.status, 0);
});

test('sealed: linking is refused with a problem until two key holders unseal', async () => {
  assertProblem(await link('HOSP-0001'), 503, 'linkage-sealed');
  let st = (await call(srv.url, '/api/v1/admin/linkage', { token: tokAdmin })).json;
  assert.deepEqual([st.sealed, st.threshold, st.shares, st.received], [true, 2, 3, 0]);
  // not a share, a mistyped share, a share with another fingerprint
  assertProblem(await unseal('hello'), 422, 'validation');
  const s1 = shareOf(1);
  const typo = s1.slice(0, 40) + (s1[40] === 'a' ? 'b' : 'a') + s1.slice(41);
  assert.match(assertProblem(await unseal(typo), 422, 'validation').detail, /checksum/);
  assertProblem(await unseal(s1, tokHosp), 403, 'forbidden');
  let r = await unseal(s1);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.json.sealed, r.json.received], [true, 1]);
  r = await unseal(s1); // the same holder twice does not count twice
  assert.deepEqual([r.json.sealed, r.json.received], [true, 1]);
  assertProblem(await link('HOSP-0001'), 503, 'linkage-sealed');
  r = await unseal(shareOf(3));
  assert.deepEqual([r.json.sealed, r.json.received], [false, 0]);
  // the same keys: the patient linked before the split is the same participant
  const l = await link('HOSP-0001');
  assert.equal(l.status, 200, l.text);
  assert.equal(l.json.participant_id, before1);
  assert.equal(l.json.created, false);
  assert.equal((await link('HOSP-0002')).status, 201);
  assertProblem(await unseal(shareOf(2)), 409, 'conflict');
  // audited without the share
  const ev = await auditEvents(srv.url, { token: tokAud }, { action: 'linkage.keys.unseal' });
  assert.ok(ev.length >= 4);
  assert.ok(ev.every((e) => !JSON.stringify(e).includes(s1.slice(12, 60))), 'no share text in the audit trail');
});

test('a restart seals again; restore puts the keys back on disk', async () => {
  await srv.stop();
  srv = await startServer({ dataDir, init: false });
  assertProblem(await link('HOSP-0001'), 503, 'linkage-sealed');
  await srv.stop();
  const one = cliRaw(dataDir, ['linkage-key', 'restore', join(shareDir, 'zengen-linkage-share-2-of-3.txt')]);
  assert.notEqual(one.status, 0);
  assert.match(one.stderr, /2 different shares of 3 are needed/);
  cli(dataDir, ['linkage-key', 'restore', join(shareDir, 'zengen-linkage-share-2-of-3.txt'), join(shareDir, 'zengen-linkage-share-3-of-3.txt')]);
  assert.deepEqual(readdirSync(join(dataDir, 'keys')).sort(), ['data.key', 'linkage-seal.key', 'linkage.key', 'lookup.key']);
  srv = await startServer({ dataDir, init: false });
  const l = await link('HOSP-0002');
  assert.equal(l.status, 200, l.text);
  assert.equal(l.json.created, false, 'linked while unsealed, found again with the restored keys');
  assert.equal((await link('HOSP-0001')).json.participant_id, before1);
});
