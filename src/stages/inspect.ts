// `qtool inspect`: what a model is made of, and what qtool would quantize.
import type { LoadedModel } from '../onnx/model.js';
import { graphInputs, graphOutputs, subgraphsOf, type Graph } from '../onnx/graph.js';
import type { onnx } from '../onnx/proto/onnx.js';
import { dimsOf, sizeOf, toNumber } from '../onnx/tensor.js';
import { findQuantizableLayers, findSubgraphLayers } from '../quant/quantizable.js';
import { foldConstantWeights } from '../quant/passes/fold-constants.js';
import { opsetVersion, type Model } from '../onnx/model.js';
import { OpsetUpgradeError, TARGET_OPSET, upgradeOpset } from '../onnx/opset/upgrade.js';
import { reportHeaderFor } from '../report/io.js';
import { subgraphLayerRecord, type InspectReport } from '../report/schemas/inspect.js';

/** What calibrate's upgrade-opset pass will do to a model below opset 13. */
function opsetUpgrade(model: Model): InspectReport['opsetUpgrade'] {
  try {
    const { upgrade } = upgradeOpset(model);
    return upgrade;
  } catch (e) {
    if (!(e instanceof OpsetUpgradeError)) throw e;
    return { from: opsetVersion(model), to: TARGET_OPSET, refused: e.message };
  }
}

export function inspectModel(m: LoadedModel): InspectReport {
  const g = m.model.graph!;
  const opCounts: Record<string, number> = {};
  for (const n of g.node ?? []) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.op_type}` : n.op_type!;
    opCounts[key] = (opCounts[key] ?? 0) + 1;
  }
  // Weights written as Constant nodes count (and quantize) once folded, as calibrate folds them.
  const weights = foldConstantWeights(m.model).model.graph!;
  const parameters = [...(weights.initializer ?? []), ...subgraphInitializers(weights)]
    .filter((t) => t.data_type === 1 || t.data_type === 10 || t.data_type === 11)
    .reduce((s, t) => s + sizeOf(dimsOf(t)), 0);
  return {
    schema: 'qtool/inspect@1',
    ...reportHeaderFor(m, {}),
    irVersion: toNumber(m.model.ir_version as number),
    opsets: m.model.opset_import.map((o) => ({ domain: o.domain || 'ai.onnx', version: toNumber(o.version as number) })),
    opsetUpgrade: opsetUpgrade(m.model),
    producer: { name: m.model.producer_name ?? '', version: m.model.producer_version ?? '' },
    sizeBytes: m.bytes.length,
    parameters,
    inputs: graphInputs(g),
    outputs: graphOutputs(g),
    nodes: (g.node ?? []).length,
    opCounts: Object.fromEntries(Object.entries(opCounts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    quantizableLayers: findQuantizableLayers(weights).map((l) => ({
      name: l.name, opType: l.opType, weight: l.weight, weightShape: l.weightDims, params: l.params,
    })),
    subgraphLayers: findSubgraphLayers(weights).map(subgraphLayerRecord),
  };
}

/** The initializers of every subgraph (If branches, Loop and Scan bodies), at any depth. */
function subgraphInitializers(g: Graph): onnx.ITensorProto[] {
  return (g.node ?? []).flatMap(subgraphsOf).flatMap((sg) => [...(sg.initializer ?? []), ...subgraphInitializers(sg)]);
}

/** A subgraph layer as the reports record it. */
