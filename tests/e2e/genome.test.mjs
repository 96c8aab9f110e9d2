// Genome portal pages in a real browser over the demo cohort: overview by cancer type, a gene
// query with its bar chart, OncoPrint and co-occurrence (academic: aggregate, small counts
// hidden), and a case's variants (clinician, detailed genome), in English and Japanese.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { launchChromium, readDemoAccounts, signInPage } from '../lib/browser.mjs';
import { BIN, startServer } from '../lib/zengen.mjs';

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
