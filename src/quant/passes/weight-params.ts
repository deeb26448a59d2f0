// Float32 initializers of a model being rewritten by a weight pass: read
// once, edited as arrays, written back at the end. A tensor that other nodes
// read too is written under a new name for the edited node only, so that a
// pass never changes a layer it did not mean to.
import type { onnx } from '../../onnx/proto/onnx.js';
import { consumerMap, initializerMap, type Node } from '../../onnx/graph.js';
import { makeTensor, tensorToArray } from '../../onnx/tensor.js';

export interface FloatParam {
  name: string;
  dims: number[];
  data: Float32Array;
}

export class WeightEditor {
  private readonly inits: Map<string, onnx.ITensorProto>;
  private readonly readers: Map<string, Node[]>;
  private readonly edited = new Map<string, FloatParam>();

  constructor(private readonly g: onnx.IGraphProto) {
    this.inits = initializerMap(g);
    this.readers = consumerMap(g);
  }

  /** The float32 initializer `name`, or undefined when it is not one. */
  read(name: string | undefined): FloatParam | undefined {
    if (!name) return undefined;
    const done = this.edited.get(name);
    if (done) return done;
    const t = this.inits.get(name);
    if (!t || t.data_type !== 1) return undefined;
    const d = tensorToArray(t);
    return { name, dims: d.dims, data: Float32Array.from(d.data as Float32Array) };
  }

  /** Input `index` of `node` as an editable float32 tensor, unshared with other readers; undefined when not a float initializer. */
  own(node: Node, index: number): FloatParam | undefined {
    const name = node.input?.[index];
    const p = this.read(name);
    if (!p || !name) return undefined;
    if (this.edited.has(name)) return p;
    const readers = (this.readers.get(name) ?? []).length;
    const own = readers <= 1 ? p : { ...p, name: `${name}__${node.name || node.output?.[0]}` };
    node.input![index] = own.name;
    this.edited.set(own.name, own);
    return own;
  }

  /** A new float32 initializer as input `index` of `node` (a bias the layer did not have). */
  create(node: Node, index: number, name: string, dims: number[]): FloatParam {
    const p = { name, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) };
    while (node.input!.length < index) node.input!.push('');
    node.input![index] = name;
    this.edited.set(name, p);
    return p;
  }

  /** Writes every edited tensor into the graph (replacing same-named initializers, adding the others). */
  commit(): void {
    const g = this.g;
    const replaced = new Set<string>();
    g.initializer = (g.initializer ?? []).map((t) => {
      const p = this.edited.get(t.name ?? '');
      if (!p) return t;
      replaced.add(p.name);
      return makeTensor(p.name, 'float32', p.dims, p.data);
    });
    for (const p of this.edited.values()) if (!replaced.has(p.name)) g.initializer.push(makeTensor(p.name, 'float32', p.dims, p.data));
  }
}

/** Multiplies index c of `axis` by f[c]. */
export function scaleAxis(p: FloatParam, axis: number, f: ArrayLike<number>): void {
  const channels = p.dims[axis]!;
  const inner = p.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! * f[Math.floor(i / inner) % channels]!;
}

/** max |w| over each index of `axis`. */
export function channelAbsMax(p: FloatParam, axis: number): Float64Array {
  const channels = p.dims[axis]!;
  const inner = p.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(channels);
  for (let i = 0; i < p.data.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const v = Math.abs(p.data[i]!);
    if (v > out[c]!) out[c] = v;
  }
  return out;
}

/** Float32 values as the shortest decimals that read back to the same float32 (compact JSON). */
export function compactFloats(v: ArrayLike<number>): number[] {
  return Array.from(v, (x) => Number(Math.fround(x).toPrecision(9)));
}
