// Background jobs in the portal (imports, coverage QC): a submitted job is followed until it
// finishes, with its state, progress and — when it failed — the problem's detail.
import { h, replace } from './dom.js';
import { api } from './api.js';
import { fmtNumber } from './i18n.js';

const BADGE = { queued: 'muted', running: 'warn', succeeded: 'ok', failed: 'danger' };

export const finished = (j) => j.state === 'succeeded' || j.state === 'failed';

/** The state badge of a job. */
export function jobBadge(j) {
  return h('span', { class: `badge ${BADGE[j.state] || 'muted'}`, dataset: { state: j.state }, i18n: `job.state.${j.state}` });
}

/** A one-line description of a job: badge, progress, and the problem's detail when it failed. */
export function jobLine(j) {
  const p = j.progress || {};
  const parts = [jobBadge(j)];
  if (p.records !== undefined) parts.push(' ', h('span', { i18n: 'job.progress.records', i18nArgs: { n: fmtNumber(p.records), stored: fmtNumber(p.stored ?? 0) } }));
  else if (p.reads !== undefined) parts.push(' ', h('span', { i18n: 'job.progress.reads', i18nArgs: { n: fmtNumber(p.reads), contig: p.contig || '' } }));
  if (j.state === 'failed' && j.error) parts.push(' ', h('span', { class: 'job-error' }, j.error.detail || j.error.title || ''));
  return h('span', { class: 'job-line', dataset: { job: j.id } }, ...parts);
}

/**
 * Follows job j (as returned by the 202 answer) until it finishes, rendering jobLine into box
 * after every poll; resolves with the final job. Stops early (resolving with the last state)
 * when box leaves the document.
 */
export async function follow(j, box, { interval = 700 } = {}) {
  replace(box, jobLine(j));
  while (!finished(j)) {
    await new Promise((r) => setTimeout(r, interval));
    if (!box.isConnected) return j;
    j = await api('GET', `/jobs/${encodeURIComponent(j.id)}`);
    replace(box, jobLine(j));
  }
  return j;
}
