// Unsealing the linkage store from the administration page: with the keys split 2-of-3, an
// administrator sees it sealed, pastes one share (1 of 2), then a second (unsealed); a mistyped
// share is refused with the reason next to the field. Japanese labels too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, signInPage } from '../lib/browser.mjs';
import { startServer, addUser, cli, totp } from '../lib/zengen.mjs';

const root = mkdtempSync(join(tmpdir(), 'zg-e2e-keys-'));
const dataDir = join(root, 'data');
const shares = join(root, 'shares');
let srv, browser, admin;
const share = (x) => readFileSync(join(shares, `zengen-linkage-share-${x}-of-3.txt`), 'utf8').split('\n').find((l) => l.startsWith('zgs1-'));

before(async () => {
  srv = await startServer({ dataDir, extraArgs: ['--web', join(process.cwd(), 'web')] });
  admin = addUser(dataDir, 'keyweb', 'admin', 'DC', 'datacenter');
  await srv.stop();
  mkdirSync(shares);
  cli(dataDir, ['linkage-key', 'split', '--threshold', '2', '--shares', '3', '--out', shares]);
  srv = await startServer({ dataDir, init: false, extraArgs: ['--web', join(process.cwd(), 'web')] });
  browser = await launchChromium();
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
  rmSync(root, { recursive: true, force: true });
});

test('an administrator unseals the linkage store share by share', async () => {
  const { context, page } = await signInPage(browser, srv.url, admin, 'en-US');
  await page.goto(`${srv.url}/#/admin`);
  await page.waitForSelector('#linkage-sealed');
  assert.match(await page.textContent('#linkage-sealed'), /sealed.*0 of the 2 shares needed \(of 3\)/);
  // a mistyped share: refused with the reason
  const s1 = share(1);
  await page.fill('#linkage-share', s1.slice(0, 30) + (s1[30] === '0' ? '1' : '0') + s1.slice(31));
  await page.click('#linkage-submit');
  await page.waitForSelector('#linkage-error:not([hidden])');
  assert.match(await page.textContent('#linkage-error'), /checksum/);
  await page.fill('#linkage-share', s1);
  await page.click('#linkage-submit');
  await page.waitForFunction(() => /1 of the 2/.test(document.querySelector('#linkage-state')?.textContent || ''));
  assert.equal(await page.inputValue('#linkage-share'), '', 'the share is not kept in the page');
  await page.fill('#linkage-share', share(3));
  await page.click('#linkage-submit');
  await page.waitForSelector('#linkage-open');
  assert.match(await page.textContent('#linkage-ok'), /unsealed/);
  assert.ok(await page.locator('#linkage-form').isHidden(), 'nothing more to submit');
  await context.close();

  const ja = await signInPage(browser, srv.url, admin, 'ja-JP', totp(admin.totp_secret, Date.now(), 1));
  await ja.page.goto(`${srv.url}/#/admin`);
  await ja.page.waitForSelector('#linkage-open');
  assert.match(await ja.page.textContent('#linkage'), /リンケージストアの鍵/);
  assert.match(await ja.page.textContent('#linkage-open'), /封印を解除済み|利用可能/);
  await ja.context.close();
});
