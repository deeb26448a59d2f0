// Decoded samples of an image folder, on demand, synchronously for the
// Dataset interface, from a worker thread that decodes ahead.
//
// `samples(start, size)` blocks (Atomics.wait) until the worker has the range,
// then asks it for the next range of the same size, so that a sequential
// reader (every forward pass) gets batch k+1 decoded while onnxruntime runs
// batch k on the main thread. Random access (QAT's shuffled samples) is served
// from a small cache of decoded samples, bounded in bytes, so memory does not
// grow with the folder.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { fileError } from '../util/errors.js';
import type { Preprocess, Size } from './preprocess.js';
import type { DecodeRequest, DecodeResult, WorkerSetup } from './image-worker.js';

/** Decoded samples kept for reuse (QAT's epochs over a small folder, its shuffled batches). */
export const DECODED_CACHE_BYTES = 64 * 2 ** 20;

export class ImageDecoder {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 0;
  /** Requests in flight: id -> first sample and count. */
  private readonly inFlight = new Map<number, { start: number; size: number }>();
  /** Where the last read ended: a read starting there is sequential, worth decoding ahead of. */
  private lastEnd = 0;
  /** Sample index -> its values; Map order is the LRU order. */
  private readonly cache = new Map<number, Float32Array>();
  private readonly cacheLimit: number;
  readonly perSample: number;

  constructor(private readonly files: readonly string[], preprocess: Preprocess, target: Size, channels: number) {
    this.perSample = channels * target.height * target.width;
    this.cacheLimit = Math.max(1, Math.floor(DECODED_CACHE_BYTES / (4 * this.perSample)));
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const setup: WorkerSetup = { port: port2, signal: this.signal, preprocess, target };
    this.worker = new Worker(new URL('./image-worker.js', import.meta.url), { workerData: setup, transferList: [port2] });
    // An idle decoder must not keep the process alive.
    this.worker.unref();
    this.port.unref();
  }

  /** Samples [start, start + size) as one fresh array, `perSample` values each. */
  samples(start: number, size: number): Float32Array {
    const out = new Float32Array(size * this.perSample);
    const missing: number[] = [];
    for (let i = start; i < start + size; i++) {
      const hit = this.cache.get(i);
      if (hit) out.set(hit, (i - start) * this.perSample);
      else missing.push(i);
    }
    if (missing.length) {
      // Contiguous runs: one request (or one prefetched result) each.
      for (const run of runsOf(missing)) {
        const data = this.wait(this.requestFor(run.start, run.size));
        out.set(data, (run.start - start) * this.perSample);
        for (let k = 0; k < run.size; k++) this.remember(run.start + k, data.subarray(k * this.perSample, (k + 1) * this.perSample));
      }
    } else {
      for (let i = start; i < start + size; i++) this.touch(i);
    }
    if (start === this.lastEnd) this.prefetch(start + size, Math.min(size, this.files.length - start - size));
    this.lastEnd = start + size;
    return out;
  }

  private remember(i: number, values: Float32Array): void {
    if (this.cache.size >= this.cacheLimit) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(i, values);
  }

  private touch(i: number): void {
    const v = this.cache.get(i)!;
    this.cache.delete(i);
    this.cache.set(i, v);
  }

  /** Asks for the next range unless it is cached or already asked for. */
  private prefetch(start: number, size: number): void {
    if (size <= 0 || this.inFlight.size > 0) return;
    if (this.cache.has(start) && this.cache.has(start + size - 1)) return;
    this.post(start, size);
  }

  /** The request in flight for exactly this range, else a new one. */
  private requestFor(start: number, size: number): number {
    for (const [id, r] of this.inFlight) if (r.start === start && r.size === size) return id;
    return this.post(start, size);
  }

  private post(start: number, size: number): number {
    const id = this.nextId++;
    this.inFlight.set(id, { start, size });
    this.port.postMessage({ id, files: this.files.slice(start, start + size) } satisfies DecodeRequest);
    return id;
  }

  /**
   * Blocks until request `id` is answered. Other answers (decoding ahead)
   * go into the cache; a failed one is dropped: asked for, it fails again.
   */
  private wait(id: number): Float32Array {
    for (;;) {
      const seen = Atomics.load(this.signal, 0);
      const m = receiveMessageOnPort(this.port);
      if (m) {
        const r = m.message as DecodeResult;
        const range = this.inFlight.get(r.id)!;
        this.inFlight.delete(r.id);
        if (r.id === id) {
          if ('error' in r) throw fileError(r.error.file, r.error.unreadable ? `cannot read this image (${r.error.message})` : r.error.message);
          return r.data;
        }
        if ('data' in r) {
          for (let k = 0; k < range.size; k++) this.remember(range.start + k, r.data.subarray(k * this.perSample, (k + 1) * this.perSample));
        }
        continue;
      }
      // A worker that died (it cannot post its error then) must not hang the run: check every few seconds.
      if (Atomics.wait(this.signal, 0, seen, 5000) === 'timed-out' && this.worker.threadId < 0) {
        throw new Error('the image decoding thread stopped');
      }
    }
  }
}

function runsOf(sorted: number[]): { start: number; size: number }[] {
  const runs: { start: number; size: number }[] = [];
  for (const i of sorted) {
    const last = runs[runs.length - 1];
    if (last && last.start + last.size === i) last.size++;
    else runs.push({ start: i, size: 1 });
  }
  return runs;
}
