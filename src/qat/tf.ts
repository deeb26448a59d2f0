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

function whyNotNative(e: unknown): string {
  const err = e as Error & { code?: string };
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && /'@tensorflow\/tfjs-node'/.test(err.message)) {
    // An optional dependency: npm leaves it out when its own install step fails.
    return "@tensorflow/tfjs-node is not installed (npm leaves it out when its native library cannot be set up at install time); `qtool setup` says why";
  }
  return `${String(err?.message ?? e).split('\n')[0].trim().replace(/[.\s]+$/, '')}; \`qtool setup\` sets up the native backend`;
}

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
        return { tf, backend: 'cpu', fallbackReason: whyNotNative(e) };
      }
    }
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    return { tf, backend: 'cpu', fallbackReason: 'QTOOL_TF_BACKEND=cpu' };
  })();
  return cached;
}
