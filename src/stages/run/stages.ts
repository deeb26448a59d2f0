// The stages as qtool run drives them: what each reads (for its
// fingerprint), how it runs or is reloaded, and what its model measured.
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { DataSourceOptions } from '../../data/dataset.js';
import { AGREEMENT, BUILT_IN_METRICS, dropOf, FP32_AGREEMENT } from '../../metrics/metric.js';
import { readReport } from '../../report/io.js';
import { modelFiles } from '../../report/write-model.js';
import { calibrateReportSchema, selectedResult, type CalibrateReport } from '../../report/schemas/calibrate.js';
import { sensitivityReportSchema, type SensitivityReport } from '../../report/schemas/sensitivity.js';
import { partialReportSchema, type PartialReport } from '../../report/schemas/partial.js';
import { qatReportSchema, type QatReport } from '../../report/schemas/qat.js';
import { calibrate } from '../calibrate/calibrate.js';
import { sensitivity } from '../sensitivity/sensitivity.js';
import { partial } from '../partial/partial.js';
import { qatFinetune, type QatOptions } from '../qat/qat.js';
import { NOTHING_MEASURED, type Measured, type StageSpec } from './runner.js';
import { calibrateOptions } from '../calibrate/options.js';
import { sensitivityOptions } from '../sensitivity/options.js';
import { partialOptions } from '../partial/options.js';
import { qatOptions } from '../qat/options.js';
import { metricSectionOf } from '../../config/options/metric.js';

/** The run's files, as the stages read them. */
export interface RunFiles {
  config: Config;
  out: string;
  /** OUT/calibration.json and OUT/sensitivity.json, once written. */
  calibration: string;
  sensitivity: string;
}

const noOut = <O extends { outDir: string }>(o: O) => ({ ...o, outDir: undefined });
/** How the config's data is read (image folders, text files), as every stage reads it. */
export function dataSource(c: Config): DataSourceOptions {
  const { preprocess, tokenizer, maxLength } = c.data;
  return {
    ...(preprocess !== undefined && { preprocess }),
    ...(typeof preprocess === 'object' && { preprocessWhere: 'data.preprocess in the config' }),
    ...(tokenizer !== undefined && { tokenizer }),
    ...(maxLength !== undefined && { maxLength }),
  };
}
/** The data files, and for image folders and text their preprocessing and tokenizer files (only when given, so that earlier fingerprints stay valid). */
const evalFiles = (c: Config) => ({
  eval: c.data.eval, evalLabels: c.data.evalLabels,
  ...(typeof c.data.preprocess === 'string' && { preprocess: c.data.preprocess }),
  ...(c.data.tokenizer !== undefined && { tokenizer: c.data.tokenizer }),
});
/** A stage's options with what of the data source is a value, not a file (hashed like an option, only when given). */
const withSource = (options: object, c: Config): object => ({ ...options, ...sourceValues(c) });
const sourceValues = (c: Config) => ({
  ...(typeof c.data.preprocess === 'object' && { preprocess: c.data.preprocess }),
  ...(c.data.maxLength !== undefined && { maxLength: c.data.maxLength }),
});

/**
 * The selected method's value of the report's metric (top-1 with labels, else agreement, which FP32 has at 100,
 * or the SQNR metric); reports of earlier versions: top-1, else agreement.
 */
function calibrateMeasure(r: CalibrateReport): Measured {
  const m = selectedResult(r)!;
  if (r.metric && m.value !== undefined) {
    // The user's metric records its direction; the built-in ones are all higher-is-better.
    const higherIsBetter = r.metric.higherIsBetter ?? BUILT_IN_METRICS[r.metric.name as keyof typeof BUILT_IN_METRICS]?.higherIsBetter ?? true;
    return { model: r.artifacts.model, accuracy: m.value, drop: dropOf({ higherIsBetter }, r.metric.fp32, m.value), samples: r.eval?.samples ?? null };
  }
  const accuracy = m.top1 ?? m.agreement!;
  return { model: r.artifacts.model, accuracy, drop: m.drop ?? dropOf(AGREEMENT, FP32_AGREEMENT, accuracy), samples: r.eval?.samples ?? null };
}

export function calibrateStage(f: RunFiles): StageSpec<CalibrateReport> {
  const c = f.config;
  const calIn = { model: c.model, data: c.data.calibration, eval: c.data.eval, labels: c.data.evalLabels, source: dataSource(c) };
  const calOpts = calibrateOptions({ ...c.calibrate, ...metricSectionOf(c.metric) }, f.out);
  return {
    name: 'calibrate', reason: 'the PTQ baseline',
    inputs: { model: c.model, calibration: c.data.calibration, ...evalFiles(c) }, options: withSource(noOut(calOpts), c),
    execute: async () => (await calibrate(calIn, calOpts)).report,
    load: () => readReport(join(f.out, 'calibrate.json'), calibrateReportSchema),
    artifacts: (r) => [r.artifacts.calibration, ...modelFiles(r.artifacts.model), r.artifacts.report],
    measure: calibrateMeasure,
    metricCost: (r) => r.metricCommand,
  };
}

export function sensitivityStage(f: RunFiles, reason: string): StageSpec<SensitivityReport> {
  const c = f.config;
  const o = sensitivityOptions({ ...c.sensitivity, ...metricSectionOf(c.metric) }, f.out);
  return {
    name: 'sensitivity', reason,
    inputs: { model: c.model, calibration: f.calibration, ...evalFiles(c) }, options: withSource(noOut(o), c),
    execute: () => sensitivity({ model: c.model, calibration: f.calibration, data: c.data.eval!, labels: c.data.evalLabels, source: dataSource(c) }, o),
    load: () => readReport(join(f.out, 'sensitivity.json'), sensitivityReportSchema),
    artifacts: (r) => [r.artifacts.report],
    measure: () => NOTHING_MEASURED,
    metricCost: (r) => r.metricCommand,
  };
}

/** partial with the run's budget; `keepFloat` instead for the capped start of QAT (in its own folder). */
export function partialStage(f: RunFiles, name: 'partial' | 'partial-capped', reason: string, capped?: { outDir: string; keepFloat: number }): StageSpec<PartialReport> {
  const c = f.config;
  const section = { ...c.partial, ...metricSectionOf(c.metric) };
  const o = capped
    ? { ...partialOptions(section, c.maxDrop, capped.outDir), maxDrop: undefined, keepFloat: capped.keepFloat }
    : partialOptions(section, c.maxDrop, f.out);
  const inputs = { model: c.model, calibration: f.calibration, sensitivity: f.sensitivity, data: c.data.eval!, labels: c.data.evalLabels, source: dataSource(c) };
  return {
    name, reason,
    inputs: { model: c.model, calibration: f.calibration, sensitivity: f.sensitivity, ...evalFiles(c) }, options: withSource(noOut(o), c),
    execute: () => partial(inputs, o),
    load: () => readReport(join(o.outDir, 'partial.json'), partialReportSchema),
    artifacts: (r) => [...modelFiles(r.artifacts.model), r.artifacts.report],
    measure: (r) => ({ model: r.artifacts.model, accuracy: r.result.accuracy, drop: r.result.drop, samples: r.data.samples }),
    metricCost: (r) => r.metricCommand,
  };
}

/** QAT from `start` (a partial.json, or none), resuming an interrupted run's checkpoint. */
export function qatStage(f: RunFiles, reason: string, start: string | undefined, run: Pick<QatOptions, 'signal' | 'onEvent'>): StageSpec<QatReport> {
  const c = f.config;
  // Without training labels, QAT distils from the FP32 model; the run's budget is QAT's.
  const qatIn = {
    model: c.model, calibration: f.calibration, partial: start, train: c.data.train!, trainLabels: c.data.trainLabels,
    distill: c.qat.distill ?? !c.data.trainLabels, eval: c.data.eval, labels: c.data.evalLabels, source: dataSource(c),
  };
  const qatOpts = qatOptions({ ...c.qat, ...metricSectionOf(c.metric), maxDrop: c.maxDrop }, f.out);
  return {
    name: 'qat', reason,
    inputs: { model: c.model, calibration: f.calibration, partial: start, train: c.data.train, trainLabels: c.data.trainLabels, ...evalFiles(c) },
    options: { ...qatOpts, outDir: undefined, distill: qatIn.distill, ...sourceValues(c) },
    // An interrupted QAT continues from its checkpoint when the same run is started again.
    execute: () => qatFinetune(qatIn, { ...qatOpts, resume: 'auto', ...run }),
    load: () => readReport(join(f.out, 'qat.json'), qatReportSchema),
    artifacts: (r) => [...modelFiles(r.artifacts.model), r.artifacts.report],
    // With a metric command, QAT's budget drop is the command's (qat.json's metricCommand).
    measure: (r) => ({ model: r.artifacts.model, accuracy: r.metricCommand?.after ?? r.parity.onnxruntime, drop: r.budget!.drop, samples: r.parity.samples }),
    metricCost: (r) => r.metricCommand,
  };
}
