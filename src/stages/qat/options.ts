// A qat section (from the command's flags or from a config) as the stage's
// options, with the table's defaults: `qtool qat-finetune` and `qtool run`
// both call this. The stage checks the values (checkOptions) before
// TensorFlow loads. `distill` is one of the stage's inputs, not an option.
import { withDefaults } from '../../config/options.js';
import { QAT_OPTIONS, type QatSection } from '../../config/options/qat.js';
import type { QatOptions } from './qat.js';
import { metricCommandOf } from '../../config/options/metric.js';

export function qatOptions(section: QatSection, outDir: string): QatOptions {
  const s = withDefaults(QAT_OPTIONS, section);
  return {
    epochs: s.epochs,
    baseLr: s.baseLr,
    lr: s.lr,
    optimizer: s.optimizer,
    batchSize: s.batchSize,
    learnRanges: s.learnRanges,
    maxDrop: s.maxDrop,
    ...(metricCommandOf(s) ? { metricCommand: metricCommandOf(s) } : {}),
    outDir,
  };
}
