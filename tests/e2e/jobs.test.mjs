// Background jobs in a real browser: an operator measures a BAM's coverage from the QC page and
// imports a registered VCF from the genome case page; each job is followed in place until it is
// done, the page then shows the result, and "My jobs" lists both (English and Japanese).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchChromium, signInPage } from '../lib/browser.mjs';
import { startServer, addUser, cli, totp } from '../lib/zengen.mjs';

const DATA = join(process.cwd(), '..', 'shared', 'data');
const BAM = join(DATA, 'bam_cram', 'strelka-demo20', 'NA12892_demo20.bam');
const VCF = join(DATA, 'vcf', 'annotated', 'bcftools-tests', 'test', 'split-vep.vcf');
let srv, browser, user, caseId, bamId, vcfId;

before(async () => {
  srv = await startServer({ extraArgs: ['--web', join(process.cwd(), 'web')] });
  user = addUser(srv.dataDir, 'jobweb', 'operator', 'Hosp1', 'hospital');
  caseId = cli(srv.dataDir, ['case', 'add', '--org', 'Hosp1']).trim();
  bamId = JSON.parse(cli(srv.dataDir, ['file', 'add', BAM, '--case', caseId, '--json'])).id;
  vcfId = JSON.parse(cli(srv.dataDir, ['file', 'add', VCF, '--case', caseId, '--kind', 'somatic', '--json'])).id;
  browser = await launchChromium();
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test('measure coverage and import variants from the portal; My jobs lists them', async () => {
  const { context, page } = await signInPage(browser, srv.url, user, 'en-US');
  // QC page: nothing measured yet; start the job for the BAM as the normal sample
  await page.goto(`${srv.url}/#/qc/cases/${caseId}`);
  await page.waitForSelector('#qc-measure-table');
  assert.ok(await page.locator('#qc-coverage-none').count(), 'no coverage before the job');
  await page.selectOption(`select.qc-role[data-file="${bamId}"]`, 'normal');
  await page.click(`button.qc-measure-btn[data-file="${bamId}"]`);
  // the job is followed in place, then the page shows the measurement and the gate's reason
  await page.waitForSelector('#qc-coverage', { timeout: 60000 });
  assert.match(await page.textContent('#qc-coverage'), new RegExp(bamId));
  assert.match(await page.textContent('#qc-coverage'), /normal/);
  assert.match(await page.textContent('#qc-gates-table'), /below the required 30x/);

  // genome case page: import the registered VCF as somatic calls
  await page.goto(`${srv.url}/#/genome/cases/${caseId}`);
  await page.waitForSelector(`button.gen-import-btn[data-file="${vcfId}"]`);
  assert.equal(await page.inputValue(`select.gen-import-kind[data-file="${vcfId}"]`), 'somatic', 'the registered kind is preselected');
  await page.click(`button.gen-import-btn[data-file="${vcfId}"]`);
  await page.waitForSelector('#gen-somatic', { timeout: 60000 });
  assert.ok(await page.locator('#gen-somatic tbody tr').count() > 0);

  // My jobs: both, done, with their results
  await page.goto(`${srv.url}/#/jobs`);
  await page.waitForSelector('#jobs-table');
  const rows = page.locator('#jobs-table tbody tr');
  assert.equal(await rows.count(), 2);
  const text = await page.textContent('#jobs-table');
  assert.match(text, /Variant import/);
  assert.match(text, /Coverage QC/);
  assert.equal(await page.locator('#jobs-table [data-state="succeeded"]').count(), 2);
  assert.match(text, /calls from \d+ records into ZGC-/);
  assert.match(text, /mean autosome coverage/);
  await context.close();

  const ja = await signInPage(browser, srv.url, user, 'ja-JP', totp(user.totp_secret, Date.now(), 1));
  await ja.page.goto(`${srv.url}/#/jobs`);
  await ja.page.waitForSelector('#jobs-table');
  assert.match(await ja.page.textContent('h1'), /自分のジョブ/);
  assert.match(await ja.page.textContent('#jobs-table'), /完了/);
  assert.match(await ja.page.textContent('#jobs-table'), /変異の取り込み/);
  await ja.context.close();
});
