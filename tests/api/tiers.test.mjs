// Tiers and roles: the policy denies with 403 forbidden + a readable reason; no credentials → 401.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, addUser } from '../lib/zengen.mjs';
import { call, assertProblem, assertSchema, cliToken, loginOk } from './util.mjs';

let srv, academic, admin, auditor, clinician;
before(async () => {
  srv = await startServer();
  academic = addUser(srv.dataDir, 'tieracad', 'academic', 'Univ', 'academia');
  admin = addUser(srv.dataDir, 'tieradmin', 'admin', 'DC', 'datacenter');
  auditor = addUser(srv.dataDir, 'tieraudit', 'auditor', 'DC', 'datacenter');
  clinician = addUser(srv.dataDir, 'tierclin', 'clinician', 'Hosp', 'hospital');
});
after(async () => { await srv?.stop(); });

function assertReadableDeny(r) {
  const p = assertProblem(r, 403, 'forbidden');
  assert.equal(typeof p.detail, 'string');
  assert.ok(p.detail.length >= 10 && /[a-z]{3,} [a-z]{2,}/i.test(p.detail), `readable reason: ${p.detail}`);
  return p;
}

test('unauthenticated calls → 401 unauthenticated', async () => {
  for (const path of ['/api/v1/cases', '/api/v1/auth/session', '/api/v1/audit/events', '/api/v1/orgs', '/api/v1/users']) {
    assertProblem(await call(srv.url, path), 401, 'unauthenticated');
  }
  assertProblem(await call(srv.url, '/api/v1/cases', { body: {} }), 401, 'unauthenticated');
  assertProblem(await call(srv.url, '/api/v1/auth/session', { cookie: 'zg_session=bogus' }), 401, 'unauthenticated');
});

test('academic (session) GET /api/v1/cases → 403 forbidden with a readable detail', async () => {
  const s = await loginOk(srv.url, academic);
  const who = await call(srv.url, '/api/v1/auth/session', { cookie: s.cookie });
  assert.deepEqual([...who.json.tiers].sort(), ['aggregate', 'overview', 'self']);
  assertReadableDeny(await call(srv.url, '/api/v1/cases', { cookie: s.cookie }));
  assert.equal((await call(srv.url, '/api/v1/stats/overview', { cookie: s.cookie })).status, 200, 'overview allowed');
  assert.equal((await call(srv.url, '/api/v1/orgs', { cookie: s.cookie })).status, 200, 'orgs (overview) allowed');
});

test('academic (token) is denied detailed-clinical, identifiable, audit and admin routes', async () => {
  const tok = cliToken(srv.dataDir, academic.login, 'acad');
  assertReadableDeny(await call(srv.url, '/api/v1/cases', { token: tok }));
  assertReadableDeny(await call(srv.url, '/api/v1/cases', { token: tok, body: {} }));
  assertReadableDeny(await call(srv.url, '/api/v1/linkage', { token: tok, body: { local_patient_id: 'P-1' } }));
  assertReadableDeny(await call(srv.url, '/api/v1/audit/events', { token: tok }));
  assertReadableDeny(await call(srv.url, '/api/v1/users', { token: tok }));
  assertReadableDeny(await call(srv.url, '/api/v1/orgs', { token: tok, body: { name: 'X', type: 'academia' } }));
});

test('admin GET /api/v1/audit/events → 403 forbidden; admin routes allowed', async () => {
  const s = await loginOk(srv.url, admin);
  assertReadableDeny(await call(srv.url, '/api/v1/audit/events', { cookie: s.cookie }));
  assertReadableDeny(await call(srv.url, '/api/v1/audit/verify', { cookie: s.cookie }));
  assertReadableDeny(await call(srv.url, '/api/v1/cases', { cookie: s.cookie }));
  const users = await call(srv.url, '/api/v1/users', { cookie: s.cookie });
  assert.equal(users.status, 200, users.text);
  assertSchema('UserList', users.json);
  assert.ok(users.json.users.some((u) => u.login === academic.login));
  assert.ok(!users.text.includes(academic.password), 'no passwords in the user list');
  const one = await call(srv.url, `/api/v1/users/${academic.login}`, { cookie: s.cookie });
  assert.equal(one.status, 200, one.text);
  assertSchema('User', one.json);
  assert.equal(one.json.role, 'academic');
  assertProblem(await call(srv.url, '/api/v1/users/no-such-user', { cookie: s.cookie }), 404, 'not-found');
});

test('auditor can read audit events and verify the chain', async () => {
  const s = await loginOk(srv.url, auditor);
  const r = await call(srv.url, '/api/v1/audit/events?limit=5', { cookie: s.cookie });
  assert.equal(r.status, 200, r.text);
  assertSchema('AuditEventList', r.json);
  assert.ok(r.json.events.length > 0 && r.json.events.length <= 5, 'limit honoured');
  const v = await call(srv.url, '/api/v1/audit/verify', { cookie: s.cookie });
  assert.equal(v.status, 200, v.text);
  assertSchema('AuditVerify', v.json);
  assert.equal(v.json.ok, true);
  assert.ok(v.json.events > 0);
  assertReadableDeny(await call(srv.url, '/api/v1/cases', { cookie: s.cookie }));
  assertReadableDeny(await call(srv.url, '/api/v1/users', { cookie: s.cookie }));
});

test('clinician can create and read cases of their org', async () => {
  const tok = cliToken(srv.dataDir, clinician.login, 'clin');
  const c = await call(srv.url, '/api/v1/cases', { token: tok, body: {} });
  assert.equal(c.status, 201, c.text);
  assertSchema('Case', c.json);
  const list = await call(srv.url, '/api/v1/cases', { token: tok });
  assert.equal(list.status, 200, list.text);
  assertSchema('CaseList', list.json);
  assert.ok(list.json.cases.some((x) => x.id === c.json.id));
  const sp = await call(srv.url, `/api/v1/cases/${c.json.id}/specimens`, { token: tok, body: { type: 'tumour-tissue' } });
  assert.equal(sp.status, 201, sp.text);
  assertSchema('Specimen', sp.json);
  assert.equal(sp.json.case_id, c.json.id);
  const one = await call(srv.url, `/api/v1/cases/${c.json.id}`, { token: tok });
  assert.equal(one.status, 200, one.text);
  assertSchema('CaseDetail', one.json);
  assert.ok(one.json.specimens.some((x) => x.id === sp.json.id));
});

test('hospital roles see only their own org\'s cases', async () => {
  const other = addUser(srv.dataDir, 'tierclin2', 'clinician', 'Hosp2', 'hospital');
  const t1 = cliToken(srv.dataDir, clinician.login, 'c1');
  const t2 = cliToken(srv.dataDir, other.login, 'c2');
  const c = await call(srv.url, '/api/v1/cases', { token: t1, body: {} });
  assert.equal(c.status, 201, c.text);
  const list = await call(srv.url, '/api/v1/cases', { token: t2 });
  assert.equal(list.status, 200, list.text);
  assert.ok(!list.json.cases.some((x) => x.id === c.json.id), 'other hospital\'s case not listed');
  const one = await call(srv.url, `/api/v1/cases/${c.json.id}`, { token: t2 });
  assert.ok([403, 404].includes(one.status), `other hospital's case: ${one.status}`);
});
