// Wu et al.'s GELU10: cap GELU outputs at a constant before calibration, so
// that a max range keeps resolution for the small negative values GELU emits.
import { onnx } from '../../onnx/proto/onnx.js';
import { cloneModel, type Model } from '../../onnx/model.js';
import { consumerMap, graphOutputs, initializerMap, producerMap } from '../../onnx/graph.js';
import { makeTensor, scalarOf } from '../../onnx/tensor.js';
import { renameOuterReads } from '../../onnx/rewrite.js';
import { z } from 'zod';
import type { PassRecord, QuantPass } from './pass.js';
import { InputError } from '../../util/errors.js';

export interface ClippedActivation {
  /** The GELU output before the cap. */
  tensor: string;
  /** The capped tensor that the rest of the graph now reads. */
  clipped: string;
  cap: number;
}

/**
 * The cap of a clip spec, `gelu=<cap>` (`--clip-activation`, `calibrate.clipActivation`):
 * a positive number. Errors say what is expected; the caller says where.
 */
export function parseClipActivation(spec: string): number {
  const m = /^gelu=([0-9.]+)$/i.exec(spec.trim());
  if (!m || !(Number(m[1]) > 0)) throw new InputError(`expected gelu=<positive cap>, got '${spec}'`);
  return Number(m[1]);
}

/**
 * Output tensors of GELU: the Gelu op, and the erf pattern PyTorch writes,
 * x * (1 + erf(x / sqrt2)) * 0.5 (Div or Mul by 1/sqrt2; the 0.5 on either side).
 */
function findGeluOutputs(g: onnx.IGraphProto): string[] {
  const out: string[] = [];
  const inits = initializerMap(g);
  const producers = producerMap(g);
  const consumers = consumerMap(g);
  const only = (t: string, op: string) => {
    const c = consumers.get(t) ?? [];
    return c.length === 1 && c[0].op_type === op ? c[0] : undefined;
  };
  for (const n of g.node ?? []) {
    if (n.op_type === 'Gelu') { out.push(n.output![0]); continue; }
    if (n.op_type !== 'Erf') continue;
    const scaled = producers.get(n.input![0]);
    if (!scaled || (scaled.op_type !== 'Div' && scaled.op_type !== 'Mul')) continue;
    const k = scalarOf(scaled.input![1], inits);
    if (k === undefined || Math.abs((scaled.op_type === 'Div' ? 1 / k : k) - Math.SQRT1_2) > 1e-3) continue;
    const x = scaled.input![0];
    const add = only(n.output![0], 'Add');
    if (!add) continue;
    const mul = only(add.output![0], 'Mul');
    if (!mul) continue;
    // Either x * (1 + erf) then * 0.5, or (0.5 * x) * (1 + erf).
    const half = only(mul.output![0], 'Mul');
    const halfValue = half ? scalarOf(half.input!.find((i) => i !== mul.output![0]), inits) : undefined;
    if (mul.input!.includes(x) && half && halfValue === 0.5) out.push(half.output![0]);
    else out.push(mul.output![0]);
  }
  return out;
}

/** Inserts Min(gelu, cap) after every GELU whose output is not a graph output. */
export function clipGelu(model: Model, cap: number): { model: Model; clipped: ClippedActivation[] } {
  const m = cloneModel(model);
  const g = m.graph as onnx.GraphProto;
  const outputs = new Set(graphOutputs(g).map((o) => o.name));
  const targets = findGeluOutputs(g).filter((t) => !outputs.has(t));
  if (targets.length === 0) return { model: m, clipped: [] };
  const capName = `qtool_gelu_cap_${cap}`;
  g.initializer.push(makeTensor(capName, 'float32', [], Float32Array.of(cap)));
  const clipped: ClippedActivation[] = [];
  const nodes: onnx.NodeProto[] = [];
  const rename = new Map<string, string>();
  for (const n of g.node as onnx.NodeProto[]) {
    n.input = n.input.map((i) => rename.get(i) ?? i);
    renameOuterReads(n, rename);
    nodes.push(n);
    for (const o of n.output) {
      if (!targets.includes(o)) continue;
      const c = `${o}_clip${cap}`;
      nodes.push(onnx.NodeProto.create({ op_type: 'Min', name: `${o}_Gelu${cap}`, input: [o, capName], output: [c] }));
      rename.set(o, c);
      clipped.push({ tensor: o, clipped: c, cap });
    }
  }
  g.node = nodes;
  return { model: m, clipped };
}

/** `--clip-activation gelu=CAP`: applied before calibration when asked for. */
export const clipGeluPass: QuantPass<{ cap: number }> = {
  name: 'clip-gelu',
  always: false,
  params: z.object({ cap: z.number().positive().finite() }).strict(),
  apply(model, { cap }) {
    const r = clipGelu(model, cap);
    return { model: r.model, effect: { clipped: r.clipped } };
  },
};

/** The GELU outputs a recipe's passes capped. */
export function clippedActivations(passes: readonly PassRecord[]): ClippedActivation[] {
  const p = passes.find((r) => r.name === clipGeluPass.name);
  return p ? (p.effect.clipped as ClippedActivation[]) : [];
}
