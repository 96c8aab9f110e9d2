// Request validation and routing errors: bad JSON (400), wrong types (422 with JSON Pointers),
// oversized bodies (413), wrong media type (415), unknown routes (404), wrong methods (405).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, addUser } from '../lib/zengen.mjs';
import { call, rawRequest, assertProblem, cliToken } from './util.mjs';

let srv, tok;
before(async () => {
  srv = await startServer();
  const admin = addUser(srv.dataDir, 'valadmin', 'admin', 'DC', 'datacenter');
  tok = cliToken(srv.dataDir, admin.login, 'v');
});
after(async () => { await srv?.stop(); });

const LOGIN = '/api/v1/auth/login';
const json = { 'content-type': 'application/json' };

test('malformed JSON → 400 bad-json, pointer "" and reason naming line/column', async () => {
  for (const body of ['{"login":', '{login: "x"}', '{"login":"a","password":"b"} trailing']) {
    const r = await call(srv.url, LOGIN, { method: 'POST', headers: json, body });
    const p = assertProblem(r, 400, 'bad-json', `body ${JSON.stringify(body)}: `);
    assert.ok(Array.isArray(p.errors) && p.errors.length >= 1, 'errors[]');
    assert.equal(p.errors[0].pointer, '');
    assert.match(p.errors[0].reason, /line|column/i, `reason: ${p.errors[0].reason}`);
  }
});

test('malformed JSON on an authenticated route → 400 bad-json', async () => {
  const r = await call(srv.url, '/api/v1/orgs', { method: 'POST', token: tok, headers: json, body: '{"name":"x",' });
  assertProblem(r, 400, 'bad-json');
});

test('wrong types → 422 validation with JSON Pointers', async () => {
  const r = await call(srv.url, LOGIN, { body: { login: 5, password: 'abcdefghijkl' } });
  const p = assertProblem(r, 422, 'validation');
  assert.equal(p.errors[0].pointer, '/login');
  assert.equal(typeof p.errors[0].reason, 'string');
  assert.ok(p.errors[0].reason.length > 0);
  assert.equal(typeof p.detail, 'string');

  const r2 = await call(srv.url, LOGIN, { body: { login: 'x', password: ['a'] } });
  assert.equal(assertProblem(r2, 422, 'validation').errors[0].pointer, '/password');

  const r3 = await call(srv.url, LOGIN, { body: [1, 2] });
  assertProblem(r3, 422, 'validation');

  const r4 = await call(srv.url, LOGIN, { body: { password: 'abcdefghijkl' } });
  assert.equal(assertProblem(r4, 422, 'validation').errors[0].pointer, '/login', 'missing required member');
});

test('validation on an authenticated route points at the bad member', async () => {
  const r = await call(srv.url, '/api/v1/orgs', { token: tok, body: { name: 7, type: 'academia' } });
  assert.equal(assertProblem(r, 422, 'validation').errors[0].pointer, '/name');
  const r2 = await call(srv.url, '/api/v1/orgs', { token: tok, body: { name: 'Org-V', type: 'spaceship' } });
  assert.equal(assertProblem(r2, 422, 'validation').errors[0].pointer, '/type');
  const r3 = await call(srv.url, '/api/v1/orgs', { token: tok, body: { name: 'Org-V' } });
  assert.equal(assertProblem(r3, 422, 'validation').errors[0].pointer, '/type', 'missing member');
});

test('body over 1 MiB → 413 payload-too-large', async () => {
  // the declared length is over the limit: the server answers from the headers, before the
  // body (sending all of it would race the server's early close: EPIPE on a loaded machine)
  const start = Buffer.from('{"login":"' + 'a'.repeat(1000));
  const r = await rawRequest(srv.url, LOGIN, { headers: { ...json, 'content-length': String(1024 * 1024 + 1) }, body: start });
  assertProblem(r, 413, 'payload-too-large');
  // and the server is still healthy
  assert.equal((await call(srv.url, '/healthz')).status, 200);
});

test('non-JSON media type → 415 unsupported-media-type', async () => {
  const r = await call(srv.url, LOGIN, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"login":"a","password":"b"}' });
  assertProblem(r, 415, 'unsupported-media-type');
  const r2 = await call(srv.url, LOGIN, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'login=a&password=b' });
  assertProblem(r2, 415, 'unsupported-media-type');
});

test('unknown route → 404 not-found problem (authenticated or not)', async () => {
  assertProblem(await call(srv.url, '/api/v1/no-such-thing'), 404, 'not-found');
  assertProblem(await call(srv.url, '/nope'), 404, 'not-found');
  assertProblem(await call(srv.url, '/api/v1/no-such-thing', { token: tok }), 404, 'not-found');
  assertProblem(await call(srv.url, '/api/v1/orgs/extra/segments', { token: tok }), 404, 'not-found');
});

test('wrong method → 405 method-not-allowed with Allow', async () => {
  const r = await call(srv.url, '/healthz', { method: 'DELETE' });
  assertProblem(r, 405, 'method-not-allowed');
  assert.match(r.headers.get('allow') || '', /\bGET\b/);
  const r2 = await call(srv.url, LOGIN, { method: 'GET' });
  assertProblem(r2, 405, 'method-not-allowed');
  assert.match(r2.headers.get('allow') || '', /\bPOST\b/);
  const r3 = await call(srv.url, '/api/v1/cases', { method: 'PUT', token: tok, body: {} });
  assertProblem(r3, 405, 'method-not-allowed');
  assert.match(r3.headers.get('allow') || '', /\bGET\b/);
  assert.match(r3.headers.get('allow') || '', /\bPOST\b/);
});

test('every response carries X-Request-Id, including errors', async () => {
  for (const [path, opts] of [['/healthz', {}], ['/nope', {}], ['/api/v1/cases', {}], [LOGIN, { body: {} }]]) {
    const r = await call(srv.url, path, opts);
    assert.ok(r.headers.get('x-request-id'), `${path} → ${r.status} has X-Request-Id`);
  }
});
