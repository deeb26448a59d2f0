// `qtool calibrate`: post-training quantization. One streaming pass of the
// FP32 model over the calibration data, every method's ranges from the same
// histograms, an INT8 QDQ model per method, and (with --eval) a comparison.
import { join } from 'node:path';
import { loadModel, encodeModel, opsetVersion, type LoadedModel } from '../../onnx/model.js';
import { graphInputs } from '../../onnx/graph.js';
import { loadDataset, type Dataset } from '../../data/dataset.js';
import { loadLabels, checkLabelRange } from '../../data/labels.js';
import { collectHistograms } from '../../calib/collect.js';
import { HALF_BINS, type TensorHistogram } from '../../calib/histogram.js';
import { planQuantization, type QuantPlan } from '../../quant/plan.js';
import { buildQdqModel, type QuantizedWeight } from '../../quant/qdq.js';
import type { QuantType } from '../../quant/qparams.js';
import type { CalibMethod } from '../../calib/methods.js';
import { prepareForQuantization, type PreparedGraph } from '../../quant/prepare.js';
import { fileError, InputError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/files.js';
import { QTOOL_VERSION, reportHeaderFor, writeReport } from '../../report/io.js';
import { calibrationSchema, type Calibration } from '../../report/schemas/calibration.js';
import { calibrateReportSchema, type CalibrateReport, type MethodResult } from '../../report/schemas/calibrate.js';
import { collectOutputs, scoreOutputs, type ModelOutputs } from '../evaluate.js';
import { assignQParams, type AssignedRange } from './assign.js';
import { selectMethod } from './select.js';

export interface CalibrateInputs {
  model: string;
  data: string;
  eval?: string;
  labels?: string;
}

export interface CalibrateOptions {
  methods: CalibMethod[];
  perChannel: boolean;
  activationType: QuantType;
  /** 'best' (needs eval data), a method id, or undefined for the default. */
  select?: string;
  clipGelu?: number;
  batchSize: number;
  outDir: string;
}

export interface CalibrateResult {
  report: CalibrateReport;
  calibration: Calibration;
}

/** Prepares the model that gets quantized: opset check, optional GELU cap. */
function prepareModel(m: LoadedModel, clip?: number): PreparedGraph {
  if (opsetVersion(m.model) < 13) {
    throw fileError(m.path, `opset ${opsetVersion(m.model)} is too old for per-channel QDQ; re-export the model with opset >= 13`);
  }
  return prepareForQuantization(m.model, { clipGelu: clip ?? null });
}

/** Share of values above `cap`, to the histogram's resolution (positive bin k holds (k w, (k+1) w]). */
function fractionAbove(h: TensorHistogram, cap: number): number {
  const w = h.range / HALF_BINS;
  let above = 0;
  for (let k = Math.max(0, Math.floor(cap / w)); k < HALF_BINS; k++) above += h.bins[HALF_BINS + k];
  return h.count ? above / h.count : 0;
}

function checkStatistics(ds: Dataset, plan: QuantPlan, h: Map<string, TensorHistogram>): void {
  for (const t of plan.tensors) {
    const s = h.get(t)!;
    if (s.nonFinite > 0) throw fileError(ds.path, `tensor '${t}' holds ${s.nonFinite} NaN/Inf values during calibration`);
    if (s.min === s.max) throw fileError(ds.path, `tensor '${t}' is constant (${s.min}) over the calibration set: no range to calibrate`);
  }
}

export async function calibrate(inputs: CalibrateInputs, opts: CalibrateOptions): Promise<CalibrateResult> {
  const started = performance.now();
  const fp32 = loadModel(inputs.model);
  const { model, clipped, foldedBatchNorms } = prepareModel(fp32, opts.clipGelu);
  const plan = planQuantization(model.graph!, { foldActivations: opts.activationType === 'uint8' });
  if (plan.layers.length === 0) {
    throw fileError(fp32.path, 'no quantizable op (Conv, ConvTranspose, Gemm or MatMul with a constant float weight)');
  }
  if (opts.select === 'best' && !inputs.eval) throw new InputError('--select best needs --eval data to compare the methods on');
  if (opts.select && opts.select !== 'best' && !opts.methods.some((m) => m.id === opts.select)) {
    throw new InputError(`--select: '${opts.select}' is not among the methods computed (${opts.methods.map((m) => m.id).join(', ')})`);
  }
  if (inputs.labels && !inputs.eval) throw new InputError('--labels goes with --eval');
  const specs = graphInputs(fp32.model.graph!);
  const ds = loadDataset(inputs.data, specs);
  const evalDs = inputs.eval ? loadDataset(inputs.eval, specs) : undefined;
  const labels = inputs.labels && evalDs ? loadLabels(inputs.labels, evalDs.count, evalDs.path) : undefined;

  // One pass: the planned tensors, plus the raw GELU outputs to show what the cap did.
  const extra = clipped.map((c) => c.tensor).filter((t) => !plan.tensors.includes(t));
  const bytes = model === fp32.model ? fp32.bytes : encodeModel(model);
  const pass = await collectHistograms(bytes, model, fp32.path, ds, [...plan.tensors, ...extra], { batchSize: opts.batchSize });
  checkStatistics(ds, plan, pass.histograms);

  const perMethod = new Map<string, { ranges: Map<string, AssignedRange>; bytes?: Uint8Array }>();
  for (const m of opts.methods) {
    perMethod.set(m.id, { ranges: assignQParams(pass.histograms, plan.tensors, m, opts.activationType, plan.sharedScale) });
  }
  // A model is built only when it is evaluated or written: serialising a large model costs as much as a forward batch.
  const weightCache = new Map<string, QuantizedWeight>();
  const modelBytes = (id: string): Uint8Array => {
    const entry = perMethod.get(id)!;
    entry.bytes ??= encodeModel(buildQdqModel(model, plan, entry.ranges, {
      perChannel: opts.perChannel,
      weightCache,
      metadata: { 'qtool.version': QTOOL_VERSION, 'qtool.calibration': id, 'qtool.activation_type': opts.activationType },
    }));
    return entry.bytes;
  };

  // Comparison on held-out data: FP32 outputs once, then each method's model.
  let fp32Scores: { top1?: number } | undefined;
  const results: MethodResult[] = [];
  if (evalDs) {
    const ref: ModelOutputs = await collectOutputs(fp32.bytes, fp32.path, evalDs, { batchSize: opts.batchSize, progress: 'eval fp32' });
    if (labels) checkLabelRange(labels, ref.cols, inputs.labels!);
    fp32Scores = scoreOutputs(ref, { labels });
    for (const m of opts.methods) {
      const out = await collectOutputs(modelBytes(m.id), `${m.id} INT8 model`, evalDs, { batchSize: opts.batchSize, progress: `eval ${m.id}` });
      perMethod.get(m.id)!.bytes = undefined; // keep only the chosen one in memory
      const s = scoreOutputs(out, { labels, reference: ref });
      results.push({
        method: m.id,
        top1: s.top1 ?? null,
        drop: s.top1 !== undefined && fp32Scores.top1 !== undefined ? fp32Scores.top1 - s.top1 : null,
        agreement: s.agreement ?? null,
        sqnrDb: s.sqnrDb ?? null,
      });
    }
  }
  const selection = selectMethod(opts.methods, results, opts.select);
  const chosen = perMethod.get(selection.method)!;
  const chosenBytes = modelBytes(selection.method);

  const calibration: Calibration = {
    schema: 'qtool/calibration@1',
    ...reportHeaderFor(fp32, {
      methods: opts.methods.map((m) => m.id), perChannel: opts.perChannel, activationType: opts.activationType,
      clipGelu: opts.clipGelu ?? null, batchSize: opts.batchSize,
    }),
    data: { path: ds.path, samples: ds.count },
    selectedMethod: selection.method,
    perChannel: opts.perChannel,
    activationType: opts.activationType,
    clipGelu: opts.clipGelu ?? null,
    foldedBatchNorms,
    layers: plan.layers.map((l) => ({ name: l.name, opType: l.opType, weight: l.weight, params: l.params })),
    tensors: plan.tensors.map((t) => {
      const h = pass.histograms.get(t)!;
      const sel = chosen.ranges.get(t)!;
      return {
        name: t,
        min: h.min, max: h.max, count: h.count,
        histogram: h.toJSON(),
        ranges: Object.fromEntries(opts.methods.map((m) => {
          const r = perMethod.get(m.id)!.ranges.get(t)!;
          return [m.id, { min: r.min, max: r.max }];
        })),
        sharesScaleWith: plan.sharedScale.get(t) ?? null,
        selected: { min: sel.min, max: sel.max, scale: sel.scale, zeroPoint: sel.zeroPoint, type: sel.type },
      };
    }),
  };

  const modelPath = join(opts.outDir, 'model.int8.onnx');
  const report: CalibrateReport = {
    schema: 'qtool/calibrate@1',
    ...reportHeaderFor(fp32, calibration.options),
    data: { path: ds.path, samples: ds.count },
    eval: evalDs ? { path: evalDs.path, samples: evalDs.count, labels: inputs.labels ?? null } : null,
    fp32: { top1: fp32Scores?.top1 ?? null, sizeBytes: fp32.bytes.length },
    quantizedLayers: plan.layers.length,
    quantizedTensors: plan.tensors.length,
    foldedActivations: plan.folded.length,
    foldedBatchNorms: foldedBatchNorms.length,
    methods: results,
    selected: { ...selection, model: modelPath, sizeBytes: chosenBytes.length },
    clippedActivations: clipped.map((c) => {
      const h = pass.histograms.get(c.tensor)!;
      return { tensor: c.tensor, cap: c.cap, maxBefore: h.max, fractionAboveCap: fractionAbove(h, c.cap) };
    }),
    timings: {
      totalSeconds: (performance.now() - started) / 1000,
      forwardSeconds: pass.forwardSeconds,
      statisticsSeconds: pass.statsSeconds,
    },
    artifacts: {
      calibration: join(opts.outDir, 'calibration.json'),
      model: modelPath,
      report: join(opts.outDir, 'calibrate.json'),
    },
  };
  // Everything is computed before anything is written; each file is written atomically.
  writeReport(report.artifacts.calibration, calibrationSchema, calibration);
  writeFileAtomic(modelPath, chosenBytes);
  writeReport(report.artifacts.report, calibrateReportSchema, report);
  return { report, calibration };
}
