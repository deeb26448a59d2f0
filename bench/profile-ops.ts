// Where a model's time goes in onnxruntime-node: per-op-type kernel time from
// ORT's profiler, over a few warm batches (same session options as
// latency.ts). Used to explain the INT8-vs-FP32 latency figures, and, with
// --expose-plan, what exposing the tensors calibrate collects statistics on
// (as extra graph outputs) costs the forward pass:
//   node dist/bench/profile-ops.js MODEL [--expose-plan] [--data bench/out/calib-256.npy] [--batch 32] [--threads 2] [--runs 5]
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readNpy } from '../src/data/npy.js';
import { decodeModel, encodeModel } from '../src/onnx/model.js';
import { planQuantization } from '../src/quant/plan.js';
import { ort } from '../src/runtime/session.js';
import { exposeTensors } from '../test/lib/expose-tensors.js';

interface ProfileEvent { cat: string; name: string; dur: number; args?: { op_name?: string } }

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string', default: 'bench/out/calib-256.npy' },
    batch: { type: 'string', default: '32' },
    threads: { type: 'string', default: String(availableParallelism()) },
    runs: { type: 'string', default: '5' },
    'expose-plan': { type: 'boolean', default: false },
  },
});
const modelPath = positionals[0];
if (!modelPath) {
  process.stderr.write('usage: node dist/bench/profile-ops.js MODEL [--expose-plan] [--data X.npy] [--batch 32] [--threads N] [--runs 5]\n');
  process.exit(2);
}
const batch = Number(values.batch);
const runs = Number(values.runs);
const x = readNpy(values.data!);
const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
const input = new ort.Tensor('float32', (x.data as Float32Array).subarray(0, batch * per), [batch, ...x.shape.slice(1)]);

const prefix = join(tmpdir(), `qtool-profile-${process.pid}`);
let bytes: Uint8Array = readFileSync(modelPath);
if (values['expose-plan']) {
  const model = decodeModel(bytes, modelPath);
  bytes = encodeModel(exposeTensors(model, planQuantization(model.graph!, { foldActivations: true }).tensors));
}
const session = await ort.InferenceSession.create(bytes, {
  graphOptimizationLevel: 'all', intraOpNumThreads: Number(values.threads), executionMode: 'sequential',
  logSeverityLevel: 3, enableProfiling: true, profileFilePrefix: prefix,
});
const feeds = { [session.inputNames[0]!]: input };
await session.run(feeds); // warm-up, excluded below
// session.run as JS sees it; the gap to ORT's model_run is the binding's work,
// chiefly copying every output into a fresh JS buffer.
const jsMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  await session.run(feeds);
  jsMs.push(performance.now() - t0);
}
session.endProfiling();
const outputs = session.outputNames.length;
await session.release();

// ORT writes <prefix>_<date>.json.
const file = readdirSync(tmpdir()).map((f) => join(tmpdir(), f)).find((f) => f.startsWith(prefix) && f.endsWith('.json'))!;
const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
rmSync(file);

const runEvents = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
const byOp = new Map<string, { us: number; calls: number }>();
// Kernel events of the warm-up run are the first 1/(runs+1) of them; drop that share.
const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
for (const e of kernels.slice(kernels.length / (runs + 1))) {
  const op = e.args?.op_name ?? '?';
  const o = byOp.get(op) ?? { us: 0, calls: 0 };
  o.us += e.dur;
  o.calls += 1;
  byOp.set(op, o);
}
const total = [...byOp.values()].reduce((a, o) => a + o.us, 0);
const runMs = runEvents.slice(1).map((e) => e.dur / 1000);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1);
console.log(`${modelPath}: batch ${batch}, ${values.threads} intra-op threads, ${runs} warm runs, ${outputs} outputs`);
console.log(`median ms per run: ORT model_run ${med(runMs)}, session.run seen from JS ${med(jsMs)}`);
console.log('op type                      ms/run   share  kernels/run');
for (const [op, o] of [...byOp].sort((a, b) => b[1].us - a[1].us)) {
  console.log(`${op.padEnd(26)} ${(o.us / 1000 / runs).toFixed(1).padStart(8)}  ${((100 * o.us) / total).toFixed(1).padStart(5)} %  ${(o.calls / runs).toFixed(0).padStart(6)}`);
}
