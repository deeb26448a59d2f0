import { z } from 'zod';
import { reportHeader } from '../io.js';

export const methodResultSchema = z.object({
  method: z.string(),
  top1: z.number().nullable(),
  /** FP32 top-1 minus this method's, in points. */
  drop: z.number().nullable(),
  agreement: z.number().nullable(),
  sqnrDb: z.number().nullable(),
});
export type MethodResult = z.infer<typeof methodResultSchema>;

/** calibrate.json: the comparison of methods and what was written. */
export const calibrateReportSchema = z.object({
  schema: z.literal('qtool/calibrate@1'),
  ...reportHeader,
  data: z.object({ path: z.string(), samples: z.number() }),
  eval: z.object({ path: z.string(), samples: z.number(), labels: z.string().nullable() }).nullable(),
  fp32: z.object({ top1: z.number().nullable(), sizeBytes: z.number() }),
  quantizedLayers: z.number(),
  quantizedTensors: z.number(),
  foldedActivations: z.number(),
  foldedBatchNorms: z.number(),
  methods: z.array(methodResultSchema),
  selected: z.object({ method: z.string(), reason: z.string(), model: z.string(), sizeBytes: z.number() }),
  clippedActivations: z.array(z.object({
    tensor: z.string(), cap: z.number(), maxBefore: z.number(), fractionAboveCap: z.number(),
  })),
  timings: z.object({ totalSeconds: z.number(), forwardSeconds: z.number(), statisticsSeconds: z.number() }),
  artifacts: z.object({ calibration: z.string(), model: z.string(), report: z.string() }),
});
export type CalibrateReport = z.infer<typeof calibrateReportSchema>;
