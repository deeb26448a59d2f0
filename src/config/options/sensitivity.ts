// `qtool sensitivity`'s options and the config's `sensitivity` section, with
// their vocabularies: the modes a variant measures and the ranking metrics.
import { z } from 'zod';
import { batchSizeOption, maxSamplesOption, oneOf, positiveInt, positiveIntSchema, scoredOutputOption, type OptionTable, type Section } from '../options.js';
import { METRIC_OPTIONS } from './metric.js';

/** What a variant measures: every layer quantized but one (fallback), or only one (quantize). */
export const MODES = ['fallback', 'quantize'] as const;
export type Mode = (typeof MODES)[number];
/** `--mode`: the modes it runs. */
export const MODE_CHOICES = { fallback: ['fallback'], quantize: ['quantize'], both: MODES } as const satisfies Record<string, readonly Mode[]>;
const MODE_NAMES = Object.keys(MODE_CHOICES) as (keyof typeof MODE_CHOICES)[];

export const METRICS = ['top1', 'agreement', 'sqnr'] as const;
export type Metric = (typeof METRICS)[number];

export const DEFAULT_PROXY_SAMPLES = 64;
/** With --metric-command: the layers of the built-in ranking measured with it. */
export const DEFAULT_METRIC_TOP = 10;

export const SENSITIVITY_OPTIONS = {
  mode: {
    flags: '--mode <mode>', help: 'fallback, quantize or both', default: 'fallback',
    parse: oneOf(MODE_NAMES), schema: z.enum(MODE_NAMES),
  },
  metric: {
    flags: '--metric <metric>', help: 'top1 (default with labels), agreement (default without) or sqnr',
    parse: oneOf(METRICS, METRICS.join(', ')), schema: z.enum(METRICS),
  },
  output: scoredOutputOption,
  maxSamples: maxSamplesOption,
  proxySamples: {
    flags: '--proxy-samples <n>', help: 'samples for the quick proxy ranking', default: DEFAULT_PROXY_SAMPLES,
    parse: positiveInt, schema: positiveIntSchema,
  },
  ...METRIC_OPTIONS,
  metricTop: {
    flags: '--metric-top <k>', help: 'with --metric-command: measure the K most sensitive layers with it and re-order them by it',
    default: DEFAULT_METRIC_TOP, parse: positiveInt, schema: positiveIntSchema,
  },
  batchSize: batchSizeOption,
  /** The chart's length: the command's, not the stage's. */
  top: { flags: '--top <n>', help: 'layers shown in the chart', default: 10, parse: positiveInt, schema: positiveIntSchema },
} satisfies OptionTable;

export type SensitivitySection = Section<typeof SENSITIVITY_OPTIONS>;
