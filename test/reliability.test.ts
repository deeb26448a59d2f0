// Reliability (issue 16): every failure a user can cause is one line with exit
// code 2, an internal error says it is a bug (exit 70), a wrong model never
// comes with exit 0, and what a stage writes into --out is one consistent set.
// One test per reproduction of the issue, then the lock, the commit protocol
// and the smaller items. The randomized SIGKILLs are in e2e/kill.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, symlinkSync, truncateSync, writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { onnx } from '../src/onnx/proto/onnx.js';
import { encodeModel, loadModel } from '../src/onnx/model.js';
import { tensorToArray } from '../src/onnx/tensor.js';
import { decodeCheckpoint, readCheckpoint } from '../src/qat/checkpoint.js';
import { evalReportSchema } from '../src/report/schemas/eval.js';
import { manifestSchema } from '../src/report/schemas/manifest.js';
import { sha256 } from '../src/util/files.js';
import { InputError } from '../src/util/errors.js';
import { readArtifact, verifyFolder, withOutput, writeArtifact } from '../src/report/commit.js';
import { mulberry32 } from '../src/util/random.js';
import { repoPath, repoRoot, tempDir, type CliResult } from './lib/helpers.js';

const MLP = repoPath('samples', 'mlp', 'model.onnx');
const DIGITS = (f: string) => repoPath('samples', 'digits', f);
const CALIB = ['--data', DIGITS('calib_x.npy')];
const LABELLED = ['--data', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy')];
const TRAIN = ['--train', DIGITS('train_x.npy'), '--train-labels', DIGITS('train_y.npy')];

/** The CLI with extra environment variables, from `cwd` (default the repository). */
function qtool(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'qtool.js'), ...args], {
    cwd: opts.cwd ?? repoRoot, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', ...opts.env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], opts?: { env?: Record<string, string>; cwd?: string }): CliResult {
  const r = qtool(args, opts);
  assert.equal(r.code, 0, `qtool ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** Exit code 2 (or `code`), and stderr one line matching `pattern`, without a stack trace. */
function oneLine(r: CliResult, pattern: RegExp, code = 2): void {
  assert.equal(r.code, code, `exit code: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at .*:\d+/, 'no stack trace');
}

/** The last stderr line matches (TensorFlow may have logged before), exit 2, no stack trace. */
function lastLine(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit code: ${r.stderr}`);
  assert.match(r.stderr.trim().split('\n').at(-1)!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at .*:\d+/, 'no stack trace');
}

/** SHA-256 of every file in `dir` (not in subfolders), by name. */
function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isFile()) out[e.name] = sha256(readFileSync(join(dir, e.name)));
  return out;
}

const temps = (dir: string) => readdirSync(dir).filter((n) => /\.[0-9a-f]{8}\.tmp$/.test(n) || n === '.qtool-commit.json' || n === '.qtool.lock');

/** A folder with calibrate's, sensitivity's and partial's artifacts for the MLP (max calibration, 1 layer in float). */
let stages: string;
before(() => {
  stages = tempDir();
  ok(['calibrate', MLP, ...CALIB, '--method', 'max', '--out', stages]);
  ok(['sensitivity', MLP, '--calibration', join(stages, 'calibration.json'), ...LABELLED, '--out', stages]);
  ok(['partial', MLP, '--calibration', join(stages, 'calibration.json'), '--sensitivity', join(stages, 'sensitivity.json'), ...LABELLED,
    '--keep-float', '1', '--out', stages]);
});

/** A copy of the stages folder to spoil. */
function copyOfStages(): string {
  const dir = join(tempDir(), 'out');
  cpSync(stages, dir, { recursive: true });
  return dir;
}

function writeConfig(dir: string, extra: Record<string, unknown> = {}): string {
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({
    model: MLP,
    data: { calibration: DIGITS('calib_x.npy'), eval: DIGITS('eval_x.npy'), evalLabels: DIGITS('eval_y.npy'), train: DIGITS('train_x.npy'), trainLabels: DIGITS('train_y.npy') },
    maxDrop: 0.5, calibrate: { method: 'max' }, ...extra,
  }));
  return path;
}

/** Each of the six commands that write into --out, with valid inputs from `src` and `--out out`. */
function writers(src: string, out: string, config: string): [string, string[]][] {
  const cal = join(src, 'calibration.json');
  return [
    ['calibrate', ['calibrate', MLP, ...CALIB, '--out', out]],
    ['sensitivity', ['sensitivity', MLP, '--calibration', cal, ...LABELLED, '--out', out]],
    ['partial', ['partial', MLP, '--calibration', cal, '--sensitivity', join(src, 'sensitivity.json'), ...LABELLED, '--keep-float', '1', '--out', out]],
    ['qat-finetune', ['qat-finetune', MLP, '--calibration', cal, ...TRAIN, '--epochs', '1', '--out', out]],
    ['run', ['run', config, '--out', out]],
    ['report', ['report', src, '--out', join(out, 'report.html')]],
  ];
}

// ---------------------------------------------------------------- 1. an unwritable --out

test('1. --out is a file, or under a file: all six writing commands exit 2 with one line before any work', () => {
  const dir = tempDir();
  const file = join(dir, 'f');
  writeFileSync(file, 'x');
  const config = writeConfig(dir);
  for (const [name, args] of writers(stages, file, config)) {
    const r = qtool(args);
    // report's --out is the page: under the file, its folder is the file.
    oneLine(r, name === 'report' ? /f: is a file, not a folder/ : /: is a file, not a folder \(the output folder must be a folder\)/);
    assert.doesNotMatch(r.stderr, /TensorFlow|epoch|qtool run:/, `${name}: the error comes first`);
  }
  for (const [name, args] of writers(stages, join(file, 'sub'), config)) {
    oneLine(qtool(args), name === 'report' ? /f\/sub: cannot create the output folder: .*\/f is a file/ : /f\/sub: cannot create the output folder: .*\/f is a file/);
  }
  assert.equal(readFileSync(file, 'utf8'), 'x');
});

/** Mounts a tmpfs of `size` at a fresh folder (root only, where the machine lets us); null when it cannot. */
function mountTmpfs(size: string): string | null {
  if (process.getuid?.() !== 0) return null;
  const dir = join(tempDir(), 'mnt');
  mkdirSync(dir);
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0 ? dir : null;
}
const mounted: string[] = [];
after(() => {
  for (const m of mounted) spawnSync('umount', [m]);
});

test('1. a read-only --out: all six writing commands exit 2 with one line, the old files unchanged', () => {
  const config = writeConfig(tempDir());
  let ro: string;
  const mnt = mountTmpfs('8m');
  if (mnt) {
    mounted.push(mnt);
    cpSync(stages, mnt, { recursive: true });
    assert.equal(spawnSync('mount', ['-o', 'remount,ro', mnt]).status, 0);
    ro = mnt;
  } else if (process.getuid?.() !== 0) {
    ro = copyOfStages();
    spawnSync('chmod', ['a-w', ro]);
  } else {
    assert.fail('running as root where a tmpfs cannot be mounted: no way to make a folder read-only (run as another user, or where mount works)');
  }
  const before = hashes(ro);
  for (const [name, args] of writers(ro, ro, config)) {
    const r = qtool(args);
    oneLine(r, /cannot write in the output folder: (read-only file system \(EROFS\)|permission denied \(EACCES\))/);
    assert.doesNotMatch(r.stderr, /TensorFlow/, name);
  }
  assert.deepEqual(hashes(ro), before);
});

test('1. a full disk (a small tmpfs): exit 2 with one line naming the file, the old set intact, no temporary file left', () => {
  const mnt = mountTmpfs('1m');
  if (!mnt) assert.fail('cannot mount a tmpfs here (needs root and mount): the full-disk check needs one; the injected ENOSPC test covers the write path');
  mounted.push(mnt);
  ok(['calibrate', MLP, ...CALIB, '--method', 'max', '--out', mnt]);
  const old = hashes(mnt);
  // Leave 200 KiB: the probe and the lock fit, calibration.json (about 330 KB) does not.
  const st = statfsSync(mnt);
  writeFileSync(join(mnt, 'filler'), Buffer.alloc(Math.max(0, st.bavail * st.bsize - (200 << 10))));
  const r = qtool(['calibrate', MLP, ...CALIB, '--method', 'mse', '--out', mnt]);
  oneLine(r, /calibration\.json: cannot write it: no space left on device \(ENOSPC\); the files in .* are unchanged/);
  rmSync(join(mnt, 'filler'));
  assert.deepEqual(hashes(mnt), old);
});

test('1. a write failure at the end (injected ENOSPC): one line, exit 2, the old set intact, for calibrate, partial, run and QAT\'s checkpoint', () => {
  const enospc = (file: string) => ({ QTOOL_TEST_FAULTS: `enospc=${file}` });
  const dir = copyOfStages();
  const old = hashes(dir);
  const cal = join(dir, 'calibration.json');
  oneLine(qtool(['calibrate', MLP, ...CALIB, '--method', 'mse', '--out', dir], { env: enospc('model.int8.onnx') }),
    /model\.int8\.onnx: cannot write it: no space left on device \(ENOSPC\); the files in .* are unchanged/);
  oneLine(qtool(['partial', MLP, '--calibration', cal, '--sensitivity', join(dir, 'sensitivity.json'), ...LABELLED, '--keep-float', '2', '--out', dir],
    { env: enospc('partial.json') }), /partial\.json: cannot write it: no space left on device/);
  assert.deepEqual(hashes(dir), old);

  const run = join(tempDir(), 'run');
  const config = writeConfig(tempDir());
  ok(['run', config, '--out', run]);
  const oldRun = hashes(run);
  // (after the run's own progress lines)
  lastLine(qtool(['run', writeConfig(tempDir(), { calibrate: { method: 'mse' } }), '--out', run], { env: enospc('run.json') }),
    /run\.json: cannot write it: no space left on device/);
  assert.deepEqual(hashes(run), oldRun, 'the whole run is one set: nothing of it committed');

  // QAT fails after its first epoch, when the checkpoint is written: still one line (after TensorFlow's own), exit 2.
  const qat = join(tempDir(), 'qat');
  const r = qtool(['qat-finetune', MLP, '--calibration', cal, ...TRAIN, '--epochs', '1', '--out', qat], { env: enospc('qat.checkpoint') });
  lastLine(r, /qat\.checkpoint: cannot write it: no space left on device \(ENOSPC\)/);
  assert.ok(!existsSync(qat), 'the folder it made is gone again: nothing in it');
});

// ---------------------------------------------------------------- 2. a graph with a cycle

test('2. a graph with a cycle or a dangling input: calibrate and run exit 2 with one line, before any stage starts', () => {
  const dir = tempDir();
  const { model } = loadModel(MLP);
  const nodes = model.graph!.node!;
  const gemm = nodes.find((n) => n.op_type === 'Gemm')!;
  const input = gemm.input![0];
  gemm.input![0] = nodes[nodes.length - 1].output![0];
  const cyclic = join(dir, 'cycle.onnx');
  writeFileSync(cyclic, encodeModel(model));
  oneLine(qtool(['calibrate', cyclic, ...CALIB, '--out', join(dir, 'out')]), /cycle\.onnx: invalid graph: the graph has a cycle: \d+ nodes depend on their own output/);
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ model: 'cycle.onnx', data: { calibration: DIGITS('calib_x.npy'), eval: DIGITS('eval_x.npy') }, maxDrop: 0.5 }));
  oneLine(qtool(['run', config, '--out', join(dir, 'out')]), /cycle\.onnx: invalid graph: the graph has a cycle/);
  oneLine(qtool(['eval', cyclic, '--data', DIGITS('eval_x.npy')]), /invalid graph: the graph has a cycle/);
  assert.ok(!existsSync(join(dir, 'out')), 'nothing written');

  gemm.input![0] = 'nowhere';
  const dangling = join(dir, 'dangling.onnx');
  writeFileSync(dangling, encodeModel(model));
  oneLine(qtool(['calibrate', dangling, ...CALIB, '--out', join(dir, 'out')]), /dangling\.onnx: invalid graph: node .* reads 'nowhere', which no node, graph input or initializer defines/);
  gemm.input![0] = input;
});

// ---------------------------------------------------------------- 3. values out of range in a hand-edited report

test('3. a hand-edited calibration.json: zero points outside the type, bad scales and counts are refused by every reader, naming the field', () => {
  const dir = copyOfStages();
  const cal = join(dir, 'calibration.json');
  const original = readFileSync(cal, 'utf8');
  const edit = (f: (c: any) => void) => { const c = JSON.parse(original); f(c); writeFileSync(cal, JSON.stringify(c)); };
  const readers: [string, string[]][] = [
    ['sensitivity', ['sensitivity', MLP, '--calibration', cal, ...LABELLED, '--out', join(tempDir(), 'o')]],
    ['partial', ['partial', MLP, '--calibration', cal, '--sensitivity', join(dir, 'sensitivity.json'), ...LABELLED, '--keep-float', '1', '--out', join(tempDir(), 'o')]],
    ['qat-finetune', ['qat-finetune', MLP, '--calibration', cal, ...TRAIN, '--epochs', '1', '--out', join(tempDir(), 'o')]],
    ['report', ['report', dir, '--out', join(tempDir(), 'r.html')]],
  ];
  const cases: [(c: any) => void, RegExp][] = [
    [(c) => { c.tensors[0].selected.zeroPoint = -5; }, /tensors\.0\.selected\.zeroPoint: zero point -5 is outside uint8's range \[0, 255\]/],
    [(c) => { c.tensors[1].selected.zeroPoint = 300; }, /tensors\.1\.selected\.zeroPoint: zero point 300 is outside uint8's range/],
    [(c) => { c.tensors[0].selected.zeroPoint = 1.5; }, /tensors\.0\.selected\.zeroPoint: /],
    [(c) => { c.tensors[0].selected.scale = 0; }, /tensors\.0\.selected\.scale: /],
    [(c) => { c.tensors[0].selected.scale = -0.1; }, /tensors\.0\.selected\.scale: /],
    [(c) => { c.tensors[0].histogram.count = -1; }, /tensors\.0\.histogram\.count: /],
    [(c) => { c.data.samples = 2.5; }, /data\.samples: /],
  ];
  for (const [f, pattern] of cases) {
    edit(f);
    for (const [name, args] of readers) {
      const r = qtool(args);
      oneLine(r, new RegExp(`calibration\\.json: not a valid report: ${pattern.source}`));
      assert.doesNotMatch(r.stderr, /TensorFlow/, name);
    }
  }
  // A scale of 1e999 is Infinity once parsed.
  writeFileSync(cal, original.replace(/"scale": [0-9.e-]+/, '"scale": 1e999'));
  oneLine(qtool(readers[0][1]), /calibration\.json: not a valid report: tensors\.0\.selected\.scale: /);
  // Within range but not what calibrate wrote there: refused by the folder's manifest.
  edit((c) => { c.tensors[0].selected.zeroPoint = c.tensors[0].selected.zeroPoint === 0 ? 1 : 0; });
  oneLine(qtool(readers[0][1]), /calibration\.json: is not the file qtool calibrate wrote there \(its SHA-256 differs/);
});

test('3. hand-edited sensitivity.json and partial.json: a ranking or float layers that do not add up are refused', () => {
  const dir = copyOfStages();
  const sens = join(dir, 'sensitivity.json');
  const s = JSON.parse(readFileSync(sens, 'utf8'));
  s.ranking = [s.ranking[0], s.ranking[0], s.ranking[2]];
  writeFileSync(sens, JSON.stringify(s));
  oneLine(qtool(['partial', MLP, '--calibration', join(dir, 'calibration.json'), '--sensitivity', sens, ...LABELLED, '--keep-float', '1', '--out', join(tempDir(), 'o')]),
    /sensitivity\.json: not a valid report: ranking: ranks layer '.*' twice/);
  const part = join(dir, 'partial.json');
  const p = JSON.parse(readFileSync(part, 'utf8'));
  p.floatLayers = [p.floatLayers[0], p.floatLayers[0]];
  writeFileSync(part, JSON.stringify(p));
  oneLine(qtool(['qat-finetune', MLP, '--calibration', join(dir, 'calibration.json'), '--partial', part, ...TRAIN, '--out', join(tempDir(), 'o')]),
    /partial\.json: not a valid report: floatLayers: lists '.*' twice/);
});

// ---------------------------------------------------------------- 4. one consistent set

test('4. a mixed set (calibration.json of another run beside this one\'s model and report) is refused by every reader, naming the file', () => {
  const other = join(tempDir(), 'other');
  ok(['calibrate', MLP, ...CALIB, '--method', 'mse', '--out', other]);
  const dir = copyOfStages();
  copyFileSync(join(other, 'calibration.json'), join(dir, 'calibration.json'));
  const mixed = /calibration\.json: is not the file qtool calibrate wrote there \(its SHA-256 differs from the one .*qtool-manifest\.json records\): changed since, or part of a mixed set; re-run qtool calibrate/;
  oneLine(qtool(['sensitivity', MLP, '--calibration', join(dir, 'calibration.json'), ...LABELLED, '--out', join(tempDir(), 'o')]), mixed);
  oneLine(qtool(['report', dir, '--out', join(tempDir(), 'r.html')]), mixed);
  // qtool run's reuse: a stage whose artifacts changed is not reused but run again (see run.test.ts).
});

test('4. the commit protocol in one process: qtool run\'s stages join its transaction and read each other\'s files before the commit; a failure commits nothing', async () => {
  const dir = join(tempDir(), 'out');
  const a = join(dir, 'a.json');
  const b = join(dir, 'sub', 'b.onnx');
  await withOutput(dir, 'run', async () => {
    await withOutput(dir, 'calibrate', async () => writeArtifact(a, '{"a":1}'));
    assert.ok(!existsSync(a), 'not under its name before the commit');
    assert.equal(readArtifact(a).toString(), '{"a":1}', 'but read by the next stage');
    await withOutput(join(dir, 'sub'), 'partial', async () => writeArtifact(b, 'b'));
    assert.ok(existsSync(join(dir, '.qtool.lock')));
  });
  assert.equal(readFileSync(a, 'utf8'), '{"a":1}');
  assert.equal(readFileSync(b, 'utf8'), 'b');
  const top = manifestSchema.parse(JSON.parse(readFileSync(join(dir, 'qtool-manifest.json'), 'utf8')));
  assert.deepEqual(Object.keys(top.files), ['a.json']);
  assert.equal(top.files['a.json'].command, 'calibrate');
  assert.equal(top.files['a.json'].sha256, sha256(Buffer.from('{"a":1}')));
  const sub = manifestSchema.parse(JSON.parse(readFileSync(join(dir, 'sub', 'qtool-manifest.json'), 'utf8')));
  assert.deepEqual(Object.entries(sub.files).map(([f, e]) => [f, e.command]), [['b.onnx', 'partial']]);
  assert.deepEqual(temps(dir), [], 'no temporary file, journal or lock left');

  await assert.rejects(withOutput(dir, 'calibrate', async () => {
    writeArtifact(a, '{"a":2}');
    throw new InputError('stopped');
  }), /stopped/);
  assert.equal(readFileSync(a, 'utf8'), '{"a":1}', 'nothing committed');
  assert.deepEqual(temps(dir), []);
  verifyFolder(dir);
  writeFileSync(b, 'c');
  assert.throws(() => verifyFolder(join(dir, 'sub')), /b\.onnx: is not the file qtool partial wrote there/);
});

/** Starts qtool, kills it with SIGKILL as soon as `when(dir)` holds; resolves when it is gone. */
function killWhen(args: string[], env: Record<string, string>, when: () => boolean): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'qtool.js'), ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: 'ignore' });
    let killed = false;
    const poll = setInterval(() => {
      if (!killed && when()) killed = child.kill('SIGKILL');
    }, 5);
    child.on('error', reject);
    child.on('exit', () => { clearInterval(poll); resolve(killed); });
  });
}

test('4. killed after the commit point: the next reader finishes the commit (the new set); killed before it: the old set, and the next run deletes the temporary files', async () => {
  const slow = { QTOOL_TEST_FAULTS: 'commit-pause=400' };
  const dir = copyOfStages();
  const old = hashes(dir);
  const args = ['calibrate', MLP, ...CALIB, '--method', 'mse', '--out', dir];
  // Killed while the renames are under way (the journal written, the first rename done or pending).
  assert.ok(await killWhen(args, slow, () => existsSync(join(dir, '.qtool-commit.json'))), 'killed during the commit');
  assert.ok(existsSync(join(dir, '.qtool-commit.json')));
  assert.ok(existsSync(join(dir, '.qtool.lock')), 'a stale lock');
  // A reader of a file of the set finishes the commit: the lock's process is gone.
  ok(['sensitivity', MLP, '--calibration', join(dir, 'calibration.json'), ...LABELLED, '--out', join(tempDir(), 'o')]);
  assert.deepEqual(temps(dir), [], 'journal, temporary files and lock gone');
  const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(dir, 'qtool-manifest.json'), 'utf8')));
  const now = hashes(dir);
  for (const f of ['calibration.json', 'model.int8.onnx', 'calibrate.json']) {
    assert.notEqual(now[f], old[f], `${f} is the new one`);
    assert.equal(now[f], manifest.files[f].sha256, `${f} as committed`);
  }
  assert.equal(JSON.parse(readFileSync(join(dir, 'calibration.json'), 'utf8')).selectedMethod, 'mse');
  ok(['report', dir, '--out', join(tempDir(), 'r.html')]);

  // Killed with every file written under its temporary name, before the journal: the old set stays.
  const again = copyOfStages();
  const before = hashes(again);
  assert.ok(await killWhen(['calibrate', MLP, ...CALIB, '--method', 'mse', '--out', again], slow,
    () => readdirSync(again).some((n) => n.startsWith('qtool-manifest.json.') && n.endsWith('.tmp'))));
  assert.ok(!existsSync(join(again, '.qtool-commit.json')));
  const left = temps(again).filter((n) => n.endsWith('.tmp'));
  assert.ok(left.length >= 4, `temporary files left: ${left}`);
  for (const [f, h] of Object.entries(before)) assert.equal(hashes(again)[f], h, `${f} unchanged`);
  ok(['report', again, '--out', join(tempDir(), 'r.html')]);
  ok(['calibrate', MLP, ...CALIB, '--method', 'max', '--out', again]);
  assert.deepEqual(temps(again), [], 'the next run deleted them');
});

test('4. the lock: a second run into a folder in use refuses with one line; a lock whose process is gone is taken over', async () => {
  const dir = copyOfStages();
  const lock = join(dir, '.qtool.lock');
  // Held by a live process (this one).
  writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), startTicks: null, since: '2024-01-01T00:00:00.000Z', command: 'qtool calibrate' }));
  oneLine(qtool(['calibrate', MLP, ...CALIB, '--out', dir]), new RegExp(`: in use by another qtool run \\(pid ${process.pid}, qtool calibrate, since 2024-01-01T00:00:00\\.000Z\\); wait for it to end or use another --out`));
  // Left by a process that has ended.
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  writeFileSync(lock, JSON.stringify({ pid: gone, host: hostname(), startTicks: '1', since: '2024-01-01T00:00:00.000Z', command: 'qtool run' }));
  ok(['calibrate', MLP, ...CALIB, '--out', dir]);
  assert.ok(!existsSync(lock), 'released at the end');

  // Two runs at once: the second refuses while the first works.
  const slow = { QTOOL_TEST_FAULTS: 'commit-pause=500' };
  const first = spawn(process.execPath, [join(repoRoot, 'bin', 'qtool.js'), 'calibrate', MLP, ...CALIB, '--out', dir], { env: { ...process.env, ...slow }, stdio: 'ignore' });
  const done = new Promise<number | null>((resolve) => first.on('exit', resolve));
  while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 10));
  oneLine(qtool(['partial', MLP, '--calibration', join(dir, 'calibration.json'), '--sensitivity', join(dir, 'sensitivity.json'), ...LABELLED, '--keep-float', '1', '--out', dir]),
    new RegExp(`in use by another qtool run \\(pid ${first.pid}, qtool calibrate`));
  assert.equal(await done, 0);
});

// ---------------------------------------------------------------- 5. external data

/** The MLP with every initializer in `weights.bin` beside it (ONNX external data). */
function externalDataModel(dir: string, location = 'weights.bin'): string {
  const { model } = loadModel(MLP);
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const t of model.graph!.initializer!) {
    const { data } = tensorToArray(t);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    t.raw_data = new Uint8Array(0);
    t.float_data = [];
    t.data_location = onnx.TensorProto.DataLocation.EXTERNAL;
    t.external_data = [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(bytes.length) }];
    chunks.push(bytes);
    offset += bytes.length;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat(chunks));
  const path = join(dir, 'model.onnx');
  writeFileSync(path, encodeModel(model));
  return path;
}

test('5. external data is read from beside the model, wherever qtool runs; paths out of the model\'s folder and ranges beyond the file are refused', () => {
  const top1 = (r: CliResult) => evalReportSchema.parse(JSON.parse(r.stdout)).top1;
  const expected = top1(ok(['eval', MLP, ...LABELLED, '--json']));
  const model = externalDataModel(join(tempDir(), 'm'));
  const elsewhere = tempDir();
  assert.equal(top1(ok(['eval', model, ...LABELLED, '--json'], { cwd: elsewhere })), expected);
  // A file of the same name in the working directory is not used.
  writeFileSync(join(elsewhere, 'weights.bin'), Buffer.alloc(readFileSync(join(model, '..', 'weights.bin')).length));
  assert.equal(top1(ok(['eval', model, ...LABELLED, '--json'], { cwd: elsewhere })), expected);
  ok(['calibrate', model, ...CALIB, '--out', join(tempDir(), 'o')], { cwd: elsewhere });
  // qtool run's report and its stages' describe the model by the same SHA-256 (weights included): report reads them together.
  const run = join(tempDir(), 'run');
  const config = join(elsewhere, 'config.json');
  writeFileSync(config, JSON.stringify({ model, data: { calibration: DIGITS('calib_x.npy'), eval: DIGITS('eval_x.npy'), evalLabels: DIGITS('eval_y.npy') }, maxDrop: 0.5 }));
  ok(['run', config, '--out', run], { cwd: elsewhere });
  ok(['report', run], { cwd: elsewhere });

  const edit = (f: (t: onnx.ITensorProto) => void) => {
    const m = onnx.ModelProto.decode(readFileSync(model));
    f(m.graph!.initializer![0]);
    const p = join(model, '..', 'edited.onnx');
    writeFileSync(p, onnx.ModelProto.encode(m).finish());
    return p;
  };
  const setKey = (key: string, value: string) => (t: onnx.ITensorProto) => { t.external_data!.find((e) => e.key === key)!.value = value; };
  const outside = join(tempDir(), 'outside.bin');
  copyFileSync(join(model, '..', 'weights.bin'), outside);
  oneLine(qtool(['eval', edit(setKey('location', '../outside.bin')), ...LABELLED]), /edited\.onnx: tensor '.*': external data location '\.\.\/outside\.bin' leaves the model's folder/);
  oneLine(qtool(['eval', edit(setKey('location', outside)), ...LABELLED]), /edited\.onnx: tensor '.*': external data is at the absolute path .* it must be a path relative to the model's folder/);
  symlinkSync(outside, join(model, '..', 'link.bin'));
  oneLine(qtool(['eval', edit(setKey('location', 'link.bin')), ...LABELLED]), /external data location 'link\.bin' leads out of the model's folder \(a symbolic link\)/);
  oneLine(qtool(['eval', edit(setKey('offset', '100000000')), ...LABELLED]), /external data bytes \[100000000, \d+\) lie beyond the end of 'weights\.bin'/);
  oneLine(qtool(['eval', edit(setKey('length', '12')), ...LABELLED]), /external data is 12 bytes long, the tensor's dims \[\d+,\d+\] need \d+/);
  oneLine(qtool(['eval', edit(setKey('location', 'missing.bin')), ...LABELLED]), /external data file 'missing\.bin' is missing beside the model/);
});

// ---------------------------------------------------------------- 6 and 8: report's final model, QAT's checkpoint

let qatDir: string;
before(() => {
  qatDir = join(tempDir(), 'qat');
  cpSync(stages, qatDir, { recursive: true });
  ok(['qat-finetune', MLP, '--calibration', join(qatDir, 'calibration.json'), '--partial', join(qatDir, 'partial.json'), ...TRAIN,
    '--epochs', '1', '--out', qatDir]);
});

test('6. report refuses a broken final model: empty, or deleted (never a file of that name in another folder), with or without the manifest', () => {
  ok(['report', qatDir, '--out', join(tempDir(), 'r.html')]);
  const copy = () => { const d = join(tempDir(), 'copy'); cpSync(qatDir, d, { recursive: true }); return d; };
  const page = () => join(tempDir(), 'r.html');

  const empty = copy();
  truncateSync(join(empty, 'model.qat.onnx'), 0);
  oneLine(qtool(['report', empty, '--out', page()]), /model\.qat\.onnx: is not the file qtool qat-finetune wrote there/);
  rmSync(join(empty, 'qtool-manifest.json'));
  oneLine(qtool(['report', empty, '--out', page()]), /model\.qat\.onnx: is empty, expected an ONNX model/);

  // qat.json records the model's path in qatDir; the copy has lost its own.
  const deleted = copy();
  rmSync(join(deleted, 'model.qat.onnx'));
  oneLine(qtool(['report', deleted, '--out', page()]), /model\.qat\.onnx: missing; .*qtool-manifest\.json lists it \(written by qtool qat-finetune\)/);
  rmSync(join(deleted, 'qtool-manifest.json'));
  oneLine(qtool(['report', deleted, '--out', page()]), /qat\.json: names the model model\.qat\.onnx, which is not in /);
});

test('8. a corrupted QAT checkpoint (1,000 bytes flipped) is refused with the checkpoint named, before TensorFlow starts', () => {
  const dir = join(tempDir(), 'ckpt');
  cpSync(qatDir, dir, { recursive: true });
  const path = join(dir, 'qat.checkpoint');
  const good = readFileSync(path);
  assert.equal(readCheckpoint(path).state.epoch, 1);
  const args = ['qat-finetune', MLP, '--calibration', join(dir, 'calibration.json'), '--partial', join(dir, 'partial.json'), ...TRAIN, '--epochs', '1', '--resume', '--out', dir];
  const rng = mulberry32(16);
  const headerEnd = good.indexOf(0x0a) + 1;
  // In the tensor data (where nothing else would notice), then anywhere.
  for (const [from, to] of [[headerEnd, good.length - 32], [0, good.length]]) {
    const bad = Buffer.from(good);
    for (let i = 0; i < 1000; i++) bad[from + Math.floor(rng() * (to - from))] ^= 1 + Math.floor(rng() * 255);
    writeFileSync(path, bad);
    oneLine(qtool(args), /qat\.checkpoint: not a valid qtool QAT checkpoint: /);
  }
  writeFileSync(path, good);
  ok(args);
  // One digit of the header changed (valid JSON still): the checksum covers the header too.
  const text = good.subarray(0, headerEnd).toString('latin1').replace(/"epoch":1,/, '"epoch":2,');
  assert.throws(() => decodeCheckpoint(path, Buffer.concat([Buffer.from(text, 'latin1'), good.subarray(headerEnd)])), /does not match its checksum/);
});

// ---------------------------------------------------------------- 7. partial with another calibration's ranking

test('7. partial refuses a sensitivity.json measured with another calibration, naming both files; the same decisions pass', () => {
  const other = join(tempDir(), 'other');
  ok(['calibrate', MLP, ...CALIB, '--method', 'mse', '--out', other]);
  const sens = join(stages, 'sensitivity.json');
  oneLine(qtool(['partial', MLP, '--calibration', join(other, 'calibration.json'), '--sensitivity', sens, ...LABELLED, '--keep-float', '1', '--out', join(tempDir(), 'o')]),
    new RegExp(`${sens.replace(/[.\\/]/g, '\\$&')}: was measured with another calibration \\(.*\\) than ${join(other, 'calibration.json').replace(/[.\\/]/g, '\\$&')}; re-run qtool sensitivity`));
  // The same calibration made again (another command line, the same ranges) fits the ranking.
  const same = join(tempDir(), 'same');
  ok(['calibrate', MLP, ...CALIB, '--method', 'max', '--json', '--out', same]);
  assert.notEqual(sha256(readFileSync(join(same, 'calibration.json'))), sha256(readFileSync(join(stages, 'calibration.json'))));
  ok(['partial', MLP, '--calibration', join(same, 'calibration.json'), '--sensitivity', sens, ...LABELLED, '--keep-float', '1', '--out', join(tempDir(), 'o')]);
});

// ---------------------------------------------------------------- smaller items

test('a directory as --data says so', () => {
  oneLine(qtool(['eval', MLP, '--data', repoPath('samples', 'digits')]), /digits: is a folder without PNG, JPEG or WebP images; --data takes a \.npy or \.npz file/);
  oneLine(qtool(['calibrate', MLP, '--data', repoPath('samples', 'digits'), '--out', join(tempDir(), 'o')]), /digits: is a folder without PNG, JPEG or WebP images/);
});

test('qtool run checks its inputs before the first stage: the error is the first and only line', () => {
  const dir = tempDir();
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ model: MLP, data: { calibration: repoPath('samples', 'mnist', 'calib_x.npy'), eval: DIGITS('eval_x.npy') }, maxDrop: 0.5 }));
  oneLine(qtool(['run', config, '--out', join(dir, 'out')]), /calib_x\.npy: shape \[\d+,1,28,28\] does not fit input 'input'/);
  assert.ok(!existsSync(join(dir, 'out')), 'nothing written');
});

test('an internal error exits 70 with one line saying it is a bug; QTOOL_DEBUG=1 adds the stack', () => {
  const r = qtool(['inspect', MLP], { env: { QTOOL_TEST_FAULTS: 'bug' } });
  oneLine(r, /^qtool: internal error: injected internal error .*a bug in qtool .*please report it .*QTOOL_DEBUG=1 prints the stack/, 70);
  const d = qtool(['inspect', MLP], { env: { QTOOL_TEST_FAULTS: 'bug', QTOOL_DEBUG: '1' } });
  assert.equal(d.code, 70);
  assert.match(d.stderr, /\n\s+at .*:\d+/, 'the stack');
});
