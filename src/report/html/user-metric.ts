// The user's metric (a metric command) as the report's sections show it:
// under its own name and units, with its direction, so that an error rate's
// worsening reads as a rise, not as a negative drop.
import type { MetricCommandRecord } from '../schemas/metric-command.js';
import { fmt } from '../table.js';

type Direction = Pick<MetricCommandRecord, 'higherIsBetter'>;

/** What worse is called in this metric: a drop, or (lower is better) a rise. */
export const changeWord = (m: Direction): 'drop' | 'rise' => (m.higherIsBetter ? 'drop' : 'rise');

/** "(higher is better)" or "(lower is better)". */
export const directionNote = (m: Direction): string => `(${m.higherIsBetter ? 'higher' : 'lower'} is better)`;

/** The command, what it cost, and where FP32's score came from, for a section's text. */
export function commandCost(m: MetricCommandRecord): string {
  return `the metric command \`${m.command}\` (${m.runs} runs, ${fmt(m.seconds, 1)} s; FP32's score ${m.fp32Cached ? 'from the cache' : 'measured once'})`;
}
