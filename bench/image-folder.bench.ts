// Does image decoding keep up with onnxruntime? On the PNG digits
// (test/fixtures/images/mnist-png, 300 MNIST digits written by Pillow) and
// each MNIST sample model, in the same run, images per second of
//   decode     the folder read batch by batch with no model (the worker
//              decoding ahead, as the stages read it),
//   forward    onnxruntime alone on the same images already in memory,
//   pipeline   runBatches over the folder: decoding overlapped with forward
//              passes, as eval and calibrate run.
// pipeline / forward near 1 means decoding costs the stages nothing.
// A fresh dataset per repetition, so the decoded-sample cache never serves.
// Rates are of the steady state: timed from the end of the first batch, since
// the decoding thread's start (loading sharp) is paid once per dataset;
// that start is reported on its own.
// Usage: node dist/bench/image-folder.bench.js [--models resnet,mobilenet,transformer] [--reps 5] [--batch 32]
// Writes bench/out/image-folder-bench.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../src/onnx/model.js';
import { graphInputs } from '../src/onnx/graph.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { batchRanges } from '../src/data/batches.js';
import { createSession, ort } from '../src/runtime/session.js';
import { runBatches } from '../src/runtime/run.js';
import { renderTable } from '../src/report/table.js';
import { machine } from './lib/machine.js';
import { benchOut, repoRoot } from './lib/paths.js';
import { showSummary, summarize, type Summary } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'resnet,mobilenet,transformer' },
    reps: { type: 'string', default: '5' },
    batch: { type: 'string', default: '32' },
  },
});
const reps = Number(args.reps);
const batch = Number(args.batch);
const folder = join(repoRoot, 'test', 'fixtures', 'images', 'mnist-png');
const preprocess = join(repoRoot, 'test', 'fixtures', 'images', 'mnist.preprocess.json');

function openFolder(modelPath: string): Dataset {
  return loadDataset(folder, graphInputs(loadModel(modelPath).model.graph!), { preprocess });
}

/** Images per second of reading the folder batch by batch, no model; and the first batch's milliseconds (the thread's start). */
function decodeRate(modelPath: string): { rate: number; startMs: number } {
  const ds = openFolder(modelPath);
  const [first, ...rest] = batchRanges(ds.count, batch);
  const t0 = performance.now();
  ds.inputs[0]!.rows(first!.start, first!.size);
  const t1 = performance.now();
  for (const { start, size } of rest) ds.inputs[0]!.rows(start, size);
  return { rate: (ds.count - first!.size) / ((performance.now() - t1) / 1000), startMs: t1 - t0 };
}

async function forwardRate(modelPath: string, pixels: Float32Array, count: number): Promise<number> {
  const m = loadModel(modelPath);
  const session = await createSession(m.bytes, m.path);
  const name = session.inputNames[0]!;
  const t0 = performance.now();
  for (const { start, size } of batchRanges(count, batch)) {
    const x = pixels.subarray(start * 784, (start + size) * 784);
    await session.run({ [name]: new ort.Tensor('float32', x, [size, 1, 28, 28]) });
  }
  return count / ((performance.now() - t0) / 1000);
}

async function pipelineRate(modelPath: string): Promise<number> {
  const m = loadModel(modelPath);
  const session = await createSession(m.bytes, m.path);
  const ds = openFolder(modelPath);
  let t1 = 0;
  let first = 0;
  await runBatches(session, ds, {
    batchSize: batch, label: m.path,
    onBatch: (b) => {
      if (b.start === 0) {
        t1 = performance.now();
        first = b.size;
      }
    },
  });
  return (ds.count - first) / ((performance.now() - t1) / 1000);
}

interface Row { model: string; decode: Summary; startMs: Summary; forward: Summary; pipeline: Summary; pipelineOverForward: number }

const rows: Row[] = [];
for (const name of args.models!.split(',')) {
  const modelPath = join(repoRoot, 'samples', name, 'model.onnx');
  const all = openFolder(modelPath);
  const pixels = all.inputs[0]!.rows(0, all.count) as Float32Array;
  const r = { decode: [] as number[], startMs: [] as number[], forward: [] as number[], pipeline: [] as number[] };
  await forwardRate(modelPath, pixels, all.count); // warm-up: session creation, first-run allocations
  // Interleaved, so that load from other processes hits each alike.
  for (let i = 0; i < reps; i++) {
    const d = decodeRate(modelPath);
    r.decode.push(d.rate);
    r.startMs.push(d.startMs);
    r.forward.push(await forwardRate(modelPath, pixels, all.count));
    r.pipeline.push(await pipelineRate(modelPath));
  }
  const row = { model: name, decode: summarize(r.decode), startMs: summarize(r.startMs), forward: summarize(r.forward), pipeline: summarize(r.pipeline), pipelineOverForward: 0 };
  row.pipelineOverForward = row.pipeline.median / row.forward.median;
  rows.push(row);
}

console.log(`images/s on ${folder} (300 PNG digits), batch ${batch}, median (min–max) of ${reps}`);
console.log(renderTable(['model', 'decode', 'forward', 'pipeline', 'pipeline / forward', 'first batch ms'],
  rows.map((r) => [r.model, showSummary(r.decode, 0), showSummary(r.forward, 0), showSummary(r.pipeline, 0), r.pipelineOverForward.toFixed(2), showSummary(r.startMs, 0)])));
const out = join(benchOut(), 'image-folder-bench.json');
writeFileSync(out, JSON.stringify({ machine: machine(), batch, reps, images: 300, rows }, null, 2) + '\n');
console.log(`wrote ${out}`);
