import { z } from 'zod';
import { FLOAT_TYPES } from '../../config/options/partial.js';
import { reportHeader } from '../io.js';

const point = z.object({
  /** Layers kept in float at this step. */
  floatLayers: z.number().int().nonnegative(),
  /** The layer this step added to the float set; null for the fully quantized start. */
  added: z.string().nullable(),
  /** Top-1 with labels, agreement with FP32 without, percent. */
  accuracy: z.number(),
  /** FP32 accuracy minus this one, points. */
  drop: z.number(),
  top1: z.number().nullable(),
  agreement: z.number(),
  sqnrDb: z.number().nullable(),
  /** Median session.run time per batch, ms. */
  medianBatchMs: z.number(),
  sizeBytes: z.number().int(),
});
export type PartialPoint = z.infer<typeof point>;

/** partial.json: the layers kept in float, and what each step bought and cost. */
export const partialReportSchema = z.object({
  schema: z.literal('qtool/partial@1'),
  ...reportHeader,
  calibration: z.object({ path: z.string(), sha256: z.string() }),
  sensitivity: z.object({ path: z.string(), sha256: z.string() }),
  data: z.object({ path: z.string(), samples: z.number().int().positive() }),
  labels: z.string().nullable(),
  accuracyMetric: z.enum(['top1', 'agreement']),
  floatType: z.enum(FLOAT_TYPES),
  budget: z.object({ maxDrop: z.number().nullable(), keepFloat: z.number().int().nullable() }),
  fp32: z.object({ accuracy: z.number(), medianBatchMs: z.number(), sizeBytes: z.number().int() }),
  totalLayers: z.number().int(),
  floatLayers: z.array(z.string()),
  /** The model written: one of the curve's points. */
  result: point,
  met: z.boolean(),
  message: z.string(),
  curve: z.array(point),
  warnings: z.array(z.string()),
  timings: z.object({ totalSeconds: z.number() }),
  artifacts: z.object({ model: z.string(), report: z.string() }),
});
export type PartialReport = z.infer<typeof partialReportSchema>;
