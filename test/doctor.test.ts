// `qtool doctor` and, through it, the point of scripts/install-tfjs-native.mjs:
// after `npm ci`, tfjs-node loads with its native TensorFlow backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Scalar } from '@tensorflow/tfjs';
import { doctorReportSchema } from '../src/report/schemas/doctor.js';
import { repoRoot, runQtool } from './lib/helpers.js';

test('after install, tfjs-node loads with the native TensorFlow backend (doctor --json validates)', () => {
  const r = runQtool(['doctor', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = doctorReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(report.schema, 'qtool/doctor@1');
  assert.equal(report.node.version, process.version);
  assert.ok(report.onnxruntime.loads, `onnxruntime-node does not load: ${report.onnxruntime.error}`);
  assert.equal(report.tfjs.backend, 'tensorflow',
    `QAT would run on the pure-JS backend: ${report.tfjs.fallbackReason} (see scripts/install-tfjs-native.mjs)`);
  assert.equal(report.tfjs.native, true);
  assert.equal(report.tfjs.fallbackReason, null);
  assert.match(report.tfjs.libtensorflow ?? '', /^\d+\.\d+/);
  assert.match(report.tfjs.tfjsNode ?? '', /^\d+\.\d+\.\d+/);
});

test('tfjs-node trains on the native backend (a gradient step runs in TensorFlow)', async () => {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const tf = await import('@tensorflow/tfjs-node');
  await tf.ready();
  assert.equal(tf.getBackend(), 'tensorflow');
  const w = tf.variable(tf.tensor2d([[1, 2], [3, 4]]));
  const x = tf.tensor2d([[1, 0], [0, 1]]);
  const opt = tf.train.sgd(0.5);
  opt.minimize(() => tf.sum(tf.square(tf.matMul(x, w))) as Scalar);
  // d/dw sum(w^2) = 2w, so w <- w - 0.5 * 2w = 0.
  assert.deepEqual(await w.array(), [[0, 0], [0, 0]]);
});

test('doctor names the pure-JS fallback and its reason', () => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'qtool.js'), 'doctor', '--json'], {
    cwd: repoRoot, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', QTOOL_TF_BACKEND: 'cpu' },
  });
  assert.equal(r.status, 0, r.stderr);
  const report = doctorReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(report.tfjs.backend, 'cpu');
  assert.equal(report.tfjs.native, false);
  assert.equal(report.tfjs.fallbackReason, 'QTOOL_TF_BACKEND=cpu');

  const text = spawnSync(process.execPath, [join(repoRoot, 'bin', 'qtool.js'), 'doctor'], {
    cwd: repoRoot, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', QTOOL_TF_BACKEND: 'cpu' },
  });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /tfjs backend\s+cpu \(pure JS: QAT trains about 80x slower\)/);
  assert.match(text.stdout, /why: QTOOL_TF_BACKEND=cpu/);
  assert.match(text.stdout, /onnxruntime-node \d+\.\d+\.\d+/);
});
