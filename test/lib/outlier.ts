// Test helper: a network with an outlier channel, made from a trained sample
// by function-preserving rescaling (as in the cross-layer equalization
// literature, run backwards): output channel k of a Conv followed by Relu is
// multiplied by s, and input channel k of the next Conv divided by s. Since
// relu(s x) = s relu(x) for s > 0, the FP32 function is unchanged, while one
// channel's weights and activations become s times larger than the rest.
import { join } from 'node:path';
import type { onnx } from '../../src/onnx/proto/onnx.js';
import { loadModel } from '../../src/onnx/model.js';
import { attrInt, consumerMap, initializerMap, type Node } from '../../src/onnx/graph.js';
import { makeTensor, tensorToArray } from '../../src/onnx/tensor.js';
import { repoPath, runQtool } from './helpers.js';
import { headNpy } from './npy-write.js';
import { saveModel } from './save-model.js';

export interface OutlierOptions {
  /** Name of a Conv whose only reader is a Relu whose only reader is another Conv. */
  conv: string;
  /** Output channel of `conv` to scale. */
  channel: number;
  scale: number;
}

function only(nodes: Node[] | undefined, op: string, what: string): Node {
  if (!nodes || nodes.length !== 1 || nodes[0].op_type !== op) throw new Error(`outlier: ${what} must be read by exactly one ${op}`);
  return nodes[0];
}

function replace(g: onnx.IGraphProto, name: string, dims: number[], data: Float32Array): void {
  const i = g.initializer!.findIndex((t) => t.name === name);
  g.initializer![i] = makeTensor(name, 'float32', dims, data);
}

/** Writes the rescaled model to `dst`; returns the name of the Conv after the Relu. */
export function makeOutlierModel(src: string, dst: string, opts: OutlierOptions): { next: string } {
  const { model } = loadModel(src);
  const g = model.graph!;
  const conv = g.node!.find((n) => n.name === opts.conv && n.op_type === 'Conv');
  if (!conv) throw new Error(`outlier: no Conv named '${opts.conv}'`);
  const consumers = consumerMap(g);
  const relu = only(consumers.get(conv.output![0]), 'Relu', opts.conv);
  const next = only(consumers.get(relu.output![0]), 'Conv', relu.name ?? 'the Relu');
  if (attrInt(next, 'group', 1) !== 1) throw new Error('outlier: the next Conv must not be grouped');
  const inits = initializerMap(g);
  const s = opts.scale;
  const k = opts.channel;

  const w = tensorToArray(inits.get(conv.input![1])!);
  const wd = w.data as Float32Array;
  const per = wd.length / w.dims[0];
  for (let i = k * per; i < (k + 1) * per; i++) wd[i] *= s;
  replace(g, conv.input![1], w.dims, wd);
  if (conv.input![2]) {
    const b = tensorToArray(inits.get(conv.input![2])!);
    (b.data as Float32Array)[k] *= s;
    replace(g, conv.input![2], b.dims, b.data as Float32Array);
  }

  const v = tensorToArray(inits.get(next.input![1])!);
  const vd = v.data as Float32Array;
  const [cout, cin] = v.dims;
  const spatial = vd.length / (cout * cin);
  for (let o = 0; o < cout; o++) {
    for (let i = (o * cin + k) * spatial; i < (o * cin + k + 1) * spatial; i++) vd[i] /= s;
  }
  replace(g, next.input![1], v.dims, vd);
  saveModel(model, dst);
  return { next: next.name! };
}

/**
 * An outlier that no layer owns: the input x is rewritten as
 * Add(Mul(x, a), Mul(x, b)) with a = 1 except a[k] = s and b = 0 except
 * b[k] = 1 - s, which is x again in FP32 (exactly, for integer-valued
 * features). The Add runs quantized with both operands' ranges set by feature
 * k, so every other feature is lost, and keeping all the layers in float does
 * not remove those two Q/DQ pairs. Only for models whose input feeds one node.
 */
export function makeAddOutlierModel(src: string, dst: string, opts: { feature: number; scale: number }): void {
  const { model } = loadModel(src);
  const g = model.graph!;
  const input = g.input![0];
  const dims = input.type!.tensor_type!.shape!.dim!;
  const features = Number(dims[dims.length - 1].dim_value);
  const a = new Float32Array(features).fill(1);
  const b = new Float32Array(features);
  a[opts.feature] = opts.scale;
  b[opts.feature] = 1 - opts.scale;
  g.initializer!.push(makeTensor('outlier_a', 'float32', [features], a), makeTensor('outlier_b', 'float32', [features], b));
  const x = input.name!;
  for (const n of g.node!) n.input = n.input!.map((i) => (i === x ? 'outlier_sum' : i));
  const mk = (op: string, inputs: string[], output: string) => ({ op_type: op, name: `outlier_${op}_${output}`, input: inputs, output: [output] });
  g.node!.unshift(
    mk('Mul', [x, 'outlier_a'], 'outlier_big'),
    mk('Mul', [x, 'outlier_b'], 'outlier_cancel'),
    mk('Add', ['outlier_big', 'outlier_cancel'], 'outlier_sum'),
  );
  saveModel(model, dst);
}

/** The trained ResNet sample with output channel 0 of its first block's conv1 made 50x larger. */
export const OUTLIER = { conv: '/stages/stages.0/conv1/Conv', channel: 0, scale: 50 };

export interface OutlierCase {
  model: string;
  /** The Conv after the rescaled one. */
  next: string;
  /** From `calibrate --per-tensor --method max` on `calibX`. */
  calibration: string;
  calibX: string;
  /** The first `evalSamples` MNIST evaluation samples and their labels. */
  evalX: string;
  evalY: string;
}

/** Writes the outlier model, small data splits and its per-tensor calibration into `dir`. */
export function setupOutlierCase(dir: string, evalSamples = 500): OutlierCase {
  const model = join(dir, 'outlier.onnx');
  const { next } = makeOutlierModel(repoPath('samples', 'resnet', 'model.onnx'), model, OUTLIER);
  const mnist = (f: string) => repoPath('samples', 'mnist', f);
  const calibX = headNpy(mnist('calib_x.npy'), join(dir, 'calib_x.npy'), 300);
  const evalX = headNpy(mnist('eval_x.npy'), join(dir, 'eval_x.npy'), evalSamples);
  const evalY = headNpy(mnist('eval_y.npy'), join(dir, 'eval_y.npy'), evalSamples);
  const out = join(dir, 'calibrated');
  const r = runQtool(['calibrate', model, '--data', calibX, '--per-tensor', '--method', 'max', '--out', out]);
  if (r.code !== 0) throw new Error(`calibrate failed: ${r.stderr}`);
  return { model, next, calibration: join(out, 'calibration.json'), calibX, evalX, evalY };
}

export interface OutlierTransformerOptions {
  /** A LayerNormalization whose output only MatMuls (and Shape) read. */
  layerNorm: string;
  channels: number[];
  scale: number;
}

/**
 * The transformer's outlier case, made the same way: LayerNorm scale and bias
 * of a few channels multiplied by s, the rows of those channels in every
 * MatMul that reads the LayerNorm divided by s. (x s) W[j] / s = x W[j], so
 * the FP32 function is unchanged while those activation channels are s times
 * larger than the rest, as in the LLM outliers SmoothQuant targets.
 */
export function makeOutlierTransformer(src: string, dst: string, opts: OutlierTransformerOptions): { readers: string[] } {
  const { model } = loadModel(src);
  const g = model.graph!;
  const ln = g.node!.find((n) => n.name === opts.layerNorm && n.op_type === 'LayerNormalization');
  if (!ln) throw new Error(`outlier: no LayerNormalization named '${opts.layerNorm}'`);
  const inits = initializerMap(g);
  const scaleChannels = (name: string, f: (v: number) => number, channelOf: (i: number, dims: number[]) => number) => {
    const t = tensorToArray(inits.get(name)!);
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) if (opts.channels.includes(channelOf(i, t.dims))) d[i] = f(d[i]!);
    replace(g, name, t.dims, d);
  };
  for (const i of [1, 2]) scaleChannels(ln.input![i]!, (v) => v * opts.scale, (i) => i);
  const readers = (consumerMap(g).get(ln.output![0]!) ?? []).filter((n) => n.op_type !== 'Shape');
  for (const r of readers) {
    if (r.op_type !== 'MatMul' || !inits.has(r.input![1]!)) throw new Error(`outlier: '${r.name}' reads the LayerNorm and is not a MatMul with a constant weight`);
    scaleChannels(r.input![1]!, (v) => v / opts.scale, (i, dims) => Math.floor(i / dims[1]!));
  }
  saveModel(model, dst);
  return { readers: readers.map((r) => r.name!) };
}

/** The transformer sample with 3 channels of its first attention LayerNorm made 300x larger (per-tensor activations then lose about 35 points). */
export const OUTLIER_TRANSFORMER = { layerNorm: '/layers/layers.0/ln1/LayerNormalization', channels: [5, 21, 42], scale: 300 };
