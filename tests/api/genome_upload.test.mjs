// Genome uploads with raw bytes (PUT …/data?offset=N, application/octet-stream): what
// `curl -T` sends. Resumable: a resent chunk is accepted, a gap is a 409 naming the expected
// offset; wrong media type 415; chunk over the limit 413; only the uploader sees the upload;
// the SHA-256 is verified at the end and the file lands in the registry byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, addUser, cli } from '../lib/zengen.mjs';
import { call, rawRequest, assertProblem, assertSchema, cliToken, ROOT } from './util.mjs';

const DATA = join(ROOT, '..', 'shared', 'data');
let srv, tokSeq, tokOther, caseId;

before(async () => {
  srv = await startServer();
  const seq = addUser(srv.dataDir, 'upseq', 'sequencer', 'Upload Hospital', 'hospital');
  const other = addUser(srv.dataDir, 'upseq2', 'sequencer', 'Other Seq', 'sequencing');
  tokSeq = cliToken(srv.dataDir, seq.login, 'seq');
  tokOther = cliToken(srv.dataDir, other.login, 'seq2');
  caseId = cli(srv.dataDir, ['case', 'add', '--org', 'Upload Hospital']).trim();
});
after(async () => { await srv?.stop(); });

const put = (up, offset, bytes, { token = tokSeq, type = 'application/octet-stream' } = {}) =>
  call(srv.url, `/api/v1/genome/uploads/${up}/data${offset === null ? '' : `?offset=${offset}`}`, {
    method: 'PUT', token, body: bytes, headers: type ? { 'content-type': type } : {},
  });

async function begin(bytes, extra = {}) {
  const sha = createHash('sha256').update(bytes).digest('hex');
  const b = await call(srv.url, '/api/v1/genome/uploads', {
    token: tokSeq,
    body: { case_id: caseId, size: bytes.length, sha256: sha, kind: 'somatic', pipeline: 'test', name: 'x', ...extra },
  });
  assert.equal(b.status, 201, b.text);
  return { id: b.json.id, sha };
}

test('raw chunks: resumable, resend accepted, gap refused, file registered byte for byte', async () => {
  const bytes = readFileSync(join(DATA, 'vcf', 'annotated', 'cyvcf2-tests', 'test.vcf.gz'));
  const { id: up, sha } = await begin(bytes, { name: 'test.vcf.gz' });
  const third = Math.floor(bytes.length / 3);
  let r = await put(up, 0, bytes.subarray(0, third));
  assert.equal(r.status, 200, r.text);
  assertSchema('GenomeUpload', r.json);
  assert.equal(r.json.received, third);
  assert.equal((await put(up, 0, bytes.subarray(0, third))).json.received, third, 'a resent chunk is accepted');
  const gap = assertProblem(await put(up, third + 7, bytes.subarray(third + 7)), 409, 'conflict');
  assert.match(JSON.stringify(gap), new RegExp(`${third}`), 'the problem names the expected offset');
  // a chunk overlapping what is stored: only its new part is written
  r = await put(up, third - 10, bytes.subarray(third - 10, 2 * third));
  assert.equal(r.json.received, 2 * third);
  assertProblem(await put(up, 2 * third, bytes.subarray(2 * third), { token: tokOther }), 404, 'not-found');
  r = await put(up, 2 * third, bytes.subarray(2 * third));
  assert.equal(r.json.received, bytes.length);
  const fin = await call(srv.url, `/api/v1/genome/uploads/${up}/finish`, { token: tokSeq, body: {} });
  assert.equal(fin.status, 201, fin.text);
  assert.equal(fin.json.sha256, sha);
  assert.equal(fin.json.format, 'vcf');
  const stored = JSON.parse(cli(srv.dataDir, ['file', 'show', fin.json.id, '--json']));
  assert.equal(createHash('sha256').update(readFileSync(stored.path)).digest('hex'), sha);
});

test('raw chunks: media type, missing offset, empty body, limit and checksum are checked', async () => {
  const bytes = randomBytes(1 << 16);
  const { id: up } = await begin(bytes);
  const p415 = assertProblem(await put(up, 0, bytes, { type: 'application/json' }), 415, 'unsupported-media-type');
  assert.equal(p415.errors[0].parameter, 'Content-Type');
  assertProblem(await put(up, 0, bytes, { type: null }), 415, 'unsupported-media-type');
  const noOff = assertProblem(await put(up, null, bytes), 422, 'validation');
  assert.equal(noOff.errors[0].parameter, 'offset');
  assertProblem(await put(up, -1, bytes), 422, 'validation');
  const empty = assertProblem(await put(up, 0, Buffer.alloc(0)), 422, 'validation');
  assert.equal(empty.errors[0].parameter, 'body');
  // over 16 MiB: refused from Content-Length before the body is read
  const big = await rawRequest(srv.url, `/api/v1/genome/uploads/${up}/data?offset=0`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${tokSeq}`, 'content-type': 'application/octet-stream', 'content-length': String((16 << 20) + 1) },
    body: Buffer.alloc(1024),
  });
  assertProblem(big, 413, 'payload-too-large');
  // a chunk past the declared size
  assertProblem(await put(up, 0, Buffer.concat([bytes, Buffer.from('x')])), 413, 'payload-too-large');
  // right size, wrong bytes: the checksum fails at the end and the data is discarded
  assert.equal((await put(up, 0, randomBytes(bytes.length))).json.received, bytes.length);
  const bad = assertProblem(await call(srv.url, `/api/v1/genome/uploads/${up}/finish`, { token: tokSeq, body: {} }), 422, 'validation');
  assert.match(JSON.stringify(bad.errors), /sha256/, 'the checksum is what failed (before the content is judged)');
  assert.equal((await call(srv.url, `/api/v1/genome/uploads/${up}`, { token: tokSeq })).json.state, 'failed');
  assertProblem(await put(up, 0, bytes), 404, 'not-found');
});
