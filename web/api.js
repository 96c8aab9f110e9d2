// Fetch wrapper for the zengen public API (docs/api.md): JSON in and out, same-origin
// cookie session, X-CSRF-Token on unsafe methods, RFC 9457 problem+json turned into ApiError.
import { has } from './i18n.js';
import { h, replace } from './dom.js';

const BASE = '/api/v1';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
let csrfToken = null;
const unauthListeners = new Set();

export function setCsrf(token) { csrfToken = token || null; }

/** Called when an authenticated call answers 401 unauthenticated (session expired or revoked). */
export function onUnauthenticated(fn) { unauthListeners.add(fn); }

export class ApiError extends Error {
  constructor({ status, type, title, detail, errors, requestId, retryAfter, network }) {
    super(detail || title || `HTTP ${status}`);
    this.status = status;
    this.type = type;             // last path segment of the problem type, e.g. "invalid-credentials"
    this.title = title;
    this.detail = detail;
    this.errors = Array.isArray(errors) ? errors : [];
    this.requestId = requestId;
    this.retryAfter = retryAfter; // seconds, for 429 locked
    this.network = !!network;
  }
}

function problemType(type) {
  if (!type || typeof type !== 'string') return '';
  const seg = type.replace(/[#?].*$/, '').split('/').filter(Boolean).pop() || '';
  return seg === 'about:blank' ? '' : seg;
}

/**
 * api('GET', '/auth/session') → parsed JSON (or null for 204).
 * opts.query: object of query parameters (empty values skipped); opts.quiet401: do not notify listeners.
 */
export async function api(method, path, body, opts = {}) {
  method = method.toUpperCase();
  let url = BASE + path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  const headers = { accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (UNSAFE.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new ApiError({ status: 0, type: 'network', network: true, detail: String(e && e.message || e) });
  }
  const requestId = res.headers.get('x-request-id') || undefined;
  if (res.status === 204) return null;
  const ctype = res.headers.get('content-type') || '';
  let data = null;
  if (/json/.test(ctype)) {
    try { data = await res.json(); } catch { data = null; }
  } else {
    try { await res.text(); } catch { /* ignore */ }
  }
  if (res.ok) return data;
  const p = data && typeof data === 'object' ? data : {};
  const ra = res.headers.get('retry-after');
  let retryAfter;
  if (ra) retryAfter = /^\d+$/.test(ra) ? Number(ra) : Math.max(0, Math.round((Date.parse(ra) - Date.now()) / 1000));
  const err = new ApiError({
    status: res.status, type: problemType(p.type), title: p.title, detail: p.detail,
    errors: p.errors, requestId: p.request_id || requestId, retryAfter,
  });
  if (res.status === 401 && err.type === 'unauthenticated' && !opts.quiet401) for (const fn of unauthListeners) fn(err);
  return Promise.reject(err);
}

/** The localised summary line for an error (context 'login' changes the mfa-required wording). */
export function errorSummary(err, context) {
  if (!(err instanceof ApiError)) return { key: 'err.generic', args: { status: '?' } };
  if (err.network) return { key: 'err.network' };
  if (err.type === 'mfa-required' && context === 'login') return { key: 'err.mfa-required.login' };
  if (err.type && has(`err.${err.type}`)) return { key: `err.${err.type}` };
  const byStatus = { 401: 'unauthenticated', 403: 'forbidden', 404: 'not-found', 409: 'conflict', 413: 'payload-too-large', 422: 'validation', 429: 'locked', 500: 'internal' };
  if (byStatus[err.status]) return { key: `err.${byStatus[err.status]}` };
  return { key: 'err.generic', args: { status: err.status } };
}

/**
 * Runs `work` when the form is sent: clears the error box and the success box first, keeps the
 * button disabled while it runs, and shows a failure in the error box (marking the fields).
 */
export function onSubmit(form, { submit, err, ok }, work) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err, null, { form });
    if (ok) replace(ok);
    submit.disabled = true;
    try { await work(); } catch (e) { showError(err, e, { form }); } finally { submit.disabled = false; }
  });
}

/**
 * Fills an error box (role=alert) with a readable message: the localised summary, the
 * server's `detail`, per-field `errors[].reason`, the retry time for 429 and the request id.
 * Also marks form inputs named after an error pointer as aria-invalid.
 */
export function showError(box, err, { context, form } = {}) {
  while (box.firstChild) box.removeChild(box.firstChild);
  if (form) for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  if (!err) { box.hidden = true; return; }
  if (!(err instanceof ApiError)) {
    // A bug or an unexpected failure in the page itself: still say something useful.
    box.appendChild(h('p', { class: 'error-summary', i18n: 'err.client' }));
    box.appendChild(h('p', { class: 'error-detail' }, String((err && err.message) || err)));
    box.hidden = false;
    return;
  }
  const { key, args } = errorSummary(err, context);
  box.appendChild(h('p', { class: 'error-summary', i18n: key, i18nArgs: args }));
  if (err.type === 'locked' && err.retryAfter !== undefined) {
    box.appendChild(h('p', { class: 'error-retry', i18n: 'err.locked.retry', i18nArgs: { n: err.retryAfter } }));
  }
  // The server's own explanation (e.g. the policy's deny reason) unless it only repeats a field error.
  const reasons = err.errors.filter((e) => e && e.reason);
  if (err.detail && !(reasons.length === 1 && err.detail.endsWith(reasons[0].reason))) {
    box.appendChild(h('p', { class: 'error-detail' }, err.detail));
  }
  if (reasons.length) {
    box.appendChild(h('ul', { class: 'error-fields' }, reasons.map((e) => {
      const name = (e.pointer || '').replace(/^\//, '').replace(/~1/g, '/').replace(/~0/g, '~');
      if (form && name) {
        const input = form.querySelector(`[name="${CSS.escape(name.split('/')[0])}"]`);
        if (input) input.setAttribute('aria-invalid', 'true');
      }
      return h('li', {}, name ? h('code', {}, name) : null, name ? ': ' : '', e.reason);
    })));
  }
  if (err.requestId) box.appendChild(h('p', { class: 'error-request', i18n: 'err.request_id', i18nArgs: { id: err.requestId } }));
  box.hidden = false;
  if (typeof box.focus === 'function' && box.tabIndex >= -1) box.focus({ preventScroll: false });
}

/** A hidden error box to place in forms; showError() reveals it. */
export function errorBox(id) {
  return h('div', { class: 'notice error', role: 'alert', id, hidden: true, tabindex: '-1' });
}

export function showLocalError(box, key) {
  while (box.firstChild) box.removeChild(box.firstChild);
  box.appendChild(h('p', { class: 'error-summary', i18n: key }));
  box.hidden = false;
}

