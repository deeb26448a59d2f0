#!/usr/bin/env node
// A user's metric command for the tests, written apart from qtool's own
// scoring: top-1 accuracy (percent) of a classifier on an .npy of inputs
// (float32, batch on axis 0) against an .npy of int64 labels, in
// onnxruntime-node. `--error` prints the error rate instead (lower is better).
//   node top1.mjs MODEL X.npy Y.npy [--error]
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

function readNpy(path) {
  const b = readFileSync(path);
  const len = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + len).toString('latin1');
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const body = b.subarray(10 + len);
  const buf = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength);
  if (header.includes("'<f4'")) return { shape, data: new Float32Array(buf) };
  if (header.includes("'<i8'")) return { shape, data: Array.from(new BigInt64Array(buf), Number) };
  throw new Error(`${path}: unsupported dtype in ${header}`);
}

const [model, xPath, yPath, flag] = process.argv.slice(2);
const x = readNpy(xPath);
const y = readNpy(yPath);
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) });
const logits = out[session.outputNames[0]];
const classes = logits.dims[1];
let right = 0;
for (let i = 0; i < x.shape[0]; i++) {
  let best = 0;
  for (let c = 1; c < classes; c++) if (logits.data[i * classes + c] > logits.data[i * classes + best]) best = c;
  if (best === y.data[i]) right++;
}
const top1 = (100 * right) / x.shape[0];
console.log(`${x.shape[0]} samples`);
console.log(flag === '--error' ? `error %: ${100 - top1}` : `top-1 %: ${top1}`);
