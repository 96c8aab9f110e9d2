// The one way browser tests start Debian's chromium (headless, no network chatter, no download).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { totp } from './zengen.mjs';

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Reads DATA/demo-accounts.txt (written by `zengen demo`) into [{login, role, org, password, totp_secret}]. */
export function readDemoAccounts(dataDir) {
  return readFileSync(join(dataDir, 'demo-accounts.txt'), 'utf8').split('\n\n')
    .map((blk) => Object.fromEntries(blk.split('\n').map((l) => l.match(/^([a-z_]+): (.*)$/))
      .filter(Boolean).map((m) => [m[1], m[2]])))
    .filter((a) => a.login);
}

/** Signs account in through the portal at url in a new context of locale; returns {context, page}. */
export async function signInPage(browser, url, account, locale = 'en-US', code = totp(account.totp_secret)) {
  const context = await browser.newContext({ locale });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  await page.goto(`${url}/#/login`);
  await page.fill('#login', account.login);
  await page.fill('#password', account.password);
  await page.fill('#totp', code);
  await page.click('#signin');
  await page.waitForSelector('#home-user');
  return { context, page };
}
