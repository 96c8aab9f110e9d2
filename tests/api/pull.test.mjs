// Pull: the center fetches from a hospital FHIR server incrementally (_lastUpdated), in pages,
// with retries and back-off, checkpoints that survive a SIGKILL, and a status per source.
// The FHIR server is a small node server written here, serving the official R4 examples.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, addUser, cli, cliRaw, BIN } from '../lib/zengen.mjs';
import { call, cliToken, ROOT } from './util.mjs';

const EXAMPLES = join(ROOT, '..', 'shared', 'data', 'fhir', 'r4-official-examples');
const TYPES = ['Patient', 'Condition', 'Observation', 'MedicationStatement', 'MedicationRequest',
  'Procedure', 'FamilyMemberHistory', 'Specimen'];

/** A FHIR server over an in-memory store with _lastUpdated search, paging and faults. */
function fhirServer() {
  const store = new Map(); // "Type/id" → resource
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const put = (r) => {
    clock += 1000;
    const prev = store.get(`${r.resourceType}/${r.id}`);
    const version = prev ? Number(prev.meta.versionId) + 1 : 1;
    store.set(`${r.resourceType}/${r.id}`, { ...r, meta: { versionId: String(version), lastUpdated: new Date(clock).toISOString() } });
  };
  for (const f of readdirSync(EXAMPLES).sort()) {
    const t = f.split('-')[0];
    if (TYPES.includes(t)) put(JSON.parse(readFileSync(join(EXAMPLES, f), 'utf8')));
  }
  const s = {
    store, put, requests: 0, served: 0, matched: 0, failEvery: 0, delayMs: 0, down: false, tokenSeen: null,
    searches: [],
  };
  const srv = createServer(async (req, res) => {
    s.requests++;
    s.tokenSeen = req.headers.authorization || null;
    if (s.down) { req.socket.destroy(); return; }
    if (s.failEvery && s.requests % s.failEvery === 0) {
      res.writeHead(503, { 'retry-after': '1' }); res.end('busy'); return;
    }
    if (s.delayMs) await new Promise((r) => setTimeout(r, s.delayMs));
    const u = new URL(req.url, 'http://x');
    const parts = u.pathname.replace(/^\/fhir\//, '').split('/');
    const send = (code, body) => {
      res.writeHead(code, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify(body));
    };
    if (parts.length === 2) {
      const r = store.get(`${parts[0]}/${parts[1]}`);
      if (!r) return send(404, { resourceType: 'OperationOutcome' });
      s.served++;
      return send(200, r);
    }
    const type = parts[0];
    if (!TYPES.includes(type)) return send(400, { resourceType: 'OperationOutcome' });
    s.searches.push(u.pathname + u.search);
    let list = [...store.values()].filter((r) => r.resourceType === type);
    const lu = u.searchParams.get('_lastUpdated');
    if (lu) {
      const op = lu.slice(0, 2); const t = Date.parse(lu.slice(2));
      list = list.filter((r) => (op === 'gt' ? Date.parse(r.meta.lastUpdated) > t : Date.parse(r.meta.lastUpdated) >= t));
    }
    list.sort((a, b) => a.meta.lastUpdated.localeCompare(b.meta.lastUpdated));
    const count = Number(u.searchParams.get('_count') || 50);
    const offset = Number(u.searchParams.get('_offset') || 0);
    const page = list.slice(offset, offset + count);
    s.served += page.length;
    s.matched += page.length;
    const link = [{ relation: 'self', url: `${s.base}${u.pathname.replace(/^\/fhir/, '')}${u.search}` }];
    if (offset + count < list.length) {
      const next = new URLSearchParams(u.searchParams); next.set('_offset', String(offset + count));
      link.push({ relation: 'next', url: `${s.base}/${type}?${next}` });
    }
    send(200, { resourceType: 'Bundle', type: 'searchset', total: list.length, link,
      entry: page.map((r) => ({ fullUrl: `${s.base}/${type}/${r.id}`, resource: r, search: { mode: 'match' } })) });
  });
  s.listen = () => new Promise((r) => srv.listen(0, '127.0.0.1', () => {
    s.base = `http://127.0.0.1:${srv.address().port}/fhir`; r();
  }));
  s.close = () => new Promise((r) => { srv.closeAllConnections?.(); srv.close(r); });
  return s;
}

let srv, fhir, tok, dataDir;
const env = { ...process.env, ZENGEN_PULL_RETRY_MS: '20' };
const pullStatus = () => JSON.parse(cli(dataDir, ['pull', 'status', '--json'])).sources;
/** `zengen pull run … --once`, asynchronously: the FHIR server runs in this process. */
function run(args = []) {
  return new Promise((resolve) => {
    const p = spawn(BIN, ['pull', 'run', ...args, '--once', '--data', dataDir], { env });
    let stderr = '';
    p.stderr.on('data', (d) => { stderr += d; });
    p.stdout.resume();
    p.on('exit', (status) => resolve({ status, stderr }));
  });
}

before(async () => {
  fhir = fhirServer();
  await fhir.listen();
  srv = await startServer();
  dataDir = srv.dataDir;
  const u = addUser(dataDir, 'pullclin', 'clinician', 'Hosp-Pull');
  tok = cliToken(dataDir, u.login, 'pull-read', { scope: 'detailed-clinical' });
});
after(async () => { await srv?.stop(); await fhir?.close(); });

async function cases() {
  const r = await call(srv.url, '/api/v1/cases?limit=1000', { token: tok });
  assert.equal(r.status, 200, r.text);
  return r.json.cases;
}

async function versions() {
  const ids = [];
  for (const c of await cases()) {
    const h = await call(srv.url, `/api/v1/cases/${c.id}/clinical/history`, { token: tok });
    if (h.status === 404) continue; // a case whose resources all failed to map has no record
    assert.equal(h.status, 200, h.text);
    for (const v of h.json.versions) ids.push(v.source_message_id);
  }
  return ids;
}

test('pull add checks its configuration', () => {
  let r = cliRaw(dataDir, ['pull', 'add', 'hosp-a', '--url', fhir.base, '--org', 'No-Such-Org']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--org/);
  r = cliRaw(dataDir, ['pull', 'add', 'hosp-a', '--url', fhir.base, '--org', 'Hosp-Pull', '--types', 'Patient,Appointment']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Appointment/);
  r = cliRaw(dataDir, ['pull', 'add', 'Bad Name', '--url', fhir.base, '--org', 'Hosp-Pull']);
  assert.notEqual(r.status, 0);
  cli(dataDir, ['pull', 'add', 'hosp-a', '--url', fhir.base, '--org', 'Hosp-Pull', '--batch', '7']);
  const st = pullStatus();
  assert.equal(st.length, 1);
  assert.equal(st[0].state, 'never-run');
  assert.equal(st[0].batch, 7);
});

test('first run pulls everything in pages; status shows checkpoints and what did not map', async () => {
  const r = await run();
  assert.equal(r.status, 0, r.stderr);
  const [s] = pullStatus();
  assert.equal(s.state, 'ok');
  const total = fhir.store.size;
  assert.equal(s.last_run.fetched, total, 'every resource fetched once');
  assert.ok(s.last_run.imported > 20, `imported ${s.last_run.imported}`);
  for (const t of TYPES) assert.ok(s.checkpoints[t], `checkpoint for ${t}`);
  // paging: 7 per page
  assert.ok(fhir.searches.some((q) => q.includes('_offset=7')), 'followed next links');
  assert.ok(s.failures.length > 0, 'resources that cannot be mapped are reported');
  for (const f of s.failures) assert.ok(f.reason.length > 0);
  // the example Patient arrived de-identified (year-month birth), in a case of the hospital
  const all = await cases();
  assert.ok(all.length >= 5);
  let found = false;
  for (const c of all) {
    const g = await call(srv.url, `/api/v1/cases/${c.id}/clinical`, { token: tok });
    if (g.status !== 200) continue;
    const text = JSON.stringify(g.json.record);
    assert.ok(!text.includes('Chalmers') && !text.includes('PleasantVille'), 'no names or addresses');
    if (g.json.record.patient?.birth_year_month === '1974-12') found = true;
  }
  assert.ok(found, 'Patient/example (born 1974-12-25) is stored as 1974-12');
  const ids = await versions();
  assert.equal(new Set(ids).size, ids.length, 'no resource stored twice');
  const text = cli(dataDir, ['pull', 'status']);
  assert.match(text, /hosp-a: ok/);
  assert.match(text, /Condition\s+up to 20/);
});

test('the next run is incremental: only new or changed resources', async () => {
  const before = fhir.matched;
  let r = await run();
  assert.equal(r.status, 0, r.stderr);
  let [s] = pullStatus();
  assert.equal(s.last_run.imported, 0);
  // ge-checkpoint: at most the newest resource of each type is found again
  assert.ok(fhir.matched - before <= TYPES.length, `found again: ${fhir.matched - before}`);
  const v0 = (await versions()).length;
  // the hospital records a new diagnosis for Patient/example
  fhir.put({ resourceType: 'Condition', id: 'new-dx', subject: { reference: 'Patient/example' },
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'C34.1' }], text: '右上葉肺腺癌' },
    onsetDateTime: '2026-03-20' });
  r = await run();
  assert.equal(r.status, 0, r.stderr);
  [s] = pullStatus();
  assert.equal(s.last_run.imported, 1, JSON.stringify(s.last_run));
  assert.equal((await versions()).length, v0 + 1);
});

test('retries with back-off ride over a flaky server', async () => {
  fhir.put({ resourceType: 'Condition', id: 'flaky-dx', subject: { reference: 'Patient/example' },
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'E11.9' }] } });
  fhir.failEvery = 2; // every second request answers 503
  const r = await run();
  fhir.failEvery = 0;
  assert.equal(r.status, 0, r.stderr);
  const [s] = pullStatus();
  assert.ok(s.last_run.retries > 0, JSON.stringify(s.last_run));
  assert.equal(s.last_run.imported, 1);
  assert.equal(s.state, 'ok');
});

test('an unreachable server: the run fails, status says why and when it retries; then it recovers', async () => {
  fhir.down = true;
  let r = await run();
  fhir.down = false;
  assert.equal(r.status, 1);
  let [s] = pullStatus();
  assert.equal(s.state, 'failing');
  assert.match(s.last_error, /network/);
  assert.equal(s.consecutive_failures, 1);
  assert.ok(s.next_attempt_at > Date.now() / 1000);
  r = await run();
  assert.equal(r.status, 0, r.stderr);
  [s] = pullStatus();
  assert.equal(s.state, 'ok');
  assert.equal(s.consecutive_failures, 0);
});

test('killed mid-run, the checkpoint resumes the pull and nothing is stored twice', async () => {
  cli(dataDir, ['pull', 'add', 'hosp-b', '--url', fhir.base, '--org', 'Hosp-Pull', '--batch', '5',
    '--types', 'Patient,Observation']);
  fhir.delayMs = 15;
  const p = spawn(BIN, ['pull', 'run', 'hosp-b', '--once', '--data', dataDir], { stdio: 'ignore', env });
  // wait until the first pages are stored, then kill
  for (let i = 0; i < 400; i++) {
    await new Promise((r) => setTimeout(r, 25));
    const b = pullStatus().find((x) => x.name === 'hosp-b');
    if (b.checkpoints?.Observation) break;
  }
  p.kill('SIGKILL');
  await new Promise((r) => p.once('exit', r));
  await new Promise((r) => setTimeout(r, 200)); // requests of the killed run still in the server
  fhir.delayMs = 0;
  const mid = pullStatus().find((x) => x.name === 'hosp-b');
  assert.ok(mid.checkpoints.Observation, 'a checkpoint was written before the kill');
  assert.equal(mid.last_run, undefined, 'the run was killed before it finished');
  const searchesBefore = fhir.searches.length;
  const r = await run(['hosp-b']);
  assert.equal(r.status, 0, r.stderr);
  const resumed = fhir.searches.slice(searchesBefore).find((q) => q.includes('Observation'));
  assert.match(resumed, /_lastUpdated=ge/, 'resumed from the checkpoint');
  const ids = await versions();
  assert.equal(new Set(ids).size, ids.length, 'no resource stored twice');
});

test('the token file is sent as a bearer token', async () => {
  const tf = join(dataDir, 'fhir-token');
  writeFileSync(tf, 'secret-hospital-token\n', { mode: 0o600 });
  cli(dataDir, ['pull', 'add', 'hosp-c', '--url', fhir.base, '--org', 'Hosp-Pull', '--types', 'Patient', '--token-file', tf]);
  const r = await run(['hosp-c']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fhir.tokenSeen, 'Bearer secret-hospital-token');
  const st = readFileSync(join(dataDir, 'pull', 'hosp-c.state.json'), 'utf8');
  assert.ok(!st.includes('secret-hospital-token'));
});

test('--patient-id-system: the hospital identifier of that system is the local ID', async () => {
  const casesBefore = (await cases()).length;
  cli(dataDir, ['pull', 'add', 'hosp-d', '--url', fhir.base, '--org', 'Hosp-Pull', '--types', 'Patient,Condition',
    '--patient-id-system', 'urn:oid:1.2.36.146.595.217.0.1']);
  const r = await run(['hosp-d']);
  assert.equal(r.status, 0, r.stderr);
  const s = pullStatus().find((x) => x.name === 'hosp-d');
  // Patient/example (12345) and Patient/ch-example carry an identifier of that system: new
  // participants (the local IDs differ from the resource ids used by hosp-a), two more cases
  assert.ok(s.last_run.imported >= 2, JSON.stringify(s.last_run));
  assert.equal((await cases()).length, casesBefore + 2);
  assert.ok(s.failures.some((f) => /no identifier of system/.test(f.reason)), 'patients without that identifier are reported');
  const st = readFileSync(join(dataDir, 'pull', 'hosp-d.state.json'), 'utf8');
  assert.ok(!/12345|3112219680806371X/.test(st), 'no hospital identifier in the pull state');
});
