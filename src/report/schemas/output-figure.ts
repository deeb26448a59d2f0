import { z } from 'zod';
import { decibels, percent } from './values.js';

/**
 * One model output against the FP32 model's (src/metrics/output-figure.ts):
 * agreement of the argmax for outputs with a class axis ([N, C] per sample,
 * [N, T, C] per position), SQNR for the others (maps).
 */
export const outputFigureSchema = z.object({
  name: z.string(),
  /** One sample's shape (the batch axis left out). */
  dims: z.array(z.number().int().nonnegative()),
  kind: z.enum(['classes', 'positions', 'map']),
  metric: z.enum(['agreement', 'sqnr']),
  /** Agreement in percent, or the SQNR metric's value (dB clamped to [0, 100]). */
  value: percent,
  agreement: percent.nullable(),
  /** null when identical to FP32's. */
  sqnrDb: decibels.nullable(),
}).superRefine((f, ctx) => {
  const expected = f.kind === 'map' ? 'sqnr' : 'agreement';
  if (f.metric !== expected) ctx.addIssue({ code: 'custom', path: ['metric'], message: `a ${f.kind} output is scored by ${expected}` });
  if ((f.agreement === null) !== (f.kind === 'map')) ctx.addIssue({ code: 'custom', path: ['agreement'], message: `${f.kind === 'map' ? 'no' : 'an'} agreement for a ${f.kind} output` });
});
export type OutputFigureReport = z.infer<typeof outputFigureSchema>;

/** The metric a report's budget is decided on, and the output it is measured on. */
export const primaryMetricSchema = z.object({
  /** 'top1' (labels), 'agreement' (with FP32), 'sqnr' (dB, FP32 = the 100 dB cap), or the name of the user's metric. */
  name: z.string().min(1),
  /** The primary output (the built-in metrics); null for the user's command. */
  output: z.string().nullable(),
  /** A percentage for the built-in metrics; the command's units for the user's. */
  fp32: z.number(),
  /** Only the user's metric may be lower-is-better (absent: higher is better). */
  higherIsBetter: z.boolean().optional(),
});
export type PrimaryMetric = z.infer<typeof primaryMetricSchema>;
