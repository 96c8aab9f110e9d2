// CSRF: cookie-authenticated unsafe methods need X-CSRF-Token; bearer tokens and safe methods don't.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, addUser } from '../lib/zengen.mjs';
import { call, loginOk, assertProblem, assertSchema, cliToken } from './util.mjs';

let srv, user, s;
before(async () => {
  srv = await startServer();
  user = addUser(srv.dataDir, 'csrfuser', 'operator', 'DC', 'datacenter');
  s = await loginOk(srv.url, user);
});
after(async () => { await srv?.stop(); });

test('GET with cookie needs no CSRF token', async () => {
  const r = await call(srv.url, '/api/v1/me/tokens', { cookie: s.cookie });
  assert.equal(r.status, 200, r.text);
  assertSchema('TokenList', r.json);
});

test('cookie POST without X-CSRF-Token → 403 csrf (and nothing is created)', async () => {
  const r = await call(srv.url, '/api/v1/me/tokens', { cookie: s.cookie, body: { name: 'no-csrf' } });
  assertProblem(r, 403, 'csrf');
  const list = await call(srv.url, '/api/v1/me/tokens', { cookie: s.cookie });
  assert.ok(!list.json.tokens.some((t) => t.name === 'no-csrf'), 'token was not created');
});

test('cookie POST with a wrong X-CSRF-Token → 403 csrf', async () => {
  const wrong = s.csrf.slice(0, -1) + (s.csrf.endsWith('A') ? 'B' : 'A');
  const r = await call(srv.url, '/api/v1/me/tokens', { cookie: s.cookie, csrf: wrong, body: { name: 'bad-csrf' } });
  assertProblem(r, 403, 'csrf');
  const r2 = await call(srv.url, '/api/v1/me/tokens', { cookie: s.cookie, headers: { 'x-csrf-token': '' }, body: { name: 'empty-csrf' } });
  assertProblem(r2, 403, 'csrf');
});

test('another session\'s CSRF token is not accepted', async () => {
  const other = addUser(srv.dataDir, 'csrfother', 'operator', 'DC', 'datacenter');
  const o = await loginOk(srv.url, other);
  const r = await call(srv.url, '/api/v1/me/tokens', { cookie: s.cookie, csrf: o.csrf, body: { name: 'cross-csrf' } });
  assertProblem(r, 403, 'csrf');
});

test('cookie POST with the right X-CSRF-Token → 201', async () => {
  const r = await call(srv.url, '/api/v1/me/tokens', { cookie: s.cookie, csrf: s.csrf, body: { name: 'with-csrf' } });
  assert.equal(r.status, 201, r.text);
  assertSchema('TokenCreated', r.json);
  assert.match(r.json.token, /^zgt_/);
});

test('cookie DELETE without X-CSRF-Token → 403 csrf; with it → 204', async () => {
  const made = await call(srv.url, '/api/v1/me/tokens', { cookie: s.cookie, csrf: s.csrf, body: { name: 'to-delete' } });
  assert.equal(made.status, 201, made.text);
  const path = `/api/v1/me/tokens/${made.json.id}`;
  assertProblem(await call(srv.url, path, { method: 'DELETE', cookie: s.cookie }), 403, 'csrf');
  const ok = await call(srv.url, path, { method: 'DELETE', cookie: s.cookie, csrf: s.csrf });
  assert.equal(ok.status, 204, ok.text);
});

test('the csrf_token from GET /api/v1/auth/session works too', async () => {
  const who = await call(srv.url, '/api/v1/auth/session', { cookie: s.cookie });
  assert.equal(who.json.csrf_token, s.csrf);
  const r = await call(srv.url, '/api/v1/me/tokens', { cookie: s.cookie, csrf: who.json.csrf_token, body: { name: 'via-session' } });
  assert.equal(r.status, 201, r.text);
});

test('bearer POST needs no CSRF token', async () => {
  const tok = cliToken(srv.dataDir, user.login, 'machine');
  const r = await call(srv.url, '/api/v1/me/tokens', { token: tok, body: { name: 'made-by-token' } });
  assert.equal(r.status, 201, r.text);
});

test('cookie logout without X-CSRF-Token → 403 csrf and the session survives; with it → 204', async () => {
  assertProblem(await call(srv.url, '/api/v1/auth/logout', { method: 'POST', cookie: s.cookie }), 403, 'csrf');
  assert.equal((await call(srv.url, '/api/v1/auth/session', { cookie: s.cookie })).status, 200);
  const r = await call(srv.url, '/api/v1/auth/logout', { method: 'POST', cookie: s.cookie, csrf: s.csrf });
  assert.equal(r.status, 204, r.text);
});
