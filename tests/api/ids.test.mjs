// Identifiers: case IDs from `zengen case add` carry a check character that GET /api/v1/ids/{id}
// validates; any single-character change is reported as valid:false.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, addUser, cli, BIN } from '../lib/zengen.mjs';
import { call, assertProblem, assertSchema, cliToken } from './util.mjs';

let srv, tok, opTok, ids;
before(async () => {
  srv = await startServer();
  const acad = addUser(srv.dataDir, 'idsacad', 'academic', 'Univ', 'academia');
  const op = addUser(srv.dataDir, 'idsop', 'operator', 'DC', 'datacenter');
  cli(srv.dataDir, ['org', 'add', 'Hosp-ID', '--type', 'hospital']);
  tok = cliToken(srv.dataDir, acad.login, 'ids');
  opTok = cliToken(srv.dataDir, op.login, 'ids-op');
  ids = [];
  for (let i = 0; i < 3; i++) ids.push(cli(srv.dataDir, ['case', 'add', '--org', 'Hosp-ID']).trim().split('\n').pop().trim());
});
after(async () => { await srv?.stop(); });

/** Changes the character at i to another character of the same class (digit/letter). */
function alter(id, i) {
  const c = id[i];
  if (/[0-9]/.test(c)) return id.slice(0, i) + String((Number(c) + 1) % 10) + id.slice(i + 1);
  const letters = 'ABCDEFGHJKMNPQRSTVWXYZ';
  const up = c.toUpperCase();
  const next = letters[(letters.indexOf(up) + 1) % letters.length];
  return id.slice(0, i) + (c === up ? next : next.toLowerCase()) + id.slice(i + 1);
}

test('zengen case add prints distinct IDs that case list --json knows', () => {
  assert.equal(new Set(ids).size, 3);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9-]{6,}$/, `case ID ${id}`);
  const listed = JSON.stringify(JSON.parse(cli(srv.dataDir, ['case', 'list', '--json'])));
  for (const id of ids) assert.ok(listed.includes(`"${id}"`), `${id} in case list --json`);
});

test('case IDs validate via GET /api/v1/ids/{id}', async () => {
  for (const id of ids) {
    const r = await call(srv.url, `/api/v1/ids/${encodeURIComponent(id)}`, { token: tok });
    assert.equal(r.status, 200, r.text);
    assertSchema('IdCheck', r.json);
    assert.equal(r.json.id, id);
    assert.equal(r.json.valid, true);
    assert.equal(typeof r.json.kind, 'string');
    assert.ok(r.json.kind.length > 0);
    assert.equal(r.json.normalized, id);
  }
});

test('altering any one character of a case ID → valid:false', async () => {
  const id = ids[0];
  const positions = [...id].map((c, i) => i).filter((i) => /[A-Za-z0-9]/.test(id[i]));
  assert.ok(positions.length >= 4);
  for (const i of positions) {
    const bad = alter(id, i);
    assert.notEqual(bad, id);
    const r = await call(srv.url, `/api/v1/ids/${encodeURIComponent(bad)}`, { token: tok });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.valid, false, `${bad} (position ${i} of ${id}) must be invalid`);
  }
});

test('garbage identifiers → valid:false, not an error', async () => {
  for (const g of ['x', '0000', 'not-an-id-at-all']) {
    const r = await call(srv.url, `/api/v1/ids/${encodeURIComponent(g)}`, { token: tok });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.valid, false);
  }
});

test('GET /api/v1/ids/{id} requires authentication', async () => {
  assertProblem(await call(srv.url, `/api/v1/ids/${ids[0]}`), 401, 'unauthenticated');
});

test('CLI-created cases are visible through the API', async () => {
  const r = await call(srv.url, '/api/v1/cases', { token: opTok });
  assert.equal(r.status, 200, r.text);
  for (const id of ids) assert.ok(r.json.cases.some((c) => c.id === id), `${id} listed`);
  const one = await call(srv.url, `/api/v1/cases/${ids[1]}`, { token: opTok });
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.id, ids[1]);
  assert.deepEqual(one.json.specimens, []);
});

test('GET /api/v1/cases/{id}: a mistyped ID → 422 naming the parameter; a well-formed unknown ID → 404', async () => {
  const bad = await call(srv.url, `/api/v1/cases/${alter(ids[1], ids[1].length - 1)}`, { token: opTok });
  const p = assertProblem(bad, 422, 'validation');
  assert.equal(p.errors[0].parameter, 'id');
  // a valid case ID from another data directory
  const other = mkdtempSync(join(tmpdir(), 'zg-ids-'));
  rmSync(other, { recursive: true });
  try {
    execFileSync(BIN, ['init', other], { stdio: 'pipe' });
    cli(other, ['org', 'add', 'Elsewhere', '--type', 'hospital']);
    const foreign = cli(other, ['case', 'add', '--org', 'Elsewhere']).trim().split('\n').pop().trim();
    assertProblem(await call(srv.url, `/api/v1/cases/${foreign}`, { token: opTok }), 404, 'not-found');
  } finally { rmSync(other, { recursive: true, force: true }); }
});
