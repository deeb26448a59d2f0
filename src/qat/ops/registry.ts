// ONNX op type -> a small function that computes the node with tfjs ops.
// Every op lives in its own file under src/qat/ops/ (or shares one with a few
// close relatives) and registers itself here when src/qat/ops/index.ts imports
// it, as tfjs-core's ops/ folder does.
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { nodeLabel, type Node } from '../../onnx/graph.js';
import type { ElemType } from '../../onnx/tensor.js';

export type { Node };

/** What an op function may know besides its node and input tensors. */
export interface OpContext {
  /** The TensorFlow.js module in use (from loadTf()). */
  tf: Tf;
  /** Opset version of the default ONNX domain. */
  opset: number;
  /**
   * The ONNX element type of a named tensor, when the model states it
   * (initializers, Constant nodes, graph inputs/outputs, value_info). Needed
   * where tfjs' dtype (float32/int32/bool) loses the ONNX one, e.g. whether a
   * QuantizeLinear zero point is uint8 or int8.
   */
  elemType(name: string): ElemType | undefined;
  /** The values of a (small) tensor on the host: shapes, axes, bounds. Cached per tensor. */
  values(t: Tensor): number[];
}

export type OpFn = (ctx: OpContext, node: Node, inputs: (Tensor | undefined)[]) => Tensor[];

export interface OpInfo {
  fn: OpFn;
  /**
   * Float inputs at these positions are settings, not weights (Clip bounds,
   * BatchNormalization statistics, quantization scales, ...): an initializer
   * read only at such positions stays a constant instead of a tf.Variable.
   */
  nonTrainableInputs?: readonly number[];
  /** Static checks on attributes (run on the whole graph before anything executes); returns a reason when unsupported. */
  check?: (node: Node, opset: number) => string | undefined;
}

const registry = new Map<string, OpInfo>();

export function registerOp(opType: string, fn: OpFn, meta: Omit<OpInfo, 'fn'> = {}): void {
  if (registry.has(opType)) throw new Error(`ONNX op '${opType}' registered twice`);
  registry.set(opType, { fn, ...meta });
}

/** The registration of an op type, or undefined when it is outside the supported set. */
export function getOpInfo(opType: string): OpInfo | undefined {
  return registry.get(opType);
}

/** The function computing `opType`; throws the one-line unsupported-op error when there is none. */
export function getOp(opType: string, node?: Node): OpFn {
  const info = registry.get(opType);
  if (!info) throw new UnsupportedOpError(`unsupported ONNX op '${opType}' at node '${node ? nodeLabel(node) : '?'}'`);
  return info.fn;
}

/** Supported op types, sorted. */
export function supportedOps(): string[] {
  return [...registry.keys()].sort();
}

/** A model the executor cannot run: an op or an op feature outside the supported set. */
export class UnsupportedOpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedOpError';
  }
}

/**
 * Checks every node of a graph before anything runs: op types in the default
 * domain and registered, and attributes the op supports. Throws the first
 * problem as a one-line UnsupportedOpError naming the op and the node.
 */
export function checkNodes(nodes: readonly Node[], opset: number): void {
  for (const n of nodes) {
    const op = n.op_type ?? '';
    const domain = n.domain ?? '';
    if (domain !== '' && domain !== 'ai.onnx') {
      throw new UnsupportedOpError(`unsupported ONNX op '${domain}.${op}' at node '${nodeLabel(n)}'`);
    }
    const info = registry.get(op);
    if (!info) throw new UnsupportedOpError(`unsupported ONNX op '${op}' at node '${nodeLabel(n)}'`);
    const why = info.check?.(n, opset);
    if (why) throw new UnsupportedOpError(`unsupported ONNX op '${op}' at node '${nodeLabel(n)}': ${why}`);
  }
}

/** A node that cannot run on its inputs (shapes that do not fit, missing inputs, ...). */
export class OpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpError';
  }
}

/** Throws the one-line error for a node whose inputs or attributes are invalid. */
export function invalid(node: Node, why: string): never {
  throw new OpError(`ONNX op '${node.op_type}' at node '${nodeLabel(node)}': ${why}`);
}

/** Throws the one-line error for an op feature met only at run time (e.g. a dynamic input value). */
export function unsupported(node: Node, why: string): never {
  throw new UnsupportedOpError(`unsupported ONNX op '${node.op_type}' at node '${nodeLabel(node)}': ${why}`);
}
