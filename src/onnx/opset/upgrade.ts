// Raises a model's default-domain opset to 13, the first with per-axis
// QuantizeLinear/DequantizeLinear, rewriting every node whose op changed in
// between (./adapters.ts says how, per op and version) as ONNX's version
// converter does, with the fixes noted in the adapters. Other domains
// (ai.onnx.ml, com.microsoft) are left as they are. Nothing here knows
// about quantization.
import { onnx } from '../proto/onnx.js';
import { cloneModel, opsetVersion, type Model } from '../model.js';
import { nodeLabel, type Node } from '../graph.js';
import { toNumber } from '../tensor.js';
import { InputError } from '../../util/errors.js';
import { stepFor } from './adapters.js';
import { upgradeContext, usedNames, type UpgradeContext } from './context.js';
import { OP_VERSIONS } from './versions.js';

export const TARGET_OPSET = 13;
/** The IR version that goes with opset 13. */
const TARGET_IR = 7;

/** A node the upgrade cannot rewrite; the message names the op, the node and the opset. */
export class OpsetUpgradeError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = 'OpsetUpgradeError';
  }
}

export interface OpsetUpgrade {
  from: number;
  to: number;
  /** Nodes of the given model that were rewritten (not only re-versioned), by op type. */
  rewritten: { op: string; count: number }[];
}

const isDefaultDomain = (n: Node) => !n.domain || n.domain === 'ai.onnx';

/** Whether an adapter gave the node back as it was (a check that passed, an attribute that was absent). */
function sameNode(a: Node, b: Node): boolean {
  return Buffer.from(onnx.NodeProto.encode(a).finish()).equals(onnx.NodeProto.encode(b).finish());
}

function upgradeNode(node: Node, version: number, from: number, ctx: UpgradeContext, rewrote: () => void): onnx.NodeProto[] {
  const op = node.op_type ?? '';
  const refuse = (why: string) => new OpsetUpgradeError(`cannot raise opset ${from} to ${TARGET_OPSET}: node ${nodeLabel(node)} (${op}) ${why}; re-export the model with opset >= ${TARGET_OPSET}`);
  const versions = OP_VERSIONS[op];
  if (!versions) throw refuse('is not an op of the ONNX domain up to opset 13');
  const next = versions.find((v) => v > version && v <= TARGET_OPSET);
  if (next === undefined) return [node as onnx.NodeProto];
  const step = stepFor(op, next);
  if (!step) throw refuse(`changed at opset ${next} and qtool has no adapter for that change`);
  if (step === 'compatible') return upgradeNode(node, next, from, ctx, rewrote);
  const out = step(node, ctx);
  if (typeof out === 'string') throw refuse(`cannot be upgraded to opset ${next}: ${out}`);
  if (!(out.length === 1 && sameNode(out[0]!, node))) rewrote();
  return out.flatMap((n) => upgradeNode(n, next, from, ctx, () => {}));
}

function upgradeGraph(g: onnx.GraphProto, from: number, used: Set<string>, counts: Map<string, number>): void {
  const ctx = upgradeContext(g, used);
  const nodes: onnx.NodeProto[] = [];
  for (const n of g.node as onnx.NodeProto[]) {
    for (const a of n.attribute) {
      // If/Loop/Scan bodies hold nodes of the same opset.
      if (a.g) upgradeGraph(a.g as onnx.GraphProto, from, used, counts);
      for (const sg of a.graphs ?? []) upgradeGraph(sg as onnx.GraphProto, from, used, counts);
    }
    if (!isDefaultDomain(n)) {
      nodes.push(n);
      continue;
    }
    const op = n.op_type ?? '';
    nodes.push(...upgradeNode(n, from, from, ctx, () => counts.set(op, (counts.get(op) ?? 0) + 1)));
  }
  g.node = nodes;
}

/** The model at opset 13 and what changed; the model itself and null when its opset is 13 or more already. */
export function upgradeOpset(model: Model): { model: Model; upgrade: OpsetUpgrade | null } {
  const from = opsetVersion(model);
  if (from >= TARGET_OPSET || !model.opset_import.some((o) => !o.domain || o.domain === 'ai.onnx')) return { model, upgrade: null };
  const m = cloneModel(model);
  const counts = new Map<string, number>();
  upgradeGraph(m.graph as onnx.GraphProto, from, usedNames(m.graph!), counts);
  for (const o of m.opset_import) if (!o.domain || o.domain === 'ai.onnx') o.version = TARGET_OPSET;
  if (toNumber(m.ir_version as number) < TARGET_IR) m.ir_version = TARGET_IR;
  const rewritten = [...counts].sort((a, b) => a[0].localeCompare(b[0])).map(([op, count]) => ({ op, count }));
  return { model: m, upgrade: { from, to: TARGET_OPSET, rewritten } };
}

/** Why the model's opset cannot be raised to 13 (the upgrade's one-line reason), or null. */
export function opsetUpgradeProblem(model: Model): string | null {
  try {
    upgradeOpset(model);
    return null;
  } catch (e) {
    if (e instanceof OpsetUpgradeError) return e.message;
    throw e;
  }
}
