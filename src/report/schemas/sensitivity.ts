import { z } from 'zod';
import { METRICS, MODES } from '../../config/options/sensitivity.js';
import { reportHeader } from '../io.js';

const measured = {
  /** Top-1 accuracy against the labels, percent; null without labels. */
  top1: z.number().nullable(),
  /** Top-1 agreement with FP32, percent. */
  agreement: z.number(),
  /** Output SQNR against FP32, dB; null when identical. */
  sqnrDb: z.number().nullable(),
};

const variantResult = z.object({
  ...measured,
  /**
   * fallback: what keeping this layer in float recovers over the fully
   * quantized model; quantize: what quantizing only this layer loses against
   * FP32. In `impactUnit`; higher is more sensitive.
   */
  impact: z.number(),
  /** Seconds to build, load and evaluate this variant. */
  seconds: z.number(),
});

export const sensitivityLayerSchema = z.object({
  name: z.string(),
  opType: z.string(),
  params: z.number(),
  /** 1 = most sensitive, by the measured variants. */
  rank: z.number().int().positive(),
  /**
   * From one run of the fully quantized model (SQNRs per channel, averaged in dB):
   * the layer's output against FP32, which accumulates upstream noise, and its
   * output after its own Q/DQ pairs and int8 weights against a float copy of
   * the layer fed the same inputs, which ranks.
   */
  proxy: z.object({
    outputSqnrDb: z.number().nullable(),
    localSqnrDb: z.number().nullable(),
    rank: z.number().int().positive(),
  }),
  fallback: variantResult.nullable(),
  quantize: variantResult.nullable(),
});
export type SensitivityLayer = z.infer<typeof sensitivityLayerSchema>;

/** sensitivity.json: every quantizable layer with its scores and rank. */
export const sensitivityReportSchema = z.object({
  schema: z.literal('qtool/sensitivity@1'),
  ...reportHeader,
  calibration: z.object({ path: z.string(), sha256: z.string(), method: z.string() }),
  data: z.object({ path: z.string(), samples: z.number().int().positive() }),
  labels: z.string().nullable(),
  modes: z.array(z.enum(MODES)).min(1),
  metric: z.enum(METRICS),
  impactUnit: z.string(),
  fp32: z.object({ top1: z.number().nullable() }),
  /** Every layer quantized (calibrate's model.int8.onnx). */
  quantized: z.object({ ...measured, drop: z.number().nullable() }),
  /** Layer names, most sensitive first. */
  ranking: z.array(z.string()),
  proxyRanking: z.array(z.string()),
  layers: z.array(sensitivityLayerSchema),
  timings: z.object({
    totalSeconds: z.number(),
    /** One FP32 evaluation pass over the samples: session creation and forward passes. */
    fp32PassSeconds: z.number(),
    /** The forward passes alone. */
    fp32ForwardSeconds: z.number(),
    proxySeconds: z.number(),
    variants: z.number().int(),
    medianVariantSeconds: z.number().nullable(),
    /** medianVariantSeconds / fp32PassSeconds. */
    variantToFp32Pass: z.number().nullable(),
  }),
  artifacts: z.object({ report: z.string() }),
});
export type SensitivityReport = z.infer<typeof sensitivityReportSchema>;
