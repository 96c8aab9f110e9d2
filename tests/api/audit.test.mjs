// Audit trail: every login (success and failure) and every denial is an audit event an auditor
// can read; events never contain passwords, tokens, session ids or CSRF tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, addUser, totp } from '../lib/zengen.mjs';
import { call, tryLogin, loginOk, cliToken, auditEvents, auditHead, wrongCode } from './util.mjs';

let srv, auditor, aud, clin, acad;
const secrets = [];
const DENY = /deny|denied|fail|forbid|reject|error|refus/i;
const ALLOW = /allow|success|succeed|ok|grant|permit/i;

before(async () => {
  srv = await startServer();
  auditor = addUser(srv.dataDir, 'audauditor', 'auditor', 'DC', 'datacenter');
  clin = addUser(srv.dataDir, 'audclin', 'clinician', 'Hosp', 'hospital');
  acad = addUser(srv.dataDir, 'audacad', 'academic', 'Univ', 'academia');
  const tok = cliToken(srv.dataDir, auditor.login, 'audit-reader');
  aud = { token: tok };
  secrets.push(auditor.password, clin.password, acad.password, tok);
});
after(async () => { await srv?.stop(); });

/**
 * Events appended by fn(), excluding the auditor's own reads of the audit log. Events of reads
 * and denials are group-committed shortly after the response, so poll until until(events)
 * holds (at most 3 s), then return what is there.
 */
async function newEvents(fn, until = () => true) {
  const head = await auditHead(srv.url, aud);
  await fn();
  let evs;
  for (const deadline = Date.now() + 3000; ;) {
    evs = (await auditEvents(srv.url, aud, { after: head })).filter((e) => !/^audit\./.test(e.action));
    if (until(evs) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const e of evs) {
    assert.equal(typeof e.action, 'string', `action in ${JSON.stringify(e)}`);
    assert.equal(typeof e.outcome, 'string', `outcome in ${JSON.stringify(e)}`);
    if (e.method) assert.equal(typeof e.status, 'number', `status in HTTP event ${JSON.stringify(e)}`);
    assert.ok(e.seq > head, 'seq increases');
  }
  return evs;
}

test('audit events page with after/next_after and limit, in increasing seq', async () => {
  const all = await auditEvents(srv.url, aud);
  assert.ok(all.length > 0);
  for (let i = 1; i < all.length; i++) assert.ok(all[i].seq > all[i - 1].seq, 'strictly increasing seq');
  const r = await call(srv.url, '/api/v1/audit/events?after=0&limit=1', aud);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.events.length, 1);
  assert.equal(r.json.next_after, r.json.events[0].seq);
});

test('successful login is audited (outcome success, status 200)', async () => {
  const evs = await newEvents(async () => { await loginOk(srv.url, clin); },
    (es) => es.some((x) => /login/i.test(x.action) && x.status === 200));
  const e = evs.find((x) => /login/i.test(x.action) && x.status === 200);
  assert.ok(e, `login success event among ${JSON.stringify(evs)}`);
  assert.match(e.outcome, ALLOW);
});

test('failed logins (wrong password, wrong TOTP, unknown user) are audited with status 401', async () => {
  const u = addUser(srv.dataDir, 'audfail', 'clinician', 'Hosp', 'hospital');
  secrets.push(u.password, 'Wr0ng-Passw0rd-Secret!');
  const evs = await newEvents(async () => {
    assert.equal((await tryLogin(srv.url, u, { password: 'Wr0ng-Passw0rd-Secret!', totp: totp(u.totp_secret) })).status, 401);
    assert.equal((await tryLogin(srv.url, u, { totp: wrongCode(u.totp_secret) })).status, 401);
    assert.equal((await tryLogin(srv.url, { login: 'ghost-user', password: 'Wr0ng-Passw0rd-Secret!' }, { totp: '000000' })).status, 401);
  }, (es) => es.filter((x) => /login/i.test(x.action) && x.status === 401).length >= 3);
  const fails = evs.filter((x) => /login/i.test(x.action) && x.status === 401);
  assert.equal(fails.length, 3, `three failed-login events: ${JSON.stringify(evs)}`);
  for (const e of fails) assert.match(e.outcome, DENY);
  const byUser = await auditEvents(srv.url, aud, { user: u.login });
  assert.ok(byUser.filter((x) => /login/i.test(x.action) && x.status === 401).length >= 2, '?user= filter finds the failed logins');
});

test('lockout (429) is audited', async () => {
  const u = addUser(srv.dataDir, 'audlock', 'clinician', 'Hosp', 'hospital');
  secrets.push(u.password);
  const evs = await newEvents(async () => {
    for (let i = 0; i < 6; i++) await tryLogin(srv.url, u, { password: `bad-password-${i}-x`, totp: totp(u.totp_secret) });
  }, (es) => es.some((x) => x.status === 429));
  assert.ok(evs.some((x) => /login/i.test(x.action) && x.status === 429), `429 event: ${JSON.stringify(evs)}`);
});

test('policy denial (403) and missing credentials (401) are audited', async () => {
  const s = await loginOk(srv.url, acad);
  secrets.push(s.cookie.split('=')[1], s.csrf);
  const evs = await newEvents(async () => {
    assert.equal((await call(srv.url, '/api/v1/cases', { cookie: s.cookie })).status, 403);
    assert.equal((await call(srv.url, '/api/v1/cases')).status, 401);
  }, (es) => es.some((x) => x.status === 403) && es.some((x) => x.status === 401));
  const d = evs.find((x) => x.status === 403);
  assert.ok(d, `403 event: ${JSON.stringify(evs)}`);
  assert.match(d.outcome, DENY);
  const un = evs.find((x) => x.status === 401);
  assert.ok(un, `401 event: ${JSON.stringify(evs)}`);
  assert.match(un.outcome, DENY);
});

test('CSRF and scope denials are audited', async () => {
  const s = await loginOk(srv.url, clin, { totp: totp(clin.totp_secret, Date.now(), 1) });
  secrets.push(s.cookie.split('=')[1], s.csrf);
  const ov = cliToken(srv.dataDir, clin.login, 'ov', { scope: 'overview' });
  secrets.push(ov);
  const evs = await newEvents(async () => {
    assert.equal((await call(srv.url, '/api/v1/me/tokens', { cookie: s.cookie, body: { name: 'x' } })).status, 403);
    assert.equal((await call(srv.url, '/api/v1/cases', { token: ov })).status, 403);
  }, (es) => es.filter((x) => x.status === 403).length >= 2);
  assert.equal(evs.filter((x) => x.status === 403).length, 2, `two 403 events: ${JSON.stringify(evs)}`);
});

test('a created token\'s secret never reaches the audit log', async () => {
  const maker = cliToken(srv.dataDir, clin.login, 'maker');
  secrets.push(maker);
  const r = await call(srv.url, '/api/v1/me/tokens', { token: maker, body: { name: 'fresh' } });
  assert.equal(r.status, 201, r.text);
  secrets.push(r.json.token);
});

test('no password, token, session id or CSRF token appears in any audit event', async () => {
  const all = await auditEvents(srv.url, aud);
  const text = JSON.stringify(all);
  for (const s of secrets) {
    assert.ok(s && s.length >= 8);
    assert.ok(!text.includes(s), `audit log leaks a secret (${s.slice(0, 6)}…)`);
  }
  assert.doesNotMatch(text, /zgt_[A-Za-z0-9]{8,}/, 'no bearer token material');
});
