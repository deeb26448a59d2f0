// qtool run's record keeping: runs (or reuses) one stage at a time and keeps
// the run.json entry of each: status, reason, timing, fingerprint, artifacts
// and what the stage's model measured.
import { relative } from 'node:path';
import type { RunStage } from '../../report/schemas/run.js';
import type { MetricCommandRecord } from '../../report/schemas/metric-command.js';
import { sha256File } from '../../util/files.js';
import { FileHashes, fingerprint, previousRun, reusable } from './reuse.js';

export type StageName = RunStage['name'];

/** What a stage's report says about the model it wrote. */
export interface Measured { model: string | null; accuracy: number | null; drop: number | null; samples: number | null }

export const NOTHING_MEASURED: Measured = { model: null, accuracy: null, drop: null, samples: null };

export interface StageSpec<R> {
  name: StageName;
  reason: string;
  /** Files the stage reads, by role (hashed into the fingerprint). */
  inputs: Record<string, string | undefined>;
  options: unknown;
  execute: () => Promise<R>;
  /** The report of a reused stage, from disk. */
  load: () => R;
  artifacts: (r: R) => string[];
  measure: (r: R) => Measured;
  /** What the user's metric command cost the stage (its report's metricCommand), if it scored with one. */
  metricCost?: (r: R) => MetricCommandRecord | undefined;
}

export class StageRunner {
  readonly stages: RunStage[] = [];
  readonly hashes = new FileHashes();
  /** The metric command's cost in each stage that ran now (reused stages cost nothing). */
  readonly metricCosts: MetricCommandRecord[] = [];
  private readonly prev;

  constructor(
    private readonly out: string,
    private readonly onStage?: (name: StageName, reason: string, reused: boolean) => void,
  ) {
    this.prev = previousRun(out);
  }

  /** A path as run.json records it: relative to the run folder. */
  fromRun(p: string): string {
    return relative(this.out, p);
  }

  async run<R>(s: StageSpec<R>): Promise<R> {
    const t0 = performance.now();
    const fp = fingerprint(s.name, this.hashes, s.inputs, s.options);
    const old = reusable(this.prev, this.out, s.name, fp);
    this.onStage?.(s.name, s.reason, old !== undefined);
    const report = old ? s.load() : await s.execute();
    const m = s.measure(report);
    const cost = old ? undefined : s.metricCost?.(report);
    if (cost) this.metricCosts.push(cost);
    this.stages.push({
      name: s.name, status: old ? 'reused' : 'ran', reason: s.reason, seconds: (performance.now() - t0) / 1000, fingerprint: fp,
      artifacts: old ? old.artifacts : s.artifacts(report).map((p) => ({ path: this.fromRun(p), sha256: sha256File(p) })),
      ...m, model: m.model === null ? null : this.fromRun(m.model),
    });
    return report;
  }

  skip(name: StageName, reason: string): void {
    this.stages.push({ name, status: 'skipped', reason, seconds: 0, fingerprint: null, artifacts: [], ...NOTHING_MEASURED });
  }

  /** Recorded, so that the next run reuses the stages before this one and resumes it. */
  interrupted(name: StageName, reason: string, seconds: number): void {
    this.stages.push({ name, status: 'interrupted', reason, seconds, fingerprint: null, artifacts: [], ...NOTHING_MEASURED });
  }
}
