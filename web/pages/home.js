// Home: who you are, and what your role can do (cards chosen from the session's tiers).
import { h, orgName } from '../dom.js';
import { api, showError, errorBox } from '../api.js';
import { has } from '../i18n.js';
import { canUse, mfaPending, refreshSession } from '../app.js';

function card(id, titleKey, textKey, href, extra) {
  return h('article', { class: 'card task-card', id },
    h('h3', { i18n: titleKey }),
    h('p', { i18n: textKey }),
    extra || null,
    href ? h('p', { class: 'card-action' }, h('a', { href, class: 'button-link', i18n: 'card.open' })) : null);
}

function statsCard() {
  const body = h('div', { class: 'stats', 'aria-live': 'polite' }, h('p', { class: 'loading', i18n: 'app.loading' }));
  api('GET', '/stats/overview').then((s) => {
    body.replaceChildren(h('dl', { class: 'stat-grid', id: 'overview-stats' },
      ['orgs', 'cases', 'participants', 'specimens'].filter((k) => k in (s || {})).map((k) =>
        h('div', { class: 'stat' }, h('dt', { i18n: `stats.${k}` }), h('dd', { number: s[k], id: `stat-${k}` })))));
  }).catch((e) => {
    const box = errorBox('stats-error');
    body.replaceChildren(h('p', { i18n: 'stats.unavailable' }), box);
    showError(box, e);
  });
  return card('card-stats', 'card.stats.title', 'card.stats.text', null, body);
}

export async function render() {
  const s = await refreshSession();
  const u = (s && s.user) || {};
  const role = u.role || '';
  const tiers = Array.isArray(s && s.tiers) ? s.tiers : [];

  const cards = [];
  if (canUse('detailed-clinical')) cards.push(card('card-cases', 'card.cases.title', 'card.cases.text', '#/cases'));
  if (canUse('admin')) cards.push(card('card-admin', 'card.admin.title', 'card.admin.text', '#/admin'));
  if (canUse('audit')) cards.push(card('card-audit', 'card.audit.title', 'card.audit.text', '#/audit'));
  if (canUse('overview')) cards.push(statsCard());
  cards.push(card('card-account', 'card.account.title', 'card.account.text', mfaPending() ? '#/account/mfa' : '#/account'));

  const errBox = errorBox('home-error');

  return h('section', { class: 'page' },
    h('h1', { i18n: 'home.welcome', tabindex: '-1' }),
    h('section', { class: 'card profile', 'aria-labelledby': 'profile-h' },
      h('h2', { id: 'profile-h', class: 'visually-hidden', i18n: 'home.title' }),
      h('dl', { class: 'profile-grid' },
        h('div', {}, h('dt', { i18n: 'home.user' }), h('dd', { id: 'home-user' }, u.login || '')),
        h('div', {}, h('dt', { i18n: 'home.org' }), h('dd', { id: 'home-org' }, orgName(u.org))),
        h('div', {}, h('dt', { i18n: 'home.role' }),
          h('dd', { id: 'home-role', dataset: { role } }, has(`role.${role}`) ? h('span', { i18n: `role.${role}` }) : role)),
        h('div', {}, h('dt', { i18n: 'home.mfa' }),
          h('dd', { id: 'home-mfa', class: s && s.mfa ? 'ok' : 'warn', i18n: s && s.mfa ? 'home.mfa.on' : 'home.mfa.off' }))),
      tiers.length ? h('div', { class: 'tiers' },
        h('span', { class: 'tiers-label', i18n: 'home.tiers' }),
        h('ul', { class: 'chips', id: 'home-tiers' }, tiers.map((tier) =>
          h('li', { class: 'chip', dataset: { tier } }, has(`tier.${tier}`) ? h('span', { i18n: `tier.${tier}` }) : tier)))) : null),
    errBox,
    h('h2', { i18n: 'home.tasks' }),
    h('div', { class: 'card-grid', id: 'home-cards' }, cards));
}
