// An ONNX graph executed with TensorFlow.js ops, so that gradients flow from a
// loss back to the weights: float initializers become tf.Variables, and each
// node runs through the function registered for its op type (src/qat/ops/).
//
// Everything runs eagerly, node by node in topological order, so shape
// subgraphs (Shape -> Gather -> Concat -> Reshape, as PyTorch's exporter
// writes them) see the actual batch size of every call. Intermediates are
// disposed after their last reader (inside one tf.tidy), so a forward pass
// holds little more than the live tensors, and one inside tf.variableGrads or
// optimizer.minimize trains the weights.
//
// Decisions:
// - Element types: tfjs has float32, int32 and bool; ONNX int64 (shapes,
//   axes, indices) runs as int32 with values clamped to the int32 range, so
//   INT64_MAX Slice ends still mean "to the end" (see ops/dtype.ts).
// - Trainable: float initializers with at least one dimension, unless every
//   reader takes them as a setting (OpInfo.nonTrainableInputs). Constant
//   nodes, scalars and integer initializers are constants.
// - The whole graph is checked (op types, static attributes, initializer
//   types) before any tensor is made; an op outside the set is a one-line
//   UnsupportedOpError naming op and node.
// - Inference semantics throughout: BatchNormalization uses its running
//   statistics (fold it first, see src/quant/fold-batchnorm.ts), Dropout is identity.
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { loadTf, type Tf } from './tf.js';
import type { onnx } from '../onnx/proto/onnx.js';
import type { Model } from '../onnx/model.js';
import { opsetVersion } from '../onnx/model.js';
import { graphInputs, graphOutputs, nodeLabel, topologicalOrder, valueSpecMap, type Node, type ValueSpec } from '../onnx/graph.js';
import { elemTypeName, type ElemType } from '../onnx/tensor.js';
import type { Feed } from '../data/batches.js';
import { checkNodes, getOp, getOpInfo, OpError, UnsupportedOpError, type OpContext } from './ops/index.js';
import { constantValue } from './ops/constant.js';
import { tensorFromProto, tfDtypeOf, tfValues } from './ops/dtype.js';

export interface ForwardOptions {
  /** Tensors to return (graph outputs by default); any tensor name of the graph. */
  outputs?: string[];
}

export interface OnnxTfGraphOptions {
  /**
   * Which float initializers become trainable tf.Variables. Default: every
   * float initializer except scalars (exporters write constants such as a
   * normalisation's mean as scalar initializers) and those read only as
   * settings (Clip bounds, BatchNormalization statistics, quantization
   * scales, Pow exponents, ...); the rest stay constant tensors.
   */
  trainable?: (name: string, dims: readonly number[], defaultChoice: boolean) => boolean;
  /**
   * Wraps the computation of every node (QAT's fake quantization, see
   * qat-graph.ts): gets the node, its inputs and the op's function, returns
   * the node's outputs. Default: run(inputs).
   */
  wrapNode?: NodeWrapper;
}

export type NodeWrapper = (node: Node, inputs: (Tensor | undefined)[], run: (inputs: (Tensor | undefined)[]) => Tensor[]) => Tensor[];

interface Plan {
  nodes: Node[];
  /** For each node, the tensor names whose last reader it is. */
  release: string[][];
  /** Every tensor name the requested outputs depend on. */
  needs: Set<string>;
}

let instances = 0;

/** The model's graph on tfjs: forward passes, trainable weights, and nothing else. */
export class OnnxTfGraph {
  readonly tf: Tf;
  readonly opset: number;
  /** The graph's real inputs (initializers excluded) and outputs. */
  readonly inputs: ValueSpec[];
  readonly outputs: ValueSpec[];
  private readonly order: Node[];
  private readonly producer = new Map<string, Node>();
  /** Initializers and Constant outputs: name -> tensor (Variables included). */
  private readonly constants = new Map<string, Tensor>();
  private readonly vars = new Map<string, Variable>();
  private readonly types = new Map<string, ElemType>();
  private readonly hostValues = new WeakMap<Tensor, number[]>();
  private readonly plans = new Map<string, Plan>();
  private readonly ctx: OpContext;
  private readonly wrapNode?: NodeWrapper;
  private disposed = false;

  /** `tf` from loadTf(); see OnnxTfGraph.create for the one-call form. */
  constructor(model: Model, tf: Tf, opts: OnnxTfGraphOptions = {}) {
    const g = model.graph;
    if (!g) throw new Error('the model has no graph');
    this.tf = tf;
    this.opset = opsetVersion(model);
    this.inputs = graphInputs(g);
    this.outputs = graphOutputs(g);
    // Everything is checked before any tensor exists.
    const order = topologicalOrder(g);
    checkNodes(order, this.opset);
    for (const n of order) for (const o of n.output ?? []) if (o) this.producer.set(o, n);
    for (const [name, spec] of valueSpecMap(g)) if (spec.type !== 'unknown') this.types.set(name, spec.type);
    for (const i of this.inputs) {
      if (i.type !== 'unknown' && !tfDtypeOf(i.type)) throw new UnsupportedOpError(`graph input '${i.name}': element type ${i.type} has no TensorFlow.js equivalent`);
    }
    const inits = g.initializer ?? [];
    for (const t of inits) {
      const type = elemTypeName(t.data_type ?? 0);
      if (!tfDtypeOf(type)) throw new UnsupportedOpError(`initializer '${t.name}': element type ${type ?? t.data_type} has no TensorFlow.js equivalent`);
      if (type) this.types.set(t.name ?? '', type);
    }
    for (const n of order) {
      if (n.op_type !== 'Constant') continue;
      const v = (n.attribute ?? [])[0];
      const type = v?.name === 'value' ? elemTypeName(v.t?.data_type ?? 0) : v?.name?.startsWith('value_float') ? 'float32' : 'int64';
      if (type) this.types.set(n.output![0]!, type);
    }

    const settingsOnly = this.settingsOnlyInitializers(g, order);
    const id = ++instances;
    const created: Tensor[] = [];
    try {
      for (const t of inits) {
        const name = t.name ?? '';
        const tensor = tensorFromProto(tf, t);
        created.push(tensor);
        const dims = tensor.shape;
        const byDefault = tensor.dtype === 'float32' && dims.length > 0 && !settingsOnly.has(name);
        const train = tensor.dtype === 'float32' && (opts.trainable ? opts.trainable(name, dims, byDefault) : byDefault);
        if (train) {
          // Variable names are global in tfjs: prefix them per graph.
          const v = tf.variable(tensor, true, `onnx${id}/${name}`);
          created.push(v);
          tensor.dispose();
          this.vars.set(name, v);
          this.constants.set(name, v);
        } else {
          this.constants.set(name, tensor);
        }
      }
      for (const n of order) {
        if (n.op_type === 'Constant') {
          const c = constantValue(tf, n);
          created.push(c);
          this.constants.set(n.output![0]!, c);
        }
      }
    } catch (e) {
      for (const t of created) t.dispose();
      throw e;
    }
    this.order = order.filter((n) => n.op_type !== 'Constant');
    this.wrapNode = opts.wrapNode;
    this.ctx = {
      tf,
      opset: this.opset,
      elemType: (name) => this.types.get(name),
      values: (t) => this.valuesOf(t),
    };
  }

  /** Loads tfjs (native when available) and builds the graph. */
  static async create(model: Model, opts: OnnxTfGraphOptions = {}): Promise<OnnxTfGraph> {
    const { tf } = await loadTf();
    return new OnnxTfGraph(model, tf, opts);
  }

  /** Trainable weights by initializer name. */
  variables(): Map<string, Variable> {
    return new Map(this.vars);
  }

  /**
   * Runs the graph on `feeds` (input name -> tensor; ONNX int64 inputs as
   * int32) and returns the requested tensors. Intermediates are disposed as
   * soon as their last reader has run; the returned tensors belong to the
   * caller. Call inside tf.variableGrads / optimizer.minimize to train.
   */
  forward(feeds: Record<string, Tensor>, opts: ForwardOptions = {}): Record<string, Tensor> {
    if (this.disposed) throw new Error('OnnxTfGraph: forward() after dispose()');
    const want = opts.outputs ?? this.outputs.map((o) => o.name);
    const plan = this.plan(want);
    for (const i of this.inputs) {
      if (!feeds[i.name] && plan.needs.has(i.name)) throw new Error(`missing feed for graph input '${i.name}'`);
    }
    const { tf } = this;
    return tf.tidy(() => {
      const env = new Map<string, Tensor>();
      const refs = new Map<Tensor, number>();
      const kept = new Set<Tensor>([...this.constants.values(), ...Object.values(feeds)]);
      const bind = (name: string, t: Tensor): void => {
        env.set(name, t);
        refs.set(t, (refs.get(t) ?? 0) + 1);
      };
      const unbind = (name: string): void => {
        const t = env.get(name);
        if (!t) return;
        env.delete(name);
        const r = (refs.get(t) ?? 1) - 1;
        refs.set(t, r);
        if (r === 0 && !kept.has(t)) t.dispose();
      };
      const lookup = (name: string, node: Node): Tensor => {
        const t = env.get(name) ?? feeds[name] ?? this.constants.get(name);
        if (!t) throw new Error(`node '${nodeLabel(node)}' (${node.op_type}) reads '${name}', which no node, initializer or feed provides`);
        return t;
      };
      const wanted = new Set(want);
      plan.nodes.forEach((node, k) => {
        const ins = (node.input ?? []).map((name) => (name ? lookup(name, node) : undefined));
        let outs: Tensor[];
        try {
          const fn = getOp(node.op_type ?? '', node);
          const run = (xs: (Tensor | undefined)[]): Tensor[] => fn(this.ctx, node, xs);
          outs = this.wrapNode ? this.wrapNode(node, ins, run) : run(ins);
        } catch (e) {
          if (e instanceof UnsupportedOpError || e instanceof OpError) throw e;
          const msg = String((e as Error).message ?? e);
          throw new Error(`ONNX op '${node.op_type}' at node '${nodeLabel(node)}': ${msg}`, { cause: e });
        }
        const names = node.output ?? [];
        outs.forEach((t, j) => {
          const name = names[j];
          if (name) bind(name, t);
          else if (!refs.get(t) && !kept.has(t)) t.dispose();
        });
        names.forEach((name, j) => {
          if (name && !outs[j] && (wanted.has(name) || plan.needs.has(name))) {
            throw new Error(`ONNX op '${node.op_type}' at node '${nodeLabel(node)}' did not produce output ${j} ('${name}')`);
          }
        });
        for (const name of plan.release[k]!) if (!wanted.has(name)) unbind(name);
      });
      const result: Record<string, Tensor> = {};
      for (const name of want) {
        const t = env.get(name) ?? feeds[name] ?? this.constants.get(name);
        if (!t) throw new Error(`'${name}' is not a tensor of this graph`);
        // Never hand out a feed, weight or constant itself: the caller disposes what it gets.
        result[name] = kept.has(t) || Object.values(result).includes(t) ? tf.clone(t) : t;
      }
      return result;
    });
  }

  /** Disposes the weights and constants. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.constants.values()) t.dispose();
    this.constants.clear();
    this.vars.clear();
  }

  /** Nodes needed for `want`, in topological order, with the last reader of each tensor. */
  private plan(want: readonly string[]): Plan {
    const key = want.join('\u0000');
    const cached = this.plans.get(key);
    if (cached) return cached;
    const needed = new Set<Node>();
    const needs = new Set<string>();
    const stack = [...want];
    while (stack.length) {
      const name = stack.pop()!;
      if (needs.has(name)) continue;
      needs.add(name);
      const p = this.producer.get(name);
      if (!p) {
        if (!this.constants.has(name) && !this.inputs.some((i) => i.name === name)) {
          throw new Error(`'${name}' is not a tensor of this graph`);
        }
        continue;
      }
      if (needed.has(p)) continue;
      needed.add(p);
      for (const i of p.input ?? []) if (i) stack.push(i);
    }
    const nodes = this.order.filter((n) => needed.has(n));
    const last = new Map<string, number>();
    nodes.forEach((n, k) => {
      for (const i of n.input ?? []) if (i) last.set(i, k);
      // Outputs nobody reads are released right after their node.
      for (const o of n.output ?? []) if (o && !last.has(o)) last.set(o, k);
    });
    const release: string[][] = nodes.map(() => []);
    for (const [name, k] of last) release[k]!.push(name);
    const plan = { nodes, release, needs };
    this.plans.set(key, plan);
    return plan;
  }

  /** Float initializers that every reader takes as a setting (see OpInfo.nonTrainableInputs). */
  private settingsOnlyInitializers(g: onnx.IGraphProto, order: readonly Node[]): Set<string> {
    const uses = new Map<string, boolean>(); // name -> read as a weight somewhere
    for (const n of order) {
      const info = getOpInfo(n.op_type ?? '');
      (n.input ?? []).forEach((name, i) => {
        if (!name) return;
        const asSetting = info?.nonTrainableInputs?.includes(i) ?? false;
        uses.set(name, (uses.get(name) ?? false) || !asSetting);
      });
    }
    const out = new Set<string>();
    for (const t of g.initializer ?? []) if (uses.get(t.name ?? '') === false) out.add(t.name ?? '');
    return out;
  }

  private valuesOf(t: Tensor): number[] {
    const cached = this.hostValues.get(t);
    if (cached) return cached;
    const v = Array.from(t.dataSync() as ArrayLike<number>, Number);
    // Variables change under training; everything else is immutable.
    if (!(t instanceof this.tf.Variable)) this.hostValues.set(t, v);
    return v;
  }
}

/** tfjs tensors for a batch from src/data (int64 inputs become int32, see ops/dtype.ts). */
export function tensorsFromFeeds(tf: Tf, feeds: Record<string, Feed>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) {
    const { dtype, values } = tfValues({ type: f.type, dims: f.dims, data: f.data }, `feed '${name}'`);
    out[name] = tf.tensor(values, f.dims, dtype);
  }
  return out;
}
