// INT8 speed of models quantized elsewhere, against their FP32 model in the
// same run: e.g. qtool's and ONNX Runtime's quantize_static INT8 models of a
// PaddleOCR model, on the first samples of its data.
//
//   node dist/bench/int8-latency.bench.js --data samples/ocr/rec_eval.npz --batch 8 \
//     fp32=MODEL.onnx qtool=OUT/model.int8.onnx ort=ORT.int8.onnx
//
// Sessions as qtool's own (one intra-op thread by default: the machine is
// shared), runs interleaved round by round; prints the median batch latency
// per model and its speed-up over the first model given.
import { parseArgs } from 'node:util';
import { readNpz } from '../src/data/npz.js';
import { ort } from '../src/runtime/session.js';
import { median } from '../src/runtime/run.js';
import { batchLatency } from './latency.js';

const { values, positionals } = parseArgs({
  options: { data: { type: 'string' }, batch: { type: 'string', default: '8' }, threads: { type: 'string', default: '1' }, rounds: { type: 'string', default: '7' } },
  allowPositionals: true,
});
if (!values.data || positionals.length < 2) throw new Error('usage: --data X.npz [--batch N] label=model.onnx label=model.onnx ...');
const arr = [...readNpz(values.data).values()][0]!;
const n = Number(values.batch);
const per = arr.shape.slice(1).reduce((a, b) => a * b, 1);
const x = new Float32Array((arr.data as Float32Array).buffer, (arr.data as Float32Array).byteOffset, n * per).slice();
const batch = new ort.Tensor('float32', x, [n, ...arr.shape.slice(1)]);
const models = positionals.map((p) => { const [label, path] = p.split('='); return { label: label!, path: path! }; });
const times = await batchLatency(models, batch, { threads: Number(values.threads), warmup: 3, rounds: Number(values.rounds), runsPerRound: 3 });
const base = median(times[models[0]!.label]!);
for (const m of models) {
  const t = median(times[m.label]!);
  console.log(`${m.label.padEnd(8)} ${t.toFixed(1).padStart(8)} ms  ${(base / t).toFixed(2)}x`);
}
