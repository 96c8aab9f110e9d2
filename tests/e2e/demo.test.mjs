// `zengen demo` in a real browser: the demo accounts it prints can sign in with password + TOTP
// and each sees the home page of its role (what `make demo` promises a new user).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { launchChromium, readDemoAccounts } from '../lib/browser.mjs';
import { BIN, startServer, totp } from '../lib/zengen.mjs';

let srv, browser, accounts;

before(async () => {
  srv = await startServer({ extraArgs: ['--web', join(process.cwd(), 'web')] });
  const out = execFileSync(BIN, ['demo', '--data', srv.dataDir], { encoding: 'utf8' });
  assert.match(out, /demo-clinician/, 'demo prints its accounts');
  accounts = readDemoAccounts(srv.dataDir);
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test('demo loads one account of every role, and they sign in through the portal', async () => {
  const roles = accounts.map((a) => a.role).sort();
  assert.deepEqual(roles, ['academic', 'admin', 'auditor', 'clinician', 'dac', 'hospital-data',
    'industry', 'operator', 'participant', 'sequencer']);
  for (const login of ['demo-clinician', 'demo-auditor', 'demo-academic']) {
    const a = accounts.find((x) => x.login === login);
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    await page.goto(`${srv.url}/#/login`);
    await page.fill('#login', a.login);
    await page.fill('#password', a.password);
    await page.fill('#totp', totp(a.totp_secret));
    await page.click('#signin');
    await page.waitForSelector('#home-user');
    assert.equal((await page.textContent('#home-user')).trim(), a.login);
    await context.close();
  }
  // the demo cohort is there for the clinician's hospital
  const r = execFileSync(BIN, ['case', 'list', '--org', 'Sakura University Hospital', '--data', srv.dataDir], { encoding: 'utf8' });
  assert.ok(r.trim().split('\n').length >= 12, 'demo cases of the hospital');
});

test('the demo participant sees who used their data, in Japanese too', async () => {
  const a = accounts.find((x) => x.login === 'demo-participant');
  // a clinician of the same hospital reads the participant's case through the API first
  const clin = accounts.find((x) => x.login === 'demo-clinician');
  const { login: apiLogin } = await import('../lib/zengen.mjs');
  const s = await apiLogin(srv.url, clin, { code: totp(clin.totp_secret, Date.now(), 1) });
  const cases = await (await fetch(`${srv.url}/api/v1/cases?limit=1000`, { headers: { cookie: s.cookie } })).json();
  const mine = cases.cases.filter((c) => c.participant_id)[0];
  assert.ok(mine);
  const context = await browser.newContext({ locale: 'ja-JP' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  await page.goto(`${srv.url}/#/login`);
  await page.fill('#login', a.login);
  await page.fill('#password', a.password);
  await page.fill('#totp', totp(a.totp_secret));
  await page.click('#signin');
  await page.waitForSelector('#home-user');
  await page.click('#nav-my-data');
  await page.waitForSelector('#mydata-list table, #mydata-list .empty');
  assert.match(await page.textContent('h1'), /私のデータを利用した人/);
  // the clinician's list read touched the participant's case: the participant sees the hospital
  assert.match(await page.textContent('#mydata-list'), /Sakura University Hospital/);
  await context.close();
});

test('the demo has reads to view: the operator opens the demo CRAM in igv.js from the case page', async () => {
  const a = accounts.find((x) => x.login === 'demo-operator');
  const { signInPage } = await import('../lib/browser.mjs');
  const { context, page } = await signInPage(browser, srv.url, a, 'en-US', totp(a.totp_secret));
  page.setDefaultTimeout(20000);
  const out = execFileSync(BIN, ['file', 'list', '--data', srv.dataDir], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => /cram/.test(l));
  assert.ok(line, `the demo registers a CRAM: ${out}`);
  const caseId = line.match(/ZGC-[0-9A-Z-]+/)[0];
  await page.goto(`${srv.url}/#/genome/cases/${caseId}`);
  await page.click('#gen-files a.igv-link');
  await page.waitForSelector('#igv-view[data-state="ready"]');
  await page.fill('#igv-locus', 'zgdemo:2900-3100');
  await page.click('#igv-locus-form button[type=submit]');
  const n = await page.waitForFunction(() => {
    const t = document.getElementById('igv-view').igvBrowser.findTracks((x) => x.type === 'alignment')[0];
    const c = t && t.trackView.viewports[0].featureCache;
    const k = c && c.chr === 'zgdemo' && c.bpStart <= 2900 && c.features && c.features.allAlignments ? c.features.allAlignments().length : 0;
    return k > 20 ? k : null;
  });
  assert.ok(await n.jsonValue() > 20, 'demo reads loaded around the demo variant');
  await context.close();
});
