import { z } from 'zod';
import { reportHeader } from '../io.js';
import type { SubgraphLayer } from '../../quant/quantizable.js';

const valueSpec = z.object({
  name: z.string(),
  type: z.string(),
  dims: z.array(z.union([z.number(), z.string(), z.null()])).nullable(),
});

/** A weighted layer inside an If/Loop/Scan body (qtool keeps it in float). */
export const subgraphLayerSchema = z.object({
  name: z.string(),
  opType: z.string(),
  weight: z.string(),
  weightShape: z.array(z.number()),
  params: z.number(),
  /** The top-level node holding it, e.g. "If 'cond_1'". */
  owner: z.string(),
  /** The path to it from there, e.g. "If 'cond_1' then_branch". */
  subgraph: z.string(),
});

/** A layer inside an If/Loop/Scan body, as inspect and calibrate report it. */
export function subgraphLayerRecord(l: SubgraphLayer): z.infer<typeof subgraphLayerSchema> {
  return { name: l.name, opType: l.opType, weight: l.weight, weightShape: l.weightDims, params: l.params, owner: l.owner, subgraph: l.subgraph };
}

export const inspectReportSchema = z.object({
  schema: z.literal('qtool/inspect@1'),
  ...reportHeader,
  irVersion: z.number(),
  opsets: z.array(z.object({ domain: z.string(), version: z.number() })),
  /**
   * For a model below opset 13: what the recipe's upgrade-opset pass will do
   * (the nodes it rewrites), or why it cannot. Null at 13 and above. The
   * fields above describe the model as given.
   */
  opsetUpgrade: z.union([
    z.object({ from: z.number(), to: z.number(), rewritten: z.array(z.object({ op: z.string(), count: z.number() })) }),
    z.object({ from: z.number(), to: z.number(), refused: z.string() }),
  ]).nullable(),
  producer: z.object({ name: z.string(), version: z.string() }),
  sizeBytes: z.number(),
  parameters: z.number(),
  inputs: z.array(valueSpec),
  outputs: z.array(valueSpec),
  nodes: z.number(),
  opCounts: z.record(z.string(), z.number()),
  quantizableLayers: z.array(z.object({
    name: z.string(),
    opType: z.string(),
    weight: z.string(),
    weightShape: z.array(z.number()),
    params: z.number(),
  })),
  subgraphLayers: z.array(subgraphLayerSchema),
});
export type InspectReport = z.infer<typeof inspectReportSchema>;
