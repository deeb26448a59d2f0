// Native TensorFlow (tfjs-node) vs pure-JS tfjs for training: the same small
// CNN, same initial weights, same batches, a few SGD steps on each backend.
// Each backend runs in its own child process, since loadTf() picks the backend
// once per process (QTOOL_TF_BACKEND=cpu forces pure JS).
// Usage: node dist/bench/tfjs-backends.bench.js [--steps 10] [--warmup 2] [--batch 32]
// Writes bench/out/tfjs-backends.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { loadTf } from '../src/qat/tf.js';

interface Run {
  backend: string;
  fallbackReason?: string;
  steps: number;
  batch: number;
  /** Milliseconds per training step (forward + backward + update), after warm-up. */
  stepMs: { median: number; min: number; max: number };
  firstLoss: number;
  lastLoss: number;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root, whether running from bench/ or dist/bench/. */
const repoRoot = existsSync(join(here, '..', 'package.json')) ? resolve(here, '..') : resolve(here, '..', '..');

function options() {
  const { values } = parseArgs({
    options: { steps: { type: 'string' }, warmup: { type: 'string' }, batch: { type: 'string' }, child: { type: 'boolean' } },
  });
  const int = (v: string | undefined, d: number) => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got '${v}'`);
    return n;
  };
  return { steps: int(values.steps, 10), warmup: int(values.warmup, 2), batch: int(values.batch, 32), child: !!values.child };
}

/** One backend, in this process: a LeNet-sized CNN on 28x28x1 inputs, SGD with momentum. */
async function trainHere(steps: number, warmup: number, batch: number): Promise<Run> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const { tf, backend, fallbackReason } = await loadTf();
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init(3) }),
      tf.layers.dense({ units: 10, kernelInitializer: init(4) }),
    ],
  });
  const optimizer = tf.train.momentum(0.01, 0.9);
  const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 7);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 8), 10);
  const step = (): number => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as Tensor) as Scalar, true)!;
    const v = loss.dataSync()[0]!; // waits for the step to finish
    loss.dispose();
    return v;
  };
  const losses: number[] = [];
  for (let i = 0; i < warmup; i++) losses.push(step());
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    losses.push(step());
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[sorted.length >> 1]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return {
    backend, fallbackReason, steps, batch,
    stepMs: { median, min: sorted[0]!, max: sorted[sorted.length - 1]! },
    firstLoss: losses[0]!, lastLoss: losses[losses.length - 1]!,
  };
}

function child(env: Record<string, string>, o: ReturnType<typeof options>): Run {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child',
    '--steps', String(o.steps), '--warmup', String(o.warmup), '--batch', String(o.batch)], {
    encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
}

const o = options();
if (o.child) {
  process.stdout.write(JSON.stringify(await trainHere(o.steps, o.warmup, o.batch)) + '\n');
} else {
  const native = child({}, o);
  const cpu = child({ QTOOL_TF_BACKEND: 'cpu' }, o);
  const speedup = cpu.stepMs.median / native.stepMs.median;
  const row = (r: Run) => `${r.backend.padEnd(11)} ${r.stepMs.median.toFixed(1).padStart(9)} ms/step  `
    + `(${r.stepMs.min.toFixed(1)}–${r.stepMs.max.toFixed(1)})  loss ${r.firstLoss.toFixed(4)} -> ${r.lastLoss.toFixed(4)}`
    + (r.fallbackReason ? `  [${r.fallbackReason}]` : '');
  console.log(`small CNN (conv8-pool-conv16-pool-dense64-dense10, 28x28x1), batch ${o.batch}, ${o.steps} timed steps after ${o.warmup} warm-up`);
  console.log(row(native));
  console.log(row(cpu));
  console.log(`native speed-up: ${speedup.toFixed(1)}x`);
  if (native.backend !== 'tensorflow') console.log('note: the first run was not native (see the reason above); run `qtool doctor`');
  const out = join(repoRoot, 'bench', 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'tfjs-backends.json'), JSON.stringify({
    machine: { nproc: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() },
    options: { steps: o.steps, warmup: o.warmup, batch: o.batch },
    runs: [native, cpu], speedup,
  }, null, 2) + '\n');
}
