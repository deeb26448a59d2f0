// The QAT training benchmark (measurements, not tests): on the bundled sample
// CNNs with MNIST, the time of one training step (forward + backward + Adam
// update, batch 32, cross-entropy on labels, as trainQat does it) of
//   a  the FP32 graph (QatGraph with quantize = false),
//   b  the same graph with fake quantization (QAT), activations through
//      TensorFlow's fused fake-quant op as qat-finetune runs it on tfjs-node,
//   e  b with the bit-exact tfjs-op fake quant instead (QatGraph fused: false),
//   c  b with learned activation and weight ranges (LSQ, qat-finetune --learn-ranges),
//   d  b as trainQat runs it (plus per-step batch gathering and LR schedule),
// on native tfjs-node, repetitions of a-e interleaved so that load from other
// processes hits each alike; then b on the pure-JS backend. Goal: b/a <= 1.5x.
// Each backend runs in its own child process, since loadTf() picks the backend
// once per process (QTOOL_TF_BACKEND=cpu forces pure JS).
// Usage: node dist/bench/qat.bench.js [--models resnet,mobilenet] [--reps 5] [--steps 5] [--warmup 3] [--cpu-steps 3] [--batch 32]
//        node dist/bench/qat.bench.js --child MODEL [--variants fp32,qat,lsq,trainQat,exact] [...]: one backend in this process, JSON on stdout.
// Writes bench/out/qat-bench.json.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import chalk from 'chalk';
import type { Optimizer, Scalar, Variable } from '@tensorflow/tfjs';
import { loadModel } from '../src/onnx/model.js';
import { graphInputs } from '../src/onnx/graph.js';
import { loadDataset } from '../src/data/dataset.js';
import { batchFeeds } from '../src/data/batches.js';
import { loadLabels } from '../src/data/labels.js';
import { loadTf } from '../src/qat/tf.js';
import { tensorsFromFeeds } from '../src/qat/executor.js';
import { QatGraph } from '../src/qat/qat-graph.js';
import { trainQat } from '../src/qat/train.js';
import { loadCalibratedModel } from '../src/stages/load-recipe.js';
import { renderTable } from '../src/report/table.js';
import { runChild } from './lib/child.js';
import { machine } from './lib/machine.js';
import { benchOut, repoRoot } from './lib/paths.js';
import { showSummary, summarize, type Summary } from './lib/stats.js';

const MODELS = ['resnet', 'mobilenet'] as const;
type ModelName = (typeof MODELS)[number];
const VARIANTS = ['fp32', 'qat', 'lsq', 'trainQat', 'exact'] as const;
type Variant = (typeof VARIANTS)[number];
/** trainQat's default starting learning rate (1% of the default base LR 0.01). */
const LR = 1e-4;
/** Distinct batches cycled through by the timed steps. */
const BATCHES = 8;

const { values } = parseArgs({
  options: {
    models: { type: 'string' }, reps: { type: 'string' }, steps: { type: 'string' }, warmup: { type: 'string' },
    'cpu-steps': { type: 'string' }, batch: { type: 'string' }, child: { type: 'string' }, variants: { type: 'string' },
  },
});
const int = (k: 'reps' | 'steps' | 'warmup' | 'cpu-steps' | 'batch', dflt: number): number => {
  const raw = values[k] ?? process.env[`BENCH_${k.toUpperCase().replace('-', '_')}`];
  const v = raw === undefined ? dflt : Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${k}: expected a positive whole number, got '${raw}'`);
  return v;
};
const opts = {
  models: (values.models ?? process.env.BENCH_MODELS ?? MODELS.join(',')).split(',') as ModelName[],
  reps: int('reps', 5), steps: int('steps', 5), warmup: int('warmup', 3), cpuSteps: int('cpu-steps', 3), batch: int('batch', 32),
};
for (const m of opts.models) if (!MODELS.includes(m)) throw new Error(`--models: unknown model '${m}' (have ${MODELS.join(', ')})`);

const rel = (p: string) => p.slice(repoRoot.length + 1);
const modelPath = (m: ModelName) => `samples/${m}/model.onnx`;
const calDir = (m: ModelName) => rel(join(benchOut(), `qat-${m}`));
const calibrateArgs = (m: ModelName) => ['bin/qtool.js', 'calibrate', modelPath(m), '--data', 'samples/mnist/calib_x.npy', '--method', 'max', '--out', calDir(m)];

interface ChildResult {
  model: ModelName;
  backend: string;
  fallbackReason?: string;
  quantizedLayers: number;
  fakeQuantTensors: number;
  /** Per variant: the median wall ms per step of each repetition. */
  stepMs: Partial<Record<Variant, number[]>>;
  /** The same for CPU ms (user + system, all threads of the process): less disturbed by other processes than wall time. */
  cpuMs: Partial<Record<Variant, number[]>>;
  /** Mean loss of the last repetition, per variant: a check that every variant trains the same task. */
  lastLoss: Partial<Record<Variant, number>>;
  /** tfjs tensors alive after the last repetition minus before the first: 0 unless a step leaks. */
  leakedTensors: number;
}

/** One backend, in this process: the variants, `reps` interleaved repetitions of `steps` timed steps each. */
async function measureHere(model: ModelName, variants: Variant[], reps: number, steps: number, warmup: number, batch: number): Promise<ChildResult> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const { tf, backend, fallbackReason } = await loadTf();
  const fp32 = loadModel(join(repoRoot, modelPath(model)));
  const q = loadCalibratedModel(fp32, join(repoRoot, calDir(model), 'calibration.json')).recipe;
  const trainX = join(repoRoot, 'samples/mnist/train_x.npy');
  const ds = loadDataset(trainX, graphInputs(fp32.model.graph!));
  const labels = loadLabels(join(repoRoot, 'samples/mnist/train_y.npy'), ds.count, trainX);
  if (ds.count < BATCHES * batch) throw new Error(`${trainX}: ${ds.count} samples, need ${BATCHES * batch}`);
  const batches = Array.from({ length: BATCHES }, (_, i) => ({
    feeds: tensorsFromFeeds(tf, batchFeeds(ds, i * batch, batch)),
    y: tf.tensor1d(labels.subarray(i * batch, (i + 1) * batch), 'int32'),
  }));

  // One graph and one optimizer per variant, so that no variant's updates or Adam state touch another's.
  const make = (quantize: boolean, learnScales: boolean, fused: boolean) => {
    const qg = new QatGraph(q, tf, { learnScales, learnWeightScales: learnScales, fused });
    qg.quantize = quantize;
    return { qg, vars: qg.trainableVariables(), opt: tf.train.adam(LR) as Optimizer };
  };
  const setups: Partial<Record<Variant, ReturnType<typeof make>>> = {};
  for (const v of variants) setups[v] = make(v !== 'fp32', v === 'lsq', v !== 'exact');
  const outName = setups[variants[0]!]!.qg.graph.outputs[0]!.name;

  /** One step of trainQat's labelled branch on a pre-built batch; resolves with the loss. */
  const step = async (s: { qg: QatGraph; vars: Variable[]; opt: Optimizer }, b: (typeof batches)[number]): Promise<number> => {
    const loss = s.opt.minimize(() => {
      const logits = s.qg.forward(b.feeds, { outputs: [outName] })[outName]!;
      return tf.losses.softmaxCrossEntropy(tf.oneHot(b.y, logits.shape[logits.shape.length - 1]!), logits) as Scalar;
    }, true, s.vars)!;
    const v = (await loss.data())[0]!; // waits for the step to finish
    loss.dispose();
    return v;
  };
  const cpuNow = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
  /** `n` timed steps (after `skip` untimed ones) of variant v: wall and CPU ms per step, losses. */
  const run = async (v: Variant, n: number, skip: number): Promise<{ ms: number[]; cpu: number[]; losses: number[] }> => {
    const s = setups[v]!;
    const ms: number[] = [];
    const cpu: number[] = [];
    const losses: number[] = [];
    if (v === 'trainQat') {
      // trainQat makes its own optimizer: its first steps (Adam slots, kernels) are the warm-up.
      let [t0, c0] = [performance.now(), cpuNow()];
      await trainQat(s.qg, ds, {
        epochs: 1, batchSize: batch, lr: LR, labels, maxSteps: skip + n, seed: 1,
        onStep: (i, _n, loss) => {
          const [t, c] = [performance.now(), cpuNow()];
          if (i > skip) { ms.push(t - t0); cpu.push(c - c0); losses.push(loss); }
          [t0, c0] = [t, c];
        },
      });
      return { ms, cpu, losses };
    }
    for (let i = 0; i < skip; i++) await step(s, batches[i % BATCHES]!);
    for (let i = 0; i < n; i++) {
      const [t0, c0] = [performance.now(), cpuNow()];
      losses.push(await step(s, batches[(skip + i) % BATCHES]!));
      ms.push(performance.now() - t0);
      cpu.push(cpuNow() - c0);
    }
    return { ms, cpu, losses };
  };

  for (const v of variants) if (v !== 'trainQat') await run(v, 0, warmup);
  const before = tf.memory().numTensors;
  const stepMs: ChildResult['stepMs'] = {};
  const cpuMs: ChildResult['cpuMs'] = {};
  const lastLoss: ChildResult['lastLoss'] = {};
  for (let r = 0; r < reps; r++) {
    // Rotate the order, so that no variant always runs first after another one.
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(r + k) % variants.length]!;
      const { ms, cpu, losses } = await run(v, steps, v === 'trainQat' ? warmup : 0);
      (stepMs[v] ??= []).push(summarize(ms).median);
      (cpuMs[v] ??= []).push(summarize(cpu).median);
      lastLoss[v] = losses.reduce((a, b) => a + b, 0) / losses.length;
    }
    process.stderr.write(chalk.dim(`  ${model} ${backend}: rep ${r + 1}/${reps} ` +
      variants.map((v) => `${v} ${stepMs[v]!.at(-1)!.toFixed(1)}`).join(', ') + ' ms/step\n'));
  }
  const leakedTensors = tf.memory().numTensors - before;
  const any = setups[variants[0]!]!.qg;
  return {
    model, backend, fallbackReason, quantizedLayers: any.plan.layers.length, fakeQuantTensors: any.plan.tensors.length,
    stepMs, cpuMs, lastLoss, leakedTensors,
  };
}

/** measureHere in a child process, with `env` (QTOOL_TF_BACKEND=cpu for pure JS). */
function child(model: ModelName, variants: Variant[], reps: number, steps: number, warmup: number, env: Record<string, string>): ChildResult {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', model, '--variants', variants.join(','),
    '--reps', String(reps), '--steps', String(steps), '--warmup', String(warmup), '--batch', String(opts.batch)], {
    encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`child for ${model} (${JSON.stringify(env)}) exited with ${r.status}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

if (values.child) {
  const variants = (values.variants ?? VARIANTS.join(',')).split(',') as Variant[];
  const res = await measureHere(values.child as ModelName, variants, opts.reps, opts.steps, opts.warmup, opts.batch);
  process.stdout.write(JSON.stringify(res) + '\n');
} else {
  const m = machine();
  const log = (s: string) => process.stderr.write(chalk.dim(s) + '\n');
  log(`qat bench: ${opts.models.join(', ')}, batch ${opts.batch}, ${opts.reps} reps x ${opts.steps} steps after ${opts.warmup} warm-up` +
    ` (pure JS: ${opts.cpuSteps} steps after 1 warm-up), ${m.nproc} cores, load ${m.loadAverage1m.toFixed(2)}`);
  const results = [];
  for (const model of opts.models) {
    await runChild('node', calibrateArgs(model), { cwd: repoRoot });
    const native = child(model, [...VARIANTS], opts.reps, opts.steps, opts.warmup, {});
    const cpu = child(model, ['qat'], opts.cpuSteps, 1, 1, { QTOOL_TF_BACKEND: 'cpu' }) // one step per rep: min–max over steps;
    const S = (v: Variant) => summarize(native.stepMs[v]!);
    const C = (v: Variant) => summarize(native.cpuMs[v]!);
    /** Per repetition b/a (the variants of one repetition ran back to back). */
    const paired = (v: Variant) => summarize(native.stepMs[v]!.map((ms, i) => ms / native.stepMs.fp32![i]!));
    const sps = (s: Summary) => (1000 * opts.batch) / s.median;
    const cpuQat = summarize(cpu.stepMs.qat!);
    results.push({
      model, native, cpu,
      stepMs: Object.fromEntries(VARIANTS.map((v) => [v, S(v)])) as Record<Variant, Summary>,
      cpuMs: Object.fromEntries(VARIANTS.map((v) => [v, C(v)])) as Record<Variant, Summary>,
      qatOverFp32Cpu: C('qat').median / C('fp32').median,
      lsqOverFp32Cpu: C('lsq').median / C('fp32').median,
      qatOverFp32: S('qat').median / S('fp32').median,
      lsqOverFp32: S('lsq').median / S('fp32').median,
      qatOverFp32Paired: paired('qat'),
      exactOverFp32: S('exact').median / S('fp32').median,
      exactOverFp32Paired: paired('exact'),
      lsqOverFp32Paired: paired('lsq'),
      samplesPerSecond: { fp32: sps(S('fp32')), qat: sps(S('qat')), lsq: sps(S('lsq')), trainQat: sps(S('trainQat')), pureJsQat: sps(cpuQat) },
      pureJsQatStepMs: cpuQat,
      nativeSpeedupQat: cpuQat.median / S('qat').median,
    });
  }

  const rows: string[][] = [];
  for (const r of results) {
    const s = r.samplesPerSecond;
    const ms = (v: Variant) => `${showSummary(r.stepMs[v], 1)} ms`;
    rows.push(
      [chalk.bold(`${r.model} (${r.native.quantizedLayers} layers, ${r.native.fakeQuantTensors} fake-quant activations)`), '', ''],
      [`a  FP32 step, ${r.native.backend}`, ms('fp32'), `${s.fp32.toFixed(0)} samples/s`],
      [`b  QAT step (fake quant)`, ms('qat'), `${s.qat.toFixed(0)} samples/s`],
      [`c  QAT step, --learn-ranges (LSQ)`, ms('lsq'), `${s.lsq.toFixed(0)} samples/s`],
      [`d  trainQat loop step (b + batch gathering)`, ms('trainQat'), `${s.trainQat.toFixed(0)} samples/s`],
      [`e  b with bit-exact tfjs-op fake quant`, ms('exact'), ''],
      [`b/a wall (paired per rep)`, `${r.qatOverFp32.toFixed(2)}x`, `${showSummary(r.qatOverFp32Paired)}x`],
      [`c/a wall (paired per rep)`, `${r.lsqOverFp32.toFixed(2)}x`, `${showSummary(r.lsqOverFp32Paired)}x`],
      [`e/a wall (paired per rep)`, `${r.exactOverFp32.toFixed(2)}x`, `${showSummary(r.exactOverFp32Paired)}x`],
      [`CPU ms per step a / b / c`, [r.cpuMs.fp32, r.cpuMs.qat, r.cpuMs.lsq].map((x) => x.median.toFixed(0)).join(' / '),
        `b/a ${r.qatOverFp32Cpu.toFixed(2)}x, c/a ${r.lsqOverFp32Cpu.toFixed(2)}x`],
      [`b on pure JS (${r.cpu.backend}), ${opts.cpuSteps} steps`, `${showSummary(r.pureJsQatStepMs, 0)} ms`, `${s.pureJsQat.toFixed(1)} samples/s`],
      [`native speed-up on b`, `${r.nativeSpeedupQat.toFixed(1)}x`, ''],
    );
  }
  console.log(renderTable([`batch ${opts.batch}, median (min–max) over ${opts.reps} interleaved reps`, 'per step', 'throughput'], rows, ['left', 'right', 'right']));
  const goals = Object.fromEntries(results.map((r) => [`${r.model}: QAT step <= 1.5x the FP32 step`, r.qatOverFp32 <= 1.5]));
  for (const [goal, met] of Object.entries(goals)) console.log(`  ${met ? chalk.green('met   ') : chalk.red('missed')} ${goal}`);
  for (const r of results) {
    if (r.native.backend !== 'tensorflow') console.log(chalk.yellow(`  note: ${r.model} did not run on native tfjs-node (${r.native.fallbackReason}); run \`qtool doctor\``));
    if (r.native.leakedTensors !== 0) console.log(chalk.yellow(`  note: ${r.model}: ${r.native.leakedTensors} tfjs tensors leaked over the timed steps`));
  }
  const jsonPath = join(benchOut(), 'qat-bench.json');
  writeFileSync(jsonPath, JSON.stringify({
    schema: 'qtool-bench/qat@1', machine: m, loadAverageAfter1m: machine().loadAverage1m, options: opts,
    commands: {
      bench: `node dist/bench/qat.bench.js ${process.argv.slice(2).join(' ')}`.trim(),
      calibrate: Object.fromEntries(opts.models.map((mm) => [mm, `node ${calibrateArgs(mm).join(' ')}`])),
    },
    results, goals,
  }, null, 2) + '\n');
  console.log(chalk.dim(`  wrote ${rel(jsonPath)}`));
}
