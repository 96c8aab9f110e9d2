// Account: sessions, API tokens, MFA enrolment, password change.
import { h, replace, field, table, notice, secretBox, copyText } from '../dom.js';
import { api, showError, errorBox, showLocalError } from '../api.js';
import { has, translate } from '../i18n.js';
import { session, refreshSession, signOut } from '../app.js';

function section(id, titleKey, introKey, ...body) {
  return h('section', { class: 'card section', id, 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h`, i18n: titleKey, tabindex: '-1' }),
    introKey ? h('p', { class: 'lead', i18n: introKey }) : null,
    ...body);
}

function tierLabel(tier) { return has(`tier.${tier}`) ? h('span', { class: 'chip', i18n: `tier.${tier}` }) : h('span', { class: 'chip' }, tier); }

// ---- sessions ---------------------------------------------------------------------------
function sessionsSection() {
  const list = h('div', { id: 'sessions-list' }, h('p', { class: 'loading', i18n: 'app.loading' }));
  const err = errorBox('sessions-error');
  async function load() {
    try {
      const { sessions = [] } = await api('GET', '/me/sessions') || {};
      replace(list, table({
        id: 'sessions-table', caption: 'account.sessions',
        headers: ['account.session.created', 'account.session.last', 'account.session.expires', 'account.session.ip', 'account.session.agent', 'common.revoke'],
        rows: sessions.map((s) => [
          h('span', { time: s.created_at }),
          h('span', { time: s.last_seen_at }),
          h('span', { time: s.expires_at }),
          h('code', {}, s.ip || ''),
          h('span', { class: 'ua', title: s.user_agent || '' }, shortAgent(s.user_agent)),
          h('span', {},
            s.current ? h('span', { class: 'badge current', i18n: 'account.session.current' }) : null,
            h('button', { type: 'button', class: 'danger small', i18n: 'common.revoke', dataset: { session: s.id }, on: { click: () => revoke(s) } })),
        ]),
      }));
    } catch (e) { replace(list); showError(err, e); }
  }
  async function revoke(s) {
    showError(err, null);
    try {
      await api('DELETE', `/me/sessions/${encodeURIComponent(s.id)}`);
      if (s.current) { await signOut(); return; }
      await load();
    } catch (e) { showError(err, e); }
  }
  load();
  return section('sessions', 'account.sessions', 'account.sessions.intro', err, list,
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary small', i18n: 'common.refresh', on: { click: load } })));
}

function shortAgent(ua) {
  if (!ua) return '';
  const m = /(Edg|Firefox|Chrome|Chromium|Safari|curl|node)[/ ]([\d.]+)/.exec(ua);
  const os = /(Windows|Mac OS X|Linux|Android|iPhone|iPad)/.exec(ua);
  return m ? `${m[1]} ${m[2].split('.')[0]}${os ? ` · ${os[1]}` : ''}` : ua.slice(0, 40);
}

// ---- API tokens -------------------------------------------------------------------------
function tokensSection() {
  const s = session();
  const list = h('div', { id: 'tokens-list' }, h('p', { class: 'loading', i18n: 'app.loading' }));
  const err = errorBox('tokens-error');
  const shown = h('div', { id: 'token-shown', hidden: true });

  async function load() {
    try {
      const { tokens = [] } = await api('GET', '/me/tokens') || {};
      replace(list, table({
        id: 'tokens-table', caption: 'account.tokens',
        headers: ['account.token.name', 'account.token.scopes', 'account.token.created', 'account.token.expires', 'account.token.lastused', 'account.token.status', 'common.revoke'],
        rows: tokens.map((tk) => [
          tk.name || '',
          h('span', { class: 'chips' }, (tk.scopes || []).map(tierLabel)),
          h('span', { time: tk.created_at }),
          h('span', { time: tk.expires_at }),
          h('span', { time: tk.last_used_at }),
          h('span', { class: tk.revoked ? 'badge muted' : 'badge ok', i18n: tk.revoked ? 'account.token.revoked' : 'account.token.active' }),
          tk.revoked ? '' : h('button', { type: 'button', class: 'danger small', i18n: 'common.revoke', dataset: { token: tk.id }, on: { click: () => revoke(tk) } }),
        ]),
      }));
    } catch (e) { replace(list); showError(err, e); }
  }
  async function revoke(tk) {
    showError(err, null);
    try { await api('DELETE', `/me/tokens/${encodeURIComponent(tk.id)}`); await load(); } catch (e) { showError(err, e); }
  }

  const name = h('input', { id: 'token-name', name: 'name', type: 'text', required: true, maxlength: '100', autocomplete: 'off' });
  const days = h('input', { id: 'token-days', name: 'expires_in_days', type: 'number', min: '1', max: '365', value: '90', inputmode: 'numeric' });
  const scopeTiers = ((s && s.tiers) || []).filter((tier) => tier !== 'public');
  const scopeBoxes = scopeTiers.map((tier) => h('input', { type: 'checkbox', name: 'scopes', value: tier, id: `scope-${tier}`, checked: tier === 'self' }));
  const scopes = h('fieldset', { class: 'field checkbox-group' },
    h('legend', { i18n: 'account.token.scopes' }),
    scopeBoxes.map((cb) => h('label', { class: 'check', for: cb.id }, cb, ' ', tierLabel(cb.value))));
  const submit = h('button', { type: 'submit', class: 'primary', id: 'token-create', i18n: 'account.token.create' });
  const form = h('form', { class: 'form inline-form', novalidate: true, id: 'token-form' },
    h('h3', { i18n: 'account.token.new' }),
    field({ label: 'account.token.name', input: name }),
    scopes,
    field({ label: 'account.token.days', input: days }),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err, null, { form });
    const body = { name: name.value.trim() };
    const chosen = scopeBoxes.filter((cb) => cb.checked).map((cb) => cb.value);
    if (chosen.length) body.scopes = chosen;
    if (days.value) body.expires_in_days = Number(days.value);
    submit.disabled = true;
    try {
      const res = await api('POST', '/me/tokens', body);
      replace(shown, h('div', { class: 'notice success once', role: 'status' },
        h('h3', {}, h('span', { i18n: 'account.token.shown' }), ': ', res.name || ''),
        h('p', { i18n: 'common.once' }),
        secretBox(res.token, 'new-token', 'account.token.shown'),
        h('p', { class: 'hint' }, h('span', { i18n: 'account.token.expires' }), ': ', h('span', { time: res.expires_at }))));
      shown.hidden = false;
      name.value = '';
      await load();
    } catch (e) { showError(err, e, { form }); } finally { submit.disabled = false; }
  });

  load();
  return section('tokens', 'account.tokens', 'account.tokens.intro', err, shown, list, form);
}

// ---- MFA --------------------------------------------------------------------------------
function svgToImg(svg) {
  // The QR arrives as SVG text. It is shown through an <img> data: URL, where SVG cannot run
  // script, so markup from the server is never inserted into the page.
  const bytes = new TextEncoder().encode(svg);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return h('img', { src: `data:image/svg+xml;base64,${btoa(bin)}`, class: 'qr', id: 'mfa-qr', width: '200', height: '200', i18nAttr: { alt: 'account.mfa.qr' } });
}

function mfaSection() {
  const s = session();
  const err = errorBox('mfa-error');
  const status = h('p', { id: 'mfa-status', class: s && s.mfa ? 'status ok' : 'status warn', i18n: s && s.mfa ? 'account.mfa.on' : 'account.mfa.off' });
  const area = h('div', { id: 'mfa-area' });
  const start = h('button', { type: 'button', class: s && s.mfa ? 'secondary' : 'primary', id: 'mfa-start', i18n: s && s.mfa ? 'account.mfa.restart' : 'account.mfa.start' });

  start.addEventListener('click', async () => {
    showError(err, null);
    start.disabled = true;
    try {
      const res = await api('POST', '/me/mfa/enroll');
      showEnrol(res);
      start.hidden = true;
    } catch (e) { showError(err, e); } finally { start.disabled = false; }
  });

  function showEnrol(res) {
    const code = h('input', { id: 'mfa-code', name: 'totp', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: '6', class: 'code', required: true });
    code.addEventListener('input', () => { const d = code.value.replace(/\D/g, '').slice(0, 6); if (d !== code.value) code.value = d; });
    const confirm = h('button', { type: 'submit', class: 'primary', id: 'mfa-confirm', i18n: 'account.mfa.confirm' });
    const cancel = h('button', { type: 'button', class: 'secondary', i18n: 'common.cancel' });
    const form = h('form', { class: 'form', novalidate: true, id: 'mfa-form' },
      h('p', { i18n: 'account.mfa.step2' }),
      field({ label: 'login.totp', hint: 'login.totp.hint', input: code }),
      h('div', { class: 'actions' }, confirm, cancel));
    cancel.addEventListener('click', () => { replace(area); start.hidden = false; start.focus(); });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      showError(err, null, { form });
      if (!/^\d{6}$/.test(code.value)) { showLocalError(err, 'err.code.format'); code.focus(); return; }
      confirm.disabled = true;
      try {
        const out = await api('POST', '/me/mfa/confirm', { totp: code.value });
        showCodes(out.recovery_codes || []);
        await refreshSession();
        replace(status);
        status.className = 'status ok';
        status.dataset.i18n = 'account.mfa.on';
        translate(status);
      } catch (e) { showError(err, e, { form }); code.select(); } finally { confirm.disabled = false; }
    });
    replace(area, h('div', { class: 'mfa-enrol' },
      h('p', { i18n: 'account.mfa.step1' }),
      h('div', { class: 'mfa-grid' },
        res.qr_svg ? h('div', { class: 'qr-frame' }, svgToImg(res.qr_svg)) : null,
        h('div', {}, secretBox(groupSecret(res.secret || ''), 'mfa-secret', 'account.mfa.secret'), form))));
    code.focus();
  }

  function showCodes(codes) {
    const text = codes.join('\n');
    const copy = h('button', { type: 'button', class: 'secondary', i18n: 'account.mfa.codes.copy' });
    copy.addEventListener('click', () => copyText(text, null).then(() => { copy.dataset.i18n = 'common.copied'; translate(copy); }));
    replace(area, h('div', { class: 'notice success once', role: 'status', id: 'mfa-done' },
      h('p', { class: 'strong', i18n: 'account.mfa.done' }),
      h('h3', { i18n: 'account.mfa.codes' }),
      h('p', { i18n: 'account.mfa.codes.text' }),
      h('p', { i18n: 'common.once' }),
      h('ol', { class: 'recovery-codes', id: 'recovery-codes' }, codes.map((c) => h('li', {}, h('code', {}, c)))),
      h('div', { class: 'actions' }, copy)));
    start.hidden = false;
    start.className = 'secondary';
    start.dataset.i18n = 'account.mfa.restart';
    translate(start);
  }

  return section('mfa', 'account.mfa', null, err, status, h('div', { class: 'actions' }, start), area);
}

function groupSecret(secret) { return secret.replace(/(.{4})(?=.)/g, '$1 '); }

// ---- password ---------------------------------------------------------------------------
function passwordSection() {
  const err = errorBox('password-error');
  const ok = h('div', { id: 'password-ok' });
  const current = h('input', { id: 'pw-current', name: 'current_password', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'pw-new', name: 'new_password', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' });
  const repeat = h('input', { id: 'pw-repeat', name: 'repeat', type: 'password', autocomplete: 'new-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'pw-submit', i18n: 'account.password.submit' });
  const form = h('form', { class: 'form', novalidate: true, id: 'password-form' },
    field({ label: 'account.password.current', input: current }),
    field({ label: 'account.password.new', hint: 'account.password.hint', input: next }),
    field({ label: 'account.password.repeat', input: repeat }),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err, null, { form });
    replace(ok);
    if (next.value !== repeat.value) { showLocalError(err, 'err.mismatch'); repeat.setAttribute('aria-invalid', 'true'); repeat.focus(); return; }
    submit.disabled = true;
    try {
      await api('POST', '/me/password', { current_password: current.value, new_password: next.value });
      current.value = ''; next.value = ''; repeat.value = '';
      replace(ok, notice('success', 'account.password.done'));
    } catch (e) { showError(err, e, { form }); } finally { submit.disabled = false; }
  });
  return section('password', 'account.password', null, err, ok, form);
}

export async function render({ params }) {
  await refreshSession();
  const page = h('section', { class: 'page' },
    h('h1', { i18n: 'account.title', tabindex: '-1' }),
    mfaSection(),
    sessionsSection(),
    tokensSection(),
    passwordSection());
  if (params.section) {
    setTimeout(() => {
      const target = document.getElementById(`${params.section}-h`);
      if (target) { target.scrollIntoView({ block: 'start' }); target.focus({ preventScroll: true }); }
    }, 0);
  }
  return page;
}
