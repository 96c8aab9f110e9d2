// Sequencing QC page: the gates in force, and for one case each gate's pass/fail/pending with
// the reason, coverage measured from its files (per contig) and the tumour/normal identity.
import { h, replace, table } from '../dom.js';
import { api, showError, errorBox } from '../api.js';
import { follow } from '../jobs.js';

const status = (s) => h('span', { class: `badge qc-${s}`, dataset: { status: s }, i18n: `qc.status.${s}` });
const num = (v) => (typeof v === 'number' ? String(Math.round(v * 100) / 100) : '');

function gatesTable(view) {
  return table({
    id: 'qc-gates-table', caption: 'qc.gates',
    headers: ['qc.gate', 'qc.sample', 'qc.status', 'qc.why', 'qc.value', 'qc.threshold'],
    rows: view.gates.map((g) => [h('span', { i18n: `qc.gate.${g.gate}` }), g.sample, status(g.status), g.why,
      num(g.value), num(g.threshold)]),
  });
}

function coverage(view) {
  if (!view.coverage.length) return h('p', { class: 'empty', id: 'qc-coverage-none', i18n: 'qc.coverage.none' });
  return h('div', {},
    table({
      id: 'qc-coverage', caption: 'qc.coverage',
      headers: ['qc.file', 'qc.role', 'qc.mean', 'qc.pct10', 'qc.pct30', 'qc.mapped'],
      rows: view.coverage.map((c) => [h('code', {}, c.file_id || ''), c.role || '', num(c.mean_autosome_coverage),
        num(c.pct_autosomes_10x), num(c.pct_autosomes_30x), num(c.pct_reads_mapped)]),
    }),
    ...view.coverage.map((c) => h('details', { class: 'qc-contigs' },
      h('summary', {}, c.file_id || ''),
      table({
        caption: 'qc.contig', headers: ['qc.contig', 'qc.mean', 'qc.pct10', 'qc.pct30'],
        rows: (c.contigs || []).slice(0, 100).map((k) => [k.name, num(k.mean_depth), num(k.pct_10x), num(k.pct_30x)]),
      }))));
}

// Measuring coverage reads a whole BAM/CRAM: it runs as a background job, followed here.
function measureSection(files, rerender) {
  const reads = files.filter((f) => f.format === 'bam' || f.format === 'cram');
  if (!reads.length) return h('p', { class: 'empty', id: 'qc-measure-none', i18n: 'qc.measure.none' });
  const err = errorBox('qc-measure-error');
  return h('div', { id: 'qc-measure' }, err, table({
    id: 'qc-measure-table', caption: 'qc.measure',
    headers: ['qc.file', 'qc.role', 'qc.measure.action'],
    rows: reads.map((f) => {
      const role = h('select', { class: 'qc-role', dataset: { file: f.id }, 'aria-label': f.id },
        ...['tumour', 'normal', 'rna'].map((r) => h('option', { value: r, i18n: `qc.role.${r}` })));
      const state = h('span', { class: 'qc-job', dataset: { file: f.id } });
      const btn = h('button', {
        type: 'button', class: 'qc-measure-btn', dataset: { file: f.id }, i18n: 'qc.measure.start',
        on: {
          click: async () => {
            btn.disabled = true;
            try {
              const job = await api('POST', `/qc/files/${encodeURIComponent(f.id)}/coverage`, { role: role.value });
              const done = await follow(job, state);
              if (done.state === 'succeeded') rerender();
            } catch (e) { showError(err, e); } finally { btn.disabled = false; }
          },
        },
      });
      return [h('code', {}, `${f.id} ${f.format}`), role, h('span', {}, btn, ' ', state)];
    }),
  }));
}

export async function render({ params, navigate }) {
  const id = params?.id;
  const err = errorBox('qc-error');
  const body = h('div', { id: 'qc-body' });
  const input = h('input', { id: 'qc-case-id', name: 'case', value: id || '', autocomplete: 'off', required: true });
  const form = h('form', { class: 'inline-form', id: 'qc-form' },
    h('label', { for: 'qc-case-id', i18n: 'qc.case' }), input,
    h('button', { type: 'submit', class: 'primary', i18n: 'qc.open' }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    if (!v) return;
    if (navigate) navigate(`/qc/cases/${encodeURIComponent(v)}`);
    else window.location.hash = `#/qc/cases/${encodeURIComponent(v)}`;
  });
  try {
    if (id) {
      let files = [];
      try { files = (await api('GET', `/genome/cases/${encodeURIComponent(id)}/files`))?.files || []; } catch { files = []; }
      const show = async () => {
        const view = await api('GET', `/qc/cases/${encodeURIComponent(id)}`);
        replace(body,
          h('section', { class: 'card section' },
            h('h2', {}, h('span', { i18n: 'qc.overall' }), ' ', status(view.overall)), gatesTable(view)),
          h('section', { class: 'card section' }, h('h2', { i18n: 'qc.coverage' }), coverage(view)),
          h('section', { class: 'card section' }, h('h2', { i18n: 'qc.measure' }),
            h('p', { class: 'hint', i18n: 'qc.measure.intro' }), measureSection(files, () => show().catch((e) => showError(err, e)))),
          h('section', { class: 'card section' }, h('h2', { i18n: 'qc.identity' }),
            view.identity
              ? h('p', { id: 'qc-identity' }, status(view.identity.verdict === 'match' ? 'pass' : view.identity.verdict === 'mismatch' ? 'fail' : 'pending'),
                ' ', view.identity.reason)
              : h('p', { class: 'empty', i18n: 'qc.identity.none' })));
      };
      await show();
    } else {
      const g = await api('GET', '/qc/gates');
      replace(body, h('section', { class: 'card section' }, h('h2', { i18n: 'qc.gates' }),
        table({
          id: 'qc-gate-config', caption: 'qc.gates', headers: ['qc.gate', 'qc.threshold'],
          rows: Object.entries(g).map(([k, v]) => [h('span', { i18n: `qc.gate.${k}` }), num(v)]),
        })));
    }
  } catch (e) {
    showError(err, e);
  }
  return h('section', { class: 'page' },
    h('div', { class: 'page-head' }, id
      ? h('h1', { i18n: 'qc.case.title', i18nArgs: { id }, tabindex: '-1' })
      : h('h1', { i18n: 'qc.title', tabindex: '-1' })),
    h('p', { class: 'lead', i18n: 'qc.intro' }), form, err, body);
}
