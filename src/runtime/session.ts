// onnxruntime-node sessions. session.run() returns a Promise but does its work
// synchronously on this thread, so batches run one after another.
import ort from 'onnxruntime-node';
import { InputError } from '../util/errors.js';

export type Session = ort.InferenceSession;
export { ort };

export interface SessionOptions {
  /** Intra-op threads; default lets ORT decide (all cores). */
  threads?: number;
  /** ORT graph optimization level; 'all' fuses QDQ into integer kernels. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

export async function createSession(bytes: Uint8Array, label: string, opts: SessionOptions = {}): Promise<Session> {
  try {
    return await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: opts.optimization ?? 'all',
      intraOpNumThreads: opts.threads ?? 0,
      executionMode: 'sequential',
      logSeverityLevel: 3,
    });
  } catch (e) {
    const why = String((e as Error).message ?? e).split('\n')[0];
    throw new InputError(`${label}: onnxruntime cannot load the model (${why})`);
  }
}
