// Clinical records (issue 3, M14): the model schema, single and bulk pushes, idempotency keys,
// etags, version history, validation errors, organisation scope, completeness, search, counts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startServer, addUser } from '../lib/zengen.mjs';
import { request as httpRequest } from 'node:http';
import { call, assertProblem, cliToken, assertSchema } from './util.mjs';

let srv, tokA, tokB, tokAcad, tokOp;
const cases = [];

/** A complete, valid record of the standard model. */
function record(over = {}) {
  return {
    consent: { status: 'consented', date: '2026-04-01', secondary_findings: true },
    patient: { sex: 'female', birth_year_month: '1961-05' },
    specimens: [{ id: 's1', type: 'tumour-ffpe', collection_date: '2026-04-10', method: 'surgery',
      site: { icdo3_topography: 'C34.1', text: '右上葉' }, tumour_cellularity: 60 }],
    background: { smoking: { status: 'former', pack_years: 30 }, alcohol: { status: 'current' },
      comorbidities: [{ icd10: 'E11.9', text: '2型糖尿病' }],
      family_history: [{ relation: 'father', icd10: 'C16.9', oncotree: 'STAD', age_at_diagnosis: 70 }] },
    diagnosis: { oncotree: 'LUAD', icd10: 'C34.1', icdo3_topography: 'C34.1', icdo3_morphology: '8140/3',
      date: '2026-03-20', histology_text: '腺癌',
      tnm: { edition: 8, kind: 'clinical', t: 'T2a', n: 'N1', m: 'M1b', stage: 'IVA' },
      metastatic_sites: [{ icdo3_topography: 'C71.9', text: 'brain' }],
      performance_status: { scale: 'ECOG', value: 1, date: '2026-03-20' } },
    drug_therapies: [{ id: 'rx1', line: 1, regimen: 'osimertinib', drugs: [{ name: 'osimertinib', atc: 'L01EB04' }],
      start_date: '2026-04-15', end_date: '2026-09-30', best_response: 'PR', stop_reason: 'progression' }],
    surgeries: [{ date: '2026-04-10', procedure: { system: 'snomed', code: '173171007', text: 'lobectomy' }, residual: 'R0' }],
    radiotherapies: [{ start_date: '2026-10-01', site: { icdo3_topography: 'C71.9' }, dose_gy: 30, fractions: 10 }],
    adverse_events: [{ term: 'Neutrophil count decreased', meddra: '10029366', grade: 3, date: '2026-05-01' }],
    course: { progression_date: '2026-09-25', last_followup_date: '2026-11-01', vital_status: 'alive' },
    expert_panel: [{ date: '2026-05-20', recommendations: [{ treatment: 'amivantamab', given: false, trial_enrolled: true, trial_id: 'jRCT2031210001' }] }],
    ...over,
  };
}

const auth = (token, headers = {}) => ({ token, headers });

async function newCase(token) {
  const r = await call(srv.url, '/api/v1/cases', { token, body: {} });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}

before(async () => {
  srv = await startServer();
  addUser(srv.dataDir, 'hosp-a', 'hospital-data', 'Hospital A');
  addUser(srv.dataDir, 'hosp-b', 'hospital-data', 'Hospital B');
  addUser(srv.dataDir, 'res1', 'academic', 'Uni', 'academia');
  addUser(srv.dataDir, 'op1', 'operator', 'DC', 'datacenter');
  tokA = cliToken(srv.dataDir, 'hosp-a', 'gw-a');
  tokB = cliToken(srv.dataDir, 'hosp-b', 'gw-b');
  tokAcad = cliToken(srv.dataDir, 'res1', 'r');
  tokOp = cliToken(srv.dataDir, 'op1', 'o');
  for (let i = 0; i < 6; i++) cases.push(await newCase(tokA));
});
after(async () => { await srv?.stop(); });

test('the model schema is served, is valid JSON Schema 2020-12 and agrees with the server', async () => {
  const r = await call(srv.url, '/api/v1/schemas/clinical');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /schema\+json/);
  const ajv = new Ajv2020({ allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(r.json);
  assert.ok(validate(record()), ajv.errorsText(validate.errors));
  const bad = [
    record({ diagnosis: { ...record().diagnosis, icd10: 'C341' } }),
    record({ patient: { sex: 'f' } }),
    record({ drug_therapies: [{ drugs: [{ text: 'only free text' }], start_date: '2026-01-01' }] }),
    record({ extra: 1 }),
    record({ adverse_events: [{ term: 'Nausea', grade: 2, date: '2026-01-01' }] }),
  ];
  for (const b of bad) {
    assert.equal(validate(b), false, `ajv accepts ${JSON.stringify(b).slice(0, 80)}`);
    const v = await call(srv.url, '/api/v1/clinical/validate', auth(tokA, {}).token ? { token: tokA, body: b } : {});
    assert.equal(v.status, 200);
    assert.equal(v.json.valid, false, `server accepts what ajv rejects: ${v.text}`);
  }
  const ok = await call(srv.url, '/api/v1/clinical/validate', { token: tokA, body: record() });
  assert.equal(ok.json.valid, true, ok.text);
  assert.equal(ok.json.completeness.complete, true);
  assertSchema('ClinicalValidation', ok.json);
});

test('validation lists every error with a JSON Pointer and a reason; codes are checked', async () => {
  const b = record();
  b.diagnosis.oncotree = 'NOTACODE';
  b.diagnosis.icdo3_morphology = '8140-3';
  b.patient.sex = 7;
  b.drug_therapies[0].end_date = '2026-02-30';
  b.course.death_date = '2026-12-01';
  const v = await call(srv.url, '/api/v1/clinical/validate', { token: tokA, body: b });
  const ptrs = v.json.errors.map((e) => e.pointer);
  assert.ok(ptrs.includes('/diagnosis/oncotree'), v.text);
  assert.ok(ptrs.includes('/diagnosis/icdo3_morphology'), v.text);
  assert.ok(ptrs.includes('/patient/sex'), v.text);
  assert.ok(ptrs.includes('/drug_therapies/0/end_date'), v.text);
  assert.match(v.json.errors.find((e) => e.pointer === '/diagnosis/oncotree').reason, /OncoTree/);
  assert.match(v.json.errors.find((e) => e.pointer === '/patient/sex').reason, /must be one of: female, male/);
  // the same record pushed → 422 naming the first error, nothing stored
  const r = await call(srv.url, `/api/v1/cases/${cases[5]}/clinical`, { method: 'PUT', token: tokA, body: b });
  const p = assertProblem(r, 422, 'validation');
  assert.ok(p.errors[0].pointer.startsWith('/'), r.text);
  assert.match(p.detail, /more/);
  assertProblem(await call(srv.url, `/api/v1/cases/${cases[5]}/clinical`, { token: tokA }), 404, 'not-found');
  // semantic checks
  const m1 = record();
  m1.diagnosis.tnm.stage = 'IIA';
  const v2 = await call(srv.url, '/api/v1/clinical/validate', { token: tokA, body: m1 });
  assert.deepEqual(v2.json.errors.map((e) => e.pointer), ['/diagnosis/tnm/stage']);
});

test('malformed JSON, non-object bodies and wrong media types get clear errors', async () => {
  const path = `/api/v1/cases/${cases[0]}/clinical`;
  const bad = await call(srv.url, path, { method: 'PUT', token: tokA, body: '{"consent": ', headers: { 'content-type': 'application/json' } });
  assertProblem(bad, 400, 'bad-json');
  const arr = await call(srv.url, path, { method: 'PUT', token: tokA, body: '[1]', headers: { 'content-type': 'application/json' } });
  assertProblem(arr, 422, 'validation');
  const typo = await call(srv.url, `/api/v1/cases/ZGC-XXXX-XXXXX/clinical`, { method: 'PUT', token: tokA, body: record() });
  const p = assertProblem(typo, 422, 'validation');
  assert.equal(p.errors[0].parameter, 'id');
  assertProblem(await call(srv.url, path, { token: tokA }), 404, 'not-found');
});

test('push, read with etag, optimistic concurrency, idempotency keys and history', async () => {
  const id = cases[0];
  const path = `/api/v1/cases/${id}/clinical`;
  const h = { 'Idempotency-Key': 'msg-0001', 'X-Source-System': 'ssmix2:hosp-a', 'X-Source-Message-Id': 'MSH-123' };
  const r1 = await call(srv.url, path, { method: 'PUT', token: tokA, body: record(), headers: h });
  assert.equal(r1.status, 201, r1.text);
  assertSchema('ClinicalPushResult', r1.json);
  assert.equal(r1.json.version, 1);
  // a retry with the same key and body: the first result, nothing new
  const r2 = await call(srv.url, path, { method: 'PUT', token: tokA, body: record(), headers: h });
  assert.equal(r2.status, 200);
  assert.equal(r2.json.replayed, true);
  assert.equal(r2.json.etag, r1.json.etag);
  // the same key with another body → 409
  const r3 = await call(srv.url, path, { method: 'PUT', token: tokA, body: record({ patient: { sex: 'male' } }), headers: h });
  assertProblem(r3, 409, 'conflict');
  // read: etag and completeness
  const g = await call(srv.url, path, { token: tokA });
  assert.equal(g.status, 200);
  assertSchema('ClinicalStored', g.json);
  assert.equal(g.json.etag, r1.json.etag);
  assert.equal(g.headers.get('etag'), `"${g.json.etag}"`, 'ETag header on read');
  assert.equal(r1.headers.get('etag'), `"${r1.json.etag}"`, 'ETag header on write');
  assert.equal(g.json.source_system, 'ssmix2:hosp-a');
  assert.equal(g.json.completeness.complete, true);
  assert.equal(g.json.record.diagnosis.histology_text, '腺癌', 'Japanese text intact');
  // update with the current etag → version 2
  const upd = record({ course: { last_followup_date: '2026-11-20', vital_status: 'alive' } });
  const r4 = await call(srv.url, path, { method: 'PUT', token: tokA, body: upd, headers: { 'If-Match': `"${g.json.etag}"` } });
  assert.equal(r4.status, 200, r4.text);
  assert.equal(r4.json.version, 2);
  // a stale etag → refused, nothing written
  const r5 = await call(srv.url, path, { method: 'PUT', token: tokA, body: record(), headers: { 'If-Match': g.json.etag } });
  const p5 = assertProblem(r5, 412, 'precondition-failed');
  assert.equal(p5.errors[0].parameter, 'If-Match');
  assert.equal((await call(srv.url, path, { token: tokA })).json.version, 2);
  // the same content again: no new version
  const r6 = await call(srv.url, path, { method: 'PUT', token: tokA, body: upd });
  assert.equal(r6.json.unchanged, true);
  assert.equal(r6.json.version, 2);
  // merge: a new drug line appended, an existing one replaced by id
  const patch = { drug_therapies: [{ id: 'rx2', line: 2, drugs: [{ name: 'docetaxel' }], start_date: '2026-10-05', stop_reason: 'ongoing' },
    { id: 'rx1', line: 1, regimen: 'osimertinib', drugs: [{ name: 'osimertinib' }], start_date: '2026-04-15', end_date: '2026-09-30', best_response: 'SD', stop_reason: 'progression' }] };
  const r7 = await call(srv.url, path, { method: 'PATCH', token: tokA, body: patch, headers: { 'X-Source-Message-Id': 'RDE-9' } });
  assert.equal(r7.status, 200, r7.text);
  const g2 = await call(srv.url, path, { token: tokA });
  assert.equal(g2.json.record.drug_therapies.length, 2);
  assert.equal(g2.json.record.drug_therapies[0].best_response, 'SD');
  assert.equal(g2.json.record.patient.sex, 'female', 'merge keeps what the patch does not name');
  // history: every version with who, when, source
  const hist = await call(srv.url, `${path}/history`, { token: tokA });
  assertSchema('ClinicalHistory', hist.json);
  assert.deepEqual(hist.json.versions.map((v) => v.version), [3, 2, 1]);
  assert.equal(hist.json.versions[2].source_message_id, 'MSH-123');
  assert.equal(hist.json.versions[0].source_message_id, 'RDE-9');
  assert.equal(hist.json.versions[2].login, 'hosp-a');
  assert.equal(hist.json.versions[2].record.course.last_followup_date, '2026-11-01');
});

test('concurrent retries and concurrent writers: no duplicate, exactly one winner', async () => {
  const id = await newCase(tokB); // hospital B, so that A's counts below stay as they are
  const path = `/api/v1/cases/${id}/clinical`;
  const h = { 'Idempotency-Key': 'race-1' };
  const rs = await Promise.all(Array.from({ length: 10 }, () => call(srv.url, path, { method: 'PUT', token: tokB, body: record(), headers: h })));
  assert.ok(rs.every((r) => r.status === 200 || r.status === 201), rs.map((r) => r.text).join('\n'));
  assert.equal(new Set(rs.map((r) => r.json.etag)).size, 1, 'every retry got the first result');
  assert.equal(rs.filter((r) => !r.json.replayed).length, 1);
  const hist = await call(srv.url, `${path}/history`, { token: tokB });
  assert.equal(hist.json.versions.length, 1, 'one version, not ten');
  // five writers holding the same etag: one wins, the others are told to re-read
  const etag = rs[0].json.etag;
  const ws = await Promise.all([1, 2, 3, 4, 5].map((k) => call(srv.url, path, { method: 'PUT', token: tokB,
    body: record({ course: { last_followup_date: `2026-11-0${k + 1}`, vital_status: 'alive' } }), headers: { 'If-Match': etag } })));
  assert.equal(ws.filter((r) => r.status === 200).length, 1, ws.map((r) => r.status).join(','));
  for (const r of ws.filter((x) => x.status !== 200)) assertProblem(r, 412, 'precondition-failed');
  assert.equal((await call(srv.url, `${path}/history`, { token: tokB })).json.versions.length, 2);
});

test('bundles are all-or-nothing and bounded', async () => {
  const [c1, c2] = [cases[1], cases[2]];
  const bad = record();
  bad.diagnosis.tnm.stage = 'V';
  const b = { source_system: 'csv:hosp-a', idempotency_key: 'bulk-1',
    entries: [{ case_id: c1, record: record() }, { case_id: c2, source_message_id: 'row-2', record: bad }] };
  const r = await call(srv.url, '/api/v1/clinical/bundles', { token: tokA, body: b });
  const p = assertProblem(r, 422, 'validation');
  assert.equal(p.errors[0].pointer, '/entries/1/record/diagnosis/tnm/stage', r.text);
  assertProblem(await call(srv.url, `/api/v1/cases/${c1}/clinical`, { token: tokA }), 404, 'not-found');
  // fixed: both stored, then replayed by key
  b.entries[1].record = record({ diagnosis: { ...record().diagnosis, oncotree: 'COAD', icd10: 'C18.7' } });
  const ok = await call(srv.url, '/api/v1/clinical/bundles', { token: tokA, body: b });
  assert.equal(ok.status, 200, ok.text);
  assertSchema('ClinicalBundleResult', ok.json);
  assert.deepEqual(ok.json.results.map((x) => x.case_id), [c1, c2]);
  const again = await call(srv.url, '/api/v1/clinical/bundles', { token: tokA, body: b });
  assert.equal(again.json.replayed, true);
  assert.equal((await call(srv.url, `/api/v1/cases/${c2}/clinical/history`, { token: tokA })).json.versions.length, 1);
  // unknown case in a bundle → 422 naming the entry, nothing written
  const b2 = { source_system: 'x', entries: [{ case_id: c1, record: record({ patient: { sex: 'male' } }) }, { case_id: 'ZGC-0000-00000', record: record() }] };
  const r2 = await call(srv.url, '/api/v1/clinical/bundles', { token: tokA, body: b2 });
  assert.ok([422].includes(r2.status), r2.text);
  assert.equal((await call(srv.url, `/api/v1/cases/${c1}/clinical`, { token: tokA })).json.record.patient.sex, 'female');
  // too many entries, too large a body
  const many = { source_system: 'x', entries: Array.from({ length: 1001 }, () => ({ case_id: c1, record: {} })) };
  assertProblem(await call(srv.url, '/api/v1/clinical/bundles', { token: tokA, body: many }), 413, 'payload-too-large');
  // declared larger than the route's 8 MiB limit: refused before the body is read
  const status = await new Promise((resolve, reject) => {
    const u = new URL(srv.url);
    const req = httpRequest({ host: u.hostname, port: u.port, path: '/api/v1/clinical/bundles', method: 'POST',
      headers: { authorization: `Bearer ${tokA}`, 'content-type': 'application/json', 'content-length': String((8 << 20) + 1) } },
    (res) => { res.resume(); resolve(res.statusCode); req.destroy(); });
    req.on('error', (e) => { if (e.code !== 'ECONNRESET') reject(e); });
    req.flushHeaders();
  });
  assert.equal(status, 413);
  // a body just under the limit is read (and then judged on its content)
  const near = { source_system: 'x', entries: [{ case_id: c1, record: { diagnosis: { text: 'x'.repeat(7 << 20) } } }] };
  const r4 = await call(srv.url, '/api/v1/clinical/bundles', { token: tokA, body: near });
  assert.equal(assertProblem(r4, 422, 'validation').errors[0].pointer, '/entries/0/record/diagnosis/text');
  // the failures are listed for the hospital
  const rej = await call(srv.url, '/api/v1/clinical/rejections', { token: tokA });
  assertSchema('ClinicalRejections', rej.json);
  assert.ok(rej.json.rejections.some((x) => x.errors.some((e) => e.pointer === '/entries/1/record/diagnosis/tnm/stage')), rej.text);
  assert.equal((await call(srv.url, '/api/v1/clinical/rejections', { token: tokB })).json.rejections.length, 0, 'hospital B does not see A\'s rejections');
});

test('hospitals reach only their own cases', async () => {
  const path = `/api/v1/cases/${cases[0]}/clinical`;
  assertProblem(await call(srv.url, path, { token: tokB }), 404, 'not-found');
  assertProblem(await call(srv.url, path, { method: 'PUT', token: tokB, body: record() }), 404, 'not-found');
  assertProblem(await call(srv.url, `${path}/history`, { token: tokB }), 404, 'not-found');
  assertProblem(await call(srv.url, `/api/v1/cases/${cases[0]}/fhir`, { token: tokB }), 404, 'not-found');
  const s = await call(srv.url, '/api/v1/clinical/search', { token: tokB });
  assert.ok(s.json.cases.every((c) => c.org === 'Hospital B'), 'B finds only its own cases');
  assert.ok(!s.json.cases.some((c) => cases.includes(c.case_id)));
  assertProblem(await call(srv.url, path, { token: tokAcad }), 403, 'forbidden');
  assert.equal((await call(srv.url, path, { token: tokOp })).status, 200, 'operators read every case');
});

test('search, timeline, completeness and counts', async () => {
  const s = await call(srv.url, '/api/v1/clinical/search?oncotree=LUAD&drug=docetaxel', { token: tokA });
  assertSchema('ClinicalSearchResult', s.json);
  assert.deepEqual(s.json.cases.map((c) => c.case_id), [cases[0]]);
  assert.equal(s.json.cases[0].cancer_type, 'Lung Adenocarcinoma');
  const byStage = await call(srv.url, '/api/v1/clinical/search?stage=IV', { token: tokA });
  assert.ok(byStage.json.cases.length >= 2, 'stage IV matches IVA');
  assert.equal((await call(srv.url, '/api/v1/clinical/search?stage=II', { token: tokA })).json.cases.length, 0, 'II does not match IVA or III');
  assert.equal((await call(srv.url, '/api/v1/clinical/search?response=SD&vital_status=alive', { token: tokA })).json.cases.length, 1);
  assertProblem(await call(srv.url, '/api/v1/clinical/search?oncotree=XYZ', { token: tokA }), 422, 'validation');
  const t = await call(srv.url, `/api/v1/cases/${cases[0]}/clinical/timeline`, { token: tokA });
  assertSchema('ClinicalTimeline', t.json);
  const dates = t.json.events.map((e) => e.date);
  assert.deepEqual(dates, [...dates].sort());
  assert.equal(t.json.events[0].kind, 'diagnosis');
  const c = await call(srv.url, `/api/v1/cases/${cases[0]}/clinical/completeness`, { token: tokA });
  assert.equal(c.json.complete, true);
  await call(srv.url, `/api/v1/cases/${cases[3]}/clinical`, { method: 'PUT', token: tokA, body: { diagnosis: { oncotree: 'LUAD' } } });
  const c2 = await call(srv.url, `/api/v1/cases/${cases[3]}/clinical/completeness`, { token: tokA });
  assert.equal(c2.json.complete, false);
  assert.ok(c2.json.missing.includes('/course/vital_status'));
  const byOrg = await call(srv.url, '/api/v1/clinical/completeness', { token: tokA });
  assertSchema('ClinicalCompletenessByOrg', byOrg.json);
  assert.equal(byOrg.json.orgs.length, 1);
  assert.equal(byOrg.json.orgs[0].cases, 6);
  assert.equal(byOrg.json.orgs[0].with_record, 4);
  assert.equal(byOrg.json.orgs[0].complete, 3);
  assert.equal(byOrg.json.orgs[0].missing_by_item['/course/vital_status'], 1);
  // counts: exact for operators, small cells suppressed for researchers
  const op = await call(srv.url, '/api/v1/clinical/counts?by=oncotree', { token: tokOp });
  assertSchema('ClinicalCounts', op.json);
  assert.deepEqual(op.json.counts.find((x) => x.value === 'LUAD'), { value: 'LUAD', label: 'Lung Adenocarcinoma', n: 4 }, 'three of hospital A, one of B');
  // researchers count only cases with research consent (the policy's consent obligation):
  // one LUAD record has no consent, so four count — below k, even the total is hidden
  const ac = await call(srv.url, '/api/v1/clinical/counts?by=oncotree', { token: tokAcad });
  assert.equal(ac.status, 200);
  assertSchema('ClinicalCounts', ac.json);
  assert.deepEqual(ac.json.restricted_to_consent, ['consented', 'partially-consented']);
  assert.ok(ac.json.counts.every((x) => x.n === '<5'), ac.text);
  assert.equal(ac.json.total, undefined, 'four consented cases: below k');
  assert.equal(ac.json.suppressed_below, 5);
  const patched = await call(srv.url, `/api/v1/cases/${cases[3]}/clinical`, { method: 'PATCH', token: tokA, body: { consent: { status: 'consented' } } });
  assert.equal(patched.status, 200, patched.text);
  const ac2 = await call(srv.url, '/api/v1/clinical/counts?by=oncotree', { token: tokAcad });
  assert.equal(ac2.json.total, 5, 'with that consent recorded the total reaches k and is shown');
  assert.equal(op.json.restricted_to_consent, undefined, 'operators (custodians) count every case');
  const ov = await call(srv.url, '/api/v1/stats/clinical', { token: tokB });
  assert.equal(ov.status, 200);
  assert.ok(ov.json.counts.every((x) => typeof x.n === 'string'));
  assertProblem(await call(srv.url, '/api/v1/clinical/counts?by=name', { token: tokOp }), 422, 'validation');
});

test('reads and writes are audited with the case ID, never the record', async () => {
  addUser(srv.dataDir, 'aud1', 'auditor', 'DC', 'datacenter');
  const tokAud = cliToken(srv.dataDir, 'aud1', 'a');
  const ev = await call(srv.url, '/api/v1/audit/events?action=clinical.replace&limit=1000', { token: tokAud });
  assert.equal(ev.status, 200);
  const mine = ev.json.events.filter((e) => (e.data || []).includes(cases[0]));
  assert.ok(mine.length >= 2, 'attempt and result events name the case');
  assert.ok(!JSON.stringify(ev.json).includes('腺癌'), 'no clinical content in the audit trail');
  assert.ok(mine.some((e) => e.options?.idempotency_key === 'msg-0001'));
});
