import { z } from 'zod';
import { schemaField } from '../../util/schema-version.js';
import { reportHeader } from '../io.js';
import { count, maxDropPoints, points, positiveCount, sha256 } from './values.js';
import { metricCommandSchema, metricValue } from './metric-command.js';

/** A file a stage wrote; `path` is relative to the run folder (the one holding run.json). */
export const runArtifactSchema = z.object({ path: z.string(), sha256 });
export type RunArtifact = z.infer<typeof runArtifactSchema>;

export const runStageSchema = z.object({
  name: z.enum(['calibrate', 'sensitivity', 'partial', 'partial-capped', 'qat']),
  /**
   * ran: computed now; reused: same inputs and options as the recorded run,
   * artifacts unchanged; skipped: not needed; interrupted: stopped by Ctrl-C
   * (QAT only: its checkpoint is resumed by the next run).
   */
  status: z.enum(['ran', 'reused', 'skipped', 'interrupted']),
  /** Why the stage was needed (or why not). */
  reason: z.string(),
  seconds: z.number().nonnegative(),
  /** SHA-256 of the stage's inputs and options; null when skipped or interrupted. */
  fingerprint: sha256.nullable(),
  artifacts: z.array(runArtifactSchema),
  /** The model this stage produced (one of `artifacts`), if any. */
  model: z.string().nullable(),
  /** Accuracy of that model (top-1 with labels, else agreement with FP32), percent, and FP32's minus it, points. */
  accuracy: metricValue.nullable(),
  drop: points.nullable(),
  /** Evaluation samples behind `accuracy`. */
  samples: positiveCount.nullable(),
});
export type RunStage = z.infer<typeof runStageSchema>;

/** run.json: what `qtool run` did, why, and the model it ended with. */
export const runReportSchema = z.object({
  schema: schemaField('run', 2, 1),
  ...reportHeader,
  config: z.object({ path: z.string(), sha256 }),
  budget: z.object({ maxDrop: maxDropPoints, maxFloatLayers: count.nullable() }),
  /** top1, agreement, sqnr, or the user's metric (metricCommand). */
  metric: z.string().min(1),
  /** The config's metric: its command and what it cost over the stages that ran. */
  metricCommand: metricCommandSchema.optional(),
  fp32: z.object({ accuracy: metricValue, samples: positiveCount }),
  stages: z.array(runStageSchema),
  final: z.object({
    stage: runStageSchema.shape.name,
    /** Relative to the run folder. */
    model: z.string(),
    sha256,
    accuracy: metricValue,
    drop: points,
    metBudget: z.boolean(),
    message: z.string(),
  }),
  timings: z.object({ totalSeconds: z.number() }),
});
export type RunReport = z.infer<typeof runReportSchema>;
