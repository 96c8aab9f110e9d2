// Genome API: cohort queries with the policy's scope (own organisation, consent, small-count
// suppression), a case's genome data, the file registry and resumable uploads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, addUser, cli } from '../lib/zengen.mjs';
import { call, assertProblem, assertSchema, cliToken, ROOT } from './util.mjs';

const DATA = join(ROOT, '..', 'shared', 'data');
const SYNTH_ORG = 'Synthetic Cohort Center';
let srv, operator, academic, seq, otherSeq, tokOp, tokAcad, tokSeq, tokOther;

before(async () => {
  srv = await startServer();
  cli(srv.dataDir, ['synth', '--cases', '80', '--seed', '11']);
  operator = addUser(srv.dataDir, 'genop', 'operator', 'DC', 'datacenter');
  academic = addUser(srv.dataDir, 'genacad', 'academic', 'Univ', 'academia');
  seq = addUser(srv.dataDir, 'genseq', 'sequencer', SYNTH_ORG);
  otherSeq = addUser(srv.dataDir, 'genseq2', 'sequencer', 'Other Seq', 'sequencing');
  tokOp = cliToken(srv.dataDir, operator.login, 'op');
  tokAcad = cliToken(srv.dataDir, academic.login, 'acad');
  tokSeq = cliToken(srv.dataDir, seq.login, 'seq');
  tokOther = cliToken(srv.dataDir, otherSeq.login, 'seq2');
  // synth records each case's consent (mostly consented) through the clinical path
  const ids = JSON.parse(cli(srv.dataDir, ['case', 'list', '--json'])).map((c) => c.id);
  const synthView = await call(srv.url, '/api/v1/genome/overview', { token: tokAcad });
  assert.equal(synthView.status, 200, synthView.text);
  assert.ok(synthView.json.cases > 60 && synthView.json.cases <= 80, `synthetic consent: ${synthView.json.cases}`);
  // researchers count only cases whose clinical record says consented (or partially)
  await setConsent(ids, 'pending');
  const before = await call(srv.url, '/api/v1/genome/overview', { token: tokAcad });
  assert.equal(before.json.cases, 0, 'consent pending: not counted for research');
  await setConsent(ids, 'consented');
});

/** Records the consent status of cases in their clinical records (one bundle, merge). */
async function setConsent(ids, status) {
  const r = await call(srv.url, '/api/v1/clinical/bundles', {
    token: tokOp,
    body: { source_system: 'consent-test', entries: ids.map((id) => ({ case_id: id, mode: 'merge', record: { consent: { status } } })) },
  });
  assert.equal(r.status, 200, r.text);
}
after(async () => { await srv?.stop(); });

test('gene query by cancer type matches the CLI and adds up', async () => {
  const r = await call(srv.url, '/api/v1/genome/query/genes?genes=TP53,KRAS&by=cancer-type', { token: tokOp });
  assert.equal(r.status, 200, r.text);
  assertSchema('GenomeAggregate', r.json);
  const j = r.json;
  assert.equal(j.profiled, 80);
  assert.ok(j.altered > 10 && j.altered <= 80, `altered ${j.altered}`);
  assert.equal(j.groups.reduce((s, g) => s + g.profiled, 0), 80, 'groups partition the cohort');
  assert.equal(j.groups.reduce((s, g) => s + g.altered, 0), j.altered);
  for (const g of j.groups) {
    assert.ok(g.genes.TP53.altered <= g.altered && g.altered <= g.genes.TP53.altered + g.genes.KRAS.altered);
  }
  const viaCli = JSON.parse(cli(srv.dataDir, ['query', 'genes', 'TP53', 'KRAS', '--json']));
  assert.deepEqual(viaCli.groups.map((g) => [g.group, g.altered]), j.groups.map((g) => [g.group, g.altered]));
});

test('academic: aggregate allowed, small counts suppressed; detailed genome denied', async () => {
  const r = await call(srv.url, '/api/v1/genome/query/genes?genes=TP53,BRAF', { token: tokAcad });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.suppressed_below, 5);
  const all = [];
  for (const g of r.json.groups) {
    all.push(g.profiled, g.altered, g.genes.TP53.altered, g.genes.BRAF.altered);
  }
  assert.ok(all.every((n) => n === null || n === 0 || n >= 5), `no count in 1..4: ${all}`);
  assert.ok(all.some((n) => n === null), 'a small cohort has suppressed cells');
  const cases = JSON.parse(cli(srv.dataDir, ['case', 'list', '--json']));
  const one = cases[0].id;
  assertProblem(await call(srv.url, `/api/v1/genome/cases/${one}`, { token: tokAcad }), 403, 'forbidden');
  const onco = await call(srv.url, '/api/v1/genome/query/oncoprint?genes=TP53,KRAS', { token: tokAcad });
  assert.equal(onco.status, 200);
  assert.ok(onco.json.cases.every((c) => c.case === undefined || c.case === null), 'anonymous columns');
});

test('co-occurrence, variants, TMB and overview answer', async () => {
  const co = await call(srv.url, '/api/v1/genome/query/cooccurrence?genes=TP53,KRAS,PIK3CA', { token: tokOp });
  assert.equal(co.status, 200, co.text);
  assert.equal(co.json.pairs.length, 3);
  for (const p of co.json.pairs) {
    assert.equal(p.neither + p.a_only + p.b_only + p.both, co.json.profiled);
    assert.ok(p.p_value > 0 && p.p_value <= 1);
  }
  const v = await call(srv.url, '/api/v1/genome/query/variants?genes=KRAS', { token: tokOp });
  assert.equal(v.status, 200, v.text);
  assert.ok(v.json.variants.length >= 1, 'KRAS hotspots recur');
  assert.match(v.json.variants[0].hgvsp, /^p\.Gly12/);
  const t = await call(srv.url, '/api/v1/genome/query/tmb', { token: tokOp });
  assert.equal(t.status, 200);
  assert.ok(t.json.groups.length >= 5);
  const o = await call(srv.url, '/api/v1/genome/overview', { token: tokOp });
  assert.equal(o.json.cases, 80);
  assertProblem(await call(srv.url, '/api/v1/genome/query/genes?genes=TP53&classes=bogus', { token: tokOp }), 422, 'validation');
  assertProblem(await call(srv.url, '/api/v1/genome/query/genes', { token: tokOp }), 422, 'validation');
});

test('a case: variants and files (own organisation only for sequencers)', async () => {
  const cases = JSON.parse(cli(srv.dataDir, ['case', 'list', '--json']));
  const id = cases[0].id;
  const r = await call(srv.url, `/api/v1/genome/cases/${id}`, { token: tokOp });
  assert.equal(r.status, 200, r.text);
  assertSchema('GenomeCase', r.json);
  assert.ok(r.json.somatic.length > 0);
  assert.ok(r.json.files.some((f) => f.format === 'vcf' && f.has_index));
  const f = r.json.files[0];
  assert.equal((await call(srv.url, `/api/v1/genome/files/${f.id}`, { token: tokSeq })).status, 200);
  assertProblem(await call(srv.url, `/api/v1/genome/files/${f.id}`, { token: tokOther }), 404, 'not-found');
  assertProblem(await call(srv.url, `/api/v1/genome/cases/${id}/files`, { token: tokOther }), 404, 'not-found');
});

test('resumable upload: chunks, resend, wrong offset, checksum verified, file registered', async () => {
  const cases = JSON.parse(cli(srv.dataDir, ['case', 'list', '--json']));
  const id = cases[1].id;
  const bytes = readFileSync(join(DATA, 'vcf', 'annotated', 'cyvcf2-tests', 'test.vcf.gz'));
  const sha = createHash('sha256').update(bytes).digest('hex');
  const b = await call(srv.url, '/api/v1/genome/uploads', {
    token: tokSeq, body: { case_id: id, size: bytes.length, sha256: sha, kind: 'germline', pipeline: 'test', name: 'test.vcf.gz' },
  });
  assert.equal(b.status, 201, b.text);
  const up = b.json.id;
  const half = Math.floor(bytes.length / 2);
  const chunk = (off, end) => call(srv.url, `/api/v1/genome/uploads/${up}/chunks`, {
    token: tokSeq, body: { offset: off, data: bytes.subarray(off, end).toString('base64') },
  });
  assert.equal((await chunk(0, half)).json.received, half);
  assert.equal((await chunk(0, half)).json.received, half, 'a resent chunk is accepted');
  assertProblem(await chunk(half + 10, bytes.length), 409, 'conflict');
  assertProblem(await call(srv.url, `/api/v1/genome/uploads/${up}`, { token: tokOther }), 404, 'not-found');
  assert.equal((await chunk(half, bytes.length)).json.received, bytes.length);
  const fin = await call(srv.url, `/api/v1/genome/uploads/${up}/finish`, { token: tokSeq, body: {} });
  assert.equal(fin.status, 201, fin.text);
  assertSchema('GenomeFile', fin.json);
  assert.equal(fin.json.sha256, sha);
  assert.equal(fin.json.format, 'vcf');
  assert.equal(fin.json.reference, 'GRCh37');

  // a wrong checksum is refused at the end and the data discarded
  const b2 = await call(srv.url, '/api/v1/genome/uploads', {
    token: tokSeq, body: { case_id: id, size: 4, sha256: '0'.repeat(64) },
  });
  const up2 = b2.json.id;
  await call(srv.url, `/api/v1/genome/uploads/${up2}/chunks`, { token: tokSeq, body: { offset: 0, data: Buffer.from('abcd').toString('base64') } });
  assertProblem(await call(srv.url, `/api/v1/genome/uploads/${up2}/finish`, { token: tokSeq, body: {} }), 422, 'validation');
  assert.equal((await call(srv.url, `/api/v1/genome/uploads/${up2}`, { token: tokSeq })).json.state, 'failed');
});

test('new imports appear without a restart', async () => {
  const before = (await call(srv.url, '/api/v1/genome/overview', { token: tokOp })).json.cases;
  cli(srv.dataDir, ['synth', '--cases', '3', '--seed', '99']);
  const afterN = (await call(srv.url, '/api/v1/genome/overview', { token: tokOp })).json.cases;
  assert.equal(afterN, before + 3);
});

test('consent: an academic\'s counts drop a case when its consent is withdrawn and regain it on re-consent', async () => {
  // a case with a TP53 alteration (the operator's CLI names cases)
  const onco = JSON.parse(cli(srv.dataDir, ['query', 'oncoprint', 'TP53', '--json']));
  const victim = onco.cases[0].case;
  assert.match(victim, /^ZGC-/);
  const counts = async (token) => {
    const o = await call(srv.url, '/api/v1/genome/overview', { token });
    const g = await call(srv.url, '/api/v1/genome/query/genes?genes=TP53', { token });
    assert.equal(o.status, 200, o.text);
    assert.equal(g.status, 200, g.text);
    return { cases: o.json.cases, profiled: g.json.profiled, tp53: g.json.altered, json: g.json };
  };
  const a0 = await counts(tokAcad);
  assert.ok(a0.cases >= 80, `academic sees ${a0.cases} consented cases`);
  assert.ok(a0.tp53 >= 6, `TP53 altered in ${a0.tp53} cases: enough to stay above k after one leaves`);
  assert.deepEqual(a0.json.restricted_to_consent, ['consented', 'partially-consented']);
  const op0 = await counts(tokOp);

  const patch = (status) => call(srv.url, `/api/v1/cases/${victim}/clinical`, {
    method: 'PATCH', token: tokOp, body: { consent: { status } },
  });
  let r = await patch('withdrawn');
  assert.equal(r.status, 200, r.text);
  const a1 = await counts(tokAcad);
  assert.deepEqual([a1.cases, a1.profiled, a1.tp53], [a0.cases - 1, a0.profiled - 1, a0.tp53 - 1],
    'the withdrawn case is gone from the next query, without a restart');
  const op1 = await counts(tokOp);
  assert.deepEqual([op1.cases, op1.tp53], [op0.cases, op0.tp53], 'the operator (custodian) still sees it');
  // pending is not consent either
  r = await patch('pending');
  assert.equal(r.status, 200, r.text);
  assert.equal((await counts(tokAcad)).tp53, a0.tp53 - 1);
  // a partial consent covers aggregate counts
  r = await patch('partially-consented');
  assert.equal(r.status, 200, r.text);
  assert.equal((await counts(tokAcad)).tp53, a0.tp53);
  r = await patch('consented');
  assert.equal(r.status, 200, r.text);
  const a2 = await counts(tokAcad);
  assert.deepEqual([a2.cases, a2.profiled, a2.tp53], [a0.cases, a0.profiled, a0.tp53], 're-consent brings it back');
});

test('the clinical diagnosis decides a case\'s cancer type in the cohort', async () => {
  const cases = JSON.parse(cli(srv.dataDir, ['case', 'list', '--json']));
  const id = cases[2].id;
  const r = await call(srv.url, `/api/v1/cases/${id}/clinical`, {
    method: 'PATCH', token: tokOp, body: { diagnosis: { oncotree: 'MNG' } },
  });
  assert.equal(r.status, 200, r.text);
  const g = await call(srv.url, '/api/v1/genome/query/genes?genes=TP53', { token: tokOp });
  const mng = g.json.groups.find((x) => x.group === 'MNG');
  assert.ok(mng, `an MNG group: ${g.json.groups.map((x) => x.group)}`);
  assert.equal(mng.profiled, 1);
  assert.equal(g.json.groups.reduce((s, x) => s + x.profiled, 0), g.json.profiled, `still a partition of the cohort: ${JSON.stringify(g.json.groups.map((x) => [x.group, x.profiled]))} ${g.json.profiled}`);
});
