import { z } from 'zod';

/** `qtool report DIR --json`: the page written and what it holds. */
export const reportResultSchema = z.object({
  schema: z.literal('qtool/report@1'),
  qtoolVersion: z.string(),
  command: z.string(),
  /** The HTML file written. */
  path: z.string(),
  /** Each section in page order, with the data-chart names of its charts, or why it was left out. */
  sections: z.array(z.object({
    id: z.string(),
    title: z.string(),
    drawn: z.boolean(),
    /** Why the section was left out (null when drawn). */
    note: z.string().nullable(),
    charts: z.array(z.string()),
  })),
});
export type ReportResult = z.infer<typeof reportResultSchema>;
