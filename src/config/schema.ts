// The pipeline config (`qtool run CONFIG`, `--config FILE` on every stage):
// JSON with the model, the data, the accuracy budget and one section per
// stage, derived from that stage's option table (./options/): its keys are
// the stage's flags in camelCase. Objects are strict so a misspelt key is an
// error, not a silently ignored option.
import { z } from 'zod';
import { accuracyPointsSchema, sectionSchema, type OptionTable } from './options.js';
import { CALIBRATE_OPTIONS } from './options/calibrate.js';
import { SENSITIVITY_OPTIONS } from './options/sensitivity.js';
import { PARTIAL_OPTIONS } from './options/partial.js';
import { QAT_OPTIONS } from './options/qat.js';
import { DATA_SOURCE_OPTIONS } from './options/data.js';
import { metricConfigSchema } from './options/metric.js';

const path = z.string().min(1, 'expected a file path');

/** Each stage section's option table, by section name. */
export const SECTION_OPTIONS = {
  calibrate: CALIBRATE_OPTIONS,
  sensitivity: SENSITIVITY_OPTIONS,
  partial: PARTIAL_OPTIONS,
  qat: QAT_OPTIONS,
} as const satisfies Record<string, OptionTable>;
export type SectionName = keyof typeof SECTION_OPTIONS;

export const calibrateSectionSchema = sectionSchema(CALIBRATE_OPTIONS);
export const sensitivitySectionSchema = sectionSchema(SENSITIVITY_OPTIONS);
export const partialSectionSchema = sectionSchema(PARTIAL_OPTIONS);
export const qatSectionSchema = sectionSchema(QAT_OPTIONS);

export const configSchema = z.object({
  model: path,
  data: z.object({
    calibration: path,
    eval: path.optional(),
    evalLabels: path.optional(),
    train: path.optional(),
    trainLabels: path.optional(),
    ...sectionSchema(DATA_SOURCE_OPTIONS).shape,
  }).strict(),
  /** The accuracy budget: the largest drop against FP32, in percentage points. */
  maxDrop: accuracyPointsSchema,
  /** The user's own metric (every stage scores with it; maxDrop is in its units). */
  metric: metricConfigSchema.optional(),
  calibrate: calibrateSectionSchema.default({}),
  sensitivity: sensitivitySectionSchema.default({}),
  partial: partialSectionSchema.default({}),
  qat: qatSectionSchema.default({}),
}).strict();

export type Config = z.infer<typeof configSchema>;

/** The keys an object at `path` in the config accepts, for "unknown key" errors. */
export function knownKeys(path: readonly PropertyKey[]): string[] {
  let s: z.ZodType = configSchema;
  for (const key of path) {
    while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    if (!(s instanceof z.ZodObject)) return [];
    s = (s.shape as Record<string, z.ZodType>)[String(key)];
    if (!s) return [];
  }
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}
