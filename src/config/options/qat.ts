// `qtool qat-finetune`'s options and the config's `qat` section. Numbers are
// parsed as numbers; the stage checks their ranges (positive, whole).
import { z } from 'zod';
import { DEFAULT_BATCH_SIZE, number, oneOf, positiveIntSchema, type OptionTable, type Section } from '../options.js';
import { METRIC_OPTIONS } from './metric.js';

/** sgd is SGD with momentum 0.9. */
export const OPTIMIZERS = ['adam', 'sgd'] as const;
export type Optimizer = (typeof OPTIMIZERS)[number];

export const QAT_OPTIONS = {
  distill: { flags: '--distill', help: 'no labels: distil from the FP32 model (KL divergence)', schema: z.boolean() },
  // --help has always shown these two defaults quoted.
  epochs: { flags: '--epochs <n>', help: 'passes over the training data', default: 2, helpDefault: '"2"', parse: number, schema: positiveIntSchema },
  baseLr: {
    flags: '--base-lr <lr>', help: 'learning rate of the original training; QAT starts at 1% of it (default 0.01)',
    parse: number, schema: z.number().positive(),
  },
  lr: { flags: '--lr <lr>', help: 'exact starting learning rate (instead of --base-lr)', parse: number, schema: z.number().positive() },
  optimizer: {
    flags: '--optimizer <name>', help: 'adam or sgd (momentum 0.9)', default: 'adam',
    parse: oneOf(OPTIMIZERS), schema: z.enum(OPTIMIZERS),
  },
  batchSize: {
    flags: '--batch-size <n>', help: 'samples per training step', default: DEFAULT_BATCH_SIZE, helpDefault: `"${DEFAULT_BATCH_SIZE}"`,
    parse: number, schema: positiveIntSchema,
  },
  learnRanges: {
    flags: '--learn-ranges', help: 'also learn the activation and weight scales (LSQ)', default: false, helpDefault: false,
    schema: z.boolean(),
  },
  /** Command line only: `qtool run` gives QAT the config's top-level maxDrop. */
  maxDrop: {
    flags: '--max-drop <points>', help: 'exit 1 when the exported INT8 model drops more than this from FP32 (on the --eval data)',
    parse: number,
  },
  ...METRIC_OPTIONS,
} satisfies OptionTable;

export type QatSection = Section<typeof QAT_OPTIONS>;
