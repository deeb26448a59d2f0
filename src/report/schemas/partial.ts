import { z } from 'zod';
import { schemaField } from '../../util/schema-version.js';
import { FLOAT_TYPES } from '../../config/options/partial.js';
import { reportHeader } from '../io.js';
import { outputFigureSchema } from './output-figure.js';
import { metricCommandSchema, metricValue } from './metric-command.js';
import { bytes, count, decibels, maxDropPoints, milliseconds, percent, points, positiveCount, seconds, unique } from './values.js';

const point = z.object({
  /** Layers kept in float at this step. */
  floatLayers: count,
  /** The layer (or group, when sensitivity ranked groups) this step added to the float set; null for the fully quantized start. */
  added: z.string().nullable(),
  /** Top-1 with labels, agreement with FP32 without, percent; for an output without classes, SQNR (dB clamped to [0, 100]). */
  accuracy: metricValue,
  /** FP32 accuracy minus this one, points (dB below the 100 dB cap for sqnr). */
  drop: points,
  top1: percent.nullable(),
  /** null for an output without classes. */
  agreement: percent.nullable(),
  sqnrDb: decibels.nullable(),
  /** Every model output against FP32's (absent in reports of earlier versions). */
  outputs: z.array(outputFigureSchema).optional(),
  /** Median session.run time per batch, ms; null when a metric command scored it (qtool does not run the model). */
  medianBatchMs: milliseconds.nullable(),
  sizeBytes: bytes,
});
export type PartialPoint = z.infer<typeof point>;

/** partial.json: the layers kept in float, and what each step bought and cost. */
export const partialReportSchema = z.object({
  schema: schemaField('partial', 2, 1),
  ...reportHeader,
  calibration: z.object({ path: z.string(), sha256: z.string() }),
  sensitivity: z.object({ path: z.string(), sha256: z.string() }),
  data: z.object({ path: z.string(), samples: positiveCount }),
  labels: z.string().nullable(),
  /** top1, agreement, sqnr, or the user's metric (metricCommand). */
  accuracyMetric: z.string().min(1),
  /** With --metric-command: the user's metric and what it cost. */
  metricCommand: metricCommandSchema.optional(),
  floatType: z.enum(FLOAT_TYPES),
  budget: z.object({ maxDrop: maxDropPoints.nullable(), keepFloat: count.nullable() }),
  /** FP32's value of accuracyMetric: its top-1, 100 (agreement with itself), or 100 (the SQNR cap). */
  fp32: z.object({ accuracy: metricValue, medianBatchMs: milliseconds.nullable(), sizeBytes: bytes }),
  totalLayers: count,
  floatLayers: z.array(z.string()),
  /** The groups those layers make up, when sensitivity ranked groups (`--group-by block|role`). */
  floatGroups: z.array(z.string()).optional(),
  /** The model written: one of the curve's points. */
  result: point,
  met: z.boolean(),
  message: z.string(),
  curve: z.array(point),
  warnings: z.array(z.string()),
  timings: z.object({ totalSeconds: seconds }),
  artifacts: z.object({ model: z.string(), report: z.string() }),
}).superRefine((r, ctx) => {
  // The float layers are what qat-finetune uses: each once, and the result's count.
  const twice = unique(r.floatLayers);
  if (twice !== undefined) ctx.addIssue({ code: 'custom', path: ['floatLayers'], message: `lists '${twice}' twice` });
  if (r.floatLayers.length > r.totalLayers) ctx.addIssue({ code: 'custom', path: ['floatLayers'], message: `${r.floatLayers.length} float layers of ${r.totalLayers}` });
  if (r.result.floatLayers !== r.floatLayers.length) {
    ctx.addIssue({ code: 'custom', path: ['result', 'floatLayers'], message: `${r.result.floatLayers}, but floatLayers lists ${r.floatLayers.length}` });
  }
});
export type PartialReport = z.infer<typeof partialReportSchema>;
