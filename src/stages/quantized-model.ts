// Shared by sensitivity and partial: the quantized model that a
// calibration.json describes, rebuilt with some layers kept in float.
//
// A layer is a quantizable op together with the Q/DQ pairs on its activation
// inputs and on its output (after a Relu/Clip folded into that output's
// range). Keeping it in float drops its weight quantization and those pairs,
// so the op reads and writes float; neighbours that share one of those
// tensors then read or write it in float too.
import { encodeModel, type LoadedModel, type Model } from '../onnx/model.js';
import { prepareForQuantization } from '../quant/prepare.js';
import { planQuantization, type QuantPlan } from '../quant/plan.js';
import { buildQdqModel, type QuantizedWeight, type TensorQParams } from '../quant/qdq.js';
import type { QuantLayer } from '../quant/quantizable.js';
import { readReport, QTOOL_VERSION } from '../report/io.js';
import { calibrationSchema, type Calibration } from '../report/schemas/calibration.js';
import { fileError } from '../util/errors.js';
import type { Dataset } from '../data/dataset.js';
import { checkLabelRange } from '../data/labels.js';
import { collectOutputs, scoreOutputs, type ModelOutputs } from './evaluate.js';

export interface QuantizedModel {
  fp32: LoadedModel;
  calibrationPath: string;
  calibration: Calibration;
  /** The graph that gets quantized: the FP32 model with BatchNorm folded and calibrate's GELU cap when it used one. */
  model: Model;
  /** Every layer quantized: the plan calibrate wrote model.int8.onnx from. */
  plan: QuantPlan;
  /** The selected scale and zero point of every planned tensor. */
  qparams: Map<string, TensorQParams>;
  /** Weights are quantized once and reused by every variant built from this model. */
  weightCache: Map<string, QuantizedWeight>;
}

/** Reads calibration.json (refusing one made for another model) and replans the model the way calibrate did. */
export function loadQuantizedModel(fp32: LoadedModel, calibrationPath: string): QuantizedModel {
  const calibration = readReport(calibrationPath, calibrationSchema, fp32.sha256);
  const { model, foldedBatchNorms } = prepareForQuantization(fp32.model, { clipGelu: calibration.clipGelu });
  if (foldedBatchNorms.join(',') !== calibration.foldedBatchNorms.join(',')) {
    throw fileError(calibrationPath, `was made with other BatchNormalization folds than this version makes; re-run qtool calibrate`);
  }
  const plan = planQuantization(model.graph!, { foldActivations: calibration.activationType === 'uint8' });

  const calibrated = new Map(calibration.tensors.map((t) => [t.name, t.selected]));
  const qparams = new Map<string, TensorQParams>();
  for (const t of plan.tensors) {
    const s = calibrated.get(t);
    if (!s) throw fileError(calibrationPath, `has no range for tensor '${t}' of this model; re-run qtool calibrate`);
    qparams.set(t, { scale: s.scale, zeroPoint: s.zeroPoint, type: s.type });
  }
  const names = plan.layers.map((l) => l.name).join(',');
  if (calibration.layers.map((l) => l.name).join(',') !== names) {
    throw fileError(calibrationPath, `lists other quantizable layers than the model has; re-run qtool calibrate`);
  }
  return { fp32, calibrationPath, calibration, model, plan, qparams, weightCache: new Map() };
}

/** The planned activation tensors whose Q/DQ pairs belong to `layer`: its inputs and its (folded) output. */
export function layerTensors(plan: QuantPlan, layer: QuantLayer): string[] {
  const planned = new Set(plan.tensors);
  const params = new Set([layer.weight, layer.bias]);
  const out = (layer.node.input ?? []).filter((i) => i && !params.has(i) && planned.has(i));
  const o = layer.node.output?.[0] ?? '';
  const t = plan.folded.find((f) => f.from === o)?.to ?? o;
  if (planned.has(t) && !out.includes(t)) out.push(t);
  return out;
}

/** A sub-plan of the full plan with these layers and tensors; a fold stays only with its Q/DQ pair, which applies it. */
function subPlan(full: QuantPlan, layers: QuantLayer[], keep: (t: string) => boolean): QuantPlan {
  const tensors = full.tensors.filter(keep);
  const kept = new Set(tensors);
  const folded = full.folded.filter((f) => kept.has(f.to));
  const layerNodes = new Set(layers.map((l) => l.node));
  const quantizedNodes = new Set([...full.quantizedNodes].filter((n) => !full.layers.some((l) => l.node === n) || layerNodes.has(n)));
  const sharedScale = new Map([...full.sharedScale].filter(([t, src]) => kept.has(t) && kept.has(src)));
  return { layers, quantizedNodes, tensors, folded, sharedScale };
}

/** Everything quantized except the `float` layers (and the Q/DQ pairs they own). */
export function planWithFloatLayers(q: QuantizedModel, float: ReadonlySet<string>): QuantPlan {
  const floatLayers = q.plan.layers.filter((l) => float.has(l.name));
  const drop = new Set(floatLayers.flatMap((l) => layerTensors(q.plan, l)));
  return subPlan(q.plan, q.plan.layers.filter((l) => !float.has(l.name)), (t) => !drop.has(t));
}

/** Only `layer` quantized, with its own Q/DQ pairs; everything else float. */
export function planOnlyLayer(q: QuantizedModel, layer: string): QuantPlan {
  const l = q.plan.layers.find((x) => x.name === layer);
  if (!l) throw new Error(`planOnlyLayer: no layer '${layer}'`);
  const own = new Set(layerTensors(q.plan, l));
  return subPlan(q.plan, [l], (t) => own.has(t));
}

/** The QDQ model for a plan, with the calibrated parameters of the tensors it quantizes. */
export function buildPlannedModel(q: QuantizedModel, plan: QuantPlan, metadata: Record<string, string> = {}): Model {
  const qparams = new Map(plan.tensors.map((t) => [t, q.qparams.get(t)!]));
  return buildQdqModel(q.model, plan, qparams, {
    perChannel: q.calibration.perChannel,
    weightCache: q.weightCache,
    metadata: {
      'qtool.version': QTOOL_VERSION,
      'qtool.calibration': q.calibration.selectedMethod,
      'qtool.activation_type': q.calibration.activationType,
      ...metadata,
    },
  });
}

export function buildPlannedBytes(q: QuantizedModel, plan: QuantPlan): Uint8Array {
  return encodeModel(buildPlannedModel(q, plan));
}

/** The FP32 model's outputs on the evaluation samples: every variant is scored against them. */
export interface Reference {
  outputs: ModelOutputs;
  labels?: Int32Array;
  top1: number | null;
  medianBatchMs: number;
  /** Session creation plus forward passes, and the forward passes alone. */
  passSeconds: number;
  forwardSeconds: number;
}

export interface MeasureOptions {
  batchSize: number;
  /** Evaluate the first `limit` samples. */
  limit: number;
}

export async function measureReference(q: QuantizedModel, ds: Dataset, labels: Int32Array | undefined, labelsPath: string | undefined, opts: MeasureOptions): Promise<Reference> {
  const t0 = performance.now();
  const outputs = await collectOutputs(q.fp32.bytes, q.fp32.path, ds, { ...opts, progress: 'eval fp32' });
  const passSeconds = (performance.now() - t0) / 1000;
  if (labels && labelsPath) checkLabelRange(labels, outputs.cols, labelsPath);
  const s = scoreOutputs(outputs, { labels });
  return { outputs, labels, top1: s.top1 ?? null, medianBatchMs: s.medianBatchMs, passSeconds, forwardSeconds: outputs.batchMs.reduce((a, b) => a + b, 0) / 1000 };
}

export interface VariantMeasure {
  top1: number | null;
  agreement: number;
  sqnrDb: number | null;
  medianBatchMs: number;
  /** Session creation plus forward passes. */
  seconds: number;
}

/** Runs a model over the samples and scores it against the labels and the FP32 outputs. */
export async function measureVariant(bytes: Uint8Array, label: string, ds: Dataset, ref: Reference, opts: MeasureOptions): Promise<VariantMeasure> {
  const t0 = performance.now();
  const out = await collectOutputs(bytes, label, ds, opts);
  const s = scoreOutputs(out, { labels: ref.labels, reference: ref.outputs });
  return { top1: s.top1 ?? null, agreement: s.agreement!, sqnrDb: s.sqnrDb ?? null, medianBatchMs: s.medianBatchMs, seconds: (performance.now() - t0) / 1000 };
}
