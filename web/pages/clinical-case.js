// Clinical case view for the expert panel: summary, completeness, the timeline of the case's
// clinical course and the version history (who sent what, when, from which system).
import { h, replace, table } from '../dom.js';
import { api, showError, errorBox } from '../api.js';

function summary(rec) {
  const dx = rec.diagnosis || {};
  const rows = [
    ['clin.cancer', [dx.oncotree, dx.icd10, dx.icdo3_morphology, dx.histology_text].filter(Boolean).join(' · ')],
    ['clin.stage', dx.tnm ? `${dx.tnm.stage} (${[dx.tnm.t, dx.tnm.n, dx.tnm.m].filter(Boolean).join(' ')}, UICC 8)` : ''],
    ['clin.diagnosed', dx.date || ''],
    ['clin.ps', dx.performance_status ? `${dx.performance_status.scale} ${dx.performance_status.value}` : ''],
    ['clin.sex', rec.patient?.sex || ''],
    ['clin.vital', rec.course?.vital_status ? h('span', { i18n: `clin.vital.${rec.course.vital_status}` }) : ''],
    ['clin.followup', rec.course?.last_followup_date || ''],
  ];
  return h('dl', { class: 'kv', id: 'clin-summary' }, rows.flatMap(([k, v]) => [h('dt', { i18n: k }), h('dd', {}, v)]));
}

export async function render({ params }) {
  const id = params.id;
  const err = errorBox('clin-case-error');
  const body = h('div', { id: 'clin-case-body' });
  try {
    const stored = await api('GET', `/cases/${encodeURIComponent(id)}/clinical`);
    const [tl, hist] = await Promise.all([
      api('GET', `/cases/${encodeURIComponent(id)}/clinical/timeline`),
      api('GET', `/cases/${encodeURIComponent(id)}/clinical/history`),
    ]);
    const missing = stored.completeness?.missing || [];
    replace(body,
      h('section', { class: 'card section' }, h('h2', { i18n: 'clin.summary' }), summary(stored.record),
        missing.length
          ? h('div', { class: 'notice warning', id: 'clin-missing' }, h('span', { i18n: 'clin.missing' }), ' ',
            missing.map((m) => h('code', {}, `${m} `)))
          : h('p', { class: 'notice success', id: 'clin-missing', i18n: 'clin.missing.none' })),
      h('section', { class: 'card section' }, h('h2', { i18n: 'clin.timeline' }),
        table({
          id: 'clin-timeline', caption: 'clin.timeline', headers: ['clin.date', 'clin.event', 'clin.detail'],
          rows: (tl.events || []).map((e) => [h('span', { class: 'nowrap' }, e.date), h('span', { i18n: `clin.kind.${e.kind}` }), e.summary]),
        })),
      h('section', { class: 'card section' }, h('h2', { i18n: 'clin.history' }),
        table({
          id: 'clin-history', caption: 'clin.history', headers: ['clin.version', 'clin.when', 'clin.by', 'clin.source', 'clin.message'],
          rows: (hist.versions || []).map((v) => [String(v.version), h('span', { class: 'nowrap', time: v.created_at }), v.login,
            v.source_system, v.source_message_id || '']),
        })));
  } catch (e) {
    if (e.status === 404) replace(body, h('p', { class: 'empty', id: 'clin-norecord', i18n: 'clin.norecord' }));
    else showError(err, e);
  }
  return h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { i18n: 'clin.case.title', i18nArgs: { id }, tabindex: '-1' })),
    h('p', { class: 'lead', i18n: 'clin.case.intro' }), err, body);
}
