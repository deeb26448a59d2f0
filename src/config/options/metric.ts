// The user's own metric (src/metrics/command-scorer.ts): the same four flags on
// calibrate, sensitivity, partial and qat-finetune. They are command-line
// options; a pipeline config gives them once, as its top-level `metric`
// object (schema.ts), which `qtool run` and `--config` pass to every stage.
import { z } from 'zod';
import type { MetricCommand } from '../../metrics/command-scorer.js';
import { number, text, type OptionTable } from '../options.js';

export const DEFAULT_METRIC_NAME = 'metric';
export const DEFAULT_METRIC_TIMEOUT_SECONDS = 600;

export const METRIC_OPTIONS = {
  metricCommand: {
    flags: '--metric-command <cmd>',
    help: "score candidates with your own command: {model} is replaced by the candidate's path, the last number it prints is the score",
    parse: text,
  },
  metricName: { flags: '--metric-name <name>', help: "the metric's name in reports", default: DEFAULT_METRIC_NAME, parse: text },
  metricLowerIsBetter: { flags: '--metric-lower-is-better', help: 'the metric is an error rate: its drop is the rise' },
  metricTimeout: {
    flags: '--metric-timeout <seconds>', help: 'stop a metric command that runs longer', default: DEFAULT_METRIC_TIMEOUT_SECONDS, parse: number,
  },
} satisfies OptionTable;

/** The run config's `metric`: higherIsBetter defaults to true. */
export const metricConfigSchema = z.object({
  command: z.string().min(1, 'expected a command').refine((c) => c.includes('{model}'), { message: 'expected a command that mentions {model}' }),
  name: z.string().min(1).optional(),
  higherIsBetter: z.boolean().default(true),
  timeoutSeconds: z.number().positive().optional(),
}).strict();
export type MetricConfig = z.infer<typeof metricConfigSchema>;

/** The flags' values, as a section gives them. */
export type MetricSection = {
  metricCommand?: string;
  metricName?: string;
  metricLowerIsBetter?: boolean;
  metricTimeout?: number;
};

/** The config's metric as the flags would give it. */
export function metricSectionOf(m: MetricConfig | undefined): MetricSection {
  if (!m) return {};
  return {
    metricCommand: m.command,
    ...(m.name !== undefined ? { metricName: m.name } : {}),
    ...(m.higherIsBetter ? {} : { metricLowerIsBetter: true }),
    ...(m.timeoutSeconds !== undefined ? { metricTimeout: m.timeoutSeconds } : {}),
  };
}

/** The stage's metric command, or undefined for the built-in scorer. */
export function metricCommandOf(s: MetricSection): MetricCommand | undefined {
  if (s.metricCommand === undefined) return undefined;
  return {
    command: s.metricCommand,
    name: s.metricName ?? DEFAULT_METRIC_NAME,
    higherIsBetter: !s.metricLowerIsBetter,
    timeoutSeconds: s.metricTimeout ?? DEFAULT_METRIC_TIMEOUT_SECONDS,
  };
}
