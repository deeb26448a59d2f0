// Fault injection (issue 16): `calibrate`, `partial` and `run` killed with
// SIGKILL at seeded random points spread over their runtime, 50 times in all,
// each into a copy of a folder that holds an older consistent set. After each
// kill the folder must hold, by hashes, either that old set untouched or the
// new set complete and consistent: before the commit point nothing of the new
// set is visible under its final name; after it, the next qtool to open the
// folder (here settleForReading, what every reader and writer does first)
// finishes the renames. The commit's steps are slowed down
// (QTOOL_TEST_FAULTS=commit-pause) so that a fair share of the kills land
// inside the commit itself rather than only before or after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/onnx/model.js';
import { settleForReading } from '../../src/report/commit.js';
import { manifestSchema } from '../../src/report/schemas/manifest.js';
import { sha256 } from '../../src/util/files.js';
import { mulberry32 } from '../../src/util/random.js';
import { repoPath, repoRoot, runQtool, tempDir } from '../lib/helpers.js';

const MLP = repoPath('samples', 'mlp', 'model.onnx');
const DIGITS = (f: string) => repoPath('samples', 'digits', f);
const LABELLED = ['--data', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy')];
const SEED = 16;
const KILLS = { calibrate: 17, partial: 17, run: 16 };
const PAUSE = { QTOOL_TEST_FAULTS: 'commit-pause=100' };
/** Kills after a stale temporary file, checked to be gone after the next uninterrupted run (each one costs a run). */
const CLEANUP_CHECKS = 3;

const json = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const fileHash = (dir: string, f: string) => sha256(readFileSync(join(dir, f)));
const metadata = (path: string) => new Map(loadModel(path).model.metadata_props.map((p) => [p.key, p.value]));
const isTemp = (n: string) => /\.[0-9a-f]{8}\.tmp$/.test(n);
const JOURNAL = '.qtool-commit.json';
const LOCK = '.qtool.lock';

function qtool(args: string[]): void {
  const r = runQtool(args);
  assert.equal(r.code, 0, `qtool ${args.join(' ')}: ${r.stderr}`);
}

/** SHA-256 of the folder's files (not temporary files, the journal or the lock), by name. */
function snapshot(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).filter((n) => !isTemp(n) && n !== JOURNAL && n !== LOCK && statSync(join(dir, n)).isFile())
    .map((n) => [n, fileHash(dir, n)]));
}

interface Case {
  name: keyof typeof KILLS;
  /** Makes the old consistent set (and the inputs the command reads) in `dir`. */
  setup(dir: string): void;
  args(dir: string): string[];
  /** The files the command writes (besides the manifest). */
  writes: string[];
  /** The new set's files agree with each other and with the command's options (beyond the manifest, which the code under test writes). */
  checkNew(dir: string): void;
}

const configFor = (dir: string, method: string) => {
  const path = join(dir, `config-${method}.json`);
  writeFileSync(path, JSON.stringify({
    model: MLP, data: { calibration: DIGITS('calib_x.npy'), eval: DIGITS('eval_x.npy'), evalLabels: DIGITS('eval_y.npy') },
    maxDrop: 0.5, calibrate: { method },
  }));
  return path;
};

function checkCalibrateSet(dir: string, method: string): void {
  const report = json(dir, 'calibrate.json');
  const cal = json(dir, 'calibration.json');
  assert.equal(cal.selectedMethod, method);
  assert.equal(report.selected.method, method);
  assert.equal(metadata(join(dir, 'model.int8.onnx')).get('qtool.calibration'), method);
  assert.equal(report.selected.sizeBytes, statSync(join(dir, 'model.int8.onnx')).size);
  assert.deepEqual(report.options, cal.options);
}

const configs = tempDir('qtool-kill-configs-');
const CASES: Case[] = [
  {
    name: 'calibrate',
    setup: (dir) => qtool(['calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--method', 'max', '--out', dir]),
    args: (dir) => ['calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--method', 'mse', '--out', dir],
    writes: ['calibration.json', 'model.int8.onnx', 'calibrate.json'],
    checkNew: (dir) => checkCalibrateSet(dir, 'mse'),
  },
  {
    name: 'partial',
    setup: (dir) => {
      qtool(['calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--method', 'max', '--out', dir]);
      qtool(['sensitivity', MLP, '--calibration', join(dir, 'calibration.json'), ...LABELLED, '--out', dir]);
      qtool(['partial', MLP, '--calibration', join(dir, 'calibration.json'), '--sensitivity', join(dir, 'sensitivity.json'), ...LABELLED, '--keep-float', '1', '--out', dir]);
    },
    args: (dir) => ['partial', MLP, '--calibration', join(dir, 'calibration.json'), '--sensitivity', join(dir, 'sensitivity.json'), ...LABELLED, '--keep-float', '2', '--out', dir],
    writes: ['model.partial.onnx', 'partial.json'],
    checkNew: (dir) => {
      const p = json(dir, 'partial.json');
      assert.equal(p.floatLayers.length, 2);
      assert.equal(metadata(join(dir, 'model.partial.onnx')).get('qtool.float_layers'), p.floatLayers.join(','));
      assert.equal(p.result.sizeBytes, statSync(join(dir, 'model.partial.onnx')).size);
      assert.equal(p.calibration.sha256, fileHash(dir, 'calibration.json'));
      assert.equal(p.sensitivity.sha256, fileHash(dir, 'sensitivity.json'));
    },
  },
  {
    name: 'run',
    setup: (dir) => qtool(['run', configFor(configs, 'max'), '--out', dir]),
    args: (dir) => ['run', configFor(configs, 'mse'), '--out', dir],
    writes: ['calibration.json', 'model.int8.onnx', 'calibrate.json', 'run.json'],
    checkNew: (dir) => {
      const run = json(dir, 'run.json');
      assert.match(run.config.path, /config-mse\.json$/);
      for (const s of run.stages) for (const a of s.artifacts) assert.equal(fileHash(dir, a.path), a.sha256, `run.json's record of ${a.path}`);
      assert.equal(fileHash(dir, run.final.model), run.final.sha256);
      checkCalibrateSet(dir, 'mse');
    },
  },
];

/** Runs qtool and kills it with SIGKILL after `ms`; resolves with whether it was killed (false: it had ended) and its exit code. */
function killAfter(args: string[], ms: number): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'qtool.js'), ...args], { cwd: repoRoot, env: { ...process.env, ...PAUSE }, stdio: 'ignore' });
    let killed = false;
    const timer = setTimeout(() => { killed = child.kill('SIGKILL'); }, ms);
    child.on('error', reject);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ killed: killed && code === null, code }); });
  });
}

/** Old (the snapshot, byte for byte) or new (every manifest entry as committed, and the set's own checks): exactly one. */
function classify(c: Case, dir: string, old: Map<string, string>): 'old' | 'new' {
  const now = snapshot(dir);
  const unchanged = [...old].every(([f, h]) => now.get(f) === h);
  if (unchanged) return 'old';
  const manifest = manifestSchema.parse(json(dir, 'qtool-manifest.json'));
  for (const [f, e] of Object.entries(manifest.files)) assert.equal(now.get(f), e.sha256, `${f} as the manifest records it`);
  for (const f of c.writes) assert.notEqual(now.get(f), old.get(f), `${f} is new`);
  for (const [f, h] of old) if (!c.writes.includes(f) && f !== 'qtool-manifest.json') assert.equal(now.get(f), h, `${f}, which ${c.name} does not write, unchanged`);
  c.checkNew(dir);
  return 'new';
}

test('50 SIGKILLs at random points of calibrate, partial and run: the output folder always holds the old set or the new one, by hashes', { timeout: 30 * 60_000 }, async (t) => {
  const started = performance.now();
  const rng = mulberry32(SEED);
  const counts = { kills: 0, finished: 0, beforeCommit: 0, duringCommit: 0, afterCommit: 0, old: 0, new: 0, cleanupChecked: 0 };
  const lines: string[] = [];
  for (const c of CASES) {
    const base = tempDir(`qtool-kill-${c.name}-`);
    c.setup(base);
    const old = snapshot(base);
    const oldManifest = old.get('qtool-manifest.json');
    // How long one uninterrupted run takes here (with the slowed commit): the kills are spread over it.
    const probe = tempDir(`qtool-kill-${c.name}-probe-`);
    cpSync(base, probe, { recursive: true });
    const t0 = performance.now();
    const full = await killAfter(c.args(probe), 10 * 60_000);
    const runtime = performance.now() - t0;
    assert.equal(full.code, 0, `${c.name} uninterrupted`);
    assert.equal(classify(c, probe, old), 'new');
    let cleanups = 0;
    for (let i = 0; i < KILLS[c.name]; i++) {
      const dir = tempDir(`qtool-kill-${c.name}-${i}-`);
      cpSync(base, dir, { recursive: true });
      const at = rng() * runtime * 1.05;
      const r = await killAfter(c.args(dir), at);
      counts.kills++;
      if (!r.killed) {
        assert.equal(r.code, 0, `${c.name} ended by itself`);
        counts.finished++;
      }
      // As the kill left it.
      const names = readdirSync(dir);
      const journal = names.includes(JOURNAL);
      const raw = snapshot(dir);
      const phase = journal ? 'duringCommit' : raw.get('qtool-manifest.json') === oldManifest ? 'beforeCommit' : 'afterCommit';
      counts[phase]++;
      if (phase === 'beforeCommit') {
        for (const [f, h] of old) assert.equal(raw.get(f), h, `${c.name} killed at ${at.toFixed(0)} ms before the commit point: ${f} untouched`);
        assert.deepEqual([...raw.keys()].sort(), [...old.keys()].sort(), 'no new file under a final name');
      }
      // What the next qtool in the folder sees: a commit under way is finished, then old or new.
      settleForReading(dir);
      assert.ok(!existsSync(join(dir, JOURNAL)), 'no journal left');
      const state = classify(c, dir, old);
      counts[state]++;
      if (phase === 'duringCommit') assert.equal(state, 'new', 'a commit past its commit point is finished');
      if (phase === 'beforeCommit') assert.equal(state, 'old');
      lines.push(`${c.name} #${i}: killed at ${at.toFixed(0)} of ${runtime.toFixed(0)} ms${r.killed ? '' : ' (had ended)'}: ${phase} -> ${state}` +
        `${names.some(isTemp) ? `, ${names.filter(isTemp).length} temporary files` : ''}`);
      // The next run deletes what the killed one left, and commits the new set.
      if (names.some(isTemp) && cleanups < CLEANUP_CHECKS) {
        cleanups++;
        counts.cleanupChecked++;
        qtool(c.args(dir));
        assert.deepEqual(readdirSync(dir).filter((n) => isTemp(n) || n === JOURNAL || n === LOCK), [], 'the next run cleaned up');
        assert.equal(classify(c, dir, old), 'new');
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  for (const l of lines) t.diagnostic(l);
  const summary = `kill test: ${counts.kills} SIGKILLs (seed ${SEED}; ${counts.finished} after the command had ended) in ${seconds.toFixed(0)} s: ` +
    `${counts.beforeCommit} before the commit point, ${counts.duringCommit} during the commit, ${counts.afterCommit} after it; ` +
    `the folder then held the old set ${counts.old} times and the new set ${counts.new} times, never anything else; ` +
    `${counts.cleanupChecked} stale temporary sets deleted by the next run`;
  t.diagnostic(summary);
  console.log(summary);
  assert.equal(counts.kills, 50);
  assert.equal(counts.old + counts.new, 50);
  assert.ok(counts.duringCommit > 0, 'some kills landed inside a commit');
});
