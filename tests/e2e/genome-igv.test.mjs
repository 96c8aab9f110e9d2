// igv.js in the portal reads a CRAM through zengen's htsget (served as BAM, blocks fetched with
// the session cookie, not inlined) against the file's reference FASTA (byte ranges), and really
// draws the reads: the alignment track's canvas must hold read pixels and igv must report the
// alignments it loaded. The page says clearly when igv.js is not installed, and no script or
// connection is blocked by the server's Content-Security-Policy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, signInPage } from '../lib/browser.mjs';
import { startServer, addUser, cli } from '../lib/zengen.mjs';

const SD = join(process.cwd(), '..', 'shared', 'data', 'bam_cram', 'strelka-demo20');
const VENDOR = join(process.cwd(), 'web', 'vendor', 'igv.esm.min.js');
let srv, browser, user, cram, bam;

before(async () => {
  assert.ok(existsSync(VENDOR), `${VENDOR} exists (scripts/deps.sh + build copy igv.js there)`);
  // blocks as URLs (not inlined into the ticket): igv must fetch them with the session cookie
  srv = await startServer({ extraArgs: ['--web', join(process.cwd(), 'web')], env: { ZENGEN_HTSGET_INLINE: '0' } });
  user = addUser(srv.dataDir, 'igvop', 'operator', 'Hosp1', 'hospital');
  const caseId = cli(srv.dataDir, ['case', 'add', '--org', 'Hosp1']).trim();
  const id = (out) => out.match(/ZGF-[0-9A-F]{12}/)[0];
  cram = id(cli(srv.dataDir, ['file', 'add', join(SD, 'NA12891_demo20.cram'), '--case', caseId, '--ref-fasta', join(SD, 'demo20.fa')]));
  bam = id(cli(srv.dataDir, ['file', 'add', join(SD, 'NA12892_demo20.bam'), '--case', caseId]));
  browser = await launchChromium();
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

/** What igv drew for the alignment track: alignments loaded and read-coloured pixels. */
function alignmentState() {
  const view = document.getElementById('igv-view');
  const b = view && view.igvBrowser;
  if (!b) return null;
  const track = b.findTracks((t) => t.type === 'alignment')[0];
  if (!track) return null;
  const vp = track.trackView.viewports[0];
  const cached = vp.featureCache && vp.featureCache.features;
  const alignments = cached && typeof cached.allAlignments === 'function' ? cached.allAlignments().length : 0;
  const canvas = vp.canvas;
  let readPixels = 0;
  if (canvas && canvas.width && canvas.height) {
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    // reads are drawn grey; count opaque, non-white pixels
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && d[i] < 235 && d[i + 1] < 235 && d[i + 2] < 235) readPixels++;
  }
  return { alignments, readPixels, area: canvas ? canvas.width * canvas.height : 0, locus: b.currentLoci ? b.currentLoci() : null };
}

async function openIgv(locale, step, path) {
  const { context, page } = await signInPage(browser, srv.url, user, locale,
    (await import('../lib/zengen.mjs')).totp(user.totp_secret, Date.now(), step));
  page.setDefaultTimeout(20000);
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy/.test(m.text())) violations.push(m.text()); });
  const requests = [];
  page.on('request', (r) => requests.push({ url: r.url(), range: r.headers().range, cookie: null }));
  page.on('response', async (r) => {
    const e = requests.find((q) => q.url === r.url() && q.status === undefined);
    if (e) e.status = r.status();
  });
  await page.goto(`${srv.url}/${path}`);
  return { context, page, violations, requests };
}

test('igv.js draws the reads of a CRAM region read through htsget (en)', async () => {
  const { context, page, violations, requests } = await openIgv('en-US', 0, `#/genome/files/${cram}/igv?locus=demo20:1000-1400`);
  await page.waitForSelector('#igv-view[data-state="ready"]');
  assert.match(await page.textContent('h1'), new RegExp(`Reads of file ${cram}`));
  let st = null;
  for (let i = 0; i < 100; i++) {
    st = await page.evaluate(alignmentState);
    if (st && st.alignments > 0 && st.readPixels > 0) break;
    await page.waitForTimeout(200);
  }
  assert.ok(st, 'igv created an alignment track');
  assert.ok(st.alignments > 50, `igv loaded the alignments of the region: ${JSON.stringify(st)}`);
  assert.ok(st.readPixels > st.area * 0.05, `the alignment canvas shows reads: ${JSON.stringify(st)}`);
  // the reads came through htsget as BAM, the blocks by URL with the session cookie, and the
  // reference bases by byte range
  const hg = requests.filter((r) => r.url.includes(`/api/htsget/v1/reads/${cram}?`) && r.url.includes('referenceName=demo20'));
  assert.ok(hg.length > 0 && hg.every((r) => r.url.includes('format=BAM')), 'htsget tickets asked for BAM');
  const blocks = requests.filter((r) => r.url.includes(`/api/htsget/v1/blocks/${cram}?k=x`));
  assert.ok(blocks.length > 0 && blocks.every((r) => r.status === 200), `blocks fetched: ${JSON.stringify(blocks)}`);
  const ref = requests.filter((r) => r.url.endsWith(`/api/v1/genome/files/${cram}/reference.fa`));
  assert.ok(ref.length > 0 && ref.every((r) => /^bytes=\d+-\d+$/.test(r.range || '') && r.status === 206), `reference by byte range: ${JSON.stringify(ref)}`);
  assert.ok(!requests.some((r) => !r.url.startsWith(srv.url) && !r.url.startsWith('data:')), 'no request leaves the server');
  // scripts and connections are never blocked (igv.js styles its own shadow DOM; only its
  // colour-picker and circular-view <style> elements are refused, which this page does not use)
  const hard = violations.filter((v) => !/inline style/.test(v));
  assert.deepEqual(hard, [], 'no script/connect CSP violation');

  // moving to another locus loads that region
  await page.fill('#igv-locus', 'demo20:3000-3300');
  await page.click('#igv-locus-form button[type=submit]');
  await page.waitForFunction(() => /#\/genome\/files\/.*locus=demo20%3A3000-3300/.test(location.hash));
  await page.waitForFunction(() => {
    const t = document.getElementById('igv-view').igvBrowser.findTracks((x) => x.type === 'alignment')[0];
    const c = t.trackView.viewports[0].featureCache;
    return c && c.chr === 'demo20' && c.bpStart <= 3000 && c.bpEnd >= 3300;
  });
  assert.ok(requests.some((r) => /referenceName=demo20&start=\d+&end=\d+/.test(r.url) && /start=(2\d{3}|3000)/.test(r.url)), 'a ticket for the new region');
  await context.close();
});

test('Japanese page; a BAM without a recorded reference says why; missing igv.js is explained', async () => {
  const { context, page } = await openIgv('ja-JP', 1, `#/genome/files/${bam}/igv`);
  await page.waitForSelector('#igv-status .notice');
  assert.match(await page.textContent('#igv-status'), /参照ゲノムが記録されなかった/);
  assert.match(await page.textContent('h1'), /のリード/);
  // the vendor file missing (as on a server where scripts/deps.sh did not run)
  await page.route('**/vendor/igv.esm.min.js', (r) => r.fulfill({ status: 404, body: 'not found' }));
  await page.goto(`${srv.url}/#/genome/files/${cram}/igv?locus=demo20:1000-1400`);
  await page.reload();
  await page.waitForSelector('#igv-status .notice');
  assert.match(await page.textContent('#igv-status'), /igv\.js.*インストールされていません/);
  await context.close();
});
