// `zengen upload`, a sequencing center's client: streams a file to a zengen server in raw
// chunks, lets the server verify the SHA-256, resumes an interrupted upload, and starts and
// follows the variant-import job; errors are reported with the server's reason and a non-zero
// exit; the token comes from a file, never from the command line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startServer, addUser, cli } from '../lib/zengen.mjs';
import { call, cliToken, ROOT } from './util.mjs';

const DATA = join(ROOT, '..', 'shared', 'data');
const VEP = join(DATA, 'vcf', 'annotated', 'bcftools-tests', 'test', 'split-vep.vcf');
const GZ = join(DATA, 'vcf', 'annotated', 'cyvcf2-tests', 'test.vcf.gz');
const work = mkdtempSync(join(tmpdir(), 'zg-upl-'));
let srv, tok, tokFile, caseId, otherCase;

const upload = (args, env = {}) => spawnSync(BIN, ['upload', ...args], {
  encoding: 'utf8', env: { ...process.env, ZENGEN_TOKEN: '', ...env },
});

before(async () => {
  srv = await startServer();
  const seq = addUser(srv.dataDir, 'uplseq', 'sequencer', 'Upload Seq Hospital', 'hospital');
  tok = cliToken(srv.dataDir, seq.login, 'uploader');
  tokFile = join(work, 'token');
  writeFileSync(tokFile, `${tok}\n`);
  chmodSync(tokFile, 0o600);
  caseId = cli(srv.dataDir, ['case', 'add', '--org', 'Upload Seq Hospital']).trim();
  addUser(srv.dataDir, 'uplother', 'sequencer', 'Elsewhere', 'hospital');
  otherCase = cli(srv.dataDir, ['case', 'add', '--org', 'Elsewhere']).trim();
});
after(async () => {
  await srv?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('upload in many chunks, registered byte for byte, then imported by a followed job', () => {
  const r = upload([VEP, '--server', srv.url, '--case', caseId, '--token-file', tokFile, '--kind', 'somatic',
    '--chunk-size', '4096', '--import', 'somatic', '--cancer-type', 'LUAD']);
  assert.equal(r.status, 0, r.stderr);
  const m = r.stdout.match(/file (ZGF-[0-9A-F]{12}) registered for case (ZGC-\S+) \(vcf, SHA-256 verified/);
  assert.ok(m, r.stdout);
  assert.equal(m[2], caseId);
  assert.match(r.stdout, /imported \d+ somatic rows from \d+ records into case/);
  assert.match(r.stderr, /upload: 0\.6 of 0\.6 MB \(100%\)/);
  assert.ok(r.stderr.split('\n').filter((l) => l.startsWith('upload: 0.')).length < 20, 'progress is throttled, not a line per chunk');
  assert.match(r.stderr, /continue an interrupted upload with --resume/);
  const shown = JSON.parse(cli(srv.dataDir, ['file', 'show', m[1], '--json']));
  assert.equal(shown.sha256, createHash('sha256').update(readFileSync(VEP)).digest('hex'));
  assert.equal(shown.name, 'split-vep.vcf');
});

test('an interrupted upload is resumed from what the server holds', async () => {
  const bytes = readFileSync(GZ);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const b = await call(srv.url, '/api/v1/genome/uploads', { token: tok, body: { case_id: caseId, size: bytes.length, sha256: sha, name: 'test.vcf.gz' } });
  assert.equal(b.status, 201, b.text);
  const part = await call(srv.url, `/api/v1/genome/uploads/${b.json.id}/data?offset=0`, {
    method: 'PUT', token: tok, body: bytes.subarray(0, 5000), headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(part.json.received, 5000);
  const r = upload([GZ, '--server', srv.url, '--case', caseId, '--resume', b.json.id, '--chunk-size', '2048', '--quiet'],
    { ZENGEN_TOKEN: tok });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /file ZGF-[0-9A-F]{12} registered/);
  const st = await call(srv.url, `/api/v1/genome/uploads/${b.json.id}`, { token: tok });
  assert.equal(st.json.state, 'done');
  assert.equal(st.json.received, bytes.length);
  // resuming with a different file is refused before any byte is sent
  const wrong = upload([VEP, '--server', srv.url, '--case', caseId, '--resume', b.json.id, '--token-file', tokFile, '--quiet']);
  assert.notEqual(wrong.status, 0);
});

test('refusals name the reason; the token never comes from the command line', () => {
  const other = upload([VEP, '--server', srv.url, '--case', otherCase, '--token-file', tokFile, '--quiet']);
  assert.notEqual(other.status, 0);
  assert.match(other.stderr, /case_id: no such case \(HTTP 422\)/);
  const notoken = upload([VEP, '--server', srv.url, '--case', caseId]);
  assert.notEqual(notoken.status, 0);
  assert.match(notoken.stderr, /--token-file/);
  const badtoken = upload([VEP, '--server', srv.url, '--case', caseId, '--quiet'], { ZENGEN_TOKEN: 'zgt_nope' });
  assert.notEqual(badtoken.status, 0);
  assert.match(badtoken.stderr, /HTTP 401/);
  const nofile = upload([join(work, 'missing.vcf'), '--server', srv.url, '--case', caseId, '--token-file', tokFile]);
  assert.notEqual(nofile.status, 0);
  const badimport = upload([VEP, '--server', srv.url, '--case', caseId, '--token-file', tokFile, '--quiet', '--import', 'tumour']);
  assert.notEqual(badimport.status, 0);
  assert.match(badimport.stderr, /import: kind: must be somatic, germline, sv or cnv/);
});

test('a BAM goes with its index: the server checks and stores the index instead of building one', () => {
  const dir = join(DATA, 'bam_cram', 'strelka-demo20');
  const bam = join(dir, 'NA12891_demo20.bam');
  const r = upload([bam, '--index', `${bam}.bai`, '--server', srv.url, '--case', caseId, '--token-file', tokFile,
    '--kind', 'reads', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const m = r.stdout.match(/file (ZGF-[0-9A-F]{12}) registered for case \S+ \(bam,/);
  assert.ok(m, r.stdout);
  const shown = JSON.parse(cli(srv.dataDir, ['file', 'show', m[1], '--json']));
  assert.equal(shown.has_index, true);
  // an index of another kind of file is refused with the server's reason, the data kept open
  const other = join(dir, 'NA12892_demo20.bam');
  const bad = upload([other, '--index', join(dir, 'NA12891_demo20.cram.crai'), '--server', srv.url, '--case', caseId,
    '--token-file', tokFile, '--kind', 'reads', '--quiet']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /index_upload: the index cannot be read \(HTTP 422\)/);
  const missing = upload([other, '--index', join(work, 'nope.bai'), '--server', srv.url, '--case', caseId,
    '--token-file', tokFile, '--quiet']);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /--index: cannot read/);
});

test('an index beside the file goes along; one the server refuses is left out, the file finished', () => {
  const dir = join(DATA, 'bam_cram', 'strelka-demo20');
  const fresh = cli(srv.dataDir, ['case', 'add', '--org', 'Upload Seq Hospital']).trim();
  const r = upload([join(dir, 'NA12892_demo20.bam'), '--server', srv.url, '--case', fresh, '--token-file', tokFile,
    '--kind', 'reads']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /sending the index beside it too: .*NA12892_demo20\.bam\.bai/);
  const m = r.stdout.match(/file (ZGF-[0-9A-F]{12}) registered/);
  assert.ok(m, r.stdout);
  assert.equal(JSON.parse(cli(srv.dataDir, ['file', 'show', m[1], '--json'])).has_index, true);
  // a stale index beside a file: refused by the server, the file registered with one it builds
  const bam = join(work, 'stale.bam');
  copyFileSync(join(dir, 'NA12891_demo20.bam'), bam);
  writeFileSync(`${bam}.bai`, 'not an index');
  const s = upload([bam, '--server', srv.url, '--case', fresh, '--token-file', tokFile, '--kind', 'reads']);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stderr, /warning: the server refused the index beside the file \(index_upload: .*\); finishing without it/);
  const m2 = s.stdout.match(/file (ZGF-[0-9A-F]{12}) registered/);
  assert.ok(m2, s.stdout);
  assert.equal(JSON.parse(cli(srv.dataDir, ['file', 'show', m2[1], '--json'])).has_index, true);
  // --no-index sends none
  const other = cli(srv.dataDir, ['case', 'add', '--org', 'Upload Seq Hospital']).trim();
  const n = upload([join(dir, 'NA12892_demo20.bam'), '--server', srv.url, '--case', other, '--token-file', tokFile,
    '--no-index']);
  assert.equal(n.status, 0, n.stderr);
  assert.doesNotMatch(n.stderr, /beside/);
  const m3 = n.stdout.match(/file (ZGF-[0-9A-F]{12}) registered/);
  assert.ok(m3, n.stdout);
  // the index the server built, not the one beside the file: an index upload was not begun
  assert.equal(n.stderr.match(/^upload: [0-9a-f]{32} /gm).length, 1);
  // a named index with a name that says no kind is refused before anything is sent
  const odd = upload([join(dir, 'NA12892_demo20.bam'), '--index', join(dir, 'SOURCE.txt'), '--server', srv.url,
    '--case', other, '--token-file', tokFile, '--quiet']);
  assert.notEqual(odd.status, 0);
  assert.match(odd.stderr, /--index: must be a \.bai, \.csi, \.crai or \.tbi file/);
});
