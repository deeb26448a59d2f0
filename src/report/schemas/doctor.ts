import { z } from 'zod';

/** `qtool doctor --json`: what qtool runs on, here. No model, so no model header. */
export const doctorReportSchema = z.object({
  schema: z.literal('qtool/doctor@1'),
  qtoolVersion: z.string(),
  command: z.string(),
  node: z.object({
    version: z.string(),
    platform: z.string(),
    arch: z.string(),
    napi: z.string(),
  }),
  onnxruntime: z.object({
    package: z.literal('onnxruntime-node'),
    /** null when the package is not installed. */
    version: z.string().nullable(),
    /** Its native binding loads. */
    loads: z.boolean(),
    error: z.string().optional(),
  }),
  tfjs: z.object({
    /** @tensorflow/tfjs-core's version. */
    version: z.string(),
    /** @tensorflow/tfjs-node's version, null when it is not installed. */
    tfjsNode: z.string().nullable(),
    /** 'tensorflow' (native) or 'cpu' (pure JS, about 80x slower for training). */
    backend: z.string(),
    native: z.boolean(),
    /** The TensorFlow C library behind the native backend. */
    libtensorflow: z.string().nullable(),
    /** Why the native backend is not in use, when it is not. */
    fallbackReason: z.string().nullable(),
  }),
  onnxTestData: z.object({
    package: z.literal('libonnx-testdata'),
    path: z.string(),
    present: z.boolean(),
    /** How many node test cases (data/node/test_*) it holds. */
    nodeTests: z.number().int().nonnegative(),
  }),
});
export type DoctorReport = z.infer<typeof doctorReportSchema>;
