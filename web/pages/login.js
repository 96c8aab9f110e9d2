// Sign-in: login + password + one-time code (or a recovery code).
import { h, field } from '../dom.js';
import { api, showError, errorBox } from '../api.js';
import { signedIn } from '../app.js';
import { translate } from '../i18n.js';

export async function render() {
  const login = h('input', { id: 'login', name: 'login', type: 'text', autocomplete: 'username', required: true, dataset: { autofocus: '' }, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const totp = h('input', {
    id: 'totp', name: 'totp', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
    pattern: '[0-9]{6}', maxlength: '6', class: 'code', spellcheck: 'false',
  });
  const recovery = h('input', { id: 'recovery', name: 'recovery_code', type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', class: 'code' });
  const totpField = field({ label: 'login.totp', hint: 'login.totp.hint', input: totp });
  const recoveryField = field({ label: 'login.recovery', hint: 'login.recovery.hint', input: recovery });
  recoveryField.hidden = true;

  let useRecovery = false;
  const toggle = h('button', { type: 'button', class: 'link-button', id: 'use-recovery', i18n: 'login.use.recovery', 'aria-expanded': 'false', 'aria-controls': recoveryField.querySelector('input').id });
  toggle.addEventListener('click', () => {
    useRecovery = !useRecovery;
    totpField.hidden = useRecovery;
    recoveryField.hidden = !useRecovery;
    toggle.dataset.i18n = useRecovery ? 'login.use.totp' : 'login.use.recovery';
    toggle.textContent = '';
    toggle.setAttribute('aria-expanded', String(useRecovery));
    translate(toggle);
    (useRecovery ? recovery : totp).focus();
  });

  const error = errorBox('error');
  const submit = h('button', { type: 'submit', id: 'signin', class: 'primary wide', i18n: 'login.submit' });

  // Keep the code field digits-only as the user types or pastes ("123 456" → "123456").
  totp.addEventListener('input', () => {
    const digits = totp.value.replace(/\D/g, '').slice(0, 6);
    if (digits !== totp.value) totp.value = digits;
  });

  const form = h('form', { class: 'form', novalidate: true, id: 'login-form' },
    error,
    field({ label: 'login.login', input: login }),
    field({ label: 'login.password', input: password }),
    totpField,
    recoveryField,
    h('p', { class: 'form-aside' }, toggle),
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(error, null, { form });
    const body = { login: login.value.trim(), password: password.value };
    if (useRecovery) { if (recovery.value.trim()) body.recovery_code = recovery.value.trim(); } else if (totp.value) body.totp = totp.value;
    submit.disabled = true;
    submit.dataset.i18n = 'login.busy';
    submit.textContent = '';
    translate(form);
    try {
      const res = await api('POST', '/auth/login', body, { quiet401: true });
      password.value = ''; totp.value = ''; recovery.value = '';
      await signedIn(res);
    } catch (e) {
      showError(error, e, { context: 'login', form });
      if (e.type === 'mfa-required') (useRecovery ? recovery : totp).focus();
      else if (e.type === 'invalid-credentials') { totp.value = ''; }
    } finally {
      submit.disabled = false;
      submit.dataset.i18n = 'login.submit';
      translate(form);
    }
  });

  const page = h('section', { class: 'page login-page' },
    h('div', { class: 'card login-card' },
      h('h1', { i18n: 'login.title', tabindex: '-1' }),
      h('p', { class: 'lead', i18n: 'login.intro' }),
      form,
      h('p', { class: 'notice-small', i18n: 'login.notice' })));
  return page;
}
