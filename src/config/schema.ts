// The pipeline config (`qtool run CONFIG`, `--config FILE` on every stage):
// JSON with the model, the data, the accuracy budget and one section per
// stage whose keys are that stage's flags in camelCase. Objects are strict so
// a misspelt key is an error, not a silently ignored option.
import { z } from 'zod';
import { METHOD_FAMILIES } from '../calib/methods.js';

const path = z.string().min(1, 'expected a file path');
const positiveInt = z.number().int('expected a whole number').positive('expected a whole number > 0');
const samples = positiveInt;
const percentile = 'expected a percentile in (0, 100]';

const methodList = z.string().refine(
  (s) => s.split(',').map((m) => m.trim()).every((m) => m === 'all' || (METHOD_FAMILIES as readonly string[]).includes(m)),
  { message: `expected all, or a comma list of ${METHOD_FAMILIES.join('|')}` },
);

export const calibrateSectionSchema = z.object({
  method: methodList.optional(),
  percentile: z.array(z.number().gt(0, percentile).lte(100, percentile)).min(1, 'expected at least one percentile').optional(),
  perChannel: z.boolean().optional(),
  activationType: z.enum(['uint8', 'int8']).optional(),
  select: z.string().min(1).optional(),
  clipActivation: z.string().regex(/^gelu=[0-9.]+$/i, 'expected gelu=<positive cap>, e.g. gelu=10').optional(),
  batchSize: positiveInt.optional(),
}).strict();

export const sensitivitySectionSchema = z.object({
  mode: z.enum(['fallback', 'quantize', 'both']).optional(),
  metric: z.enum(['top1', 'agreement', 'sqnr']).optional(),
  maxSamples: samples.optional(),
  proxySamples: samples.optional(),
  batchSize: positiveInt.optional(),
  top: positiveInt.optional(),
}).strict();

export const partialSectionSchema = z.object({
  maxDrop: z.number().nonnegative('expected accuracy points >= 0').optional(),
  keepFloat: z.number().int('expected a whole number').nonnegative().optional(),
  floatType: z.enum(['fp32', 'fp16']).optional(),
  maxSamples: samples.optional(),
  batchSize: positiveInt.optional(),
  /** `qtool run` only: needing more float layers than this sends the run on to QAT. */
  maxFloatLayers: z.number().int('expected a whole number').nonnegative().optional(),
}).strict();

export const qatSectionSchema = z.object({
  distill: z.boolean().optional(),
  epochs: positiveInt.optional(),
  baseLr: z.number().positive().optional(),
  lr: z.number().positive().optional(),
  optimizer: z.enum(['adam', 'sgd']).optional(),
  batchSize: positiveInt.optional(),
  learnRanges: z.boolean().optional(),
}).strict();

/** Keys of a section that are not flags of the stage's command. */
export const RUN_ONLY_KEYS: ReadonlySet<string> = new Set(['maxFloatLayers']);

export const configSchema = z.object({
  model: path,
  data: z.object({
    calibration: path,
    eval: path.optional(),
    evalLabels: path.optional(),
    train: path.optional(),
    trainLabels: path.optional(),
  }).strict(),
  /** The accuracy budget: the largest drop against FP32, in percentage points. */
  maxDrop: z.number().nonnegative('expected accuracy points >= 0'),
  calibrate: calibrateSectionSchema.default({}),
  sensitivity: sensitivitySectionSchema.default({}),
  partial: partialSectionSchema.default({}),
  qat: qatSectionSchema.default({}),
}).strict();

export type Config = z.infer<typeof configSchema>;
export type CalibrateSection = Config['calibrate'];
export type SensitivitySection = Config['sensitivity'];
export type PartialSection = Config['partial'];
export type QatSection = Config['qat'];
export type SectionName = 'calibrate' | 'sensitivity' | 'partial' | 'qat';

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
