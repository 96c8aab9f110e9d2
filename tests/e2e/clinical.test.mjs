// Clinical portal pages in a real browser, over the demo cohort: the hospital view
// (completeness, validation failures, search) and the expert-panel case view with its timeline,
// in English and Japanese.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { launchChromium, readDemoAccounts, signInPage } from '../lib/browser.mjs';
import { BIN, startServer, totp } from '../lib/zengen.mjs';

let srv, browser, accounts;

before(async () => {
  srv = await startServer({ extraArgs: ['--web', join(process.cwd(), 'web')] });
  execFileSync(BIN, ['demo', '--data', srv.dataDir], { encoding: 'utf8' });
  accounts = readDemoAccounts(srv.dataDir);
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

function signIn(login, locale) {
  return signInPage(browser, srv.url, accounts.find((x) => x.login === login), locale);
}

test('hospital view and expert-panel case view with the timeline (en)', async () => {
  const { context, page } = await signIn('demo-clinician', 'en-US');
  await page.goto(`${srv.url}/#/clinical`);
  await page.waitForSelector('#clin-completeness');
  const comp = await page.textContent('#clin-completeness');
  assert.match(comp, /Sakura University Hospital/);
  assert.doesNotMatch(comp, /Minato/, 'a hospital sees only its own organisation');
  await page.selectOption('#clin-q-stage', 'IV');
  await page.click('#clin-search-go');
  await page.waitForSelector('#clin-results');
  const first = page.locator('#clin-results tbody tr a').first();
  const id = (await first.textContent()).trim();
  assert.match(id, /^ZGC-/);
  await first.click();
  await page.waitForSelector('#clin-timeline');
  assert.match(await page.textContent('h1'), new RegExp(id));
  assert.match(await page.textContent('#clin-timeline'), /Diagnosis/);
  assert.match(await page.textContent('#clin-history'), /demo-ehr:Sakura University Hospital/);
  await context.close();
});

test('the clinical pages in Japanese', async () => {
  const { context, page } = await signIn('demo-hospital', 'ja-JP');
  await page.goto(`${srv.url}/#/clinical`);
  await page.waitForSelector('#clin-completeness');
  assert.match(await page.textContent('h1'), /臨床情報/);
  assert.match(await page.textContent('main'), /医療機関別の充足状況/);
  await context.close();
});

test('a hospital creates a case and adds a specimen through the portal forms (en)', async () => {
  // the first test signed in with this window's code: one-time codes are not accepted twice
  const acct = accounts.find((x) => x.login === 'demo-clinician');
  const { context, page } = await signInPage(browser, srv.url, acct, 'en-US',
    totp(acct.totp_secret, Date.now(), 1));
  await page.goto(`${srv.url}/#/cases`);
  await page.waitForSelector('#case-form');
  await page.click('#case-create');
  const created = page.locator('.notice.success').first();
  await created.waitFor();
  const id = (await created.locator('a code').textContent()).trim();
  assert.match(id, /^ZGC-/);
  await created.locator('a').click();
  await page.waitForSelector('#specimen-form');
  // no type chosen: the server refuses, the form says why and marks the field; the button is usable again
  await page.click('#specimen-submit');
  await page.waitForSelector('#specimen-form [aria-invalid="true"], [role="alert"]:not([hidden])');
  assert.equal(await page.isDisabled('#specimen-submit'), false);
  await page.selectOption('#specimen-type', 'tumour-tissue');
  await page.click('#specimen-submit');
  await page.waitForSelector('text=/Specimen \\S+ added\\./');
  await context.close();
});
