// Reads of one registered BAM/CRAM file in igv.js: the reads come through zengen's own htsget
// endpoint (CRAM files are served as BAM, which igv.js's htsget reader understands) and the
// reference bases from the file's recorded reference FASTA (byte ranges). Same origin, so the
// session cookie goes with every request; every ticket, block and reference read is audited.
// igv.js is a vendor file (web/vendor/, copied by the build from node_modules); the page says
// so when it is missing.
import { h, replace, notice } from '../dom.js';
import { api, showError, errorBox } from '../api.js';
import { fmtNumber } from '../i18n.js';

const VENDOR = '/vendor/igv.esm.min.js';
const LOCUS_RE = /^[A-Za-z0-9_.|*-]{1,255}(:\d[\d,]*(-\d[\d,]*)?)?$/;

function hashQuery() {
  const q = location.hash.split('?')[1] || '';
  return new URLSearchParams(q);
}

/** The first sequence of the reference (from its .fai), as a default locus of at most 5 kb. */
async function defaultLocus(id) {
  const r = await fetch(`/api/v1/genome/files/${encodeURIComponent(id)}/reference.fa.fai`,
    { credentials: 'same-origin', headers: { range: 'bytes=0-4095' } });
  if (!r.ok) return null;
  const [name, len] = (await r.text()).split('\n')[0].split('\t');
  return name && Number(len) > 0 ? `${name}:1-${Math.min(Number(len), 5000)}` : null;
}

async function loadIgv() {
  try {
    const mod = await import(VENDOR);
    return mod.default || mod;
  } catch (e) {
    console.error(e);
    return null;
  }
}

export async function render({ params }) {
  const id = params.id;
  const err = errorBox('igv-error');
  const status = h('div', { id: 'igv-status' });
  const view = h('div', { id: 'igv-view', class: 'igv-view', dataset: { state: 'loading' } });
  const locusInput = h('input', { type: 'text', id: 'igv-locus', class: 'mono', spellcheck: 'false', autocomplete: 'off' });
  const form = h('form', { class: 'form inline-form', id: 'igv-locus-form', novalidate: true },
    h('label', { for: 'igv-locus', i18n: 'gen.igv.locus' }), locusInput,
    h('button', { type: 'submit', class: 'primary', i18n: 'gen.igv.go' }));
  const meta = h('p', { id: 'igv-file' });
  const page = h('section', { class: 'page' },
    h('h1', { i18n: 'gen.igv.title', i18nArgs: { id }, tabindex: '-1' }),
    h('p', { class: 'intro', i18n: 'gen.igv.intro' }), meta, err, status, form, view);

  let file;
  try {
    file = await api('GET', `/genome/files/${encodeURIComponent(id)}`);
  } catch (e) { view.dataset.state = 'error'; form.hidden = true; showError(err, e); return page; }
  replace(meta, h('code', {}, file.name), ' · ', file.format.toUpperCase(), ' · ', file.reference, ' · ',
    h('a', { href: `#/genome/cases/${encodeURIComponent(file.case_id)}`, i18n: 'gen.igv.case', i18nArgs: { id: file.case_id } }),
    ' · ', fmtNumber(file.size), ' B');
  const stop = (key) => { view.dataset.state = 'error'; form.hidden = true; replace(status, notice('error', key)); return page; };
  if (file.format !== 'bam' && file.format !== 'cram') return stop('gen.igv.notreads');
  if (!file.has_reference) return stop('gen.igv.noref');

  let locus = hashQuery().get('locus');
  if (locus && !LOCUS_RE.test(locus)) { replace(status, notice('error', 'gen.igv.badlocus')); locus = null; }
  if (!locus) locus = await defaultLocus(id);
  locusInput.value = locus || '';

  const igv = await loadIgv();
  if (!igv || typeof igv.createBrowser !== 'function') return stop('gen.igv.missing');
  // igv.js measures its container: start once the page is in the document
  whenConnected(view).then(() => start(igv, view, form, locusInput, status, file, locus));
  return page;
}

function whenConnected(el) {
  return new Promise((resolve) => {
    const check = () => (el.isConnected ? resolve() : requestAnimationFrame(check));
    check();
  });
}

async function start(igv, view, form, locusInput, status, file, locus) {
  const id = file.id;

  const base = `${location.origin}/api`;
  const fid = encodeURIComponent(id);
  const options = {
    reference: {
      id: `zengen-${id}`, name: file.reference,
      fastaURL: `${base}/v1/genome/files/${fid}/reference.fa`,
      indexURL: `${base}/v1/genome/files/${fid}/reference.fa.fai`,
    },
    locus: locus || undefined,
    // no genome lists from igv.org: the reference is the file's own (and the CSP allows only
    // this origin anyway)
    loadDefaultGenomes: false,
    tracks: [{
      type: 'alignment', sourceType: 'htsget', format: 'bam', name: file.name,
      url: `${base}/htsget/v1/reads/${fid}`,
    }],
  };
  try {
    const browser = await igv.createBrowser(view, options);
    view.dataset.state = 'ready';
    // the viewer object, for the browser tests (igv.js keeps its DOM in a shadow root)
    Object.defineProperty(view, 'igvBrowser', { value: browser });
    browser.on('locuschange', (loci) => {
      const l = loci && loci[0];
      if (l && typeof l.getLocusString === 'function') locusInput.value = l.getLocusString();
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const v = locusInput.value.trim();
      if (!LOCUS_RE.test(v)) { replace(status, notice('error', 'gen.igv.badlocus')); return; }
      replace(status);
      try { await browser.search(v); } catch (e) { replace(status, notice('error', 'gen.igv.badlocus')); }
      history.replaceState(null, '', `#/genome/files/${fid}/igv?locus=${encodeURIComponent(v)}`);
    });
  } catch (e) {
    console.error(e);
    view.dataset.state = 'error';
    replace(status, notice('error', 'gen.igv.failed', { reason: String(e && e.message || e).slice(0, 200) }));
  }
}
