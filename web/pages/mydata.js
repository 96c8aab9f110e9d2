// Participant page: the audit events that touched the participant's own records.
import { h, replace, table, roleName } from '../dom.js';
import { api, showError, errorBox } from '../api.js';

export async function render() {
  const err = errorBox('mydata-error');
  const list = h('div', { id: 'mydata-list', 'aria-live': 'polite' });
  const rows = [];
  let after;
  const more = h('button', { type: 'button', class: 'secondary small', id: 'mydata-more', i18n: 'mydata.more' });

  async function load() {
    showError(err, null);
    try {
      const res = await api('GET', '/me/data-access', undefined, { query: { after, limit: 100 } }) || {};
      for (const e of res.events || []) {
        rows.push([
          h('span', { class: 'nowrap', time: e.ts }),
          e.org || '',
          e.role ? roleName(e.role) : '',
          h('code', {}, e.action || ''),
          e.outcome || '',
        ]);
      }
      after = res.next_after ?? undefined;
      more.hidden = after === undefined;
      replace(list, rows.length
        ? table({ id: 'mydata-table', caption: 'mydata.title',
          headers: ['mydata.when', 'mydata.org', 'mydata.role', 'mydata.action', 'mydata.outcome'], rows })
        : h('p', { class: 'empty', i18n: 'mydata.empty' }));
    } catch (e) { showError(err, e); }
  }
  more.addEventListener('click', load);
  await load();
  return h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { i18n: 'mydata.title', tabindex: '-1' })),
    h('p', { class: 'lead', i18n: 'mydata.intro' }),
    err, h('section', { class: 'card section' }, list, more));
}
