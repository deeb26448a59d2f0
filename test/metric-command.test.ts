// The user's own metric (--metric-command, a run config's `metric`): the
// CommandScorer on its own (parsing, direction, failures, the timeout, the
// FP32 cache), then calibrate, partial and run scoring with a command, checked
// against qtool's built-in top-1 on the same data (the command is an
// independent implementation: test/lib/metric-commands/top1.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CommandScorer, commandFor, lastNumber, METRIC_CACHE_FILE, type MetricCommand } from '../src/metrics/command-scorer.js';
import { commandFiles } from '../src/metrics/command-files.js';
import { InputError } from '../src/util/errors.js';
import { sha256 } from '../src/util/files.js';
import { calibrateReportSchema, type CalibrateReport } from '../src/report/schemas/calibrate.js';
import { partialReportSchema } from '../src/report/schemas/partial.js';
import { sensitivityReportSchema } from '../src/report/schemas/sensitivity.js';
import { qatReportSchema } from '../src/report/schemas/qat.js';
import { reportResultSchema } from '../src/report/schemas/report.js';
import { expectBadInput, repoPath, runQtool, tempDir } from './lib/helpers.js';
import { run, writeConfig } from './lib/qtool-run.js';

const MLP = repoPath('samples', 'mlp', 'model.onnx');
const DIGITS = (f: string) => repoPath('samples', 'digits', f);
const TOP1 = repoPath('test', 'lib', 'metric-commands', 'top1.mjs');
const q = (p: string) => JSON.stringify(p);
/** The command form of the independent top-1 (or error rate) on the digits' evaluation split. */
const top1Command = (error = false) => `node ${q(TOP1)} {model} ${q(DIGITS('eval_x.npy'))} ${q(DIGITS('eval_y.npy'))}${error ? ' --error' : ''}`;

/** A node script in `dir` whose body is `code` (argv[2] is the model path), and the command that runs it. */
function script(dir: string, name: string, code: string): string {
  const path = join(dir, name);
  writeFileSync(path, `const model = process.argv[2];\n${code}\n`);
  return `node ${q(path)} {model}`;
}

const spec = (command: string, more: Partial<MetricCommand> = {}): MetricCommand => ({ command, name: 'score', higherIsBetter: true, timeoutSeconds: 60, ...more });
const fp32 = readFileSync(MLP);
/** A candidate 100 bytes longer than the FP32 model (the size script's score). */
const longer = new Uint8Array([...fp32, ...new Uint8Array(100)]);

/** Whether a process runs (a zombie, gone but not yet reaped, does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- the scorer

test('the last number on stdout is the score; {model} becomes one quoted shell word', () => {
  assert.equal(lastNumber('loaded 300 lines\nexact match %: 96.00\n'), 96);
  assert.equal(lastNumber('cer=1.5e-2 (lower is better)'), 0.015);
  assert.equal(lastNumber('-3 then .5'), 0.5);
  assert.equal(lastNumber('no score'), undefined);
  const odd = "a dir/it's $HOME `x`.onnx";
  const r = spawnSync(commandFor('printf %s {model}', odd), { shell: true, encoding: 'utf8' });
  assert.equal(r.stdout, odd);
});

test('CommandScorer: FP32 scored once, candidates against it; lower-is-better counts the rise as the drop', async () => {
  const dir = tempDir();
  const size = script(dir, 'size.mjs', "const fs = await import('node:fs'); console.log('bytes:', fs.statSync(model).size);");
  const higher = await CommandScorer.create(fp32, 'fp32', spec(size), join(dir, 'a'));
  assert.equal(higher.fp32, fp32.length);
  const s = await higher.score(longer, 'longer');
  assert.equal(s.value, fp32.length + 100);
  assert.equal(s.drop, -100, 'higher is better: a larger score is a negative drop');
  const lower = await CommandScorer.create(fp32, 'fp32', spec(size, { higherIsBetter: false }), join(dir, 'b'));
  assert.equal((await lower.score(longer, 'longer')).drop, 100, 'lower is better: the rise is the drop');
  const cost = lower.cost();
  assert.equal(cost.runs, 2, 'FP32 and one candidate');
  assert.equal(cost.fp32Cached, false);
  assert.ok(cost.seconds > 0);
  assert.equal(lower.metric.higherIsBetter, false);
});

test('CommandScorer: FP32\'s score is cached by model hash and command in the folder given', async () => {
  const dir = tempDir();
  const counter = join(dir, 'runs.txt');
  const cmd = script(dir, 'count.mjs', `const fs = await import('node:fs'); fs.appendFileSync(${q(counter)}, 'x'); console.log(42);`);
  const first = await CommandScorer.create(fp32, 'fp32', spec(cmd), dir);
  assert.equal(first.fp32Cached, false);
  assert.ok(existsSync(join(dir, METRIC_CACHE_FILE)));
  const second = await CommandScorer.create(fp32, 'fp32', spec(cmd), dir);
  assert.equal(second.fp32Cached, true);
  assert.equal(second.fp32, 42);
  assert.equal(second.cost().runs, 0);
  assert.equal(readFileSync(counter, 'utf8'), 'x', 'the command ran once');
  // Another model, or another command, is measured.
  assert.equal((await CommandScorer.create(longer, 'other model', spec(cmd), dir)).fp32Cached, false);
  assert.equal((await CommandScorer.create(fp32, 'fp32', spec(`${cmd} --again`), dir)).fp32Cached, false);
  // A damaged cache is measured again, not an error.
  writeFileSync(join(dir, METRIC_CACHE_FILE), '{not json');
  assert.equal((await CommandScorer.create(fp32, 'fp32', spec(cmd), dir)).fp32Cached, false);
  assert.equal(readFileSync(counter, 'utf8'), 'xxxx');
});

test('CommandScorer: editing a file the command names (its script, its data) measures FP32 again; unchanged files hit the cache', async () => {
  const dir = tempDir();
  const data = join(dir, 'threshold.txt');
  writeFileSync(data, '1\n');
  const body = (score: number) => `console.log(${score} * Number((await import('node:fs')).readFileSync(process.argv[3], 'utf8')));`;
  const cmd = `${script(dir, 'score.mjs', body(7))} ${q(data)}`;
  const fp32Of = async () => CommandScorer.create(fp32, 'fp32', spec(cmd), dir);
  assert.deepEqual([(await fp32Of()).fp32, (await fp32Of()).fp32Cached], [7, true], 'scored once, then cached');
  writeFileSync(join(dir, 'score.mjs'), `const model = process.argv[2];\n${body(8)}\n`);
  const edited = await fp32Of();
  assert.deepEqual([edited.fp32, edited.fp32Cached], [8, false], 'the edited script is run: same command text, new score');
  assert.equal((await fp32Of()).fp32Cached, true);
  writeFileSync(data, '2\n');
  assert.deepEqual([(await fp32Of()).fp32, (await fp32Of()).fp32Cached], [16, true], 'a data file it names counts too');
  // Relative words resolve against the folder the command runs in (qtool's), as the shell resolves them.
  assert.deepEqual(commandFiles(`node ${relative(process.cwd(), data)} {model} --flag node`, process.cwd()).map((f) => f.sha256), [sha256(readFileSync(data))]);
  assert.deepEqual(commandFiles(`x '${data}' "${data}" ${data}.missing {model}`, '/').map((f) => f.word), [`'${data}'`, `"${data}"`]);
});

test('CommandScorer: a failing command is one line with its exit code and the end of its stderr; a silent one says it printed no number', async () => {
  const dir = tempDir();
  const failing = script(dir, 'fail.mjs', "console.log('50'); console.error('loading model'); console.error('Error: bad magic number'); process.exit(3);");
  const e = await CommandScorer.create(fp32, 'model.onnx (FP32)', spec(failing), dir).then(() => null, (x: unknown) => x);
  assert.ok(e instanceof InputError);
  assert.match(e.message, /^metric command failed \(exit code 3\) on model\.onnx \(FP32\): loading model \| Error: bad magic number$/);
  assert.doesNotMatch(e.message, /\n/);
  const silent = script(dir, 'silent.mjs', "console.log('done');");
  await assert.rejects(CommandScorer.create(fp32, 'fp32', spec(silent), dir), (x: Error) => x instanceof InputError && /printed no number on stdout on fp32 .*nothing on stderr/.test(x.message));
  await assert.rejects(CommandScorer.create(fp32, 'fp32', spec('echo 1'), dir), /does not mention \{model\}/);
  assert.ok(!existsSync(join(dir, METRIC_CACHE_FILE)), 'no failure is cached');
});

test('CommandScorer: a command running past the timeout is stopped with its whole process group', async () => {
  const dir = tempDir();
  const pidFile = join(dir, 'pid');
  // The shell starts a grandchild and waits for it: both must go.
  const cmd = `sleep 30 & echo $! > ${q(pidFile)}; wait; echo {model}`;
  const t0 = performance.now();
  await assert.rejects(CommandScorer.create(fp32, 'fp32', spec(cmd, { timeoutSeconds: 1 }), dir),
    (x: Error) => x instanceof InputError && /ran longer than --metric-timeout 1 s on fp32 and was stopped/.test(x.message));
  assert.ok(performance.now() - t0 < 10_000, 'stopped at the timeout, not when sleep ended');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(alive(pid), false, 'the grandchild was killed');
});

test('stopping qtool (SIGTERM) while a metric command runs stops the command\'s process group too', async () => {
  const dir = tempDir();
  const pidFile = join(dir, 'pid');
  const cmd = `sleep 30 & echo $! > ${q(pidFile)}; wait; echo {model}`;
  const child = spawn(process.execPath, [repoPath('bin', 'qtool.js'), 'calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--method', 'max',
    '--select', 'best', '--metric-command', cmd, '--out', join(dir, 'out')], { stdio: 'ignore' });
  for (let i = 0; i < 300 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 200)); // the pid is written
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
  child.kill('SIGTERM');
  assert.equal(await exited, 'SIGTERM', 'qtool still ends by the signal');
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(alive(pid), false, 'the command\'s grandchild was killed');
});

// ---------------------------------------------------------------- the stages

function calibrateJson(out: string, extra: string[]): CalibrateReport {
  const r = runQtool(['calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--method', 'max,percentile,mse', '--percentile', '99,99.999', ...extra, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return calibrateReportSchema.parse(JSON.parse(r.stdout));
}

test('calibrate --select best ranks the methods by the command\'s metric, either direction; FP32 is scored once per folder', () => {
  const builtIn = calibrateJson(join(tempDir(), 'out'), ['--eval', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy')]);
  const out = join(tempDir(), 'out');
  const cmd = calibrateJson(out, ['--metric-command', top1Command(), '--metric-name', 'digits-top1', '--select', 'best']);
  assert.equal(cmd.metric?.name, 'digits-top1');
  assert.equal(cmd.metricCommand?.fp32, builtIn.fp32.top1, 'the command\'s FP32 top-1 is qtool\'s');
  for (const m of cmd.methods) {
    assert.equal(m.value, builtIn.methods.find((b) => b.method === m.method)!.top1, `${m.method}: the command's top-1 is qtool's`);
    assert.equal(m.drop, cmd.metricCommand!.fp32 - m.value!);
  }
  const best = Math.max(...cmd.methods.map((m) => m.value!));
  assert.equal(cmd.methods.find((m) => m.method === cmd.selected.method)!.value, best);
  assert.match(cmd.selected.reason, /best digits-top1 from the metric command/);
  assert.equal(cmd.metricCommand!.runs, cmd.methods.length + 1);
  assert.equal(cmd.metricCommand!.fp32Cached, false);

  // Again in the same folder: FP32 comes from the cache.
  const again = calibrateJson(out, ['--metric-command', top1Command(), '--metric-name', 'digits-top1', '--select', 'best']);
  assert.equal(again.metricCommand!.fp32Cached, true);
  assert.equal(again.metricCommand!.runs, again.methods.length);

  // The error rate, lower is better: the same choice by the lowest value.
  const err = calibrateJson(join(tempDir(), 'out'), ['--metric-command', top1Command(true), '--metric-name', 'error', '--metric-lower-is-better', '--select', 'best']);
  assert.equal(err.metric?.higherIsBetter, false);
  for (const m of err.methods) assert.ok(Math.abs(m.drop! - (m.value! - err.metricCommand!.fp32)) < 1e-9, 'the drop is the rise');
  assert.equal(err.methods.find((m) => m.method === err.selected.method)!.value, Math.min(...err.methods.map((m) => m.value!)));
});

test('a failing or silent metric command is bad input on the command line: exit 2, one line, nothing written', () => {
  const dir = tempDir();
  const base = ['calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--method', 'max', '--select', 'best'];
  const failing = script(dir, 'fail.mjs', "console.error('onnxruntime: cannot open model'); process.exit(4);");
  expectBadInput(base[0], [...base.slice(1), '--metric-command', failing], /metric command failed \(exit code 4\) on .*: onnxruntime: cannot open model$/m);
  expectBadInput(base[0], [...base.slice(1), '--metric-command', script(dir, 'silent.mjs', '')], /metric command printed no number on stdout/);
  expectBadInput(base[0], [...base.slice(1), '--metric-command', 'node --version'], /does not mention \{model\}/);
});

test('partial\'s greedy steps are scored by the command (and match qtool\'s top-1 step for step)', () => {
  const out = join(tempDir(), 'out');
  calibrateJson(out, ['--metric-command', top1Command(), '--select', 'max']);
  const sens = runQtool(['sensitivity', MLP, '--calibration', join(out, 'calibration.json'), '--data', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy'), '--out', out]);
  assert.equal(sens.code, 0, sens.stderr);
  const partial = (extra: string[], dir: string) => {
    const r = runQtool(['partial', MLP, '--calibration', join(out, 'calibration.json'), '--sensitivity', join(out, 'sensitivity.json'),
      '--data', DIGITS('eval_x.npy'), '--keep-float', '2', ...extra, '--out', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return partialReportSchema.parse(JSON.parse(r.stdout));
  };
  const builtIn = partial(['--labels', DIGITS('eval_y.npy')], join(tempDir(), 'p'));
  const p = partial(['--metric-command', top1Command(), '--metric-name', 'digits-top1'], out);
  assert.equal(p.accuracyMetric, 'digits-top1');
  assert.deepEqual(p.curve.map((c) => c.accuracy), builtIn.curve.map((c) => c.accuracy));
  assert.deepEqual(p.curve.map((c) => c.drop), p.curve.map((c) => p.fp32.accuracy - c.accuracy));
  assert.equal(p.result.medianBatchMs, null, 'qtool did not run the models');
  assert.equal(p.metricCommand!.fp32Cached, true, 'calibrate scored FP32 in this folder with this command');
  assert.equal(p.metricCommand!.runs, p.curve.length);

  // A budget in the metric's units: the first step within it is chosen.
  const maxDrop = p.curve[1].drop;
  const r = runQtool(['partial', MLP, '--calibration', join(out, 'calibration.json'), '--sensitivity', join(out, 'sensitivity.json'),
    '--data', DIGITS('eval_x.npy'), '--max-drop', String(maxDrop), '--metric-command', top1Command(), '--metric-name', 'digits-top1', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const b = partialReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(b.result.floatLayers, p.curve.findIndex((c) => c.drop <= maxDrop + 1e-9));

  // report.html charts the user's metric under its name.
  const rep = runQtool(['report', out]);
  assert.equal(rep.code, 0, rep.stderr);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /data-chart="partial-accuracy"/);
  assert.match(html, /digits-top1 vs layers kept in float/);
  assert.match(html, /scored by the metric command/);
});

test('sensitivity keeps its built-in ranking and re-orders only its top K by the command\'s metric', () => {
  const out = join(tempDir(), 'out');
  calibrateJson(out, ['--select', 'max']);
  const r = runQtool(['sensitivity', MLP, '--calibration', join(out, 'calibration.json'), '--data', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy'),
    '--metric-command', top1Command(), '--metric-name', 'digits-top1', '--metric-top', '2', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = sensitivityReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(s.metricCommand?.top, 2);
  assert.equal(s.metricCommand?.runs, 3, 'FP32 and the two layers');
  const builtIn = s.builtInRanking!;
  assert.deepEqual(s.ranking.slice(2), builtIn.slice(2), 'the rest of the ranking is the built-in one');
  assert.deepEqual([...s.ranking.slice(0, 2)].sort(), [...builtIn.slice(0, 2)].sort());
  const layer = (n: string) => s.layers.find((l) => l.name === n)!;
  const [first, second] = s.ranking.slice(0, 2).map(layer);
  // Keeping the more sensitive layer in float recovers more: a lower drop.
  assert.ok(first.metric!.drop <= second.metric!.drop);
  for (const l of [first, second]) assert.equal(l.metric!.value, l.fallback!.top1, `${l.name}: the command's top-1 is qtool's`);
  assert.equal(s.layers.filter((l) => l.metric).length, 2);
  for (const l of s.layers) assert.equal(l.rank, s.ranking.indexOf(l.name) + 1);
});

test('report.html shows the user\'s metric in sensitivity (its top K) and QAT (before, after), a lower-is-better one as rises', () => {
  const out = join(tempDir(), 'out');
  calibrateJson(out, ['--select', 'max']);
  const error = ['--metric-command', top1Command(true), '--metric-name', 'digit-error', '--metric-lower-is-better'];
  const sens = runQtool(['sensitivity', MLP, '--calibration', join(out, 'calibration.json'), '--data', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy'),
    ...error, '--metric-top', '2', '--out', out, '--json']);
  assert.equal(sens.code, 0, sens.stderr);
  const s = sensitivityReportSchema.parse(JSON.parse(sens.stdout));
  const qat = runQtool(['qat-finetune', MLP, '--calibration', join(out, 'calibration.json'), '--train', DIGITS('train_x.npy'), '--train-labels', DIGITS('train_y.npy'),
    ...error, '--epochs', '1', '--max-drop', '100', '--out', out, '--json']);
  assert.equal(qat.code, 0, qat.stderr);
  const m = qatReportSchema.parse(JSON.parse(qat.stdout)).metricCommand!;
  assert.equal(m.drop, m.after - m.fp32, 'lower is better: the drop is the rise');

  const rep = runQtool(['report', out, '--json']);
  assert.equal(rep.code, 0, rep.stderr);
  const charts = Object.fromEntries(reportResultSchema.parse(JSON.parse(rep.stdout)).sections.map((x) => [x.id, x.charts]));
  assert.ok(charts.sensitivity!.includes('sensitivity-metric'), charts.sensitivity!.join());
  assert.ok(charts.qat!.includes('qat-metric'), charts.qat!.join());
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const section = (id: string) => html.slice(html.indexOf(`id="${id}"`), html.indexOf('</section>', html.indexOf(`id="${id}"`)));
  const sensHtml = section('sensitivity');
  assert.match(sensHtml, /digit-error with only it kept in float \(lower is better\): rise from FP32/);
  assert.match(sensHtml, /<th[^>]*>rise from FP32<\/th>/);
  // The measured layers in the metric's order, each with its error rate and its rise.
  for (const name of s.ranking.slice(0, 2)) {
    const l = s.layers.find((x) => x.name === name)!;
    assert.ok(sensHtml.includes(`${l.metric!.value.toFixed(2)} (rise ${l.metric!.drop.toFixed(2)})`), `${name} in the chart`);
  }
  assert.ok(sensHtml.indexOf(s.ranking[0]!) < sensHtml.indexOf(s.ranking[1]!), 'in the metric\'s order');
  const qatHtml = section('qat');
  assert.match(qatHtml, /data-chart="qat-metric"/);
  assert.ok(qatHtml.includes(`digit-error (lower is better) by the metric command`));
  assert.ok(qatHtml.includes(`FP32 ${m.fp32.toFixed(2)}, the calibrated INT8 model before QAT ${m.before.toFixed(2)}, the exported model after it ${m.after.toFixed(2)} (a rise of ${m.drop.toFixed(2)} from FP32)`));
  assert.match(qatHtml, /Budget: a rise of at most 100\.00 — met/);
});

test('qtool run with a config metric: calibrate decides with it, run.json names it and counts its runs; --config gives it to a stage', () => {
  const dir = tempDir();
  const config = writeConfig(dir, {
    model: MLP, data: { calibration: DIGITS('calib_x.npy'), eval: DIGITS('eval_x.npy') }, maxDrop: 100,
    metric: { command: top1Command(true), name: 'error', higherIsBetter: false },
    calibrate: { method: 'max,mse' },
  });
  const out = join(dir, 'out');
  const { code, report } = run(config, out);
  assert.equal(code, 0);
  assert.equal(report.metric, 'error');
  const cal = calibrateReportSchema.parse(JSON.parse(readFileSync(join(out, 'calibrate.json'), 'utf8')));
  const selected = cal.methods.find((m) => m.method === cal.selected.method)!;
  assert.equal(report.stages[0].accuracy, selected.value);
  assert.equal(report.stages[0].drop, selected.value! - cal.metricCommand!.fp32, 'lower is better: the rise');
  assert.equal(report.fp32.accuracy, cal.metricCommand!.fp32);
  assert.equal(report.metricCommand?.runs, 3, 'FP32 and two methods');
  assert.equal(report.metricCommand?.higherIsBetter, false);

  const viaConfig = runQtool(['calibrate', '--config', config, '--out', join(dir, 'c'), '--json']);
  assert.equal(viaConfig.code, 0, viaConfig.stderr);
  assert.equal(calibrateReportSchema.parse(JSON.parse(viaConfig.stdout)).metricCommand?.name, 'error');

  const bad = writeConfig(tempDir(), { model: MLP, data: { calibration: DIGITS('calib_x.npy'), eval: DIGITS('eval_x.npy') }, maxDrop: 1, metric: { command: 'true' } });
  expectBadInput('run', [bad], /metric\.command: expected a command that mentions \{model\}/);
});
