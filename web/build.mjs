// Builds dist/index.html, the one file `dashstream forward` embeds and serves
// at /: bundles src/app.js with esbuild (IIFE, ES2020, minified) and inlines the
// bundle into the src/index.html template. Deterministic: same sources and same
// esbuild version give the same bytes (no timestamps, no absolute paths).

import { build } from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const MARKER = '<!--APP-->';

const result = await build({
  entryPoints: [here('src/app.js')],
  absWorkingDir: here('.'),
  bundle: true,
  format: 'iife',
  target: 'es2020',
  platform: 'browser',
  minify: true,
  legalComments: 'none',
  charset: 'ascii',
  sourcemap: false,
  write: false,
  logLevel: 'warning',
});
const js = result.outputFiles[0].text.trim();

// Inline <script> content must not close the element or open an HTML comment.
if (/<\/script|<!--/i.test(js)) throw new Error('the bundle contains "</script" or "<!--"; cannot inline it');

const template = readFileSync(here('src/index.html'), 'utf8');
const parts = template.split(MARKER);
if (parts.length !== 2) throw new Error(`src/index.html must contain ${MARKER} exactly once`);
// fzstd is MIT-licensed: its notice travels with the bundled copy.
const license = readFileSync(here('node_modules/fzstd/LICENSE'), 'utf8').trim();
if (license.includes('--')) throw new Error('the fzstd license text cannot go in an HTML comment');
const notice = `<!-- Bundled: fzstd (https://github.com/101arrowz/fzstd)\n${license}\n-->\n`;
const html = `${parts[0]}<script>${js}</script>\n${notice}${parts[1].replace(/^\n/, '')}`;

mkdirSync(here('dist'), { recursive: true });
writeFileSync(here('dist/index.html'), html);
const sha = createHash('sha256').update(html).digest('hex');
console.log(`dist/index.html: ${Buffer.byteLength(html)} bytes, sha256 ${sha}`);
