// Genome: cohort overview per cancer type, gene query with a bar chart by cancer type, an
// OncoPrint and pairwise co-occurrence. Aggregate tier. The OncoPrint is drawn by cBioPortal's
// oncoprintjs when its vendor bundle is installed and WebGL works (genome-oncoprint.js), else
// as SVG by this page.
import { h, replace, table, field } from '../dom.js';
import { api, showError, errorBox } from '../api.js';
import { t, fmtNumber } from '../i18n.js';
import { CLASSES, COLOURS, drawOncoprintjs } from './genome-oncoprint.js';

const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

const dash = (v) => (v === null || v === undefined ? '—' : fmtNumber(v));
const pctText = (v) => (v === null || v === undefined ? '—' : `${v.toFixed(1)}%`);

async function overview(box, err) {
  try {
    const o = await api('GET', '/genome/overview');
    if (!o.cases) { replace(box, h('p', { class: 'empty', id: 'gen-overview', i18n: 'gen.empty' })); return; }
    replace(box,
      h('p', { id: 'gen-total', i18n: 'gen.total', i18nArgs: { n: dash(o.cases) } }),
      table({
        id: 'gen-overview', caption: 'gen.overview',
        headers: ['gen.cancer', 'gen.cases', 'gen.profiled', 'gen.tmb'],
        rows: o.cancer_types.map((c) => [h('code', {}, c.code), dash(c.cases), dash(c.profiled),
          c.median_tmb === undefined ? '—' : c.median_tmb.toFixed(2)]),
      }),
      o.suppressed_below ? h('p', { class: 'hint', i18n: 'gen.suppressed', i18nArgs: { k: o.suppressed_below } }) : null);
  } catch (e) { showError(err, e); }
}

/** Horizontal bars: percent of profiled cases altered, per cancer type. */
function barChart(q) {
  const groups = q.groups.filter((g) => g.profiled !== 0);
  const rowH = 22, left = 90, width = 520, top = 8;
  const svg = s('svg', { viewBox: `0 0 ${left + width + 120} ${top + rowH * groups.length + 8}`, role: 'img',
    'aria-label': t('gen.chart'), class: 'chart', id: 'gen-chart' });
  groups.forEach((g, i) => {
    const y = top + i * rowH;
    const p = typeof g.percent === 'number' ? g.percent : 0;
    svg.appendChild(s('text', { x: left - 6, y: y + 15, 'text-anchor': 'end', 'font-size': 12 }, g.group));
    svg.appendChild(s('rect', { x: left, y: y + 3, width: Math.max(1, (width * p) / 100), height: rowH - 6,
      fill: '#3867d6', 'data-group': g.group },
    s('title', {}, t('gen.chart.label', { code: g.group, p: pctText(g.percent), n: dash(g.profiled) }))));
    svg.appendChild(s('text', { x: left + (width * p) / 100 + 6, y: y + 15, 'font-size': 12 },
      `${pctText(g.percent)} (${dash(g.altered)}/${dash(g.profiled)})`));
  });
  return h('figure', { class: 'chart' }, svg, h('figcaption', { i18n: 'gen.chart' }));
}

/** OncoPrint as SVG (when oncoprintjs is not available): genes as rows, altered cases as columns. */
function oncoprintSvg(op, genes) {
  const cw = 6, rh = 20, left = 70, top = 4;
  const cols = op.cases.slice();
  // sort columns like cBioPortal: by the first gene altered, then the next …
  const key = (c) => genes.map((g) => (c.alterations[g] ? '0' : '1')).join('');
  cols.sort((a, b) => key(a).localeCompare(key(b)));
  const width = left + Math.max(cols.length, 1) * cw + 10;
  const svg = s('svg', { viewBox: `0 0 ${width} ${top + rh * genes.length + 4}`, role: 'img',
    'aria-label': t('gen.oncoprint'), class: 'oncoprint', id: 'gen-oncoprint-svg' });
  genes.forEach((g, r) => {
    const y = top + r * rh;
    svg.appendChild(s('text', { x: left - 6, y: y + 14, 'text-anchor': 'end', 'font-size': 12 }, g));
    cols.forEach((c, i) => {
      const x = left + i * cw;
      svg.appendChild(s('rect', { x, y: y + 1, width: cw - 1, height: rh - 2, fill: '#e0e0e0' }));
      for (const cls of c.alterations[g] || []) {
        if (cls === 'amp' || cls === 'del') {
          svg.appendChild(s('rect', { x, y: y + 1, width: cw - 1, height: rh - 2, fill: COLOURS[cls] }));
        } else if (cls === 'fusion' || cls === 'sv') {
          svg.appendChild(s('rect', { x, y: y + 4, width: cw - 1, height: rh - 8, fill: COLOURS[cls] }));
        } else {
          svg.appendChild(s('rect', { x, y: y + 7, width: cw - 1, height: rh - 14, fill: COLOURS[cls] }));
        }
      }
    });
  });
  return svg;
}

/**
 * OncoPrint figure: a host the drawing goes into once the figure is in the page (see
 * drawOncoprint), the legend of alteration classes and the caption.
 */
function oncoprint(op) {
  const host = h('div', { class: 'oncoprint-host', id: 'gen-oncoprint-host', dataset: { state: 'loading' } });
  const legend = h('ul', { class: 'legend' }, CLASSES.map((c) => h('li', {},
    s('svg', { width: 12, height: 12, 'aria-hidden': 'true' }, s('rect', { width: 12, height: 12, fill: COLOURS[c] })),
    ' ', h('span', { i18n: `gen.class.${c}` }))));
  const credit = h('p', { class: 'hint', id: 'gen-oncoprint-credit' });
  return h('figure', { class: 'chart', id: 'gen-oncoprint' }, host, legend,
    h('figcaption', { i18n: 'gen.oncoprint.caption', i18nArgs: { altered: dash(op.altered), profiled: dash(op.profiled), max: 500 } }),
    credit);
}

/** Draws into the figure made by oncoprint(): oncoprintjs if it can, else the SVG. */
async function drawOncoprint(fig, op, genes) {
  const host = fig.querySelector('.oncoprint-host');
  const credit = fig.querySelector('#gen-oncoprint-credit');
  let drawn = null;
  try {
    drawn = await drawOncoprintjs(host, op, genes);
  } catch (e) { console.error('oncoprintjs failed; drawing the OncoPrint as SVG', e); }
  if (drawn) {
    fig.dataset.renderer = 'oncoprintjs';
    replace(credit, h('span', { i18n: 'gen.oncoprint.byjs' }), ' ',
      h('a', { href: '/vendor/oncoprint.bundle.LICENSES.txt', i18n: 'gen.oncoprint.licences' }));
    return;
  }
  fig.dataset.renderer = 'svg';
  replace(host, oncoprintSvg(op, genes));
  host.dataset.state = 'ready';
  replace(credit, h('span', { i18n: 'gen.oncoprint.bysvg' }));
}

async function runQuery(input, out, err) {
  let genes = input.value.split(/[\s,]+/).map((g) => g.trim()).filter(Boolean);
  if (!genes.length) return;
  replace(out, h('p', { class: 'loading', i18n: 'app.loading' }));
  try {
    const query = { genes: genes.join(','), by: 'cancer-type' };
    const [q, op, co] = await Promise.all([
      api('GET', '/genome/query/genes', undefined, { query }),
      api('GET', '/genome/query/oncoprint', undefined, { query: { genes: genes.join(','), max: 500 } }),
      genes.length >= 2 && genes.length <= 20
        ? api('GET', '/genome/query/cooccurrence', undefined, { query: { genes: genes.join(',') } })
        : Promise.resolve(null),
    ]);
    genes = q.genes; // as the index spells them (tp53 → TP53)
    const fig = oncoprint(op);
    replace(out,
      barChart(q),
      table({
        id: 'gen-query-table', caption: 'gen.query',
        headers: ['gen.cancer', 'gen.profiled', 'gen.altered', 'gen.percent', ...genes.map(() => 'gen.percent')],
        rows: q.groups.map((g) => [h('code', {}, g.group), dash(g.profiled), dash(g.altered), pctText(g.percent),
          ...genes.map((gene) => pctText(g.genes[gene] && g.genes[gene].percent))]),
      }),
      q.suppressed_below ? h('p', { class: 'hint', i18n: 'gen.suppressed', i18nArgs: { k: q.suppressed_below } }) : null,
      h('h2', { i18n: 'gen.oncoprint' }), fig,
      co ? h('h2', { i18n: 'gen.cooc' }) : null,
      co ? table({
        id: 'gen-cooc', caption: 'gen.cooc',
        headers: ['gen.pair', 'gen.both', 'gen.lor', 'gen.p', 'gen.tendency'],
        rows: co.pairs.map((p) => [`${p.a} – ${p.b}`, dash(p.both), p.log2_odds_ratio.toFixed(2),
          p.p_value < 0.001 ? p.p_value.toExponential(1) : p.p_value.toFixed(3),
          h('span', { i18n: `gen.tendency.${p.tendency}` })]),
      }) : null);
    // the per-gene percentage columns carry the gene names as headers
    const ths = out.querySelectorAll('#gen-query-table thead th');
    genes.forEach((g, i) => { if (ths[4 + i]) ths[4 + i].textContent = `${g} %`; });
    await drawOncoprint(fig, op, genes); // oncoprintjs measures its container: now it is in the page
  } catch (e) { replace(out); showError(err, e); }
}

export async function render() {
  const err = errorBox('genome-error');
  const ov = h('div', { id: 'gen-overview-box' }, h('p', { class: 'loading', i18n: 'app.loading' }));
  const input = h('input', { id: 'gen-genes', name: 'genes', type: 'text', value: 'TP53, KRAS, PIK3CA, EGFR, BRAF', autocomplete: 'off', spellcheck: 'false' });
  const out = h('div', { id: 'gen-query-out' });
  const form = h('form', { class: 'form inline-form', id: 'gen-query-form', novalidate: true },
    field({ label: 'gen.genes', hint: 'gen.genes.hint', input }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'gen-go', i18n: 'gen.go' })));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); showError(err, null); runQuery(input, out, err); });
  overview(ov, err);
  return h('section', { class: 'page' },
    h('h1', { i18n: 'gen.title', tabindex: '-1' }),
    h('p', { class: 'intro', i18n: 'gen.intro' }),
    err,
    h('h2', { i18n: 'gen.overview' }), ov,
    h('h2', { i18n: 'gen.query' }), form, out);
}
