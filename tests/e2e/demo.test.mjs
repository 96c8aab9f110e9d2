// `zengen demo` in a real browser: the demo accounts it prints can sign in with password + TOTP
// and each sees the home page of its role (what `make demo` promises a new user).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BIN, startServer, totp } from '../lib/zengen.mjs';

let srv, browser, accounts;

before(async () => {
  srv = await startServer({ extraArgs: ['--web', join(process.cwd(), 'web')] });
  const out = execFileSync(BIN, ['demo', '--data', srv.dataDir], { encoding: 'utf8' });
  assert.match(out, /demo-clinician/, 'demo prints its accounts');
  // the accounts file holds blocks of "key: value" lines
  accounts = readFileSync(join(srv.dataDir, 'demo-accounts.txt'), 'utf8').split('\n\n')
    .map((blk) => Object.fromEntries(blk.split('\n').map((l) => l.match(/^([a-z_]+): (.*)$/)).filter(Boolean).map((m) => [m[1], m[2]])))
    .filter((a) => a.login);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
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
