// Progress of a long loop, reported through a callback so that the layers
// doing the work (calibration, evaluation, training) draw nothing themselves:
// the stages pass the terminal's progress bars (src/report/progress.ts).

export interface Progress {
  /** Advance by `n` units; `info` is shown after the counters. */
  tick(n?: number, info?: string): void;
  stop(): void;
}

/** Starts a progress display for `total` units of `unit` under `label`. */
export type ProgressFactory = (label: string, total: number, unit?: string) => Progress;
