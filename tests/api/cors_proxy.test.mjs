// Browser access to the GA4GH APIs from other origins (CORS, opt-in per origin) and client
// addresses behind a trusted reverse proxy (X-Forwarded-For), as they reach the audit trail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, addUser } from '../lib/zengen.mjs';
import { call, assertProblem, cliToken, auditEvents } from './util.mjs';

let srv, plain, tokOp, tokAud;

before(async () => {
  srv = await startServer({ extraArgs: ['--cors-origin', 'https://igv.example,https://beacon.example', '--trusted-proxy', '127.0.0.1'] });
  const op = addUser(srv.dataDir, 'corsop', 'operator', 'DC', 'datacenter');
  const aud = addUser(srv.dataDir, 'corsaud', 'auditor', 'DC', 'datacenter');
  tokOp = cliToken(srv.dataDir, op.login, 'op');
  tokAud = cliToken(srv.dataDir, aud.login, 'aud');
  plain = await startServer();
});
after(async () => { await srv?.stop(); await plain?.stop(); });

const pre = (url, path, origin, method = 'GET') => call(url, path, {
  method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization' },
});

test('preflight: allowed origins get the CORS answer, others a problem', async () => {
  for (const path of ['/api/beacon/v2/g_variants', '/api/htsget/v1/reads/ZGF-000000000000', '/api/beacon/v2']) {
    const r = await pre(srv.url, path, 'https://igv.example');
    assert.equal(r.status, 204, `${path}: ${r.text}`);
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://igv.example');
    assert.match(r.headers.get('access-control-allow-methods'), /GET/);
    assert.match(r.headers.get('access-control-allow-headers'), /Authorization/);
    assert.match(r.headers.get('vary') || '', /Origin/);
    assert.equal(r.headers.get('access-control-allow-credentials'), null, 'never with cookies');
  }
  const bad = await pre(srv.url, '/api/beacon/v2/g_variants', 'https://evil.example');
  assertProblem(bad, 403, 'cors');
  assert.equal(bad.headers.get('access-control-allow-origin'), null);
  const del = await pre(srv.url, '/api/htsget/v1/reads/ZGF-000000000000', 'https://igv.example', 'DELETE');
  assertProblem(del, 405, 'method-not-allowed');
  // the portal API is never opened to other origins
  const portal = await pre(srv.url, '/api/v1/stats/overview', 'https://igv.example');
  assert.notEqual(portal.status, 204);
  assert.equal(portal.headers.get('access-control-allow-origin'), null);
  // without --cors-origin nothing is allowed
  assertProblem(await pre(plain.url, '/api/beacon/v2/g_variants', 'https://igv.example'), 403, 'cors');
});

test('responses carry the CORS headers only for allowed origins on GA4GH paths', async () => {
  const r = await call(srv.url, '/api/beacon/v2/info', { headers: { origin: 'https://beacon.example' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('access-control-allow-origin'), 'https://beacon.example');
  assert.match(r.headers.get('access-control-expose-headers'), /X-Request-Id/);
  const p = await call(srv.url, '/api/htsget/v1/reads/ZGF-000000000000', { headers: { origin: 'https://igv.example' } });
  assert.equal(p.status, 401, 'authentication still applies');
  assert.equal(p.headers.get('access-control-allow-origin'), 'https://igv.example', 'errors are readable by the page');
  const other = await call(srv.url, '/api/beacon/v2/info', { headers: { origin: 'https://evil.example' } });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  const portal = await call(srv.url, '/api/v1/stats/overview', { token: tokOp, headers: { origin: 'https://igv.example' } });
  assert.equal(portal.status, 200);
  assert.equal(portal.headers.get('access-control-allow-origin'), null);
  const none = await call(plain.url, '/api/beacon/v2/info', { headers: { origin: 'https://igv.example' } });
  assert.equal(none.headers.get('access-control-allow-origin'), null);
});

test('X-Forwarded-For from a trusted proxy names the client in the audit trail; otherwise ignored', async () => {
  const cases = [
    ['198.51.100.7, 203.0.113.9', '203.0.113.9'], // right-most untrusted hop; the left is the client's claim
    ['203.0.113.9, 127.0.0.1', '203.0.113.9'],   // trusted hops are skipped
    ['2001:db8::5', '2001:db8::5'],
    ['not-an-ip', '127.0.0.1'],                 // malformed: the proxy's own address
    [`${'10.9.9.9, '.repeat(250)}203.0.113.7`, '127.0.0.1'], // too long to read whole: not believed
  ];
  for (const [n, [xff, want]] of cases.entries()) {
    const tag = `xff-${n}`;
    const r = await call(srv.url, `/api/v1/stats/overview?case=${tag}`, { token: tokOp, headers: { 'x-forwarded-for': xff } });
    assert.equal(r.status, 200);
    let ev = [];
    for (let i = 0; i < 100 && ev.length === 0; i++) { // reads are audited asynchronously
      if (i) await new Promise((res) => setTimeout(res, 20));
      ev = (await auditEvents(srv.url, { token: tokAud }, { action: 'stats.overview' }))
        .filter((e) => e.options && e.options.case === tag);
    }
    assert.equal(ev.length, 1, xff);
    assert.equal(ev[0].ip, want, xff);
  }
});
