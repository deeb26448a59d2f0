// `qtool partial`: keep the most sensitive layers in float until the model is
// within an accuracy budget of FP32 (or keep exactly K), and write that model.
import { join } from 'node:path';
import { encodeModel, loadModel } from '../../onnx/model.js';
import { loadModelDataset, type DataSourceOptions } from '../../data/dataset.js';
import { labelsFor } from '../../data/labels.js';
import { progressBar } from '../../report/progress.js';
import { readReport, reportHeaderFor, writeReport } from '../../report/io.js';
import { sensitivityReportSchema } from '../../report/schemas/sensitivity.js';
import { calibrationDecisionsSha256 } from '../../report/schemas/calibration.js';
import { partialReportSchema, type PartialPoint, type PartialReport } from '../../report/schemas/partial.js';
import { fileError, InputError } from '../../util/errors.js';
import { readInputFile, sha256 } from '../../util/files.js';
import { withOutput } from '../../report/commit.js';
import { writeModelArtifact } from '../../report/write-model.js';
import { buildRecipeModel, withFloatLayers, type QuantRecipe } from '../../quant/recipe.js';
import { OutputScorer } from '../../metrics/output-scorer.js';
import { CommandScorer, type MetricCommand } from '../../metrics/command-scorer.js';
import { dropUnit, lowerDrop } from '../../metrics/metric.js';
import { loadCalibratedModel } from '../load-recipe.js';
import { storeLayersInFloat16 } from './fp16-layers.js';
import { greedySearch, type Budget, type GreedyOutcome } from './greedy.js';
import type { FloatType } from '../../config/options/partial.js';

export interface PartialInputs {
  model: string;
  calibration: string;
  sensitivity: string;
  data: string;
  labels?: string;
  /** How to read an image folder or a text file (preprocessing, tokenizer). */
  source?: DataSourceOptions;
}

export interface PartialOptions {
  maxDrop?: number;
  keepFloat?: number;
  floatType: FloatType;
  /** The output the budget is decided on (default: the first). */
  output?: string;
  maxSamples?: number;
  batchSize: number;
  /** The user's metric: every step is scored with it instead of on --data. */
  metricCommand?: MetricCommand;
  outDir: string;
}

type StepScore = Omit<PartialPoint, 'floatLayers' | 'added' | 'sizeBytes'>;

/** Scores a step's model: the user's command, or the built-in scorer on the evaluation data. */
interface StepScorer {
  metric: { name: string; label: string };
  fp32: number;
  fp32MedianBatchMs: number | null;
  score(bytes: Uint8Array, label: string): Promise<StepScore>;
  cost?: CommandScorer['cost'];
}

function builtInSteps(scorer: OutputScorer): StepScorer {
  return {
    metric: scorer.metric, fp32: scorer.fp32, fp32MedianBatchMs: scorer.fp32MedianBatchMs,
    score: async (bytes, label) => {
      const m = await scorer.score(bytes, label);
      return { accuracy: m.value, drop: m.drop, top1: m.top1, agreement: m.agreement, sqnrDb: m.sqnrDb, outputs: m.outputs, medianBatchMs: m.medianBatchMs };
    },
  };
}

function commandSteps(scorer: CommandScorer): StepScorer {
  return {
    metric: scorer.metric, fp32: scorer.fp32, fp32MedianBatchMs: null, cost: () => scorer.cost(),
    score: async (bytes, label) => {
      const m = await scorer.score(bytes, label);
      return { accuracy: m.value, drop: m.drop, top1: null, agreement: null, sqnrDb: null, medianBatchMs: null };
    },
  };
}

/** Exactly one of --max-drop / --keep-float, neither negative. */
export function budgetOf(opts: Pick<PartialOptions, 'maxDrop' | 'keepFloat'>): Budget {
  const { maxDrop, keepFloat } = opts;
  if ((maxDrop === undefined) === (keepFloat === undefined)) {
    throw new InputError('give exactly one of --max-drop POINTS and --keep-float K');
  }
  if (maxDrop !== undefined) {
    if (!Number.isFinite(maxDrop) || maxDrop < 0) throw new InputError(`--max-drop takes accuracy points >= 0, got ${maxDrop}`);
    return { maxDrop };
  }
  if (!Number.isInteger(keepFloat) || keepFloat! < 0) throw new InputError(`--keep-float takes a whole number of layers >= 0, got ${keepFloat}`);
  return { keepFloat: keepFloat! };
}

/** The model with `floatLayers` kept in float, in the chosen float type. */
function buildPartial(recipe: QuantRecipe, floatLayers: readonly string[], floatType: FloatType): Uint8Array {
  const set = new Set(floatLayers);
  const model = buildRecipeModel(withFloatLayers(recipe, floatLayers), {
    'qtool.float_layers': floatLayers.join(','),
    'qtool.float_type': floatType,
  });
  if (floatType === 'fp16') storeLayersInFloat16(model, recipe.full.layers.filter((l) => set.has(l.name)));
  return encodeModel(model);
}

/** OUT/model.partial.onnx and OUT/partial.json, committed as one set (src/report/commit.ts). */
export async function partial(inputs: PartialInputs, opts: PartialOptions): Promise<PartialReport> {
  return withOutput(opts.outDir, 'partial', () => partialInto(inputs, opts));
}

async function partialInto(inputs: PartialInputs, opts: PartialOptions): Promise<PartialReport> {
  const started = performance.now();
  const budget = budgetOf(opts);
  const fp32 = loadModel(inputs.model);
  const { recipe, calibration } = loadCalibratedModel(fp32, inputs.calibration);
  const sens = readReport(inputs.sensitivity, sensitivityReportSchema, fp32.sha256);
  if (sens.shard) {
    throw fileError(inputs.sensitivity, `is shard ${sens.shard.index} of ${sens.shard.count} of a sweep; merge the shards with qtool sensitivity-merge first`);
  }
  const names = recipe.full.layers.map((l) => l.name);
  // The units partial keeps in float, most sensitive first: layers, or whole groups when sensitivity ran per group.
  const membersOf = new Map(sens.layers.map((l) => [l.name, l.layers ?? [l.name]]));
  const covered = sens.ranking.flatMap((u) => membersOf.get(u)!);
  if ([...covered].sort().join('\u0000') !== [...names].sort().join('\u0000')) {
    throw fileError(inputs.sensitivity, `ranks other layers than this model has (${covered.length} vs ${names.length}); re-run qtool sensitivity`);
  }
  const units = sens.ranking.length;
  if ('keepFloat' in budget && budget.keepFloat > units) {
    const what = sens.grouping && sens.grouping.by !== 'layer' ? `${inputs.sensitivity} ranks only ${units} groups (per ${sens.grouping.by})` : `the model has only ${units} quantizable layers`;
    throw new InputError(`--keep-float ${budget.keepFloat}: ${what}`);
  }
  const calibrationSha = sha256(readInputFile(inputs.calibration));
  // The ranking holds for the calibration it was measured with: the same decisions (reports of earlier versions: the same file).
  const sameCalibration = sens.calibration.recipeSha256 !== undefined
    ? sens.calibration.recipeSha256 === calibrationDecisionsSha256(calibration)
    : sens.calibration.sha256 === calibrationSha;
  if (!sameCalibration) {
    throw fileError(inputs.sensitivity, `was measured with another calibration (${sens.calibration.path}) than ${inputs.calibration}; ` +
      `re-run qtool sensitivity with --calibration ${inputs.calibration}`);
  }
  const warnings: string[] = [];
  const ds = loadModelDataset(inputs.data, fp32.model.graph!, inputs.source);
  const { labels, path: labelsPath } = labelsFor(ds, inputs.labels);
  const limit = Math.min(ds.count, opts.maxSamples ?? ds.count);
  const scorer = opts.metricCommand
    ? commandSteps(await CommandScorer.create(fp32.bytes, `${fp32.path} (FP32)`, opts.metricCommand, opts.outDir))
    : builtInSteps(await OutputScorer.create(fp32.bytes, fp32.path, ds, {
      batchSize: opts.batchSize, limit, labels, labelsPath, output: opts.output, progress: progressBar,
    }));
  const total = 'keepFloat' in budget ? budget.keepFloat + 1 : units + 1;
  const bar = progressBar('partial', total, 'steps');
  // Only two models are kept: the latest step's and the best so far (written if the budget is never met).
  let latest: { k: number; drop: number; bytes: Uint8Array } | undefined;
  let best: typeof latest;
  let outcome: GreedyOutcome<PartialPoint>;
  try {
    outcome = await greedySearch<PartialPoint>(sens.ranking, budget, async (floatUnits) => {
      const floatLayers = floatUnits.flatMap((u) => membersOf.get(u)!);
      const bytes = buildPartial(recipe, floatLayers, opts.floatType);
      const m = await scorer.score(bytes, `${fp32.path} (${floatLayers.length} layers in float)`);
      const { drop } = m;
      bar.tick(1, `${floatLayers.length} in float: drop ${drop.toFixed(2)}`);
      latest = { k: floatUnits.length, drop, bytes };
      if (!best || lowerDrop(drop, best.drop)) best = latest;
      return { floatLayers: floatLayers.length, added: floatUnits[floatUnits.length - 1] ?? null, ...m, sizeBytes: bytes.length };
    });
  } finally {
    bar.stop();
  }
  const chosen = outcome.steps[outcome.chosen];
  const chosenBytes = [latest!, best!].find((m) => m.k === outcome.chosen)!.bytes;
  const chosenLayers = chosen.floatLayers.flatMap((u) => membersOf.get(u)!);
  const grouped = sens.grouping !== undefined && sens.grouping.by !== 'layer';
  const metric = scorer.metric.label;
  // SQNR's drop is in dB below the cap; the percentages' in points.
  const unit = dropUnit(scorer.metric.name);
  const layers = (n: number) => `${n} layer${n === 1 ? '' : 's'}`;
  const drop = (s: { result: PartialPoint }) => s.result.drop.toFixed(2);
  const quantized = `${names.length - chosenLayers.length} of ${layers(names.length)} quantized`;
  const inFloat = grouped ? `${layers(chosenLayers.length)} (${chosen.floatLayers.length} of ${units} groups)` : layers(chosenLayers.length);
  const message = 'keepFloat' in budget
    ? `the ${grouped ? `${budget.keepFloat} groups` : layers(budget.keepFloat)} ranked most sensitive in float: ${metric} drop ${drop(chosen)} ${unit}, ${quantized}`
    : outcome.met
      ? `within the budget: ${metric} drop ${drop(chosen)} <= ${budget.maxDrop} ${unit} with ${inFloat} in float, ${quantized}`
      : `budget not met: even with all ${layers(names.length)} in float the ${metric} drop is ${drop(outcome.steps[outcome.steps.length - 1])} ${unit} (> ${budget.maxDrop}); wrote the best model found (drop ${drop(chosen)}, ${inFloat} in float)`;

  const modelPath = join(opts.outDir, 'model.partial.onnx');
  const reportPath = join(opts.outDir, 'partial.json');
  const report: PartialReport = {
    schema: 'qtool/partial@2',
    ...reportHeaderFor(fp32, {
      maxDrop: opts.maxDrop ?? null, keepFloat: opts.keepFloat ?? null, floatType: opts.floatType, ...(opts.output ? { output: opts.output } : {}),
      maxSamples: opts.maxSamples ?? null, batchSize: opts.batchSize, ...(opts.metricCommand ? { metricCommand: opts.metricCommand } : {}),
    }),
    calibration: { path: inputs.calibration, sha256: calibrationSha },
    sensitivity: { path: inputs.sensitivity, sha256: sha256(readInputFile(inputs.sensitivity)) },
    data: { path: ds.path, samples: limit },
    labels: labelsPath ?? null,
    accuracyMetric: scorer.metric.name,
    ...(scorer.cost ? { metricCommand: scorer.cost() } : {}),
    floatType: opts.floatType,
    budget: { maxDrop: opts.maxDrop ?? null, keepFloat: opts.keepFloat ?? null },
    fp32: { accuracy: scorer.fp32, medianBatchMs: scorer.fp32MedianBatchMs, sizeBytes: fp32.bytes.length },
    totalLayers: names.length,
    floatLayers: chosenLayers,
    ...(grouped ? { floatGroups: chosen.floatLayers } : {}),
    result: chosen.result,
    met: outcome.met,
    message,
    curve: outcome.steps.map((s) => s.result),
    warnings,
    timings: { totalSeconds: (performance.now() - started) / 1000 },
    artifacts: { model: modelPath, report: reportPath },
  };
  // The best model is written even when the budget is not met; the CLI then exits 1.
  writeModelArtifact(modelPath, chosenBytes);
  writeReport(reportPath, partialReportSchema, report);
  return report;
}
