// `qtool run CONFIG`: the workflow with an accuracy budget. Calibrate; when
// PTQ falls short, rank the layers and keep the sensitive ones in float;
// when that falls short too (or needs too many float layers), fine-tune with
// QAT from the partial result. Finished stages with unchanged inputs are reused.
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { loadModel } from '../../onnx/model.js';
import { loadModelDataset } from '../../data/dataset.js';
import { loadLabels } from '../../data/labels.js';
import { withOutput } from '../../report/commit.js';
import { checkOpset } from '../calibrate/calibrate.js';
import { atMost, classificationMetric, dropUnit, FP32_AGREEMENT } from '../../metrics/metric.js';
import { reportHeaderFor, writeReport } from '../../report/io.js';
import type { PartialReport } from '../../report/schemas/partial.js';
import type { CalibrateReport } from '../../report/schemas/calibrate.js';
import type { MetricCommandRecord } from '../../report/schemas/metric-command.js';
import { runReportSchema, type RunReport, type RunStage } from '../../report/schemas/run.js';
import { fileError } from '../../util/errors.js';
import { QatInterruptedError, type QatEvent } from '../qat/qat.js';
import { afterCalibrate, afterPartial, unitsWithin, pickFinal, type Budget } from './decide.js';
import { StageRunner, type StageName } from './runner.js';
import { calibrateStage, dataSource, partialStage, qatStage, sensitivityStage, type RunFiles } from './stages.js';

/** The metric command's cost over the stages this run ran: runs and seconds summed; FP32's score as calibrate recorded it. */
function metricCostOfRun(costs: MetricCommandRecord[], cal: CalibrateReport): MetricCommandRecord {
  const first = cal.metricCommand ?? costs[0];
  return {
    ...first,
    fp32Cached: costs.every((c) => c.fp32Cached),
    runs: costs.reduce((n, c) => n + c.runs, 0),
    seconds: costs.reduce((n, c) => n + c.seconds, 0),
  };
}

const layers = (n: number) => `${n} float layer${n === 1 ? '' : 's'}`;

export interface RunOptions {
  outDir: string;
  /** Told each stage as it starts (or is reused), with why it is needed. */
  onStage?: (name: StageName, reason: string, reused: boolean) => void;
  /** Told what QAT does, when it runs. */
  onQatEvent?: (e: QatEvent) => void;
  /** Aborted during QAT: it stops after the current step with QatInterruptedError; a later run resumes from its checkpoint. */
  signal?: AbortSignal;
}

interface BeyondPtq {
  partial: PartialReport;
  /** QAT was stopped by Ctrl-C (recorded in run.json before the run exits 130). */
  interrupted?: QatInterruptedError;
}

/** Sensitivity, partial and, when partial falls short, QAT. */
async function beyondPtq(r: StageRunner, f: RunFiles, budget: Budget, why: string, opts: RunOptions): Promise<BeyondPtq> {
  const c = f.config;
  const sens = await r.run(sensitivityStage(f, why));
  const p = await r.run(partialStage(f, 'partial', why));
  const next = afterPartial({ drop: p.result.drop, floatLayers: p.floatLayers.length }, budget);
  if (!next.qat) {
    r.skip('qat', `partial met the budget (drop ${p.result.drop.toFixed(2)} <= ${budget.maxDrop}) with ${layers(p.floatLayers.length)}`);
    return { partial: p };
  }
  if (!c.data.train) {
    r.skip('qat', `${next.qat}, but the config has no data.train to fine-tune on`);
    return { partial: p };
  }
  let start: string | undefined = join(f.out, 'partial.json');
  // The cap counts layers; partial keeps whole units (groups when sensitivity ranked per group).
  const sizes = new Map(sens.layers.map((l) => [l.name, l.layers?.length ?? 1]));
  const fit = unitsWithin(sens.ranking.map((u) => sizes.get(u)!), next.startFloatLayers);
  if (fit.units === 0) {
    start = undefined;
  } else if (fit.layers < p.floatLayers.length) {
    const capped = join(f.out, 'partial-capped');
    const unitsNote = fit.units === fit.layers ? '' : ` (${fit.units} group${fit.units === 1 ? '' : 's'})`;
    await r.run(partialStage(f, 'partial-capped', `QAT starts from the ${fit.layers} most sensitive layers${unitsNote} in float (partial.maxFloatLayers ${next.startFloatLayers})`,
      { outDir: capped, keepFloat: fit.units }));
    start = join(capped, 'partial.json');
  }
  const t0 = performance.now();
  try {
    await r.run(qatStage(f, next.qat, start, { signal: opts.signal, onEvent: opts.onQatEvent }));
  } catch (e) {
    if (!(e instanceof QatInterruptedError)) throw e;
    r.interrupted('qat', next.qat, (performance.now() - t0) / 1000);
    return { partial: p, interrupted: e };
  }
  return { partial: p };
}

/**
 * The model and every data file, checked as the stages will check them,
 * before the first stage starts. Returns the model's SHA-256 as the stages
 * record it (with external data, of the model with its weights).
 */
function checkInputs(c: Config): string {
  const fp32 = loadModel(c.model);
  checkOpset(fp32);
  const graph = fp32.model.graph!;
  const source = dataSource(c);
  loadModelDataset(c.data.calibration, graph, source);
  const ev = loadModelDataset(c.data.eval!, graph, source);
  if (c.data.evalLabels) loadLabels(c.data.evalLabels, ev.count, ev.path);
  if (c.data.train) {
    const train = loadModelDataset(c.data.train, graph, source);
    if (c.data.trainLabels) loadLabels(c.data.trainLabels, train.count, train.path);
  }
  return fp32.sha256;
}

/**
 * Every stage's artifacts and DIR/run.json are committed together at the
 * end (src/report/commit.ts): a run killed on the way leaves DIR as it was.
 * An interrupted QAT commits what the run did so far before the run exits 130.
 */
export async function runPipeline(configPath: string, opts: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const { config: c, sha256: configSha } = loadConfig(configPath);
  if (!c.data.eval) throw fileError(configPath, 'data.eval: missing (qtool run measures every stage on held-out evaluation inputs)');
  const { report, interrupted } = await withOutput(opts.outDir, 'run', async () => {
    const modelSha256 = checkInputs(c);
    return runStages(configPath, c, configSha, modelSha256, opts, started);
  });
  if (interrupted) throw interrupted;
  return report;
}

async function runStages(
  configPath: string, c: Config, configSha: string, modelSha256: string, opts: RunOptions, started: number,
): Promise<{ report: RunReport; interrupted?: QatInterruptedError }> {
  const out = opts.outDir;
  const f: RunFiles = { config: c, out, calibration: join(out, 'calibration.json'), sensitivity: join(out, 'sensitivity.json') };
  const r = new StageRunner(out, opts.onStage);
  const budget: Budget = { maxDrop: c.maxDrop, maxFloatLayers: c.partial.maxFloatLayers };

  const cal = await r.run(calibrateStage(f));
  budget.unit = dropUnit(cal.metric?.name ?? 'top1');
  const needPartial = afterCalibrate(r.stages[0].drop!, budget);
  let beyond: BeyondPtq | undefined;
  if (!needPartial) {
    const why = `calibrate met the budget (drop ${r.stages[0].drop!.toFixed(2)} <= ${budget.maxDrop})`;
    for (const n of ['sensitivity', 'partial', 'qat'] as const) r.skip(n, why);
  } else {
    beyond = await beyondPtq(r, f, budget, needPartial, opts);
  }
  const interrupted = beyond?.interrupted;
  const tooManyFloat = (s: RunStage) => s.name === 'partial' && beyond !== undefined && beyond.partial.floatLayers.length > (budget.maxFloatLayers ?? Infinity);
  const made = r.stages.filter((s) => s.model !== null).map((s) => ({ ...s, stage: s.name, model: s.model!, drop: s.drop!, accuracy: s.accuracy! }));
  const best = pickFinal(made, budget, (s) => !tooManyFloat(s));
  const metBudget = !interrupted && atMost(best.drop, budget.maxDrop) && !tooManyFloat(best);
  const message = interrupted
    ? `interrupted during QAT; the best model so far (${best.name}) drops ${best.drop.toFixed(2)} ${budget.unit}`
    : metBudget
      ? `${best.name}'s model is within the budget: drop ${best.drop.toFixed(2)} <= ${budget.maxDrop} ${budget.unit}`
      : `budget not met: the best model (${best.name}) drops ${best.drop.toFixed(2)} ${budget.unit} (> ${budget.maxDrop})`;
  const report: RunReport = {
    schema: 'qtool/run@2',
    ...reportHeaderFor({ path: c.model, sha256: modelSha256 }, { config: c, outDir: out }),
    config: { path: configPath, sha256: configSha },
    budget: { maxDrop: budget.maxDrop, maxFloatLayers: budget.maxFloatLayers ?? null },
    // calibrate's metric (sqnr for an output without classes); reused reports of earlier versions have none.
    metric: cal.metric?.name ?? classificationMetric(c.data.evalLabels !== undefined).name,
    ...(c.metric ? { metricCommand: metricCostOfRun(r.metricCosts, cal) } : {}),
    fp32: { accuracy: cal.metric?.fp32 ?? cal.fp32.top1 ?? FP32_AGREEMENT, samples: cal.eval!.samples },
    stages: r.stages,
    final: {
      stage: best.name, model: best.model, sha256: best.artifacts.find((a) => a.path === best.model)!.sha256,
      accuracy: best.accuracy, drop: best.drop, metBudget, message,
    },
    timings: { totalSeconds: (performance.now() - started) / 1000 },
  };
  writeReport(join(out, 'run.json'), runReportSchema, report);
  return { report, interrupted };
}
