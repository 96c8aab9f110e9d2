// Push (zengen gateway) and pull (zengen pull) measured side by side on one machine: bulk
// transfer time, latency from a new record at the hospital to its arrival at the center, and
// what an idle cycle costs the hospital. Prints a table (copied into docs/push-vs-pull.md) and
// checks only that each path delivers; the numbers are for the comparison.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { startServer, addUser, cli, BIN } from '../lib/zengen.mjs';
import { call, cliToken, ROOT } from './util.mjs';

const EXTRA = join(ROOT, 'tests', 'data', 'ssmix2-extra');
let srv, tok, work, fhir, fhirBase;
const rows = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

function exec(args, env = process.env) {
  return new Promise((resolve) => {
    const p = spawn(BIN, args, { env });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.stdout.resume();
    p.on('exit', (status) => resolve({ status, stderr: err }));
  });
}

async function totalVersions() {
  let n = 0;
  const r = await call(srv.url, '/api/v1/cases?limit=1000', { token: tok });
  for (const c of r.json.cases) {
    const h = await call(srv.url, `/api/v1/cases/${c.id}/clinical/history`, { token: tok });
    if (h.status === 200) n += h.json.versions.length;
  }
  return n;
}

before(async () => {
  srv = await startServer();
  const u = addUser(srv.dataDir, 'measure', 'hospital-data', 'Hosp-M');
  tok = cliToken(srv.dataDir, u.login, 'gw', { scope: 'identifiable,detailed-clinical' });
  work = mkdtempSync(join(tmpdir(), 'zg-measure-'));
  writeFileSync(join(work, 'token'), `${tok}\n`, { mode: 0o600 });
  // a FHIR server holding the same 24 synthetic patients as FHIR resources
  const store = [];
  let clock = Date.parse('2026-01-01T00:00:00Z');
  fhir = { store, requests: 0, matched: 0, add(r) { clock += 1000; store.push({ ...r, meta: { versionId: '1', lastUpdated: new Date(clock).toISOString() } }); } };
  const man = JSON.parse(readFileSync(join(EXTRA, 'manifest.json'), 'utf8'));
  man.patients.forEach((p, i) => {
    fhir.add({ resourceType: 'Patient', id: p.id, gender: i % 2 ? 'female' : 'male', birthDate: '1960-01-01' });
    fhir.add({ resourceType: 'Condition', id: `dx-${i}`, subject: { reference: `Patient/${p.id}` },
      code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'C18.7' }] }, onsetDateTime: '2026-04-01' });
    fhir.add({ resourceType: 'MedicationStatement', id: `rx-${i}`, subject: { reference: `Patient/${p.id}` }, status: 'active',
      medicationCodeableConcept: { text: 'oxaliplatin', coding: [{ system: 'http://www.whocc.no/atc', code: 'L01XA03', display: 'oxaliplatin' }] },
      effectivePeriod: { start: '2026-04-10' } });
    fhir.add({ resourceType: 'Observation', id: `ps-${i}`, subject: { reference: `Patient/${p.id}` }, status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '89247-1' }] }, valueInteger: i % 3, effectiveDateTime: '2026-04-01' });
  });
  const http = createServer((req, res) => {
    fhir.requests++;
    const u = new URL(req.url, 'http://x');
    const [type, id] = u.pathname.replace(/^\/fhir\//, '').split('/');
    res.setHeader('content-type', 'application/fhir+json');
    if (id) {
      const r = store.find((x) => x.resourceType === type && x.id === id);
      res.statusCode = r ? 200 : 404;
      return res.end(JSON.stringify(r || {}));
    }
    const lu = u.searchParams.get('_lastUpdated');
    let list = store.filter((x) => x.resourceType === type);
    if (lu) list = list.filter((x) => x.meta.lastUpdated >= new Date(Date.parse(lu.slice(2))).toISOString());
    const count = Number(u.searchParams.get('_count') || 100), off = Number(u.searchParams.get('_offset') || 0);
    const page = list.slice(off, off + count);
    fhir.matched += page.length;
    const link = off + count < list.length ? [{ relation: 'next', url: `${fhirBase}/${type}?${new URLSearchParams({ ...Object.fromEntries(u.searchParams), _offset: off + count })}` }] : [];
    res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', link, entry: page.map((r) => ({ resource: r, search: { mode: 'match' } })) }));
  });
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  fhirBase = `http://127.0.0.1:${http.address().port}/fhir`;
  fhir.http = http;
});

after(async () => {
  console.log('\n| measure | push (gateway) | pull (FHIR) |\n|---|---|---|');
  for (const r of rows) console.log(`| ${r[0]} | ${r[1]} | ${r[2]} |`);
  fhir?.http?.close();
  await srv?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('bulk transfer of 24 patients (96 records)', async () => {
  const storage = join(work, 'ssmix2');
  cpSync(join(EXTRA, 'tree'), storage, { recursive: true });
  let t0 = Date.now();
  const r1 = await exec(['gateway', '--ssmix2', storage, '--center', srv.url, '--token-file', join(work, 'token'),
    '--mapping', join(EXTRA, 'mapping.json'), '--state', join(work, 'state'), '--once', '--settle', '0']);
  const pushMs = Date.now() - t0;
  assert.equal(r1.status, 0, r1.stderr);
  // the same hospital, pulled instead: Patient ids are the SS-MIX2 patient IDs, so the
  // linkage store leads to the same participants and cases
  cli(srv.dataDir, ['pull', 'add', 'm', '--url', fhirBase, '--org', 'Hosp-M', '--types', 'Patient,Condition,MedicationStatement,Observation']);
  t0 = Date.now();
  const r2 = await exec(['pull', 'run', 'm', '--once', '--data', srv.dataDir]);
  const pullMs = Date.now() - t0;
  assert.equal(r2.status, 0, r2.stderr);
  const st = JSON.parse(cli(srv.dataDir, ['pull', 'status', '--json'])).sources[0];
  assert.equal(st.last_run.fetched, 96);
  assert.equal(st.last_run.failed, 0, JSON.stringify(st.failures));
  const cases = await call(srv.url, '/api/v1/cases?limit=1000', { token: tok });
  assert.equal(cases.json.cases.length, 24, 'push and pull of the same patients share their cases');
  rows.push(['96 records, 24 patients: wall time', `${pushMs} ms`, `${pullMs} ms`]);
  rows.push(['HTTP requests for them', 'center: 24×(linkage+case)+96 PATCH ≈ 150', `hospital: ${st.last_run.requests} (${st.last_run.requests - 4} Patient reads + 4 searches)`]);
});

test('latency: a new record at the hospital → stored at the center', async () => {
  // push: the gateway polls storage every second
  const storage = join(work, 'ssmix2');
  const gw = spawn(BIN, ['gateway', '--ssmix2', storage, '--center', srv.url, '--token-file', join(work, 'token'),
    '--mapping', join(EXTRA, 'mapping.json'), '--state', join(work, 'state'), '--interval', '1', '--settle', '0'], { stdio: 'ignore' });
  const pushLat = [];
  const man = JSON.parse(readFileSync(join(EXTRA, 'manifest.json'), 'utf8'));
  const src = man.messages.find((m) => m.file.includes('PPR-01'));
  for (let i = 0; i < 5; i++) {
    const before = await totalVersions();
    const text = readFileSync(join(EXTRA, 'tree', src.file)).toString('latin1').replace(/\|P(\d+)\|P\|2\.5/, `|LAT${i}|P|2.5`);
    // a new message: another control ID and another comorbidity item id
    const body = Buffer.from(text.replace(/PRB\d+B/, `PRBL${i}`), 'latin1');
    const t0 = Date.now();
    const dest = join(storage, src.file.replace(/_1$/, `${i}_1`));
    writeFileSync(`${dest}.tmp`, body); // written aside, then renamed: the way an EHR should
    renameSync(`${dest}.tmp`, dest);
    while ((await totalVersions()) === before) await sleep(20);
    pushLat.push(Date.now() - t0);
  }
  gw.kill('SIGTERM');
  // pull: polling every second
  const pr = spawn(BIN, ['pull', 'run', 'm', '--interval', '1', '--data', srv.dataDir], { stdio: 'ignore' });
  await sleep(1500);
  const pullLat = [];
  for (let i = 0; i < 5; i++) {
    const before = await totalVersions();
    const t0 = Date.now();
    fhir.add({ resourceType: 'Condition', id: `lat-${i}`, subject: { reference: `Patient/${man.patients[0].id}` },
      code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: `E1${i}.9` }] } });
    while ((await totalVersions()) === before) await sleep(20);
    pullLat.push(Date.now() - t0);
  }
  // idle cost for the hospital: one polling cycle with nothing new
  const req0 = fhir.requests, m0 = fhir.matched;
  await sleep(3200);
  const cycles = 3;
  pr.kill('SIGTERM');
  rows.push(['latency, poll interval 1 s (median of 5)', `${median(pushLat)} ms (gateway scan interval)`, `${median(pullLat)} ms (pull interval)`]);
  rows.push(['idle cycle: load on the hospital', 'a directory scan on the gateway host; no request to the EHR',
    `≈${Math.round((fhir.requests - req0) / cycles)} requests/cycle to the FHIR server, ≈${Math.round((fhir.matched - m0) / cycles)} resources re-read (ge checkpoint)`]);
  assert.ok(pushLat.length === 5 && pullLat.length === 5);
});
