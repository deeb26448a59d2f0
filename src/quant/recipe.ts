// The quantization recipe: the one description of how a model is quantized.
// calibrate builds it (passes, plan, every tensor's scale and zero point),
// calibration.json persists it, and sensitivity, partial, qat-finetune and
// run load it from there; none of them re-derives any of it.
//
//   FP32 model -> passes (BN folding, GELU cap, ...) -> prepared graph
//              -> plan (layers, Q/DQ tensors, folded Relus, shared scales)
//              -> float tensors (no usable range in the calibration data)
//              -> qparams per planned tensor (calibrate's selected method)
//              -> float layers (partial), weights quantized once (cache)
//
// A layer is a quantizable op together with the Q/DQ pairs on its activation
// inputs and on its output (after a Relu/Clip folded into that output's
// range). Keeping it in float drops its weight quantization and those pairs,
// so the op reads and writes float; neighbours that share one of those
// tensors then read or write it in float too.
import { isDeepStrictEqual } from 'node:util';
import { encodeModel, type Model } from '../onnx/model.js';
import { fileError } from '../util/errors.js';
import { QTOOL_VERSION } from '../util/version.js';
import { PASSES, applyPasses, fitPasses, keepLayersFloat, type PassCache } from './passes/index.js';
import type { FitContext, PassRecord, PassSpec } from './passes/pass.js';
import { clipGeluPass } from './passes/clip-gelu.js';
import { planQuantization, type QuantPlan } from './plan.js';
import { withoutFloatTensors, type FloatTensor } from './float-tensors.js';
import { buildQdqModel, type QuantizedWeight, type TensorQParams } from './qdq.js';
import type { QuantType } from './qparams.js';
import type { QuantLayer } from './quantizable.js';

export interface QuantRecipe {
  /** The graph that gets quantized: the FP32 model after the passes, undone for the float layers (keepLayersFloat). */
  model: Model;
  /** The FP32 model after the passes, every layer's share in (`model` of the recipe with no float layer). */
  fullModel: Model;
  passes: PassRecord[];
  /** Tensors left float because calibration found no usable range (not in `full`). */
  floatTensors: FloatTensor[];
  /** Every quantizable layer quantized. */
  full: QuantPlan;
  /** What this recipe quantizes: `full` less the float layers and the Q/DQ pairs they own. */
  plan: QuantPlan;
  /** Scale and zero point of every tensor in `plan`. */
  qparams: Map<string, TensorQParams>;
  perChannel: boolean;
  activationType: QuantType;
  /** The calibration method the qparams come from. */
  method: string;
  /** Layers kept in float, in the order given. */
  floatLayers: string[];
  /** Weights quantized once, shared by every recipe derived from this one. */
  weightCache: Map<string, QuantizedWeight>;
}

/** The recipe before calibration: passes applied and the plan made. */
export interface PreparedRecipe {
  model: Model;
  passes: PassRecord[];
  plan: QuantPlan;
  /** Tensors taken out of `plan` by keepTensorsFloat. */
  floatTensors: FloatTensor[];
}

export interface PrepareOptions {
  passes: readonly PassSpec[];
  activationType: QuantType;
  /** Shares the passes several recipes of one model have in common (calibrate's variants). */
  cache?: PassCache;
}

export function prepareRecipe(fp32: Model, opts: PrepareOptions): PreparedRecipe {
  const { model, records } = applyPasses(fp32, opts.passes, opts.cache);
  // A Relu/Clip folds into a uint8 range that starts at the zero point; int8 is symmetric.
  const plan = planQuantization(model.graph!, { foldActivations: opts.activationType === 'uint8' });
  return { model, passes: records, plan, floatTensors: [] };
}

/** calibrate's prepareRecipe: data-driven passes (bias correction, SmoothQuant) fit their parameters on the calibration data first. */
export async function fitRecipe(fp32: Model, opts: PrepareOptions, ctx: FitContext): Promise<PreparedRecipe> {
  const { model, records } = await fitPasses(fp32, opts.passes, ctx, opts.cache);
  const plan = planQuantization(model.graph!, { foldActivations: opts.activationType === 'uint8' });
  return { model, passes: records, plan, floatTensors: [] };
}

/** The prepared recipe with these planned tensors left float (src/quant/float-tensors.ts). */
export function keepTensorsFloat(prepared: PreparedRecipe, float: readonly FloatTensor[]): PreparedRecipe {
  return { ...prepared, plan: withoutFloatTensors(prepared.plan, float), floatTensors: [...prepared.floatTensors, ...float] };
}

/** A calibrated recipe with every layer quantized. */
export function calibratedRecipe(
  prepared: PreparedRecipe, qparams: Map<string, TensorQParams>,
  opts: { perChannel: boolean; activationType: QuantType; method: string; weightCache?: Map<string, QuantizedWeight> },
): QuantRecipe {
  return {
    ...prepared, fullModel: prepared.model, full: prepared.plan, qparams, perChannel: opts.perChannel, activationType: opts.activationType,
    method: opts.method, floatLayers: [], weightCache: opts.weightCache ?? new Map(),
  };
}

/** What calibration.json holds of a recipe (the fields the loader needs). */
export interface RecipeRecord {
  perChannel: boolean;
  activationType: QuantType;
  selectedMethod: string;
  /** Absent in files written before passes were recorded: then clipGelu and foldedBatchNorms say what ran. */
  passes?: PassRecord[];
  clipGelu: number | null;
  foldedBatchNorms: string[];
  layers: { name: string }[];
  /** Absent in files written before tensors could stay float. */
  floatTensors?: FloatTensor[];
  tensors: { name: string; selected: TensorQParams }[];
}

/** The passes a calibration.json records; a file from before passes were recorded says what ran in two fields (the cap's effect unknown). */
function recordedPasses(r: RecipeRecord): (Omit<PassRecord, 'effect'> & { effect?: Record<string, unknown> })[] {
  if (r.passes) return r.passes;
  const passes: (Omit<PassRecord, 'effect'> & { effect?: Record<string, unknown> })[] = [
    { name: 'fold-batchnorm', params: {}, effect: { folded: r.foldedBatchNorms } },
  ];
  if (r.clipGelu !== null) passes.push({ name: clipGeluPass.name, params: { cap: r.clipGelu } });
  return passes;
}

/** An effect that changed nothing (every list in it empty): such a pass need not have been recorded. */
const changedNothing = (effect: Record<string, unknown>): boolean => Object.values(effect).every((v) => Array.isArray(v) && v.length === 0);

/**
 * The recipe calibration.json (`record`, read from `path`) describes for this
 * FP32 model: its passes replayed, each checked to have the recorded effect,
 * and the calibrated parameters of every planned tensor.
 */
export function loadRecipe(fp32: Model, record: RecipeRecord, path: string): QuantRecipe {
  const recorded = recordedPasses(record);
  // calibration.json's format stays: a pass added later is a new name in its list, which this qtool cannot replay.
  const unknown = recorded.find((r) => !PASSES.some((p) => p.name === r.name));
  if (unknown) throw fileError(path, `records the '${unknown.name}' pass, which qtool ${QTOOL_VERSION} does not know: upgrade qtool to read it`);
  const planned = prepareRecipe(fp32, { passes: recorded.map(({ name, params }) => ({ name, params })), activationType: record.activationType });
  for (const [i, p] of planned.passes.entries()) {
    const r = recorded.find((x) => x.name === p.name);
    const same = r ? r.effect === undefined || isDeepStrictEqual(r.effect, p.effect) : changedNothing(p.effect);
    if (!same) throw fileError(path, `was made with another effect of the '${p.name}' pass (pass ${i + 1}) than this version has; re-run qtool calibrate`);
  }
  const float = record.floatTensors ?? [];
  const stray = float.find((f) => !planned.plan.tensors.includes(f.tensor));
  if (stray) throw fileError(path, `keeps tensor '${stray.tensor}' float, which this model's plan does not quantize; re-run qtool calibrate`);
  const prepared = keepTensorsFloat(planned, float);
  const { plan } = prepared;
  const calibrated = new Map(record.tensors.map((t) => [t.name, t.selected]));
  const qparams = new Map<string, TensorQParams>();
  for (const t of plan.tensors) {
    const s = calibrated.get(t);
    if (!s) throw fileError(path, `has no range for tensor '${t}' of this model; re-run qtool calibrate`);
    qparams.set(t, { scale: s.scale, zeroPoint: s.zeroPoint, type: s.type });
  }
  if (!isDeepStrictEqual(record.layers.map((l) => l.name), plan.layers.map((l) => l.name))) {
    throw fileError(path, `lists other quantizable layers than the model has; re-run qtool calibrate`);
  }
  return calibratedRecipe(prepared, qparams, { perChannel: record.perChannel, activationType: record.activationType, method: record.selectedMethod });
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
  const fixedRange = new Map([...full.fixedRange].filter(([t]) => kept.has(t)));
  return { layers, quantizedNodes, tensors, folded, sharedScale, fixedRange };
}

function withPlan(r: QuantRecipe, plan: QuantPlan, floatLayers: string[]): QuantRecipe {
  const all = new Map([...r.qparams]);
  const model = keepLayersFloat(r.fullModel, r.passes, floatLayers);
  return { ...r, model, plan, floatLayers, qparams: new Map(plan.tensors.map((t) => [t, all.get(t)!])) };
}

/** The FP32 function the recipe's INT8 model approximates: the passes' model with every layer float. */
export function floatRecipeModel(r: QuantRecipe): Model {
  return keepLayersFloat(r.fullModel, r.passes, r.full.layers.map((l) => l.name));
}

/** The recipe with `float` layers (and the Q/DQ pairs they own) kept in float; everything else as calibrated. */
export function withFloatLayers(r: QuantRecipe, float: readonly string[]): QuantRecipe {
  const names = new Set(float);
  const unknown = float.find((n) => !r.full.layers.some((l) => l.name === n));
  if (unknown !== undefined) throw new Error(`withFloatLayers: no quantizable layer '${unknown}'`);
  const drop = new Set(r.full.layers.filter((l) => names.has(l.name)).flatMap((l) => layerTensors(r.full, l)));
  return withPlan(r, subPlan(r.full, r.full.layers.filter((l) => !names.has(l.name)), (t) => !drop.has(t)), [...float]);
}

/** Only `layers` (one layer, or a group) quantized, with their own Q/DQ pairs; everything else float. */
export function onlyLayers(r: QuantRecipe, layers: readonly string[]): QuantRecipe {
  const names = new Set(layers);
  const unknown = layers.find((n) => !r.full.layers.some((l) => l.name === n));
  if (unknown !== undefined) throw new Error(`onlyLayers: no layer '${unknown}'`);
  const kept = r.full.layers.filter((l) => names.has(l.name));
  const own = new Set(kept.flatMap((l) => layerTensors(r.full, l)));
  return withPlan(r, subPlan(r.full, kept, (t) => own.has(t)), r.full.layers.filter((x) => !names.has(x.name)).map((x) => x.name));
}

/** What every model built from a recipe records in its metadata. */
export function recipeMetadata(r: QuantRecipe): Record<string, string> {
  return { 'qtool.version': QTOOL_VERSION, 'qtool.calibration': r.method, 'qtool.activation_type': r.activationType };
}

/** The INT8 QDQ model of the recipe; `metadata` adds to recipeMetadata. */
export function buildRecipeModel(r: QuantRecipe, metadata: Record<string, string> = {}): Model {
  return buildQdqModel(r.model, r.plan, r.qparams, {
    perChannel: r.perChannel, weightCache: r.weightCache, metadata: { ...recipeMetadata(r), ...metadata },
  });
}

export function buildRecipeBytes(r: QuantRecipe, metadata?: Record<string, string>): Uint8Array {
  return encodeModel(buildRecipeModel(r, metadata));
}
