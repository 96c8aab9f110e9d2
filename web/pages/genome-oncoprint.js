// The gene-query page's OncoPrint drawn by cBioPortal's oncoprintjs (WebGL), loaded from the
// vendor bundle web/vendor/oncoprint.bundle.js (built by scripts/vendor-oncoprint.mjs). Not a
// route: web/pages/genome.js calls drawOncoprintjs() and draws its own SVG when this returns
// null (bundle not installed, or no WebGL in this browser). Clustering is not used (it runs
// in a worker from a blob: URL, which the CSP forbids).
import { h } from '../dom.js';
import { t } from '../i18n.js';

const VENDOR = '/vendor/oncoprint.bundle.js';

export const CLASSES = ['missense', 'truncating', 'splice', 'inframe', 'amp', 'del', 'fusion', 'sv'];
// cBioPortal-like colours, shared with the SVG drawing
export const COLOURS = {
  missense: '#008000', truncating: '#000000', splice: '#e5802b', inframe: '#993404',
  amp: '#ff0000', del: '#0000ff', fusion: '#8b00c9', sv: '#7f7f7f',
};
const BACKGROUND = '#bebebe';
const CELL_W = 6, CELL_PAD = 1; // px at zoom 1

// Which datum key carries each class, and, within a key, which class wins when a case has
// several in one gene (first listed). Copy number fills the cell, structural variants a wide
// band and small variants a narrow bar on top, so all three kinds stay visible together.
const KEYS = {
  cna: ['amp', 'del'],
  sv: ['fusion', 'sv'],
  mut: ['truncating', 'splice', 'inframe', 'missense'],
};
const SHAPE = {
  cna: { x: 0, y: 0, width: 100, height: 100, z: 2 },
  sv: { x: 0, y: 20, width: 100, height: 60, z: 3 },
  mut: { x: 0, y: 33.33, width: 100, height: 33.33, z: 4 },
};

let loaded = null;
let current = null; // the oncoprint on the page, destroyed before the next one (WebGL contexts are few)

/** The oncoprintjs module, or null when it is not installed or cannot run here. */
function load() {
  if (!loaded) {
    loaded = import(VENDOR)
      .then((m) => (m && typeof m.OncoprintJS === 'function' && m.RuleSetType ? m : null))
      .catch((e) => { console.warn(`oncoprintjs not available (${e.message}); drawing the OncoPrint as SVG`); return null; });
  }
  return loaded;
}

function webglAvailable() {
  try {
    const c = document.createElement('canvas');
    return !!(c.getContext('webgl') || c.getContext('experimental-webgl'));
  } catch { return false; }
}

const rgba = (hex) => [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16), 1];

/** Our rule set, in oncoprintjs's genetic-alteration rule-set form (RuleSetType.GENE). */
function ruleSet(RuleSetType) {
  const conditional = {};
  for (const [key, classes] of Object.entries(KEYS)) {
    conditional[key] = {};
    classes.forEach((cls) => {
      conditional[key][cls] = {
        shapes: [{ type: 'rectangle', fill: rgba(COLOURS[cls]), ...SHAPE[key] }],
        legend_label: t(`gen.class.${cls}`),
        legend_order: CLASSES.indexOf(cls),
      };
    });
  }
  return {
    type: RuleSetType.GENE,
    exclude_from_legend: true, // the page's own legend (translated in place) serves both drawings
    rule_params: {
      always: { shapes: [{ type: 'rectangle', fill: rgba(BACKGROUND), z: 1 }], legend_label: '', exclude_from_legend: true },
      conditional,
    },
  };
}

/** One cell: the classes of gene in case column i, reduced to one value per key. */
function datum(c, gene, i) {
  const classes = c.alterations[gene] || [];
  const d = { uid: `c${i}`, cancer_type: c.cancer_type, case: c.case || null, gene, classes };
  for (const [key, order] of Object.entries(KEYS)) {
    const hit = order.find((cls) => classes.includes(cls));
    if (hit) d[key] = hit;
  }
  return d;
}

// altered cells first; copy number, then structural variants, then small variants by severity
function weight(d) {
  let w = 0;
  if (d.cna) w += 100 + (d.cna === 'amp' ? 10 : 5);
  if (d.sv) w += 50 + (d.sv === 'fusion' ? 2 : 1);
  if (d.mut) w += 20 + (4 - KEYS.mut.indexOf(d.mut));
  return w;
}
const sortCmp = (a, b) => weight(b) - weight(a);

function tooltip(cells) {
  const d = cells && cells[0];
  if (!d) return h('div');
  return h('div', { class: 'op-tip' },
    h('strong', {}, d.gene), ' · ', h('code', {}, d.cancer_type), d.case ? ` · ${d.case}` : null,
    d.classes.length
      ? h('ul', {}, d.classes.map((cls) => h('li', {}, t(`gen.class.${cls}`))))
      : h('p', {}, t('gen.oncoprint.notaltered')));
}

/**
 * Draws op (GET /genome/query/oncoprint) for genes into host, which must be in the document.
 * Resolves to the OncoprintJS instance (also host.oncoprint) once drawn, or null when
 * oncoprintjs is unavailable here; host.dataset.state is then 'ready'.
 */
export async function drawOncoprintjs(host, op, genes) {
  if (current) { try { current.destroy(); } catch { /* already gone */ } current = null; }
  if (!webglAvailable()) return null;
  const lib = await load();
  if (!lib || !host.isConnected) return null;
  // the cell area: as wide as the columns need at 6+1 px each, zoomed out to fit the page if wider
  const avail = Math.max(240, Math.min(host.clientWidth || 800, 1400) - 150);
  const width = Math.min(avail, Math.max(60, op.cases.length * (CELL_W + CELL_PAD) + 2));
  const onco = new lib.OncoprintJS(host, width, { init_cell_width: CELL_W, init_cell_padding: CELL_PAD });
  if (onco.webgl_unavailable) return null;
  current = onco;
  Object.defineProperty(host, 'oncoprint', { value: onco, configurable: true });
  const rules = ruleSet(lib.RuleSetType);
  const altered = (g) => op.cases.filter((c) => (c.alterations[g] || []).length).length;
  const share = (g) => (typeof op.profiled === 'number' && op.profiled > 0 && !op.truncated
    ? `${Math.round((100 * altered(g)) / op.profiled)}%` : undefined);
  onco.suppressRendering();
  onco.addTracks(genes.map((g) => ({
    label: g,
    data: op.cases.map((c, i) => datum(c, g, i)),
    data_id_key: 'uid',
    rule_set_params: rules,
    sortCmpFn: sortCmp,
    tooltipFn: tooltip,
    track_info: share(g),
    cell_height: 20,
    track_padding: 3,
    target_group: 0,
    movable: false,
    removable: false,
    sort_direction_changeable: false,
  })));
  onco.keepSorted(true);
  if (op.cases.length) onco.setHorzZoomToFit(op.cases.map((c, i) => `c${i}`));
  await new Promise((resolve) => onco.releaseRendering(resolve));
  host.dataset.state = 'ready';
  return onco;
}
