// Background jobs: a sequencer uploads a VCF, asks for its import (202 + Location), polls the
// job to success and sees the variants; bad requests are refused at once with problems naming
// the field; a failing job carries an RFC 9457 problem; only the submitter sees a job; each run
// is audited under the submitter; a job queued while no worker runs (or left running by a
// stopped server) runs after the next start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, addUser, cli } from '../lib/zengen.mjs';
import { call, assertProblem, assertSchema, cliToken, auditEvents, ROOT } from './util.mjs';

const DATA = join(ROOT, '..', 'shared', 'data');
const VEP = join(DATA, 'vcf', 'annotated', 'bcftools-tests', 'test', 'split-vep.vcf');
const SITES = join(DATA, 'vcf', 'annotated', 'cyvcf2-tests', 'test.vcf.gz');
let srv, tokSeq, tokOther, tokAud, caseId, seq;

before(async () => {
  srv = await startServer();
  seq = addUser(srv.dataDir, 'jobseq', 'sequencer', 'Job Hospital', 'hospital');
  const other = addUser(srv.dataDir, 'jobseq2', 'sequencer', 'Other Seq', 'sequencing');
  const aud = addUser(srv.dataDir, 'jobaud', 'auditor', 'DC', 'datacenter');
  tokSeq = cliToken(srv.dataDir, seq.login, 'seq');
  tokOther = cliToken(srv.dataDir, other.login, 'seq2');
  tokAud = cliToken(srv.dataDir, aud.login, 'aud');
  caseId = cli(srv.dataDir, ['case', 'add', '--org', 'Job Hospital']).trim();
});
after(async () => { await srv?.stop(); });

async function upload(url, path) {
  const bytes = readFileSync(path);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const b = await call(url, '/api/v1/genome/uploads', {
    token: tokSeq, body: { case_id: caseId, size: bytes.length, sha256: sha, kind: 'somatic', name: path.split('/').pop() },
  });
  assert.equal(b.status, 201, b.text);
  const put = await call(url, `/api/v1/genome/uploads/${b.json.id}/data?offset=0`, {
    method: 'PUT', token: tokSeq, body: bytes, headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(put.status, 200, put.text);
  const fin = await call(url, `/api/v1/genome/uploads/${b.json.id}/finish`, { token: tokSeq, body: {} });
  assert.equal(fin.status, 201, fin.text);
  return fin.json.id;
}

async function waitJob(url, location, token = tokSeq) {
  for (let i = 0; i < 600; i++) {
    const r = await call(url, location, { token });
    assert.equal(r.status, 200, r.text);
    assertSchema('Job', r.json);
    if (r.json.state === 'succeeded' || r.json.state === 'failed') return r.json;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`job ${location} did not finish`);
}

test('import a registered VCF as a job: 202, Location, progress to success, variants visible', async () => {
  const file = await upload(srv.url, VEP);
  const r = await call(srv.url, `/api/v1/genome/files/${file}/import`, { token: tokSeq, body: { kind: 'somatic', cancer_type: 'LUAD' } });
  assert.equal(r.status, 202, r.text);
  assertSchema('Job', r.json);
  assert.equal(r.json.kind, 'genome.import');
  assert.equal(r.json.submitted_by, seq.login);
  assert.equal(r.headers.get('location'), `/api/v1/jobs/${r.json.id}`);
  const job = await waitJob(srv.url, r.headers.get('location'));
  assert.equal(job.state, 'succeeded', JSON.stringify(job.error));
  assert.equal(job.result.file_id, file);
  assert.equal(job.result.case_id, caseId);
  assert.ok(job.result.stored > 0 && job.result.stored === job.result.alleles, JSON.stringify(job.result));
  assert.equal(job.result.already, false);
  const c = await call(srv.url, `/api/v1/genome/cases/${caseId}`, { token: tokSeq });
  assert.equal(c.status, 200, c.text);
  assert.equal(c.json.cancer_type, 'LUAD');
  assert.ok(c.json.somatic.length > 0);
  // importing the same file again changes nothing
  const again = await call(srv.url, `/api/v1/genome/files/${file}/import`, { token: tokSeq, body: { kind: 'somatic' } });
  const job2 = await waitJob(srv.url, again.headers.get('location'));
  assert.equal(job2.state, 'succeeded');
  assert.equal(job2.result.already, true);
  // my jobs, newest first; nobody else sees them
  const list = await call(srv.url, '/api/v1/jobs', { token: tokSeq });
  assertSchema('JobList', list.json);
  assert.deepEqual(list.json.jobs.slice(0, 2).map((j) => j.id), [job2.id, job.id]);
  assert.equal((await call(srv.url, '/api/v1/jobs?state=succeeded&limit=1', { token: tokSeq })).json.jobs.length, 1);
  assertProblem(await call(srv.url, '/api/v1/jobs?state=done', { token: tokSeq }), 422, 'validation');
  assertProblem(await call(srv.url, `/api/v1/jobs/${job.id}`, { token: tokOther }), 404, 'not-found');
  assert.equal(job.tier, 'detailed-genome');
  // a token scoped for the job's tier alone can poll it; one without that tier cannot see it
  const genomeOnly = cliToken(srv.dataDir, seq.login, 'genome-only', { scope: 'detailed-genome' });
  assert.equal((await call(srv.url, `/api/v1/jobs/${job.id}`, { token: genomeOnly })).json.state, 'succeeded');
  const overviewOnly = cliToken(srv.dataDir, seq.login, 'overview-only', { scope: 'overview' });
  assertProblem(await call(srv.url, `/api/v1/jobs/${job.id}`, { token: overviewOnly }), 404, 'not-found');
  assert.equal((await call(srv.url, '/api/v1/jobs', { token: overviewOnly })).json.jobs.length, 0);
  assert.equal((await call(srv.url, '/api/v1/jobs', { token: tokOther })).json.jobs.length, 0);
  // each run is audited under the submitter, with the file and case it touched
  const ev = await auditEvents(srv.url, { token: tokAud }, { action: 'genome.import.run' });
  const mine = ev.filter((e) => e.job === job.id);
  assert.deepEqual(mine.map((e) => e.phase), ['attempt', 'result']);
  assert.equal(mine[1].outcome, 'success');
  assert.equal(mine[1].user, seq.login);
  assert.equal(mine[1].auth, 'job');
  assert.ok(mine[1].data.includes(file) && mine[1].data.includes(caseId));
});

test('bad requests are refused at once; a failing job carries a problem', async () => {
  const file = await upload(srv.url, SITES);
  const imp = (body, token = tokSeq, id = file) => call(srv.url, `/api/v1/genome/files/${id}/import`, { token, body });
  let p = assertProblem(await imp({}), 422, 'validation');
  assert.equal(p.errors[0].pointer, '/kind');
  p = assertProblem(await imp({ kind: 'tumour' }), 422, 'validation');
  assert.equal(p.errors[0].pointer, '/kind');
  p = assertProblem(await imp({ kind: 'somatic', cancer_type: 'lung cancer' }), 422, 'validation');
  assert.equal(p.errors[0].pointer, '/cancer_type');
  p = assertProblem(await imp({ kind: 'somatic', callable_mb: -3 }), 422, 'validation');
  assert.equal(p.errors[0].pointer, '/callable_mb');
  assertProblem(await imp({ kind: 'somatic', extra: 1 }), 422, 'validation');
  assertProblem(await imp({ kind: 'somatic' }, tokOther), 404, 'not-found');
  assertProblem(await imp({ kind: 'somatic' }, tokSeq, 'ZGF-000000000000'), 404, 'not-found');
  assertProblem(await imp({ kind: 'somatic' }, tokSeq, 'ZGF-nope'), 422, 'validation');
  // a BAM holds no variant calls
  const bam = JSON.parse(cli(srv.dataDir, ['file', 'add', join(DATA, 'bam_cram', 'htslib-test', 'range.bam'), '--case', caseId, '--json']));
  p = assertProblem(await imp({ kind: 'somatic' }, tokSeq, bam.id), 422, 'validation');
  assert.match(p.detail, /bam/);
  // accepted, then fails in the worker: the file was imported as somatic for this case, and
  // somatic and germline never mix; the job's error is a problem naming the reason
  const sitesOnly = JSON.parse(cli(srv.dataDir, ['file', 'add', VEP, '--case', caseId, '--json'])).id;
  const r = await imp({ kind: 'germline' }, tokSeq, sitesOnly);
  assert.equal(r.status, 202, r.text);
  const job = await waitJob(srv.url, r.headers.get('location'));
  assert.equal(job.state, 'failed');
  assert.equal(job.result, null);
  assertSchema('Problem', job.error);
  assert.equal(job.error.status, 409);
  assert.equal(job.error.type, '/problems/conflict');
  assert.match(job.error.detail, /never mix/);
});

test('a job queued while no worker runs is run after the next start', async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'zg-jobs-')), 'data');
  let s2 = await startServer({ dataDir, extraArgs: ['--job-workers', '0'] });
  try {
    const u = addUser(dataDir, 'jobseq3', 'sequencer', 'Restart Hospital', 'hospital');
    const tok = cliToken(dataDir, u.login, 'seq3');
    const cid = cli(dataDir, ['case', 'add', '--org', 'Restart Hospital']).trim();
    const file = JSON.parse(cli(dataDir, ['file', 'add', SITES, '--case', cid, '--json']));
    const r = await call(s2.url, `/api/v1/genome/files/${file.id}/import`, { token: tok, body: { kind: 'germline' } });
    assert.equal(r.status, 202, r.text);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal((await call(s2.url, r.headers.get('location'), { token: tok })).json.state, 'queued');
    await s2.stop();
    s2 = await startServer({ dataDir, init: false });
    const job = await waitJob(s2.url, r.headers.get('location'), tok);
    assert.equal(job.state, 'succeeded', JSON.stringify(job.error));
    assert.equal(job.attempts, 1);
    assert.ok(job.result.records > 0);
  } finally {
    await s2.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a queued job of a user disabled before it runs fails with the reason', async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'zg-jobs-')), 'data');
  let s2 = await startServer({ dataDir, extraArgs: ['--job-workers', '0'] });
  try {
    const u = addUser(dataDir, 'jobseq4', 'sequencer', 'Disabled Hospital', 'hospital');
    const tok = cliToken(dataDir, u.login, 'seq4');
    const cid = cli(dataDir, ['case', 'add', '--org', 'Disabled Hospital']).trim();
    const file = JSON.parse(cli(dataDir, ['file', 'add', SITES, '--case', cid, '--json']));
    const r = await call(s2.url, `/api/v1/genome/files/${file.id}/import`, { token: tok, body: { kind: 'germline' } });
    assert.equal(r.status, 202, r.text);
    await s2.stop();
    cli(dataDir, ['user', 'disable', u.login]);
    s2 = await startServer({ dataDir, init: false });
    let job;
    for (let i = 0; i < 200; i++) {
      job = JSON.parse(cli(dataDir, ['job', 'show', r.json.id]));
      if (job.state === 'failed' || job.state === 'succeeded') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(job.state, 'failed');
    assert.match(job.error.detail, /account is disabled/);
    assert.equal(job.result, null);
  } finally {
    await s2.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
