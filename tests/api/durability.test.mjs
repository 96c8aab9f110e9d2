// Crash safety and TLS: kill -9 of the server in the middle of writes never corrupts the data
// directory or the audit chain, and nothing acknowledged is lost; HTTPS with a configured
// certificate speaks TLS 1.2+ and marks cookies Secure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import { BIN, cli, startServer, addUser } from '../lib/zengen.mjs';

function sqlite(db, sql) {
  return execFileSync('sqlite3', [db, sql], { encoding: 'utf8' }).trim();
}

test('kill -9 during concurrent writes: integrity intact, acknowledged writes kept, chain verifies', async () => {
  const srv = await startServer();
  const dir = srv.dataDir;
  const u = addUser(dir, 'crash-op', 'operator', 'Crash DC', 'datacenter');
  const token = cli(dir, ['token', 'create', 'crash-op', '--name', 'crash']).trim();
  const acked = [];
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const r = await fetch(`${srv.url}/api/v1/cases`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ org: 'Crash DC' }),
        });
        if (r.status === 201) acked.push((await r.json()).id);
      } catch { /* connection reset by the kill */ }
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  await new Promise((r) => setTimeout(r, 1500));
  srv.proc.kill('SIGKILL');
  stop = true;
  await Promise.all(workers);
  await new Promise((r) => srv.proc.exitCode !== null || srv.proc.signalCode ? r() : srv.proc.once('exit', r));
  assert.ok(acked.length > 10, `expected writes before the kill, got ${acked.length}`);

  for (const db of ['zengen.db', 'audit.db', 'linkage.db']) {
    assert.equal(sqlite(join(dir, db), 'PRAGMA integrity_check'), 'ok', `${db} integrity`);
  }
  // every acknowledged case survived, and each has its durable audit events
  const stored = new Set(sqlite(join(dir, 'zengen.db'), 'SELECT id FROM cases').split('\n'));
  for (const id of acked) assert.ok(stored.has(id), `acknowledged case ${id} lost`);
  const audited = new Set(sqlite(join(dir, 'audit.db'), 'SELECT data_id FROM audit_data').split('\n'));
  for (const id of acked) assert.ok(audited.has(id), `acknowledged case ${id} has no audit event`);
  // the chain verifies and the directory opens and serves again
  const v = spawnSync(BIN, ['audit', 'verify', '--data', dir], { encoding: 'utf8' });
  assert.equal(v.status, 0, v.stderr);
  const again = await startServer({ dataDir: dir, init: false });
  try {
    // counts, not a page of the case list: a fast machine acknowledges more than one page
    const r = await fetch(`${again.url}/api/v1/stats/overview`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    const n = (await r.json()).cases;
    assert.ok(n >= acked.length, `${n} cases served, ${acked.length} acknowledged`);
  } finally {
    await again.stop();
  }
  rmSync(dir, { recursive: true, force: true });
  void u;
});

test('an interrupted init leaves no half-made data directory behind', () => {
  const base = mkdtempSync(join(tmpdir(), 'zg-init-'));
  const target = join(base, 'data');
  const r = spawnSync(BIN, ['init', target], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // a second init must refuse, naming the reason, and leave the directory untouched
  const before = sqlite(join(target, 'zengen.db'), 'SELECT count(*) FROM schema_migrations');
  const r2 = spawnSync(BIN, ['init', target], { encoding: 'utf8' });
  assert.notEqual(r2.status, 0);
  assert.match(r2.stderr, /already exists and is not empty/);
  assert.equal(sqlite(join(target, 'zengen.db'), 'SELECT count(*) FROM schema_migrations'), before);
  rmSync(base, { recursive: true, force: true });
});

test('HTTPS: TLS 1.2+ only, Secure cookie and HSTS when a certificate is configured', async (t) => {
  const tdir = mkdtempSync(join(tmpdir(), 'zg-tls-'));
  const key = join(tdir, 'key.pem'), cert = join(tdir, 'cert.pem');
  const o = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
    '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1'], { encoding: 'utf8' });
  if (o.status !== 0) { t.skip('openssl is not installed'); return; }
  const dataDir = mkdtempSync(join(tmpdir(), 'zg-tlsdata-'));
  rmSync(dataDir, { recursive: true });
  execFileSync(BIN, ['init', dataDir]);
  const user = addUser(dataDir, 'tls-user', 'academic', 'TLS Uni', 'academia');
  const srv = await startServer({ dataDir, init: false, extraArgs: ['--tls-cert', cert, '--tls-key', key] });
  const port = new URL(srv.url).port;
  const req = (path, opts = {}, body) => new Promise((resolve, reject) => {
    const r = https.request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, ...opts }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ res, data, tls: r.socket.getProtocol?.() }));
    });
    r.on('error', reject);
    if (body) r.write(body);
    r.end();
  });
  const { res: h, tls } = await req('/healthz');
  assert.equal(h.statusCode, 200);
  assert.ok(['TLSv1.2', 'TLSv1.3'].includes(tls), `negotiated ${tls}`);
  assert.match(String(h.headers['strict-transport-security']), /max-age=/);
  // a TLS 1.1 client is refused
  await assert.rejects(req('/healthz', { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }));
  const { totp } = await import('../lib/zengen.mjs');
  const { res: lr } = await req('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' } },
    JSON.stringify({ login: user.login, password: user.password, totp: totp(user.totp_secret) }));
  assert.equal(lr.statusCode, 200);
  const cookie = String(lr.headers['set-cookie']);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.match(cookie, /Secure/);
  // plain HTTP on the TLS port does not work
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`).then((r) => { if (r.ok) throw new Error('no'); return r; }).then(() => {}));
  await srv.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(tdir, { recursive: true, force: true });
});
