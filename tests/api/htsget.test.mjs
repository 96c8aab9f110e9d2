// htsget 1.3 with real clients: samtools/bcftools read zengen's ticket URLs (bearer token from
// an HTS_AUTH_LOCATION file) and must print exactly what they print for the same region of the
// local file (BAM, CRAM, bgzipped VCF, BCF). Also: errors, own-organisation obligation, audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, addUser, cli } from '../lib/zengen.mjs';
import { call, cliToken, ROOT } from './util.mjs';

const DATA = join(ROOT, '..', 'shared', 'data');
const HT = join(DATA, 'bam_cram', 'htslib-test');
const SD = join(DATA, 'bam_cram', 'strelka-demo20');
const GL = join(DATA, 'vcf', 'germline', 'VariantAnnotation-extdata');

let srv, work, token, tokenFile, files = {}, otherToken;

function sh(cmd, args, env = {}) {
  return execFileSync(cmd, args, { encoding: 'buffer', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
}
const clientEnv = () => ({
  HTS_AUTH_LOCATION: tokenFile,
  // the test server speaks plain HTTP on loopback; production runs TLS
  HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER: 'I understand the risks',
});
function addFile(caseId, path, extra = []) {
  const out = cli(srv.dataDir, ['file', 'add', path, '--case', caseId, ...extra]);
  const m = out.match(/ZGF-[0-9A-F]{12}/);
  assert.ok(m, `file add printed an id: ${out}`);
  return m[0];
}
// "CHR:1000-2000" (1-based inclusive, as samtools takes it) → htsget query (0-based half-open)
function q(region) {
  const [ref, span] = region.split(':');
  if (!span) return `referenceName=${encodeURIComponent(ref)}`;
  const [s, e] = span.split('-').map(Number);
  return `referenceName=${encodeURIComponent(ref)}&start=${s - 1}&end=${e}`;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'zg-htsget-'));
  // blocks as URLs (not inlined into tickets), so the clients exercise the block route
  srv = await startServer({ env: { ZENGEN_HTSGET_INLINE: '0' }, extraArgs: ['--cors-origin', 'https://viewer.example'] });
  addUser(srv.dataDir, 'hgop', 'operator', 'Hosp1', 'hospital');
  addUser(srv.dataDir, 'hgseq', 'sequencer', 'SeqCo', 'sequencing');
  const caseId = cli(srv.dataDir, ['case', 'add', '--org', 'Hosp1']).trim();
  // range.bam/range.cram come without an index: index copies
  for (const f of ['range.bam', 'range.cram']) copyFileSync(join(HT, f), join(work, f));
  sh('samtools', ['index', join(work, 'range.bam')]);
  sh('samtools', ['index', join(work, 'range.cram')]);
  sh('bcftools', ['view', '-Ob', '-o', join(work, 'chr22.bcf'), join(GL, 'chr22.vcf.gz')]);
  sh('bcftools', ['index', join(work, 'chr22.bcf')]);
  files.rangeBam = addFile(caseId, join(work, 'range.bam'));
  files.rangeCram = addFile(caseId, join(work, 'range.cram'), ['--ref-fasta', join(HT, 'ce.fa')]);
  files.demoBam = addFile(caseId, join(SD, 'NA12891_demo20.bam'));
  files.demoCram = addFile(caseId, join(SD, 'NA12891_demo20.cram'), ['--ref-fasta', join(SD, 'demo20.fa')]);
  files.vcf = addFile(caseId, join(GL, 'chr22.vcf.gz'), ['--kind', 'germline']);
  files.bcf = addFile(caseId, join(work, 'chr22.bcf'), ['--kind', 'germline']);
  token = cliToken(srv.dataDir, 'hgop', 'htsget', { scope: 'overview,detailed-genome' });
  otherToken = cliToken(srv.dataDir, 'hgseq', 'seq', { scope: 'overview,detailed-genome' });
  tokenFile = join(work, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
});
after(async () => {
  await srv?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function sameReads(id, local, ref, regions) {
  for (const region of regions) {
    const url = `${srv.url}/api/htsget/v1/reads/${id}?${q(region)}`;
    const remote = sh('samtools', ['view', '--reference', ref, url], clientEnv()).toString();
    const want = sh('samtools', ['view', '--reference', ref, local, region]).toString();
    assert.equal(remote, want, `${region}: htsget reads equal local samtools view`);
  }
}

test('BAM: samtools view on the htsget URL = samtools view of the local region', () => {
  sameReads(files.rangeBam, join(work, 'range.bam'), join(HT, 'ce.fa'),
    ['CHROMOSOME_I', 'CHROMOSOME_II:1000-2000', 'CHROMOSOME_III:2000-3000', 'CHROMOSOME_III:1-10000', 'CHROMOSOME_IV:4000-10000', 'CHROMOSOME_V']);
  sameReads(files.demoBam, join(SD, 'NA12891_demo20.bam'), join(SD, 'demo20.fa'),
    ['demo20', 'demo20:1000-1200', 'demo20:2000-2001', 'demo20:4900-5000']);
  // a region with reads must really have reads (the comparison is not of two empty outputs)
  const n = sh('samtools', ['view', '-c', `${srv.url}/api/htsget/v1/reads/${files.demoBam}?${q('demo20:1000-1200')}`], clientEnv()).toString().trim();
  assert.ok(Number(n) > 10, `reads in the slice: ${n}`);
});

test('CRAM: edge containers are re-encoded, so the slice is exact too', () => {
  sameReads(files.rangeCram, join(work, 'range.cram'), join(HT, 'ce.fa'),
    ['CHROMOSOME_I', 'CHROMOSOME_II:1000-2000', 'CHROMOSOME_III:2000-3000', 'CHROMOSOME_IV:4000-10000']);
  sameReads(files.demoCram, join(SD, 'NA12891_demo20.cram'), join(SD, 'demo20.fa'),
    ['demo20', 'demo20:1000-1200', 'demo20:2000-2001']);
});

test('CRAM as BAM (format=BAM, for BAM-only clients such as igv.js): same reads as the CRAM', () => {
  // samtools reads the BAM the ticket points at; the records equal the local CRAM's region
  const bamOf = (id, region) => `${srv.url}/api/htsget/v1/reads/${id}?${q(region)}&format=BAM`;
  for (const [id, local, ref, regions] of [
    [files.demoCram, join(SD, 'NA12891_demo20.cram'), join(SD, 'demo20.fa'), ['demo20:1000-1200', 'demo20:2000-2001', 'demo20']],
    [files.rangeCram, join(work, 'range.cram'), join(HT, 'ce.fa'), ['CHROMOSOME_II:1000-2000', 'CHROMOSOME_IV:4000-10000']],
  ]) {
    for (const region of regions) {
      const remote = sh('samtools', ['view', bamOf(id, region)], clientEnv()).toString();
      const want = sh('samtools', ['view', '--reference', ref, local, region]).toString();
      assert.equal(remote, want, `${region}: CRAM served as BAM = local CRAM`);
    }
  }
  const n = sh('samtools', ['view', '-c', bamOf(files.demoCram, 'demo20:1000-1200')], clientEnv()).toString().trim();
  assert.ok(Number(n) > 10, `reads in the slice: ${n}`);
});

test('CRAM as BAM: ticket says BAM, blocks are BGZF, header-only and whole file work', async () => {
  const r = await call(srv.url, `/api/htsget/v1/reads/${files.demoCram}?${q('demo20:1000-1200')}&format=BAM`, { token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.htsget.format, 'BAM');
  assert.match(r.json.htsget.urls.at(-1).url, /^data:application\/vnd\.ga4gh\.bam;base64,/, 'BGZF EOF marker');
  const body = r.json.htsget.urls.find((u) => u.class === 'body' && u.url.startsWith('http'));
  const blk = await fetch(body.url, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(blk.status, 200);
  const bytes = Buffer.from(await blk.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 4)], [0x1f, 0x8b, 8, 4], 'a BGZF block');
  const hdr = sh('samtools', ['view', '--no-PG', '-H', `${srv.url}/api/htsget/v1/reads/${files.demoCram}?class=header&format=BAM`], clientEnv()).toString();
  assert.match(hdr, /@SQ\tSN:demo20/);
  const whole = sh('samtools', ['view', '-c', `${srv.url}/api/htsget/v1/reads/${files.demoCram}?format=BAM`], clientEnv()).toString().trim();
  assert.equal(whole, sh('samtools', ['view', '-c', '--reference', join(SD, 'demo20.fa'), join(SD, 'NA12891_demo20.cram')]).toString().trim());
  // a BAM is not served as CRAM, and VCF formats are not reads
  const e = await call(srv.url, `/api/htsget/v1/reads/${files.demoCram}?format=VCF`, { token });
  assert.equal(e.status, 400);
  assert.equal(e.json.htsget.error, 'UnsupportedFormat');
});

test('whole file and class=header', () => {
  const url = `${srv.url}/api/htsget/v1/reads/${files.rangeBam}`;
  assert.equal(sh('samtools', ['view', url], clientEnv()).toString(), sh('samtools', ['view', join(work, 'range.bam')]).toString());
  const hdr = sh('samtools', ['view', '--no-PG', '-H', `${url}?class=header`], clientEnv()).toString();
  assert.equal(hdr, sh('samtools', ['view', '--no-PG', '-H', join(work, 'range.bam')]).toString());
});

test('VCF and BCF: bcftools view on the htsget URL = bcftools view -r of the local file', () => {
  for (const [id, local] of [[files.vcf, join(GL, 'chr22.vcf.gz')], [files.bcf, join(work, 'chr22.bcf')]]) {
    for (const region of ['22', '22:50300078-50300078', '22:50310000-50320000', '22:50400000-50700000']) {
      const remote = sh('bcftools', ['view', '-H', `${srv.url}/api/htsget/v1/variants/${id}?${q(region)}`], clientEnv()).toString();
      const want = sh('bcftools', ['view', '-H', '-r', region, local]).toString();
      assert.equal(remote, want, `${region}`);
      if (region !== '22:50300078-50300078') assert.ok(want.split('\n').length > 100, 'a real slice');
    }
  }
});

test('ticket shape, block headers and htsget errors', async () => {
  const r = await call(srv.url, `/api/htsget/v1/reads/${files.demoBam}?${q('demo20:1000-1200')}`, { token });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /application\/vnd\.ga4gh\.htsget\.v1\.3\.0\+json/);
  assert.ok(r.text.startsWith('{"htsget":'), 'clients detect the ticket by its prefix');
  const t = r.json.htsget;
  assert.equal(t.format, 'BAM');
  assert.equal(t.urls[0].class, 'header');
  assert.ok(t.urls.every((u) => u.class === 'header' || u.class === 'body'));
  assert.match(t.urls.at(-1).url, /^data:application\/vnd\.ga4gh\.bam;base64,/, 'EOF marker inline');
  const block = t.urls.find((u) => u.url.startsWith('http'));
  assert.equal(block.headers.Authorization, `Bearer ${token}`, 'block URLs carry the caller\'s own credentials');
  // the block needs credentials like the ticket
  const path = block.url.slice(srv.url.length);
  assert.equal((await call(srv.url, path)).status, 401);
  const ok = await call(srv.url, path, { token, headers: { origin: 'https://viewer.example' } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'application/octet-stream');
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://viewer.example', 'CORS (spec) for a listed origin');
  assert.equal(ok.headers.get('access-control-allow-credentials'), null, 'never cookies cross-origin');
  const other = await call(srv.url, path, { token, headers: { origin: 'https://unlisted.example' } });
  assert.equal(other.status, 200);
  assert.equal(other.headers.get('access-control-allow-origin'), null, 'unlisted origins get no CORS headers');

  const err = async (p, status, type) => {
    const e = await call(srv.url, p, { token });
    assert.equal(e.status, status, `${p}: ${e.text}`);
    assert.equal(e.json.htsget.error, type, p);
    assert.equal(typeof e.json.htsget.message, 'string');
  };
  await err(`/api/htsget/v1/reads/${files.demoBam}?referenceName=nochr`, 404, 'NotFound');
  await err('/api/htsget/v1/reads/ZGF-000000000000', 404, 'NotFound');
  await err(`/api/htsget/v1/reads/${files.demoBam}?referenceName=demo20&start=300&end=200`, 400, 'InvalidRange');
  await err(`/api/htsget/v1/reads/${files.demoBam}?format=CRAM`, 400, 'UnsupportedFormat');
  await err(`/api/htsget/v1/reads/${files.demoBam}?start=5`, 400, 'InvalidInput');
  await err(`/api/htsget/v1/reads/${files.demoBam}?class=header&referenceName=demo20`, 400, 'InvalidInput');
  await err(`/api/htsget/v1/variants/${files.demoBam}`, 404, 'NotFound');
  await err(`/api/htsget/v1/blocks/${files.demoBam}?k=z&a=65536000000000&b=65536000000001`, 400, 'InvalidInput');
  await err(`/api/htsget/v1/blocks/${files.demoBam}?k=q&a=0&b=1`, 400, 'InvalidInput');
});

test('POST with regions gives one header, the bodies and one EOF', async () => {
  const r = await call(srv.url, `/api/htsget/v1/reads/${files.rangeBam}`, {
    token, body: { format: 'BAM', regions: [{ referenceName: 'CHROMOSOME_II', start: 999, end: 2000 }, { referenceName: 'CHROMOSOME_IV' }] },
  });
  assert.equal(r.status, 200, r.text);
  const urls = r.json.htsget.urls;
  assert.equal(urls.filter((u) => u.class === 'header').length, 1);
  assert.equal(urls.filter((u) => u.url.startsWith('data:')).length, 1);
});

test('sequencer of another organisation is refused (own-organisation obligation); no token → 401', async () => {
  const r = await call(srv.url, `/api/htsget/v1/reads/${files.demoBam}`, { token: otherToken });
  assert.equal(r.status, 403);
  assert.equal(r.json.htsget.error, 'PermissionDenied');
  assert.equal((await call(srv.url, `/api/htsget/v1/reads/${files.demoBam}`)).status, 401);
  assert.throws(() => sh('samtools', ['view', `${srv.url}/api/htsget/v1/reads/${files.demoBam}`]), 'samtools without a token fails');
});

test('small slices come inline in the ticket (default server setting) and read the same', async () => {
  const inl = await startServer({ dataDir: srv.dataDir, init: false });
  try {
    const r = await call(inl.url, `/api/htsget/v1/reads/${files.demoBam}?${q('demo20:1000-1200')}`, { token });
    assert.equal(r.status, 200);
    assert.ok(r.json.htsget.urls.every((u) => u.url.startsWith('data:') && !u.headers), 'no follow-up requests, no credentials in the ticket');
    const remote = sh('samtools', ['view', `${inl.url}/api/htsget/v1/reads/${files.demoBam}?${q('demo20:1000-1200')}`], clientEnv()).toString();
    assert.equal(remote, sh('samtools', ['view', join(SD, 'NA12891_demo20.bam'), 'demo20:1000-1200']).toString());
  } finally {
    await inl.stop();
  }
});

test('tickets and blocks are audited with the file id', async () => {
  addUser(srv.dataDir, 'hgaud', 'auditor', 'DC', 'datacenter');
  const at = cliToken(srv.dataDir, 'hgaud', 'aud', { scope: 'audit' });
  const ev = await call(srv.url, '/api/v1/audit/events?action=htsget.block&limit=200', { token: at });
  assert.equal(ev.status, 200, ev.text);
  const blocks = ev.json.events.filter((e) => e.phase === 'result' && e.outcome === 'success');
  assert.ok(blocks.length > 0, 'block reads are audited');
  assert.ok(blocks.some((e) => e.data.includes(files.demoBam) && e.user === 'hgop'));
  assert.ok(!JSON.stringify(ev.json).includes(token), 'tokens never reach the audit trail');
});
