// Beacon v2: every response validates against the official schemas (ajv, draft 2020-12) in
// ../shared/data/ga4gh/beacon-v2; granularity follows the caller's tier; small counts are
// suppressed for researchers; sequence, range and gene queries find an imported variant.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startServer, addUser, cli } from '../lib/zengen.mjs';
import { call, cliToken, ROOT } from './util.mjs';

const BEACON = join(ROOT, '..', 'shared', 'data', 'ga4gh', 'beacon-v2');
const RAW = 'https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/';
const VEP = join(ROOT, '..', 'shared', 'data', 'vcf', 'annotated', 'bcftools-tests', 'test', 'split-vep.10.vcf');

function walk(dir, out = []) {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) { if (!/examples/.test(n)) walk(p, out); } else if (n.endsWith('.json')) out.push(p);
  }
  return out;
}

// Every schema file is registered under its published URL, so relative and absolute $refs
// resolve to the local copies. VRS 1.3 is not part of the bundle: its definitions are stubbed
// as open schemas (our variants use the Beacon "legacy" form, which is validated in full).
const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
for (const f of walk(join(BEACON, 'framework', 'json')).concat(walk(join(BEACON, 'models', 'json')))) {
  let s;
  try { s = JSON.parse(readFileSync(f, 'utf8')); } catch { continue; }
  if (typeof s !== 'object' || Array.isArray(s)) continue;
  const id = RAW + relative(BEACON, f).split('\\').join('/');
  delete s.$id;
  try { ajv.addSchema(s, id); } catch { /* duplicate */ }
}
ajv.addSchema({ definitions: { MolecularVariation: { not: {} }, SystemicVariation: { not: {} }, Location: {} } },
  'https://w3id.org/ga4gh/schema/vrs/1.3/vrs.json');

function valid(schemaPath, body) {
  const v = ajv.getSchema(RAW + schemaPath);
  assert.ok(v, `schema ${schemaPath} loaded`);
  const ok = v(body);
  assert.ok(ok, `${schemaPath}: ${JSON.stringify(v.errors?.slice(0, 5))}\n${JSON.stringify(body).slice(0, 800)}`);
}
const R = 'framework/json/responses/';
const GV = 'models/json/beacon-v2-default-model/genomicVariations/defaultSchema.json';

let srv, op, acad, seq, opClin, caseId;
before(async () => {
  srv = await startServer();
  addUser(srv.dataDir, 'bop', 'operator', 'Hosp1', 'hospital');
  addUser(srv.dataDir, 'bacad', 'academic', 'Univ', 'academia');
  addUser(srv.dataDir, 'bseq', 'sequencer', 'SeqCo', 'sequencing');
  caseId = cli(srv.dataDir, ['case', 'add', '--org', 'Hosp1']).trim();
  cli(srv.dataDir, ['import', 'vcf', VEP, '--case', caseId, '--kind', 'somatic']);
  op = cliToken(srv.dataDir, 'bop', 'b', { scope: 'overview,aggregate,detailed-genome' });
  acad = cliToken(srv.dataDir, 'bacad', 'b', { scope: 'overview,aggregate' });
  seq = cliToken(srv.dataDir, 'bseq', 'b', { scope: 'overview,detailed-genome' });
  opClin = cliToken(srv.dataDir, 'bop', 'clin', { scope: 'detailed-clinical' });
  assert.equal((await consent('consented')).status, 201, 'the case\'s first clinical record');
});

/** Records the case's consent status in its clinical record. */
function consent(status) {
  return call(srv.url, `/api/v1/cases/${caseId}/clinical`, { method: 'PATCH', token: opClin, body: { consent: { status } } });
}
after(async () => { await srv?.stop(); });

test('framework endpoints validate against their response schemas', async () => {
  for (const [p, schema] of [['', 'beaconInfoResponse.json'], ['/info', 'beaconInfoResponse.json'],
    ['/map', 'beaconMapResponse.json'], ['/configuration', 'beaconConfigurationResponse.json'],
    ['/entry_types', 'beaconEntryTypesResponse.json']]) {
    const r = await call(srv.url, `/api/beacon/v2${p}`);
    assert.equal(r.status, 200, `${p}: ${r.text}`);
    valid(R + schema, r.json);
  }
  assert.equal((await call(srv.url, '/api/beacon/v2/filtering_terms')).status, 401, 'terms need sign-in');
  const ft = await call(srv.url, '/api/beacon/v2/filtering_terms', { token: acad });
  assert.equal(ft.status, 200, ft.text);
  valid(R + 'beaconFilteringTermsResponse.json', ft.json);
  assert.ok(ft.json.response.filteringTerms.some((t) => t.id === 'ROR2'));
});

test('operator gets records: sequence, range and gene queries find the variant', async () => {
  for (const qs of ['referenceName=9&start=94487043&referenceBases=C&alternateBases=T',
    'referenceName=chr9&start=94487000&end=94488000', 'geneId=ROR2']) {
    const r = await call(srv.url, `/api/beacon/v2/g_variants?${qs}`, { token: op });
    assert.equal(r.status, 200, r.text);
    valid(R + 'beaconResultsetsResponse.json', r.json);
    assert.equal(r.json.meta.returnedGranularity, 'record');
    assert.equal(r.json.responseSummary.exists, true);
    const res = r.json.response.resultSets[0].results;
    assert.equal(res.length, 1, qs);
    for (const v of res) valid(GV, v);
    assert.equal(res[0].variation.referenceBases, 'C');
    assert.equal(res[0].variation.location.interval.start.value, 94487043, '0-based start');
    assert.deepEqual(res[0].molecularAttributes.geneIds, ['ROR2']);
    assert.deepEqual(res[0].molecularAttributes.molecularEffects,
      [{ id: 'SO:0001583', label: 'missense variant' }], 'the consequence as a Sequence Ontology term');
  }
  const miss = await call(srv.url, '/api/beacon/v2/g_variants?referenceName=9&start=94487043&referenceBases=C&alternateBases=G', { token: op });
  valid(R + 'beaconResultsetsResponse.json', miss.json);
  assert.equal(miss.json.responseSummary.exists, false);
  const count = await call(srv.url, '/api/beacon/v2/g_variants?geneId=ROR2&requestedGranularity=count', { token: op });
  valid(R + 'beaconCountResponse.json', count.json);
  assert.equal(count.json.responseSummary.numTotalResults, 1);
  const post = await call(srv.url, '/api/beacon/v2/g_variants', {
    token: op, body: { meta: { apiVersion: 'v2.0.0' }, query: { requestParameters: { geneId: 'ROR2' }, requestedGranularity: 'boolean' } },
  });
  assert.equal(post.status, 200, post.text);
  valid(R + 'beaconBooleanResponse.json', post.json);
  assert.equal(post.json.responseSummary.exists, true);
});

test('researcher: never records; a count below k becomes existence only', async () => {
  const r = await call(srv.url, '/api/beacon/v2/g_variants?geneId=ROR2&requestedGranularity=record', { token: acad });
  assert.equal(r.status, 200, r.text);
  valid(R + 'beaconBooleanResponse.json', r.json);
  assert.equal(r.json.meta.returnedGranularity, 'boolean');
  assert.equal(r.json.responseSummary.exists, true);
  assert.equal(r.json.responseSummary.numTotalResults, undefined, 'small count suppressed');
  assert.equal(r.json.response, undefined, 'no records');
  const none = await call(srv.url, '/api/beacon/v2/g_variants?geneId=NOSUCHGENE', { token: acad });
  valid(R + 'beaconCountResponse.json', none.json);
  assert.equal(none.json.responseSummary.numTotalResults, 0);
});

test('researcher: a withdrawn consent removes the case from Beacon answers at once', async () => {
  const ask = async () => (await call(srv.url, '/api/beacon/v2/g_variants?geneId=ROR2&requestedGranularity=boolean', { token: acad })).json;
  assert.equal((await ask()).responseSummary.exists, true);
  assert.equal((await consent('withdrawn')).status, 200);
  const gone = await ask();
  valid(R + 'beaconBooleanResponse.json', gone);
  assert.equal(gone.responseSummary.exists, false, 'no permitted case carries it');
  const opView = await call(srv.url, '/api/beacon/v2/g_variants?geneId=ROR2', { token: op });
  assert.equal(opView.json.response.resultSets[0].results.length, 1, 'the operator still sees it');
  assert.equal((await consent('consented')).status, 200);
  assert.equal((await ask()).responseSummary.exists, true, 're-consent brings it back');
});

test('sequencer sees records of its own organisation only', async () => {
  const r = await call(srv.url, '/api/beacon/v2/g_variants?geneId=ROR2', { token: seq });
  valid(R + 'beaconResultsetsResponse.json', r.json);
  assert.equal(r.json.meta.returnedGranularity, 'record');
  assert.equal(r.json.response.resultSets[0].results.length, 0, 'another organisation\'s case');
});

test('bad queries → beaconErrorResponse 400', async () => {
  for (const qs of ['start=5', 'referenceName=9&start=10&end=5', 'referenceName=9&start=x', 'geneId=ROR2&requestedGranularity=all',
    'referenceName=9&start=1&referenceBases=XYZ']) {
    const r = await call(srv.url, `/api/beacon/v2/g_variants?${qs}`, { token: op });
    assert.equal(r.status, 400, `${qs}: ${r.text}`);
    valid(R + 'beaconErrorResponse.json', r.json);
  }
  assert.equal((await call(srv.url, '/api/beacon/v2/g_variants?geneId=ROR2')).status, 401);
});
