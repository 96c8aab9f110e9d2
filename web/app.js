// Portal shell: session bootstrap, hash router, role-aware navigation, language switch, sign-out.
import { t, lang, setLang, translate } from './i18n.js';
import { api, setCsrf, onUnauthenticated, ApiError } from './api.js';
import { h, replace } from './dom.js';
import { domains } from './domains/index.js';
import { extend } from './i18n.js';

/** Roles that must have a confirmed TOTP before using anything beyond their own account. */
export const MFA_ROLES = new Set(['admin', 'operator', 'clinician', 'hospital-data', 'sequencer', 'auditor']);

const routes = [
  { re: /^\/login$/, page: 'login', public: true },
  { re: /^\/?$/, page: 'home' },
  { re: /^\/account(?:\/(mfa|tokens|sessions|password))?$/, page: 'account', keys: ['section'] },
  { re: /^\/admin$/, page: 'admin', tier: 'admin' },
  { re: /^\/audit$/, page: 'audit', tier: 'audit' },
  { re: /^\/cases$/, page: 'cases', tier: 'detailed-clinical' },
  { re: /^\/cases\/([^/]+)$/, page: 'cases', tier: 'detailed-clinical', keys: ['id'] },
];

const navItems = [
  { href: '#/', key: 'nav.home', match: /^\/?$/ },
  { href: '#/cases', key: 'nav.cases', tier: 'detailed-clinical', match: /^\/cases/ },
  { href: '#/audit', key: 'nav.audit', tier: 'audit', match: /^\/audit/ },
  { href: '#/admin', key: 'nav.admin', tier: 'admin', match: /^\/admin/ },
  { href: '#/account', key: 'nav.account', match: /^\/account/ },
];

// domain pages and navigation (web/domains/), placed before the account link
for (const d of domains) {
  routes.push(...(d.routes || []));
  navItems.splice(navItems.length - 1, 0, ...(d.navItems || []));
  if (d.strings) extend(d.strings);
}

const state = { session: null, renderSeq: 0, afterLogin: null, booted: false };

function currentPath() {
  const raw = location.hash.replace(/^#/, '') || '/';
  return raw.split('?')[0];
}

export function session() { return state.session; }

/** True when the session may use the tier (MFA-pending sessions only have `self`). */
export function canUse(tier) {
  const s = state.session;
  if (!s) return false;
  if (tier === 'self') return true;
  if (mfaPending()) return false;
  return Array.isArray(s.tiers) && s.tiers.includes(tier);
}

export function mfaPending() {
  const s = state.session;
  return !!(s && s.mfa === false && MFA_ROLES.has(s.user && s.user.role));
}

export function navigate(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

/** Loads GET /auth/session; returns it or null when not signed in. */
export async function refreshSession() {
  try {
    const s = await api('GET', '/auth/session', undefined, { quiet401: true });
    state.session = s;
    if (s && s.csrf_token) setCsrf(s.csrf_token);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { state.session = null; setCsrf(null); } else throw e;
  }
  renderChrome();
  return state.session;
}

/** Called by the sign-in page with the login response. */
export async function signedIn(loginBody) {
  if (loginBody && loginBody.csrf_token) setCsrf(loginBody.csrf_token);
  await refreshSession();
  const next = state.afterLogin && state.afterLogin !== '/login' ? state.afterLogin : '/';
  state.afterLogin = null;
  navigate(`#${next}`);
}

export async function signOut() {
  try { await api('POST', '/auth/logout', undefined, { quiet401: true }); } catch { /* already gone */ }
  state.session = null;
  setCsrf(null);
  renderChrome();
  navigate('#/login');
}

function renderChrome() {
  const s = state.session;
  const nav = document.getElementById('main-nav');
  const signout = document.getElementById('signout');
  const who = document.getElementById('signed-in');
  const banner = document.getElementById('banner-slot');
  if (!s) {
    nav.hidden = true; replace(nav);
    signout.hidden = true; who.hidden = true; replace(who);
    replace(banner);
    return;
  }
  const path = currentPath();
  const list = h('ul', {}, navItems
    .filter((it) => (!it.tier || canUse(it.tier)) && (!it.roles || it.roles.includes(s.user?.role)))
    .map((it) => h('li', {}, h('a', {
      href: it.href, i18n: it.key, id: `nav-${it.href.slice(2) || 'home'}`,
      'aria-current': it.match.test(path) ? 'page' : null,
    }))));
  nav.setAttribute('aria-label', t('nav.label'));
  nav.dataset.i18nAttr = JSON.stringify({ 'aria-label': 'nav.label' });
  replace(nav, list);
  nav.hidden = false;
  const login = (s.user && s.user.login) || '';
  replace(who, h('span', { i18n: 'nav.signedin', i18nArgs: { login } }));
  who.hidden = false;
  signout.hidden = false;
  if (mfaPending()) {
    replace(banner, h('div', { class: 'banner warning', id: 'mfa-banner', role: 'region', i18nAttr: { 'aria-label': 'home.mfa.banner.title' } },
      h('div', { class: 'banner-inner' },
        h('strong', { i18n: 'home.mfa.banner.title' }), ' ',
        h('span', { i18n: 'home.mfa.banner.text' }), ' ',
        h('a', { href: '#/account/mfa', class: 'banner-link', i18n: 'home.mfa.banner.link' }))));
  } else replace(banner);
}

function updateNavCurrent() {
  const path = currentPath();
  for (const a of document.querySelectorAll('#main-nav a')) {
    const it = navItems.find((n) => n.href === a.getAttribute('href'));
    if (it && it.match.test(path)) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

function simplePage(titleKey, textKey) {
  return h('section', { class: 'page narrow' },
    h('h1', { i18n: titleKey, tabindex: '-1' }),
    h('p', { i18n: textKey }),
    h('p', {}, h('a', { href: '#/', i18n: 'nav.home' })));
}

async function route() {
  const seq = ++state.renderSeq;
  const path = currentPath();
  const main = document.getElementById('main');
  let match = null; let params = {};
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) { match = r; (r.keys || []).forEach((k, i) => { params[k] = m[i + 1] ? decodeURIComponent(m[i + 1]) : undefined; }); break; }
  }
  updateNavCurrent();
  if (!match) { replace(main, simplePage('notfound.title', 'notfound.text')); focusHeading(main); return; }
  if (!match.public && !state.session) {
    state.afterLogin = path;
    if (path !== '/login') { location.replace('#/login'); return; }
  }
  if (match.page === 'login' && state.session) { location.replace('#/'); return; }
  if (match.tier && !canUse(match.tier)) {
    replace(main, simplePage(mfaPending() ? 'home.mfa.banner.title' : 'denied.title', mfaPending() ? 'home.mfa.banner.text' : 'denied.text'));
    focusHeading(main);
    return;
  }
  main.setAttribute('aria-busy', 'true');
  try {
    const mod = await import(`./pages/${match.page}.js`);
    const node = await mod.render({ params, session: state.session, path });
    if (seq !== state.renderSeq) return; // a newer navigation won
    replace(main, node);
  } catch (e) {
    if (seq !== state.renderSeq) return;
    const { showError, errorBox } = await import('./api.js');
    const box = errorBox('page-error');
    replace(main, h('section', { class: 'page' }, h('h1', { i18n: 'err.title', tabindex: '-1' }), box));
    showError(box, e);
    console.error(e);
  } finally {
    if (seq === state.renderSeq) main.removeAttribute('aria-busy');
  }
  const auto = main.querySelector('[data-autofocus]');
  if (auto) auto.focus();
  else if (state.booted) focusHeading(main);
}

function focusHeading(main) {
  const h1 = main.querySelector('h1');
  if (h1 && state.booted) { if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1'); h1.focus({ preventScroll: true }); }
}

function setupStatic() {
  const mark = (id, key) => { const el = document.getElementById(id); el.dataset.i18n = key; };
  mark('skip-link', 'app.skip');
  mark('brand-title', 'app.title');
  mark('signout', 'nav.signout');
  mark('footer-text', 'app.footer');
  const toggle = document.getElementById('lang-toggle');
  toggle.dataset.i18n = 'lang.switch';
  toggle.dataset.i18nAttr = JSON.stringify({ 'aria-label': 'lang.switch.label', lang: 'lang.switch.code' });
  toggle.addEventListener('click', () => setLang(lang() === 'ja' ? 'en' : 'ja'));
  document.getElementById('signout').addEventListener('click', () => signOut());
  document.getElementById('skip-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    document.getElementById('main').focus();
  });
  translate(document);
}

async function boot() {
  setupStatic();
  onUnauthenticated(() => {
    if (!state.session) return;
    state.session = null; setCsrf(null); renderChrome();
    state.afterLogin = currentPath();
    navigate('#/login');
  });
  window.addEventListener('hashchange', () => route());
  try {
    await refreshSession();
  } catch (e) {
    state.session = null;
    console.error(e);
  }
  await route();
  state.booted = true;
}

boot();
