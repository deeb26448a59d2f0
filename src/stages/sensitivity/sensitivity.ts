// `qtool sensitivity`: which layers (or groups of layers) cost accuracy when
// quantized. A proxy from one run of the fully quantized model first, then
// one model variant per unit and mode for the proxy's top K, each built in
// memory from the calibrated ranges and scored against the FP32 outputs
// computed once. `--shard I/N` measures every N-th of those variants.
import { join } from 'node:path';
import { encodeModel, loadModel, type Model } from '../../onnx/model.js';
import { loadModelDataset, type DataSourceOptions } from '../../data/dataset.js';
import { labelsFor } from '../../data/labels.js';
import { progressBar } from '../../report/progress.js';
import { reportHeaderFor, writeReport } from '../../report/io.js';
import { calibrationDecisionsSha256 } from '../../report/schemas/calibration.js';
import { sensitivityReportSchema, type SensitivityReport } from '../../report/schemas/sensitivity.js';
import { median } from '../../runtime/run.js';
import { InputError } from '../../util/errors.js';
import { readInputFile, sha256 } from '../../util/files.js';
import { withOutput } from '../../report/commit.js';
import { buildRecipeBytes, buildRecipeModel, onlyLayers, withFloatLayers, type QuantRecipe } from '../../quant/recipe.js';
import { groupLayers, type GroupBy, type LayerGroup } from '../../quant/layer-groups.js';
import { OutputScorer, type OutputScore } from '../../metrics/output-scorer.js';
import type { Dataset } from '../../data/dataset.js';
import { loadCalibratedModel } from '../load-recipe.js';
import { groupProxy, runProxy, type ProxyLayer } from './proxy.js';
import { impact, METRIC_UNIT, rankByProxy, type Measured } from './rank.js';
import { rankRows } from './ranked-rows.js';
import { measureTopWithCommand } from './metric-top.js';
import type { MetricCommand } from '../../metrics/command-scorer.js';
import { inShard, measuredUnits, variantKey, variantList, type Variant } from './variants.js';
import { DEFAULT_MEASURE_TOP, DEFAULT_METRIC_TOP, DEFAULT_PROXY_SAMPLES, type MeasureTop, type Metric, type Mode, type Shard } from '../../config/options/sensitivity.js';

export interface SensitivityInputs {
  model: string;
  calibration: string;
  data: string;
  labels?: string;
  /** How to read an image folder or a text file (preprocessing, tokenizer). */
  source?: DataSourceOptions;
}

export interface SensitivityOptions {
  modes: Mode[];
  /** Default: top1 with labels, agreement without, sqnr for an output without classes. */
  metric?: Metric;
  /** The output scored (default: the first). */
  output?: string;
  maxSamples?: number;
  /** Samples for the proxy run (at most the evaluated ones); its SQNRs settle long before accuracy does. */
  proxySamples?: number;
  batchSize: number;
  /** The user's metric: measures the ranking's `metricTop` most sensitive layers and re-orders them by it. */
  metricCommand?: MetricCommand;
  metricTop?: number;
  /** The unit measured, ranked and kept in float by partial. */
  groupBy?: GroupBy;
  /** Variants only for the proxy's top K units (default 20). */
  measureTop?: MeasureTop;
  /** Measure only this part of the variants. */
  shard?: Shard;
  outDir: string;
  /** Called with the proxy ranking (per unit) as soon as it is known, before the variants run. */
  onProxy?: (units: ProxyLayer[], ranking: string[], seconds: number) => void;
  /** Called before the variants start: how many, and the seconds they should take (one INT8 evaluation pass each). */
  onEstimate?: (variants: number, seconds: number, note: string | null) => void;
}

/** The metric asked for, else the scorer's: top1 with labels, agreement without, sqnr for an output without classes. */
function sensitivityMetric(asked: Metric | undefined, scorer: OutputScorer): Metric {
  const { kind, name, dims } = scorer.primary;
  if (asked === 'agreement' && kind === 'map') {
    throw new InputError(`--metric agreement: output '${name}' ([N, ${dims.join(', ')}]) has no class axis to take an argmax over; use sqnr`);
  }
  return asked ?? (scorer.metric.name as Metric);
}

const measured = (m: OutputScore): Measured => ({ top1: m.top1, agreement: m.agreement, sqnrDb: m.sqnrDb });

type VariantResult = OutputScore & { impact: number };

/** The recipe of one variant: the unit's layers in float (fallback), or only them quantized. */
const variantRecipe = (recipe: QuantRecipe, v: Variant): QuantRecipe =>
  v.mode === 'fallback' ? withFloatLayers(recipe, v.unit.layers) : onlyLayers(recipe, v.unit.layers);

/** The variants one at a time: memory stays at one model. */
async function measureVariants(
  recipe: QuantRecipe, variants: Variant[], scorer: OutputScorer, full: Measured, label: string, metric: Metric,
): Promise<Map<string, VariantResult>> {
  const results = new Map<string, VariantResult>();
  const bar = progressBar('sensitivity', variants.length, 'variants');
  try {
    for (const v of variants) {
      const t = performance.now();
      const m = await scorer.score(buildRecipeBytes(variantRecipe(recipe, v)), `${label} (${variantKey(v)})`);
      results.set(variantKey(v), { ...m, seconds: (performance.now() - t) / 1000, impact: impact(v.mode, metric, measured(m), full, scorer.fp32Top1) });
      bar.tick(1, v.unit.name);
    }
  } finally {
    bar.stop();
  }
  return results;
}

/** The proxy per layer (one run), then per unit, and the units in the proxy's order. */
async function proxyRanking(recipe: QuantRecipe, qdq: Model, units: LayerGroup[], label: string, ds: Dataset, limit: number, opts: SensitivityOptions) {
  const t0 = performance.now();
  const perLayer = await runProxy(recipe, qdq, label, ds, { batchSize: opts.batchSize, limit: Math.min(limit, opts.proxySamples ?? DEFAULT_PROXY_SAMPLES) });
  const proxy = groupProxy(perLayer, units);
  const seconds = (performance.now() - t0) / 1000;
  const ranking = rankByProxy(proxy);
  opts.onProxy?.(proxy, ranking, seconds);
  return { proxy, ranking, seconds };
}

export async function sensitivity(inputs: SensitivityInputs, opts: SensitivityOptions): Promise<SensitivityReport> {
  return withOutput(opts.outDir, 'sensitivity', () => sensitivityInto(inputs, opts));
}

async function sensitivityInto(inputs: SensitivityInputs, opts: SensitivityOptions): Promise<SensitivityReport> {
  const started = performance.now();
  if (opts.shard && opts.metricCommand) throw new InputError('--metric-command does not combine with --shard: a shard measures built-in variants only');
  const fp32 = loadModel(inputs.model);
  const { recipe, calibration } = loadCalibratedModel(fp32, inputs.calibration);
  const ds = loadModelDataset(inputs.data, fp32.model.graph!, inputs.source);
  const { labels, path: labelsPath } = labelsFor(ds, inputs.labels);
  if (opts.metric === 'top1' && !labels) throw new InputError('--metric top1 needs --labels (without labels, use agreement or sqnr)');
  const limit = Math.min(ds.count, opts.maxSamples ?? ds.count);

  const scorer = await OutputScorer.create(fp32.bytes, fp32.path, ds, {
    batchSize: opts.batchSize, limit, labels, labelsPath, output: opts.output, progress: progressBar,
  });
  const metric = sensitivityMetric(opts.metric, scorer);
  const fullModel = buildRecipeModel(recipe);
  const tFull = performance.now();
  const fullScore = await scorer.score(encodeModel(fullModel), `${fp32.path} (INT8)`);
  // What a variant costs: building a QDQ model and one evaluation pass of it.
  const int8PassSeconds = (performance.now() - tFull) / 1000;
  const full = measured(fullScore);
  const layers = recipe.full.layers;
  const grouping = groupLayers(layers.map((l) => l.name), opts.groupBy ?? 'layer');
  const units = grouping.groups;
  const { proxy, ranking: proxyRanks, seconds: proxySeconds } = await proxyRanking(recipe, fullModel, units, fp32.path, ds, limit, opts);
  const measuredSet = measuredUnits(units, proxyRanks, opts.measureTop ?? DEFAULT_MEASURE_TOP);
  const variants = inShard(variantList(measuredSet, opts.modes), opts.shard);
  const estimatedVariantsSeconds = variants.length * int8PassSeconds;
  opts.onEstimate?.(variants.length, estimatedVariantsSeconds, grouping.note);
  const tVariants = performance.now();
  const results = await measureVariants(recipe, variants, scorer, full, fp32.path, metric);
  const variantsSeconds = (performance.now() - tVariants) / 1000;
  const seconds = [...results.values()].map((r) => r.seconds);

  const proxyByName = new Map(proxy.map((p) => [p.name, p]));
  const layerByName = new Map(layers.map((l) => [l.name, l]));
  const isMeasured = new Set(measuredSet.map((u) => u.name));
  const variantOut = (v: VariantResult | undefined) =>
    v ? { top1: v.top1, agreement: v.agreement, sqnrDb: v.sqnrDb, impact: v.impact, seconds: v.seconds } : null;
  const { rows: builtInRows, ranking: builtInRanking } = rankRows(units.map((u) => {
    const p = proxyByName.get(u.name)!;
    const members = u.layers.map((n) => layerByName.get(n)!);
    return {
      name: u.name,
      ...(grouping.by === 'layer' ? {} : { layers: u.layers }),
      opType: [...new Set(members.map((l) => l.opType))].join('+'),
      params: members.reduce((sum, l) => sum + l.params, 0),
      rank: 1, // set by rankRows
      proxy: { localSqnrDb: p.localSqnrDb, rank: proxyRanks.indexOf(u.name) + 1 },
      measured: isMeasured.has(u.name),
      fallback: variantOut(results.get(variantKey({ mode: 'fallback', unit: u }))),
      quantize: variantOut(results.get(variantKey({ mode: 'quantize', unit: u }))),
    };
  }), opts.modes, full);
  // The user's metric re-orders the built-in ranking's first K units (never in a shard: the merge ranks).
  const membersOf = new Map(units.map((u) => [u.name, u.layers]));
  const byCommand = opts.metricCommand
    ? await measureTopWithCommand(recipe, fp32, builtInRanking, (u) => membersOf.get(u)!, opts.modes[0], opts.metricTop ?? DEFAULT_METRIC_TOP, opts.metricCommand, opts.outDir)
    : undefined;
  const ranking = byCommand?.ranking ?? builtInRanking;
  const layerRows = builtInRows.map((row) => {
    const s = byCommand?.scores.get(row.name);
    return { ...row, rank: ranking.indexOf(row.name) + 1, ...(s ? { metric: { value: s.value, drop: s.drop } } : {}) };
  });

  const medianVariant = seconds.length ? median(seconds) : null;
  const reportPath = join(opts.outDir, 'sensitivity.json');
  const report: SensitivityReport = {
    schema: 'qtool/sensitivity@2',
    ...reportHeaderFor(fp32, {
      modes: opts.modes, metric, ...(opts.output ? { output: opts.output } : {}), maxSamples: opts.maxSamples ?? null,
      proxySamples: opts.proxySamples ?? DEFAULT_PROXY_SAMPLES, batchSize: opts.batchSize,
      groupBy: opts.groupBy ?? 'layer', measureTop: opts.measureTop ?? DEFAULT_MEASURE_TOP,
      ...(opts.metricCommand ? { metricCommand: opts.metricCommand, metricTop: opts.metricTop ?? DEFAULT_METRIC_TOP } : {}),
    }),
    calibration: {
      path: inputs.calibration, sha256: sha256(readInputFile(inputs.calibration)), method: recipe.method, recipeSha256: calibrationDecisionsSha256(calibration),
    },
    data: { path: ds.path, samples: limit },
    labels: labelsPath ?? null,
    modes: opts.modes,
    metric,
    impactUnit: METRIC_UNIT[metric],
    grouping: { by: grouping.by, asked: opts.groupBy ?? 'layer', note: grouping.note },
    ...(opts.shard ? { shard: { ...opts.shard, variants: variants.map(variantKey) } } : {}),
    fp32: { top1: scorer.fp32Top1 },
    quantized: { ...full, drop: scorer.fp32Top1 !== null && full.top1 !== null ? scorer.fp32Top1 - full.top1 : null, outputs: fullScore.outputs },
    ranking,
    proxyRanking: proxyRanks,
    ...(byCommand ? { builtInRanking, metricCommand: { ...byCommand.cost, mode: byCommand.mode, top: byCommand.scores.size } } : {}),
    layers: layerRows,
    timings: {
      totalSeconds: (performance.now() - started) / 1000,
      fp32PassSeconds: scorer.fp32PassSeconds,
      fp32ForwardSeconds: scorer.fp32ForwardSeconds,
      proxySeconds,
      estimatedVariantsSeconds,
      variantsSeconds,
      variants: seconds.length,
      medianVariantSeconds: medianVariant,
      variantToFp32Pass: medianVariant === null ? null : medianVariant / scorer.fp32PassSeconds,
    },
    artifacts: { report: reportPath },
  };
  writeReport(reportPath, sensitivityReportSchema, report);
  return report;
}
