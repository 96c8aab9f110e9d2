// Sequencing QC page in a real browser: an operator opens a case's QC and sees each gate's
// result and reason (tumour coverage below 120× fails), in English and Japanese.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchChromium } from '../lib/browser.mjs';
import { startServer, addUser, cli, totp } from '../lib/zengen.mjs';

const SD = join(process.cwd(), '..', 'shared', 'data', 'bam_cram', 'strelka-demo20');
let srv, browser, user, caseId;

before(async () => {
  srv = await startServer({ extraArgs: ['--web', join(process.cwd(), 'web')] });
  user = addUser(srv.dataDir, 'qcweb', 'operator', 'Hosp1', 'hospital');
  caseId = cli(srv.dataDir, ['case', 'add', '--org', 'Hosp1']).trim();
  const fid = cli(srv.dataDir, ['file', 'add', join(SD, 'NA12891_demo20.bam'), '--case', caseId]).match(/ZGF-[0-9A-F]{12}/)[0];
  cli(srv.dataDir, ['qc', 'coverage', '--file', fid, '--role', 'tumour']);
  browser = await launchChromium();
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

async function signIn(locale, step = 0) {
  const context = await browser.newContext({ locale });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(`${srv.url}/#/login`);
  await page.fill('#login', user.login);
  await page.fill('#password', user.password);
  if (await page.locator('#totp').count()) await page.fill('#totp', totp(user.totp_secret, Date.now(), step));
  await page.click('#signin');
  await page.waitForSelector('#home-user');
  return { context, page };
}

test('QC page shows pass/fail/why per gate (en, ja)', async () => {
  const { context, page } = await signIn('en-US');
  await page.goto(`${srv.url}/#/qc/cases/${caseId}`);
  await page.waitForSelector('#qc-gates-table');
  const text = await page.textContent('#qc-gates-table');
  assert.match(text, /Tumour mean coverage/);
  assert.match(text, /Fail/);
  assert.match(text, /16\.2x is below the required 120x/);
  assert.match(await page.textContent('#qc-coverage'), /16\.21/);
  await context.close();

  // a second sign-in needs a fresh one-time code step (replays are refused)
  const ja = await signIn('ja-JP', 1);
  await ja.page.goto(`${srv.url}/#/qc/cases/${caseId}`);
  await ja.page.waitForSelector('#qc-gates-table');
  assert.match(await ja.page.textContent('#qc-gates-table'), /不合格/);
  assert.match(await ja.page.textContent('h1'), /シーケンスQC/);
  await ja.context.close();
});
