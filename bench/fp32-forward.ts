// Baseline for the calibration benchmark: one plain FP32 forward pass of
// onnxruntime-node over a .npy file, in batches, with the session options
// qtool uses (src/runtime/session.ts). Run as a child process:
//   node dist/bench/fp32-forward.js MODEL DATA.npy [BATCH]
// and prints {"loadSeconds", "forwardSeconds", "samples"} as JSON.
import { readFileSync } from 'node:fs';
import { readNpy } from '../src/data/npy.js';
import { createSession, ort } from '../src/runtime/session.js';

const [modelPath, dataPath, batchArg] = process.argv.slice(2);
if (!modelPath || !dataPath) {
  process.stderr.write('usage: node dist/bench/fp32-forward.js MODEL DATA.npy [BATCH]\n');
  process.exit(2);
}
const batch = Number(batchArg ?? 32);

const t0 = performance.now();
const session = await createSession(readFileSync(modelPath), modelPath);
const x = readNpy(dataPath);
const [count, ...rest] = x.shape as [number, ...number[]];
const per = rest.reduce((a, b) => a * b, 1);
const t1 = performance.now();
for (let start = 0; start < count; start += batch) {
  const size = Math.min(batch, count - start);
  const data = (x.data as Float32Array).subarray(start * per, (start + size) * per);
  await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', data, [size, ...rest]) });
}
const t2 = performance.now();
await session.release();
process.stdout.write(JSON.stringify({ loadSeconds: (t1 - t0) / 1000, forwardSeconds: (t2 - t1) / 1000, samples: count }) + '\n');
