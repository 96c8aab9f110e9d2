// Builds web/vendor/oncoprint.bundle.js: cBioPortal's oncoprintjs (npm, ES module build) with
// the packages it imports by bare name (tslib, jquery, lodash, gl-matrix, jstat, …) bundled by
// esbuild into one self-contained ES module, which the portal imports with no import map
// (an import map would need an inline script, which the Content-Security-Policy forbids).
// Next to it: oncoprint.bundle.LICENSES.txt, the licence of every package in the bundle.
// Usage: node scripts/vendor-oncoprint.mjs <node_modules> <web/vendor>   (run by cmake/vendor.cmake)
// Missing esbuild or oncoprintjs, or a bundle that would need eval, is reported on one line and
// leaves no bundle: the gene-query page then draws its own SVG OncoPrint. Always exits 0.
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync, writeFileSync, renameSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { join, dirname, resolve, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const [nodeModules, dest] = process.argv.slice(2).map((p) => p && resolve(p));
if (!nodeModules || !dest) {
  console.error('usage: node vendor-oncoprint.mjs <node_modules> <web/vendor>');
  process.exit(2);
}
const OUT = join(dest, 'oncoprint.bundle.js');
const LICENSES = join(dest, 'oncoprint.bundle.LICENSES.txt');
const say = (msg) => console.log(`vendor: ${msg}`);

/** Leaves no (stale or unsafe) bundle behind, so the portal falls back to its SVG drawing. */
function giveUp(msg) {
  rmSync(OUT, { force: true });
  rmSync(LICENSES, { force: true });
  say(`${msg}; the gene-query page draws its own SVG OncoPrint`);
  process.exit(0);
}

const pkgDir = join(nodeModules, 'oncoprintjs');
if (!existsSync(join(pkgDir, 'package.json'))) giveUp(`${pkgDir} is missing (run scripts/deps.sh)`);
if (!existsSync(join(nodeModules, 'esbuild', 'package.json'))) giveUp(`${join(nodeModules, 'esbuild')} is missing (run scripts/deps.sh)`);

// Up to date: newer than the last npm install and than this script.
const self = fileURLToPath(import.meta.url);
const inputs = [join(nodeModules, '.package-lock.json'), join(pkgDir, 'package.json'), self].filter(existsSync);
if (existsSync(OUT) && existsSync(LICENSES)) {
  const built = statSync(OUT).mtimeMs;
  if (inputs.every((f) => statSync(f).mtimeMs <= built)) process.exit(0);
}

const require = createRequire(join(nodeModules, 'noop.js'));
let esbuild;
try {
  esbuild = require('esbuild');
} catch (e) {
  giveUp(`esbuild cannot run here (${e.message.split('\n')[0]})`);
}
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const entry = join(pkgDir, pkg.module || 'dist/index.es.js');
if (!existsSync(entry)) giveUp(`${entry} is missing`);

// lodash compiles code with Function() in two places that oncoprintjs never reaches: a
// fallback for finding the global object when neither `global` nor `self` exists (`self`
// always exists in a browser), and _.template (not used by oncoprintjs). The CSP forbids both
// (no 'unsafe-eval'); replace them so that the bundle contains no run-time code compilation.
const LODASH_PATCHES = [
  [/Function\('return this'\)\(\)/g, 'globalThis'],
  [/return Function\(importsKeys, sourceURL \+ 'return ' \+ source\)\s*\.apply\(undefined, importsValues\);/g,
    "throw new Error('_.template compiles code at run time, which the Content-Security-Policy forbids');"],
];
const patchLodash = {
  name: 'zengen-lodash-no-eval',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]lodash[\\/]lodash\.js$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      for (const [re, to] of LODASH_PATCHES) {
        const n = (text.match(re) || []).length;
        if (n !== 1) throw new Error(`lodash.js changed: ${re} matched ${n} times, expected 1`);
        text = text.replace(re, to);
      }
      return { contents: text, loader: 'js' };
    });
  },
};

mkdirSync(dest, { recursive: true });
const tmp = `${OUT}.tmp`;
let result;
try {
  result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    // whitespace and syntax only: identifiers keep their names, so the check below also sees
    // aliased calls (lodash calls the Function constructor through a local `Function`)
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    metafile: true,
    logLevel: 'silent',
    plugins: [patchLodash],
    outfile: tmp,
  });
} catch (e) {
  rmSync(tmp, { force: true });
  giveUp(`esbuild could not bundle oncoprintjs: ${(e.errors && e.errors[0] && e.errors[0].text) || e.message}`);
}

// The portal runs under script-src 'self' without 'unsafe-eval': refuse a bundle that compiles
// code at run time (it would fail in the browser at the first such call).
const code = readFileSync(tmp, 'utf8');
const FORBIDDEN = [
  [/\beval\s*\(/, 'eval('], [/\(\s*0\s*,\s*eval\s*\)/, '(0, eval)'], [/\bFunction\s*\(/, 'Function('],
  [/\bset(?:Timeout|Interval)\s*\(\s*["'`]/, 'setTimeout/setInterval with a string'],
];
for (const [re, what] of FORBIDDEN) {
  const m = code.match(re);
  if (m) {
    rmSync(tmp, { force: true });
    giveUp(`the oncoprintjs bundle contains ${what} (…${code.slice(Math.max(0, m.index - 60), m.index + 60)}…), which the CSP forbids`);
  }
}

// One licence section per package that contributed code to the bundle: the modules esbuild
// read, and oncoprintjs's run-time dependencies that it embeds pre-bundled (jstat and
// tayden-clusterfck are inside its clustering worker, a base64 string); typescript is types only.
const pkgs = new Map();
for (const name of Object.keys(pkg.dependencies || {}))
  if (name !== 'typescript' && existsSync(join(nodeModules, name, 'package.json'))) pkgs.set(name, join(nodeModules, name));
for (const input of Object.keys(result.metafile.inputs)) {
  const abs = resolve(input);
  const rel = relative(nodeModules, abs).split(sep);
  if (rel[0] === '..') continue;
  const name = rel[0].startsWith('@') ? `${rel[0]}/${rel[1]}` : rel[0];
  if (!pkgs.has(name)) pkgs.set(name, join(nodeModules, name));
}
const sections = [...pkgs].sort(([a], [b]) => (a === 'oncoprintjs' ? -1 : b === 'oncoprintjs' ? 1 : a.localeCompare(b)))
  .map(([name, dir]) => {
    const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const lic = ['LICENSE', 'LICENSE.txt', 'LICENSE.md', 'LICENCE', 'license', 'MIT-LICENSE.txt']
      .map((f) => join(dir, f)).find(existsSync);
    const declared = typeof p.license === 'string' ? p.license : (p.license && p.license.type) || 'not declared';
    return [`${'='.repeat(78)}`, `${name} ${p.version} — package.json licence: ${declared}`,
      p.homepage || (p.repository && (p.repository.url || p.repository)) || '', '',
      lic ? readFileSync(lic, 'utf8').trim() : '(no licence file in the package)', ''].join('\n');
  });
// Source files of oncoprintjs whose own header names a different licence than its LICENSE file.
const headers = [];
const walk = (d) => {
  for (const f of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, f.name);
    if (f.isDirectory()) walk(p);
    else if (/\.[jt]s$/.test(f.name) && /GNU Affero General Public License/.test(readFileSync(p, 'utf8'))) headers.push(relative(pkgDir, p));
  }
};
if (existsSync(join(pkgDir, 'src'))) walk(join(pkgDir, 'src'));
const licenceTitle = existsSync(join(pkgDir, 'LICENSE'))
  ? readFileSync(join(pkgDir, 'LICENSE'), 'utf8').trim().split('\n')[0].trim() : 'missing';
writeFileSync(LICENSES, [
  'web/vendor/oncoprint.bundle.js is built by zengen (scripts/vendor-oncoprint.mjs) with esbuild from',
  'these npm packages, unmodified except lodash (two run-time code compilations replaced, see the',
  'script). Its sources are the packages as published on npmjs.com at the versions below.',
  ...(headers.length ? ['', `oncoprintjs: its LICENSE file is "${licenceTitle}", its package.json says ${pkg.license}; these of its`,
    'source files carry a GNU Affero GPL 3.0 header:', ...headers.map((h) => `  ${h}`)] : []),
  '', ...sections].join('\n'));
renameSync(tmp, OUT);
const kb = Math.round(statSync(OUT).size / 1024);
say(`oncoprint.bundle.js built (${kb} KiB; ${[...pkgs.keys()].join(', ')}) from oncoprintjs ${pkg.version}`);
