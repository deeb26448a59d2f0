// Element types of every tensor in a graph, propagated from the inputs,
// initializers and Constant nodes. Enough to tell float activations from the
// int64 shape computations that exporters interleave with them.
import { attr, attrInt, graphOutputs, type Graph, type Node } from './graph.js';
import { elemTypeName, type ElemType } from './tensor.js';
import { valueSpecMap } from './graph.js';

const BOOL_OPS = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'TopK']);

export function inferElemTypes(g: Graph): Map<string, ElemType> {
  const types = new Map<string, ElemType>();
  for (const [name, spec] of valueSpecMap(g)) if (spec.type !== 'unknown') types.set(name, spec.type);
  for (const t of g.initializer ?? []) {
    const ty = elemTypeName(t.data_type ?? 0);
    if (ty) types.set(t.name ?? '', ty);
  }
  for (const n of g.node ?? []) {
    const op = n.op_type ?? '';
    let out: ElemType | undefined;
    if (op === 'Constant') {
      const v = attr(n, 'value');
      out = v?.t ? elemTypeName(v.t.data_type ?? 0) : attr(n, 'value_ints') || attr(n, 'value_int') ? 'int64' : 'float32';
    } else if (op === 'Cast') {
      out = elemTypeName(attrInt(n, 'to', 1));
    } else if (op === 'ConstantOfShape') {
      const v = attr(n, 'value');
      out = v?.t ? elemTypeName(v.t.data_type ?? 0) : 'float32';
    } else if (BOOL_OPS.has(op)) {
      out = 'bool';
    } else if (INT64_OPS.has(op)) {
      out = 'int64';
    } else if (op === 'Where') {
      out = types.get(n.input?.[1] ?? '');
    } else if (op === 'QuantizeLinear') {
      out = types.get(n.input?.[2] ?? '') ?? 'uint8';
    } else if (op === 'DequantizeLinear') {
      out = types.get(n.input?.[1] ?? '') ?? 'float32';
    } else {
      out = types.get((n.input ?? []).find((i) => i) ?? '');
    }
    const fromBody = subgraphOutputTypes(n);
    // Index outputs (TopK's second, MaxPool's Indices) are int64 whatever the data type.
    (n.output ?? []).forEach((o, k) => {
      if (!o || types.has(o)) return;
      if (fromBody) {
        const ty = fromBody[k];
        if (ty) types.set(o, ty);
        return;
      }
      const ty = (op === 'TopK' && k === 0) || (op === 'MaxPool' && k === 0) ? types.get(n.input?.[0] ?? '') : k > 0 && (op === 'TopK' || op === 'MaxPool') ? 'int64' : out;
      if (ty) types.set(o, ty);
    });
  }
  return types;
}

/**
 * If's, Loop's and Scan's output types, from their subgraphs' declared
 * outputs (If: a branch's outputs; Loop: the body's outputs after its
 * condition; Scan: the body's outputs); undefined for other ops.
 */
function subgraphOutputTypes(n: Node): (ElemType | undefined)[] | undefined {
  const body = (name: string) => attr(n, name)?.g;
  const types = (g: Graph | null | undefined, skip: number) =>
    g ? graphOutputs(g).slice(skip).map((o) => (o.type === 'unknown' ? undefined : o.type)) : [];
  switch (n.op_type) {
    case 'If': return types(body('then_branch'), 0);
    case 'Loop': return types(body('body'), 1);
    case 'Scan': return types(body('body'), 0);
    default: return undefined;
  }
}
