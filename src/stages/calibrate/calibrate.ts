// `qtool calibrate`: post-training quantization. The recipe's passes and
// plan, one streaming pass of the FP32 model over the calibration data,
// every method's ranges from the same histograms, an INT8 QDQ model per
// method, and (with --eval) a comparison.
import { join } from 'node:path';
import { loadModel, encodeModel, type LoadedModel } from '../../onnx/model.js';
import { opsetUpgradeProblem } from '../../onnx/opset/upgrade.js';
import { loadModelDataset, type DataSourceOptions, type Dataset } from '../../data/dataset.js';
import { labelsFor } from '../../data/labels.js';
import { collectHistograms, type CollectResult } from '../../calib/collect.js';
import { HALF_BINS, type TensorHistogram } from '../../calib/histogram.js';
import type { QuantType } from '../../quant/qparams.js';
import type { CalibMethod } from '../../calib/methods.js';
import { buildRecipeBytes, calibratedRecipe, fitRecipe, keepTensorsFloat, prepareRecipe, type PreparedRecipe, type QuantRecipe } from '../../quant/recipe.js';
import type { FloatTensor } from '../../quant/float-tensors.js';
import { floatReasonOf } from '../../calib/float-reason.js';
import type { PassRecord, PassSpec } from '../../quant/passes/pass.js';
import { clipGeluPass, clippedActivations } from '../../quant/passes/clip-gelu.js';
import { foldedBatchNorms } from '../../quant/passes/fold-batchnorm.js';
import { equalizePass } from '../../quant/passes/equalize.js';
import { biasCorrectionPass } from '../../quant/passes/bias-correction.js';
import { smoothQuantPass } from '../../quant/passes/smooth-quant.js';
import { beforeFitting, describePasses, PassCache } from '../../quant/passes/index.js';
import { findSubgraphLayers } from '../../quant/quantizable.js';
import { OutputScorer } from '../../metrics/output-scorer.js';
import { CommandScorer, type MetricCommand } from '../../metrics/command-scorer.js';
import type { MetricCommandRecord } from '../../report/schemas/metric-command.js';
import { fileError, InputError } from '../../util/errors.js';
import { reportHeaderFor, writeReport } from '../../report/io.js';
import { withOutput } from '../../report/commit.js';
import { writeModelArtifact } from '../../report/write-model.js';
import { progressBar } from '../../report/progress.js';
import { calibrationSchema, type Calibration } from '../../report/schemas/calibration.js';
import { calibrateReportSchema, withoutPass, type CalibrateReport, type MethodResult } from '../../report/schemas/calibrate.js';
import { subgraphLayerRecord } from '../../report/schemas/inspect.js';
import type { PrimaryMetric } from '../../report/schemas/output-figure.js';
import { assignQParams, type AssignedRange } from './assign.js';
import { selectMethod, type Selection } from './select.js';

export interface CalibrateInputs {
  model: string;
  data: string;
  eval?: string;
  labels?: string;
  /** How to read an image folder or a text file (preprocessing, tokenizer). */
  source?: DataSourceOptions;
}

export interface CalibrateOptions {
  methods: CalibMethod[];
  perChannel: boolean;
  activationType: QuantType;
  /** 'best' (needs eval data), a method id, or undefined for the default. */
  select?: string;
  clipGelu?: number;
  /** Cross-layer equalization before calibration (the equalize pass). */
  equalize?: boolean;
  /** Empirical bias correction fitted on the calibration data (the bias-correction pass). */
  biasCorrection?: boolean;
  /** SmoothQuant's alpha (the smooth-quant pass); undefined: off. */
  smoothQuant?: number;
  batchSize: number;
  /** The output the methods are compared on (default: the first). */
  output?: string;
  /** The user's metric: the methods are compared with it instead of on --eval. */
  metricCommand?: MetricCommand;
  outDir: string;
}

export interface CalibrateResult {
  report: CalibrateReport;
  calibration: Calibration;
}

/** One method's result: its ranges and the recipe they make. */
interface Candidate {
  ranges: Map<string, AssignedRange>;
  recipe: QuantRecipe;
}

/** One recipe calibrated: its passes (all requested, or all but some, for --select best), statistics and every method's candidate. */
interface Variant {
  /** 'without equalize', or undefined for every requested pass. */
  without?: string;
  prepared: PreparedRecipe;
  pass: CollectResult;
  methods: Map<string, Candidate>;
}

/** The passes --select best compares with and without (the GELU cap too: report.html shows each method's accuracy both ways). */
const COMPARED_PASSES = new Set([equalizePass.name, smoothQuantPass.name, clipGeluPass.name, biasCorrectionPass.name]);

/** Every requested pass; with --select best and eval data, also each compared pass left out in turn. */
function passVariants(passes: PassSpec[], compare: boolean): { without?: string; passes: PassSpec[] }[] {
  const variants: { without?: string; passes: PassSpec[] }[] = [{ passes }];
  if (!compare) return variants;
  for (const p of passes.filter((x) => COMPARED_PASSES.has(x.name))) variants.push({ without: withoutPass(p.name), passes: passes.filter((x) => x !== p) });
  return variants;
}

/** The passes calibrate's options ask for (BatchNorm folding always runs). */
function requestedPasses(opts: CalibrateOptions): PassSpec[] {
  const passes: PassSpec[] = [];
  if (opts.equalize) passes.push({ name: equalizePass.name, params: {} });
  if (opts.smoothQuant !== undefined) passes.push({ name: smoothQuantPass.name, params: { alpha: opts.smoothQuant } });
  if (opts.biasCorrection) passes.push({ name: biasCorrectionPass.name, params: {} });
  if (opts.clipGelu !== undefined) passes.push({ name: clipGeluPass.name, params: { cap: opts.clipGelu } });
  return passes;
}

/** The options recorded in the reports for the passes (only those requested, so earlier files read the same). */
function passOptions(opts: CalibrateOptions): Record<string, unknown> {
  return {
    ...(opts.equalize ? { equalize: true } : {}),
    ...(opts.biasCorrection ? { biasCorrection: true } : {}),
    ...(opts.smoothQuant !== undefined ? { smoothQuant: opts.smoothQuant } : {}),
  };
}

function checkLayers(fp32: LoadedModel, prepared: PreparedRecipe): void {
  if (prepared.plan.layers.length === 0) {
    throw fileError(fp32.path, 'no quantizable op (Conv, ConvTranspose, Gemm or MatMul with a constant float weight)');
  }
}

function checkOptions(inputs: CalibrateInputs, opts: CalibrateOptions): void {
  if (opts.select === 'best' && !inputs.eval && !opts.metricCommand) {
    throw new InputError('--select best needs --eval data or a --metric-command to compare the methods with');
  }
  if (opts.select && opts.select !== 'best' && !opts.methods.some((m) => m.id === opts.select)) {
    throw new InputError(`--select: '${opts.select}' is not among the methods computed (${opts.methods.map((m) => m.id).join(', ')})`);
  }
  if (inputs.labels && !inputs.eval) throw new InputError('--labels goes with --eval');
}

/** Share of values above `cap`, to the histogram's resolution (positive bin k holds (k w, (k+1) w]). */
function fractionAbove(h: TensorHistogram, cap: number): number {
  const w = h.range / HALF_BINS;
  let above = 0;
  for (let k = Math.max(0, Math.floor(cap / w)); k < HALF_BINS; k++) above += h.bins[HALF_BINS + k];
  return h.count ? above / h.count : 0;
}

/** One pass over the calibration data: the planned tensors, plus the raw GELU outputs to show what the cap did. */
async function collectStatistics(fp32: LoadedModel, prepared: PreparedRecipe, ds: Dataset, batchSize: number): Promise<CollectResult> {
  const { model, plan } = prepared;
  const extra = clippedActivations(prepared.passes).map((c) => c.tensor).filter((t) => !plan.tensors.includes(t));
  const bytes = model === fp32.model ? fp32.bytes : encodeModel(model);
  return collectHistograms(bytes, model, fp32.path, ds, [...plan.tensors, ...extra], { batchSize, progress: progressBar });
}

/** The planned tensors calibration gives no usable range (src/quant/float-tensors.ts); NaN in any of them is bad input. */
function floatTensorsOf(plan: PreparedRecipe['plan'], histograms: Map<string, TensorHistogram>, dataPath: string): FloatTensor[] {
  const float: FloatTensor[] = [];
  for (const t of plan.tensors) {
    const h = histograms.get(t)!;
    if (h.nan > 0) throw fileError(dataPath, `tensor '${t}' holds ${h.nan} NaN values during calibration`);
    const reason = floatReasonOf(h);
    if (reason) float.push({ tensor: t, reason });
  }
  return float;
}

function candidates(prepared: PreparedRecipe, histograms: Map<string, TensorHistogram>, opts: CalibrateOptions): Map<string, Candidate> {
  const weightCache = new Map(); // weights are quantized once for every method's model
  return new Map(opts.methods.map((m) => {
    const ranges = assignQParams(histograms, prepared.plan, m, opts.activationType);
    const recipe = calibratedRecipe(prepared, ranges, { perChannel: opts.perChannel, activationType: opts.activationType, method: m.id, weightCache });
    return [m.id, { ranges, recipe }];
  }));
}

/** Every method's INT8 model of every pass variant scored on held-out data against FP32. */
async function compareMethods(
  fp32: LoadedModel, evalDs: Dataset, labels: Int32Array | undefined, labelsPath: string | undefined,
  variants: readonly Variant[], batchSize: number, output: string | undefined,
): Promise<Compared> {
  const scorer = await OutputScorer.create(fp32.bytes, fp32.path, evalDs, { batchSize, labels, labelsPath, output, progress: progressBar });
  const results: MethodResult[] = [];
  for (const v of variants) {
    for (const [id, c] of v.methods) {
      const name = v.without ? `${id} ${v.without}` : id;
      // A model is built only when it is evaluated or written: serialising a large model costs as much as a forward batch.
      const s = await scorer.score(buildRecipeBytes(c.recipe), `${name} INT8 model`, `eval ${name}`);
      results.push({
        method: id, ...(v.without ? { variant: v.without } : {}),
        top1: s.top1, drop: s.top1 === null ? null : s.drop, agreement: s.agreement, sqnrDb: s.sqnrDb, value: s.value, outputs: s.outputs,
      });
    }
  }
  const metric = { name: scorer.metric.name, output: scorer.primary.name, fp32: scorer.fp32 };
  return { fp32Top1: scorer.fp32Top1, metric, results };
}

/** Every method's INT8 model of every pass variant scored by the user's command. */
async function compareByCommand(
  fp32: LoadedModel, variants: readonly Variant[], spec: MetricCommand, cacheDir: string,
): Promise<Compared> {
  const scorer = await CommandScorer.create(fp32.bytes, `${fp32.path} (FP32)`, spec, cacheDir);
  const bar = progressBar('metric', variants.reduce((n, v) => n + v.methods.size, 0), 'models');
  const results: MethodResult[] = [];
  try {
    for (const v of variants) {
      for (const [id, c] of v.methods) {
        const name = v.without ? `${id} ${v.without}` : id;
        const s = await scorer.score(buildRecipeBytes(c.recipe), `the ${name} INT8 model`);
        results.push({ method: id, ...(v.without ? { variant: v.without } : {}), top1: null, drop: s.drop, agreement: null, sqnrDb: null, value: s.value });
        bar.tick(1, `${name}: ${spec.name} ${s.value}`);
      }
    }
  } finally {
    bar.stop();
  }
  const metric = { name: spec.name, output: null, fp32: scorer.fp32, higherIsBetter: spec.higherIsBetter };
  return { fp32Top1: null, metric, results, metricCommand: scorer.cost() };
}

interface Compared {
  fp32Top1: number | null;
  metric: PrimaryMetric;
  results: MethodResult[];
  metricCommand?: MetricCommandRecord;
}

function calibrationRecord(
  fp32: LoadedModel, opts: CalibrateOptions, ds: Dataset, selection: Selection, prepared: PreparedRecipe,
  histograms: Map<string, TensorHistogram>, methods: Map<string, Candidate>,
): Calibration {
  const chosen = methods.get(selection.method)!.ranges;
  return {
    schema: 'qtool/calibration@1',
    ...reportHeaderFor(fp32, {
      methods: opts.methods.map((m) => m.id), perChannel: opts.perChannel, activationType: opts.activationType,
      clipGelu: opts.clipGelu ?? null, batchSize: opts.batchSize, ...passOptions(opts), ...(opts.output ? { output: opts.output } : {}),
      ...(opts.metricCommand ? { metricCommand: opts.metricCommand } : {}),
    }),
    data: { path: ds.path, samples: ds.count },
    selectedMethod: selection.method,
    perChannel: opts.perChannel,
    activationType: opts.activationType,
    passes: prepared.passes,
    clipGelu: capOf(prepared.passes),
    foldedBatchNorms: foldedBatchNorms(prepared.passes),
    layers: prepared.plan.layers.map((l) => ({ name: l.name, opType: l.opType, weight: l.weight, params: l.params })),
    floatTensors: prepared.floatTensors,
    tensors: prepared.plan.tensors.map((t) => {
      const h = histograms.get(t)!;
      const sel = chosen.get(t)!;
      return {
        name: t,
        min: h.min, max: h.max, count: h.count,
        histogram: h.toJSON(),
        ranges: Object.fromEntries([...methods].map(([id, c]) => [id, { min: c.ranges.get(t)!.min, max: c.ranges.get(t)!.max }])),
        sharesScaleWith: prepared.plan.sharedScale.get(t) ?? null,
        selected: { min: sel.min, max: sel.max, scale: sel.scale, zeroPoint: sel.zeroPoint, type: sel.type },
      };
    }),
  };
}

/** The GELU cap a recipe's passes applied (none when --select best left it out). */
function capOf(passes: readonly PassRecord[]): number | null {
  const r = passes.find((p) => p.name === clipGeluPass.name);
  return r ? (r.params.cap as number) : null;
}

/** What the cap did to each GELU output: its range before (raw histogram) and the range `method` quantizes the capped tensor with. */
function clippedReport(v: Variant, method: string): CalibrateReport['clippedActivations'] {
  return clippedActivations(v.prepared.passes).map((c) => {
    const h = v.pass.histograms.get(c.tensor)!;
    const after = v.methods.get(method)!.ranges.get(c.clipped);
    return {
      tensor: c.tensor, cap: c.cap, minBefore: h.min, maxBefore: h.max, fractionAboveCap: fractionAbove(h, c.cap),
      after: after ? { min: after.min, max: after.max } : null,
    };
  });
}

/** Per-channel QDQ needs opset 13: a model below it must be one the upgrade-opset pass can raise. */
export function checkOpset(fp32: LoadedModel): void {
  const problem = opsetUpgradeProblem(fp32.model);
  if (problem) throw fileError(fp32.path, problem);
}

/** OUT/calibration.json, OUT/model.int8.onnx and OUT/calibrate.json, committed as one set (src/report/commit.ts). */
export async function calibrate(inputs: CalibrateInputs, opts: CalibrateOptions): Promise<CalibrateResult> {
  return withOutput(opts.outDir, 'calibrate', () => calibrateInto(inputs, opts));
}

async function calibrateInto(inputs: CalibrateInputs, opts: CalibrateOptions): Promise<CalibrateResult> {
  const started = performance.now();
  const fp32 = loadModel(inputs.model);
  checkOpset(fp32);
  checkOptions(inputs, opts);
  const passes = requestedPasses(opts);
  // Every variant's passes run once: those they share with each other and with the layer check, once in all.
  const cache = new PassCache(fp32.model);
  // The passes before the first data-driven one: a model without a quantizable layer is refused before any data is read.
  const dataFree = beforeFitting(passes);
  const prepared0 = prepareRecipe(fp32.model, { passes: dataFree, activationType: opts.activationType, cache });
  checkLayers(fp32, prepared0);
  const ds = loadModelDataset(inputs.data, fp32.model.graph!, inputs.source);
  const evalDs = inputs.eval ? loadModelDataset(inputs.eval, fp32.model.graph!, inputs.source) : undefined;
  const { labels, path: labelsPath } = evalDs ? labelsFor(evalDs, inputs.labels) : {};
  // Each variant changes weights and so activations: its own fit (data-driven passes, in PASSES order) and its own histograms.
  const variants: Variant[] = [];
  const comparing = opts.select === 'best' && (evalDs !== undefined || opts.metricCommand !== undefined);
  for (const v of passVariants(passes, comparing)) {
    const planned = v.passes.length === passes.length && dataFree.length === passes.length ? prepared0
      : await fitRecipe(fp32.model, { passes: v.passes, activationType: opts.activationType, cache }, {
        data: ds, batchSize: opts.batchSize, perChannel: opts.perChannel, progress: progressBar,
      });
    const pass = await collectStatistics(fp32, planned, ds, opts.batchSize);
    const prepared = keepTensorsFloat(planned, floatTensorsOf(planned.plan, pass.histograms, ds.path));
    variants.push({ without: v.without, prepared, pass, methods: candidates(prepared, pass.histograms, opts) });
  }
  const compared = opts.metricCommand
    ? await compareByCommand(fp32, variants, opts.metricCommand, opts.outDir)
    : evalDs ? await compareMethods(fp32, evalDs, labels, labelsPath, variants, opts.batchSize, opts.output) : undefined;
  const selection = selectMethod(opts.methods, compared?.results ?? [], opts.select, compared?.metric);
  const chosen = variants.find((v) => v.without === selection.variant)!;
  const { prepared, pass, methods } = chosen;
  const chosenBytes = buildRecipeBytes(methods.get(selection.method)!.recipe);
  const calibration = calibrationRecord(fp32, opts, ds, selection, prepared, pass.histograms, methods);

  const modelPath = join(opts.outDir, 'model.int8.onnx');
  // Staged, like every artifact (the three files are committed together): its size, with a side file, goes into the report.
  const written = writeModelArtifact(modelPath, chosenBytes);
  const report: CalibrateReport = {
    schema: 'qtool/calibrate@2',
    ...reportHeaderFor(fp32, calibration.options),
    data: { path: ds.path, samples: ds.count },
    eval: evalDs ? { path: evalDs.path, samples: evalDs.count, labels: labelsPath ?? null } : null,
    fp32: { top1: compared?.fp32Top1 ?? null, sizeBytes: fp32.bytes.length },
    metric: compared?.metric ?? null,
    ...(compared?.metricCommand ? { metricCommand: compared.metricCommand } : {}),
    quantizedLayers: prepared.plan.layers.length,
    quantizedTensors: prepared.plan.tensors.length,
    foldedActivations: prepared.plan.folded.length,
    foldedBatchNorms: calibration.foldedBatchNorms.length,
    floatTensors: prepared.floatTensors,
    subgraphLayers: findSubgraphLayers(prepared.model.graph!).map(subgraphLayerRecord),
    methods: compared?.results ?? [],
    selected: { ...selection, model: modelPath, sizeBytes: written.sizeBytes },
    passes: describePasses(prepared.passes),
    // When --select best left the cap out, what it did in the recipe with every requested pass.
    clippedActivations: clippedReport(capOf(prepared.passes) === null ? variants[0]! : chosen, selection.method),
    timings: { totalSeconds: (performance.now() - started) / 1000, forwardSeconds: pass.forwardSeconds, statisticsSeconds: pass.statsSeconds },
    artifacts: { calibration: join(opts.outDir, 'calibration.json'), model: modelPath, report: join(opts.outDir, 'calibrate.json') },
  };
  writeReport(report.artifacts.calibration, calibrationSchema, calibration);
  writeReport(report.artifacts.report, calibrateReportSchema, report);
  return { report, calibration };
}
