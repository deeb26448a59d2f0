// A partial section (from the command's flags or from a config) as the
// stage's options, with the table's defaults: `qtool partial` and `qtool run`
// both call this.
import { withDefaults } from '../../config/options.js';
import { PARTIAL_OPTIONS, type PartialSection } from '../../config/options/partial.js';
import type { PartialOptions } from './partial.js';
import { metricCommandOf } from '../../config/options/metric.js';

/** `budget` (a config's top-level maxDrop) is the budget when the section sets neither maxDrop nor keepFloat. */
export function partialOptions(section: PartialSection, budget: number | undefined, outDir: string): PartialOptions {
  const s = withDefaults(PARTIAL_OPTIONS, section);
  return {
    maxDrop: s.maxDrop ?? (s.keepFloat === undefined ? budget : undefined),
    keepFloat: s.keepFloat,
    floatType: s.floatType,
    ...(s.output !== undefined ? { output: s.output } : {}),
    maxSamples: s.maxSamples,
    batchSize: s.batchSize,
    ...(metricCommandOf(s) ? { metricCommand: metricCommandOf(s) } : {}),
    outDir,
  };
}
