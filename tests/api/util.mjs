// Helpers shared by the HTTP API tests (tests/api/*.test.mjs): request wrappers, problem+json
// assertions, schema checks against src/api/openapi.json, and audit-log readers.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { cli, totp } from '../lib/zengen.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OPENAPI_PATH = join(ROOT, 'src', 'api', 'openapi.json');
export const API_MD_PATH = join(ROOT, 'docs', 'api.md');

/** The OpenAPI document in the source tree. */
export function loadOpenapi() {
  // the base document with every domain fragment (src/api/openapi-<domain>.json) merged in,
  // as the server does at start-up
  const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'));
  const dir = dirname(OPENAPI_PATH);
  for (const f of readdirSync(dir).filter((n) => /^openapi-.+\.json$/.test(n)).sort()) {
    const part = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    Object.assign(doc.paths, part.paths || {});
    for (const k of ['schemas', 'parameters', 'responses']) {
      if (part.components?.[k]) {
        doc.components ??= {};
        doc.components[k] = { ...(doc.components[k] || {}), ...part.components[k] };
      }
    }
    if (Array.isArray(part.tags)) doc.tags = [...(doc.tags || []), ...part.tags];
  }
  return doc;
}

/** Routes listed in docs/api.md as [{method, path, tier}]. */
export function contractRoutes() {
  const md = readFileSync(API_MD_PATH, 'utf8');
  return [...md.matchAll(/^\| (GET|POST|PUT|PATCH|DELETE) (\S+) \| (\S+) \|/gm)]
    .map(([, method, path, tier]) => ({ method, path, tier }));
}

let ajv;
/** Validates body against components/schemas/<name> of the OpenAPI document; fails with the errors. */
export function assertSchema(name, body, msg = '') {
  if (!ajv) {
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ ...loadOpenapi(), $id: 'zengen-openapi' });
  }
  const validate = ajv.getSchema(`zengen-openapi#/components/schemas/${name}`);
  assert.ok(validate, `no schema ${name}`);
  const ok = validate(body);
  assert.ok(ok, `${msg}${name} schema: ${ajv.errorsText(validate.errors)}\nbody: ${JSON.stringify(body)}`);
}

/**
 * One HTTP call. opts: method, body (object → JSON, string/Buffer sent as is), cookie, csrf,
 * token (bearer), headers. Returns {status, headers, text, json} (json is undefined when the
 * body is not JSON).
 */
export async function call(url, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  let body = opts.body;
  if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
    body = JSON.stringify(body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.csrf) headers['x-csrf-token'] = opts.csrf;
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const r = await fetch(url + path, { method: opts.method || (body !== undefined ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, headers: r.headers, text, json, path };
}

/**
 * Low-level request with node:http that still reads the response if the server answers and
 * closes before the whole body was sent (what a server should do with a 413).
 */
export function rawRequest(url, path, { method = 'POST', headers = {}, body = Buffer.alloc(0) } = {}) {
  const u = new URL(url + path);
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        settled = true;
        const text = Buffer.concat(chunks).toString('utf8');
        let json; try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: new Headers(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)])), text, json, path });
      });
    });
    // a server that answers early (413) and closes makes the rest of our write fail (EPIPE);
    // its answer still arrives — wait for it generously on a loaded machine
    req.on('error', (e) => { if (!settled) setTimeout(() => { if (!settled) reject(e); }, 5000); });
    req.end(body);
  });
}

/** Problem type URI for a short name, as in docs/api.md (`/problems/validation`). */
export const ptype = (name) => `/problems/${name}`;

/**
 * Asserts r is an RFC 9457 problem with this status and type name; checks the common fields
 * (title, status, instance, request_id = X-Request-Id) and the Problem schema. Returns the body.
 */
export function assertProblem(r, status, type, msg = '') {
  const where = `${msg}${r.path}: `;
  assert.equal(r.status, status, `${where}status ${r.status} body ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^application\/problem\+json\b/, `${where}content-type`);
  assert.ok(r.json && typeof r.json === 'object', `${where}body is JSON: ${r.text}`);
  const p = r.json;
  assert.equal(p.type, ptype(type), `${where}problem type (${r.text})`);
  assert.equal(p.status, status, `${where}problem.status`);
  assert.equal(typeof p.title, 'string', `${where}problem.title`);
  assert.ok(p.title.length > 0, `${where}problem.title empty`);
  assert.equal(typeof p.instance, 'string', `${where}problem.instance`);
  assert.equal(p.instance, r.path.split('?')[0], `${where}problem.instance is the request path`);
  const rid = r.headers.get('x-request-id');
  assert.ok(rid, `${where}X-Request-Id header`);
  assert.equal(p.request_id, rid, `${where}problem.request_id matches X-Request-Id`);
  assertSchema('Problem', p, where);
  return p;
}

/** Signs in (totp only when the user has a secret); returns {status, cookie, csrf, body, r}. */
export async function tryLogin(url, user, extra = {}) {
  const body = { login: user.login, password: user.password, ...extra };
  if (!('totp' in extra) && user.totp_secret) body.totp = totp(user.totp_secret);
  const r = await call(url, '/api/v1/auth/login', { body });
  const setCookies = r.headers.getSetCookie ? r.headers.getSetCookie() : [r.headers.get('set-cookie') || ''];
  const sc = setCookies.find((c) => c.startsWith('zg_session=')) || '';
  return { status: r.status, cookie: sc.split(';')[0], setCookie: sc, csrf: r.json?.csrf_token, body: r.json, r };
}

/** tryLogin that must succeed. */
export async function loginOk(url, user, extra = {}) {
  const s = await tryLogin(url, user, extra);
  assert.equal(s.status, 200, `login ${user.login}: ${s.r.text}`);
  assert.ok(s.cookie, 'zg_session cookie set');
  return s;
}

/** Creates an API token with the CLI and returns the zgt_… secret. */
export function cliToken(dataDir, login, name, { scope, expiresDays } = {}) {
  const args = ['token', 'create', login, '--name', name];
  if (scope) args.push('--scope', scope);
  if (expiresDays !== undefined) args.push('--expires-days', String(expiresDays));
  const out = cli(dataDir, args);
  const m = out.match(/zgt_[A-Za-z0-9_\-]+/);
  assert.ok(m, `token create printed a zgt_ token: ${out}`);
  return m[0];
}

/** All audit events after seq `after` (pages through next_after) as the given auditor auth. */
export async function auditEvents(url, auth, { after = 0, user, action } = {}) {
  const events = [];
  let cursor = after;
  for (let i = 0; i < 1000; i++) {
    const q = new URLSearchParams({ after: String(cursor), limit: '200' });
    if (user) q.set('user', user);
    if (action) q.set('action', action);
    const r = await call(url, `/api/v1/audit/events?${q}`, auth);
    assert.equal(r.status, 200, `audit events: ${r.text}`);
    assertSchema('AuditEventList', r.json);
    events.push(...r.json.events);
    if (r.json.events.length === 0 || r.json.next_after === null || r.json.next_after === undefined
      || r.json.next_after === cursor) break;
    cursor = r.json.next_after;
  }
  return events;
}

/** Highest audit seq visible now. */
export async function auditHead(url, auth) {
  const ev = await auditEvents(url, auth);
  return ev.reduce((m, e) => Math.max(m, e.seq), 0);
}

/** A six-digit code that is none of the codes valid for secret around now (±2 steps). */
export function wrongCode(secret) {
  const valid = new Set([-2, -1, 0, 1, 2].map((o) => totp(secret, Date.now(), o)));
  for (let n = 123456; ; n = (n + 7919) % 1000000) {
    const c = String(n).padStart(6, '0');
    if (!valid.has(c)) return c;
  }
}

/** A timestamp of the API (epoch seconds, or an RFC 3339 string) as epoch milliseconds. */
export function toMs(t) {
  return typeof t === 'number' ? t * 1000 : Date.parse(t);
}
