import { createHash } from 'node:crypto';
import { z } from 'zod';
import { QUANT_TYPES } from '../../quant/qparams.js';
import { FLOAT_REASONS } from '../../quant/float-tensors.js';
import { reportHeader } from '../io.js';
import { typeRange } from '../../quant/qparams.js';
import { count, positiveCount } from './values.js';

const range = z.object({ min: z.number(), max: z.number() }).refine((r) => r.min <= r.max, { message: 'min is above max' });

const quantType = z.enum(QUANT_TYPES);

/** A planned tensor left float, and why (src/quant/float-tensors.ts); calibrate.json lists the same. */
export const floatTensorSchema = z.object({ tensor: z.string(), reason: z.enum(FLOAT_REASONS) });

/** The parameters a tensor is quantized with: a finite positive scale, a zero point inside its integer type. */
const selected = z.object({
  min: z.number(), max: z.number(), scale: z.number().positive(), zeroPoint: z.number().int(), type: quantType,
}).superRefine((s, ctx) => {
  if (s.min > s.max) ctx.addIssue({ code: 'custom', path: ['max'], message: `max ${s.max} is below min ${s.min}` });
  const { qmin, qmax } = typeRange(s.type);
  if (s.zeroPoint < qmin || s.zeroPoint > qmax) {
    ctx.addIssue({ code: 'custom', path: ['zeroPoint'], message: `zero point ${s.zeroPoint} is outside ${s.type}'s range [${qmin}, ${qmax}]` });
  }
});

/** calibration.json: what later stages need to rebuild the quantized model. */
export const calibrationSchema = z.object({
  schema: z.literal('qtool/calibration@1'),
  ...reportHeader,
  data: z.object({ path: z.string(), samples: positiveCount }),
  selectedMethod: z.string(),
  perChannel: z.boolean(),
  activationType: quantType,
  /**
   * The recipe's passes in the order they ran, with their parameters and
   * effect (src/quant/passes/); every later stage replays them and checks the
   * effect. Absent in files from before passes were recorded.
   */
  passes: z.array(z.object({
    name: z.string(), params: z.record(z.string(), z.unknown()), effect: z.record(z.string(), z.unknown()),
  })).optional(),
  /** The GELU cap (the clip-gelu pass's parameter), kept for readers of the first format. */
  clipGelu: z.number().positive().nullable(),
  /** BatchNormalization nodes folded into their Convs (the fold-batchnorm pass's effect), kept for readers of the first format. */
  foldedBatchNorms: z.array(z.string()),
  layers: z.array(z.object({ name: z.string(), opType: z.string(), weight: z.string(), params: count })),
  /** Planned tensors calibration gave no usable range: no Q/DQ pair, in every stage. Absent in files from before. */
  floatTensors: z.array(floatTensorSchema).default([]),
  tensors: z.array(z.object({
    name: z.string(),
    min: z.number(),
    max: z.number(),
    count,
    /** The streamed histogram (signed, power-of-two range), sparse. */
    histogram: z.object({
      nbins: positiveCount, count, nonFinite: count, nan: count.optional(), min: z.number(), max: z.number(), range: z.number().positive(),
      bins: z.array(z.tuple([count, count])),
    }),
    /** The range each method chose. */
    ranges: z.record(z.string(), range),
    sharesScaleWith: z.string().nullable(),
    selected,
  }).refine((t) => t.min <= t.max, { message: 'min is above max', path: ['max'] })),
}).superRefine((c, ctx) => {
  const quantized = new Set(c.tensors.map((t) => t.name));
  const float = new Set<string>();
  for (const [i, f] of c.floatTensors.entries()) {
    if (quantized.has(f.tensor) || float.has(f.tensor)) {
      ctx.addIssue({ code: 'custom', path: ['floatTensors', i, 'tensor'], message: `'${f.tensor}' is listed twice (float tensors and quantized tensors are disjoint)` });
    }
    float.add(f.tensor);
  }
  for (const [i, t] of c.tensors.entries()) {
    if (t.selected.type !== c.activationType) {
      ctx.addIssue({ code: 'custom', path: ['tensors', i, 'selected', 'type'], message: `${t.selected.type} in a calibration of ${c.activationType} activations` });
    }
    const outside = t.histogram.bins.find(([b]) => b >= t.histogram.nbins);
    if (outside) ctx.addIssue({ code: 'custom', path: ['tensors', i, 'histogram', 'bins'], message: `bin ${outside[0]} of ${t.histogram.nbins}` });
  }
});
export type Calibration = z.infer<typeof calibrationSchema>;

/**
 * What a quantized model depends on in a calibration.json: the passes, the
 * types and granularity, the layers and every tensor's parameters; not the
 * command line, the data's path or the histograms. Two files with the same
 * decisions make the same models.
 */
export function calibrationDecisions(cal: Calibration) {
  return {
    perChannel: cal.perChannel, activationType: cal.activationType, clipGelu: cal.clipGelu, foldedBatchNorms: cal.foldedBatchNorms,
    layers: cal.layers.map((l) => l.name),
    tensors: cal.tensors.map((t) => [t.name, t.sharesScaleWith, t.selected]),
    // Only when there are any, so that files without float tensors keep their hash.
    ...(cal.floatTensors.length ? { floatTensors: cal.floatTensors } : {}),
    ...(cal.passes ? { passes: cal.passes } : {}),
  };
}

/** SHA-256 of calibrationDecisions, as sensitivity.json records it. */
export function calibrationDecisionsSha256(cal: Calibration): string {
  return createHash('sha256').update(JSON.stringify(calibrationDecisions(cal))).digest('hex');
}
