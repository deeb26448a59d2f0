// qtool as a package people install (slow: npm pack with its build and two npm
// installs of the tarball, a few minutes on 2 cores).
// `npm pack` on a copy of the checkout without dist/ (so prepack has to
// build), then the tarball installed the way a user would, with the npm
// registry as the only network: into a fresh project (`npx qtool run` on the
// bundled config) and globally with a temporary --prefix. The composite
// action's shell steps then run against that global qtool. Also: action.yml
// against the GitHub Actions schema and its inputs and steps, and a report
// from a newer qtool refused in one line.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateAction, validateWorkflow } from '@action-validator/core';
import { readReport } from '../../src/report/io.js';
import { calibrateReportSchema } from '../../src/report/schemas/calibrate.js';
import { doctorReportSchema } from '../../src/report/schemas/doctor.js';
import { runReportSchema } from '../../src/report/schemas/run.js';
import { repoPath, repoRoot, runQtool, tempDir } from '../lib/helpers.js';

const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { name: string; version: string };

interface Run { code: number; stdout: string; stderr: string; seconds: number }

/** The environment without the variables an enclosing `npm test` sets, so nested npm commands see only the user's config. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase())));
  return { ...env, FORCE_COLOR: '0', ...extra };
}

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()): Run {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : ''), seconds: (Date.now() - started) / 1000 };
}

const tail = (r: Run) => `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;

const work = tempDir('qtool-package-');
// Two installs' node_modules are a few hundred MB: removed unless QTOOL_KEEP_TEST_DIRS=1.
after(() => {
  if (process.env.QTOOL_KEEP_TEST_DIRS !== '1') rmSync(work, { recursive: true, force: true });
});
let tarball = '';
let globalBin = '';
let globalRoot = '';

/** Packs the checkout once (for the tests that install it). */
function packed(): string {
  if (!tarball) pack();
  return tarball;
}

function pack(): void {
  // A copy of the checkout as git would hand it over: no node_modules (linked), no dist/.
  const src = join(work, 'checkout');
  const skip = new Set(['node_modules', 'dist', '.git', 'qtool-out']);
  cpSync(repoRoot, src, {
    recursive: true,
    filter: (from) => {
      const rel = relative(repoRoot, from);
      return !rel.split('/').some((part) => skip.has(part)) && !rel.startsWith(join('bench', 'out')) && !rel.endsWith('.tgz');
    },
  });
  symlinkSync(realpathSync(repoPath('node_modules')), join(src, 'node_modules'));
  const r = sh('npm', ['pack', '--json', '--pack-destination', work], src);
  assert.equal(r.code, 0, `npm pack:\n${tail(r)}`);
  const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  tarball = join(work, info.filename);
  const files = info.files.map((f) => f.path);
  process.stderr.write(`# npm pack (prepack build included): ${r.seconds.toFixed(0)} s; ${info.filename}: ${(info.size / 1e3).toFixed(0)} kB, ${files.length} files, ${(info.unpackedSize / 1e6).toFixed(2)} MB unpacked\n`);

  for (const f of ['bin/qtool.js', 'dist/src/cli/main.js', 'dist/src/onnx/proto/onnx.js', 'scripts/install-tfjs-native.mjs',
    'scripts/onnxruntime-offline.mjs', 'scripts/reachable.mjs', 'configs/mlp.json', 'samples/mlp/model.onnx',
    'samples/digits/calib_x.npy', 'samples/digits/eval_x.npy', 'samples/digits/eval_y.npy', 'samples/digits/train_x.npy',
    'samples/digits/train_y.npy', 'README.md', 'CHANGELOG.md', 'package.json']) {
    assert.ok(files.includes(f), `the tarball holds ${f}`);
  }
  const unwanted = files.filter((f) => /^(test|bench|src|\.ci)\/|^dist\/(test|bench)\/|\.map$|\.ts$|^samples\/mnist\/|^configs\/(resnet|mobilenet|transformer)|^scripts\/(compare-reports|report-snapshot)/.test(f));
  assert.deepEqual(unwanted, [], 'no tests, benchmarks, sources, source maps or MNIST data');
  assert.ok(info.size < 1e6, `a small tarball (${info.size} bytes)`);
}

test('installed into another project, `npx qtool run` on the bundled config meets its budget', () => {
  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2));
  const install = sh('npm', ['install', '--save-dev', '--no-audit', '--no-fund', '--prefer-offline', packed()], project);
  process.stderr.write(`# npm install --save-dev <tarball>: ${install.seconds.toFixed(0)} s\n`);
  assert.equal(install.code, 0, `npm install:\n${tail(install)}`);
  const saved = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  assert.ok(saved.devDependencies.qtool, 'saved as a devDependency');

  const version = sh('npx', ['--no', '--', 'qtool', '--version'], project);
  assert.equal(version.code, 0, tail(version));
  assert.equal(version.stdout.trim(), pkg.version);

  // Native TensorFlow or the pure-JS fallback, depending on what this machine reaches: either way doctor answers.
  const doctor = sh('npx', ['--no', '--', 'qtool', 'doctor', '--json'], project);
  assert.equal(doctor.code, 0, tail(doctor));
  const d = doctorReportSchema.parse(JSON.parse(doctor.stdout));
  assert.ok(d.onnxruntime.loads, 'onnxruntime-node loads');
  process.stderr.write(`# tfjs backend in the project: ${d.tfjs.backend}${d.tfjs.fallbackReason ? ` (${d.tfjs.fallbackReason})` : ''}\n`);

  const run = sh('npx', ['--no', '--', 'qtool', 'run', 'node_modules/qtool/configs/mlp.json', '--out', 'qtool-out', '--json'], project);
  assert.equal(run.code, 0, `npx qtool run:\n${tail(run)}`);
  const report = runReportSchema.parse(JSON.parse(run.stdout));
  assert.equal(report.final.metBudget, true);
  assert.ok(existsSync(join(project, 'qtool-out', report.final.model)), 'the final model is written');
});

test('installed globally with a temporary --prefix, `qtool run` on the bundled config meets its budget', () => {
  const prefix = join(work, 'global');
  const install = sh('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', packed()], work);
  process.stderr.write(`# npm install -g --prefix <tmp> <tarball>: ${install.seconds.toFixed(0)} s\n`);
  assert.equal(install.code, 0, `npm install -g:\n${tail(install)}`);
  globalBin = join(prefix, 'bin');
  const env = cleanEnv({ PATH: `${globalBin}:${process.env.PATH}` });

  const help = sh('qtool', ['--help'], work, env);
  assert.equal(help.code, 0, tail(help));
  for (const c of ['run', 'report', 'doctor', 'setup']) assert.match(help.stdout, new RegExp(`^  ${c} `, 'm'));

  globalRoot = sh('npm', ['root', '-g', '--prefix', prefix], work, env).stdout.trim();
  const elsewhere = join(work, 'elsewhere');
  mkdirSync(elsewhere);
  const run = sh('qtool', ['run', join(globalRoot, 'qtool', 'configs', 'mlp.json'), '--out', 'q'], elsewhere, env);
  assert.equal(run.code, 0, `qtool run:\n${tail(run)}`);
  assert.match(run.stdout, /within the budget/);
  assert.ok(existsSync(join(elsewhere, 'q', 'run.json')));
});

interface Step { name?: string; id?: string; if?: string; uses?: string; run?: string; shell?: string; env?: Record<string, string>; with?: Record<string, string>; 'working-directory'?: string }
interface Action {
  name: string; description: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: Step[] };
}

const actionText = readFileSync(repoPath('action.yml'), 'utf8');
const action = parseYaml(actionText) as Action;

test('action.yml: valid against the GitHub Actions schema, with config and out inputs, qtool run as the result and the output uploaded', () => {
  assert.deepEqual(validateAction(actionText).errors, []);
  assert.equal(action.runs.using, 'composite');
  assert.equal(action.inputs.config.required, true);
  assert.equal(action.inputs.out.default, 'qtool-out');
  assert.ok(action.inputs['node-version']);

  // Every input and step output it refers to exists; every shell step names its shell (composite actions require it).
  const ids = new Set(action.runs.steps.map((s) => s.id).filter(Boolean));
  for (const [, name] of actionText.matchAll(/\$\{\{[^}]*\binputs\.([\w-]+)/g)) assert.ok(action.inputs[name!], `input ${name} is declared`);
  for (const [, id] of actionText.matchAll(/\$\{\{[^}]*\bsteps\.([\w-]+)\./g)) assert.ok(ids.has(id!), `step ${id} exists`);
  for (const s of action.runs.steps) if (s.run) assert.equal(s.shell, 'bash', `${s.name} has shell: bash`);

  const index = (pred: (s: Step) => boolean, what: string) => {
    const i = action.runs.steps.findIndex(pred);
    assert.ok(i >= 0, what);
    return i;
  };
  const setup = index((s) => s.uses?.startsWith('actions/setup-node@') === true, 'sets up Node.js');
  const install = index((s) => /npm ci/.test(s.run ?? '') && s['working-directory'] === '${{ github.action_path }}', 'installs qtool from the action\'s checkout');
  const run = index((s) => /qtool run "\$QTOOL_CONFIG" --out "\$QTOOL_OUT"/.test(s.run ?? ''), 'runs qtool run');
  const runStep = action.runs.steps[run]!;
  assert.equal(runStep.env?.QTOOL_CONFIG, '${{ inputs.config }}');
  assert.equal(runStep.env?.QTOOL_OUT, '${{ inputs.out }}');
  assert.equal(runStep.if, undefined, 'qtool run\'s exit code is the step\'s result');
  const report = index((s) => /qtool report "\$QTOOL_OUT"/.test(s.run ?? ''), 'makes report.html');
  const upload = index((s) => s.uses?.startsWith('actions/upload-artifact@') === true, 'uploads the output');
  assert.equal(action.runs.steps[upload]!.with?.path, '${{ inputs.out }}');
  assert.ok(setup < install && install < run && run < report && report < upload);
  for (const s of action.runs.steps.slice(run + 1)) assert.match(s.if ?? '', /always\(\)/, `${s.name} runs when the budget is missed too`);
});

test('the examples are valid workflows, and the one that uses the action passes only inputs it declares', () => {
  for (const f of ['github-actions-qtool.yml', 'github-actions-qtool-action.yml', 'github-actions-sensitivity-matrix.yml']) {
    assert.deepEqual(validateWorkflow(readFileSync(repoPath('examples', f), 'utf8')).errors, [], f);
  }
  // The sweep's matrix lists shards 1..SHARDS, and every shard's command says /$SHARDS.
  const sweep = parseYaml(readFileSync(repoPath('examples', 'github-actions-sensitivity-matrix.yml'), 'utf8')) as {
    env: Record<string, string | number>; jobs: Record<string, { strategy?: { matrix: { shard: number[] } }; steps: Step[] }>;
  };
  const n = Number(sweep.env.SHARDS);
  assert.deepEqual(sweep.jobs.sensitivity!.strategy!.matrix.shard, Array.from({ length: n }, (_, i) => i + 1));
  assert.ok(sweep.jobs.sensitivity!.steps.some((s) => /--shard \$\{\{ matrix\.shard \}\}\/\$SHARDS/.test(s.run ?? '')));
  assert.ok(sweep.jobs['merge-and-partial']!.steps.some((s) => /qtool sensitivity-merge /.test(s.run ?? '')));
  const wf = parseYaml(readFileSync(repoPath('examples', 'github-actions-qtool-action.yml'), 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
  const uses = Object.values(wf.jobs).flatMap((j) => j.steps).filter((s) => /\/qtool@/.test(s.uses ?? ''));
  assert.equal(uses.length, 1);
  for (const key of Object.keys(uses[0]!.with ?? {})) assert.ok(action.inputs[key], `${key} is an input of action.yml`);
  for (const [name, input] of Object.entries(action.inputs)) if (input.required) assert.ok(uses[0]!.with?.[name], `${name} given`);
});

test('the action\'s qtool steps, run as the runner would with the globally installed qtool: within budget, report.html, outputs', (t) => {
  if (!globalBin) return t.skip('needs the global install above');
  const workspace = join(work, 'workspace');
  mkdirSync(workspace);
  // The config the package ships, by its path in the global install.
  const inputs: Record<string, string> = { config: join(globalRoot, 'qtool', 'configs', 'mlp.json'), out: 'out' };
  const githubOutput = join(work, 'github-output');
  const summary = join(work, 'step-summary');
  writeFileSync(githubOutput, '');
  const expand = (v: string) => v.replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (_m, k: string) => inputs[k] ?? action.inputs[k]?.default ?? '');
  for (const name of ['What qtool runs on', 'Quantize within the accuracy budget', 'HTML report', 'Result']) {
    const step = action.runs.steps.find((s) => s.name === name);
    assert.ok(step?.run, name);
    const env = cleanEnv({
      PATH: `${globalBin}:${process.env.PATH}`, GITHUB_OUTPUT: githubOutput, GITHUB_STEP_SUMMARY: summary,
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(v)])),
    });
    const r = sh('bash', ['-e', '-o', 'pipefail', '-c', step.run], workspace, env);
    assert.equal(r.code, 0, `${name}:\n${tail(r)}`);
  }
  assert.ok(existsSync(join(workspace, 'out', 'report.html')));
  const outputs = Object.fromEntries(readFileSync(githubOutput, 'utf8').trim().split('\n').map((l) => l.split('=') as [string, string]));
  assert.deepEqual(outputs, { 'met-budget': 'true', 'final-model': join('out', 'model.int8.onnx'), report: join('out', 'report.html') });
  assert.match(readFileSync(summary, 'utf8'), /### qtool: within the budget/);
});

test('a report written by a newer qtool (a newer schema major) is refused in one line naming the file and both versions, exit code 2', () => {
  const out = join(tempDir(), 'q');
  const made = runQtool(['calibrate', repoPath('samples', 'mlp', 'model.onnx'), '--data', repoPath('samples', 'digits', 'calib_x.npy'), '--out', out]);
  assert.equal(made.code, 0, made.stderr);
  const file = join(out, 'calibrate.json');
  const current = JSON.parse(readFileSync(file, 'utf8')) as { schema: string; qtoolVersion: string };
  assert.equal(current.schema, 'qtool/calibrate@2');
  writeFileSync(file, JSON.stringify({ ...current, schema: 'qtool/calibrate@3', qtoolVersion: '9.0.0', renamedField: true }));

  assert.throws(() => readReport(file, calibrateReportSchema), (e: Error & { exitCode?: number }) => e.exitCode === 2
    && e.message === `${file}: is qtool/calibrate@3, written by qtool 9.0.0; qtool ${pkg.version} reads qtool/calibrate@2 and older: upgrade qtool to read it`);

  const r = runQtool(['report', out]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /calibrate\.json: is qtool\/calibrate@3, written by qtool 9\.0\.0; qtool \d+\.\d+\.\d+ reads qtool\/calibrate@2/);

  // Another kind of report where one is expected is named as such too.
  writeFileSync(file, JSON.stringify({ ...current, schema: 'qtool/partial@2' }));
  const other = runQtool(['report', out]);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /calibrate\.json: not a valid report: schema: qtool\/partial@2, expected qtool\/calibrate@2/);
});
