// Genome portal pages in a real browser over the demo cohort: overview by cancer type, a gene
// query with its bar chart, OncoPrint and co-occurrence (academic: aggregate, small counts
// hidden), and a case's variants (clinician, detailed genome), in English and Japanese.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { launchChromium, readDemoAccounts, signInPage } from '../lib/browser.mjs';
import { BIN, startServer, totp } from '../lib/zengen.mjs';

const VENDOR = join(process.cwd(), 'web', 'vendor', 'oncoprint.bundle.js');
const GENES = 'TP53, KRAS, PIK3CA, EGFR, BRAF'; // the page's default query
// the page's colours per alteration class (web/pages/genome-oncoprint.js)
const COLOURS = {
  missense: [0, 128, 0], truncating: [0, 0, 0], splice: [229, 128, 43], inframe: [153, 52, 4],
  amp: [255, 0, 0], del: [0, 0, 255], fusion: [139, 0, 201], sv: [127, 127, 127],
};
let srv, browser, accounts;

before(async () => {
  assert.ok(existsSync(VENDOR), `${VENDOR} exists (scripts/deps.sh + the build bundle oncoprintjs there)`);
  srv = await startServer({ extraArgs: ['--web', join(process.cwd(), 'web')] });
  execFileSync(BIN, ['demo', '--data', srv.dataDir], { encoding: 'utf8' });
  accounts = readDemoAccounts(srv.dataDir);
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

// step: which TOTP time step to use, so that one account can sign in again (codes are single-use)
function signIn(login, locale, step = 0) {
  const account = accounts.find((x) => x.login === login);
  return signInPage(browser, srv.url, account, locale, totp(account.totp_secret, Date.now(), step));
}

test('academic: overview, gene query chart, OncoPrint and co-occurrence (en)', async () => {
  const { context, page } = await signIn('demo-academic', 'en-US');
  await page.goto(`${srv.url}/#/genome`);
  await page.waitForSelector('#gen-overview');
  assert.match(await page.textContent('#gen-overview'), /[A-Z]{3,}/, 'cancer types listed');
  await page.click('#gen-go');
  await page.waitForSelector('#gen-chart');
  assert.ok(await page.locator('#gen-chart rect').count() >= 3, 'one bar per cancer type');
  await page.waitForSelector('#gen-oncoprint');
  assert.ok(await page.locator('#gen-cooc tbody tr').count() >= 1);
  // small cells are hidden for academics
  assert.match(await page.textContent('#gen-query-out'), /Counts below 5 are hidden/);
  await context.close();
});

/** What oncoprintjs holds: track labels, columns, and where its WebGL cell canvas is. */
function oncoprintState() {
  const fig = document.getElementById('gen-oncoprint');
  const host = document.getElementById('gen-oncoprint-host');
  const op = host && host.oncoprint;
  if (!fig || !op || host.dataset.state !== 'ready') return null;
  const canvas = op.cell_view.$canvas[0]; // the WebGL canvas (the view replaces it as it resizes)
  const r = canvas.getBoundingClientRect();
  return {
    renderer: fig.dataset.renderer,
    labels: op.model.getTracks().map((id) => op.model.getTrackLabel(id)),
    columns: op.model.getIdOrder().length,
    webgl: canvas.getContext('webgl') !== null || canvas.getContext('experimental-webgl') !== null,
    clip: { x: r.left, y: r.top, width: Math.min(r.width, window.innerWidth - r.left), height: r.height },
    credit: document.getElementById('gen-oncoprint-credit').textContent,
  };
}

/** Counts a PNG's pixels by colour (in the page: the CSP allows data: images). */
async function pixelCounts(page, png, colours) {
  return page.evaluate(async ({ b64, colours }) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const near = (i, [r, g, b], tol) => Math.abs(d[i] - r) <= tol && Math.abs(d[i + 1] - g) <= tol && Math.abs(d[i + 2] - b) <= tol;
    const out = { total: d.length / 4, white: 0, grey: 0, other: 0, byClass: {} };
    for (const k of Object.keys(colours)) out.byClass[k] = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (near(i, [255, 255, 255], 8)) { out.white++; continue; }
      if (near(i, [190, 190, 190], 8)) { out.grey++; continue; }
      out.other++;
      for (const [k, rgb] of Object.entries(colours)) if (near(i, rgb, 24)) out.byClass[k]++;
    }
    return out;
  }, { b64: png.toString('base64'), colours });
}

async function queryGenes(page) {
  await page.goto(`${srv.url}/#/genome`);
  await page.waitForSelector('#gen-overview');
  await page.click('#gen-go');
  await page.waitForSelector('#gen-oncoprint[data-renderer]');
}

test('gene query: oncoprintjs draws the OncoPrint matrix in WebGL, no CSP violation (en)', async () => {
  const { context, page } = await signIn('demo-academic', 'en-US', 1);
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text()); });
  await queryGenes(page);
  let st = null;
  for (let i = 0; i < 50 && !st; i++) { st = await page.evaluate(oncoprintState); if (!st) await page.waitForTimeout(100); }
  assert.ok(st, 'oncoprintjs drew into the page');
  assert.equal(st.renderer, 'oncoprintjs');
  assert.ok(st.webgl, 'its cell canvas is a WebGL canvas');
  // what the API answered for the same query
  const api = await page.evaluate(async (genes) => {
    const r = await fetch(`/api/v1/genome/query/oncoprint?genes=${encodeURIComponent(genes)}&max=500`, { credentials: 'same-origin' });
    return r.json();
  }, GENES.replace(/ /g, ''));
  assert.deepEqual(st.labels, api.genes, 'one track per queried gene, labelled with the gene');
  assert.ok(api.cases.length > 0, 'the demo cohort has altered cases');
  assert.equal(st.columns, api.cases.length, 'one column per case the API returned');
  // the cells really are on the canvas: grey background cells and the colour of every class
  // the API reported (screenshot of the composited WebGL canvas)
  await page.evaluate(() => document.getElementById('gen-oncoprint').scrollIntoView());
  const present = [...new Set(api.cases.flatMap((c) => Object.values(c.alterations).flat()))];
  // WebGL draws asynchronously; on a loaded machine a class with one or two thin cells may not
  // be on the first screenshot yet, so look again (up to ~4 s) before judging
  let px = null;
  for (let i = 0; i < 12; i++) {
    await page.waitForTimeout(300);
    st = await page.evaluate(oncoprintState);
    px = await pixelCounts(page, await page.screenshot({ clip: st.clip }), COLOURS);
    if (px.grey > 0 && present.every((cls) => px.byClass[cls] > 0)) break;
  }
  assert.ok(px.grey > 0 && px.other > px.total * 0.01, `cells drawn: ${JSON.stringify(px)}`);
  for (const cls of present) assert.ok(px.byClass[cls] > 0, `${cls} cells in the class colour: ${JSON.stringify({ present, px })}`);
  assert.match(st.credit, /Drawn with oncoprintjs/);
  assert.deepEqual(violations, [], 'nothing blocked by the Content-Security-Policy');
  // pointing at the first column's cell in the first track shows its alterations (translated)
  await page.mouse.move(st.clip.x + 2, st.clip.y + 12);
  await page.waitForSelector('.oncoprintjs__tooltip .op-tip', { state: 'visible' });
  assert.match(await page.textContent('.oncoprintjs__tooltip .op-tip'), new RegExp(`^${api.genes[0]} · `));
  await context.close();
});

test('gene query in Japanese; without the oncoprintjs bundle the page draws its SVG OncoPrint', async () => {
  const { context, page } = await signIn('demo-industry', 'ja-JP');
  await queryGenes(page);
  await page.waitForSelector('#gen-oncoprint-host[data-state="ready"]');
  assert.equal(await page.getAttribute('#gen-oncoprint', 'data-renderer'), 'oncoprintjs');
  assert.match(await page.textContent('#gen-oncoprint-credit'), /oncoprintjs（cBioPortal）で描画/);
  assert.match(await page.textContent('#gen-oncoprint .legend'), /ミスセンス.*増幅/);
  // the vendor file missing (as on a server where scripts/deps.sh did not run)
  await page.route('**/vendor/oncoprint.bundle.js', (r) => r.fulfill({ status: 404, body: 'not found' }));
  await page.reload();
  await queryGenes(page);
  assert.equal(await page.getAttribute('#gen-oncoprint', 'data-renderer'), 'svg');
  const api = await page.evaluate(async (genes) => (await fetch(`/api/v1/genome/query/oncoprint?genes=${encodeURIComponent(genes)}&max=500`)).json(), GENES.replace(/ /g, ''));
  // one grey background cell per gene and case, labelled rows
  assert.equal(await page.locator('#gen-oncoprint-svg rect[fill="#e0e0e0"]').count(), api.genes.length * api.cases.length);
  assert.deepEqual(await page.locator('#gen-oncoprint-svg text').allTextContents(), api.genes);
  assert.match(await page.textContent('#gen-oncoprint-credit'), /簡易表示/);
  await context.close();
});

test('clinician: a case\'s variants (ja)', async () => {
  const { context, page } = await signIn('demo-clinician', 'ja-JP');
  const cases = JSON.parse(execFileSync(BIN, ['case', 'list', '--json', '--data', srv.dataDir], { encoding: 'utf8' }));
  const me = accounts.find((x) => x.login === 'demo-clinician');
  const id = cases.find((c) => c.org.name === me.org).id; // a clinician sees its own hospital's cases
  await page.goto(`${srv.url}/#/genome/cases/${id}`);
  await page.waitForSelector('#gen-case-summary');
  assert.match(await page.textContent('h1'), /のゲノム/);
  assert.ok(await page.locator('#gen-somatic tbody tr').count() >= 1);
  await context.close();
});
