// `qtool sensitivity`: which layers cost accuracy when quantized. A proxy from
// one run of the fully quantized model first, then one model variant per
// layer and mode, each built in memory from the calibrated ranges and scored
// against the FP32 outputs computed once.
import { join } from 'node:path';
import { encodeModel, loadModel, type Model } from '../../onnx/model.js';
import { loadModelDataset, type DataSourceOptions } from '../../data/dataset.js';
import { labelsFor } from '../../data/labels.js';
import { progressBar } from '../../report/progress.js';
import { reportHeaderFor, writeReport } from '../../report/io.js';
import { calibrationDecisionsSha256 } from '../../report/schemas/calibration.js';
import { sensitivityReportSchema, type SensitivityLayer, type SensitivityReport } from '../../report/schemas/sensitivity.js';
import { median } from '../../runtime/run.js';
import { InputError } from '../../util/errors.js';
import { readInputFile, sha256 } from '../../util/files.js';
import { withOutput } from '../../report/commit.js';
import { buildRecipeBytes, buildRecipeModel, onlyLayer, withFloatLayers, type QuantRecipe } from '../../quant/recipe.js';
import { OutputScorer, type OutputScore } from '../../metrics/output-scorer.js';
import type { Dataset } from '../../data/dataset.js';
import { loadCalibratedModel } from '../load-recipe.js';
import { runProxy, type ProxyLayer } from './proxy.js';
import { measureTopWithCommand } from './metric-top.js';
import type { MetricCommand } from '../../metrics/command-scorer.js';
import { impact, METRIC_UNIT, rankByProxy, rankLayers, type Measured } from './rank.js';
import { DEFAULT_METRIC_TOP, DEFAULT_PROXY_SAMPLES, type Metric, type Mode } from '../../config/options/sensitivity.js';

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
  outDir: string;
  /** Called with the proxy ranking as soon as it is known, before the variants run. */
  onProxy?: (layers: ProxyLayer[], ranking: string[], seconds: number) => void;
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

type VariantResult = OutputScore & { impact: number; noise: number };

/** One variant per layer and mode, one at a time: memory stays at one model. */
async function measureVariants(
  recipe: QuantRecipe, scorer: OutputScorer, full: Measured, label: string, metric: Metric, modes: Mode[],
): Promise<{ results: Map<string, Partial<Record<Mode, VariantResult>>>; seconds: number[] }> {
  const layers = recipe.full.layers;
  const results = new Map<string, Partial<Record<Mode, VariantResult>>>();
  const bar = progressBar('sensitivity', layers.length * modes.length, 'variants');
  const seconds: number[] = [];
  try {
    for (const mode of modes) {
      for (const l of layers) {
        const t = performance.now();
        const variant = mode === 'fallback' ? withFloatLayers(recipe, [l.name]) : onlyLayer(recipe, l.name);
        const m = await scorer.score(buildRecipeBytes(variant), `${label} (${mode} ${l.name})`);
        seconds.push((performance.now() - t) / 1000);
        const r = results.get(l.name) ?? {};
        r[mode] = {
          ...m,
          seconds: seconds[seconds.length - 1],
          impact: impact(mode, metric, measured(m), full, scorer.fp32Top1),
          noise: impact(mode, 'sqnr', measured(m), full, scorer.fp32Top1),
        };
        results.set(l.name, r);
        bar.tick(1, l.name);
      }
    }
  } finally {
    bar.stop();
  }
  return { results, seconds };
}

async function proxyRanking(recipe: QuantRecipe, qdq: Model, label: string, ds: Dataset, limit: number, opts: SensitivityOptions) {
  const t0 = performance.now();
  const proxy = await runProxy(recipe, qdq, label, ds, { batchSize: opts.batchSize, limit: Math.min(limit, opts.proxySamples ?? DEFAULT_PROXY_SAMPLES) });
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
  const fullScore = await scorer.score(encodeModel(fullModel), `${fp32.path} (INT8)`);
  const full = measured(fullScore);
  const { proxy, ranking: proxyRanks, seconds: proxySeconds } = await proxyRanking(recipe, fullModel, fp32.path, ds, limit, opts);
  const { results, seconds } = await measureVariants(recipe, scorer, full, fp32.path, metric, opts.modes);
  const layers = recipe.full.layers;

  const proxyByName = new Map(proxy.map((p) => [p.name, p]));
  const builtInRanking = rankLayers(layers.map((l) => ({
    name: l.name,
    fallback: results.get(l.name)?.fallback,
    quantize: results.get(l.name)?.quantize,
    proxyLocalSqnrDb: proxyByName.get(l.name)!.localSqnrDb,
  })));
  const byCommand = opts.metricCommand
    ? await measureTopWithCommand(recipe, fp32, builtInRanking, opts.modes[0], opts.metricTop ?? DEFAULT_METRIC_TOP, opts.metricCommand, opts.outDir)
    : undefined;
  const ranking = byCommand?.ranking ?? builtInRanking;
  const variantOut = (v: VariantResult | undefined) =>
    v ? { top1: v.top1, agreement: v.agreement, sqnrDb: v.sqnrDb, impact: v.impact, seconds: v.seconds } : null;
  const layerRows: SensitivityLayer[] = layers.map((l) => {
    const p = proxyByName.get(l.name)!;
    const r = results.get(l.name) ?? {};
    return {
      name: l.name,
      opType: l.opType,
      params: l.params,
      rank: ranking.indexOf(l.name) + 1,
      proxy: { outputSqnrDb: p.outputSqnrDb, localSqnrDb: p.localSqnrDb, rank: proxyRanks.indexOf(l.name) + 1 },
      fallback: variantOut(r.fallback),
      quantize: variantOut(r.quantize),
      ...(byCommand?.scores.has(l.name) ? { metric: { value: byCommand.scores.get(l.name)!.value, drop: byCommand.scores.get(l.name)!.drop } } : {}),
    };
  });

  const medianVariant = seconds.length ? median(seconds) : null;
  const reportPath = join(opts.outDir, 'sensitivity.json');
  const report: SensitivityReport = {
    schema: 'qtool/sensitivity@1',
    ...reportHeaderFor(fp32, { modes: opts.modes, metric, ...(opts.metricCommand ? { metricCommand: opts.metricCommand, metricTop: opts.metricTop ?? DEFAULT_METRIC_TOP } : {}), ...(opts.output ? { output: opts.output } : {}), maxSamples: opts.maxSamples ?? null, proxySamples: opts.proxySamples ?? DEFAULT_PROXY_SAMPLES, batchSize: opts.batchSize }),
    calibration: {
      path: inputs.calibration, sha256: sha256(readInputFile(inputs.calibration)), method: recipe.method, recipeSha256: calibrationDecisionsSha256(calibration),
    },
    data: { path: ds.path, samples: limit },
    labels: labelsPath ?? null,
    modes: opts.modes,
    metric,
    impactUnit: METRIC_UNIT[metric],
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
      variants: seconds.length,
      medianVariantSeconds: medianVariant,
      variantToFp32Pass: medianVariant === null ? null : medianVariant / scorer.fp32PassSeconds,
    },
    artifacts: { report: reportPath },
  };
  writeReport(reportPath, sensitivityReportSchema, report);
  return report;
}
