// A calibrate section (from the command's flags or from a config) as the
// stage's options, with the table's defaults: `qtool calibrate` and
// `qtool run` both call this.
import chalk from 'chalk';
import { parseMethods } from '../../calib/methods.js';
import { withDefaults } from '../../config/options.js';
import { CALIBRATE_OPTIONS, type CalibrateSection } from '../../config/options/calibrate.js';
import { parseClipActivation } from '../../quant/passes/clip-gelu.js';
import { DEFAULT_SMOOTH_ALPHA } from '../../quant/passes/smooth-quant.js';
import type { CalibrateOptions } from './calibrate.js';
import { metricCommandOf } from '../../config/options/metric.js';

export function calibrateOptions(section: CalibrateSection, outDir: string): CalibrateOptions {
  const s = withDefaults(CALIBRATE_OPTIONS, section);
  if (s.activationType === 'int8') {
    process.stderr.write(chalk.yellow('qtool: warning: int8 activations are symmetric and run slower than uint8 in ONNX Runtime on x86 (often slower than FP32); uint8 is the default for speed\n'));
  }
  return {
    methods: parseMethods(s.method, s.percentile),
    perChannel: s.perChannel,
    activationType: s.activationType,
    select: s.select,
    clipGelu: s.clipActivation === undefined ? undefined : parseClipActivation(s.clipActivation),
    ...(s.equalize ? { equalize: true } : {}),
    ...(s.biasCorrection ? { biasCorrection: true } : {}),
    ...(s.smoothQuant !== undefined && s.smoothQuant !== false ? { smoothQuant: s.smoothQuant === true ? DEFAULT_SMOOTH_ALPHA : s.smoothQuant } : {}),
    ...(s.output !== undefined ? { output: s.output } : {}),
    batchSize: s.batchSize,
    ...(metricCommandOf(s) ? { metricCommand: metricCommandOf(s) } : {}),
    outDir,
  };
}
