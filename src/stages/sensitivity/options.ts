// A sensitivity section (from the command's flags or from a config) as the
// stage's options, with the table's defaults: `qtool sensitivity` and
// `qtool run` both call this.
import { withDefaults } from '../../config/options.js';
import { MODE_CHOICES, SENSITIVITY_OPTIONS, type SensitivitySection } from '../../config/options/sensitivity.js';
import type { SensitivityOptions } from './sensitivity.js';
import { metricCommandOf } from '../../config/options/metric.js';

export function sensitivityOptions(section: SensitivitySection, outDir: string): SensitivityOptions {
  const s = withDefaults(SENSITIVITY_OPTIONS, section);
  return {
    modes: [...MODE_CHOICES[s.mode]],
    metric: s.metric,
    ...(s.output !== undefined ? { output: s.output } : {}),
    maxSamples: s.maxSamples,
    proxySamples: s.proxySamples,
    batchSize: s.batchSize,
    groupBy: s.groupBy,
    measureTop: s.measureTop,
    ...(s.shard !== undefined ? { shard: s.shard } : {}),
    ...(metricCommandOf(s) ? { metricCommand: metricCommandOf(s), metricTop: s.metricTop } : {}),
    outDir,
  };
}
