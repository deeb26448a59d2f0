import { z } from 'zod';
import { schemaField } from '../../util/schema-version.js';
import { METRICS, MODES } from '../../config/options/sensitivity.js';
import { GROUP_BY } from '../../quant/layer-groups.js';
import { reportHeader } from '../io.js';
import { outputFigureSchema } from './output-figure.js';
import { metricCommandSchema } from './metric-command.js';
import { count, decibels, percent, points, positiveCount, seconds, sha256, unique } from './values.js';

const measured = {
  /** Top-1 accuracy against the labels, percent; null without labels. */
  top1: percent.nullable(),
  /** Top-1 agreement with FP32 (per sample, or per position of [N, T, C]), percent; null for an output without classes. */
  agreement: percent.nullable(),
  /** Output SQNR against FP32, dB; null when identical. */
  sqnrDb: decibels.nullable(),
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
  seconds,
});

export const sensitivityLayerSchema = z.object({
  /** A layer's name, or a group's (`--group-by block|role`). */
  name: z.string(),
  /** A group's member layers; absent for a single layer. */
  layers: z.array(z.string()).min(1).optional(),
  opType: z.string(),
  params: count,
  /** 1 = most sensitive, by the measured variants. */
  rank: z.number().int().positive(),
  /**
   * From one run of the fully quantized model (SQNRs per channel, averaged in dB):
   * the layer's output after its own Q/DQ pairs and int8 weights against a
   * float copy of the layer fed the same inputs, which ranks. Reports of
   * earlier versions also carry outputSqnrDb (the output against FP32, with
   * upstream noise), no longer computed: the FP32 copy it took doubled the
   * proxy's cost for a tie-breaker.
   */
  proxy: z.object({
    outputSqnrDb: z.number().nullable().optional(),
    localSqnrDb: z.number().nullable(),
    rank: z.number().int().positive(),
  }),
  /** Among the proxy's top K, so its variants were measured (absent in reports of earlier versions: all were). */
  measured: z.boolean().optional(),
  fallback: variantResult.nullable(),
  quantize: variantResult.nullable(),
  /** With --metric-command, for the layers it measured: the variant (the first mode's) in the user's metric. */
  metric: z.object({ value: z.number(), drop: points }).optional(),
});
export type SensitivityLayer = z.infer<typeof sensitivityLayerSchema>;

/** sensitivity.json: every quantizable layer with its scores and rank. */
export const sensitivityReportSchema = z.object({
  schema: schemaField('sensitivity', 2, 1),
  ...reportHeader,
  calibration: z.object({
    path: z.string(), sha256: z.string(), method: z.string(),
    /**
     * SHA-256 of what the ranking depends on in calibration.json (the recipe:
     * passes, types, layers, every tensor's parameters), not of the file,
     * which also holds the command line. Absent in reports of earlier versions.
     */
    recipeSha256: sha256.optional(),
  }),
  data: z.object({ path: z.string(), samples: positiveCount }),
  labels: z.string().nullable(),
  modes: z.array(z.enum(MODES)).min(1),
  metric: z.enum(METRICS),
  impactUnit: z.string(),
  /**
   * The unit measured and ranked (absent in reports of earlier versions: layer).
   * `note` says why the grouping asked for fell back to one group per layer.
   */
  grouping: z.object({ by: z.enum(GROUP_BY), asked: z.enum(GROUP_BY), note: z.string().nullable() }).optional(),
  /** Only in a shard's report (`--shard I/N`): the part of the variants it measured. Merge the shards before partial. */
  shard: z.object({ index: positiveCount, count: positiveCount, variants: z.array(z.string()) }).optional(),
  fp32: z.object({ top1: percent.nullable() }),
  /** Every layer quantized (calibrate's model.int8.onnx). */
  quantized: z.object({
    ...measured, drop: points.nullable(),
    /** Every model output against FP32's (absent in reports of earlier versions). */
    outputs: z.array(outputFigureSchema).optional(),
  }),
  /** Layer (or group) names, most sensitive first: measured ones, then the rest in proxy order. */
  ranking: z.array(z.string()),
  proxyRanking: z.array(z.string()),
  /** With --metric-command: the ranking before its first `metricCommand.top` layers were re-ordered by the metric. */
  builtInRanking: z.array(z.string()).optional(),
  metricCommand: metricCommandSchema.extend({ mode: z.enum(MODES), top: count }).optional(),
  layers: z.array(sensitivityLayerSchema),
  timings: z.object({
    totalSeconds: seconds,
    /** One FP32 evaluation pass over the samples: session creation and forward passes. */
    fp32PassSeconds: seconds,
    /** The forward passes alone. */
    fp32ForwardSeconds: seconds,
    proxySeconds: seconds,
    /** Announced before the variants ran: their number times one INT8 evaluation pass (absent in earlier versions). */
    estimatedVariantsSeconds: seconds.optional(),
    /** What they took. */
    variantsSeconds: seconds.optional(),
    variants: count,
    medianVariantSeconds: seconds.nullable(),
    /** medianVariantSeconds / fp32PassSeconds. */
    variantToFp32Pass: z.number().nonnegative().nullable(),
  }),
  artifacts: z.object({ report: z.string() }),
}).superRefine((r, ctx) => {
  // The ranking is what partial uses: each layer once, only layers of the report.
  const names = new Set(r.layers.map((l) => l.name));
  const twice = unique(r.ranking);
  if (twice !== undefined) ctx.addIssue({ code: 'custom', path: ['ranking'], message: `ranks layer '${twice}' twice` });
  const stranger = r.ranking.find((n) => !names.has(n));
  if (stranger !== undefined) ctx.addIssue({ code: 'custom', path: ['ranking'], message: `ranks '${stranger}', which is not among its layers` });
  // Groups partition the layers: partial keeps a group in float by its members.
  const members = unique(r.layers.flatMap((l) => l.layers ?? [l.name]));
  if (members !== undefined) ctx.addIssue({ code: 'custom', path: ['layers'], message: `layer '${members}' is in two groups` });
});
export type SensitivityReport = z.infer<typeof sensitivityReportSchema>;
