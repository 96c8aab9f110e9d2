// My background jobs: what I submitted (variant imports, coverage QC), newest first, with state,
// progress, result and the reason of a failure. Refreshes while any job is still running.
import { h, replace, table } from '../dom.js';
import { api, showError, errorBox } from '../api.js';
import { fmtNumber } from '../i18n.js';
import { jobLine, finished } from '../jobs.js';

function resultText(j) {
  const r = j.result;
  if (!r) return '';
  if (j.kind === 'genome.import')
    return h('span', { i18n: r.already ? 'job.result.import.already' : 'job.result.import', i18nArgs: { stored: fmtNumber(r.stored), records: fmtNumber(r.records), case: r.case_id } });
  if (j.kind === 'qc.coverage')
    return h('span', { i18n: 'job.result.coverage', i18nArgs: { mean: String(Math.round((r.mean_autosome_coverage ?? 0) * 100) / 100), file: r.file_id } });
  return '';
}

export async function render() {
  const err = errorBox('jobs-error');
  const body = h('div', { id: 'jobs-body' }, h('p', { class: 'loading', i18n: 'app.loading' }));
  const page = h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { i18n: 'jobs.title', tabindex: '-1' })),
    h('p', { class: 'lead', i18n: 'jobs.intro' }), err, body);
  const load = async () => {
    const { jobs = [] } = await api('GET', '/jobs', undefined, { query: { limit: 100 } }) || {};
    replace(body, jobs.length ? table({
      id: 'jobs-table', caption: 'jobs.title',
      headers: ['jobs.kind', 'jobs.state', 'jobs.created', 'jobs.result'],
      rows: jobs.map((j) => [h('span', { i18n: `job.kind.${j.kind}` }), jobLine(j), h('span', { time: j.created_at }), resultText(j)]),
    }) : h('p', { class: 'empty', id: 'jobs-none', i18n: 'jobs.none' }));
    return jobs.some((j) => !finished(j));
  };
  try {
    if (await load()) {
      const tick = async () => {
        if (!page.isConnected) return;
        try { if (await load()) setTimeout(tick, 1500); } catch (e) { showError(err, e); }
      };
      setTimeout(tick, 1500);
    }
  } catch (e) { replace(body); showError(err, e); }
  return page;
}
