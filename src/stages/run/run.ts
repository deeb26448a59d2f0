// `qtool run CONFIG`: the workflow with an accuracy budget. Calibrate; when
// PTQ falls short, rank the layers and keep the sensitive ones in float;
// when that falls short too (or needs too many float layers), fine-tune with
// QAT from the partial result. Finished stages with unchanged inputs are reused.
import { join, relative } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { readReport, reportHeaderFor, writeReport } from '../../report/io.js';
import { calibrateReportSchema, type CalibrateReport } from '../../report/schemas/calibrate.js';
import { sensitivityReportSchema, type SensitivityReport } from '../../report/schemas/sensitivity.js';
import { partialReportSchema, type PartialReport } from '../../report/schemas/partial.js';
import { qatReportSchema, type QatReport } from '../../report/schemas/qat.js';
import { runReportSchema, type RunReport, type RunStage } from '../../report/schemas/run.js';
import { fileError } from '../../util/errors.js';
import { sha256File } from '../../util/files.js';
import { calibrate } from '../calibrate/calibrate.js';
import { sensitivity } from '../sensitivity/sensitivity.js';
import { partial } from '../partial/partial.js';
import { qatFinetune, QatInterruptedError } from '../qat/qat.js';
import { afterCalibrate, afterPartial, meets, pickFinal, type Budget } from './decide.js';
import { FileHashes, fingerprint, previousRun, reusable } from './reuse.js';
import { calibrateOptions } from '../calibrate/options.js';
import { sensitivityOptions } from '../sensitivity/options.js';
import { partialOptions } from '../partial/options.js';
import { qatOptions } from '../qat/options.js';

type StageName = RunStage['name'];
const layers = (n: number) => `${n} float layer${n === 1 ? '' : 's'}`;

/** What a stage's report says about the model it wrote. */
interface Measured { model: string | null; accuracy: number | null; drop: number | null; samples: number | null }

interface StageSpec<R> {
  name: StageName;
  reason: string;
  /** Files the stage reads, by role (hashed into the fingerprint). */
  inputs: Record<string, string | undefined>;
  options: unknown;
  execute: () => Promise<R>;
  /** The report of a reused stage, from disk. */
  load: () => R;
  artifacts: (r: R) => string[];
  measure: (r: R) => Measured;
}

const calibrateMeasure = (r: CalibrateReport): Measured => {
  const m = r.methods.find((x) => x.method === r.selected.method)!;
  const accuracy = m.top1 ?? m.agreement!;
  return { model: r.artifacts.model, accuracy, drop: m.drop ?? 100 - accuracy, samples: r.eval?.samples ?? null };
};
const partialMeasure = (r: PartialReport): Measured =>
  ({ model: r.artifacts.model, accuracy: r.result.accuracy, drop: r.result.drop, samples: r.data.samples });
const qatMeasure = (r: QatReport): Measured => ({
  model: r.artifacts.model,
  accuracy: r.parity.onnxruntime,
  drop: r.budget!.drop,
  samples: r.parity.samples,
});

export interface RunOptions {
  outDir: string;
  /** Told each stage as it starts (or is reused), with why it is needed. */
  onStage?: (name: StageName, reason: string, reused: boolean) => void;
  /** Aborted during QAT: it stops after the current step with QatInterruptedError; a later run resumes from its checkpoint. */
  signal?: AbortSignal;
}

export async function runPipeline(configPath: string, opts: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const { config: c, sha256: configSha } = loadConfig(configPath);
  if (!c.data.eval) throw fileError(configPath, 'data.eval: missing (qtool run measures every stage on held-out evaluation inputs)');
  const evalX = c.data.eval;
  const out = opts.outDir;
  const prev = previousRun(out);
  const hashes = new FileHashes();
  const budget: Budget = { maxDrop: c.maxDrop, maxFloatLayers: c.partial.maxFloatLayers };
  const stages: RunStage[] = [];
  let interrupted: QatInterruptedError | undefined;
  const fromRun = (p: string) => relative(out, p);

  async function stage<R>(s: StageSpec<R>): Promise<R> {
    const t0 = performance.now();
    const fp = fingerprint(s.name, hashes, s.inputs, s.options);
    const old = reusable(prev, out, s.name, fp);
    opts.onStage?.(s.name, s.reason, old !== undefined);
    const report = old ? s.load() : await s.execute();
    const m = s.measure(report);
    stages.push({
      name: s.name, status: old ? 'reused' : 'ran', reason: s.reason, seconds: (performance.now() - t0) / 1000, fingerprint: fp,
      artifacts: old ? old.artifacts : s.artifacts(report).map((p) => ({ path: fromRun(p), sha256: sha256File(p) })),
      ...m, model: m.model === null ? null : fromRun(m.model),
    });
    return report;
  }
  const skip = (name: StageName, reason: string) => stages.push({
    name, status: 'skipped', reason, seconds: 0, fingerprint: null, artifacts: [], model: null, accuracy: null, drop: null, samples: null,
  });
  const noOut = <O extends { outDir: string }>(o: O) => ({ ...o, outDir: undefined });
  const evalFiles = { eval: c.data.eval, evalLabels: c.data.evalLabels };

  const calIn = { model: c.model, data: c.data.calibration, eval: c.data.eval, labels: c.data.evalLabels };
  const calOpts = calibrateOptions(c.calibrate, out);
  const cal = await stage({
    name: 'calibrate', reason: 'the PTQ baseline',
    inputs: { model: c.model, calibration: c.data.calibration, ...evalFiles }, options: noOut(calOpts),
    execute: async () => (await calibrate(calIn, calOpts)).report,
    load: () => readReport(join(out, 'calibrate.json'), calibrateReportSchema),
    artifacts: (r) => [r.artifacts.calibration, r.artifacts.model, r.artifacts.report],
    measure: calibrateMeasure,
  });
  const calibration = join(out, 'calibration.json');
  const fp32Accuracy = cal.fp32.top1 ?? 100;
  const needPartial = afterCalibrate(stages[0].drop!, budget);
  let partialReport: PartialReport | undefined;
  if (!needPartial) {
    const why = `calibrate met the budget (drop ${stages[0].drop!.toFixed(2)} <= ${budget.maxDrop})`;
    for (const n of ['sensitivity', 'partial', 'qat'] as const) skip(n, why);
  } else {
    const sensOpts = sensitivityOptions(c.sensitivity, out);
    await stage<SensitivityReport>({
      name: 'sensitivity', reason: needPartial,
      inputs: { model: c.model, calibration, ...evalFiles }, options: noOut(sensOpts),
      execute: () => sensitivity({ model: c.model, calibration, data: evalX, labels: c.data.evalLabels }, sensOpts),
      load: () => readReport(join(out, 'sensitivity.json'), sensitivityReportSchema),
      artifacts: (r) => [r.artifacts.report],
      measure: () => ({ model: null, accuracy: null, drop: null, samples: null }),
    });
    const partialIn = { model: c.model, calibration, sensitivity: join(out, 'sensitivity.json'), data: evalX, labels: c.data.evalLabels };
    const partialStage = (name: 'partial' | 'partial-capped', reason: string, o: ReturnType<typeof partialOptions>) => stage<PartialReport>({
      name, reason,
      inputs: { model: c.model, calibration, sensitivity: partialIn.sensitivity, ...evalFiles }, options: noOut(o),
      execute: () => partial(partialIn, o),
      load: () => readReport(join(o.outDir, 'partial.json'), partialReportSchema),
      artifacts: (r) => [r.artifacts.model, r.artifacts.report],
      measure: partialMeasure,
    });
    partialReport = await partialStage('partial', needPartial, partialOptions(c.partial, c.maxDrop, out));
    const next = afterPartial({ drop: partialReport.result.drop, floatLayers: partialReport.floatLayers.length }, budget);
    if (!next.qat) {
      skip('qat', `partial met the budget (drop ${partialReport.result.drop.toFixed(2)} <= ${budget.maxDrop}) with ${layers(partialReport.floatLayers.length)}`);
    } else if (!c.data.train) {
      skip('qat', `${next.qat}, but the config has no data.train to fine-tune on`);
    } else {
      let start: string | undefined = join(out, 'partial.json');
      if (next.startFloatLayers === 0) {
        start = undefined;
      } else if (next.startFloatLayers < partialReport.floatLayers.length) {
        const capped = join(out, 'partial-capped');
        await partialStage('partial-capped', `QAT starts from the ${next.startFloatLayers} most sensitive layers in float (partial.maxFloatLayers)`,
          { ...partialOptions(c.partial, c.maxDrop, capped), maxDrop: undefined, keepFloat: next.startFloatLayers });
        start = join(capped, 'partial.json');
      }
      // Without training labels, QAT distils from the FP32 model; the run's budget is QAT's.
      const qatIn = {
        model: c.model, calibration, partial: start, train: c.data.train, trainLabels: c.data.trainLabels,
        distill: c.qat.distill ?? !c.data.trainLabels, eval: c.data.eval, labels: c.data.evalLabels,
      };
      const qatOpts = qatOptions({ ...c.qat, maxDrop: c.maxDrop }, out);
      const t0 = performance.now();
      await stage<QatReport>({
        name: 'qat', reason: next.qat,
        inputs: { model: c.model, calibration, partial: start, train: c.data.train, trainLabels: c.data.trainLabels, ...evalFiles },
        options: { ...qatOpts, outDir: undefined, distill: qatIn.distill },
        // An interrupted QAT continues from its checkpoint when the same run is started again.
        execute: () => qatFinetune(qatIn, { ...qatOpts, resume: 'auto', signal: opts.signal }),
        load: () => readReport(join(out, 'qat.json'), qatReportSchema),
        artifacts: (r) => [r.artifacts.model, r.artifacts.report],
        measure: qatMeasure,
      }).catch((e: unknown) => {
        if (!(e instanceof QatInterruptedError)) throw e;
        // Recorded, so that the next run reuses the stages before QAT and resumes it.
        interrupted = e;
        stages.push({
          name: 'qat', status: 'interrupted', reason: next.qat!, seconds: (performance.now() - t0) / 1000, fingerprint: null,
          artifacts: [], model: null, accuracy: null, drop: null, samples: null,
        });
      });
    }
  }

  const tooManyFloat = (s: RunStage) => s.name === 'partial' && partialReport !== undefined && partialReport.floatLayers.length > (budget.maxFloatLayers ?? Infinity);
  const made = stages.filter((s) => s.model !== null).map((s) => ({ ...s, stage: s.name, model: s.model!, drop: s.drop!, accuracy: s.accuracy! }));
  const best = pickFinal(made, budget, (s) => !tooManyFloat(s));
  const metBudget = !interrupted && meets(best.drop, budget.maxDrop) && !tooManyFloat(best);
  const message = interrupted
    ? `interrupted during QAT; the best model so far (${best.name}) drops ${best.drop.toFixed(2)} points`
    : metBudget
      ? `${best.name}'s model is within the budget: drop ${best.drop.toFixed(2)} <= ${budget.maxDrop} points`
      : `budget not met: the best model (${best.name}) drops ${best.drop.toFixed(2)} points (> ${budget.maxDrop})`;
  const report: RunReport = {
    schema: 'qtool/run@1',
    ...reportHeaderFor({ path: c.model, sha256: hashes.of(c.model) }, { config: c, outDir: out }),
    config: { path: configPath, sha256: configSha },
    budget: { maxDrop: budget.maxDrop, maxFloatLayers: budget.maxFloatLayers ?? null },
    metric: c.data.evalLabels ? 'top1' : 'agreement',
    fp32: { accuracy: fp32Accuracy, samples: cal.eval!.samples },
    stages,
    final: {
      stage: best.name, model: best.model, sha256: best.artifacts.find((a) => a.path === best.model)!.sha256,
      accuracy: best.accuracy, drop: best.drop, metBudget, message,
    },
    timings: { totalSeconds: (performance.now() - started) / 1000 },
  };
  writeReport(join(out, 'run.json'), runReportSchema, report);
  if (interrupted) throw interrupted;
  return report;
}
