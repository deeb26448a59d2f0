// `qtool partial`'s options and the config's `partial` section. Its budget is
// exactly one of maxDrop and keepFloat (the stage checks); a config's
// top-level maxDrop is the budget when the section gives neither.
import { z } from 'zod';
import {
  accuracyPointsSchema, batchSizeOption, countSchema, maxSamplesOption, number, oneOf, scoredOutputOption, wholeNumber, type OptionTable, type Section,
} from '../options.js';
import { METRIC_OPTIONS } from './metric.js';

/** How the float layers' weights are stored: fp16 halves them (ONNX Runtime computes in fp32). */
export const FLOAT_TYPES = ['fp32', 'fp16'] as const;
export type FloatType = (typeof FLOAT_TYPES)[number];

export const PARTIAL_OPTIONS = {
  maxDrop: {
    flags: '--max-drop <points>', help: 'accuracy budget: the largest drop against FP32, in percentage points',
    parse: number, schema: accuracyPointsSchema,
  },
  keepFloat: { flags: '--keep-float <k>', help: 'keep exactly the K most sensitive layers in float', parse: wholeNumber, schema: countSchema },
  floatType: {
    flags: '--float-type <type>', help: 'fp32, or fp16 (weights stored in half precision, computed in fp32)', default: 'fp32',
    parse: oneOf(FLOAT_TYPES), schema: z.enum(FLOAT_TYPES),
  },
  output: scoredOutputOption,
  maxSamples: maxSamplesOption,
  batchSize: batchSizeOption,
  ...METRIC_OPTIONS,
  maxFloatLayers: {
    help: '`qtool run` only: needing more float layers than this (a group counts all its layers) sends the run on to QAT',
    schema: countSchema,
  },
} satisfies OptionTable;

export type PartialSection = Section<typeof PARTIAL_OPTIONS>;
