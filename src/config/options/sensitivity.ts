// `qtool sensitivity`'s options and the config's `sensitivity` section, with
// their vocabularies: the modes a variant measures and the ranking metrics.
import { z } from 'zod';
import { batchSizeOption, countSchema, maxSamplesOption, oneOf, positiveInt, positiveIntSchema, scoredOutputOption, type OptionTable, type Section } from '../options.js';
import { GROUP_BY } from '../../quant/layer-groups.js';
import { InputError } from '../../util/errors.js';
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

/** Units (layers or groups) measured by default: the proxy's top 20 (BERT-base has 74 layers; most CNNs fewer). */
export const DEFAULT_MEASURE_TOP = 20;

/** How many of the proxy's top units get measured variants: a count (0: the proxy alone) or all. */
export type MeasureTop = number | 'all';
function measureTop(text: string, flag: string): MeasureTop {
  if (text === 'all') return 'all';
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0) throw new InputError(`${flag} takes a whole number >= 0 or 'all', got '${text}'`);
  return n;
}

/** `--shard I/N`: this process measures the I-th of N parts of the variants (1-based). */
export interface Shard { index: number; count: number }
export function parseShard(text: string, flag: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new InputError(`${flag} takes I/N with 1 <= I <= N (e.g. 2/4), got '${text}'`);
  return { index, count };
}

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
  groupBy: {
    flags: '--group-by <unit>', help: 'the unit measured and ranked: layer, block (one encoder block) or role (e.g. every attention output projection), read from node names',
    default: 'layer', parse: oneOf(GROUP_BY), schema: z.enum(GROUP_BY),
  },
  measureTop: {
    flags: '--measure-top <k>', help: "measure variants only for the proxy's K most sensitive units (0: the proxy alone; 'all')",
    default: DEFAULT_MEASURE_TOP as MeasureTop, parse: measureTop, schema: z.union([countSchema, z.literal('all')]),
  },
  /** Command-line only: a CI matrix's job, not a pipeline setting. */
  shard: { flags: '--shard <i/n>', help: 'measure only the I-th of N deterministic parts of the variants (merge with qtool sensitivity-merge)', parse: parseShard },
  /** The chart's length: the command's, not the stage's. */
  top: { flags: '--top <n>', help: 'layers shown in the chart', default: 10, parse: positiveInt, schema: positiveIntSchema },
} satisfies OptionTable;

export type SensitivitySection = Section<typeof SENSITIVITY_OPTIONS>;
