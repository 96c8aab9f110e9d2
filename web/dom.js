// Small DOM helpers. Text is always inserted as text nodes (never as HTML), so data from
// the API cannot inject markup. No inline styles or handlers (the server's CSP forbids them).
import { t, fmtTime, fmtNumber } from './i18n.js';

/**
 * h('button', {class: 'primary', i18n: 'login.submit', on: {click: fn}}, ...children)
 * Special attributes:
 *   i18n: message key for the text; i18nArgs: its parameters
 *   i18nAttr: {attribute: key} for translated attributes (placeholder, aria-label, title)
 *   time: a timestamp rendered (and re-rendered on language change) as local date/time
 *   number: a number rendered with locale grouping
 *   on: {event: handler}
 *   dataset: {name: value}
 *   value, checked, disabled, hidden, selected, required, readOnly: set as properties
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    switch (k) {
      case 'i18n': el.dataset.i18n = v; el.textContent = t(v, attrs.i18nArgs); break;
      case 'i18nArgs': el.dataset.i18nArgs = JSON.stringify(v); break;
      case 'i18nAttr':
        el.dataset.i18nAttr = JSON.stringify(v);
        for (const [a, key] of Object.entries(v)) el.setAttribute(a, t(key));
        break;
      case 'time': el.dataset.time = v; el.textContent = fmtTime(v); break;
      case 'number': el.dataset.number = v; el.textContent = fmtNumber(v); break;
      case 'on': for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn); break;
      case 'dataset': Object.assign(el.dataset, v); break;
      case 'class': el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v; break;
      case 'value': case 'checked': case 'disabled': case 'hidden': case 'selected':
      case 'required': case 'readOnly': case 'multiple':
        el[k] = v; break;
      default: el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

export function replace(el, ...children) { clear(el); append(el, children); return el; }

let uid = 0;
/** A labelled form field: returns the wrapper; the input gets `id` (generated if absent). */
export function field({ label, hint, input, optional }) {
  if (!input.id) input.id = `f${++uid}`;
  const hintEl = hint ? h('p', { class: 'hint', id: `${input.id}-hint`, i18n: hint }) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' },
    h('label', { for: input.id }, h('span', { i18n: label }), optional ? h('span', { class: 'optional', i18n: 'common.optional' }) : null),
    input, hintEl);
}

/** A table with translated headers; rows are arrays of cells (nodes or strings). */
export function table({ headers, rows, caption, id }) {
  if (!rows.length) return h('p', { class: 'empty', id, i18n: 'common.empty' });
  return h('div', { class: 'table-wrap' },
    h('table', { id },
      caption ? h('caption', { class: 'visually-hidden', i18n: caption }) : null,
      h('thead', {}, h('tr', {}, headers.map((k) => h('th', { scope: 'col', i18n: k })))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

/** A status message area (role=status, polite) used for success notes. */
export function notice(kind, key, args) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status', i18n: key, i18nArgs: args });
}

/** Copies text to the clipboard; falls back to selecting an input. Updates the button label briefly. */
export async function copyText(text, button, inputToSelect) {
  let ok = false;
  try { await navigator.clipboard.writeText(text); ok = true; } catch { /* insecure context or denied */ }
  if (!ok && inputToSelect) { inputToSelect.focus(); inputToSelect.select(); try { ok = document.execCommand('copy'); } catch { /* ignore */ } }
  if (button) {
    button.dataset.i18n = ok ? 'common.copied' : 'common.copy';
    button.textContent = t(button.dataset.i18n);
    setTimeout(() => { button.dataset.i18n = 'common.copy'; button.textContent = t('common.copy'); }, 2000);
  }
}

/** A read-only secret display with a copy button. */
export function secretBox(value, id, labelKey) {
  const input = h('input', { type: 'text', readOnly: true, value, id, class: 'secret', spellcheck: 'false', autocomplete: 'off' });
  const btn = h('button', { type: 'button', class: 'secondary', i18n: 'common.copy' });
  btn.addEventListener('click', () => copyText(value, btn, input));
  input.addEventListener('focus', () => input.select());
  return h('div', { class: 'field' },
    h('label', { for: id, i18n: labelKey }),
    h('div', { class: 'secret-row' }, input, btn));
}

export function roleName(role) { return h('span', { class: 'role', dataset: { role }, i18n: `role.${role}` }); }

/** Name of an organisation whether the API gives a string or an object. */
export function orgName(org) {
  if (org === null || org === undefined) return '';
  if (typeof org === 'object') return org.name ?? org.id ?? '';
  return String(org);
}
