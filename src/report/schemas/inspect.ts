import { z } from 'zod';
import { reportHeader } from '../io.js';

const valueSpec = z.object({
  name: z.string(),
  type: z.string(),
  dims: z.array(z.union([z.number(), z.string(), z.null()])).nullable(),
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
});
export type InspectReport = z.infer<typeof inspectReportSchema>;
