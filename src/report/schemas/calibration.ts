import { z } from 'zod';
import { QUANT_TYPES } from '../../quant/qparams.js';
import { reportHeader } from '../io.js';

const range = z.object({ min: z.number(), max: z.number() });

/** calibration.json: what later stages need to rebuild the quantized model. */
export const calibrationSchema = z.object({
  schema: z.literal('qtool/calibration@1'),
  ...reportHeader,
  data: z.object({ path: z.string(), samples: z.number() }),
  selectedMethod: z.string(),
  perChannel: z.boolean(),
  activationType: z.enum(QUANT_TYPES),
  /**
   * The recipe's passes in the order they ran, with their parameters and
   * effect (src/quant/passes/); every later stage replays them and checks the
   * effect. Absent in files from before passes were recorded.
   */
  passes: z.array(z.object({
    name: z.string(), params: z.record(z.string(), z.unknown()), effect: z.record(z.string(), z.unknown()),
  })).optional(),
  /** The GELU cap (the clip-gelu pass's parameter), kept for readers of the first format. */
  clipGelu: z.number().nullable(),
  /** BatchNormalization nodes folded into their Convs (the fold-batchnorm pass's effect), kept for readers of the first format. */
  foldedBatchNorms: z.array(z.string()),
  layers: z.array(z.object({ name: z.string(), opType: z.string(), weight: z.string(), params: z.number() })),
  tensors: z.array(z.object({
    name: z.string(),
    min: z.number(),
    max: z.number(),
    count: z.number(),
    /** The streamed histogram (signed, power-of-two range), sparse. */
    histogram: z.object({
      nbins: z.number(), count: z.number(), nonFinite: z.number(), min: z.number(), max: z.number(), range: z.number(),
      bins: z.array(z.tuple([z.number(), z.number()])),
    }),
    /** The range each method chose. */
    ranges: z.record(z.string(), range),
    sharesScaleWith: z.string().nullable(),
    selected: range.extend({ scale: z.number().positive(), zeroPoint: z.number().int(), type: z.enum(QUANT_TYPES) }),
  })),
});
export type Calibration = z.infer<typeof calibrationSchema>;
