// A case's genome: somatic variants (protein-altering first), structural variants, copy-number
// calls and the registered files. Detailed-genome tier; the view is audited.
import { h, replace, table } from '../dom.js';
import { api, showError, errorBox } from '../api.js';
import { fmtNumber } from '../i18n.js';
import { follow } from '../jobs.js';

const num = (v) => (v === null || v === undefined ? '' : fmtNumber(v));

// A registered VCF/BCF's calls are imported by a background job, followed in the row.
function importCell(f, err, reload) {
  if (f.format !== 'vcf' && f.format !== 'bcf') return '';
  const kind = h('select', { class: 'gen-import-kind', dataset: { file: f.id }, 'aria-label': f.id },
    ...['somatic', 'germline', 'sv', 'cnv'].map((k) => h('option', { value: k, selected: k === f.data_kind, i18n: `gen.kind.${k}` })));
  const state = h('span', { class: 'gen-import-job', dataset: { file: f.id } });
  const btn = h('button', {
    type: 'button', class: 'gen-import-btn', dataset: { file: f.id }, i18n: 'gen.import.start',
    on: {
      click: async () => {
        btn.disabled = true;
        try {
          const job = await api('POST', `/genome/files/${encodeURIComponent(f.id)}/import`, { kind: kind.value });
          const done = await follow(job, state);
          if (done.state === 'succeeded' && !done.result?.already) await reload();
        } catch (e) { showError(err, e); } finally { btn.disabled = false; }
      },
    },
  });
  return h('span', { class: 'nowrap' }, kind, ' ', btn, ' ', state);
}

export async function render({ params }) {
  const id = params.id;
  const err = errorBox('genome-case-error');
  const body = h('div', { id: 'gen-case' }, h('p', { class: 'loading', i18n: 'app.loading' }));
  const page = h('section', { class: 'page' },
    h('h1', { i18n: 'gen.case.title', i18nArgs: { id }, tabindex: '-1' }), err, body);
  const show = async () => {
    const c = await api('GET', `/genome/cases/${encodeURIComponent(id)}`);
    replace(body,
      h('p', { id: 'gen-case-summary', i18n: 'gen.case.summary', i18nArgs: { ct: c.cancer_type, tmb: c.tmb.toFixed(2), n: c.n_somatic } }),
      h('h2', { i18n: 'gen.somatic' }),
      c.somatic.length ? table({
        id: 'gen-somatic', caption: 'gen.somatic',
        headers: ['gen.gene', 'gen.protein', 'gen.consequence', 'gen.position', 'gen.change', 'gen.vaf', 'gen.depth', 'gen.filter'],
        rows: c.somatic.map((v) => [v.gene ? h('strong', {}, v.gene) : '', h('code', {}, v.hgvsp || ''), v.consequence,
          h('code', { class: 'nowrap' }, `${v.chrom}:${v.pos}`), h('code', {}, `${v.ref}>${v.alt}`),
          v.vaf === null ? '' : v.vaf.toFixed(2), num(v.depth), v.filter]),
      }) : h('p', { class: 'empty', i18n: 'gen.none' }),
      h('h2', { i18n: 'gen.sv' }),
      c.sv.length ? table({
        id: 'gen-sv', caption: 'gen.sv',
        headers: ['gen.call', 'gen.position', 'gen.position', 'gen.genes.col'],
        rows: c.sv.map((v) => [v.svtype, h('code', {}, `${v.chrom}:${v.pos}`), h('code', {}, `${v.chrom2}:${v.pos2}`), v.genes.replace(',', ' – ')]),
      }) : h('p', { class: 'empty', i18n: 'gen.none' }),
      h('h2', { i18n: 'gen.cnv' }),
      c.cnv.length ? table({
        id: 'gen-cnv', caption: 'gen.cnv',
        headers: ['gen.call', 'gen.position', 'gen.genes.col'],
        rows: c.cnv.map((v) => [v.call, h('code', {}, `${v.chrom}:${v.start}-${v.end}`), v.genes.split(',').slice(0, 20).join(', ')]),
      }) : h('p', { class: 'empty', i18n: 'gen.none' }),
      h('h2', { i18n: 'gen.files' }),
      c.files.length ? table({
        id: 'gen-files', caption: 'gen.files',
        headers: ['gen.format', 'gen.reference', 'gen.size', 'gen.pipeline', 'gen.view'],
        rows: c.files.map((f) => [h('code', {}, `${f.id} ${f.format}`), f.reference, num(f.size),
          `${f.pipeline.name} ${f.pipeline.version}`,
          (f.format === 'bam' || f.format === 'cram') && f.has_reference !== false
            ? h('a', { href: `#/genome/files/${encodeURIComponent(f.id)}/igv`, class: 'igv-link', i18n: 'gen.igv.link' })
            : importCell(f, err, show)]),
      }) : h('p', { class: 'empty', i18n: 'gen.none' }));
  };
  try { await show(); } catch (e) { replace(body); showError(err, e); }
  return page;
}
