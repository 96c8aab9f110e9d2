// Administration: organisations and users.
import { h, replace, field, table, notice, secretBox, roleName, orgName } from '../dom.js';
import { api, showError, errorBox } from '../api.js';
import { has, translate } from '../i18n.js';
import { linkageSection } from './admin-linkage.js';

export const ROLES = ['admin', 'operator', 'clinician', 'hospital-data', 'sequencer', 'academic', 'industry', 'dac', 'auditor', 'participant'];
const ORG_TYPES = ['hospital', 'sequencing', 'datacenter', 'academia', 'industry'];

function option(value, key, selected) {
  return has(key) ? h('option', { value, i18n: key, selected }) : h('option', { value, selected }, value);
}

export async function render() {
  const state = { orgs: [], users: [] };
  const orgsErr = errorBox('orgs-error');
  const usersErr = errorBox('users-error');
  const orgsList = h('div', { id: 'orgs-list' }, h('p', { class: 'loading', i18n: 'app.loading' }));
  const usersList = h('div', { id: 'users-list' }, h('p', { class: 'loading', i18n: 'app.loading' }));

  // ---- organisations ----
  const orgName_ = h('input', { id: 'new-org-name', name: 'name', type: 'text', required: true, autocomplete: 'organization' });
  const orgType = h('select', { id: 'new-org-type', name: 'type', required: true }, ORG_TYPES.map((v) => option(v, `orgtype.${v}`)));
  const orgOk = h('div', { id: 'org-created' });
  const orgSubmit = h('button', { type: 'submit', class: 'primary', id: 'create-org', i18n: 'admin.org.create' });
  const orgForm = h('form', { class: 'form inline-form', novalidate: true, id: 'org-form' },
    h('h3', { i18n: 'admin.org.new' }),
    field({ label: 'admin.org.name', input: orgName_ }),
    field({ label: 'admin.org.type', input: orgType }),
    h('div', { class: 'actions' }, orgSubmit));
  orgForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(orgsErr, null, { form: orgForm });
    replace(orgOk);
    orgSubmit.disabled = true;
    try {
      const org = await api('POST', '/orgs', { name: orgName_.value.trim(), type: orgType.value });
      replace(orgOk, notice('success', 'admin.org.created', { name: (org && org.name) || orgName_.value.trim() }));
      orgName_.value = '';
      await loadOrgs();
    } catch (e) { showError(orgsErr, e, { form: orgForm }); } finally { orgSubmit.disabled = false; }
  });

  // ---- users ----
  const login = h('input', { id: 'new-user-login', name: 'login', type: 'text', required: true, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const role = h('select', { id: 'new-user-role', name: 'role', required: true },
    h('option', { value: '', i18n: 'admin.user.choose' }), ROLES.map((r) => option(r, `role.${r}`)));
  const org = h('select', { id: 'new-user-org', name: 'org', required: true }, h('option', { value: '', i18n: 'admin.user.choose' }));
  const shown = h('div', { id: 'new-user-shown', hidden: true });
  const userSubmit = h('button', { type: 'submit', class: 'primary', id: 'create-user', i18n: 'admin.user.create' });
  const userForm = h('form', { class: 'form inline-form', novalidate: true, id: 'user-form' },
    h('h3', { i18n: 'admin.user.new' }),
    field({ label: 'admin.user.login', input: login }),
    field({ label: 'admin.user.role', input: role }),
    field({ label: 'admin.user.org', input: org }),
    h('div', { class: 'actions' }, userSubmit));
  userForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(usersErr, null, { form: userForm });
    shown.hidden = true; replace(shown);
    userSubmit.disabled = true;
    try {
      const res = await api('POST', '/users', { login: login.value.trim(), role: role.value, org: org.value });
      const newLogin = (res.user && res.user.login) || login.value.trim();
      replace(shown, h('div', { class: 'notice success once', role: 'status' },
        h('h3', { i18n: 'admin.user.shown', i18nArgs: { login: newLogin } }),
        h('p', { i18n: 'admin.user.shown.text' }),
        h('p', { class: 'strong', i18n: 'common.once' }),
        secretBox(res.password || '', 'new-user-password', 'admin.user.password'),
        secretBox(res.totp_secret || '', 'new-user-totp', 'admin.user.totp')));
      shown.hidden = false;
      login.value = '';
      await loadUsers();
      shown.querySelector('input').focus();
    } catch (e) { showError(usersErr, e, { form: userForm }); } finally { userSubmit.disabled = false; }
  });

  async function loadOrgs() {
    try {
      const { orgs = [] } = await api('GET', '/orgs') || {};
      state.orgs = orgs;
      replace(orgsList, table({
        id: 'orgs-table', caption: 'admin.orgs',
        headers: ['admin.org.id', 'admin.org.name', 'admin.org.type'],
        rows: orgs.map((o) => [h('code', {}, String(o.id ?? '')), o.name || '', has(`orgtype.${o.type}`) ? h('span', { i18n: `orgtype.${o.type}` }) : (o.type || '')]),
      }));
      const keep = org.value;
      replace(org, h('option', { value: '', i18n: 'admin.user.choose' }),
        orgs.map((o) => h('option', { value: o.name, selected: o.name === keep }, o.name)));
    } catch (e) { replace(orgsList); showError(orgsErr, e); }
  }

  async function loadUsers() {
    try {
      const { users = [] } = await api('GET', '/users') || {};
      state.users = users;
      replace(usersList, table({
        id: 'users-table', caption: 'admin.users',
        headers: ['admin.user.login', 'admin.user.role', 'admin.user.org', 'admin.user.mfa', 'admin.user.status', 'admin.user.created', 'admin.user.disable'],
        rows: users.map((u) => [
          h('span', { class: 'login', dataset: { login: u.login } }, u.login),
          has(`role.${u.role}`) ? roleName(u.role) : (u.role || ''),
          orgName(u.org),
          h('span', { class: u.mfa_enrolled ? 'badge ok' : 'badge warn', i18n: u.mfa_enrolled ? 'common.yes' : 'common.no' }),
          statusBadge(u),
          h('span', { time: u.created_at }),
          u.disabled ? '' : disableButton(u),
        ]),
      }));
    } catch (e) { replace(usersList); showError(usersErr, e); }
  }

  function statusBadge(u) {
    if (u.disabled) return h('span', { class: 'badge muted', i18n: 'admin.user.disabled' });
    const locked = u.locked_until && new Date(typeof u.locked_until === 'number' && u.locked_until < 1e12 ? u.locked_until * 1000 : u.locked_until) > new Date();
    if (locked) return h('span', { class: 'badge warn' }, h('span', { i18n: 'admin.user.locked' }), ' ', h('span', { time: u.locked_until }));
    return h('span', { class: 'badge ok', i18n: 'admin.user.active' });
  }

  // Two-step: the first press arms the button, the second disables the account.
  function disableButton(u) {
    const btn = h('button', { type: 'button', class: 'danger small', i18n: 'admin.user.disable', dataset: { login: u.login } });
    let armed = false;
    btn.addEventListener('click', async () => {
      if (!armed) {
        armed = true;
        btn.dataset.i18n = 'admin.user.disable.confirm';
        btn.classList.add('armed');
        translate(btn);
        setTimeout(() => { if (armed && btn.isConnected) { armed = false; btn.dataset.i18n = 'admin.user.disable'; btn.classList.remove('armed'); translate(btn); } }, 5000);
        return;
      }
      armed = false;
      btn.disabled = true;
      showError(usersErr, null);
      try { await api('POST', `/users/${encodeURIComponent(u.login)}/disable`); await loadUsers(); } catch (e) { btn.disabled = false; showError(usersErr, e); }
    });
    return btn;
  }

  await Promise.all([loadOrgs(), loadUsers()]);

  return h('section', { class: 'page' },
    h('h1', { i18n: 'admin.title', tabindex: '-1' }),
    h('section', { class: 'card section', id: 'users', 'aria-labelledby': 'users-h' },
      h('h2', { id: 'users-h', i18n: 'admin.users' }),
      usersErr, shown, usersList, userForm),
    h('section', { class: 'card section', id: 'orgs', 'aria-labelledby': 'orgs-h' },
      h('h2', { id: 'orgs-h', i18n: 'admin.orgs' }),
      orgsErr, orgOk, orgsList, orgForm),
    linkageSection());
}
