import { z } from 'zod';
import { schemaField } from '../../util/schema-version.js';
import { OPTIMIZERS } from '../../config/options/qat.js';
import { reportHeader } from '../io.js';
import { count, maxDropPoints, percent, points, positiveCount, seconds } from './values.js';
import { qatEpochSchema } from '../../qat/checkpoint-schema.js';
import { metricCommandSchema } from './metric-command.js';

export { qatEpochSchema, qatFingerprintSchema, type QatEpoch, type QatFingerprint } from '../../qat/checkpoint-schema.js';

const accuracyOn = z.object({
  /** The data the accuracies are measured on. */
  data: z.string(),
  samples: positiveCount,
  /** 'top1' against labels; 'agreement': top-1 agreement with the FP32 model's predictions (no labels). */
  metric: z.enum(['top1', 'agreement']),
});

/** qat.json: a QAT fine-tune, its curves, and the parity of the exported INT8 model with the trained fake-quant model. */
export const qatReportSchema = z.object({
  schema: schemaField('qat', 2, 1),
  ...reportHeader,
  calibration: z.object({ path: z.string(), method: z.string(), perChannel: z.boolean() }),
  partial: z.object({ path: z.string() }).nullable(),
  floatLayers: z.array(z.string()),
  quantizedLayers: count,
  batchNormFolded: z.boolean(),
  train: z.object({ path: z.string(), samples: positiveCount, labels: z.string().nullable(), loss: z.enum(['cross-entropy', 'distillation']) }),
  backend: z.object({ name: z.string(), native: z.boolean(), fallbackReason: z.string().nullable() }),
  epochs: positiveCount,
  batchSize: positiveCount,
  optimizer: z.enum(OPTIMIZERS),
  learnRanges: z.boolean(),
  steps: positiveCount,
  /** Starting learning rate (1% of the base LR, or exactly --lr), cosine-annealed to 0. */
  lr0: z.number().positive(),
  /** Loss and learning rate every `curveEvery` steps (the loss averaged over those steps). */
  curveEvery: positiveCount,
  loss: z.array(z.number()),
  lr: z.array(z.number().nonnegative()),
  /** One entry per completed epoch (those before a --resume included). */
  epochLog: z.array(qatEpochSchema),
  /** With --resume: the epochs the checkpoint had completed; null for a run from the start. */
  resumedFrom: count.nullable(),
  /** With --eval: accuracies on the evaluation data, percent. */
  accuracy: accuracyOn.extend({
    fp32: percent,
    /** The tfjs fake-quant model before and after training. */
    before: percent,
    after: percent,
  }).nullable(),
  /**
   * With --metric-command: the user's metric on the calibrated INT8 model before training and on the exported
   * model after it (the budget's drop is then this metric's); parity stays on the built-in agreement.
   */
  metricCommand: metricCommandSchema.extend({ before: z.number(), after: z.number(), drop: points }).optional(),
  /** With --max-drop: the exported INT8 model's drop from FP32 in onnxruntime on the parity data, points. */
  budget: z.object({ maxDrop: maxDropPoints, drop: points, met: z.boolean() }).nullable(),
  /** The exported INT8 model in onnxruntime against the trained tfjs fake-quant model on the same samples. */
  parity: accuracyOn.extend({
    tfjs: percent,
    onnxruntime: percent,
    /** |tfjs - onnxruntime|, points. */
    gap: z.number().nonnegative(),
    maxGap: z.number().nonnegative(),
    /** Samples whose predicted class differs. */
    disagreements: count,
    ok: z.boolean(),
  }),
  /** trainSeconds and samplesPerSecond cover the steps this run made (not those before a --resume). */
  timings: z.object({ totalSeconds: seconds, trainSeconds: seconds, samplesPerSecond: z.number().nonnegative() }),
  /** checkpoint: the state after the last epoch (what --resume continues from). */
  artifacts: z.object({ model: z.string(), report: z.string(), checkpoint: z.string() }),
});
export type QatReport = z.infer<typeof qatReportSchema>;
