import { z } from 'zod';
import { reportHeader } from '../io.js';

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

export const inspectReportSchema = z.object({
  schema: z.literal('qtool/inspect@1'),
  ...reportHeader,
  irVersion: z.number(),
  opsets: z.array(z.object({ domain: z.string(), version: z.number() })),
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
