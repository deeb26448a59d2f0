import { z } from 'zod';
import { OPTIMIZERS } from '../../config/options/qat.js';
import { reportHeader } from '../io.js';

const accuracyOn = z.object({
  /** The data the accuracies are measured on. */
  data: z.string(),
  samples: z.number().int().positive(),
  /** 'top1' against labels; 'agreement': top-1 agreement with the FP32 model's predictions (no labels). */
  metric: z.enum(['top1', 'agreement']),
});

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** One line of the per-epoch log. */
export const qatEpochSchema = z.object({
  epoch: z.number().int().positive(),
  /** Mean training loss over the epoch's steps. */
  loss: z.number(),
  /** With --eval: the tfjs fake-quant model's top-1 on the evaluation data after the epoch, percent. */
  accuracy: z.number().nullable(),
  /** Training time of the epoch (without the evaluation and the checkpoint). */
  seconds: z.number().nonnegative(),
});
export type QatEpoch = z.infer<typeof qatEpochSchema>;

/** What a checkpoint must have been made with to be resumed: the inputs by content, and the options that shape training. */
export const qatFingerprintSchema = z.object({
  model: sha256,
  /** Of what QAT uses from calibration.json (granularity, types, folds, each tensor's chosen parameters), not of the file's bytes. */
  calibration: sha256,
  /** Of partial.json's float layers (null: no --partial), not of the file, which holds timings. */
  partial: sha256.nullable(),
  train: sha256,
  /** null: distillation. */
  trainLabels: sha256.nullable(),
  /** The per-epoch accuracies in the checkpoint were measured on this data. */
  eval: sha256.nullable(),
  labels: sha256.nullable(),
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  optimizer: z.enum(OPTIMIZERS),
  lr0: z.number().positive(),
  learnRanges: z.boolean(),
});
export type QatFingerprint = z.infer<typeof qatFingerprintSchema>;

/** The JSON header (first line) of OUT/qat.checkpoint; the float32 tensors follow it, in `tensors` order. */
export const qatCheckpointHeaderSchema = z.object({
  schema: z.literal('qtool/qat-checkpoint@1'),
  qtoolVersion: z.string(),
  fingerprint: qatFingerprintSchema,
  /** Epochs completed. */
  epoch: z.number().int().positive(),
  /** Loss and learning rate of every step so far. */
  losses: z.array(z.number()),
  lrs: z.array(z.number()),
  epochLog: z.array(qatEpochSchema),
  /** Adam's beta1^t and beta2^t (not among the optimizer slots); null for SGD. */
  adamBetaPowers: z.tuple([z.number(), z.number()]).nullable(),
  tensors: z.array(z.object({
    /** 'variable': a trained weight or learned scale; 'optimizer': one of the optimizer's slots. */
    kind: z.enum(['variable', 'optimizer']),
    name: z.string(),
    shape: z.array(z.number().int().nonnegative()),
  })),
});
export type QatCheckpointHeader = z.infer<typeof qatCheckpointHeaderSchema>;

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
