// Config sections -> stage options, with the defaults the stage commands'
// flags have (test/config.test.ts checks that they agree).
import type { CalibrateSection, Config, PartialSection, QatSection, SensitivitySection } from '../../config/schema.js';
import type { CalibrateInputs, CalibrateOptions } from '../calibrate/calibrate.js';
import { DEFAULT_PERCENTILES, parseMethods } from '../../calib/methods.js';
import { DEFAULT_PROXY_SAMPLES, type SensitivityOptions } from '../sensitivity/sensitivity.js';
import type { Mode } from '../sensitivity/rank.js';
import type { PartialOptions } from '../partial/partial.js';
import type { QatInputs, QatOptions } from '../qat/qat.js';

export const DEFAULT_BATCH_SIZE = 32;
const MODES: Record<string, Mode[]> = { fallback: ['fallback'], quantize: ['quantize'], both: ['fallback', 'quantize'] };

export function calibrateArgs(c: Config, s: CalibrateSection, outDir: string): [CalibrateInputs, CalibrateOptions] {
  const gelu = s.clipActivation ? Number(s.clipActivation.split('=')[1]) : undefined;
  return [
    { model: c.model, data: c.data.calibration, eval: c.data.eval, labels: c.data.evalLabels },
    {
      methods: parseMethods(s.method ?? 'all', s.percentile ?? DEFAULT_PERCENTILES),
      perChannel: s.perChannel ?? true,
      activationType: s.activationType ?? 'uint8',
      select: s.select,
      clipGelu: gelu,
      batchSize: s.batchSize ?? DEFAULT_BATCH_SIZE,
      outDir,
    },
  ];
}

export function sensitivityOptions(s: SensitivitySection, outDir: string): SensitivityOptions {
  return {
    modes: MODES[s.mode ?? 'fallback'],
    metric: s.metric,
    maxSamples: s.maxSamples,
    proxySamples: s.proxySamples ?? DEFAULT_PROXY_SAMPLES,
    batchSize: s.batchSize ?? DEFAULT_BATCH_SIZE,
    outDir,
  };
}

/** The run's budget unless the section sets its own (or a fixed number of float layers). */
export function partialOptions(s: PartialSection, maxDrop: number, outDir: string): PartialOptions {
  return {
    maxDrop: s.maxDrop ?? (s.keepFloat === undefined ? maxDrop : undefined),
    keepFloat: s.keepFloat,
    floatType: s.floatType ?? 'fp32',
    maxSamples: s.maxSamples,
    batchSize: s.batchSize ?? DEFAULT_BATCH_SIZE,
    outDir,
  };
}

/** Without training labels, QAT distils from the FP32 model. */
export function qatArgs(c: Config, s: QatSection, calibration: string, partial: string | undefined, outDir: string): [QatInputs, QatOptions] {
  return [
    {
      model: c.model, calibration, partial, train: c.data.train!, trainLabels: c.data.trainLabels,
      distill: s.distill ?? !c.data.trainLabels, eval: c.data.eval, labels: c.data.evalLabels,
    },
    {
      epochs: s.epochs ?? 2,
      baseLr: s.baseLr,
      lr: s.lr,
      optimizer: s.optimizer ?? 'adam',
      batchSize: s.batchSize ?? DEFAULT_BATCH_SIZE,
      learnRanges: s.learnRanges ?? false,
      maxDrop: c.maxDrop,
      outDir,
    },
  ];
}
