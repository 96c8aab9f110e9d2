// The linkage store's key shares (M18), on the administration page: whether the keys are split
// and sealed, how many of the k shares this server holds, and a field where each key holder
// pastes their share line. Shares go to the server only (never stored in the browser).
import { h, replace, field, notice } from '../dom.js';
import { api, showError, errorBox, onSubmit } from '../api.js';

export function linkageSection() {
  const err = errorBox('linkage-error');
  const state = h('div', { id: 'linkage-state' }, h('p', { class: 'loading', i18n: 'app.loading' }));
  const ok = h('div', { id: 'linkage-ok' });
  const share = h('textarea', { id: 'linkage-share', name: 'share', rows: 3, autocomplete: 'off', spellcheck: 'false', required: true });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'linkage-submit', i18n: 'admin.linkage.submit' });
  const form = h('form', { class: 'form', novalidate: true, id: 'linkage-form' },
    field({ label: 'admin.linkage.share', hint: 'admin.linkage.share.hint', input: share }),
    h('div', { class: 'actions' }, submit));

  const show = (s) => {
    form.hidden = !s.sealed;
    replace(state, s.sealed
      ? h('p', { id: 'linkage-sealed', class: 'badge-line' },
        h('span', { class: 'badge danger', i18n: 'admin.linkage.sealed' }), ' ',
        h('span', { i18n: 'admin.linkage.progress', i18nArgs: { received: s.received, threshold: s.threshold, shares: s.shares } }))
      : h('p', { id: 'linkage-open', class: 'badge-line' },
        h('span', { class: 'badge ok', i18n: 'admin.linkage.open' }), ' ',
        h('span', { i18n: s.threshold ? 'admin.linkage.open.split' : 'admin.linkage.open.disk', i18nArgs: { threshold: s.threshold, shares: s.shares } })));
  };
  const load = async () => {
    try { show(await api('GET', '/admin/linkage')); } catch (e) { replace(state); showError(err, e); }
  };
  onSubmit(form, { submit, err, ok }, async () => {
    const s = await api('POST', '/admin/linkage/unseal', { share: share.value.trim() });
    share.value = '';
    replace(ok, notice('success', s.sealed ? 'admin.linkage.counted' : 'admin.linkage.unsealed',
      { received: s.received, threshold: s.threshold }));
    show(s);
  });
  load();
  return h('section', { class: 'card section', id: 'linkage', 'aria-labelledby': 'linkage-h' },
    h('h2', { id: 'linkage-h', i18n: 'admin.linkage' }),
    h('p', { class: 'hint', i18n: 'admin.linkage.intro' }), err, state, ok, form);
}
