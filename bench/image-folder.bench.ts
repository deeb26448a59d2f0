// Does image decoding keep up with onnxruntime? In the same run, images per
// second of
//   decode     the folder read batch by batch with no model (the worker
//              decoding ahead, as the stages read it),
//   forward    onnxruntime alone on the same images already in memory,
//   pipeline   runBatches over the folder: decoding overlapped with forward
//              passes, as eval and calibrate run; a fresh dataset, so every
//              image is decoded (the first pass over a folder),
//   again      a second runBatches over the same dataset: what calibrate's
//              later passes over a folder that fits the decoded-sample cache
//              (64 MB) see.
// pipeline / forward near 1 means decoding costs the stages nothing. The
// ratio is of medians; "paired" is the median of each repetition's own ratio
// (pipeline and forward measured back to back), less exposed to load from
// other processes that changes between repetitions.
// Cases: each MNIST sample model on the PNG digits (test/fixtures/images/
// mnist-png, 300 digits written by Pillow, repeated --copies times into a
// temporary folder so that a measurement lasts long enough to be steady), and,
// closer to real use, PP-OCRv4's recognizer on JPEG text lines (rendered lines
// of samples/ocr/rec_eval.npz written as JPEGs at twice the model's height,
// so that sharp decodes and resizes each one).
// Rates are of the steady state: timed from the end of the first batch, since
// the decoding thread's start is paid once per dataset; that start is reported
// on its own. Sessions use the tool's settings (createSession's defaults).
// Usage: node dist/bench/image-folder.bench.js [--reps 5] [--batch 32] [--copies 6]
//          [--models resnet,mobilenet,transformer] [--ocr 32 (JPEG lines; 0: none)]
// Writes bench/out/image-folder-bench.json.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadModel } from '../src/onnx/model.js';
import { graphInputs } from '../src/onnx/graph.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { batchRanges } from '../src/data/batches.js';
import { readNpz } from '../src/data/npz.js';
import { createSession, ort, type Session } from '../src/runtime/session.js';
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
    copies: { type: 'string', default: '6' },
    ocr: { type: 'string', default: '32' },
  },
});
const reps = Number(args.reps);
const batch = Number(args.batch);
const copies = Number(args.copies);
const ocrLines = Number(args.ocr);
const digits = join(repoRoot, 'test', 'fixtures', 'images', 'mnist-png');
/** The recognizer's activations are large: batches of 8, so that a few dozen lines make several batches. */
const OCR_BATCH = 8;
const OCR_REC = join(repoRoot, 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_PP-OCRv4_rec_infer.onnx');

interface Case { name: string; model: string; folder: string; preprocess: object; images: string; batch: number }

/** The digits, `copies` times each, in their class folders. */
function digitsFolder(dir: string): string {
  mkdirSync(dir);
  for (const cls of readdirSync(digits)) {
    mkdirSync(join(dir, cls));
    for (const f of readdirSync(join(digits, cls))) for (let k = 0; k < copies; k++) copyFileSync(join(digits, cls, f), join(dir, cls, `${k}-${f}`));
  }
  return dir;
}

/** `count` rendered lines of rec_eval.npz ((x + 1) * 127.5 back to pixels), as JPEGs at 96 pixels high. */
async function ocrFolder(dir: string, count: number): Promise<void> {
  const x = [...readNpz(join(repoRoot, 'samples', 'ocr', 'rec_eval.npz')).values()][0]!;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  for (let i = 0; i < Math.min(count, n); i++) {
    const hwc = Buffer.alloc(h * w * c);
    for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) hwc[p * c + k] = Math.round((Number(x.data[(i * c + k) * h * w + p]) + 1) * 127.5);
    await sharp(hwc, { raw: { width: w, height: h, channels: c as 3 } }).resize(2 * w, 2 * h).jpeg({ quality: 90 }).toFile(join(dir, `${String(i).padStart(4, '0')}.jpg`));
  }
}

function openFolder(c: Case): Dataset {
  return loadDataset(c.folder, graphInputs(loadModel(c.model).model.graph!), { preprocess: c.preprocess });
}

/** Images per second from the end of the first batch; and the first batch's milliseconds (the thread's start). */
async function timedPass(count: number, batch: number, pass: (onFirst: () => void) => Promise<void>): Promise<{ rate: number; startMs: number }> {
  const t0 = performance.now();
  let t1 = 0;
  await pass(() => (t1 = performance.now()));
  return { rate: (count - Math.min(batch, count)) / ((performance.now() - t1) / 1000), startMs: t1 - t0 };
}

const decodePass = (ds: Dataset, batch: number) => timedPass(ds.count, batch, async (onFirst) => {
  for (const { start, size } of batchRanges(ds.count, batch)) {
    ds.inputs[0]!.rows(start, size);
    if (start === 0) onFirst();
  }
});

const pipelinePass = (session: Session, ds: Dataset, label: string, batch: number) => timedPass(ds.count, batch, (onFirst) => runBatches(session, ds, {
  batchSize: batch, label, onBatch: (b) => { if (b.start === 0) onFirst(); },
}));

async function forwardPass(session: Session, pixels: Float32Array, shape: number[], batch: number) {
  const name = session.inputNames[0]!;
  const per = pixels.length / shape[0]!;
  return timedPass(shape[0]!, batch, async (onFirst) => {
    for (const { start, size } of batchRanges(shape[0]!, batch)) {
      await session.run({ [name]: new ort.Tensor('float32', pixels.subarray(start * per, (start + size) * per), [size, ...shape.slice(1)]) });
      if (start === 0) onFirst();
    }
  });
}

interface Row {
  name: string; images: string; count: number; batch: number;
  decode: Summary; startMs: Summary; forward: Summary; pipeline: Summary; again: Summary;
  pipelineOverForward: number; paired: Summary; againOverForward: number;
}

async function measure(c: Case): Promise<Row> {
  const session = await createSession(loadModel(c.model).bytes, c.model);
  const all = openFolder(c);
  const pixels = all.inputs[0]!.rows(0, all.count) as Float32Array;
  const shape = all.inputs[0]!.shape;
  await forwardPass(session, pixels, shape, c.batch); // warm-up: first-run allocations
  const r = { decode: [] as number[], startMs: [] as number[], forward: [] as number[], pipeline: [] as number[], again: [] as number[], paired: [] as number[] };
  // Interleaved, so that load from other processes hits each alike.
  for (let i = 0; i < reps; i++) {
    const d = await decodePass(openFolder(c), c.batch);
    r.decode.push(d.rate);
    r.startMs.push(d.startMs);
    const f = (await forwardPass(session, pixels, shape, c.batch)).rate;
    const ds = openFolder(c);
    const p = (await pipelinePass(session, ds, c.model, c.batch)).rate;
    r.forward.push(f);
    r.pipeline.push(p);
    r.paired.push(p / f);
    r.again.push((await pipelinePass(session, ds, c.model, c.batch)).rate);
  }
  const s = { decode: summarize(r.decode), startMs: summarize(r.startMs), forward: summarize(r.forward), pipeline: summarize(r.pipeline), again: summarize(r.again), paired: summarize(r.paired) };
  return { name: c.name, images: c.images, count: all.count, batch: c.batch, ...s, pipelineOverForward: s.pipeline.median / s.forward.median, againOverForward: s.again.median / s.forward.median };
}

const work = mkdtempSync(join(tmpdir(), 'qtool-image-bench-'));
try {
  const cases: Case[] = [];
  if (args.models) { // --models '' for the OCR case alone
    const folder = digitsFolder(join(work, 'digits'));
    for (const name of args.models.split(',')) {
      cases.push({ name, model: join(repoRoot, 'samples', name, 'model.onnx'), folder, preprocess: { channels: 'gray' }, images: `${300 * copies} PNG 28x28`, batch });
    }
  }
  if (ocrLines > 0 && existsSync(OCR_REC)) {
    const folder = join(work, 'ocr');
    mkdirSync(folder);
    await ocrFolder(folder, ocrLines);
    const preprocess = { channels: 'bgr', resize: { height: 48, maxWidth: 320, pad: 127.5 }, scale: 1 / 255, mean: [0.5], std: [0.5] };
    cases.push({ name: 'ocr-rec', model: OCR_REC, folder, preprocess, images: `${readdirSync(folder).length} JPEG 640x96 -> 320x48`, batch: OCR_BATCH });
  }
  const rows: Row[] = [];
  for (const c of cases) rows.push(await measure(c));

  console.log(`images/s, batch ${batch} (ocr-rec ${OCR_BATCH}), median (min–max) of ${reps}; pipeline: first pass (every image decoded), again: a second pass (decoded-sample cache)`);
  console.log(renderTable(['model', 'images', 'decode', 'forward', 'pipeline', 'pipeline / forward', 'paired', 'again', 'again / forward', 'first batch ms'],
    rows.map((r) => [r.name, r.images, showSummary(r.decode, 0), showSummary(r.forward, 0), showSummary(r.pipeline, 0), r.pipelineOverForward.toFixed(2),
      showSummary(r.paired, 2), showSummary(r.again, 0), r.againOverForward.toFixed(2), showSummary(r.startMs, 0)])));
  const out = join(benchOut(), 'image-folder-bench.json');
  writeFileSync(out, JSON.stringify({ machine: machine(), batch, reps, copies, rows }, null, 2) + '\n');
  console.log(`wrote ${out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
