// The image decoding thread: decodes, resizes and crops with sharp (libvips)
// (plain PNGs taken as stored: fast-png, png-as-stored.ts) and turns pixels
// into float32, while the main thread runs onnxruntime.
// Results go back on a MessagePort, buffers transferred, and a shared
// counter is bumped so that a main thread blocked in Atomics.wait wakes up.
import { readFileSync } from 'node:fs';
import { workerData, type MessagePort } from 'node:worker_threads';
import { channelCount, planGeometry, writePixels, type Geometry, type Preprocess, type Size } from './preprocess.js';
import { pngAsStored } from './png-as-stored.js';

export interface WorkerSetup {
  port: MessagePort;
  /** Incremented after every message posted on `port`. */
  signal: Int32Array;
  preprocess: Preprocess;
  target: Size;
}

export type DecodeRequest = { id: number; files: string[] };
export type DecodeResult =
  | { id: number; data: Float32Array }
  /** `unreadable`: sharp could not decode the file; otherwise the image does not fit the preprocessing. */
  | { id: number; error: { file: string; message: string; unreadable: boolean } };

const { port, signal, preprocess: p, target } = workerData as WorkerSetup;
const { default: sharp } = await import('sharp');
// Every image is seen once per pass: libvips' operation cache would only hold memory.
sharp.cache(false);

function post(m: DecodeResult, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

/** An image that decodes but does not fit the preprocessing. */
class Misfit extends Error {}

/** sharp's message, first line only, without its "Input file ..." boilerplate. */
function why(e: unknown): { message: string; unreadable: boolean } {
  return { message: String((e as Error)?.message ?? e).split('\n')[0]!.replace(/^Input file /, ''), unreadable: !(e instanceof Misfit) };
}

/**
 * The geometry when it does not depend on the image's size: a fixed [height, width] resize, or
 * neither resize nor crop (the decoded size is then checked against the model's). sharp's
 * metadata() pass, about a third of the CPU a small image costs, is then skipped.
 */
function sizeFreeGeometry(): Geometry | undefined {
  if (!Array.isArray(p.resize) && (p.resize || p.centerCrop)) return undefined;
  const g = planGeometry(target, p, target);
  // A problem is named per image, with the image's size in the message.
  return typeof g === 'string' ? undefined : g;
}
const sizeFree = sizeFreeGeometry();

/** Images are taken as stored (no resize, no crop): a plain PNG then needs no sharp pipeline. */
const asStored = sizeFree && !sizeFree.resize && !sizeFree.crop ? sizeFree : undefined;

async function decodeInto(file: string, dst: Float32Array, offset: number): Promise<void> {
  // Read once, synchronously: this thread has nothing else to do, and an async read is four trips to libuv's pool.
  const bytes = readFileSync(file);
  const plain = asStored && pngAsStored(bytes, p);
  if (asStored && plain) {
    if (plain.width !== target.width || plain.height !== target.height) {
      throw new Misfit(planGeometry({ width: plain.width, height: plain.height }, p, target) as string);
    }
    writePixels(dst, offset, plain.data, plain.width, asStored.out, asStored.pad, p);
    return;
  }
  const img = sharp(bytes);
  let g = sizeFree;
  if (!g) {
    const meta = await img.metadata();
    const planned = planGeometry({ width: meta.width!, height: meta.height! }, p, target);
    if (typeof planned === 'string') throw new Misfit(planned);
    g = planned;
  }
  img.removeAlpha();
  if (p.channels === 'gray') img.toColourspace('b-w');
  else img.toColourspace('srgb');
  if (g.resize) img.resize(g.resize.width, g.resize.height, { fit: 'fill', kernel: p.interpolation });
  if (g.crop) img.extract(g.crop);
  const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (!g.resize && (info.width !== target.width || info.height !== target.height)) {
    throw new Misfit(planGeometry({ width: info.width, height: info.height }, p, target) as string);
  }
  const c = channelCount(p);
  if (info.channels !== c) throw new Misfit(`decoded to ${info.channels} channels, expected ${c}`);
  writePixels(dst, offset, data, info.width, g.out, g.pad, p);
}

const perSample = channelCount(p) * target.height * target.width;

port.on('message', async ({ id, files }: DecodeRequest) => {
  const data = new Float32Array(files.length * perSample);
  // sharp runs the files in parallel on libuv's pool; the first failing file (in order) is reported.
  const errors = await Promise.all(files.map((file, i) => decodeInto(file, data, i * perSample).then(() => undefined, (e: unknown) => why(e))));
  const bad = errors.findIndex((e) => e !== undefined);
  if (bad >= 0) post({ id, error: { file: files[bad]!, ...errors[bad]! } });
  else post({ id, data }, [data.buffer as ArrayBuffer]);
});
