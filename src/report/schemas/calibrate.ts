import { z } from 'zod';
import { schemaField } from '../../util/schema-version.js';
import { reportHeader } from '../io.js';
import { floatTensorSchema } from './calibration.js';
import { subgraphLayerSchema } from './inspect.js';
import { bytes, count, decibels, percent, points, positiveCount, seconds } from './values.js';
import { outputFigureSchema, primaryMetricSchema } from './output-figure.js';
import { metricCommandSchema, metricValue } from './metric-command.js';

export const methodResultSchema = z.object({
  method: z.string(),
  /** With `--select best`: the recipe passes left out for this row ("without equalize"); absent: every requested pass. */
  variant: z.string().optional(),
  top1: percent.nullable(),
  /** FP32 top-1 minus this method's, in points. */
  drop: points.nullable(),
  /** The primary output's agreement with FP32 (per sample or position); null for a map or without evaluation. */
  agreement: percent.nullable(),
  /** The primary output's SQNR against FP32; null when identical. */
  sqnrDb: decibels.nullable(),
  /** The value of the report's `metric` (absent in reports of earlier versions). */
  value: metricValue.optional(),
  /** Every model output against FP32's (absent in reports of earlier versions). */
  outputs: z.array(outputFigureSchema).optional(),
});
export type MethodResult = z.infer<typeof methodResultSchema>;

/** calibrate.json: the comparison of methods and what was written. */
export const calibrateReportSchema = z.object({
  schema: schemaField('calibrate', 2, 1),
  ...reportHeader,
  data: z.object({ path: z.string(), samples: positiveCount }),
  eval: z.object({ path: z.string(), samples: positiveCount, labels: z.string().nullable() }).nullable(),
  fp32: z.object({ top1: percent.nullable(), sizeBytes: bytes }),
  /** What the methods are compared by, on which output; null without --eval (absent in reports of earlier versions). */
  metric: primaryMetricSchema.nullable().optional(),
  /** With --metric-command: the user's metric and what it cost. */
  metricCommand: metricCommandSchema.optional(),
  quantizedLayers: count,
  quantizedTensors: count,
  foldedActivations: count,
  foldedBatchNorms: count,
  /** Planned tensors left float (no usable range in the calibration data), with the reason. */
  floatTensors: z.array(floatTensorSchema).default([]),
  /** Layers inside If/Loop/Scan bodies, left in float (absent in reports of earlier versions). */
  subgraphLayers: z.array(subgraphLayerSchema).optional(),
  methods: z.array(methodResultSchema),
  selected: z.object({ method: z.string(), variant: z.string().optional(), reason: z.string(), model: z.string(), sizeBytes: bytes }),
  /** What each requested pass did, in one line (absent in reports of earlier versions). */
  passes: z.array(z.object({ name: z.string(), summary: z.string() })).optional(),
  clippedActivations: z.array(z.object({
    tensor: z.string(), cap: z.number().positive(), maxBefore: z.number(), fractionAboveCap: z.number().min(0).max(1),
    /** The GELU output's smallest value before the cap (absent in reports of earlier versions). */
    minBefore: z.number().optional(),
    /**
     * The range the selected method quantizes the capped tensor with; null when it is not quantized
     * (kept float, or not read by a quantized op). Absent in reports of earlier versions.
     */
    after: z.object({ min: z.number(), max: z.number() }).nullable().optional(),
  })),
  timings: z.object({ totalSeconds: seconds, forwardSeconds: seconds, statisticsSeconds: seconds }),
  artifacts: z.object({ calibration: z.string(), model: z.string(), report: z.string() }),
});
export type CalibrateReport = z.infer<typeof calibrateReportSchema>;

/** The row of the selected model: its method and pass variant. */
export function selectedResult(r: Pick<CalibrateReport, 'methods' | 'selected'>): MethodResult | undefined {
  return r.methods.find((m) => m.method === r.selected.method && m.variant === r.selected.variant);
}

/** The variant of a row scored without one requested pass (--select best). */
export const withoutPass = (pass: string): string => `without ${pass}`;

/** A row's name: the method, and the passes left out when --select best compared pass variants. */
export const methodLabel = (m: Pick<MethodResult, 'method' | 'variant'>): string => (m.variant ? `${m.method} (${m.variant})` : m.method);
