// Worker side of the calibration pass: folds batches of activations into
// per-tensor histograms while the main thread runs the next forward batch.
import { parentPort } from 'node:worker_threads';
import { TensorHistogram } from './histogram.js';

export type ToWorker =
  | { kind: 'batch'; id: number; tensors: [string, Float32Array][] }
  | { kind: 'finish' };

export type FromWorker =
  | { kind: 'done'; id: number; ms: number }
  | { kind: 'histograms'; histograms: [string, ReturnType<TensorHistogram['toJSON']>][]; ms: number }
  | { kind: 'error'; message: string };

const histograms = new Map<string, TensorHistogram>();
let busyMs = 0;

parentPort!.on('message', (msg: ToWorker) => {
  try {
    if (msg.kind === 'batch') {
      const t0 = performance.now();
      for (const [name, data] of msg.tensors) {
        let h = histograms.get(name);
        if (!h) histograms.set(name, (h = new TensorHistogram()));
        h.update(data);
      }
      const ms = performance.now() - t0;
      busyMs += ms;
      parentPort!.postMessage({ kind: 'done', id: msg.id, ms } satisfies FromWorker);
    } else {
      parentPort!.postMessage({ kind: 'histograms', histograms: [...histograms].map(([n, h]) => [n, h.toJSON()]), ms: busyMs } satisfies FromWorker);
    }
  } catch (e) {
    parentPort!.postMessage({ kind: 'error', message: String((e as Error).stack ?? e) } satisfies FromWorker);
  }
});
