// Shared helpers for API and browser tests: run the real zengen binary on a fresh data
// directory and a free loopback port; compute RFC 6238 codes like an authenticator app.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import https from 'node:https';
import { join } from 'node:path';

export const BIN = process.env.ZENGEN_BIN || join(process.cwd(), 'build', 'zengen');

/** Runs a zengen CLI command synchronously; returns stdout (throws on non-zero exit). */
export function cli(dataDir, args, opts = {}) {
  return execFileSync(BIN, [...args, '--data', dataDir], {
    encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...opts,
  });
}

/** Like cli() but never throws: returns {status, stdout, stderr}. */
export function cliRaw(dataDir, args, opts = {}) {
  try {
    const stdout = cli(dataDir, args, opts);
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    return { status: e.status, stdout: e.stdout || '', stderr: e.stderr || '' };
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Decodes RFC 4648 base32 (no padding needed). */
export function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0; const out = [];
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error('bad base32');
    value = (value << 5) | v; bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP (SHA-1, 30 s, 6 digits) for a base32 secret at time t (ms). */
export function totp(secretB32, t = Date.now(), stepOffset = 0) {
  const counter = Math.floor(t / 1000 / 30) + stepOffset;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac('sha1', base32Decode(secretB32)).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  const code = ((h.readUInt32BE(o) & 0x7fffffff) % 1000000).toString();
  return code.padStart(6, '0');
}

/** Parses `zengen user add` output ("key: value" lines) into an object. */
export function parseKv(text) {
  const o = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-z_]+):\s*(.*)$/);
    if (m) o[m[1]] = m[2].trim();
  }
  return o;
}

/**
 * Starts `zengen serve` on a fresh (or given) data directory.
 * Returns {url, dataDir, proc, stop()}. The data directory is removed by stop() if we made it.
 */
export async function startServer({ dataDir, init = true, extraArgs = [], env = {} } = {}) {
  let made = false;
  if (!dataDir) { dataDir = mkdtempSync(join(tmpdir(), 'zg-test-')); made = true; rmSync(dataDir, { recursive: true }); }
  if (init) execFileSync(BIN, ['init', dataDir], { stdio: 'pipe' });
  const tls = extraArgs.includes('--tls-cert');
  // the port is free when chosen but another test may take it before the server binds: a
  // server that exits because the address is in use is started again on another port
  let proc, log = '', url;
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    log = '';
    proc = spawn(BIN, ['serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    proc.stdout.on('data', (d) => { log += d; });
    proc.stderr.on('data', (d) => { log += d; });
    url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    const healthy = () => (tls
      ? new Promise((resolve) => {
        https.get(`${url}/healthz`, { rejectUnauthorized: false }, (res) => { res.resume(); resolve(res.statusCode === 200); })
          .on('error', () => resolve(false));
      })
      : fetch(`${url}/healthz`).then((r) => r.ok, () => false));
    const deadline = Date.now() + 15000;
    let up = false;
    for (;;) {
      if (proc.exitCode !== null) break;
      // our own process says it listens (a /healthz answer alone could come from another
      // test's server that got the port first)
      if (/listening on/.test(log) && await healthy()) { up = true; break; }
      if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`server did not start: ${log}`); }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (up) break;
    if (attempt < 3 && /in use|cannot listen|bind/i.test(log)) continue;
    throw new Error(`zengen serve exited ${proc.exitCode}: ${log}`);
  }
  return {
    url, dataDir, proc, log: () => log,
    /** Stops the server with SIGTERM; throws if it did not exit cleanly (a crash, a
     *  sanitizer report or a leak in the ASan build makes the exit code non-zero). */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 15000);
        await exited;
        clearTimeout(timer);
      }
      if (made) rmSync(dataDir, { recursive: true, force: true });
      if (proc.exitCode !== 0) {
        throw new Error(`zengen serve exited with ${proc.exitCode ?? proc.signalCode}: ${log.slice(-4000)}`);
      }
    },
  };
}

/** Creates org + user via the CLI; returns {login, password, totp_secret, role, org}. */
export function addUser(dataDir, login, role, org, orgType = 'hospital') {
  const orgs = cliRaw(dataDir, ['org', 'add', org, '--type', orgType]);
  if (orgs.status !== 0 && !/exists/.test(orgs.stderr)) throw new Error(orgs.stderr);
  const out = cli(dataDir, ['user', 'add', login, '--role', role, '--org', org]);
  return { ...parseKv(out), login, role, org };
}

/** Signs in through the API; returns {cookie, csrf, body}. Waits for a fresh TOTP step if asked. */
export async function login(url, user, { code } = {}) {
  const r = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: user.login, password: user.password, totp: code ?? totp(user.totp_secret) }),
  });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`login ${r.status}: ${JSON.stringify(body)}`);
  const cookie = (r.headers.get('set-cookie') || '').split(';')[0];
  return { cookie, csrf: body.csrf_token, body };
}
