import { z } from 'zod';
import { reportHeader } from '../io.js';
import { outputFigureSchema } from './output-figure.js';

export const evalReportSchema = z.object({
  schema: z.literal('qtool/eval@1'),
  ...reportHeader,
  data: z.object({ path: z.string(), samples: z.number() }),
  labels: z.string().nullable(),
  reference: z.object({ path: z.string(), sha256: z.string() }).nullable(),
  /** Top-1 accuracy against the labels, percent. */
  top1: z.number().nullable(),
  /** The first output's agreement with the reference model (per sample, or per position of [N, T, C]), percent; null for a map. */
  agreement: z.number().nullable(),
  /** The first output's SQNR against the reference in dB; null when there is no reference or outputs are identical. */
  sqnrDb: z.number().nullable(),
  /** Every output against the reference's (empty without a reference). */
  outputs: z.array(outputFigureSchema),
  batchSize: z.number(),
  medianBatchMs: z.number(),
  referenceMedianBatchMs: z.number().nullable(),
});
export type EvalReport = z.infer<typeof evalReportSchema>;
