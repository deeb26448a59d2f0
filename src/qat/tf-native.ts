// Direct calls of TensorFlow ops that tfjs has no kernel for, through
// tfjs-node's eager binding (NodeJSKernelBackend.executeSingleOutput, the
// path its own kernels take). Only on the native 'tensorflow' backend; the
// outputs are ordinary tfjs tensors, tracked by tidy like any other.
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';

export type NativeAttr = { name: string; value: number | boolean };

export interface NativeOps {
  /** Runs TensorFlow op `name` with float/int/bool attributes (a number is an int unless listed in `floats`). */
  run(name: string, attrs: NativeAttr[], inputs: Tensor[], floats?: readonly string[]): Tensor;
  /** The same for an op with `outputs` outputs. */
  runMulti(name: string, attrs: NativeAttr[], inputs: Tensor[], outputs: number, floats?: readonly string[]): Tensor[];
}

interface NodeBackend {
  binding?: { TF_ATTR_FLOAT?: number; TF_ATTR_INT?: number; TF_ATTR_BOOL?: number };
  executeSingleOutput?: (name: string, attrs: TfAttr[], inputs: Tensor[]) => Tensor;
  executeMultipleOutputs?: (name: string, attrs: TfAttr[], inputs: Tensor[], outputs: number) => Tensor[];
}

type TfAttr = { name: string; type: number; value: number | boolean };

/** The native op runner, or undefined when tfjs is not on tfjs-node's TensorFlow backend. */
export function nativeOps(tf: Tf): NativeOps | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const be = tf.backend() as unknown as NodeBackend;
  const b = be.binding;
  if (typeof be.executeSingleOutput !== 'function' || typeof be.executeMultipleOutputs !== 'function'
    || b?.TF_ATTR_FLOAT === undefined || b.TF_ATTR_INT === undefined || b.TF_ATTR_BOOL === undefined) return undefined;
  const one = be.executeSingleOutput.bind(be);
  const many = be.executeMultipleOutputs.bind(be);
  const { TF_ATTR_FLOAT, TF_ATTR_INT, TF_ATTR_BOOL } = b;
  const typed = (attrs: NativeAttr[], floats: readonly string[]): TfAttr[] => attrs.map((a) => ({
    name: a.name,
    type: typeof a.value === 'boolean' ? TF_ATTR_BOOL : floats.includes(a.name) ? TF_ATTR_FLOAT : TF_ATTR_INT,
    value: a.value,
  }));
  return {
    run: (name, attrs, inputs, floats = []) => one(name, typed(attrs, floats), inputs),
    runMulti: (name, attrs, inputs, outputs, floats = []) => many(name, typed(attrs, floats), inputs, outputs),
  };
}
