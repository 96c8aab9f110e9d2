// Portal extensions of each domain (clinical, genome, …). A domain module exports
//   routes:   [{ re, page, tier?, keys? }]  — page modules live in web/pages/<page>.js
//   navItems: [{ href, key, tier?, roles?, match }]
//   strings:  { en: {…}, ja: {…} }          — every user-visible string, in both languages
// and is listed here once.
import * as participant from './participant.js';

export const domains = [participant];
import * as clinical from './clinical.js'; domains.push(clinical);
import * as genome from './genome.js'; domains.push(genome);
import * as htsget from './htsget.js'; domains.push(htsget);
import * as jobs from './jobs.js'; domains.push(jobs);
