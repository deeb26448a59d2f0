// The TensorFlow.js flavour in use: @tensorflow/tfjs-node (native TensorFlow)
// when its binding loads, otherwise the pure-JS CPU backend of @tensorflow/tfjs,
// which is about 80x slower for training.
import type * as TfModule from '@tensorflow/tfjs';

export type Tf = typeof TfModule;

export interface TfRuntime {
  tf: Tf;
  /** 'tensorflow' (native) or 'cpu' (pure JS). */
  backend: string;
  /** Why the native backend is not in use, when it is not. */
  fallbackReason?: string;
}

let cached: Promise<TfRuntime> | undefined;

export function loadTf(): Promise<TfRuntime> {
  cached ??= (async () => {
    if (process.env.QTOOL_TF_BACKEND !== 'cpu') {
      try {
        const tf = (await import('@tensorflow/tfjs-node')) as unknown as Tf;
        await tf.ready();
        return { tf, backend: tf.getBackend() };
      } catch (e) {
        const tf = await import('@tensorflow/tfjs');
        await tf.setBackend('cpu');
        return { tf, backend: 'cpu', fallbackReason: String((e as Error).message ?? e).split('\n')[0] };
      }
    }
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    return { tf, backend: 'cpu', fallbackReason: 'QTOOL_TF_BACKEND=cpu' };
  })();
  return cached;
}
