// Batch latency of onnxruntime-node sessions: the same session options and
// the same input batch for every model, runs interleaved round by round so
// that load from other processes on a shared machine hits all models alike.
import { readFileSync } from 'node:fs';
import { createSession, ort, type Session } from '../src/runtime/session.js';

export interface LatencyOptions {
  threads: number;
  /** Untimed runs per model before the first timed one. */
  warmup: number;
  /** Rounds; in each, every model runs `runsPerRound` timed batches. */
  rounds: number;
  runsPerRound: number;
}

/** Milliseconds per session.run, per model label, in run order. */
export async function batchLatency(
  models: { label: string; path: string }[], batch: ort.Tensor, opts: LatencyOptions,
): Promise<Record<string, number[]>> {
  const sessions: [string, Session][] = [];
  for (const m of models) {
    sessions.push([m.label, await createSession(readFileSync(m.path), m.path, { threads: opts.threads, optimization: 'all' })]);
  }
  const times: Record<string, number[]> = Object.fromEntries(models.map((m) => [m.label, []]));
  try {
    for (const [, s] of sessions) for (let i = 0; i < opts.warmup; i++) await s.run({ [s.inputNames[0]!]: batch });
    for (let r = 0; r < opts.rounds; r++) {
      for (const [label, s] of sessions) {
        for (let i = 0; i < opts.runsPerRound; i++) {
          const t0 = performance.now();
          await s.run({ [s.inputNames[0]!]: batch });
          times[label]!.push(performance.now() - t0);
        }
      }
    }
  } finally {
    for (const [, s] of sessions) await s.release();
  }
  return times;
}
