#!/usr/bin/env node
// Runs one tier of the test suite with Node's test runner, on the compiled
// files in dist/ (build first: `npm test` and `npm run test:full` do).
//   node scripts/run-tests.mjs           the fast tier: test/*.test.ts
//   node scripts/run-tests.mjs --full    the full suite: also the slow end-to-end test/e2e/*.test.ts
// Any other argument goes to `node --test` (e.g. --test-name-pattern=report).
// The files are listed from the sources, so helpers in test/lib/ are never
// collected as tests and a stale compiled file of a moved test never runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const full = args.includes('--full');
const passOn = args.filter((a) => a !== '--full');

/** test/DIR/*.test.ts, as paths relative to test/. */
function testsIn(dir) {
  return readdirSync(join(root, 'test', dir))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => join(dir, f));
}

const sources = [...testsIn('.'), ...(full ? testsIn('e2e') : [])];
const files = sources.map((f) => join('dist', 'test', f.replace(/\.ts$/, '.js')));
const missing = files.filter((f) => !existsSync(join(root, f)));
if (missing.length) {
  console.error(`run-tests: ${missing.join(', ')} not built; run npm run build first`);
  process.exit(1);
}

console.error(`run-tests: ${full ? 'full suite' : 'fast tier'}, ${files.length} files`);
// The fast tier runs two files at a time (a third faster on 2 cores, every
// test in its own temporary folder); the full suite one at a time, as CI always
// has. --test-concurrency=N overrides either.
const concurrency = passOn.some((a) => a.startsWith('--test-concurrency')) ? [] : [`--test-concurrency=${full ? 1 : 2}`];
const r = spawnSync(process.execPath, ['--test', ...concurrency, ...passOn, ...files], { cwd: root, stdio: 'inherit' });
if (r.error) {
  console.error(`run-tests: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
