// Sequencing QC over the API: coverage of a registered BAM, pipeline metrics, identity check
// and the gates' pass/fail/why per case (tumour ≥120×, normal ≥30× by default).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, addUser, cli } from '../lib/zengen.mjs';
import { call, cliToken, assertSchema, ROOT } from './util.mjs';

const SD = join(ROOT, '..', 'shared', 'data', 'bam_cram', 'strelka-demo20');
let srv, tok, acad, caseId, f1, f2;

before(async () => {
  srv = await startServer();
  addUser(srv.dataDir, 'qcop', 'operator', 'Hosp1', 'hospital');
  addUser(srv.dataDir, 'qcacad', 'academic', 'Univ', 'academia');
  caseId = cli(srv.dataDir, ['case', 'add', '--org', 'Hosp1']).trim();
  f1 = cli(srv.dataDir, ['file', 'add', join(SD, 'NA12891_demo20.bam'), '--case', caseId]).match(/ZGF-[0-9A-F]{12}/)[0];
  f2 = cli(srv.dataDir, ['file', 'add', join(SD, 'NA12892_demo20.bam'), '--case', caseId]).match(/ZGF-[0-9A-F]{12}/)[0];
  tok = cliToken(srv.dataDir, 'qcop', 'qc', { scope: 'overview,detailed-genome' });
  acad = cliToken(srv.dataDir, 'qcacad', 'qc', { scope: 'overview,aggregate' });
});
after(async () => { await srv?.stop(); });

test('gates are configuration with the issue\'s defaults', async () => {
  const g = await call(srv.url, '/api/v1/qc/gates', { token: acad });
  assert.equal(g.status, 200);
  assert.equal(g.json.tumour_min_mean_coverage, 120);
  assert.equal(g.json.normal_min_mean_coverage, 30);
  assert.equal(g.json.rna_min_reads, 20000000);
});

test('a case starts pending, then each gate says pass or fail and why', async () => {
  let v = await call(srv.url, `/api/v1/qc/cases/${caseId}`, { token: tok });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.overall, 'pending');
  assert.ok(v.json.gates.every((g) => g.status === 'pending' && g.why.length > 10));

  // a whole-file pass runs as a background job: 202, then poll its Location
  const sub = await call(srv.url, `/api/v1/qc/files/${f1}/coverage`, { token: tok, body: { role: 'tumour' } });
  assert.equal(sub.status, 202, sub.text);
  assert.equal(sub.json.kind, 'qc.coverage');
  let job;
  for (let i = 0; i < 400; i++) {
    job = (await call(srv.url, sub.headers.get('location'), { token: tok })).json;
    if (job.state === 'succeeded' || job.state === 'failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(job.state, 'succeeded', JSON.stringify(job.error));
  assertSchema('QcCoverage', job.result);
  assert.equal(job.result.mean_autosome_coverage, 16.21);
  assert.equal(job.result.contigs[0].name, 'demo20');
  assert.equal(job.result.role, 'tumour');
  // checked at once, before any job: role, format, visibility
  const badRole = await call(srv.url, `/api/v1/qc/files/${f1}/coverage`, { token: tok, body: { role: 'blood' } });
  assert.equal(badRole.status, 422);
  assert.equal(badRole.json.errors[0].pointer, '/role');

  const met = await call(srv.url, `/api/v1/qc/cases/${caseId}/metrics`, {
    token: tok, body: { role: 'normal', metrics: { mean_autosome_coverage: 35.5, raw_reads: 700000000, pct_reads_mapped: 99.1 } },
  });
  assert.equal(met.status, 201, met.text);

  const id = await call(srv.url, `/api/v1/qc/cases/${caseId}/identity`, { token: tok, body: { tumour_file: f2, normal_file: f1, min_sites: 10 } });
  assert.equal(id.status, 201, id.text);
  assert.equal(id.json.verdict, 'mismatch', 'NA12892 vs NA12891: different people');

  v = await call(srv.url, `/api/v1/qc/cases/${caseId}`, { token: tok });
  const gate = (name) => v.json.gates.find((g) => g.gate === name);
  assert.equal(gate('tumour_min_mean_coverage').status, 'fail');
  assert.match(gate('tumour_min_mean_coverage').why, /16\.2x is below the required 120x/);
  assert.equal(gate('normal_min_mean_coverage').status, 'pass');
  assert.equal(gate('tumour_normal_identity').status, 'fail');
  assert.match(gate('tumour_normal_identity').why, /sample swap/);
  assert.equal(v.json.overall, 'fail');
});

test('input errors and tiers', async () => {
  const bad = await call(srv.url, `/api/v1/qc/cases/${caseId}/metrics`, { token: tok, body: { role: 'normal', metrics: { 'Mean Coverage': 3 } } });
  assert.equal(bad.status, 422);
  assert.equal((await call(srv.url, `/api/v1/qc/cases/${caseId}`, { token: acad })).status, 403, 'researchers do not see per-case QC');
  assert.equal((await call(srv.url, '/api/v1/qc/cases/ZGC-0000-00000', { token: tok })).status, 404);
});
