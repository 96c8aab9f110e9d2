// FHIR R4 (issue 3, item 3): every official R4 example of the supported resource types and the
// JP-Core subset imports or is rejected with a precise reason, nothing is dropped silently,
// exported Bundles pass the official R4 JSON Schema and standard → FHIR → standard loses nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import { startServer, addUser, cliRaw } from '../lib/zengen.mjs';
import { call, assertProblem, cliToken, assertSchema, ROOT } from './util.mjs';

const DATA = join(ROOT, '..', 'shared', 'data', 'fhir');
const SUPPORTED = ['Patient', 'Condition', 'Observation', 'Specimen', 'MedicationStatement',
  'MedicationRequest', 'Procedure', 'FamilyMemberHistory'];
const CASE_SYSTEM = 'https://zengen.example/fhir/sid/case-id';
let srv, tok, tmp;

async function newCase() {
  const r = await call(srv.url, '/api/v1/cases', { token: tok, body: {} });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}

let r4;
/** The official FHIR R4 JSON Schema (draft-06), compiled once. */
function r4Validate() {
  if (r4) return r4;
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(readFileSync(join(DATA, 'schema', 'fhir.r4.schema.json'), 'utf8'));
  schema.$id = schema.id;
  delete schema.id;
  delete schema.discriminator; // an OpenAPI annotation, not JSON Schema
  const ajv = new Ajv({ strict: false, allErrors: false });
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
  r4 = ajv.compile(schema);
  return r4;
}

function record() {
  return {
    consent: { status: 'consented', date: '2026-04-01', secondary_findings: false, text: '同意書 v2' },
    patient: { sex: 'male', birth_year_month: '1955-11' },
    specimens: [{ id: 's1', type: 'tumour-tissue', collection_date: '2026-02-10', method: 'biopsy', site: { icdo3_topography: 'C16.2', text: '胃体部' }, tumour_cellularity: 40, text: '生検' },
      { type: 'normal-blood', collection_date: '2026-02-10', method: 'blood-draw' }],
    background: { smoking: { status: 'current', pack_years: 42.5 }, alcohol: { status: 'former', text: '機会飲酒' },
      comorbidities: [{ id: 'cm1', icd10: 'I10', text: '高血圧' }],
      family_history: [{ relation: 'aunt-uncle', icd10: 'C18.9', oncotree: 'COAD', age_at_diagnosis: 66, text: '大腸癌' }, { relation: 'sibling', icd10: 'C50.9' }] },
    diagnosis: { oncotree: 'STAD', icd10: 'C16.2', icdo3_topography: 'C16.2', icdo3_morphology: '8144/3', date: '2026-02-01',
      histology_text: '腸型', text: '胃癌 stage IV', tnm: { edition: 8, kind: 'pathological', t: 'T4a', n: 'N2', m: 'M1', stage: 'IV' },
      metastatic_sites: [{ id: 'm1', icdo3_topography: 'C22.0', date: '2026-02-01', text: '肝' }, { icdo3_topography: 'C48.2' }],
      performance_status: { scale: 'KPS', value: 70, date: '2026-02-01' } },
    drug_therapies: [
      { id: 'rx1', line: 1, regimen: 'SOX+Nivo', intent: 'palliative', drugs: [{ name: 's-1', yj: '4229101F1020' }, { name: 'oxaliplatin', atc: 'L01XA03' }, { name: 'nivolumab', text: 'オプジーボ' }],
        start_date: '2026-02-20', end_date: '2026-07-01', best_response: 'PR', stop_reason: 'progression', text: '4 コース' },
      { line: 2, drugs: [{ name: 'paclitaxel' }, { name: 'ramucirumab' }], start_date: '2026-07-15', best_response: 'SD', stop_reason: 'ongoing' }],
    surgeries: [{ id: 'op', date: '2026-03-01', procedure: { system: 'k-code', code: 'K655-2', text: '胃切除' }, residual: 'R1', intent: 'palliative' }],
    radiotherapies: [{ id: 'rt1', start_date: '2026-08-01', end_date: '2026-08-10', site: { icdo3_topography: 'C41.2', text: '腰椎' }, dose_gy: 20.5, fractions: 5, intent: 'palliative' }],
    adverse_events: [{ id: 'ae1', term: 'Peripheral sensory neuropathy', meddra: '10034620', grade: 3, date: '2026-05-01', drug: 'oxaliplatin' }, { term: 'Anemia', grade: 4, date: '2026-06-01' }],
    course: { recurrence_date: '2026-06-20', progression_date: '2026-06-25', last_followup_date: '2026-09-01', vital_status: 'dead', death_date: '2026-09-15', death_cause: 'cancer', death_cause_text: '原病死' },
    expert_panel: [{ id: 'ep1', date: '2026-03-15', text: 'HER2 陰性, MSI-H',
      recommendations: [{ treatment: 'pembrolizumab', drugs: [{ name: 'pembrolizumab' }], evidence_level: 'A', given: true, trial_enrolled: false },
        { treatment: 'clinical trial', trial_enrolled: true, trial_id: 'NCT01234567' }] }, { date: '2026-08-20' }],
  };
}

before(async () => {
  srv = await startServer();
  addUser(srv.dataDir, 'fh1', 'hospital-data', 'FHIR Hospital');
  tok = cliToken(srv.dataDir, 'fh1', 'fhir');
  tmp = mkdtempSync(join(tmpdir(), 'zg-fhir-'));
});
after(async () => { rmSync(tmp, { recursive: true, force: true }); await srv?.stop(); });

/** Checks an import response: either mapped with every top-level member accounted for, or
 *  rejected with a pointer and a reason. */
function accounted(r, bundle, file) {
  if (r.status === 422) {
    const p = assertProblem(r, 422, 'validation', `${file}: `);
    assert.ok(p.errors[0].pointer !== undefined && p.errors[0].reason.length > 10, `${file}: precise reason ${r.text}`);
    return 'rejected';
  }
  assert.equal(r.status, 200, `${file}: ${r.text}`);
  assertSchema('FhirImportResult', r.json, `${file}: `);
  const rep = r.json.report;
  const seen = [...rep.mapped_elements, ...rep.unmapped.map((u) => u.pointer)];
  bundle.entry.forEach((e, i) => {
    const base = `/entry/${i}/resource`;
    if (rep.unmapped.some((u) => u.pointer === base)) return; // the whole resource, with a reason
    for (const k of Object.keys(e.resource)) {
      if (['resourceType', 'id', 'meta', 'text'].includes(k)) continue;
      assert.ok(seen.some((p) => p === `${base}/${k}` || p.startsWith(`${base}/${k}/`)),
        `${file}: ${base}/${k} (${e.resource.resourceType}) neither mapped nor reported: ${JSON.stringify(rep)}`);
    }
  });
  for (const u of rep.unmapped) assert.ok(u.reason.length > 8, `${file}: reason for ${u.pointer}`);
  return 'imported';
}

test('every official R4 example and the JP-Core subset of the supported types imports or is rejected with a reason', async () => {
  const files = [
    ...readdirSync(join(DATA, 'r4-official-examples')).filter((f) => SUPPORTED.includes(f.split('-')[0])).map((f) => join(DATA, 'r4-official-examples', f)),
    ...readdirSync(join(DATA, 'jp-core-examples-subset')).filter((f) => f.endsWith('.json')).map((f) => join(DATA, 'jp-core-examples-subset', f)),
  ];
  assert.ok(files.length >= 160, `found ${files.length} examples`);
  const tally = { imported: 0, rejected: 0 };
  const byType = {};
  for (const file of files) {
    const res = JSON.parse(readFileSync(file, 'utf8'));
    const cid = await newCase();
    let bundle;
    if (res.resourceType === 'Patient') {
      res.identifier = [...(res.identifier || []), { system: CASE_SYSTEM, value: cid }];
      bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: `urn:uuid:p-${cid}`, resource: res, request: { method: 'POST', url: 'Patient' } }] };
    } else {
      // a Patient for the case, answering to whatever the example refers to
      const ref = res.subject?.reference || res.patient?.reference || 'Patient/example';
      const pid = ref.split('/').pop();
      bundle = { resourceType: 'Bundle', type: 'transaction', entry: [
        { fullUrl: ref.startsWith('urn:') ? ref : `https://hospital.example/fhir/Patient/${pid}`, resource: { resourceType: 'Patient', id: pid, identifier: [{ system: CASE_SYSTEM, value: cid }] }, request: { method: 'PUT', url: `Patient/${pid}` } },
        { resource: res, request: { method: 'POST', url: res.resourceType } }] };
    }
    const r = await call(srv.url, '/api/v1/fhir', { token: tok, body: bundle });
    const outcome = accounted(r, bundle, file);
    tally[outcome]++;
    byType[res.resourceType] ??= { imported: 0, rejected: 0, mapped: 0 };
    byType[res.resourceType][outcome]++;
    if (outcome === 'imported' && !r.json.report.unmapped.some((u) => u.pointer === '/entry/1/resource')) byType[res.resourceType].mapped++;
  }
  console.log('FHIR examples:', JSON.stringify(tally), JSON.stringify(byType));
  assert.ok(['Patient', 'MedicationRequest', 'MedicationStatement', 'Procedure', 'Specimen'].every((t) => byType[t].mapped > 0),
    `each supported type maps at least one official example: ${JSON.stringify(byType)}`);
});

test('official Bundles import or are rejected with a reason', async () => {
  const dir = join(DATA, 'r4-official-examples');
  for (const f of readdirSync(dir).filter((x) => x.startsWith('Bundle-'))) {
    const b = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    // give every Patient of the bundle a zengen case
    for (const e of b.entry || []) {
      if (e.resource?.resourceType === 'Patient') e.resource.identifier = [...(e.resource.identifier || []), { system: CASE_SYSTEM, value: await newCase() }];
    }
    const r = await call(srv.url, '/api/v1/fhir', { token: tok, body: b });
    if (r.status === 200) accounted(r, b, f);
    else assert.equal(assertProblem(r, 422, 'validation', `${f}: `).errors.length, 1, f);
  }
  const search = JSON.parse(readFileSync(join(dir, 'Bundle-bundle-example.json'), 'utf8'));
  const r = await call(srv.url, '/api/v1/fhir', { token: tok, body: search });
  assert.equal(assertProblem(r, 422, 'validation').errors[0].pointer, '/type');
  const noPatient = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Condition', code: { text: 'x' } } }] };
  const r2 = await call(srv.url, '/api/v1/fhir', { token: tok, body: noPatient });
  assert.match(assertProblem(r2, 422, 'validation').detail, /case identifier/);
  const unlinked = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3', value: '0001' }] } }] };
  const r3 = await call(srv.url, '/api/v1/fhir', { token: tok, body: unlinked });
  assert.match(assertProblem(r3, 422, 'validation').detail, /linkage/);
});

test('export passes the official R4 JSON Schema and the round trip loses nothing', async () => {
  const validate = r4Validate();
  const a = await newCase();
  const b = await newCase();
  const put = await call(srv.url, `/api/v1/cases/${a}/clinical`, { method: 'PUT', token: tok, body: record() });
  assert.equal(put.status, 201, put.text);
  const exp = await call(srv.url, `/api/v1/cases/${a}/fhir`, { token: tok });
  assert.equal(exp.status, 200);
  assert.equal(exp.json.resourceType, 'Bundle');
  assert.match(exp.headers.get('content-type') || '', /^application\/fhir\+json/, 'FHIR media type');
  assert.ok(validate(exp.json), `R4 schema: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
  // the exported Bundle goes back in with the FHIR media type a FHIR client sends
  const reimport = await call(srv.url, "/api/v1/fhir", { token: tok, body: JSON.stringify(exp.json),
    headers: { 'content-type': 'application/fhir+json; charset=utf-8' } });
  assert.ok(reimport.status < 300, `re-import as application/fhir+json: ${reimport.status} ${reimport.text?.slice(0, 300)}`);
  const broken = structuredClone(exp.json);
  broken.entry[0].resource.gender = 5;
  assert.equal(validate(broken), false, 'the schema check can fail');
  // import the exported Bundle as another case: the same record
  const moved = JSON.parse(JSON.stringify(exp.json).replaceAll(a, b));
  const imp = await call(srv.url, '/api/v1/fhir', { token: tok, body: moved });
  assert.equal(imp.status, 200, imp.text);
  assert.deepEqual(imp.json.report.unmapped, [], 'our own export maps completely');
  const back = await call(srv.url, `/api/v1/cases/${b}/clinical`, { token: tok });
  const orig = (await call(srv.url, `/api/v1/cases/${a}/clinical`, { token: tok })).json.record;
  assert.deepEqual({ ...back.json.record, case_id: a }, orig);
  // importing the same Bundle again changes nothing
  const again = await call(srv.url, '/api/v1/fhir', { token: tok, body: moved });
  assert.equal(again.json.cases[0].unchanged, true);
  // U+3000 (which the R4 schema refuses in strings) is stored as a plain space
  const d = await newCase();
  const wide = record();
  wide.diagnosis.histology_text = '腸型\u3000腺癌';
  wide.drug_therapies[0].drugs[2].text = 'オプジーボ\u3000点滴';
  await call(srv.url, `/api/v1/cases/${d}/clinical`, { method: 'PUT', token: tok, body: wide });
  const wr = (await call(srv.url, `/api/v1/cases/${d}/clinical`, { token: tok })).json.record;
  assert.equal(wr.diagnosis.histology_text, '腸型 腺癌');
  assert.equal(wr.drug_therapies[0].drugs[2].text, 'オプジーボ 点滴');
  const wexp = (await call(srv.url, `/api/v1/cases/${d}/fhir`, { token: tok })).json;
  assert.ok(validate(wexp), JSON.stringify(validate.errors?.slice(0, 3)));
  const raw = structuredClone(wexp);
  raw.entry[1].resource.code.text = '胃癌\u3000IV';
  assert.equal(validate(raw), false, 'the official schema refuses U+3000');
  // a minimal record exports validly too
  const c = await newCase();
  await call(srv.url, `/api/v1/cases/${c}/clinical`, { method: 'PUT', token: tok, body: { diagnosis: { oncotree: 'PAAD' } } });
  assert.ok(validate((await call(srv.url, `/api/v1/cases/${c}/fhir`, { token: tok })).json));
});

test('zengen import fhir runs the same conversion (progress on stderr)', async () => {
  const a = await newCase();
  const b = { resourceType: 'Bundle', type: 'collection', entry: [
    { fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient', identifier: [{ system: CASE_SYSTEM, value: a }], gender: 'female', birthDate: '1970-03-04', name: [{ text: '山田 花子' }] } },
    { resource: { resourceType: 'Condition', subject: { reference: 'urn:uuid:1' }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'C50.9' }], text: '乳癌' }, onsetDateTime: '2025-05-01' } }] };
  const f = join(tmp, 'b.json');
  writeFileSync(f, JSON.stringify(b));
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, '{"resourceType": "Bundle", ');
  const ok = cliRaw(srv.dataDir, ['import', 'fhir', f]);
  assert.equal(ok.status, 0, ok.stderr);
  const line = JSON.parse(ok.stdout.trim().split('\n')[0]);
  assert.equal(line.cases[0].case_id, a);
  assert.ok(line.report.unmapped.some((u) => u.pointer === '/entry/0/resource/name'), 'the name is reported as not stored');
  assert.ok(line.report.unmapped.some((u) => u.pointer === '/entry/0/resource/birthDate'), 'birth date reduced');
  const rec = (await call(srv.url, `/api/v1/cases/${a}/clinical`, { token: tok })).json.record;
  assert.equal(rec.patient.birth_year_month, '1970-03');
  assert.equal(rec.diagnosis.text, '乳癌');
  assert.ok(!JSON.stringify(rec).includes('山田'), 'no name stored');
  const fail = cliRaw(srv.dataDir, ['import', 'fhir', f, bad]);
  assert.equal(fail.status, 1);
  assert.match(fail.stderr, /bad\.json: rejected: .*not valid JSON/);
});
