// Browser test of the portal: the real zengen server, the real portal files, Debian chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchChromium } from '../lib/browser.mjs';
import { startServer, addUser, totp, login as apiLogin } from '../lib/zengen.mjs';

const WEB_DIR = join(process.cwd(), 'web');
const TIMEOUT = 10000;

let srv;
let browser;

before(async () => {
  srv = await startServer({ extraArgs: ['--web', WEB_DIR] });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

/** Runs a test body; on failure appends the server's recent log (and exit status) to the error. */
function withServerLog(fn) {
  return async () => {
    try { await fn(); } catch (e) {
      const tail = srv ? srv.log().split('\n').slice(-25).join('\n') : '';
      const exit = srv && srv.proc.exitCode !== null ? ` (server exited ${srv.proc.exitCode})` : srv && srv.proc.signalCode ? ` (server killed by ${srv.proc.signalCode})` : '';
      e.message += `${exit}\n--- server log ---\n${tail}`;
      throw e;
    }
  };
}

/** A fresh browser context with English preference; records page errors and CSP violations. */
async function newPage(locale = 'en-US') {
  const context = await browser.newContext({ locale });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`csp: ${m.text()}`);
  });
  return { context, page, problems };
}

/** A six-digit code that is not valid for this secret in any step the server might accept. */
function wrongCode(secret) {
  const now = Date.now();
  const valid = new Set([-2, -1, 0, 1, 2].map((o) => totp(secret, now, o)));
  for (let i = 0; ; i++) {
    const c = String((123456 + i * 7919) % 1000000).padStart(6, '0');
    if (!valid.has(c)) return c;
  }
}

async function signIn(page, user, code) {
  await page.goto(`${srv.url}/`);
  await page.waitForURL(/#\/login$/);
  await page.fill('#login', user.login);
  await page.fill('#password', user.password);
  await page.fill('#totp', code ?? totp(user.totp_secret));
  await page.click('#signin');
}

test('clinician signs in with password + TOTP, switches to Japanese, signs out; wrong TOTP is refused', withServerLog(async () => {
  const user = addUser(srv.dataDir, 'clin-e2e', 'clinician', 'Tokyo General Hospital');
  assert.match(user.totp_secret || '', /^[A-Z2-7]+=*$/, 'CLI printed a base32 TOTP secret');
  const { context, page, problems } = await newPage('en-US');
  try {
    await signIn(page, user);

    // Home page: login, organisation, role, and the role-aware navigation.
    await page.waitForURL(/#\/$/);
    await page.locator('#home-user').filter({ hasText: user.login }).waitFor();
    assert.equal((await page.textContent('#home-user')).trim(), user.login);
    assert.equal((await page.textContent('#home-role')).trim(), 'Clinician');
    assert.match(await page.textContent('#home-org'), /Tokyo General Hospital/);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.locator('#main-nav a[href="#/cases"]').count(), 1, 'clinicians see Cases');
    assert.equal(await page.locator('#main-nav a[href="#/admin"]').count(), 0, 'clinicians do not see Administration');
    assert.equal(await page.locator('#main-nav a[href="#/audit"]').count(), 0, 'clinicians do not see the audit log');
    assert.equal(await page.locator('#mfa-banner').count(), 0, 'no MFA banner for a user with TOTP');
    assert.equal(await page.locator('#card-cases').count(), 1);
    assert.equal(await page.locator('#card-admin').count(), 0);

    // Switch to Japanese: <html lang>, role name and chrome are translated in place.
    assert.equal((await page.textContent('#lang-toggle')).trim(), '日本語');
    await page.click('#lang-toggle');
    await page.waitForSelector('html[lang="ja"]');
    assert.equal((await page.textContent('#home-role')).trim(), '臨床医');
    assert.equal((await page.textContent('#signout')).trim(), 'サインアウト');
    assert.equal((await page.textContent('#main-nav a[href="#/cases"]')).trim(), '症例');
    assert.equal((await page.textContent('#lang-toggle')).trim(), 'English');
    assert.equal((await page.textContent('#home-user')).trim(), user.login, 'data is not translated');

    // The choice survives a reload (localStorage) even though the browser prefers English.
    await page.reload();
    await page.locator('#home-role').filter({ hasText: '臨床医' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'ja');

    // Sign out: back to the sign-in page and the session is gone server-side.
    await page.click('#signout');
    await page.waitForURL(/#\/login$/);
    await page.waitForSelector('#login');
    const status = await page.evaluate(async () => (await fetch('/api/v1/auth/session', { credentials: 'same-origin' })).status);
    assert.equal(status, 401, 'session is revoked after sign-out');
    assert.equal((await page.textContent('h1')).trim(), 'サインイン');

    // Wrong one-time code: the API's 401 is shown in #error and we stay on the sign-in page.
    assert.equal(await page.isVisible('#error'), false, 'no error before trying');
    await page.fill('#login', user.login);
    await page.fill('#password', user.password);
    await page.fill('#totp', wrongCode(user.totp_secret));
    await page.click('#signin');
    await page.waitForSelector('#error:not([hidden])');
    const err = await page.textContent('#error');
    assert.match(err, /ワンタイムコードが正しくありません/, `error box explains the failure: ${err}`);
    assert.match(page.url(), /#\/login$/);
    assert.equal(await page.locator('#home-user').count(), 0);

    // A correct code of a later time step (the earlier one was used) signs in again.
    await page.fill('#totp', totp(user.totp_secret, Date.now(), +1));
    await page.click('#signin');
    await page.locator('#home-user').filter({ hasText: user.login }).waitFor();

    assert.deepEqual(problems, [], 'no script errors or CSP violations');
  } finally {
    await context.close();
  }
}));

test('admin creates a user in the portal and sees the one-time credentials', withServerLog(async () => {
  const admin = addUser(srv.dataDir, 'admin-e2e', 'admin', 'National Data Center', 'datacenter');
  addUser(srv.dataDir, 'seed-e2e', 'clinician', 'Osaka Cancer Hospital');
  const { context, page, problems } = await newPage('en-US');
  try {
    await signIn(page, admin);
    await page.locator('#home-role').filter({ hasText: 'Administrator' }).waitFor();
    assert.equal(await page.locator('#main-nav a[href="#/admin"]').count(), 1, 'admins see Administration');
    assert.equal(await page.locator('#main-nav a[href="#/cases"]').count(), 0, 'admins have no clinical tier');

    await page.click('#main-nav a[href="#/admin"]');
    await page.waitForURL(/#\/admin$/);
    await page.waitForSelector('#users-table');
    assert.match(await page.textContent('#users-table'), /admin-e2e/);
    assert.match(await page.textContent('#users-table'), /seed-e2e/);
    assert.match(await page.textContent('#orgs-table'), /Osaka Cancer Hospital/);

    await page.fill('#new-user-login', 'nurse-e2e');
    await page.selectOption('#new-user-role', 'hospital-data');
    await page.selectOption('#new-user-org', 'Osaka Cancer Hospital');
    await page.click('#create-user');
    await page.waitForSelector('#new-user-shown:not([hidden])');
    const password = await page.inputValue('#new-user-password');
    const secret = (await page.inputValue('#new-user-totp')).replace(/\s+/g, '');
    assert.ok(password.length >= 12, `initial password shown (${password.length} chars)`);
    assert.match(secret, /^[A-Z2-7]{16,}=*$/, 'TOTP secret shown in base32');
    await page.locator('#users-table').filter({ hasText: 'nurse-e2e' }).waitFor();

    // The credentials on screen are the real ones: the new user can sign in with them.
    const res = await apiLogin(srv.url, { login: 'nurse-e2e', password, totp_secret: secret });
    assert.equal(res.body.user.login, 'nurse-e2e');
    assert.equal(res.body.user.role, 'hospital-data');

    // Creating the same login again shows the API's conflict in the users error box.
    await page.fill('#new-user-login', 'nurse-e2e');
    await page.selectOption('#new-user-role', 'clinician');
    await page.selectOption('#new-user-org', 'Osaka Cancer Hospital');
    await page.click('#create-user');
    await page.waitForSelector('#users-error:not([hidden])');
    assert.ok((await page.textContent('#users-error')).trim().length > 0);
    assert.equal(await page.isVisible('#new-user-shown'), false, 'no credentials shown for a failed create');

    assert.deepEqual(problems, [], 'no script errors or CSP violations');
  } finally {
    await context.close();
  }
}));

test('repeated failures lock the account and the sign-in page shows when to retry', withServerLog(async () => {
  const user = addUser(srv.dataDir, 'lock-e2e', 'clinician', 'Tokyo General Hospital');
  const { context, page, problems } = await newPage('en-US');
  try {
    await page.goto(`${srv.url}/#/login`);
    await page.waitForSelector('#login');
    let text = '';
    for (let i = 0; i < 12 && !/Try again in \d+ seconds/.test(text); i++) {
      await page.fill('#login', user.login);
      await page.fill('#password', 'not-the-password-at-all');
      await page.fill('#totp', wrongCode(user.totp_secret));
      const done = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'));
      await page.click('#signin');
      await done;
      await page.waitForSelector('#error:not([hidden])');
      await page.waitForSelector('#signin:not([disabled])');
      text = await page.textContent('#error');
    }
    assert.match(text, /temporarily locked/, `locked message shown: ${text}`);
    assert.match(text, /Try again in \d+ seconds/, 'retry time from Retry-After shown');
    // Even the right password and code are refused while locked.
    await page.fill('#password', user.password);
    await page.fill('#totp', totp(user.totp_secret));
    await page.click('#signin');
    await page.waitForSelector('#signin:not([disabled])');
    assert.match(await page.textContent('#error'), /temporarily locked/);
    assert.equal(await page.locator('#home-user').count(), 0);
    assert.deepEqual(problems, [], 'no script errors or CSP violations');
  } finally {
    await context.close();
  }
}));
