// The hospital gateway end to end: SS-MIX2 storage (the real examples + 24 generated patients)
// → zengen gateway → the center. The center is killed (SIGKILL) mid-transfer and both sides
// are restarted: every record must arrive exactly once. Malformed messages go to quarantine
// with a reason; direct identifiers never reach the center.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, addUser, cli, cliRaw, BIN } from '../lib/zengen.mjs';
import { call, cliToken, ROOT } from './util.mjs';

const EXTRA = join(ROOT, 'tests', 'data', 'ssmix2-extra');
const EXAMPLES = join(ROOT, '..', 'shared', 'data', 'hl7v2', 'ssmix2-examples');
const manifest = JSON.parse(readFileSync(join(EXTRA, 'manifest.json'), 'utf8'));

let srv, work, storage, state, tokenFile, tok, dataDir;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  srv = await startServer();
  dataDir = srv.dataDir;
  const u = addUser(dataDir, 'gwhosp', 'hospital-data', 'Hosp-GW');
  tok = cliToken(dataDir, u.login, 'gateway', { scope: 'identifiable,detailed-clinical' });
  work = mkdtempSync(join(tmpdir(), 'zg-gw-'));
  storage = join(work, 'ssmix2');
  state = join(work, 'state');
  tokenFile = join(work, 'token');
  writeFileSync(tokenFile, `${tok}\n`, { mode: 0o600 });
  cpSync(join(EXTRA, 'tree'), storage, { recursive: true });
  cpSync(join(EXTRA, 'broken'), storage, { recursive: true });
  // the real SS-MIX2 examples (message files only), in a storage-tree folder of their own
  for (const f of readdirSync(EXAMPLES).filter((n) => /_\d$/.test(n))) {
    cpSync(join(EXAMPLES, f), join(storage, 'EXA', f));
  }
});

after(async () => {
  await srv?.stop().catch(() => {});
  if (work) rmSync(work, { recursive: true, force: true });
});

function startGateway(url) {
  const p = spawn(BIN, ['gateway', '--ssmix2', storage, '--center', url, '--token-file', tokenFile,
    '--mapping', join(EXTRA, 'mapping.json'), '--state', state, '--interval', '1', '--settle', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ZENGEN_GATEWAY_BACKOFF_CAP: '2' },
  });
  let log = '';
  p.stdout.on('data', (d) => { log += d; });
  p.stderr.on('data', (d) => { log += d; });
  p.log = () => log;
  return p;
}

/** Runs a zengen command without blocking the event loop. */
function runAsync(args) {
  return new Promise((resolve) => {
    const p = spawn(BIN, args);
    let stderr = '';
    p.stderr.on('data', (d) => { stderr += d; });
    p.stdout.resume();
    p.on('exit', (code) => resolve({ status: code, stderr }));
  });
}

function status() {
  return JSON.parse(cli(dataDir, ['gateway', 'status', '--state', state, '--json']).toString());
}

async function orgCases(url) {
  const r = await call(url, '/api/v1/cases?limit=1000', { token: tok });
  assert.equal(r.status, 200, r.text);
  return r.json.cases;
}

// generated + the ADT, PPR^ZD1 and RDE^O11 examples (the OUL^R22 one holds only lab values)
const expected = manifest.messages.length + 3;

test('a center killed mid-transfer and both sides restarted: every record arrives exactly once', async () => {
  let gw = startGateway(srv.url);
  // wait until some, not all, records have reached the center, then kill it hard
  const deadline = Date.now() + 60000;
  for (;;) {
    const cases = await orgCases(srv.url).catch(() => []);
    if (cases.length >= 3) break;
    assert.ok(Date.now() < deadline, `no case arrived: ${gw.log()}`);
    await sleep(5);
  }
  srv.proc.kill('SIGKILL');
  await new Promise((r) => srv.proc.once('exit', r));
  await sleep(1500); // the gateway keeps retrying against a dead center
  const mid = status();
  assert.ok(mid.queue.pending > 0, `the kill happened mid-transfer: ${JSON.stringify(mid.queue)}`);
  assert.ok(mid.queue.sent > 0);
  gw.kill('SIGKILL');
  await new Promise((r) => gw.once('exit', r));

  // restart both sides (the center on a new port, same data directory)
  srv = await startServer({ dataDir, init: false });
  gw = startGateway(srv.url);
  const deadline2 = Date.now() + 90000;
  let st;
  for (;;) {
    st = status();
    if (st.queue.pending === 0) break;
    assert.ok(Date.now() < deadline2, `queue did not drain: ${JSON.stringify(st)}\n${gw.log()}`);
    await sleep(200);
  }
  gw.kill('SIGTERM');
  await new Promise((r) => gw.once('exit', r));
  assert.equal(st.queue.rejected, 0, JSON.stringify(st.rejected));
  assert.equal(st.queue.sent, expected);

  // the center holds every message exactly once: one version per message id, per case
  const cases = await orgCases(srv.url);
  assert.equal(cases.length, manifest.patients.length + 2, 'one case per patient');
  const seen = new Map();
  for (const c of cases) {
    const h = await call(srv.url, `/api/v1/cases/${c.id}/clinical/history`, { token: tok });
    assert.equal(h.status, 200, h.text);
    for (const v of h.json.versions) {
      assert.ok(v.source_message_id, 'every version names its message');
      assert.ok(!seen.has(v.source_message_id), `message ${v.source_message_id} arrived twice`);
      seen.set(v.source_message_id, c.id);
    }
  }
  for (const m of manifest.messages) assert.ok(seen.has(m.message_id), `message ${m.message_id} arrived`);
  assert.equal(seen.size, expected);
  // the messages of one patient went to one case
  for (const p of manifest.patients) {
    const ids = new Set(manifest.messages.filter((m) => m.patient === p.id).map((m) => seen.get(m.message_id)));
    assert.equal(ids.size, 1, `patient ${p.id} has one case`);
  }
});

test('records are converted, Japanese text intact, and carry no direct identifiers', async () => {
  const cases = await orgCases(srv.url);
  const all = [];
  for (const c of cases) {
    const r = await call(srv.url, `/api/v1/cases/${c.id}/clinical`, { token: tok });
    assert.equal(r.status, 200, r.text);
    all.push(r.json.record);
  }
  const text = JSON.stringify(all);
  for (const p of manifest.patients) {
    for (const ident of p.identifiers) assert.ok(!text.includes(ident), `identifier ${ident} reached the center`);
  }
  for (const banned of ['患者', 'カンジャ', '静岡県静岡市登呂', '054-000-0000']) {
    assert.ok(!text.includes(banned), `example identifier ${banned} reached the center`);
  }
  // IDs and dates made of digits count as whole tokens (an order number may contain them)
  for (const banned of ['9999013', '1234567890', '0001000052', '19480405', '1948-04-05']) {
    assert.ok(!new RegExp(`(^|[^0-9A-Za-z])${banned}([^0-9A-Za-z]|$)`).test(text), `example identifier ${banned} reached the center`);
  }
  // de-identified but useful: birth year-month, diagnosis codes with Japanese text
  const withDx = all.filter((r) => r.diagnosis?.icd10);
  assert.equal(withDx.length, manifest.patients.length);
  assert.ok(withDx.some((r) => r.diagnosis.text === 'S状結腸癌' && r.diagnosis.oncotree === 'COAD'));
  assert.ok(all.some((r) => (r.background?.comorbidities || []).some((c) => c.icd10 === 'K29.7' && c.text === '胃炎')),
    'the real PPR^ZD1 example arrived with its Japanese text');
  assert.ok(all.every((r) => !r.patient?.birth_year_month || /^\d{4}-\d{2}$/.test(r.patient.birth_year_month)));
  assert.ok(all.some((r) => r.patient?.birth_year_month === '1948-04'), 'the ADT example: born 1948-04');
  const rx = all.flatMap((r) => r.drug_therapies || []);
  assert.equal(rx.length, manifest.patients.length + 3, 'one per generated patient + 3 in the RDE^O11 example');
  assert.ok(rx.some((d) => d.drugs[0].name === 'phenytoin' && d.drugs[0].text === 'アレピアチン１０倍散'));
  assert.ok(rx.some((d) => d.drugs[0].name === 'osimertinib' && d.drugs[0].text === 'オシメルチニブ錠'));
  assert.ok(all.filter((r) => r.diagnosis?.performance_status?.scale === 'ECOG').length === manifest.patients.length);
});

test('malformed messages are quarantined with a reason; withdrawn ones are skipped', () => {
  const st = status();
  assert.equal(st.files.quarantined, manifest.broken.length);
  assert.equal(st.files.skipped, 2, 'the withdrawn message and the OUL^R22 example (lab values only)');
  assert.deepEqual(st.skipped_by_reason, { 'withdrawn (condition flag 0)': 1,
    'only laboratory values, which model 1.0 does not hold': 1 });
  const qdir = join(state, 'quarantine');
  const files = readdirSync(qdir);
  for (const b of manifest.broken) {
    // printed names drop the patient ID: ADT-00/*_-_ADT-00_<name>_…
    const shown = `ADT-00/*${b.file.split('/').pop().replace(/^[^_]+/, '')}`;
    const q = files.find((f) => !f.endsWith('.reason.txt') && f.includes(shown.replace(/[/*]/g, '_')));
    assert.ok(q, `${shown} is in quarantine: ${files.join(' ')}`);
    assert.ok(!q.includes('B0000001'), 'quarantine file names carry no patient ID');
    const reason = readFileSync(join(qdir, `${q}.reason.txt`), 'utf8');
    assert.ok(reason.includes(b.reason), `${shown}: reason "${reason}" mentions "${b.reason}"`);
    assert.ok(!reason.includes('試験') && !reason.includes('B0000001'), 'reason holds no patient data');
    const listed = st.quarantine.find((x) => x.file === shown);
    assert.ok(listed && listed.reason.includes(b.reason), `status lists ${shown}`);
    assert.ok(readFileSync(join(qdir, q)).length > 0, 'the raw message is kept for the vendor');
  }
  const text = cli(dataDir, ['gateway', 'status', '--state', state]);
  assert.match(text, /quarantined: .*escape sequence/);
});

async function versionCount() {
  let n = 0;
  for (const c of await orgCases(srv.url)) {
    const h = await call(srv.url, `/api/v1/cases/${c.id}/clinical/history`, { token: tok });
    n += h.json.versions.length;
  }
  return n;
}

test('every response lost: resending the whole queue changes nothing at the center (Idempotency-Key)', async (t) => {
  if (spawnSync('sqlite3', ['-version']).status !== 0) { t.skip('the sqlite3 command is not installed'); return; }
  const versions = await versionCount();
  // pretend no acknowledgement ever arrived, and forget the linkage cache too
  execFileSync('sqlite3', [join(state, 'gateway.db'),
    "UPDATE queue SET state='pending', next_at=0 WHERE state='sent'; DELETE FROM linkage;"]);
  assert.equal(status().queue.pending, expected);
  const r = cliRaw(dataDir, ['gateway', '--ssmix2', storage, '--center', srv.url, '--token-file', tokenFile,
    '--mapping', join(EXTRA, 'mapping.json'), '--state', state, '--once', '--settle', '0']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(status().queue.sent, expected);
  assert.equal(await versionCount(), versions, 'no new version: every push was a replay');
  assert.equal((await orgCases(srv.url)).length, manifest.patients.length + 2, 'no new case');
});

test('a second run sends nothing again; the linkage cache is encrypted', async () => {
  const before = status();
  const r = cliRaw(dataDir, ['gateway', '--ssmix2', storage, '--center', srv.url, '--token-file', tokenFile,
    '--mapping', join(EXTRA, 'mapping.json'), '--state', state, '--once', '--settle', '0']);
  assert.equal(r.status, 0, r.stderr);
  const afterSt = status();
  assert.equal(afterSt.queue.sent, before.queue.sent);
  assert.equal(afterSt.files.queued, before.files.queued);
  const db = readFileSync(join(state, 'gateway.db'));
  for (const p of manifest.patients) assert.ok(!db.includes(Buffer.from(p.id)), `${p.id} stored in clear`);
  assert.ok(!db.includes(Buffer.from('B0000001')), 'quarantined files are named without the patient ID');
  assert.ok(existsSync(join(state, 'status.json')));
});

test('CSV exports described by the mapping file: rows arrive, unmapped columns never leave', async () => {
  const csvDir = join(work, 'csv');
  const st3 = join(work, 'state3');
  const mapping = JSON.parse(readFileSync(join(EXTRA, 'mapping.json'), 'utf8'));
  mapping.csv = [{
    name: 'registry', files: 'registry_*.csv', patient_id: '患者ID', identifiers: ['氏名', '電話'],
    fields: [
      { column: 'ICD10', to: '/diagnosis/icd10', format: 'icd10' },
      { column: '診断日', to: '/diagnosis/date', format: 'date' },
      { column: '病期', to: '/diagnosis/tnm/stage' },
      { value: 8, to: '/diagnosis/tnm/edition' },
      { column: '最終確認日', to: '/course/last_followup_date', format: 'date' },
      { column: '転帰', to: '/course/vital_status', map: { 生存: 'alive', 死亡: 'dead' } },
      { column: 'メモ', to: '/diagnosis/histology_text' },
    ],
  }];
  const mapFile = join(work, 'mapping-csv.json');
  writeFileSync(mapFile, JSON.stringify(mapping));
  const rows = ['患者ID,氏名,電話,ICD10,診断日,病期,最終確認日,転帰,メモ',
    'T7000001,見本太郎,090-1111-2222,C16.9,2026/03/01,IIIA,2026/10/01,生存,見本太郎様 腺癌 連絡先 090-1111-2222',
    'T7000002,架空花子,03-1111-2222,C34.1,2026/02/30,IV,2026/09/30,死亡,低分化腺癌'];
  const { mkdirSync } = await import('node:fs');
  mkdirSync(csvDir);
  writeFileSync(join(csvDir, 'registry_2026.csv'), `${rows.join('\r\n')}\r\n`);
  writeFileSync(join(csvDir, 'other.csv'), 'a,b\n1,2\n'); // no layout: skipped
  let r = cliRaw(dataDir, ['gateway', '--csv', csvDir, '--mapping', mapFile, '--center', srv.url,
    '--token-file', tokenFile, '--state', st3, '--once', '--settle', '0']);
  // 30 February is not a date: the whole file is quarantined, naming the row
  assert.equal(r.status, 0, r.stderr);
  let s = JSON.parse(cli(dataDir, ['gateway', 'status', '--state', st3, '--json']));
  assert.equal(s.files.quarantined, 1, JSON.stringify(s));
  assert.match(s.quarantine[0].reason, /row 3: column '診断日': not a date/);
  assert.equal(s.queue.sent, 0, 'nothing of a quarantined file is sent');
  // corrected export (a new file): both rows arrive, in the cases of the pushed SS-MIX2 patients
  rows[2] = 'T7000002,架空花子,03-1111-2222,C34.1,2026/02/01,IV,2026/09/30,死亡,低分化腺癌';
  writeFileSync(join(csvDir, 'registry_2026b.csv'), `${rows.join('\n')}\n`);
  r = cliRaw(dataDir, ['gateway', '--csv', csvDir, '--mapping', mapFile, '--center', srv.url,
    '--token-file', tokenFile, '--state', st3, '--once', '--settle', '0']);
  assert.equal(r.status, 0, r.stderr);
  s = JSON.parse(cli(dataDir, ['gateway', 'status', '--state', st3, '--json']));
  assert.equal(s.queue.sent, 2);
  assert.equal(s.files.skipped, 1);
  const cases = await orgCases(srv.url);
  assert.equal(cases.length, manifest.patients.length + 2, 'no new case: same patients as SS-MIX2');
  let hit = 0;
  for (const c of cases) {
    const g = await call(srv.url, `/api/v1/cases/${c.id}/clinical`, { token: tok });
    const rec = g.json.record;
    const text = JSON.stringify(rec);
    assert.ok(!text.includes('見本太郎') && !text.includes('090-1111-2222') && !text.includes('03-1111-2222'));
    if (rec.diagnosis?.tnm?.stage === 'IIIA' && rec.course?.last_followup_date === '2026-10-01') {
      hit++;
      assert.equal(rec.diagnosis.histology_text, '***様 腺癌 連絡先 ***');
    }
    if (rec.diagnosis?.histology_text === '低分化腺癌') hit++;
  }
  assert.equal(hit, 2);
});

test('zengen import ssmix2 runs the same conversion locally; a second import changes nothing', async () => {
  cli(dataDir, ['org', 'add', 'Hosp-Imp', '--type', 'hospital']);
  const imp = addUser(dataDir, 'gwimp', 'hospital-data', 'Hosp-Imp');
  const itok = cliToken(dataDir, imp.login, 'imp', { scope: 'detailed-clinical' });
  let r = cliRaw(dataDir, ['import', 'ssmix2', join(EXTRA, 'tree'), '--org', 'Hosp-Imp', '--mapping', join(EXTRA, 'mapping.json')]);
  assert.equal(r.status, 0, r.stderr);
  const list = await call(srv.url, '/api/v1/cases?limit=1000', { token: itok });
  assert.equal(list.json.cases.length, manifest.patients.length);
  const count = async () => {
    let n = 0;
    for (const c of list.json.cases) {
      const h = await call(srv.url, `/api/v1/cases/${c.id}/clinical/history`, { token: itok });
      n += h.json.versions.length;
    }
    return n;
  };
  const n1 = await count();
  assert.equal(n1, manifest.messages.length);
  r = cliRaw(dataDir, ['import', 'ssmix2', join(EXTRA, 'tree'), '--org', 'Hosp-Imp', '--mapping', join(EXTRA, 'mapping.json')]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(await count(), n1, 'idempotent');
  // malformed messages make the import fail, naming the reason
  r = cliRaw(dataDir, ['import', 'ssmix2', join(EXTRA, 'broken'), '--org', 'Hosp-Imp']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /PID-5: invalid or unterminated escape sequence/);
  assert.match(r.stderr, /not valid in ISO-2022-JP/);
});

test('gateway rescan: after the mapping file gains a drug, the skipped prescription is sent', () => {
  const st4 = join(work, 'state4');
  const exa = join(storage, 'EXA');
  const base = ['gateway', '--ssmix2', exa, '--center', srv.url, '--token-file', tokenFile, '--state', st4, '--once', '--settle', '0'];
  let r = cliRaw(dataDir, base);
  assert.equal(r.status, 0, r.stderr);
  let s = JSON.parse(cli(dataDir, ['gateway', 'status', '--state', st4, '--json']));
  assert.equal(s.queue.sent, 2);
  assert.equal(s.skipped_by_reason["no drug of the message is in the mapping file's drug table"], 1);
  r = cliRaw(dataDir, ['gateway', 'rescan', '--state', st4, '--skipped']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^2 file\(s\)/);
  r = cliRaw(dataDir, [...base, '--mapping', join(EXTRA, 'mapping.json')]);
  assert.equal(r.status, 0, r.stderr);
  s = JSON.parse(cli(dataDir, ['gateway', 'status', '--state', st4, '--json']));
  assert.equal(s.queue.sent, 3, 'the prescription went; nothing else was sent again');
  assert.equal(s.files.skipped, 1);
});

test('HTTPS center with a private CA: --cacert trusts it; without it nothing is sent', async (t) => {
  const tdir = join(work, 'tls');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(tdir);
  const key = join(tdir, 'key.pem'), cert = join(tdir, 'cert.pem');
  const o = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (o.status !== 0) { t.skip('openssl is not installed'); return; }
  // a center of its own (one server per data directory)
  const tls = await startServer({ extraArgs: ['--tls-cert', cert, '--tls-key', key] });
  try {
    const u = addUser(tls.dataDir, 'gwtls', 'hospital-data', 'Hosp-TLS');
    const tf = join(tdir, 'token');
    writeFileSync(tf, `${cliToken(tls.dataDir, u.login, 'gw', { scope: 'identifiable,detailed-clinical' })}\n`, { mode: 0o600 });
    const exa = join(storage, 'EXA');
    const base = ['gateway', '--ssmix2', exa, '--center', tls.url, '--token-file', tf, '--once', '--settle', '0'];
    let r = await runAsync([...base, '--state', join(work, 'state-tls1')]);
    assert.equal(r.status, 1, 'untrusted certificate: items stay pending');
    let s = JSON.parse(cli(dataDir, ['gateway', 'status', '--state', join(work, 'state-tls1'), '--json']));
    assert.equal(s.queue.sent, 0);
    assert.match(s.last_error, /network: .*(SSL|certificate)/i);
    r = await runAsync([...base, '--state', join(work, 'state-tls2'), '--cacert', cert]);
    assert.equal(r.status, 0, r.stderr);
    s = JSON.parse(cli(dataDir, ['gateway', 'status', '--state', join(work, 'state-tls2'), '--json']));
    assert.equal(s.queue.sent, 2);
  } finally {
    await tls.stop().catch(() => {});
  }
});

test('gateway usage errors and a refused token', async () => {
  let r = cliRaw(dataDir, ['gateway', '--ssmix2', storage]);
  assert.equal(r.status, 2);
  const badTok = join(work, 'badtoken');
  writeFileSync(badTok, 'zgt_not_a_real_token\n', { mode: 0o600 });
  // one gateway per state directory
  const running = startGateway(srv.url);
  await sleep(300);
  r = cliRaw(dataDir, ['gateway', '--ssmix2', storage, '--center', srv.url, '--token-file', tokenFile,
    '--state', state, '--once', '--settle', '0']);
  running.kill('SIGTERM');
  await new Promise((res) => running.once('exit', res));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /another gateway is running/);
  const st2 = join(work, 'state2');
  r = cliRaw(dataDir, ['gateway', '--ssmix2', join(EXTRA, 'tree'), '--center', srv.url, '--token-file', badTok,
    '--mapping', join(EXTRA, 'mapping.json'), '--state', st2, '--once', '--settle', '0']);
  assert.equal(r.status, 1, 'items stay pending when the center refuses the token');
  const s = JSON.parse(cli(dataDir, ['gateway', 'status', '--state', st2, '--json']));
  assert.equal(s.queue.sent, 0);
  assert.ok(s.queue.pending > 0);
  assert.match(s.last_error, /HTTP 401/);
});
