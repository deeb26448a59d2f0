import { z } from 'zod';
import { OPTIMIZERS } from '../../config/options/qat.js';
import { reportHeader } from '../io.js';
import { qatEpochSchema } from '../../qat/checkpoint-schema.js';

export { qatEpochSchema, qatFingerprintSchema, type QatEpoch, type QatFingerprint } from '../../qat/checkpoint-schema.js';

const accuracyOn = z.object({
  /** The data the accuracies are measured on. */
  data: z.string(),
  samples: z.number().int().positive(),
  /** 'top1' against labels; 'agreement': top-1 agreement with the FP32 model's predictions (no labels). */
  metric: z.enum(['top1', 'agreement']),
});

/** qat.json: a QAT fine-tune, its curves, and the parity of the exported INT8 model with the trained fake-quant model. */
export const qatReportSchema = z.object({
  schema: z.literal('qtool/qat@1'),
  ...reportHeader,
  calibration: z.object({ path: z.string(), method: z.string(), perChannel: z.boolean() }),
  partial: z.object({ path: z.string() }).nullable(),
  floatLayers: z.array(z.string()),
  quantizedLayers: z.number().int().nonnegative(),
  batchNormFolded: z.boolean(),
  train: z.object({ path: z.string(), samples: z.number().int().positive(), labels: z.string().nullable(), loss: z.enum(['cross-entropy', 'distillation']) }),
  backend: z.object({ name: z.string(), native: z.boolean(), fallbackReason: z.string().nullable() }),
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  optimizer: z.enum(OPTIMIZERS),
  learnRanges: z.boolean(),
  steps: z.number().int().positive(),
  /** Starting learning rate (1% of the base LR, or exactly --lr), cosine-annealed to 0. */
  lr0: z.number().positive(),
  /** Loss and learning rate every `curveEvery` steps (the loss averaged over those steps). */
  curveEvery: z.number().int().positive(),
  loss: z.array(z.number()),
  lr: z.array(z.number()),
  /** One entry per completed epoch (those before a --resume included). */
  epochLog: z.array(qatEpochSchema),
  /** With --resume: the epochs the checkpoint had completed; null for a run from the start. */
  resumedFrom: z.number().int().nonnegative().nullable(),
  /** With --eval: accuracies on the evaluation data, percent. */
  accuracy: accuracyOn.extend({
    fp32: z.number(),
    /** The tfjs fake-quant model before and after training. */
    before: z.number(),
    after: z.number(),
  }).nullable(),
  /** With --max-drop: the exported INT8 model's drop from FP32 in onnxruntime on the parity data, points. */
  budget: z.object({ maxDrop: z.number(), drop: z.number(), met: z.boolean() }).nullable(),
  /** The exported INT8 model in onnxruntime against the trained tfjs fake-quant model on the same samples. */
  parity: accuracyOn.extend({
    tfjs: z.number(),
    onnxruntime: z.number(),
    /** |tfjs - onnxruntime|, points. */
    gap: z.number(),
    maxGap: z.number(),
    /** Samples whose predicted class differs. */
    disagreements: z.number().int().nonnegative(),
    ok: z.boolean(),
  }),
  /** trainSeconds and samplesPerSecond cover the steps this run made (not those before a --resume). */
  timings: z.object({ totalSeconds: z.number(), trainSeconds: z.number(), samplesPerSecond: z.number() }),
  /** checkpoint: the state after the last epoch (what --resume continues from). */
  artifacts: z.object({ model: z.string(), report: z.string(), checkpoint: z.string() }),
});
export type QatReport = z.infer<typeof qatReportSchema>;
