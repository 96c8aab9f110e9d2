// Clinical data, hospital view: completeness per hospital, recent validation failures, case
// search and counts by cancer type (each read goes through the policy and the audit log).
import { h, replace, table, field } from '../dom.js';
import { api, showError, errorBox } from '../api.js';
import { canUse } from '../app.js';

function caseLink(id) {
  return h('a', { href: `#/clinical/cases/${encodeURIComponent(id)}` }, h('code', {}, String(id)));
}

function pct(n, d) { return d ? `${Math.round((100 * n) / d)}%` : '–'; }

async function completeness(box, err) {
  try {
    const { orgs = [] } = await api('GET', '/clinical/completeness') || {};
    replace(box, table({
      id: 'clin-completeness', caption: 'clin.completeness',
      headers: ['clin.org', 'clin.cases', 'clin.with_record', 'clin.complete', 'clin.most_missing'],
      rows: orgs.map((o) => {
        const worst = Object.entries(o.missing_by_item || {}).sort((a, b) => b[1] - a[1]).slice(0, 3);
        return [o.org.name, h('span', { number: o.cases }), h('span', { number: o.with_record }),
          `${o.complete} (${pct(o.complete, o.with_record)})`,
          h('span', {}, worst.map(([k, n]) => h('code', { class: 'nowrap' }, `${k} ×${n} `)))];
      }),
    }));
  } catch (e) { showError(err, e); }
}

async function rejections(box, err) {
  try {
    const { rejections: list = [] } = await api('GET', '/clinical/rejections', undefined, { query: { limit: 20 } }) || {};
    replace(box, list.length
      ? table({
        id: 'clin-rejections', caption: 'clin.rejections',
        headers: ['clin.when', 'clin.case', 'clin.source', 'clin.message', 'clin.errors'],
        rows: list.map((r) => [h('span', { class: 'nowrap', time: r.created_at }),
          r.case_id ? caseLink(r.case_id) : '', r.source_system || '', r.source_message_id || '',
          h('ul', { class: 'plain' }, r.errors.slice(0, 5).map((e) => h('li', {}, h('code', {}, e.pointer || '/'), ` ${e.reason}`)))]),
      })
      : h('p', { class: 'empty', id: 'clin-rejections', i18n: 'clin.rejections.none' }));
  } catch (e) { showError(err, e); }
}

function select(id, name, values, labels = {}) {
  return h('select', { id, name },
    h('option', { value: '', i18n: 'clin.any' }),
    values.map((v) => (labels[v] ? h('option', { value: v, i18n: labels[v] }) : h('option', { value: v }, v))));
}

function searchForm(results, err) {
  const onc = h('input', { id: 'clin-q-oncotree', name: 'oncotree', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const drug = h('input', { id: 'clin-q-drug', name: 'drug', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const stage = select('clin-q-stage', 'stage', ['0', 'I', 'II', 'III', 'IV', 'IA', 'IB', 'IIA', 'IIB', 'IIIA', 'IIIB', 'IIIC', 'IVA', 'IVB']);
  const resp = select('clin-q-response', 'response', ['CR', 'PR', 'SD', 'PD', 'NE']);
  const vital = select('clin-q-vital', 'vital_status', ['alive', 'dead', 'unknown'],
    { alive: 'clin.vital.alive', dead: 'clin.vital.dead', unknown: 'clin.vital.unknown' });
  const go = h('button', { type: 'submit', class: 'primary', id: 'clin-search-go', i18n: 'clin.search.go' });
  const form = h('form', { class: 'form inline-form', id: 'clin-search', novalidate: true },
    field({ label: 'clin.oncotree', input: onc, optional: true }),
    field({ label: 'clin.stage', input: stage, optional: true }),
    field({ label: 'clin.drug', input: drug, optional: true }),
    field({ label: 'clin.response', input: resp, optional: true }),
    field({ label: 'clin.vital', input: vital, optional: true }),
    h('div', { class: 'actions' }, go));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err, null, { form });
    go.disabled = true;
    try {
      const query = { oncotree: onc.value.trim().toUpperCase(), stage: stage.value, drug: drug.value.trim().toLowerCase(),
        response: resp.value, vital_status: vital.value, limit: 200 };
      const { cases = [] } = await api('GET', '/clinical/search', undefined, { query }) || {};
      replace(results, table({
        id: 'clin-results', caption: 'clin.search',
        headers: ['clin.case', 'clin.org', 'clin.cancer', 'clin.stage', 'clin.drugs', 'clin.responses', 'clin.vital', 'clin.complete'],
        rows: cases.map((c) => [caseLink(c.case_id), c.org, c.oncotree ? `${c.oncotree} ${c.cancer_type || ''}` : '',
          c.stage || '', c.drugs.join(', '), c.responses.join(', '),
          c.vital_status ? h('span', { i18n: `clin.vital.${c.vital_status}` }) : '',
          h('span', { i18n: c.complete ? 'clin.yes' : 'clin.no' })]),
      }));
    } catch (e) { showError(err, e, { form }); } finally { go.disabled = false; }
  });
  return form;
}

async function counts(box, err) {
  try {
    const res = await api('GET', '/clinical/counts', undefined, { query: { by: 'oncotree' } }) || {};
    replace(box, table({
      id: 'clin-counts', caption: 'clin.counts', headers: ['clin.cancer', 'clin.count'],
      rows: (res.counts || []).map((c) => [`${c.value} ${c.label || ''}`, typeof c.n === 'number' ? h('span', { number: c.n }) : c.n]),
    }));
  } catch (e) { showError(err, e); }
}

export async function render() {
  const err = errorBox('clin-error');
  const comp = h('div', { id: 'clin-completeness-box' }, h('p', { class: 'loading', i18n: 'app.loading' }));
  const rej = h('div', { id: 'clin-rejections-box' });
  const results = h('div', { id: 'clin-results-box', 'aria-live': 'polite' });
  const cnt = h('div', { id: 'clin-counts-box' });
  await Promise.all([completeness(comp, err), rejections(rej, err), canUse('aggregate') ? counts(cnt, err) : null]);
  return h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { i18n: 'clin.title', tabindex: '-1' })),
    h('p', { class: 'lead', i18n: 'clin.intro' }), err,
    h('section', { class: 'card section' }, h('h2', { i18n: 'clin.completeness' }), comp),
    h('section', { class: 'card section' }, h('h2', { i18n: 'clin.rejections' }), rej),
    h('section', { class: 'card section' }, h('h2', { i18n: 'clin.search' }), searchForm(results, err), results),
    canUse('aggregate') ? h('section', { class: 'card section' }, h('h2', { i18n: 'clin.counts' }), cnt) : null);
}
