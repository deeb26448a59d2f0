// Baseline for the calibration benchmark: one plain FP32 forward pass of
// onnxruntime-node over a .npy file, in batches, with the session options
// qtool uses (src/runtime/session.ts). DATA is a .npy (the model's one input)
// or a .npz (array names = input names, as qtool reads it). Run as a child process:
//   node dist/bench/fp32-forward.js MODEL DATA.npy|DATA.npz [BATCH]
// and prints {"loadSeconds", "forwardSeconds", "samples"} as JSON.
import { readFileSync } from 'node:fs';
import { readNpy, type NdArray } from '../src/data/npy.js';
import { readNpz } from '../src/data/npz.js';
import { createSession, ort } from '../src/runtime/session.js';

const [modelPath, dataPath, batchArg] = process.argv.slice(2);
if (!modelPath || !dataPath) {
  process.stderr.write('usage: node dist/bench/fp32-forward.js MODEL DATA.npy [BATCH]\n');
  process.exit(2);
}
const batch = Number(batchArg ?? 32);

const t0 = performance.now();
const session = await createSession(readFileSync(modelPath), modelPath);
const arrays: Map<string, NdArray> = dataPath.endsWith('.npz') ? readNpz(dataPath) : new Map([[session.inputNames[0]!, readNpy(dataPath)]]);
const count = [...arrays.values()][0]!.shape[0]!;
const t1 = performance.now();
for (let start = 0; start < count; start += batch) {
  const size = Math.min(batch, count - start);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, x] of arrays) {
    const rest = x.shape.slice(1);
    const per = rest.reduce((a, b) => a * b, 1);
    feeds[name] = new ort.Tensor(x.dtype as 'float32', x.data.subarray(start * per, (start + size) * per) as Float32Array, [size, ...rest]);
  }
  await session.run(feeds);
}
const t2 = performance.now();
await session.release();
process.stdout.write(JSON.stringify({ loadSeconds: (t1 - t0) / 1000, forwardSeconds: (t2 - t1) / 1000, samples: count }) + '\n');
