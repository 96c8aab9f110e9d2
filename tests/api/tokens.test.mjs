// API tokens: bearer auth, revocation (CLI, self-service, admin), expiry, tier scopes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, addUser, cli, cliRaw } from '../lib/zengen.mjs';
import { call, assertProblem, assertSchema, cliToken, loginOk, toMs } from './util.mjs';

let srv, op, admin;
before(async () => {
  srv = await startServer();
  op = addUser(srv.dataDir, 'tokop', 'operator', 'DC', 'datacenter');
  admin = addUser(srv.dataDir, 'tokadmin', 'admin', 'DC', 'datacenter');
});
after(async () => { await srv?.stop(); });

async function tokenId(tok, name) {
  const r = await call(srv.url, '/api/v1/me/tokens', { token: tok });
  assert.equal(r.status, 200, r.text);
  assertSchema('TokenList', r.json);
  const t = r.json.tokens.find((x) => x.name === name);
  assert.ok(t, `token ${name} listed`);
  assert.ok(!JSON.stringify(r.json).includes(tok), 'token list never shows secrets');
  return t;
}

test('bearer token works on GET /api/v1/auth/session (auth "token")', async () => {
  const tok = cliToken(srv.dataDir, op.login, 'ci');
  const r = await call(srv.url, '/api/v1/auth/session', { token: tok });
  assert.equal(r.status, 200, r.text);
  assertSchema('SessionInfo', r.json);
  assert.equal(r.json.user.login, op.login);
  assert.equal(r.json.auth, 'token');
  assert.equal(r.json.csrf_token, undefined, 'no CSRF token for bearer auth');
  const t = await tokenId(tok, 'ci');
  assert.equal(t.revoked, false);
});

test('garbage and malformed bearer tokens → 401 unauthenticated', async () => {
  assertProblem(await call(srv.url, '/api/v1/auth/session', { token: 'zgt_notarealtoken000000000000' }), 401, 'unauthenticated');
  assertProblem(await call(srv.url, '/api/v1/auth/session', { headers: { authorization: 'Bearer' } }), 401, 'unauthenticated');
  assertProblem(await call(srv.url, '/api/v1/auth/session', { headers: { authorization: 'Basic dTpw' } }), 401, 'unauthenticated');
});

test('token revoked with the CLI → 401', async () => {
  const tok = cliToken(srv.dataDir, op.login, 'to-revoke');
  assert.equal((await call(srv.url, '/api/v1/auth/session', { token: tok })).status, 200);
  const t = await tokenId(tok, 'to-revoke');
  cli(srv.dataDir, ['token', 'revoke', String(t.id)]);
  assertProblem(await call(srv.url, '/api/v1/auth/session', { token: tok }), 401, 'unauthenticated');
});

test('token revoked by its owner via DELETE /api/v1/me/tokens/{id} → 401 afterwards', async () => {
  const tok = cliToken(srv.dataDir, op.login, 'self-revoke');
  const keep = cliToken(srv.dataDir, op.login, 'keeper');
  const t = await tokenId(tok, 'self-revoke');
  const d = await call(srv.url, `/api/v1/me/tokens/${t.id}`, { method: 'DELETE', token: keep });
  assert.equal(d.status, 204, d.text);
  assertProblem(await call(srv.url, '/api/v1/auth/session', { token: tok }), 401, 'unauthenticated');
  const listed = await tokenId(keep, 'self-revoke');
  assert.equal(listed.revoked, true, 'listed as revoked');
  assert.equal((await call(srv.url, '/api/v1/auth/session', { token: keep })).status, 200, 'other token unaffected');
});

test('admin revokes any token via DELETE /api/v1/tokens/{id}', async () => {
  const tok = cliToken(srv.dataDir, op.login, 'admin-revokes');
  const t = await tokenId(tok, 'admin-revokes');
  const adm = cliToken(srv.dataDir, admin.login, 'adm');
  const d = await call(srv.url, `/api/v1/tokens/${t.id}`, { method: 'DELETE', token: adm });
  assert.equal(d.status, 204, d.text);
  assertProblem(await call(srv.url, '/api/v1/auth/session', { token: tok }), 401, 'unauthenticated');
  // a non-admin may not use the admin route
  const tok2 = cliToken(srv.dataDir, op.login, 'victim');
  const t2 = await tokenId(tok2, 'victim');
  assertProblem(await call(srv.url, `/api/v1/tokens/${t2.id}`, { method: 'DELETE', token: tok2 }), 403, 'forbidden');
});

// The contract (docs/api.md) gives `expires_in_days` without a minimum. We accept either
// reading of "0 days": rejected at creation (CLI non-zero exit / API 422 on /expires_in_days),
// or created already expired — but a 0-day token must never authenticate.
test('a token that expires in 0 days never authenticates', async () => {
  const r = cliRaw(srv.dataDir, ['token', 'create', op.login, '--name', 'zero-days', '--expires-days', '0']);
  if (r.status === 0) {
    const m = r.stdout.match(/zgt_[A-Za-z0-9_\-]+/);
    assert.ok(m, r.stdout);
    await new Promise((res) => setTimeout(res, 1100));
    assertProblem(await call(srv.url, '/api/v1/auth/session', { token: m[0] }), 401, 'unauthenticated');
  } else {
    assert.ok(r.stderr.length > 0, 'CLI explains why --expires-days 0 is refused');
  }
  const keep = cliToken(srv.dataDir, op.login, 'zero-api-maker');
  const a = await call(srv.url, '/api/v1/me/tokens', { token: keep, body: { name: 'zero-api', expires_in_days: 0 } });
  if (a.status === 201) {
    await new Promise((res) => setTimeout(res, 1100));
    assertProblem(await call(srv.url, '/api/v1/auth/session', { token: a.json.token }), 401, 'unauthenticated');
  } else {
    const p = assertProblem(a, 422, 'validation');
    assert.equal(p.errors[0].pointer, '/expires_in_days');
  }
});

test('token created via API with expires_in_days:1 expires about a day from now', async () => {
  const keep = cliToken(srv.dataDir, op.login, 'one-day-maker');
  const a = await call(srv.url, '/api/v1/me/tokens', { token: keep, body: { name: 'one-day', expires_in_days: 1, scopes: ['overview'] } });
  assert.equal(a.status, 201, a.text);
  assertSchema('TokenCreated', a.json);
  assert.deepEqual(a.json.scopes, ['overview']);
  const dt = toMs(a.json.expires_at) - Date.now();
  assert.ok(Math.abs(dt - 86400e3) < 120e3, `expires_at ≈ now + 1 day, got ${a.json.expires_at}`);
  assert.equal((await call(srv.url, '/api/v1/stats/overview', { token: a.json.token })).status, 200);
});

test('token scoped to overview: overview route 200, detailed-clinical route → 403 forbidden', async () => {
  const full = cliToken(srv.dataDir, op.login, 'full');
  assert.equal((await call(srv.url, '/api/v1/cases', { token: full })).status, 200, 'operator may list cases');
  const ov = cliToken(srv.dataDir, op.login, 'ov-only', { scope: 'overview' });
  const st = await call(srv.url, '/api/v1/stats/overview', { token: ov });
  assert.equal(st.status, 200, st.text);
  assertSchema('StatsOverview', st.json);
  const p = assertProblem(await call(srv.url, '/api/v1/cases', { token: ov }), 403, 'forbidden');
  assert.ok(typeof p.detail === 'string' && p.detail.length > 0, 'detail explains the denial');
});

test('a token cannot be scoped beyond its owner\'s tiers', async () => {
  const keep = cliToken(srv.dataDir, op.login, 'escalate-maker');
  const a = await call(srv.url, '/api/v1/me/tokens', { token: keep, body: { name: 'escalate', scopes: ['audit'] } });
  assert.ok([403, 422].includes(a.status), `operator asking for an audit-scoped token: ${a.status} ${a.text}`);
  const r = cliRaw(srv.dataDir, ['token', 'create', op.login, '--name', 'esc-cli', '--scope', 'admin']);
  assert.notEqual(r.status, 0, 'CLI refuses a scope the user does not have');
});

test('tokens of a disabled user stop working', async () => {
  const u = addUser(srv.dataDir, 'tokdisabled', 'operator', 'DC', 'datacenter');
  const tok = cliToken(srv.dataDir, u.login, 'd');
  assert.equal((await call(srv.url, '/api/v1/auth/session', { token: tok })).status, 200);
  cli(srv.dataDir, ['user', 'disable', u.login]);
  assertProblem(await call(srv.url, '/api/v1/auth/session', { token: tok }), 401, 'unauthenticated');
});

test('admin creates a token for a user via POST /api/v1/users/{login}/tokens (session + CSRF)', async () => {
  const s = await loginOk(srv.url, admin);
  const r = await call(srv.url, `/api/v1/users/${op.login}/tokens`, { cookie: s.cookie, csrf: s.csrf, body: { name: 'issued', scopes: ['self', 'overview'] } });
  assert.equal(r.status, 201, r.text);
  assertSchema('TokenCreated', r.json);
  assert.deepEqual([...r.json.scopes].sort(), ['overview', 'self']);
  const who = await call(srv.url, '/api/v1/auth/session', { token: r.json.token });
  assert.equal(who.status, 200, who.text);
  assert.equal(who.json.user.login, op.login);
  assert.deepEqual([...who.json.tiers].sort(), ['overview', 'self'], 'a token\'s tiers are its scopes');
  assertProblem(await call(srv.url, '/api/v1/cases', { token: r.json.token }), 403, 'forbidden');
});
