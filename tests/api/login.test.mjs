// POST /api/v1/auth/login: success (cookie + csrf), wrong password, wrong/replayed/missing TOTP,
// lockout after repeated failures, disabled users; logout ends the session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, addUser, cli, totp } from '../lib/zengen.mjs';
import { call, tryLogin, loginOk, assertProblem, assertSchema, wrongCode, toMs } from './util.mjs';

let srv;
let n = 0;
const fresh = (role = 'clinician') => addUser(srv.dataDir, `login${++n}`, role, 'Hosp-A');
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

test('CLI user add prints a password and a TOTP secret', () => {
  const u = fresh();
  assert.ok(u.password && u.password.length >= 12, 'password of 12+ characters');
  assert.match(u.totp_secret, /^[A-Z2-7]{16,}=*$/, 'base32 TOTP secret');
});

test('login success → 200 {user,csrf_token,expires_at} and an HttpOnly SameSite=Strict cookie', async () => {
  const u = fresh();
  const s = await loginOk(srv.url, u);
  assertSchema('LoginResponse', s.body);
  assert.equal(s.body.user.login, u.login);
  assert.equal(s.body.user.role, 'clinician');
  assert.ok(s.csrf.length >= 16, 'csrf_token is a long random value');
  assert.ok(toMs(s.body.expires_at) > Date.now(), 'expires_at in the future');
  const attrs = s.setCookie.split(';').map((x) => x.trim().toLowerCase());
  assert.ok(attrs.includes('httponly'), `HttpOnly in ${s.setCookie}`);
  assert.ok(attrs.includes('samesite=strict'), `SameSite=Strict in ${s.setCookie}`);
  assert.ok(attrs.includes('path=/'), `Path=/ in ${s.setCookie}`);
  assert.ok(!s.r.text.includes(s.cookie.split('=')[1]), 'session secret is not in the body');

  const who = await call(srv.url, '/api/v1/auth/session', { cookie: s.cookie });
  assert.equal(who.status, 200, who.text);
  assertSchema('SessionInfo', who.json);
  assert.equal(who.json.user.login, u.login);
  assert.equal(who.json.auth, 'session');
  assert.equal(who.json.mfa, true);
  assert.equal(who.json.csrf_token, s.csrf);
  assert.deepEqual([...who.json.tiers].sort(),
    ['self', 'overview', 'aggregate', 'detailed-genome', 'detailed-clinical', 'identifiable'].sort());
});

test('wrong password → 401 invalid-credentials', async () => {
  const u = fresh();
  const s = await tryLogin(srv.url, u, { password: 'not-the-password-1234', totp: totp(u.totp_secret) });
  assertProblem(s.r, 401, 'invalid-credentials');
  assert.equal(s.cookie, '', 'no session cookie on failure');
});

test('unknown login → 401 invalid-credentials (same answer as a wrong password)', async () => {
  const s = await tryLogin(srv.url, { login: 'nobody-here', password: 'whatever-password-1' }, { totp: '123456' });
  assertProblem(s.r, 401, 'invalid-credentials');
});

test('wrong TOTP → 401 invalid-credentials', async () => {
  const u = fresh();
  const s = await tryLogin(srv.url, u, { totp: wrongCode(u.totp_secret) });
  assertProblem(s.r, 401, 'invalid-credentials');
  assert.equal(s.cookie, '');
});

test('missing TOTP for an MFA user → 401 mfa-required', async () => {
  const u = fresh();
  const r = await call(srv.url, '/api/v1/auth/login', { body: { login: u.login, password: u.password } });
  assertProblem(r, 401, 'mfa-required');
});

test('missing TOTP with a wrong password does not reveal mfa-required → 401 invalid-credentials', async () => {
  const u = fresh();
  const r = await call(srv.url, '/api/v1/auth/login', { body: { login: u.login, password: 'wrong-password-xyz1' } });
  assertProblem(r, 401, 'invalid-credentials');
});

test('TOTP replay: the same code after a successful login and logout → 401', async () => {
  const u = fresh();
  const code = totp(u.totp_secret);
  const s = await loginOk(srv.url, u, { totp: code });
  const out = await call(srv.url, '/api/v1/auth/logout', { method: 'POST', cookie: s.cookie, csrf: s.csrf });
  assert.equal(out.status, 204, out.text);
  const again = await tryLogin(srv.url, u, { totp: code });
  assertProblem(again.r, 401, 'invalid-credentials');
  // the next step's code is still accepted (±1 step window)
  const next = await tryLogin(srv.url, u, { totp: totp(u.totp_secret, Date.now(), 1) });
  assert.equal(next.status, 200, next.r.text);
});

test('logout → 204 and the cookie no longer authenticates', async () => {
  const u = fresh();
  const s = await loginOk(srv.url, u);
  const out = await call(srv.url, '/api/v1/auth/logout', { method: 'POST', cookie: s.cookie, csrf: s.csrf });
  assert.equal(out.status, 204, out.text);
  const who = await call(srv.url, '/api/v1/auth/session', { cookie: s.cookie });
  assertProblem(who, 401, 'unauthenticated');
});

test('disabled user → 401 invalid-credentials', async () => {
  const u = fresh();
  cli(srv.dataDir, ['user', 'disable', u.login]);
  const s = await tryLogin(srv.url, u);
  assertProblem(s.r, 401, 'invalid-credentials');
  assert.equal(s.cookie, '');
});

test('5+ failures → 429 locked with Retry-After, even for the right password', async () => {
  const u = fresh();
  for (let i = 1; i <= 4; i++) {
    const s = await tryLogin(srv.url, u, { password: `wrong-password-${i}xx`, totp: totp(u.totp_secret) });
    assertProblem(s.r, 401, 'invalid-credentials', `attempt ${i}: `);
  }
  const fifth = await tryLogin(srv.url, u, { password: 'wrong-password-5xx', totp: totp(u.totp_secret) });
  assert.ok([401, 429].includes(fifth.status), `5th failure: ${fifth.r.text}`);
  const s = await tryLogin(srv.url, u); // correct password and code
  const p = assertProblem(s.r, 429, 'locked');
  assert.equal(s.cookie, '', 'no session while locked');
  const ra = s.r.headers.get('retry-after');
  assert.match(ra || '', /^[0-9]+$/, `Retry-After delta-seconds, got ${ra}`);
  assert.ok(Number(ra) > 0, 'Retry-After > 0');
  assert.equal(typeof p.detail, 'string');
});
