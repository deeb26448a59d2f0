// What an op adapter may ask of the graph it rewrites: fresh tensor names,
// constants added as initializers, and the element type and rank of a tensor
// where the graph says them. Nothing here knows about quantization.
import Long from 'long';
import { onnx } from '../proto/onnx.js';
import { attr, initializerMap, type Graph, type Node } from '../graph.js';
import { inferRanks } from '../ranks.js';
import { inferElemTypes } from '../types.js';
import { makeTensor, tensorToArray, type DecodedTensor, type ElemType, type TypedArray } from '../tensor.js';

export interface UpgradeContext {
  /** A tensor name not used in the graph yet, derived from `base`. */
  freshName(base: string): string;
  /** Adds `data` as an initializer under a fresh name derived from `base`; returns the name. */
  constant(base: string, type: ElemType, dims: readonly number[], data: TypedArray): string;
  /** The element type of a tensor, when the graph's inputs, initializers and ops tell it. */
  elemType(tensor: string): ElemType | undefined;
  /** The rank of a tensor, when declared (graph inputs, outputs, value_info) or propagated from those (../ranks.ts). */
  rank(tensor: string): number | undefined;
  /** The value of an initializer or of a Constant node's output; undefined for anything computed. */
  value(tensor: string): DecodedTensor | undefined;
}

/** The names used anywhere in a graph and its subgraphs (tensors and nodes). */
export function usedNames(g: Graph, into: Set<string> = new Set()): Set<string> {
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.value_info ?? [])]) into.add(v.name ?? '');
  for (const t of g.initializer ?? []) into.add(t.name ?? '');
  for (const n of g.node ?? []) {
    for (const t of [...(n.input ?? []), ...(n.output ?? [])]) into.add(t);
    if (n.name) into.add(n.name);
    for (const a of n.attribute ?? []) {
      if (a.g) usedNames(a.g, into);
      for (const sg of a.graphs ?? []) usedNames(sg, into);
    }
  }
  return into;
}

/** A context that adds constants to `g`; `used` (usedNames of the main graph) is shared with its subgraphs so names stay unique. */
export function upgradeContext(g: onnx.GraphProto, used: Set<string>): UpgradeContext {
  const types = inferElemTypes(g);
  const ranks = inferRanks(g);
  const inits = initializerMap(g);
  const constants = new Map<string, Node>();
  for (const n of g.node ?? []) if (n.op_type === 'Constant' && n.output?.[0]) constants.set(n.output[0], n);
  const freshName = (base: string) => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  return {
    freshName,
    constant(base, type, dims, data) {
      const name = freshName(base);
      g.initializer.push(makeTensor(name, type, dims, data));
      return name;
    },
    elemType: (t) => types.get(t),
    rank: (t) => ranks.get(t),
    value(t) {
      const init = inits.get(t);
      if (init) return tensorToArray(init);
      const v = constants.get(t) && attr(constants.get(t)!, 'value');
      return v?.t ? tensorToArray(v.t) : undefined;
    },
  };
}

/** What the names of a node's new tensors start with: its name, else its first output. */
export function baseName(n: Node): string {
  return n.name || n.output?.[0] || n.op_type || 'node';
}

/** An int64 list attribute, exactly (Slice's INT64_MAX ends do not survive a trip through a double). */
export function attrInt64s(n: Node, name: string): bigint[] | undefined {
  const a = attr(n, name);
  return a?.ints ? a.ints.map((v) => BigInt(Long.fromValue(v as number | Long).toString())) : undefined;
}

/** The node without the named attributes. */
export function withoutAttributes(n: Node, ...names: string[]): onnx.NodeProto {
  return onnx.NodeProto.create({ ...n, attribute: (n.attribute ?? []).filter((a) => !names.includes(a.name ?? '')) as onnx.AttributeProto[] });
}

/** The node with `inputs` in place of its own. */
export function withInputs(n: Node, inputs: readonly string[]): onnx.NodeProto {
  const out = onnx.NodeProto.create({ ...n, input: [...inputs] });
  // Trailing optional inputs left out are written as nothing, not as empty names.
  while (out.input.length && out.input[out.input.length - 1] === '') out.input.pop();
  return out;
}

export function intAttribute(name: string, i: number): onnx.AttributeProto {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
}

export function stringAttribute(name: string, s: string): onnx.AttributeProto {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.STRING, s: Buffer.from(s, 'utf8') });
}

/** A node of the default domain. */
export function makeNode(op: string, inputs: readonly string[], outputs: readonly string[], name: string, attributes: onnx.IAttributeProto[] = []): onnx.NodeProto {
  return onnx.NodeProto.create({ op_type: op, input: [...inputs], output: [...outputs], name, attribute: attributes });
}
