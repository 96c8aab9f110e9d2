// Public system routes: /healthz, /metrics, /api/v1/openapi.json (and that the served document
// covers every route of docs/api.md, with `security: []` exactly on the public ones).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/zengen.mjs';
import { call, loadOpenapi, contractRoutes, assertSchema } from './util.mjs';

const PUBLIC = new Set(['GET /healthz', 'GET /metrics', 'GET /api/v1/openapi.json', 'POST /api/v1/auth/login']);
let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

test('GET /healthz → 200 {"status":"ok"} with X-Request-Id', async () => {
  const r = await call(srv.url, '/healthz');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^application\/json/);
  assert.equal(r.json.status, "ok");
  assertSchema('Health', r.json);
  assert.ok(r.headers.get('x-request-id'), 'X-Request-Id on every response');
});

test('X-Request-Id differs between requests', async () => {
  const a = await call(srv.url, '/healthz');
  const b = await call(srv.url, '/healthz');
  assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
});

test('GET /metrics → Prometheus text with zengen_http_requests_total', async () => {
  await call(srv.url, '/healthz');
  const r = await call(srv.url, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^text\/plain/);
  assert.match(r.text, /^# TYPE zengen_http_requests_total counter$/m);
  const samples = r.text.split('\n').filter((l) => l.startsWith('zengen_http_requests_total'));
  assert.ok(samples.length > 0, 'has zengen_http_requests_total samples');
  for (const l of samples) assert.match(l, /^zengen_http_requests_total(\{[^}]*\})? [0-9.e+]+$/, `sample line: ${l}`);
  const total = samples.reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  assert.ok(total >= 1, 'counted at least the /healthz request');
});

test('GET /api/v1/openapi.json is OpenAPI 3.1 and equals src/api/openapi.json', async () => {
  const r = await call(srv.url, '/api/v1/openapi.json');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^application\/json/);
  assert.ok(r.json, 'parses as JSON');
  assert.ok(String(r.json.openapi).startsWith('3.1'), `openapi ${r.json.openapi}`);
  assert.deepEqual(r.json, loadOpenapi(), 'served document is the embedded source file');
});

test('openapi.json covers every docs/api.md route with its tier; security [] exactly on public routes', async () => {
  const doc = (await call(srv.url, '/api/v1/openapi.json')).json;
  const routes = contractRoutes();
  assert.ok(routes.length >= 30, `parsed ${routes.length} routes from docs/api.md`);
  const schemes = doc.components?.securitySchemes || {};
  assert.deepEqual(schemes.sessionCookie, { ...schemes.sessionCookie, type: 'apiKey', in: 'cookie', name: 'zg_session' });
  assert.equal(schemes.bearerToken?.type, 'http');
  assert.equal(schemes.bearerToken?.scheme, 'bearer');
  assert.deepEqual(doc.security, [{ sessionCookie: [] }, { bearerToken: [] }]);
  for (const { method, path, tier } of routes) {
    const op = doc.paths?.[path]?.[method.toLowerCase()];
    assert.ok(op, `${method} ${path} documented`);
    assert.equal(op['x-zengen-tier'], tier, `${method} ${path} tier`);
    assert.ok(op.summary && op.tags?.length, `${method} ${path} summary and tags`);
    if (PUBLIC.has(`${method} ${path}`)) assert.deepEqual(op.security, [], `${method} ${path} is public`);
    else assert.equal(op.security, undefined, `${method} ${path} inherits the global security`);
  }
  const pr = doc.components.schemas.Problem.properties;
  for (const f of ['type', 'title', 'status', 'detail', 'instance', 'request_id', 'errors']) assert.ok(pr[f], `Problem.${f}`);
});
