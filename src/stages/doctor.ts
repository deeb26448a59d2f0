// `qtool doctor`: what qtool runs on here: Node, onnxruntime-node, the
// TensorFlow.js backend QAT trains on (native or pure JS, and why), and ONNX's
// backend test data.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { commandLine, QTOOL_VERSION } from '../report/io.js';
import type { DoctorReport } from '../report/schemas/doctor.js';
import { loadTf } from '../qat/tf.js';

/** Where Debian's libonnx-testdata puts ONNX's node tests. */
export const ONNX_TESTDATA_NODE = '/usr/share/libonnx-testdata/data/node';

const require = createRequire(import.meta.url);

function packageVersion(name: string): string | null {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

async function onnxruntime(): Promise<DoctorReport['onnxruntime']> {
  const version = packageVersion('onnxruntime-node');
  try {
    await import('onnxruntime-node');
    return { package: 'onnxruntime-node', version, loads: true };
  } catch (e) {
    return { package: 'onnxruntime-node', version, loads: false, error: firstLine(e) };
  }
}

async function tfjs(): Promise<DoctorReport['tfjs']> {
  // TensorFlow's C++ start-up notes (CPU features) are noise here; the oneDNN
  // one is printed before TensorFlow reads this.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const rt = await loadTf();
  let libtensorflow: string | null = null;
  if (rt.backend === 'tensorflow') {
    const binding = (rt.tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
    libtensorflow = binding?.TF_Version ?? null;
  }
  return {
    version: rt.tf.version_core,
    tfjsNode: packageVersion('@tensorflow/tfjs-node'),
    backend: rt.backend,
    native: rt.backend === 'tensorflow',
    libtensorflow,
    fallbackReason: rt.backend === 'tensorflow' ? null : (rt.fallbackReason ?? `backend is '${rt.backend}'`),
  };
}

function onnxTestData(): DoctorReport['onnxTestData'] {
  const present = existsSync(ONNX_TESTDATA_NODE);
  const nodeTests = present ? readdirSync(ONNX_TESTDATA_NODE).filter((d) => d.startsWith('test_')).length : 0;
  return { package: 'libonnx-testdata', path: ONNX_TESTDATA_NODE, present, nodeTests };
}

export async function doctor(): Promise<DoctorReport> {
  return {
    schema: 'qtool/doctor@1',
    qtoolVersion: QTOOL_VERSION,
    command: commandLine(),
    node: { version: process.version, platform: process.platform, arch: process.arch, napi: process.versions.napi ?? '' },
    onnxruntime: await onnxruntime(),
    tfjs: await tfjs(),
    onnxTestData: onnxTestData(),
  };
}
