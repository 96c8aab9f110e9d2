// Audit log: filtered, paged event table and hash-chain verification.
import { h, replace, field, table } from '../dom.js';
import { api, showError, errorBox } from '../api.js';
import { translate, has } from '../i18n.js';

const PAGE = 50;

function pick(e, ...keys) {
  for (const k of keys) if (e[k] !== undefined && e[k] !== null && e[k] !== '') return e[k];
  return undefined;
}

function text(v) {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(text).join(', ');
  if (typeof v === 'object') return v.login || v.name || v.id || JSON.stringify(v);
  return String(v);
}

function targetOf(e) {
  const res = text(pick(e, 'resource', 'resource_id', 'target', 'path'));
  const tier = pick(e, 'tier');
  const ids = text(pick(e, 'data'));
  return h('span', {}, res ? h('code', {}, res) : null, ids ? [' ', h('code', { class: 'data-ids' }, ids)] : null,
    tier ? [' ', has(`tier.${tier}`) ? h('span', { class: 'chip', i18n: `tier.${tier}` }) : h('span', { class: 'chip' }, tier)] : null);
}

function outcomeCell(e) {
  const s = text(pick(e, 'outcome', 'result', 'decision'));
  const good = /^(ok|allow|allowed|success|succeeded)$/i.test(s);
  const bad = /^(deny|denied|fail|failed|failure|error)$/i.test(s);
  const status = pick(e, 'status');
  const reason = pick(e, 'reason');
  return h('span', { class: 'outcome' },
    h('span', { class: `badge ${good ? 'ok' : bad ? 'danger' : 'muted'}` }, s),
    status !== undefined ? h('span', { class: 'status-code' }, ` ${status}`) : null,
    reason ? h('span', { class: 'reason' }, text(reason)) : null);
}

function sourceOf(e) {
  const ip = text(pick(e, 'ip', 'client_ip'));
  const tool = text(pick(e, 'tool'));
  return h('span', { class: 'source' }, ip ? h('code', {}, ip) : null, tool ? h('span', { class: 'tool', title: tool }, shortTool(tool)) : null);
}

/** "Mozilla/5.0 (X11; Linux x86_64) … Chrome/126.0 …" → "Chrome 126 · Linux"; other tools as given. */
function shortTool(tool) {
  const m = /(Edg|Firefox|Chrome|Safari)\/(\d+)/.exec(tool);
  if (!/^Mozilla\//.test(tool) || !m) return tool.length > 40 ? `${tool.slice(0, 40)}…` : tool;
  const os = /(Windows|Mac OS X|Android|iPhone|iPad|Linux)/.exec(tool);
  return `${m[1]} ${m[2]}${os ? ` · ${os[1]}` : ''}`;
}

export async function render() {
  const q = { after: undefined, user: '', action: '' };
  const history = []; // `after` values of earlier pages
  let nextAfter = null;
  const err = errorBox('audit-error');
  const verifyErr = errorBox('verify-error');
  const list = h('div', { id: 'audit-list', 'aria-live': 'polite' });
  const pageNo = h('span', { class: 'page-no', id: 'audit-page' });

  const user = h('input', { id: 'audit-user', name: 'user', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const action = h('input', { id: 'audit-action', name: 'action', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const filters = h('form', { class: 'form filter-form', id: 'audit-filters', role: 'search' },
    field({ label: 'audit.filter.user', input: user }),
    field({ label: 'audit.filter.action', input: action }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', id: 'audit-apply', i18n: 'audit.filter.apply' }),
      h('button', { type: 'button', class: 'secondary', id: 'audit-clear', i18n: 'audit.filter.clear', on: { click: () => { user.value = ''; action.value = ''; applyFilters(); } } })));
  filters.addEventListener('submit', (ev) => { ev.preventDefault(); applyFilters(); });

  const first = h('button', { type: 'button', class: 'secondary small', id: 'audit-first', i18n: 'audit.first' });
  const prev = h('button', { type: 'button', class: 'secondary small', id: 'audit-prev', i18n: 'audit.prev' });
  const next = h('button', { type: 'button', class: 'secondary small', id: 'audit-next', i18n: 'audit.next' });
  first.addEventListener('click', () => { history.length = 0; q.after = undefined; load(); });
  prev.addEventListener('click', () => { q.after = history.pop(); load(); });
  next.addEventListener('click', () => { if (nextAfter === null) return; history.push(q.after); q.after = nextAfter; load(); });

  function applyFilters() {
    q.user = user.value.trim(); q.action = action.value.trim();
    history.length = 0; q.after = undefined;
    load();
  }

  async function load() {
    showError(err, null);
    list.setAttribute('aria-busy', 'true');
    try {
      const res = await api('GET', '/audit/events', undefined, { query: { after: q.after, limit: PAGE, user: q.user, action: q.action } }) || {};
      const events = res.events || [];
      nextAfter = res.next_after ?? null;
      replace(list, table({
        id: 'audit-table', caption: 'audit.title',
        headers: ['audit.seq', 'audit.time', 'audit.user', 'audit.action', 'audit.target', 'audit.outcome', 'audit.source'],
        rows: events.map((e) => [
          h('details', { class: 'event-details' },
            h('summary', {}, text(pick(e, 'seq', 'id'))),
            h('pre', {}, JSON.stringify(e, null, 2))),
          h('span', { class: 'nowrap', time: pick(e, 'at', 'ts', 'time', 'created_at') }),
          text(pick(e, 'user', 'login', 'actor')),
          h('code', { class: 'nowrap' }, text(pick(e, 'action'))),
          targetOf(e),
          outcomeCell(e),
          sourceOf(e),
        ]),
      }));
    } catch (e) { replace(list); showError(err, e); }
    list.removeAttribute('aria-busy');
    first.disabled = history.length === 0;
    prev.disabled = history.length === 0;
    next.disabled = nextAfter === null || nextAfter === undefined;
    pageNo.dataset.i18n = 'audit.page';
    pageNo.dataset.i18nArgs = JSON.stringify({ n: history.length + 1 });
    translate(pageNo);
  }

  // ---- verification ----
  const verifyOut = h('div', { id: 'verify-result', 'aria-live': 'polite' });
  const verify = h('button', { type: 'button', class: 'primary', id: 'audit-verify', i18n: 'audit.verify' });
  verify.addEventListener('click', async () => {
    showError(verifyErr, null);
    replace(verifyOut);
    verify.disabled = true;
    verify.dataset.i18n = 'audit.verify.busy';
    translate(verify);
    try {
      const r = await api('GET', '/audit/verify') || {};
      replace(verifyOut, h('div', { class: `notice ${r.ok ? 'success' : 'error'}`, role: r.ok ? 'status' : 'alert' },
        h('p', { class: 'strong', i18n: r.ok ? 'audit.verify.ok' : 'audit.verify.bad', i18nArgs: r.ok ? { n: r.events } : { seq: r.first_bad_seq ?? '?', reason: r.reason || '' } }),
        r.head_hash ? h('p', { class: 'hash' }, h('span', { i18n: 'audit.verify.head' }), ': ', h('code', {}, r.head_hash)) : null));
    } catch (e) { showError(verifyErr, e); } finally {
      verify.disabled = false;
      verify.dataset.i18n = 'audit.verify';
      translate(verify);
    }
  });

  await load();

  return h('section', { class: 'page' },
    h('div', { class: 'page-head' },
      h('h1', { i18n: 'audit.title', tabindex: '-1' }),
      h('div', { class: 'page-tools' }, verify)),
    h('p', { class: 'lead', i18n: 'audit.intro' }),
    verifyErr, verifyOut,
    h('section', { class: 'card section' },
      filters, err, list,
      h('nav', { class: 'pager', i18nAttr: { 'aria-label': 'audit.title' } }, first, prev, pageNo, next)));
}
