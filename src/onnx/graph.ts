// Read-only queries over a GraphProto. Nothing here knows about quantization.
import type { onnx } from './proto/onnx.js';
import { elemTypeName, toNumber, type ElemType } from './tensor.js';

export type Graph = onnx.IGraphProto;
export type Node = onnx.INodeProto;

/** A dimension is a number, a symbolic name ('batch'), or unknown (null). */
export type Dim = number | string | null;

export interface ValueSpec {
  name: string;
  type: ElemType | 'unknown';
  /** null when the rank is unknown. */
  dims: Dim[] | null;
}

export function valueSpec(v: onnx.IValueInfoProto): ValueSpec {
  const tt = v.type?.tensor_type;
  const type = (tt?.elem_type && elemTypeName(tt.elem_type)) || 'unknown';
  const dims = tt?.shape
    ? (tt.shape.dim ?? []).map((d): Dim => (d.dim_param ? d.dim_param : d.dim_value != null ? toNumber(d.dim_value as number) : null))
    : null;
  return { name: v.name ?? '', type, dims };
}

/** The graph's real inputs: declared inputs that are not initializers. */
export function graphInputs(g: Graph): ValueSpec[] {
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  return (g.input ?? []).filter((i) => !inits.has(i.name)).map(valueSpec);
}

/**
 * Graph input -> rows of the embedding table it indexes (a Gather of an
 * initializer, reading the input directly or through a Cast): the largest id
 * it can take plus one. Inputs that index nothing are left out.
 */
export function embeddingRows(g: Graph): Map<string, number> {
  const inputs = new Set(graphInputs(g).map((i) => i.name));
  const inits = initializerMap(g);
  const producers = producerMap(g);
  const out = new Map<string, number>();
  for (const n of g.node ?? []) {
    if (n.op_type !== 'Gather' || attrInt(n, 'axis', 0) !== 0) continue;
    const table = inits.get(n.input?.[0] ?? '');
    let idx = n.input?.[1] ?? '';
    const cast = producers.get(idx);
    if (cast?.op_type === 'Cast') idx = cast.input?.[0] ?? '';
    if (!table?.dims?.length || !inputs.has(idx)) continue;
    const rows = Number(table.dims[0]);
    out.set(idx, Math.min(rows, out.get(idx) ?? rows));
  }
  return out;
}

export function graphOutputs(g: Graph): ValueSpec[] {
  return (g.output ?? []).map(valueSpec);
}

export function initializerMap(g: Graph): Map<string, onnx.ITensorProto> {
  return new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
}

/** Tensor name -> the node that produces it. */
export function producerMap(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) if (o) m.set(o, n);
  return m;
}

/** The graphs held in a node's attributes: If's branches, Loop's and Scan's bodies. */
export function subgraphsOf(n: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of n.attribute ?? []) {
    if (a.g) out.push(a.g);
    for (const sg of a.graphs ?? []) out.push(sg);
  }
  return out;
}

/**
 * The tensors a node's subgraphs read from the graph around the node (ONNX
 * scoping: a name a subgraph does not define itself, at any depth, is the
 * enclosing graph's), in order of first use. Empty for a node without one.
 */
export function outerReads(n: Node): string[] {
  const subgraphs = subgraphsOf(n);
  if (subgraphs.length === 0) return [];
  const reads = new Set<string>();
  for (const sg of subgraphs) {
    const own = new Set<string>([
      ...(sg.input ?? []).map((i) => i.name ?? ''), ...(sg.initializer ?? []).map((t) => t.name ?? ''),
      ...(sg.sparse_initializer ?? []).map((s) => s.values?.name ?? ''), ...(sg.node ?? []).flatMap((x) => x.output ?? []),
    ]);
    for (const x of sg.node ?? []) for (const i of nodeReads(x)) if (i && !own.has(i)) reads.add(i);
    for (const o of sg.output ?? []) if (o.name && !own.has(o.name)) reads.add(o.name);
  }
  return [...reads];
}

/** Every tensor a node reads: its inputs, then what its subgraphs read from around it. */
export function nodeReads(n: Node): string[] {
  const outer = outerReads(n);
  return outer.length ? [...(n.input ?? []), ...outer.filter((o) => !(n.input ?? []).includes(o))] : (n.input ?? []);
}

/**
 * Tensor name -> the nodes that read it. A node whose subgraph reads the
 * tensor from the enclosing scope counts: a rewrite that renames or removes a
 * tensor must see that an If or Loop body still needs it.
 */
export function consumerMap(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.node ?? []) {
    for (const i of nodeReads(n)) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  }
  return m;
}

/** Value infos known for any tensor: graph inputs, outputs and value_info. */
export function valueSpecMap(g: Graph): Map<string, ValueSpec> {
  const m = new Map<string, ValueSpec>();
  for (const v of [...(g.input ?? []), ...(g.value_info ?? []), ...(g.output ?? [])]) m.set(v.name ?? '', valueSpec(v));
  return m;
}

/** Kahn's algorithm; keeps the original order among ready nodes. Throws on a cycle. */
export function topologicalOrder(g: Graph): Node[] {
  const nodes = g.node ?? [];
  const produced = producerMap(g);
  const indeg = new Map<Node, number>();
  const users = new Map<Node, Node[]>();
  for (const n of nodes) {
    let d = 0;
    for (const i of nodeReads(n)) {
      const p = i ? produced.get(i) : undefined;
      if (p && p !== n) {
        d++;
        const u = users.get(p);
        if (u) u.push(n);
        else users.set(p, [n]);
      }
    }
    indeg.set(n, d);
  }
  const ready = nodes.filter((n) => indeg.get(n) === 0);
  const order: Node[] = [];
  while (ready.length) {
    const n = ready.shift()!;
    order.push(n);
    for (const u of users.get(n) ?? []) {
      const d = indeg.get(u)! - 1;
      indeg.set(u, d);
      if (d === 0) ready.push(u);
    }
  }
  if (order.length !== nodes.length) throw new Error('graph has a cycle');
  return order;
}

export function attr(n: Node, name: string): onnx.IAttributeProto | undefined {
  return (n.attribute ?? []).find((a) => a.name === name);
}

export function attrInt(n: Node, name: string, fallback: number): number {
  const a = attr(n, name);
  return a && a.i != null ? toNumber(a.i as number) : fallback;
}

export function attrInts(n: Node, name: string): number[] | undefined {
  const a = attr(n, name);
  return a?.ints ? a.ints.map((v) => toNumber(v as number)) : undefined;
}

export function attrFloat(n: Node, name: string, fallback: number): number {
  const a = attr(n, name);
  return a && a.f != null ? a.f : fallback;
}

export function attrString(n: Node, name: string, fallback: string): string {
  const a = attr(n, name);
  return a?.s ? Buffer.from(a.s).toString('utf8') : fallback;
}

/** A name for a node in messages: its name, or op type and first output. */
export function nodeLabel(n: Node): string {
  return n.name || `${n.op_type}(${n.output?.[0] ?? '?'})`;
}

/**
 * Tensors whose value does not depend on the graph inputs: initializers,
 * Constant outputs, and outputs of nodes that read only such tensors
 * (exporters leave many of those unfolded).
 */
export function constantTensors(g: Graph): Set<string> {
  const c = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  for (const n of topologicalOrder(g)) {
    const ins = (n.input ?? []).filter((i) => i);
    const constant = n.op_type === 'Constant' || (ins.length > 0 && ins.every((i) => c.has(i)) && !(n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length));
    if (constant) for (const o of n.output ?? []) if (o) c.add(o);
  }
  return c;
}

/** The nodes on a cycle (or between cycles), in graph order; empty for an acyclic graph. */
function cycleNodes(g: Graph): Node[] {
  const nodes = g.node ?? [];
  const produced = producerMap(g);
  const consumers = consumerMap(g);
  const left = new Set(nodes);
  // Peel off nodes with no remaining producer among `left` (Kahn), then nodes with no remaining consumer: what stays is on cycles.
  for (let changed = true; changed;) {
    changed = false;
    for (const n of left) {
      const fed = nodeReads(n).some((i) => { const p = i ? produced.get(i) : undefined; return p !== undefined && p !== n && left.has(p); });
      const feeds = (n.output ?? []).some((o) => (consumers.get(o) ?? []).some((c) => c !== n && left.has(c)));
      const self = nodeReads(n).some((i) => i && produced.get(i) === n);
      if (!self && (!fed || !feeds)) {
        left.delete(n);
        changed = true;
      }
    }
  }
  return nodes.filter((n) => left.has(n));
}

/**
 * Why the graph cannot run, or null: a tensor defined twice, a node reading a
 * tensor that nothing defines, a graph output that nothing produces, or a
 * cycle. Subgraphs count by what they read from the top-level graph (their
 * inner consistency is left to onnxruntime).
 */
export function graphProblem(g: Graph): string | null {
  const nodes = g.node ?? [];
  const defined = new Map<string, string>();
  for (const i of g.input ?? []) if (i.name) defined.set(i.name, 'a graph input');
  for (const t of g.initializer ?? []) if (t.name) defined.set(t.name, 'an initializer');
  for (const s of g.sparse_initializer ?? []) if (s.values?.name) defined.set(s.values.name, 'an initializer');
  for (const n of nodes) {
    for (const o of n.output ?? []) {
      if (!o) continue;
      const before = defined.get(o);
      if (before) return `tensor '${o}' is written by node ${nodeLabel(n)} and is also ${before}`;
      defined.set(o, `the output of node ${nodeLabel(n)}`);
    }
  }
  for (const n of nodes) {
    const missing = nodeReads(n).find((i) => i && !defined.has(i));
    const where = (n.input ?? []).includes(missing ?? '') ? '' : ' inside a subgraph';
    if (missing !== undefined) return `node ${nodeLabel(n)} reads '${missing}'${where}, which no node, graph input or initializer defines`;
  }
  const lost = (g.output ?? []).find((o) => !defined.has(o.name ?? ''));
  if (lost) return `graph output '${lost.name}' is defined by no node, graph input or initializer`;
  try {
    topologicalOrder(g);
    return null;
  } catch {
    // a cycle: name the nodes on it
  }
  const cycle = cycleNodes(g);
  const shown = cycle.slice(0, 4).map(nodeLabel).join(', ');
  return `the graph has a cycle: ${cycle.length} node${cycle.length > 1 ? 's' : ''} depend${cycle.length > 1 ? '' : 's'} on ${cycle.length > 1 ? 'their' : 'its'} own output (${shown}${cycle.length > 4 ? ', …' : ''})`;
}
