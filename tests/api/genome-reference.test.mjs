// The reference FASTA of a registered BAM/CRAM and its .fai, as a genome viewer reads them:
// byte ranges must return exactly the bytes of the file (206 + Content-Range), ranges outside
// the file are 416 problems, files without a recorded reference are 404, the own-organisation
// obligation hides other organisations' files, and every read is audited with its range.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, addUser, cli } from '../lib/zengen.mjs';
import { call, cliToken, assertProblem, ROOT } from './util.mjs';

const SD = join(ROOT, '..', 'shared', 'data', 'bam_cram', 'strelka-demo20');
const FA = join(SD, 'demo20.fa');
let srv, token, otherToken, cram, bam;

before(async () => {
  srv = await startServer();
  addUser(srv.dataDir, 'refop', 'operator', 'Hosp1', 'hospital');
  addUser(srv.dataDir, 'refseq', 'sequencer', 'SeqCo', 'sequencing');
  const caseId = cli(srv.dataDir, ['case', 'add', '--org', 'Hosp1']).trim();
  const id = (out) => out.match(/ZGF-[0-9A-F]{12}/)[0];
  cram = id(cli(srv.dataDir, ['file', 'add', join(SD, 'NA12891_demo20.cram'), '--case', caseId, '--ref-fasta', FA]));
  bam = id(cli(srv.dataDir, ['file', 'add', join(SD, 'NA12891_demo20.bam'), '--case', caseId]));
  token = cliToken(srv.dataDir, 'refop', 'ref', { scope: 'overview,detailed-genome' });
  otherToken = cliToken(srv.dataDir, 'refseq', 'ref', { scope: 'overview,detailed-genome' });
});
after(async () => { await srv?.stop(); });

const fa = readFileSync(FA);

test('a byte range returns exactly those bytes of the FASTA (206, Content-Range)', async () => {
  const path = `/api/v1/genome/files/${cram}/reference.fa`;
  for (const [range, first, last] of [['bytes=0-9', 0, 9], ['bytes=100-1099', 100, 1099],
    [`bytes=${fa.length - 50}-`, fa.length - 50, fa.length - 1], ['bytes=-20', fa.length - 20, fa.length - 1],
    [`bytes=4000-${fa.length + 1000}`, 4000, fa.length - 1]]) {
    const r = await fetch(srv.url + path, { headers: { authorization: `Bearer ${token}`, range } });
    assert.equal(r.status, 206, range);
    assert.equal(r.headers.get('content-range'), `bytes ${first}-${last}/${fa.length}`, range);
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
    const got = Buffer.from(await r.arrayBuffer());
    assert.ok(got.equals(fa.subarray(first, last + 1)), `${range}: the file's bytes`);
  }
  // a window in the middle of the sequence, located through the .fai as igv.js does
  const fai = await call(srv.url, `/api/v1/genome/files/${cram}/reference.fa.fai`, { token });
  assert.equal(fai.status, 200);
  assert.equal(fai.text, readFileSync(`${FA}.fai`, 'utf8'));
  const [name, len, offset, lineBases, lineBytes] = fai.text.trim().split('\t');
  assert.equal(name, 'demo20');
  const pos = 2500; // 0-based base → byte offset
  const at = Number(offset) + Math.floor(pos / lineBases) * Number(lineBytes) + (pos % lineBases);
  const r = await fetch(srv.url + path, { headers: { authorization: `Bearer ${token}`, range: `bytes=${at}-${at + 9}` } });
  const bases = Buffer.from(await r.arrayBuffer()).toString();
  assert.match(bases, /^[ACGTNacgtn\n]{10}$/, `bases at ${pos}: ${bases}`);
  assert.ok(Number(len) > pos);
  // without Range: the whole file
  const whole = await fetch(srv.url + path, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(whole.status, 200);
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(fa));
});

test('ranges outside the file or several ranges are 416 problems', async () => {
  const path = `/api/v1/genome/files/${cram}/reference.fa`;
  const out = await call(srv.url, path, { token, headers: { range: `bytes=${fa.length}-` } });
  assertProblem(out, 416, 'range-not-satisfiable');
  assert.equal(out.headers.get('content-range'), `bytes */${fa.length}`);
  assertProblem(await call(srv.url, path, { token, headers: { range: 'bytes=0-1,5-9' } }), 416, 'range-not-satisfiable');
  assertProblem(await call(srv.url, path, { token, headers: { range: 'bytes=9-1' } }), 416, 'range-not-satisfiable');
});

test('no reference recorded, unknown file, other organisation, no credentials', async () => {
  const p = assertProblem(await call(srv.url, `/api/v1/genome/files/${bam}/reference.fa`, { token }), 404, 'not-found');
  assert.match(p.detail, /--ref-fasta/);
  assertProblem(await call(srv.url, '/api/v1/genome/files/ZGF-000000000000/reference.fa', { token }), 404, 'not-found');
  assertProblem(await call(srv.url, '/api/v1/genome/files/nonsense/reference.fa.fai', { token }), 404, 'not-found');
  assertProblem(await call(srv.url, `/api/v1/genome/files/${cram}/reference.fa`, { token: otherToken }), 404, 'not-found');
  assert.equal((await call(srv.url, `/api/v1/genome/files/${cram}/reference.fa`)).status, 401);
  // the file's JSON tells the portal whether a reference can be shown
  assert.equal((await call(srv.url, `/api/v1/genome/files/${cram}`, { token })).json.has_reference, true);
  assert.equal((await call(srv.url, `/api/v1/genome/files/${bam}`, { token })).json.has_reference, false);
});

test('reference reads are audited with the file id and the byte range', async () => {
  addUser(srv.dataDir, 'refaud', 'auditor', 'DC', 'datacenter');
  const at = cliToken(srv.dataDir, 'refaud', 'aud', { scope: 'audit' });
  const ev = await call(srv.url, '/api/v1/audit/events?action=genome.reference.read&limit=200', { token: at });
  assert.equal(ev.status, 200, ev.text);
  const ok = ev.json.events.filter((e) => e.phase === 'result' && e.outcome === 'success' && e.user === 'refop');
  assert.ok(ok.some((e) => e.data.includes(cram) && JSON.stringify(e).includes('"0-9"')), JSON.stringify(ok[0]));
});
