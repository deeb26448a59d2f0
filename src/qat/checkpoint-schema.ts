// The QAT checkpoint's header (OUT/qat.checkpoint's first line) and what it
// records: the fingerprint a resume must match and the per-epoch log, which
// qat.json repeats.
import { z } from 'zod';
import { OPTIMIZERS } from '../config/options/qat.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** One line of the per-epoch log. */
export const qatEpochSchema = z.object({
  epoch: z.number().int().positive(),
  /** Mean training loss over the epoch's steps. */
  loss: z.number(),
  /** With --eval: the tfjs fake-quant model's top-1 on the evaluation data after the epoch, percent. */
  accuracy: z.number().min(0).max(100).nullable(),
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
  /**
   * How the data was read: an image folder's preprocessing (the file's bytes, or an inline spec's JSON), a text
   * file's tokenizer file and --max-length; null when not given (and in checkpoints of earlier versions).
   */
  preprocess: sha256.nullable().default(null),
  tokenizer: sha256.nullable().default(null),
  maxLength: z.number().int().positive().nullable().default(null),
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
  /**
   * 'sha256': the file ends with the 32-byte SHA-256 of everything before it
   * (header line and tensors), so that a corrupted checkpoint is refused.
   * Absent in checkpoints of earlier versions, which are refused too.
   */
  checksum: z.literal('sha256').optional(),
  fingerprint: qatFingerprintSchema,
  /** Epochs completed. */
  epoch: z.number().int().positive(),
  /** Loss and learning rate of every step so far. */
  losses: z.array(z.number()),
  lrs: z.array(z.number().nonnegative()),
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
