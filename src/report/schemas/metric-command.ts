import { z } from 'zod';
import { count, seconds } from './values.js';

/**
 * A stage scored with the user's own command (--metric-command): the metric's
 * name and direction, FP32's score (from the cache or one run), and what the
 * command cost, so that its share of the stage's time is visible.
 */
export const metricCommandSchema = z.object({
  name: z.string().min(1),
  command: z.string().min(1),
  higherIsBetter: z.boolean(),
  /** The metric's values are the command's own units (not a percentage range). */
  fp32: z.number(),
  fp32Cached: z.boolean(),
  /** Runs of the command by this stage, FP32's included when it was not cached, and their wall time. */
  runs: count,
  seconds,
});
export type MetricCommandRecord = z.infer<typeof metricCommandSchema>;

/** A metric's value: a percentage for the built-in metrics, the command's units for the user's. */
export const metricValue = z.number();
