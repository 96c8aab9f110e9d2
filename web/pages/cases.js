// Cases: list and register cases; case detail with specimens.
import { h, replace, field, table, notice, orgName } from '../dom.js';
import { api, showError, errorBox, onSubmit } from '../api.js';
import { has } from '../i18n.js';
import { canUse, session } from '../app.js';

// The specimen types the server accepts (src/ids/registry.c).
const SPECIMEN_TYPES = ['tumour-tissue', 'tumour-ffpe', 'normal-blood', 'normal-tissue', 'plasma', 'other'];

function caseLink(id) { return h('a', { href: `#/cases/${encodeURIComponent(id)}` }, h('code', {}, String(id))); }

async function listPage() {
  const err = errorBox('cases-error');
  const list = h('div', { id: 'cases-list' }, h('p', { class: 'loading', i18n: 'app.loading' }));
  const ok = h('div', { id: 'case-created' });

  async function load() {
    try {
      const { cases = [] } = await api('GET', '/cases') || {};
      replace(list, table({
        id: 'cases-table', caption: 'cases.title',
        headers: ['cases.id', 'cases.participant', 'cases.org', 'cases.created'],
        rows: cases.map((c) => [caseLink(c.id), h('code', {}, c.participant_id || ''), orgName(c.org), h('span', { time: c.created_at })]),
      }));
    } catch (e) { replace(list); showError(err, e); }
  }

  const s = session();
  const isHospital = ['clinician', 'hospital-data'].includes(s && s.user && s.user.role);
  const local = h('input', { id: 'case-local-id', name: 'local_patient_id', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const participant = h('input', { id: 'case-participant', name: 'participant_id', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const org = h('input', { id: 'case-org', name: 'org', type: 'text', autocomplete: 'off' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'case-create', i18n: 'cases.create' });
  const form = h('form', { class: 'form inline-form', novalidate: true, id: 'case-form' },
    h('h2', { i18n: 'cases.new' }),
    canUse('identifiable') ? field({ label: 'cases.local', hint: 'cases.local.hint', input: local, optional: true }) : null,
    field({ label: 'cases.participant', input: participant, optional: true }),
    isHospital ? null : field({ label: 'cases.org', input: org, optional: true }),
    h('div', { class: 'actions' }, submit));
  onSubmit(form, { submit, err, ok }, async () => {
    const body = {};
    if (local.value.trim()) {
      const link = await api('POST', '/linkage', { local_patient_id: local.value.trim() });
      body.participant_id = link.participant_id;
    } else if (participant.value.trim()) body.participant_id = participant.value.trim();
    if (!isHospital && org.value.trim()) body.org = org.value.trim();
    const c = await api('POST', '/cases', body);
    local.value = ''; participant.value = '';
    replace(ok, h('div', { class: 'notice success', role: 'status' },
      h('span', { i18n: 'cases.created.msg', i18nArgs: { id: c.id } }), ' ', caseLink(c.id)));
    await load();
  });

  await load();
  return h('section', { class: 'page' },
    h('h1', { i18n: 'cases.title', tabindex: '-1' }),
    h('p', { class: 'lead', i18n: 'cases.intro' }),
    err, ok,
    h('div', { class: 'two-col' },
      h('section', { class: 'card section' }, list),
      h('section', { class: 'card section' }, form)));
}

async function detailPage(id) {
  const err = errorBox('case-error');
  const head = h('dl', { class: 'profile-grid', id: 'case-summary' });
  const specimens = h('div', { id: 'specimens-list' });
  const ok = h('div', { id: 'specimen-added' });

  async function load() {
    const c = await api('GET', `/cases/${encodeURIComponent(id)}`) || {};
    replace(head,
      h('div', {}, h('dt', { i18n: 'cases.id' }), h('dd', {}, h('code', {}, String(c.id ?? id)))),
      h('div', {}, h('dt', { i18n: 'cases.participant' }), h('dd', {}, h('code', {}, c.participant_id || ''))),
      h('div', {}, h('dt', { i18n: 'cases.org' }), h('dd', {}, orgName(c.org))),
      h('div', {}, h('dt', { i18n: 'cases.created' }), h('dd', { time: c.created_at })));
    replace(specimens, table({
      id: 'specimens-table', caption: 'cases.specimens',
      headers: ['specimen.id', 'specimen.type', 'specimen.created'],
      rows: (c.specimens || []).map((sp) => [h('code', {}, String(sp.id)), typeLabel(sp.type), h('span', { time: sp.created_at })]),
    }));
  }

  const type = h('select', { id: 'specimen-type', name: 'type', required: true },
    h('option', { value: '', i18n: 'specimen.type.choose' }),
    SPECIMEN_TYPES.map((v) => h('option', { value: v, i18n: `specimen.type.${v}` })));
  const submit = h('button', { type: 'submit', class: 'primary', id: 'specimen-submit', i18n: 'specimen.add' });
  const form = h('form', { class: 'form inline-form', novalidate: true, id: 'specimen-form' },
    h('h3', { i18n: 'specimen.new' }),
    field({ label: 'specimen.type', input: type }),
    h('div', { class: 'actions' }, submit));
  onSubmit(form, { submit, err, ok }, async () => {
    const sp = await api('POST', `/cases/${encodeURIComponent(id)}/specimens`, { type: type.value });
    type.value = '';
    replace(ok, notice('success', 'specimen.added', { id: sp.id }));
    await load();
  });

  await load();
  return h('section', { class: 'page' },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/cases', i18n: 'cases.back' })),
    h('h1', { i18n: 'cases.detail', i18nArgs: { id }, tabindex: '-1' }),
    err,
    h('section', { class: 'card section' }, head),
    h('section', { class: 'card section', 'aria-labelledby': 'specimens-h' },
      h('h2', { id: 'specimens-h', i18n: 'cases.specimens' }),
      ok, specimens, form));
}

function typeLabel(v) { return has(`specimen.type.${v}`) ? h('span', { i18n: `specimen.type.${v}` }) : (v || ''); }

export async function render({ params }) {
  return params.id ? detailPage(params.id) : listPage();
}
