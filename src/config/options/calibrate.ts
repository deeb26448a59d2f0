// `qtool calibrate`'s options and the config's `calibrate` section.
import { z } from 'zod';
import { DEFAULT_PERCENTILES, METHOD_FAMILIES, methodFamilies, parsePercentiles } from '../../calib/methods.js';
import { QUANT_TYPES } from '../../quant/qparams.js';
import { parseClipActivation } from '../../quant/passes/clip-gelu.js';
import { DEFAULT_SMOOTH_ALPHA } from '../../quant/passes/smooth-quant.js';
import { InputError } from '../../util/errors.js';
import { accepts, batchSizeOption, flagged, oneOf, scoredOutputOption, text, type OptionTable, type Section } from '../options.js';
import { METRIC_OPTIONS } from './metric.js';

const percentile = 'expected a percentile in (0, 100]';
const alphaRange = 'expected SmoothQuant alpha in [0, 1]';

function parseAlpha(t: string): number {
  const v = Number(t);
  if (t.trim() === '' || !(v >= 0 && v <= 1)) throw new InputError(`expected alpha in [0, 1], got '${t}'`);
  return v;
}

export const CALIBRATE_OPTIONS = {
  method: {
    flags: '--method <list>', help: 'all, or a comma list of max, entropy, percentile, mse', default: 'all',
    parse: flagged((t) => (methodFamilies(t), t)),
    schema: z.string().refine(accepts(methodFamilies), { message: `expected all, or a comma list of ${METHOD_FAMILIES.join('|')}` }),
  },
  percentile: {
    flags: '--percentile <list>', help: `percentiles for the percentile method (default ${DEFAULT_PERCENTILES.join(',')})`,
    default: DEFAULT_PERCENTILES, helpDefault: false,
    parse: flagged(parsePercentiles),
    schema: z.array(z.number().gt(0, percentile).lte(100, percentile)).min(1, 'expected at least one percentile'),
  },
  perChannel: {
    flags: '--per-channel', help: 'weights: int8 symmetric per output channel (default)', default: true,
    schema: z.boolean(),
    alt: { flags: '--per-tensor', help: 'weights: one scale per tensor', value: false },
  },
  activationType: {
    flags: '--activation-type <type>', help: 'uint8 (asymmetric, fast on x86) or int8 (symmetric)', default: 'uint8',
    parse: oneOf(QUANT_TYPES), schema: z.enum(QUANT_TYPES),
  },
  select: {
    flags: '--select <method>', help: "'best' (needs --eval or --metric-command; also tries the recipe without each requested pass) or a method id such as percentile-99.99",
    parse: text, schema: z.string().min(1),
  },
  clipActivation: {
    flags: '--clip-activation <spec>', help: "cap activations before calibration, e.g. 'gelu=10' (Wu et al.'s GELU10)",
    parse: flagged((t) => (parseClipActivation(t), t)),
    schema: z.string().refine(accepts(parseClipActivation), { message: 'expected gelu=<positive cap>, e.g. gelu=10' }),
  },
  equalize: {
    flags: '--equalize', help: 'cross-layer equalization before calibration: rescale pairs of layers so their per-channel weight ranges match (Nagel et al. 2019)',
    schema: z.boolean(),
  },
  smoothQuant: {
    flags: '--smooth-quant [alpha]', preset: String(DEFAULT_SMOOTH_ALPHA),
    help: `SmoothQuant before calibration: move outlier activation channels of MatMul/Gemm inputs into the weights, s = max|X|^alpha / max|W|^(1-alpha) (Xiao et al. 2023; alpha ${DEFAULT_SMOOTH_ALPHA} when not given)`,
    parse: flagged(parseAlpha),
    schema: z.union([z.boolean(), z.number().min(0, alphaRange).max(1, alphaRange)]),
  },
  biasCorrection: {
    flags: '--bias-correction', help: 'empirical bias correction: each layer\'s bias absorbs the mean output shift its weight quantization causes on the calibration data (Nagel et al. 2019)',
    schema: z.boolean(),
  },
  output: scoredOutputOption,
  batchSize: batchSizeOption,
  ...METRIC_OPTIONS,
} satisfies OptionTable;

export type CalibrateSection = Section<typeof CALIBRATE_OPTIONS>;
